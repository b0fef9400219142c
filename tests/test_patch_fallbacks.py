"""A patch whose exact-range computation fails keeps the plain value, logs the
internal-error event, and still carries every tag it knew about (never a miss)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

import purposetag as pt
from purposetag._instrument import _p_io, _p_json, _p_re

P = "security.account_recovery"


@pytest.fixture(autouse=True)
def _on() -> Iterator[None]:
    pt.instrument()
    yield
    pt.uninstrument()


def _boom(*a: Any, **k: Any) -> Any:
    raise RuntimeError("internal bug")


def _check(logs: list[dict[str, Any]], out: Any, plain: Any) -> None:
    assert out == plain
    assert pt.tags(out) == pt.tags(pt.tag("x", P))
    assert any(e["event"] == "purpose_internal_error" for e in logs)


def test_json_dumps_keeps_the_tags_when_its_ranges_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_p_json, "_tagged_dumps", _boom)
    with structlog.testing.capture_logs() as logs:
        out = json.dumps({"email": pt.tag("bob@x.io", P)}, indent=2)
    _check(logs, out, json.dumps({"email": "bob@x.io"}, indent=2))


@pytest.mark.parametrize("repl", ["<\\1>", lambda m: "#"])
def test_re_sub_keeps_the_tags_when_its_ranges_fail(
    monkeypatch: pytest.MonkeyPatch, repl: Any
) -> None:
    monkeypatch.setattr(_p_re, "_assemble", _boom)
    with structlog.testing.capture_logs() as logs:
        out = re.sub(r"(\d)", repl, pt.tag("a1b2", P))
    _check(logs, out, re.sub(r"(\d)", repl, "a1b2"))


@pytest.mark.parametrize(("name", "attr"), [("split", "_split"), ("findall", "_findall")])
def test_re_split_findall_keep_the_tags_when_their_ranges_fail(
    monkeypatch: pytest.MonkeyPatch, name: str, attr: str
) -> None:
    monkeypatch.setattr(_p_re, attr, _boom)
    with structlog.testing.capture_logs() as logs:
        out = getattr(re, name)(r"\d", pt.tag("a1b2c", P))
        out_p = getattr(re.compile(r"\d"), name)(pt.tag("a1b2c", P))
    plain = getattr(re, name)(r"\d", "a1b2c")
    assert out == out_p == plain and any(e["event"] == "purpose_internal_error" for e in logs)
    for got in (out, out_p):
        assert all(pt.tags(x) == pt.tags(pt.tag("x", P)) for x in got if x)


@pytest.mark.parametrize("broken", ["ranges", "add"])
def test_memory_file_keeps_the_tags_when_its_marks_fail(
    monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    # "ranges": reading fails; "add": recording the write fails (later reads tagged)
    monkeypatch.setattr(_p_io._Marks, broken, _boom)
    f = io.StringIO()
    with structlog.testing.capture_logs() as logs:
        f.write("plain ")
        f.write(pt.tag("secret", P))
        out = f.getvalue()
    _check(logs, out, "plain secret")


def test_re_split_never_raises_when_even_the_union_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_p_re, "_split", _boom)  # the exact ranges fail ...
    monkeypatch.setattr(_p_re, "_findall", _boom)
    bad = pt.tag("a1b2c", P)  # ... and so does the union of these corrupt ones
    bad._pt_ranges = ((0, 2, None),)  # type: ignore[attr-defined]  # corrupt on purpose
    with structlog.testing.capture_logs() as logs:
        assert re.split(r"\d", bad) == ["a", "b", "c"]
        assert re.findall(r"\d", bad) == ["1", "2"]
        assert re.compile(r"\d").split(bad) == ["a", "b", "c"]
    assert any(e["event"] == "purpose_internal_error" for e in logs)


def test_json_dumps_with_a_custom_encoder_default_calls_it_once() -> None:
    calls: list[object] = []

    class Enc(json.JSONEncoder):
        def default(self, o: object) -> object:
            calls.append(o)
            return "obj"

    thing = object()
    out = json.dumps({"a": pt.tag("x", P), "b": thing}, cls=Enc)
    assert out == '{"a": "x", "b": "obj"}' and calls == [thing] and pt.is_tagged(out)
