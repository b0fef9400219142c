"""Differential properties: the C `tag_deep` against the Python `_patching._tag_deep`.

For generated JSON-like documents and odd inputs (subclasses, tuples, bytes,
proxies, tagged strings, deep nesting, callbacks that change the containers
being walked), C and Python must give equal values of identical types at every
level, identical ranges, the same sharing of tagged objects (one tagged key per
key text), and the same exception.
"""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import purposetag as pt
from purposetag import _accel
from purposetag._instrument import _patching
from purposetag._instrument._patching import _tag_deep
from purposetag._proxy import TaggedValue
from purposetag._tags import intern_tags
from purposetag._tainted import TaintedBytes, TaintedStr

pytestmark = pytest.mark.skipif(not _accel.ACCELERATED, reason="C accelerator not loaded")
C = _accel._C
P = ("security.authentication", "marketing.email")
TAGS = intern_tags(pt.tags(pt.tag("x", *P, category="user.contact", source="signup")))

text = st.text(alphabet="ab é€😀\x00\ud800", max_size=5)
keys_ = st.sampled_from(["id", "name", "é", "", "😀", "a\x00"]) | text


class SubStr(str):
    pass


class SubDict(dict):  # type: ignore[type-arg]
    pass


class SubList(list):  # type: ignore[type-arg]
    pass


Pair = namedtuple("Pair", "a b")


def _tagged(s: str) -> Any:
    return pt.tag(s, P[0]) if s else s


JSON_LEAVES = st.one_of(
    text,
    st.integers(),
    st.integers(-(10**30), 10**30),
    st.floats(),  # nan too: scalars must come back as the very same object
    st.booleans(),
    st.none(),
)
JSON = st.recursive(
    JSON_LEAVES,
    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(keys_, kids, max_size=4),
    max_leaves=30,
)

ODD_LEAVES = st.one_of(
    JSON_LEAVES,
    st.builds(SubStr, text),
    text.map(_tagged),
    st.binary(max_size=3),
    st.binary(min_size=1, max_size=3).map(lambda b: pt.tag(b, P[1])),
    st.complex_numbers(allow_nan=False),
    st.builds(lambda x: pt.tag(x, P[0]), st.integers(0, 9)),
    st.builds(object),
)
ODD_KEYS = keys_ | st.integers() | st.none() | text.map(_tagged) | st.builds(SubStr, text)
ODD = st.recursive(
    ODD_LEAVES,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.dictionaries(ODD_KEYS, kids, max_size=4),
        st.lists(kids, max_size=3).map(tuple),
        st.lists(kids, max_size=3).map(SubList),
        st.dictionaries(keys_, kids, max_size=3).map(SubDict),
        st.tuples(kids, kids).map(lambda t: Pair(*t)),
        st.tuples(st.integers(0, 9), text).map(lambda t: (t[0], t[1])),  # a tuple dict key
    ),
    max_leaves=25,
)


def _flatten(v: Any, out: list[Any]) -> None:
    """Every object of the result, depth first, keys before their values."""
    out.append(v)
    if isinstance(v, dict):
        for k, x in v.items():
            _flatten(k, out)
            _flatten(x, out)
    elif isinstance(v, list | tuple):
        for x in v:
            _flatten(x, out)


def _shape(objs: list[Any]) -> list[int]:
    """Which earlier position holds the same object (the sharing of the result)."""
    first: dict[int, int] = {}
    return [first.setdefault(id(o), i) for i, o in enumerate(objs)]


def _same_tree(got: Any, want: Any) -> None:
    assert type(got) is type(want)
    if isinstance(want, dict):
        assert list(map(type, got)) == list(map(type, want))
        assert list(got) == list(want)
        for (gk, gv), (wk, wv) in zip(got.items(), want.items(), strict=True):
            _same_tree(gk, wk)
            _same_tree(gv, wv)
    elif isinstance(want, list | tuple):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _same_tree(g, w)
    elif isinstance(want, str | bytes):
        assert got == want
        r = getattr(want, "_pt_ranges", None)
        assert getattr(got, "_pt_ranges", None) == r
        if type(r) in (frozenset, tuple):
            assert pt.ranges(got) == pt.ranges(want)
    elif isinstance(want, TaggedValue):
        assert got.__wrapped__ is want.__wrapped__ and pt.tags(got) == pt.tags(want)
    else:
        assert got is want  # scalars and unknown objects come back themselves


def _both(value: Any, tags: Any = TAGS) -> tuple[Any, Any]:
    """C and Python on `value`, each with a fresh `keys`, which must end up alike."""
    ck: dict[str, str] = {}
    pk: dict[str, str] = {}
    got = C.tag_deep(value, tags, ck)
    want = _tag_deep(value, tags, pk)
    _same_tree(got, want)
    g: list[Any] = []
    w: list[Any] = []
    _flatten(got, g)
    _flatten(want, w)
    assert _shape(g) == _shape(w)
    assert list(ck) == list(pk)
    for k in pk:
        _same_tree(ck[k], pk[k])
    # the tagged keys in `keys` are the ones in the result
    assert _shape([*g, *ck.values()]) == _shape([*w, *pk.values()])
    return got, want


