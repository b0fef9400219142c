"""@pt.guard on every kind of callable, its modes, events, errors and introspection."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any

import pytest
from structlog.testing import capture_logs

import purposetag as pt
from purposetag import _guard

TWO_FACTOR = "security.authentication.two_factor"
ADS = "marketing.advertising"


def phone() -> str:
    return pt.tag(
        "555-0101",
        TWO_FACTOR,
        category="user.contact.phone_number",
        source="settings.two_factor",
    )


def violations(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == "purpose_violation"]


@pt.guard(ADS)
def upload(contact: Any, audience: str = "all", *, note: Any = None) -> str:
    """Upload a contact to an audience."""
    return f"ok:{audience}"


class Audience:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    @pt.guard(ADS)
    def add(self, contact: Any) -> int:
        self.sent.append(contact)
        return len(self.sent)

    @pt.guard(ADS)
    @classmethod
    def cls_first(cls, contact: Any) -> str:
        return cls.__name__

    @classmethod
    @pt.guard(ADS)
    def cls_outer(cls, contact: Any) -> str:
        return cls.__name__

    @pt.guard(ADS)
    @staticmethod
    def static_first(contact: Any) -> str:
        return "static"

    @staticmethod
    @pt.guard(ADS)
    def static_outer(contact: Any) -> str:
        return "static"


# --- introspection ----------------------------------------------------------------


def test_keeps_name_doc_signature_and_wrapped() -> None:
    assert upload.__name__ == "upload"
    assert upload.__qualname__ == "upload"
    assert upload.__doc__ == "Upload a contact to an audience."
    assert upload.__module__ == __name__
    assert inspect.signature(upload) == inspect.signature(upload.__wrapped__)
    assert list(inspect.signature(upload).parameters) == ["contact", "audience", "note"]
    assert inspect.isfunction(upload.__wrapped__)
    assert isinstance(upload, _guard.GuardedFunction)
    assert upload.__purposetag_sink__.name == f"{__name__}.upload"


def test_method_signatures_drop_self_when_bound() -> None:
    a = Audience()
    assert list(inspect.signature(a.add).parameters) == ["contact"]
    assert a.add.__self__ is a
    assert a.add.__name__ == "add"
    assert a.add.__wrapped__ is Audience.__dict__["add"].__wrapped__
    assert list(inspect.signature(Audience.cls_first).parameters) == ["contact"]


def test_coroutine_and_generator_functions_keep_their_kind() -> None:
    @pt.guard(ADS)
    async def coro(x: Any) -> Any:
        return x

    @pt.guard(ADS)
    def gen(x: Any) -> Any:
        yield x

    @pt.guard(ADS)
    async def agen(x: Any) -> Any:
        yield x

    assert inspect.iscoroutinefunction(coro)
    assert inspect.isgeneratorfunction(gen)
    assert inspect.isasyncgenfunction(agen)
    assert not inspect.iscoroutinefunction(upload)


# --- plain functions --------------------------------------------------------------


def test_clean_arguments_pass_and_return() -> None:
    with capture_logs() as logs:
        assert upload("plain", "vip", note=[1, {"a": b"x"}]) == "ok:vip"
    assert logs == []


def test_enforce_raises_and_body_does_not_run() -> None:
    ran = []

    @pt.guard(ADS)
    def send(contact: Any) -> None:
        ran.append(contact)

    with pytest.raises(pt.PurposeViolation) as info:
        send(phone())
    assert ran == []
    exc = info.value
    assert exc.sink == f"{__name__}.test_enforce_raises_and_body_does_not_run.<locals>.send"
    assert exc.use == ADS
    assert exc.argument == "args[0]"
    assert {p for t in exc.tags for p in t.purposes} == {TWO_FACTOR}


def test_allowed_use_passes() -> None:
    @pt.guard("security.authentication")
    def verify(code: Any) -> bool:
        return True

    assert verify(pt.tag("123456", "security.authentication"))


def test_monitor_logs_one_event_and_runs() -> None:
    with capture_logs() as logs, pt.mode("monitor"):
        assert upload(phone(), note={"owner": [phone()]}) == "ok:all"
    events = violations(logs)
    assert len(events) == 1
    (e,) = events
    assert e["log_level"] == "warning"
    assert e["mode"] == "monitor"
    assert e["action"] == "logged"
    assert e["sink"] == f"{__name__}.upload"
    assert e["use"] == ADS
    assert e["argument"] == "args[0]"
    assert e["purposes"] == [TWO_FACTOR]
    assert e["categories"] == ["user.contact.phone_number"]
    assert e["sources"] == ["settings.two_factor"]
    assert isinstance(e["fingerprint"], str) and len(e["fingerprint"]) == 16


def test_enforce_event_is_error_level_raised() -> None:
    with capture_logs() as logs, pytest.raises(pt.PurposeViolation):
        upload(phone())
    (e,) = violations(logs)
    assert e["log_level"] == "error"
    assert e["action"] == "raised"
    assert e["mode"] == "enforce"


def test_union_of_offending_tags_and_first_path() -> None:
    email = pt.tag("a@example.com", "security.account_recovery", category="user.contact.email")
    fine = pt.tag("x", ADS)
    with pytest.raises(pt.PurposeViolation) as info:
        upload(fine, note={"backup": email, "mfa": phone()})
    assert info.value.argument == "kwargs['note']['backup']"
    purposes = {p for t in info.value.tags for p in t.purposes}
    assert purposes == {TWO_FACTOR, "security.account_recovery"}


def test_kwargs_paths_read_like_python() -> None:
    class Owner:
        def __init__(self) -> None:
            self.phone = phone()

    with pytest.raises(pt.PurposeViolation) as info:
        upload("x", note={"campaign": {"owner": Owner()}})
    assert info.value.argument == "kwargs['note']['campaign']['owner'].phone"


def test_off_scans_nothing() -> None:
    with capture_logs() as logs, pt.mode("off"):
        assert upload(phone()) == "ok:all"
    assert logs == []


def test_guard_mode_argument() -> None:
    @pt.guard(ADS, mode="monitor")
    def send(x: Any) -> str:
        return "sent"

    with capture_logs() as logs:
        assert send(phone()) == "sent"
    assert violations(logs)[0]["mode"] == "monitor"


def test_bare_guard_uses_processing_scope() -> None:
    @pt.guard
    def send(x: Any) -> str:
        return "sent"

    @pt.guard()
    def send2(x: Any) -> str:
        return "sent"

    with pt.processing(ADS):
        for fn in (send, send2):
            with pytest.raises(pt.PurposeViolation) as info:
                fn(phone())
            assert info.value.use == ADS
    with pt.processing(TWO_FACTOR):
        assert send(phone()) == "sent"


def test_guard_without_use_or_scope_raises_policy_error() -> None:
    @pt.guard()
    def send(x: Any) -> str:
        return "sent"

    with pytest.raises(pt.PolicyError, match="no use"):
        send("clean")
    with pt.mode("off"):
        assert send("clean") == "sent"


def test_explicit_use_wins_over_processing_scope() -> None:
    with pt.processing(TWO_FACTOR), pytest.raises(pt.PurposeViolation):
        upload(phone())


@pytest.mark.parametrize("bad", ["Marketing", "marketing..ads", "", "1x", 3])
def test_bad_use_raises_at_decoration(bad: Any) -> None:
    with pytest.raises(pt.PolicyError):
        pt.guard(bad)


def test_bad_mode_raises_at_decoration() -> None:
    with pytest.raises(pt.PolicyError, match="enforce"):
        pt.guard(ADS, mode="loud")  # type: ignore[arg-type]


def test_guarding_a_non_callable_is_an_error() -> None:
    with pytest.raises(pt.PolicyError, match="decorates a function"):
        pt.guard(ADS)(42)  # type: ignore[type-var]


def test_exceptions_of_the_function_pass_through() -> None:
    @pt.guard(ADS)
    def boom(x: Any) -> None:
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        boom("clean")


# --- methods ---------------------------------------------------------------------


def test_instance_is_not_scanned() -> None:
    a = Audience()
    a.secret = phone()  # type: ignore[attr-defined]  # a tagged attribute on self
    assert a.add("clean") == 1
    assert Audience.add(a, "clean") == 2
    with pytest.raises(pt.PurposeViolation) as info:
        a.add(phone())
    assert info.value.argument == "args[0]"
    assert info.value.sink == f"{__name__}.Audience.add"
    with pytest.raises(pt.PurposeViolation) as info:
        Audience.add(a, phone())
    assert info.value.argument == "args[0]"
    assert len(a.sent) == 2


@pytest.mark.parametrize("name", ["cls_first", "cls_outer", "static_first", "static_outer"])
def test_classmethods_and_staticmethods(name: str) -> None:
    via_class = getattr(Audience, name)
    via_instance = getattr(Audience(), name)
    expected = "Audience" if name.startswith("cls") else "static"
    assert via_class("clean") == expected
    assert via_instance("clean") == expected
    for fn in (via_class, via_instance):
        with pytest.raises(pt.PurposeViolation):
            fn(phone())


# --- async and generators ---------------------------------------------------------


def test_async_function() -> None:
    @pt.guard(ADS)
    async def send(x: Any) -> str:
        await asyncio.sleep(0)
        return "sent"

    assert asyncio.run(send("clean")) == "sent"
    with pytest.raises(pt.PurposeViolation):
        asyncio.run(send(phone()))

    async def monitored() -> str:
        with pt.mode("monitor"):
            return await send(phone())

    with capture_logs() as logs:
        assert asyncio.run(monitored()) == "sent"
    assert len(violations(logs)) == 1


def test_generator_checked_when_called() -> None:
    started = []

    @pt.guard(ADS)
    def rows(x: Any) -> Any:
        started.append(True)
        yield from range(3)

    assert list(rows("clean")) == [0, 1, 2]
    with pytest.raises(pt.PurposeViolation):
        rows(phone())
    assert started == [True]


def test_async_generator_checked_when_called() -> None:
    @pt.guard(ADS)
    async def rows(x: Any) -> Any:
        for i in range(3):
            yield i

    async def collect(x: Any) -> list[int]:
        return [i async for i in rows(x)]

    assert asyncio.run(collect("clean")) == [0, 1, 2]
    with pytest.raises(pt.PurposeViolation):
        asyncio.run(collect(phone()))


# --- robustness -------------------------------------------------------------------


def test_internal_error_falls_back_to_calling(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("our bug")

    monkeypatch.setattr(_guard, "inspect_values", broken)
    calls = []

    @pt.guard(ADS)
    def send(x: Any) -> str:
        calls.append(x)
        return "sent"

    with capture_logs() as logs:
        assert send(phone()) == "sent"
        assert Audience().add([phone()]) == 1
        assert pt.check([phone()], ADS) is not None
    errors = [e for e in logs if e["event"] == "purpose_internal_error"]
    assert len(errors) == 3
    assert errors[0]["error_type"] == "RuntimeError"
    assert "our bug" not in repr(errors)
    assert len(calls) == 1


def test_broken_logger_never_breaks_the_call() -> None:
    class Broken:
        def warning(self, *a: Any, **k: Any) -> None:
            raise OSError("disk full")

        info = error = warning

    pt.configure(logger=Broken(), mode="monitor")
    with capture_logs() as logs:
        assert upload(phone()) == "ok:all"
    # the event is not lost: it goes to purposetag's default structlog logger
    assert [(e["event"], e["logger_failed"]) for e in logs] == [("purpose_violation", "OSError")]


def test_eight_threads_concurrently() -> None:
    barrier = threading.Barrier(8)
    results: list[tuple[str, str]] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        barrier.wait()
        for _ in range(200):
            tagged = i % 2 == 0
            try:
                upload(phone() if tagged else "clean")
                outcome = "passed"
            except pt.PurposeViolation:
                outcome = "raised"
            with lock:
                results.append(("tagged" if tagged else "clean", outcome))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 1600
    assert all((kind == "tagged") == (outcome == "raised") for kind, outcome in results)


# --- pt.check ---------------------------------------------------------------------


def test_check_returns_value_and_raises() -> None:
    assert pt.check("clean", ADS) == "clean"
    v = {"x": [1, 2]}
    assert pt.check(v, ADS) is v
    with pytest.raises(pt.PurposeViolation) as info:
        pt.check({"owner": phone()}, ADS)
    assert info.value.argument == "value['owner']"
    assert info.value.sink == f"{__name__}.test_check_returns_value_and_raises"


def test_check_monitor_and_sink_name() -> None:
    with capture_logs() as logs, pt.mode("monitor"):
        p = phone()
        assert pt.check(p, ADS, sink="crm.export") is p
    (e,) = violations(logs)
    assert e["sink"] == "crm.export"
    assert e["argument"] == "value"


def test_check_uses_processing_scope_and_validates() -> None:
    with pt.processing(ADS), pytest.raises(pt.PurposeViolation):
        pt.check(phone())
    with pytest.raises(pt.PolicyError):
        pt.check("x")
    with pytest.raises(pt.PolicyError):
        pt.check("x", "Not Valid")
    with pytest.raises(pt.PolicyError):
        pt.check("x", ADS, sink="")  # type: ignore[arg-type]
    with pt.mode("off"):
        assert pt.check(phone(), ADS) == "555-0101"


def test_async_and_generator_methods() -> None:
    class Repo:
        @pt.guard(ADS)
        async def push(self, x: Any) -> str:
            return "pushed"

        @pt.guard(ADS)
        def rows(self, x: Any) -> Any:
            yield x

    r = Repo()
    r.secret = phone()  # type: ignore[attr-defined]
    assert inspect.iscoroutinefunction(r.push)
    assert inspect.isgeneratorfunction(r.rows)
    assert asyncio.run(r.push("clean")) == "pushed"
    assert list(r.rows("clean")) == ["clean"]
    with pytest.raises(pt.PurposeViolation) as info:
        asyncio.run(r.push(phone()))
    assert info.value.argument == "args[0]"
    with pytest.raises(pt.PurposeViolation):
        r.rows(phone())


def test_classmethod_over_a_guard_without_descriptor_chaining(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Python 3.13's classmethod calls the guard with the class first (no __get__
    # chaining); simulated here on any version: the class is not an argument.
    from purposetag import _guard

    monkeypatch.setattr(_guard, "_CLASSMETHOD_UNCHAINED", True)

    class Svc:
        @classmethod
        @pt.guard("marketing.advertising")
        def send(cls, x: object) -> str:
            return "sent"

    raw = Svc.__dict__["send"].__func__  # what 3.13's classmethod calls
    assert raw(Svc, "clean") == "sent"
    with pytest.raises(pt.PurposeViolation) as ei:
        raw(Svc, pt.tag("555", "security.authentication"))
    assert ei.value.argument == "args[0]"

    class Sub(Svc):  # an override calling the parent's classmethod (super() on 3.13)
        @classmethod
        def send(cls, x: object) -> str:
            return raw(cls, x)  # type: ignore[no-any-return]

    class Alias:  # the same guard under another name
        other = classmethod(raw)

    for owner in (Sub, Alias):
        with pytest.raises(pt.PurposeViolation) as ei:
            raw(owner, pt.tag("555", "security.authentication"))
        assert ei.value.argument == "args[0]"

    class Liar:  # a first argument whose __class__ raises must not skip the check
        @property  # type: ignore[misc]
        def __class__(self) -> object:
            raise RuntimeError("__class__")

    with pytest.raises(pt.PurposeViolation) as ei:
        raw(Liar(), pt.tag("555", "security.authentication"))
    assert ei.value.argument == "args[1]"


def test_an_allowed_tagged_call_stops_passing_when_the_policy_changes() -> None:
    # The same tag set, allowed, then prohibited, then allowed again: a guard (with
    # the accelerator: one that has remembered the set as allowed) follows the policy.
    recovery = pt.tag("bob@x.io", "security.account_recovery")
    mixed = "to: " + recovery + " / " + pt.tag("x", "analytics")  # two tag sets in ranges

    @pt.guard("security.account_recovery.email")
    def send(to: Any, extra: Any = None) -> str:
        return "sent"

    for _ in range(3):  # first calls decide and remember; later ones use that
        assert send(recovery) == "sent"
        assert send("plain", [recovery, {"k": recovery}]) == "sent"
    with pytest.raises(pt.PurposeViolation):
        send(mixed)  # "analytics" does not allow the recovery email use
    pt.configure(policy=pt.Policy(prohibited={"security": ["security.account_recovery"]}))
    for args in [(recovery,), ("plain", [recovery]), ("plain", {"k": recovery})]:
        with pytest.raises(pt.PurposeViolation):
            send(*args)
    pt.configure(policy=pt.Policy())
    assert send(recovery) == "sent" and send(recovery) == "sent"


def test_an_allowed_tagged_call_in_monitor_mode_logs_nothing() -> None:
    allowed = pt.tag("555-0101", TWO_FACTOR)

    @pt.guard(TWO_FACTOR)
    def send_code(number: Any) -> str:
        return "ok"

    with pt.mode("monitor"), capture_logs() as logs:
        assert [send_code(allowed) for _ in range(3)] == ["ok"] * 3
        assert send_code(pt.tag("x", ADS)) == "ok"
    assert len(violations(logs)) == 1


def test_a_method_guard_passes_allowed_tagged_arguments_and_stops_others() -> None:
    class Sender:
        @pt.guard(TWO_FACTOR)
        def send(self, number: Any) -> str:
            return "ok"

    s = Sender()
    for _ in range(3):
        assert s.send(pt.tag("555", TWO_FACTOR)) == "ok"
    with pytest.raises(pt.PurposeViolation):
        s.send(pt.tag("555", ADS))


@pt.guard(ADS)
def _pickled_guard(n: int) -> int:
    return n * 2


@pt.source("security.authentication")
def _pickled_source(n: int) -> str:
    return "x" * n


def test_guarded_and_source_functions_pickle_and_copy_by_reference() -> None:
    """As plain functions do: what multiprocessing and ProcessPoolExecutor need."""
    import copy
    import pickle

    for fn in (_pickled_guard, _pickled_source):
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            assert pickle.loads(pickle.dumps(fn, proto)) is fn
        assert copy.copy(fn) is fn and copy.deepcopy(fn) is fn
    assert pt.tags(pickle.loads(pickle.dumps(_pickled_source))(2)) == pt.tags(
        pt.tag("x", "security.authentication")
    )

    @pt.guard(ADS)
    def local(n: int) -> int:
        return n

    with pytest.raises((pickle.PicklingError, AttributeError)):  # as for a local function
        pickle.dumps(local)
