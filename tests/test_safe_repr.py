"""Error messages name bad input but never quote a tagged value (`_safe_repr`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import purposetag as pt
from purposetag._safe_repr import safe_repr

P = "security.authentication"
SECRET = "Ada Lovelace 555-0101"


def tagged() -> str:
    return pt.tag(SECRET, P)


def test_plain_values_are_quoted() -> None:
    assert safe_repr("Bad Name") == "'Bad Name'"
    assert safe_repr(5) == "5"
    assert safe_repr(None) == "None"
    assert safe_repr([1, "a"]) == "[1, 'a']"
    assert type(safe_repr("x")) is str


def test_tagged_values_are_described() -> None:
    assert safe_repr(tagged()) == "<tagged str>"
    assert safe_repr(pt.tag(b"555", P)) == "<tagged bytes>"
    assert safe_repr(pt.tag(42, P)) == "<tagged int>"
    assert safe_repr(["ok", tagged()]) == "<tagged list>"
    assert safe_repr({"k": tagged()}) == "<tagged dict>"


def test_a_repr_returning_tagged_text_is_not_quoted() -> None:
    class Sneaky:
        def __repr__(self) -> str:
            return tagged()

    assert SECRET not in safe_repr(Sneaky())


def test_a_failing_repr_is_described() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("boom")

    assert safe_repr(Broken()) == "<Broken>"


def test_long_reprs_are_cut() -> None:
    assert len(safe_repr("x" * 10_000)) <= 200


BAD_CALLS: list[tuple[str, Callable[[Any], object]]] = [
    ("tag purpose", lambda v: pt.tag("x", v)),
    ("guard use", lambda v: pt.guard(v)),
    ("check use", lambda v: pt.check("x", v)),
    ("mode", lambda v: pt.mode(v)),
    ("configure mode", lambda v: pt.configure(mode=v)),
    ("configure max_depth", lambda v: pt.configure(max_depth=v)),
    ("configure consent_timeout", lambda v: pt.configure(consent_timeout=v)),
    ("policy key", lambda v: pt.Policy({v: ["marketing"]})),
    ("policy value", lambda v: pt.Policy({"security": [v]})),
    ("policy list", lambda v: pt.Policy({pt.tag("security", P): 5})),
]


@pytest.mark.parametrize("what, call", BAD_CALLS, ids=[w for w, _ in BAD_CALLS])
@pytest.mark.parametrize("bad", [SECRET, -12345], ids=["str", "int"])
def test_errors_describe_a_tagged_argument(
    what: str, call: Callable[[Any], object], bad: Any
) -> None:
    value = pt.tag(bad, P)
    try:
        with pytest.raises(pt.PolicyError) as err:
            call(value)
    finally:
        pt.configure(mode=None, max_depth=None, consent_timeout=None)
    msg = str(err.value)
    assert str(bad) not in msg
    assert "<tagged" in msg
    assert not pt.is_tagged(msg)