@given(JSON)
def test_json_documents_match_python(doc: Any) -> None:
    _both(doc)


@given(JSON)
def test_parsed_documents_match_python(doc: Any) -> None:
    parsed = json.loads(json.dumps(doc))  # the parser shares the key strings
    _both(parsed)


@given(st.lists(st.dictionaries(keys_, text | st.integers(), max_size=4), max_size=5))
def test_records_share_one_tagged_key_per_name(records: list[dict[str, Any]]) -> None:
    got, _ = _both(records)
    seen: dict[str, Any] = {}
    for rec in got:
        for k in rec:
            assert type(k) is TaintedStr and pt.tags(k) == TAGS
            assert pt.ranges(k) == ([(0, len(k), TAGS)] if k else [])
            assert seen.setdefault(k, k) is k


@given(ODD)
def test_odd_values_match_python(value: Any) -> None:
    _both(value)


@given(st.lists(ODD, max_size=3), st.integers(60, 70))
def test_deep_nesting_matches_python(leaves: list[Any], depth: int) -> None:
    # around C's depth limit: deeper levels are Python's
    doc: Any = leaves
    for i in range(depth):
        doc = [doc, "s"] if i % 2 else {"k": doc, "n": i}
    _both(doc)


def test_very_deep_nesting_matches_python() -> None:
    for depth in (63, 64, 65, 66, 200, 400):
        doc: Any = "leaf"
        for i in range(depth):
            doc = {"k": doc} if i % 3 else [doc]
        _both(doc)


def _outcome(fn: Callable[[], Any]) -> Any:
    try:
        return ("ok", fn())
    except Exception as exc:
        return ("exc", type(exc), str(exc))


def test_too_deep_for_python_fails_in_c_too() -> None:
    doc: Any = "leaf"
    for _ in range(100_000):
        doc = [doc]
    got = _outcome(lambda: C.tag_deep(doc, TAGS, {}))
    want = _outcome(lambda: _tag_deep(doc, TAGS, {}))
    assert got[:2] == want[:2] == ("exc", RecursionError)


@given(JSON, st.sampled_from([set(TAGS), None, "tags"]))
def test_unexpected_tags_go_to_python(doc: Any, tags: Any) -> None:
    if tags is None or tags == "tags":
        got = _outcome(lambda: C.tag_deep(doc, tags, {}))
        want = _outcome(lambda: _tag_deep(doc, tags, {}))
        assert got[0] == want[0]
        if got[0] == "ok":
            _same_tree(got[1], want[1])
        else:
            assert got == want
    else:
        _both(doc, tags)


def test_keys_not_a_dict_go_to_python() -> None:
    class Keys(dict):  # type: ignore[type-arg]
        pass

    ck: Keys = Keys()
    pk: Keys = Keys()
    doc = [{"a": "x"}, {"a": "y"}]
    got, want = C.tag_deep(doc, TAGS, ck), _tag_deep(doc, TAGS, pk)
    _same_tree(got, want)
    assert list(ck) == list(pk) == ["a"] and next(iter(got[1])) is ck["a"]


def test_existing_keys_are_reused_and_none_is_missing() -> None:
    shared = pt.tag("a", P[1])
    for keys in ({"a": shared}, {"a": None}):
        ck, pk = dict(keys), dict(keys)
        got, want = C.tag_deep({"a": 1}, TAGS, ck), _tag_deep({"a": 1}, TAGS, pk)
        _same_tree(got, want)
        assert (next(iter(got)) is shared) == (next(iter(want)) is shared)
        _same_tree(ck["a"], pk["a"])


def test_exact_types_only() -> None:
    got, _ = _both([True, 1, 1.5, None, 2j, SubStr("s"), b"b", "s", (1, "t")])
    assert [type(x) for x in got] == [
        bool,
        int,
        float,
        type(None),
        complex,
        TaintedStr,
        TaintedBytes,
        TaintedStr,
        tuple,
    ]
    assert type(got[8][1]) is TaintedStr


def test_tag_deep_uses_c() -> None:
    assert _patching._deep is C.tag_deep
    res = _patching.tag_deep({"a": ["b"]}, set(TAGS))
    assert pt.ranges(res["a"][0]) == [(0, 1, TAGS)]


# --- callbacks that change what is being walked -------------------------------
# A str subclass goes to Python, whose str.__new__(TaintedStr, s) runs its __str__.


class Hook(str):
    action: Callable[[], None] = staticmethod(lambda: None)

    def __str__(self) -> str:
        type(self).action()
        return str.__str__(self)


