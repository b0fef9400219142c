"""`%` and `str.format` internals: templates, fallbacks, deep_union (used by instrumentation)."""

from __future__ import annotations

import pytest

import purposetag as pt
from purposetag import Tag
from purposetag._formatting import brace_format, brace_format_map, deep_union, percent_format

SA = frozenset({Tag("security.authentication")})
SB = frozenset({Tag("marketing")})


def ta(s: str) -> str:
    return pt.tag(s, "security.authentication")


def test_percent_format_with_plain_template_and_tuple() -> None:
    # What instrumentation calls for `"%s %s" % (a, b)`
    s = percent_format("%s and %s", (ta("x"), "y"))
    assert s == "x and y" and pt.ranges(s) == [(0, 1, SA)]
    assert type(percent_format("%s", ("y",))) is str
    assert pt.ranges(percent_format("%(a)s=%(b)d", {"a": ta("k"), "b": 1})) == [(0, 1, SA)]


def test_percent_unparsed_template_falls_back_to_union() -> None:
    # a key with nested parentheses is valid for CPython but not parsed here
    s = percent_format(ta("%(a(b))s!"), {"a(b)": "v"})
    assert s == "v!" and pt.ranges(s) == [(0, 2, SA)]


def test_percent_escaped_percent_keeps_template_tags() -> None:
    s = percent_format("100%% " + ta("%s"), (1,))
    assert s == "100% 1" and pt.ranges(s) == []  # '1' is the value's, untagged
    s2 = percent_format(ta("100%%"), ())
    assert pt.ranges(s2) == [(0, 4, SA)]


def test_brace_format_plain_template() -> None:
    s = brace_format("<{}|{k}>", (ta("x"),), {"k": pt.tag("y", "marketing")})
    assert s == "<x|y>" and pt.ranges(s) == [(1, 2, SA), (3, 4, SB)]
    assert type(brace_format("<{}>", ("x",), {})) is str
    s2 = brace_format_map("{k}!", {"k": ta("v")})
    assert pt.ranges(s2) == [(0, 1, SA)]


def test_brace_format_escaped_braces_offsets() -> None:
    t = "{{" + ta("ab") + "}}{}"
    s = t.format("z")
    assert s == "{ab}z" and pt.ranges(s) == [(1, 3, SA)]


def test_brace_errors_are_plain() -> None:
    with pytest.raises(IndexError):
        brace_format(ta("{}{}"), ("x",), {})
    with pytest.raises(KeyError):
        brace_format_map(ta("{k}"), {})


def test_deep_union() -> None:
    v = {"k": [ta("x"), (pt.tag(1, "marketing"),)], pt.tag("key", "marketing"): None}
    assert deep_union(v) == SA | SB
    assert deep_union("x") == frozenset() and deep_union(object()) == frozenset()
