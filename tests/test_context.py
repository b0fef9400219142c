"""Modes and scopes: precedence, contextvars across tasks and threads, the kill switch."""

from __future__ import annotations

import asyncio
import contextvars
import os
import subprocess
import sys
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

import purposetag as pt
from purposetag._context import ambient_use, effective_mode

ADS = "marketing.advertising"


def phone() -> str:
    return pt.tag("555-0101", "security.authentication.two_factor")


@pt.guard(ADS)
def send(x: Any) -> str:
    return "sent"


def outcome(**guard_kwargs: Any) -> str:
    """What a guard does with a violation now: raised, logged or nothing."""

    @pt.guard(ADS, **guard_kwargs)
    def target(x: Any) -> None:
        pass

    with capture_logs() as logs:
        try:
            target(phone())
        except pt.PurposeViolation:
            return "raised"
    return "logged" if logs else "nothing"


# --- precedence -------------------------------------------------------------------


def test_default_is_enforce() -> None:
    assert effective_mode() == "enforce"
    assert outcome() == "raised"


def test_env_below_configure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PURPOSETAG_MODE", "monitor")
    assert outcome() == "logged"
    pt.configure(mode="enforce")
    assert outcome() == "raised"


def test_configure_below_guard_mode() -> None:
    pt.configure(mode="monitor")
    assert outcome() == "logged"
    assert outcome(mode="enforce") == "raised"
    pt.configure(mode="off")
    assert outcome() == "nothing"
    assert outcome(mode="monitor") == "logged"


def test_scope_above_guard_mode() -> None:
    with pt.mode("monitor"):
        assert outcome(mode="enforce") == "logged"
        with pt.mode("off"):
            assert outcome(mode="enforce") == "nothing"
        assert outcome(mode="enforce") == "logged"
    assert outcome(mode="enforce") == "raised"


def test_env_off_is_a_kill_switch_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PURPOSETAG_MODE", "off")
    pt.configure(mode="enforce")
    with pt.mode("enforce"):
        assert outcome(mode="enforce") == "nothing"
        assert pt.check(phone(), ADS) == "555-0101"


def test_env_is_case_and_space_tolerant_and_ignores_junk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PURPOSETAG_MODE", " Monitor ")
    assert effective_mode() == "monitor"
    monkeypatch.setenv("PURPOSETAG_MODE", "loud")
    assert effective_mode() == "enforce"


KILL_SWITCH = """
import purposetag as pt
pt.configure(mode="enforce")

@pt.guard("marketing", mode="enforce")
def send(x):
    return "sent"

with pt.mode("enforce"):
    print(send(pt.tag("555", "security")))
"""