def _differential(build: Callable[[], tuple[Any, Callable[[Any], None]]]) -> None:
    """`build()` gives a fresh document and what its Hook does to it; C and Python
    must end the same way (value or exception) on fresh copies."""
    results = []
    for fn in (C.tag_deep, _tag_deep):
        doc, action = build()
        Hook.action = staticmethod(lambda doc=doc, action=action: action(doc))  # type: ignore[misc]
        try:
            results.append(_outcome(lambda doc=doc, fn=fn: fn(doc, TAGS, {})))
        finally:
            Hook.action = staticmethod(lambda: None)  # type: ignore[assignment]
    got, want = results
    assert got[0] == want[0]
    if got[0] == "ok":
        _same_tree(got[1], want[1])
    else:
        assert got == want


@pytest.mark.parametrize(
    "action",
    [
        lambda d: d.append("more"),
        lambda d: d.clear(),
        lambda d: d.pop(0),
        lambda d: d.insert(0, "front") if len(d) < 9 else None,
        lambda d: d.extend(["x"] * 100),
        lambda d: d.__setitem__(slice(None), []),
    ],
)
def test_list_changed_by_a_callback(action: Callable[[Any], None]) -> None:
    _differential(lambda: (["a", Hook("h"), "b", ["c", "d"], "e"], action))


def test_list_freed_by_a_callback_while_walked() -> None:
    # the inner list's only reference is the outer list, which the callback empties
    def build() -> tuple[Any, Callable[[Any], None]]:
        return [["a", Hook("h"), "b", "c"], "z"], lambda d: d.clear()

    _differential(build)


@pytest.mark.parametrize(
    "action",
    [
        lambda d: d.__setitem__("new", "v"),
        lambda d: d.pop("z"),
        lambda d: (d.pop("z"), d.__setitem__("new", "v")),  # same size: no error
        lambda d: (d.pop("a"), d.__setitem__("new", "v")),  # one item more than counted
        lambda d: d.__setitem__("a", "changed"),  # a value only: no error
        lambda d: d.clear(),
        lambda d: (d.clear(), d.update(a=1, b=2, c=3, z=4)),
        lambda d: [d.__setitem__(f"k{i}", i) for i in range(50)],
    ],
)
def test_dict_changed_by_a_callback(action: Callable[[Any], None]) -> None:
    _differential(lambda: ({"a": "x", "b": Hook("h"), "c": ["y"], "z": "w"}, action))


@pytest.mark.parametrize("where", ["key", "value", "last"])
def test_dict_freed_by_a_callback_while_walked(where: str) -> None:
    def build() -> tuple[Any, Callable[[Any], None]]:
        if where == "key":
            inner: dict[Any, Any] = {"a": "x", Hook("h"): "v", "b": "y"}
        elif where == "value":
            inner = {"a": "x", "h": Hook("h"), "b": "y"}
        else:
            inner = {"a": "x", "h": Hook("h")}
        return [inner, "z"], lambda d: d.clear()

    _differential(build)


def test_exceptions_propagate() -> None:
    class Boom(str):
        def __str__(self) -> str:
            raise ValueError("boom")

    doc = {"a": ["b", {"c": Boom("d")}]}
    got = _outcome(lambda: C.tag_deep(doc, TAGS, {}))
    assert got == _outcome(lambda: _tag_deep(doc, TAGS, {})) == ("exc", ValueError, "boom")


# --- set-up -------------------------------------------------------------------


class NoSlot(str):
    _pt_ranges = None


class Inherits(TaintedStr):
    __slots__ = ()


class OtherName(str):
    __slots__ = ("_pt_other",)


class WithDict(str):
    pass


@pytest.mark.parametrize("tp", [str, NoSlot, Inherits, OtherName, WithDict, int, "TaintedStr"])
def test_set_tag_deep_refuses_unexpected_types(tp: Any) -> None:
    with pytest.raises(TypeError):
        C.set_tag_deep(tp, _tag_deep)
    assert pt.ranges(C.tag_deep("s", TAGS, {})) == [(0, 1, TAGS)]  # still TaintedStr


def test_set_tag_deep_refuses_a_non_callable() -> None:
    with pytest.raises(TypeError):
        C.set_tag_deep(TaintedStr, None)


def test_set_tag_deep_during_a_call_keeps_the_call_consistent() -> None:
    class Other(str):
        __slots__ = ("pad", "_pt_ranges")

    def swap() -> None:
        C.set_tag_deep(Other, _tag_deep)

    Hook.action = staticmethod(swap)  # type: ignore[assignment]
    try:
        got = C.tag_deep(["a", Hook("h"), "b"], TAGS, {})
        assert [type(x) for x in got] == [TaintedStr, TaintedStr, TaintedStr]
        assert type(C.tag_deep("c", TAGS, {})) is Other
        assert C.tag_deep("c", TAGS, {})._pt_ranges is TAGS
    finally:
        Hook.action = staticmethod(lambda: None)  # type: ignore[assignment]
        C.set_tag_deep(TaintedStr, _tag_deep)
    assert type(C.tag_deep("c", TAGS, {})) is TaintedStr
