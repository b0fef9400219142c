"""Differential properties: the C accelerator against the pure-Python code it stands for.

In one process, for generated inputs (plain and tagged, nested, odd types), a C
`Site` or `Fast` must give the same value, type, ranges and exception as the
Python implementation it short-cuts.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import purposetag as pt
from purposetag import _accel
from purposetag._formatting import (
    brace_format,
    brace_program,
    percent_format,
    percent_program,
)
from purposetag._instrument import _aspects as A
from purposetag._proxy import TaggedValue
from purposetag._tainted import TaintedStr

pytestmark = pytest.mark.skipif(not _accel.ACCELERATED, reason="C accelerator not loaded")
C = _accel._C
P = ("security.authentication", "marketing.email")

text = st.text(alphabet="ab é€😀{}%", max_size=6)


P3 = (*P, ("security.authentication", "marketing.email"))  # a two-purpose tag set too


@st.composite
def maybe_tagged(draw: Any) -> str:
    """Plain text, text with one tag set, or text whose ranges hold several pieces
    (tagged and plain, adjacent sets of equal or different sizes)."""
    kind = draw(st.sampled_from(["plain", "one", "pieces"]))
    if kind == "pieces":
        out = ""
        for _ in range(draw(st.integers(1, 4))):
            s = draw(st.text(alphabet="ab é€😀", min_size=1, max_size=3))
            which = draw(st.sampled_from([None, *P3]))
            if which is None:
                out += s
            else:
                purposes = (which,) if isinstance(which, str) else which
                out += pt.tag(s, *purposes)
        return out
    s = draw(text)
    if s and kind == "one":
        return pt.tag(s, draw(st.sampled_from(P)))  # type: ignore[no-any-return]
    return s


def _same(got: Any, want: Any) -> None:
    assert got == want and type(got) is type(want)
    assert pt.ranges(got) == pt.ranges(want)


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return ("ok", fn(*args))
    except Exception as exc:
        return ("exc", type(exc), str(exc))


@given(st.lists(text, min_size=2, max_size=6), st.data())
def test_fstring_site_matches_python(lits: list[str], data: Any) -> None:
    pieces = [data.draw(maybe_tagged()) for _ in lits[1:]]
    site = C.Site(0, tuple(lits), A.fstring_tagged, call=tuple(map(len, lits[:-1])))
    _same(site(*pieces), A.fstring_slow(tuple(lits), *pieces))


@given(text, st.lists(st.one_of(maybe_tagged(), st.integers()), max_size=6), st.booleans())
def test_join_site_matches_python(sep: str, items: list[Any], as_list: bool) -> None:
    mark = object()
    site = C.Site(
        1,
        tuple(mark for _ in items),
        A.join_after,
        call=sep.join,
        slow_head=sep,
        mark=mark,
        as_list=as_list,
    )
    got, want = _outcome(site, *items), _outcome(A.join_str, sep, items)
    assert got[0] == want[0]
    if got[0] == "ok":
        _same(got[1], want[1])
    else:
        assert got == want


@given(
    st.one_of(text, st.binary(max_size=2), maybe_tagged()),
    st.lists(st.one_of(maybe_tagged(), st.binary(max_size=2), st.integers(0, 9)), max_size=5),
    st.booleans(),
)
def test_join_const_entry_matches_python(sep: Any, items: list[Any], as_tuple: bool) -> None:
    seq = tuple(items) if as_tuple else items
    got = _outcome(A.GLOBALS["_pt_join_const"], sep, seq)
    want = _outcome(A.join_const, sep, seq)
    assert got[0] == want[0]
    if got[0] == "ok":
        _same(got[1], want[1])
        assert got[1] == sep.join(seq)
    else:
        assert got == want == _outcome(sep.join, seq)


VALUES = st.one_of(
    maybe_tagged(),
    st.integers(-99, 99),
    st.floats(allow_nan=False),
    st.none(),
    st.builds(lambda x: pt.tag(x, P[0]), st.integers(0, 9)),
)


@given(
    st.sampled_from(
        ["%s|%s", "<%r>%5s", "%d-%s", "%s", "%(a)s", "%s%%%s", "%.1s:%-3s", "%s (%d) %.2f|%x"]
    ),
    st.lists(VALUES, min_size=0, max_size=3),
)
def test_mod_site_matches_python(template: str, values: list[Any]) -> None:
    mark = object()
    prog = percent_program(template)
    if prog is not None and len(prog[1]) != len(values):
        prog = None  # the rewriter gives a program only with one operand per field
    site = C.Site(
        3,
        tuple(mark for _ in values),
        percent_format,
        call=template,
        slow_head=template,
        mark=mark,
        prog=prog,
    )
    got, want = _outcome(site, *values), _outcome(lambda: template % tuple(values))
    assert got[0] == want[0]
    if got[0] == "ok":
        assert got[1] == want[1] and type(got[1]) in (str, TaintedStr)
        _same(got[1], percent_format(template, tuple(values)))  # value, type and ranges
    else:
        assert got[1:] == want[1:]


@given(
    st.sampled_from(["{}|{}", "{0!r}{1:>4}", "{}{k}", "{:d}", "{0}{0}", "{}"]),
    st.lists(VALUES, max_size=3),
    VALUES,
)
def test_format_site_matches_python(template: str, values: list[Any], k: Any) -> None:
    mark = object()
    items = (*(mark for _ in values), mark)
    site = C.Site(
        2, items, brace_format, call=template.format, slow_head=template, kwnames=("k",), mark=mark
    )
    got = _outcome(site, *values, k)
    want = _outcome(lambda: template.format(*values, k=k))
    assert got[0] == want[0]
    if got[0] == "ok":
        assert got[1] == want[1]
        _same(got[1], brace_format(template, tuple(values), {"k": k}))
    else:
        assert got[1:] == want[1:]


@given(
    st.sampled_from(["{}|{}", "{1}:{0:>3}", "{:d} and {}", "{0}{0}", "{}", "{:.2f}|{}", "x{}y"]),
    st.lists(VALUES, min_size=1, max_size=3),
)
def test_positional_format_site_with_a_program_matches_python(
    template: str, values: list[Any]
) -> None:
    mark = object()
    prog = brace_program(template)
    if prog is None or any(op[1] >= len(values) for op in prog[1]):
        prog = None  # as the rewriter: a program only when every field has its operand
    site = C.Site(
        2,
        tuple(mark for _ in values),
        brace_format,
        call=template.format,
        slow_head=template,
        mark=mark,
        prog=prog,
    )
    got = _outcome(site, *values)
    want = _outcome(lambda: template.format(*values))
    assert got[0] == want[0]
    if got[0] == "ok":
        assert got[1] == want[1]
        _same(got[1], brace_format(template, tuple(values), {}))
    else:
        assert got[1:] == want[1:]


class _Sub(str):
    pass


LEAVES = st.one_of(
    st.text(max_size=3),
    st.binary(max_size=3),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.complex_numbers(allow_nan=False),
    maybe_tagged(),
    st.builds(_Sub, st.text(max_size=2)),
    st.builds(object),
    st.builds(lambda x: pt.tag(x, P[0]), st.integers()),
)
TREES = st.recursive(
    LEAVES,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.lists(kids, max_size=4).map(tuple),
        st.dictionaries(
            st.one_of(st.text(max_size=2), st.integers(), maybe_tagged()), kids, max_size=3
        ),
        st.sets(st.integers(), max_size=2),
    ),
    max_leaves=12,
)

_PLAIN = {str, bytes, int, float, bool, type(None), complex}


def _reference(v: Any, depth: int = 3) -> bool:
    """What C may call plain: exact builtin scalars, small exact list/tuple/dict of them."""
    t = type(v)
    if t in _PLAIN:
        return True
    if depth <= 0:
        return False
    if t is list or t is tuple:
        return all(_reference(x, depth - 1) for x in v)
    if t is dict:
        return all(_reference(k, depth - 1) and _reference(x, depth - 1) for k, x in v.items())
    return False


@given(TREES)
def test_is_plain_matches_the_reference_and_never_hides_tags(value: Any) -> None:
    plain = C.is_plain(value)
    assert plain == _reference(value)
    if plain:
        assert not pt.is_tagged(value)


@given(st.lists(TREES, max_size=3), st.dictionaries(st.sampled_from("abc"), TREES, max_size=2))
def test_fast_calls_slow_for_anything_not_plain(args: list[Any], kwargs: dict[str, Any]) -> None:
    seen: list[str] = []

    def slow(*a: Any, **k: Any) -> str:
        seen.append("slow")
        return "slow"

    def fast(*a: Any, **k: Any) -> str:
        seen.append("fast")
        return "fast"

    f = C.Fast(slow=slow, fast=fast)
    plain = all(_reference(a) for a in args) and all(_reference(v) for v in kwargs.values())
    assert f(*args, **kwargs) == ("fast" if plain else "slow")
    assert pt.is_tagged(args) or pt.is_tagged(kwargs) or plain or seen == ["slow"]
    assert not (plain and (pt.is_tagged(args) or pt.is_tagged(kwargs)))


def test_tagged_value_is_never_plain() -> None:
    assert not C.is_plain(pt.tag(1, P[0])) and type(pt.tag(1, P[0])) is TaggedValue
