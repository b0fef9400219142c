"""`%` and `str.format` internals: templates, fallbacks, deep_union (used by instrumentation)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example as _example
from hypothesis import given as _given
from hypothesis import strategies as _st

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


# --- differential: the tag-keeping `%`, `format` and `format_map` against plain str,
# over generated templates and values (values, exception types and messages).

_T = pt.tag("ab", "security.authentication")
_PCT_UNITS = [
    "%s",
    "%r",
    "%a",
    "%d",
    "%5s",
    "%-4r",
    "%.1s",
    "%*s",
    "%.*s",
    "%(k)s",
    "%(k)d",
    "%%",
    "%c",
    "%x",
    "lit",
    "é",
    "%(k)*d",
    "%99999999999999999999s",
    "%١s",
]
_BRACE_UNITS = [
    "{}",
    "{0}",
    "{1}",
    "{k}",
    "{!r}",
    "{:>5}",
    "{0!s:{1}}",
    "{:{}}",
    "{0[0]}",
    "{k[0]}",
    "{{",
    "}}",
    "x",
    "{0.real}",
    "{:{:{}}}",
    "{١}",
    "{a:{0}}",
    "{99999999999999999999}",
]
_VALUES = _st.sampled_from([_T, "x", 3, -2, True, 2.5, [_T], {"k": _T}, ("t",), None])


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return ("ok", str.__str__(fn(*args)))
    except Exception as exc:
        return ("exc", type(exc).__name__, str(exc))


@_given(
    _st.lists(_st.sampled_from(_PCT_UNITS), min_size=1, max_size=4).map("".join),
    _st.one_of(_st.lists(_VALUES, max_size=4).map(tuple), _VALUES),
)
def test_percent_format_matches_plain_percent(template: str, values: Any) -> None:
    assert _outcome(percent_format, template, values) == _outcome(
        lambda t, v: t % v, template, values
    )


@_given(
    _st.lists(_st.sampled_from(_BRACE_UNITS), min_size=1, max_size=4).map("".join),
    _st.lists(_VALUES, max_size=3).map(tuple),
    _st.dictionaries(_st.just("k"), _VALUES, max_size=1),
)
def test_brace_format_matches_plain_format(template: str, args: Any, kwargs: Any) -> None:
    want = _outcome(lambda: template.format(*args, **kwargs))
    assert _outcome(brace_format, template, args, kwargs) == want
    assert _outcome(brace_format_map, template, kwargs) == _outcome(
        lambda: template.format_map(kwargs)
    )


class _Counted:
    calls = 0

    def __str__(self) -> str:
        _Counted.calls += 1
        return "c"


@pytest.mark.parametrize(
    ("template", "values"),
    [
        ("%(a)s %s", {"a": _T}),  # after a key, the looked-up value is the only argument
        ("%s %*s", (_Counted(), True, _T)),  # a bool is an int for `*`
        ("%s %*s", (_Counted(), 3.0, _T)),  # "* wants int", after one __str__
        ("%s %.*s", (_Counted(), -1, _T)),
        ("ab %١s %s", (_Counted(), _T)),  # not a digit for `%`: its own error, no call
        ("%99999999999999999999s %s", (_Counted(), _T)),  # "width too big" first
    ],
)
def test_percent_edge_cases_match_plain(template: str, values: Any) -> None:
    _Counted.calls = 0
    got = _outcome(percent_format, template, values)
    got_calls = _Counted.calls
    _Counted.calls = 0
    want = _outcome(lambda: template % values)
    assert got == want and got_calls == _Counted.calls


@pytest.mark.parametrize(
    ("template", "args"),
    [
        ("{99999999999999999999}", (_T,)),
        ("{١}", ("a", _T)),  # any Unicode decimal digit is an index
        ("{}{²[0]}", ("a", "z")),
    ],
)
def test_brace_edge_cases_match_plain(template: str, args: Any) -> None:
    assert _outcome(brace_format, template, args, {}) == _outcome(lambda: template.format(*args))


def test_format_map_positional_field_in_a_spec_is_cpythons_error() -> None:
    for template in ("{a:{0}}", "{a:{}}"):
        m = {"a": _T}
        assert _outcome(brace_format_map, template, m) == _outcome(lambda: template.format_map(m))


@_example("aaa ", True, 4, 3, False)  # the padding equals the character cut off
@_example("a ", True, 6, 1, False)
@_given(
    _st.text(alphabet="ab ", max_size=6),
    _st.booleans(),
    _st.one_of(_st.none(), _st.integers(0, 9)),
    _st.one_of(_st.none(), _st.integers(0, 8)),
    _st.booleans(),
)
def test_percent_s_places_exactly_the_kept_characters(
    text: str, left: bool, width: int | None, prec: int | None, star: bool
) -> None:
    # the characters of the tagged text that `%` keeps carry its tags; the padding
    # never does, even when it looks like the characters the precision cut off
    t = pt.tag(text, "p")
    tags = pt.tags(pt.tag("x", "p"))
    w = "" if width is None else str(width)
    flags = "-" if left else ""
    if star and prec is not None:
        template, values = f"[%{flags}{w}.*s]", (prec, t)
    else:
        template = f"[%{flags}{w}{'' if prec is None else '.' + str(prec)}s]"
        values = (t,)
    res = percent_format(template, values)
    assert res == template % (*values[:-1], text)
    kept = len(text) if prec is None else min(len(text), prec)
    pad = max(0, (width or 0) - kept)
    start = 1 if left else 1 + pad
    want = [(start, start + kept, tags)] if kept else []
    assert pt.ranges(res) == want


def test_an_empty_tagged_string_tags_no_padding_or_quotes() -> None:
    e = pt.tag("", "p")
    for res in ("[%5s]" % e, "%r" % e, "%a|" % (e,), percent_format("%-4s|%s", (e, "x"))):  # noqa: UP031
        assert not pt.is_tagged(res) and type(res) is str