def test_kill_switch_in_a_subprocess() -> None:
    env = {**os.environ, "PURPOSETAG_MODE": "off"}
    done = subprocess.run(
        [sys.executable, "-c", KILL_SWITCH], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "sent"
    env["PURPOSETAG_MODE"] = "monitor"
    done = subprocess.run(
        [sys.executable, "-c", KILL_SWITCH], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "PurposeViolation" in done.stderr


# --- scopes -----------------------------------------------------------------------


def test_invalid_scope_values_raise_where_written() -> None:
    with pytest.raises(pt.PolicyError):
        pt.mode("strict")  # type: ignore[arg-type]
    with pytest.raises(pt.PolicyError):
        pt.processing("Marketing")
    with pytest.raises(pt.PolicyError):
        pt.mode("monitor")(42)  # type: ignore[type-var]


def test_scopes_reset_on_exception() -> None:
    with pytest.raises(ZeroDivisionError), pt.mode("off"), pt.processing(ADS):
        1 / 0  # noqa: B018
    assert effective_mode() == "enforce"
    assert ambient_use() is None


def test_scope_object_is_reentrant() -> None:
    scope = pt.mode("monitor")
    with scope:
        with scope:
            assert effective_mode() == "monitor"
        assert effective_mode() == "monitor"
    assert effective_mode() == "enforce"


def test_mode_as_decorator_sync_async_and_generators() -> None:
    @pt.mode("monitor")
    def sync() -> str:
        return effective_mode()

    @pt.mode("off")
    async def coro() -> str:
        await asyncio.sleep(0)
        return effective_mode()

    @pt.processing(ADS)
    def gen() -> Any:
        yield ambient_use()
        yield ambient_use()

    @pt.mode("monitor")
    async def agen() -> Any:
        yield effective_mode()
        await asyncio.sleep(0)
        yield effective_mode()

    assert sync() == "monitor"
    assert asyncio.run(coro()) == "off"
    g = gen()
    assert next(g) == ADS
    assert ambient_use() is None  # the scope does not leak to the consumer between steps
    assert list(g) == [ADS]

    async def collect() -> list[str]:
        out = []
        async for m in agen():
            out.append(m)
            out.append(effective_mode())
        return out

    assert asyncio.run(collect()) == ["monitor", "enforce", "monitor", "enforce"]
    assert effective_mode() == "enforce"


def test_decorated_generator_send_and_throw() -> None:
    @pt.processing(ADS)
    def echo() -> Any:
        received = yield "ready"
        try:
            yield received
        except ValueError:
            yield "caught"

    g = echo()
    assert next(g) == "ready"
    assert g.send("hello") == "hello"
    assert g.throw(ValueError("x")) == "caught"
    g.close()


def test_processing_scope_for_guard_as_decorator() -> None:
    @pt.guard()
    def target(x: Any) -> str:
        return "sent"

    @pt.processing(ADS)
    def job() -> str:
        return target(phone())

    with pytest.raises(pt.PurposeViolation):
        job()


def test_asyncio_tasks_with_different_scopes_interleaved() -> None:
    async def worker(mode: str, ticks: list[tuple[str, str]]) -> list[str]:
        seen = []
        with pt.mode(mode):  # type: ignore[arg-type]
            for _ in range(5):
                await asyncio.sleep(0)
                seen.append(effective_mode())
                ticks.append((mode, effective_mode()))
                try:
                    send(phone())
                    seen.append("ran")
                except pt.PurposeViolation:
                    seen.append("raised")
        return seen

    async def main() -> tuple[list[str], list[str], list[str], list[tuple[str, str]]]:
        ticks: list[tuple[str, str]] = []
        results = await asyncio.gather(
            worker("enforce", ticks), worker("monitor", ticks), worker("off", ticks)
        )
        return (*results, ticks)  # type: ignore[return-value]

    with capture_logs() as logs:
        enforce, monitor, off, ticks = asyncio.run(main())
    assert enforce == ["enforce", "raised"] * 5
    assert monitor == ["monitor", "ran"] * 5
    assert off == ["off", "ran"] * 5
    # really interleaved: the three tasks alternate
    assert [m for m, _ in ticks[:3]] == ["enforce", "monitor", "off"]
    assert all(m == seen for m, seen in ticks)
    assert sum(1 for e in logs if e.get("mode") == "monitor") == 5


def test_fresh_thread_sees_process_settings_not_scope() -> None:
    pt.configure(mode="monitor")
    seen: dict[str, Any] = {}
    with pt.mode("off"), pt.processing(ADS):
        t = threading.Thread(target=lambda: seen.update(mode=effective_mode(), use=ambient_use()))
        t.start()
        t.join()
        ctx = contextvars.copy_context()
        copied: dict[str, Any] = {}
        t2 = threading.Thread(
            target=ctx.run,
            args=(lambda: copied.update(mode=effective_mode(), use=ambient_use()),),
        )
        t2.start()
        t2.join()
    assert seen == {"mode": "monitor", "use": None}
    assert copied == {"mode": "off", "use": ADS}


def test_repr() -> None:
    assert repr(pt.mode("monitor")) == "pt.mode('monitor')"
    assert repr(pt.processing(ADS)) == f"pt.processing({ADS!r})"


def test_one_scope_object_shared_by_threads_and_tasks() -> None:
    shared = pt.mode("monitor")
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(200):
                with shared:
                    assert effective_mode() == "monitor"
                assert effective_mode() == "enforce"
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    async def task(n: int) -> str:
        with shared:
            await asyncio.sleep(0.001 * n)
            inside = effective_mode()
        return f"{inside}/{effective_mode()}"

    async def main() -> list[str]:
        return await asyncio.gather(task(2), task(1), task(3))

    assert asyncio.run(main()) == ["monitor/enforce"] * 3


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["enforce", "monitor", "off"]))))
def test_scopes_exited_in_any_order_leave_the_innermost_open_one(
    steps: list[tuple[bool, str]],
) -> None:
    """Scopes held open by generators may be closed in any order: the mode is always
    the one of the most recently entered scope still open, and the default once all
    have closed (an earlier exit must not bring back a value from before it)."""
    from purposetag._context import SCOPE_MODE

    def scope(mode: str) -> Any:
        with pt.mode(mode):  # type: ignore[arg-type]
            yield

    def run() -> None:
        open_: list[tuple[Any, str]] = []
        for close, mode in steps:
            if close and open_:
                gen, _ = open_.pop(len(mode) % len(open_))  # not always the innermost
                gen.close()
            else:
                gen = scope(mode)
                next(gen)
                open_.append((gen, mode))
            assert SCOPE_MODE.get() == (open_[-1][1] if open_ else None)
        for gen, _ in open_:  # oldest first
            gen.close()
        assert SCOPE_MODE.get() is None

    contextvars.copy_context().run(run)
