"""Patched json (and the tag walk behind every patch) give the original's results.

- a walk's limit never turns into "no tags": data nested deeper than any limit;
- mappings and sequences of the standard library that are not dict/list/tuple/set
  (deque, ChainMap, UserDict/UserList/UserString, mappingproxy) keep their tags,
  read without running the application's methods;
- ``json.loads`` with hooks returns exactly the objects the original returns (types,
  structure, hook calls), every string tagged; the generic tag walk keeps types;
- ``json.dump`` writes exactly the original's chunks, through the same calls.
"""

from __future__ import annotations

import collections
import functools
import io
import json
import string
import types
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

import purposetag as pt
from purposetag._formatting import deep_union, percent_format
from purposetag._instrument import _p_json, _patching
from purposetag._instrument._patching import has_tags, tag_deep, tags_in
from purposetag._tainted import TaintedStr

P = "security.account_recovery"
T = pt.tag("ada@x.io", P)
TAGS = pt.tags(T)


@pytest.fixture(autouse=True)
def _on() -> None:
    pt.instrument()


def _nest(leaf: Any, depth: int) -> Any:
    """`leaf` inside `depth` alternating dicts and lists."""
    for i in range(depth):
        leaf = {"k": leaf, "n": i} if i % 2 else [leaf, "s"]
    return leaf


def _concat(chunks: list[Any]) -> str:
    """The chunks as one string, keeping their ranges (``+`` of tagged strings)."""
    return functools.reduce(lambda a, b: a + b, chunks, "")


class Chunks:
    """A file that records each ``write()``."""

    def __init__(self) -> None:
        self.chunks: list[Any] = []

    def write(self, chunk: Any) -> None:
        self.chunks.append(chunk)


# --- 1. no limit turns into "no tags" -----------------------------------------


@pytest.mark.parametrize("depth", [31, 32, 33, 40, 64, 65, 200])
def test_dumps_of_deep_data_tags_the_string_where_it_is_written(depth: int) -> None:
    obj = _nest(T, depth)
    with structlog.testing.capture_logs() as logs:
        out = json.dumps(obj)
    assert out == _patching.original(json, "dumps")(_nest("ada@x.io", depth))
    at = out.index("ada@x.io")
    assert pt.ranges(out) == [(at, at + 8, TAGS)]  # its characters, nothing else
    assert logs == []
    assert pt.is_tagged(obj)  # the guard's scanner sees it too


@pytest.mark.parametrize("depth", [33, 100])
def test_dump_of_deep_data_is_tagged(depth: int) -> None:
    buf = io.StringIO()
    json.dump({"deep": _nest(T, depth)}, buf)
    out = buf.getvalue()
    at = out.index("ada@x.io")
    assert pt.ranges(out) == [(at, at + 8, TAGS)]


def test_deep_plain_data_stays_plain() -> None:
    obj = _nest("ada@x.io", 100)
    assert type(json.dumps(obj)) is str
    assert not has_tags(obj) and not tags_in(obj)


@pytest.mark.parametrize("depth", [9, 33, 34, 1000, 5000])
def test_the_walk_has_no_depth_limit(depth: int) -> None:
    obj = _nest(T, depth)
    assert has_tags(obj) and tags_in(obj) == TAGS and deep_union(obj) == TAGS
    args = (1, {"a": obj})
    assert _patching.args_tags(args, {}) == TAGS and _patching.args_tags((), {"k": obj}) == TAGS


def test_the_walk_survives_cycles_and_sharing() -> None:
    loop: list[Any] = ["x"]
    loop.append(loop)
    assert not deep_union(loop) and not has_tags(loop)
    loop.append({"e": T})
    assert deep_union(loop) == TAGS and has_tags(loop)
    shared: Any = [T]
    for _ in range(60):  # 2**60 paths, 61 containers
        shared = [shared, shared]
    assert deep_union(shared) == TAGS


def test_deep_values_keep_tags_through_the_other_patches() -> None:
    deep = _nest(T, 40)
    assert pt.tags(urllib.parse.urlencode({"q": deep})) == TAGS
    assert pt.tags(string.Template("$x").substitute(x=deep)) == TAGS
    assert pt.tags(string.Template("$x").substitute({"x": deep})) == TAGS
    buf = io.StringIO()
    import csv

    csv.writer(buf).writerow(["a", deep])
    assert pt.tags(buf.getvalue()) == TAGS
    assert pt.tags(percent_format("to: %s", (_nest(T, 12),))) == TAGS


# --- 2. the other containers of the standard library ---------------------------


def _containers(v: Any) -> list[Any]:
    return [
        collections.deque([v]),
        collections.ChainMap({}, {"email": v}),
        collections.UserDict(email=v),
        collections.UserList([v]),
        collections.UserString(v),
        types.MappingProxyType({"email": v}),
        {"email": v}.values(),
        {"email": v}.items(),
        collections.OrderedDict(email=v).values(),
        [collections.deque([{"k": collections.UserList([v])}])],
    ]


@pytest.mark.parametrize("i", range(10))
def test_the_walk_reads_the_other_containers(i: int) -> None:
    value = _containers(T)[i]
    assert deep_union(value) == TAGS and tags_in(value) == TAGS and has_tags(value)
    assert has_tags((1, value)) and _patching.args_tags((value,), {}) == TAGS
    plain = _containers("ada@x.io")[i]
    assert not deep_union(plain) and not has_tags(plain)


@pytest.mark.parametrize(
    "mapping",
    [
        lambda v: collections.ChainMap({"email": v}),
        lambda v: collections.ChainMap({}, {"email": v}),
        lambda v: types.MappingProxyType({"email": v}),
        lambda v: collections.UserDict(email=v),
    ],
)
@pytest.mark.parametrize("method", ["substitute", "safe_substitute"])
def test_template_with_other_mappings(mapping: Callable[[Any], Any], method: str) -> None:
    t = string.Template("To: $email")
    out = getattr(t, method)(mapping(T))
    assert out == "To: ada@x.io" and pt.tags(out) == TAGS
    plain = getattr(t, method)(mapping("ada@x.io"))
    assert plain == "To: ada@x.io" and type(plain) is str


@pytest.mark.parametrize(
    ("build", "doseq"),
    [
        (lambda v: collections.UserDict(email=v), False),
        (lambda v: types.MappingProxyType({"email": v}), False),
        (lambda v: collections.ChainMap({"email": v}), False),
        (lambda v: {"e": collections.deque([v])}, True),
        (lambda v: {"e": collections.UserList([v])}, True),
        (lambda v: collections.OrderedDict(e=v), False),
    ],
)
def test_urlencode_with_other_containers(build: Callable[[Any], Any], doseq: bool) -> None:
    out = urllib.parse.urlencode(build(T), doseq=doseq)
    plain = urllib.parse.urlencode(build("ada@x.io"), doseq=doseq)
    assert out == plain and pt.tags(out) == TAGS and type(plain) is str


class Trap(Exception):
    pass


def _trap(*_a: Any, **_k: Any) -> Any:
    raise Trap("the application's method ran")


class TrapDict(dict):  # type: ignore[type-arg]
    __iter__ = items = values = keys = __getitem__ = get = copy = _trap


class TrapUserDict(collections.UserDict):  # type: ignore[type-arg]
    __iter__ = items = values = keys = __getitem__ = __len__ = __getattr__ = _trap


class TrapChainMap(collections.ChainMap):  # type: ignore[type-arg]
    __iter__ = items = values = keys = __getitem__ = __len__ = _trap


class TrapDeque(collections.deque):  # type: ignore[type-arg]
    __iter__ = __getitem__ = __len__ = _trap


class TrapUserList(collections.UserList):  # type: ignore[type-arg]
    __iter__ = __getitem__ = __len__ = _trap


class PropertyData(collections.UserDict):  # type: ignore[type-arg]
    @property
    def data(self) -> Any:
        raise Trap("a property ran")

    @data.setter
    def data(self, value: Any) -> None:
        pass


def test_the_walk_runs_no_method_of_the_application() -> None:
    for value in (
        TrapUserDict({"e": T}),
        TrapChainMap({"e": T}),
        TrapDeque([T]),
        TrapUserList([T]),
        types.MappingProxyType(TrapDict(e=T)),
        collections.ChainMap(TrapDict(e=T)),
        collections.UserDict({"e": TrapDeque([T])}),
    ):
        assert deep_union(value) == TAGS
        assert has_tags(value) and has_tags([value])
    # an attribute the class defines (here a property) is not read at all
    assert deep_union(PropertyData()) == frozenset()


# --- 3. json.loads with hooks, and the generic tag walk ------------------------


class AttrDict(dict):  # type: ignore[type-arg]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.__dict__ = self


class FrozenDict(dict):  # type: ignore[type-arg]
    def __setitem__(self, key: Any, value: Any) -> None:
        raise TypeError("frozen")

    def clear(self) -> None:
        raise TypeError("frozen")


class SubDict(dict):  # type: ignore[type-arg]
    pass


class SubList(list):  # type: ignore[type-arg]
    pass


DOC = '{"user": {"email": "ada@x.io", "alts": ["a@x", ["b@x"]]}, "n": 1}'


def _every_string_tagged(v: Any, seen: set[int] | None = None) -> None:
    """Every str anywhere in `v` (dict keys too, attributes of namespaces) carries
    exactly TAGS on all its characters; read through the base types."""
    seen = set() if seen is None else seen
    if id(v) in seen:
        return
    seen.add(id(v))
    if isinstance(v, str):
        assert type(v) is TaintedStr and pt.tags(v) == TAGS, v
        assert pt.ranges(v) == ([(0, len(v), TAGS)] if v else [])
    elif isinstance(v, dict):
        for k, x in dict.items(v):
            _every_string_tagged(k, seen)
            _every_string_tagged(x, seen)
    elif isinstance(v, list | tuple | set | frozenset):
        for x in (list if isinstance(v, list) else tuple)(v):
            _every_string_tagged(x, seen)
    elif isinstance(v, types.SimpleNamespace):
        _every_string_tagged(vars(v), seen)


def _same(got: Any, want: Any) -> None:
    """Same types and values at every level (a tagged string for a plain one)."""
    if type(want) is str:
        assert isinstance(got, str) and got == want
        return
    assert type(got) is type(want)
    if isinstance(want, dict):
        assert list(dict.keys(got)) == list(dict.keys(want))
        for g, w in zip(dict.values(got), dict.values(want), strict=True):
            _same(g, w)
        if type(want).__init__ is AttrDict.__init__:
            assert got.__dict__ is got
    elif isinstance(want, list | tuple):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _same(g, w)
    elif isinstance(want, types.SimpleNamespace):
        _same(vars(got), vars(want))
    else:
        assert got == want


def _both(doc: str, **kw: Any) -> tuple[Any, Any]:
    """json.loads of the plain and of the tagged document."""
    want = json.loads(doc, **kw)
    got = json.loads(pt.tag(doc, P), **kw)
    _same(got, want)
    _every_string_tagged(got)
    return got, want


def test_loads_object_hook_attrdict() -> None:
    got, _ = _both(DOC, object_hook=AttrDict)
    assert type(got) is AttrDict and type(got.user) is AttrDict
    assert got.user.email == "ada@x.io" and pt.tags(got.user.email) == TAGS


def test_loads_object_hook_frozen_dict_stays_frozen() -> None:
    got, _ = _both(DOC, object_hook=FrozenDict)
    assert type(got) is FrozenDict
    with pytest.raises(TypeError, match="frozen"):
        got["x"] = 1


@pytest.mark.parametrize(
    "hook",
    [
        lambda d: set(d.values()),
        lambda d: frozenset(d),
        lambda d: types.SimpleNamespace(**d),
        lambda d: tuple(d.items()),
        lambda d: list(d.values()),
        SubDict,
        collections.OrderedDict,
    ],
)
def test_loads_object_hook_results(hook: Callable[[Any], Any]) -> None:
    _both('{"e": "ada@x.io", "f": "bob@y.io"}', object_hook=hook)
    _both('[{"e": "ada@x.io"}, ["x", {"f": "y"}], "z"]', object_hook=hook)


def test_loads_simple_namespace_attributes_are_tagged() -> None:
    got, _ = _both(DOC, object_hook=lambda d: types.SimpleNamespace(**d))
    assert pt.tags(got.user.email) == TAGS and pt.tags(got.user.alts[1][0]) == TAGS


@pytest.mark.parametrize("hook", [list, collections.OrderedDict, SubDict, AttrDict])
def test_loads_object_pairs_hook(hook: Callable[[Any], Any]) -> None:
    got, _ = _both('{"b": "1", "a": ["2", {"c": "3"}], "b": "4"}', object_pairs_hook=hook)
    _both(DOC, object_pairs_hook=hook, object_hook=lambda d: 1 / 0)  # never called


def _recording(hook: Callable[[Any], Any], calls: list[Any]) -> Callable[[Any], Any]:
    def record(arg: Any) -> Any:
        calls.append(arg)
        return hook(arg)

    return record


@pytest.mark.parametrize("kind", ["object_hook", "object_pairs_hook"])
def test_loads_calls_the_hook_as_the_original_does(kind: str) -> None:
    doc = '[{"a": {"b": ["c", {"d": 1}]}}, {"e": null}, {}, [{"f": [[{"g": "h"}]]}]]'
    plain: list[Any] = []
    tagged: list[Any] = []
    json.loads(doc, **{kind: _recording(SubDict, plain)})
    json.loads(pt.tag(doc, P), **{kind: _recording(SubDict, tagged)})
    assert len(tagged) == len(plain) == 7
    for g, w in zip(tagged, plain, strict=True):  # same order, same arguments
        _same(g, w)
        _every_string_tagged(g)


def test_loads_hook_never_sees_a_walked_result_again() -> None:
    # the hook returns lists (and a shared one): what it returns is not changed
    shared: list[Any] = ["kept"]
    got = json.loads(pt.tag('[{"a": "x"}, {"b": "y"}]', P), object_hook=lambda d: [*d, shared])
    assert got == [["a", shared], ["b", shared]] and got[0][1] is got[1][1] is shared
    assert shared == ["kept"] and type(shared[0]) is str
    assert pt.tags(got[0][0]) == pt.tags(got[1][0]) == TAGS
    number: list[Any] = ["n"]  # nor what parse_int returns
    got = json.loads(pt.tag('{"a": [1, "x"]}', P), object_hook=dict, parse_int=lambda s: number)
    assert got["a"][0] is number and type(number[0]) is str and pt.tags(got["a"][1]) == TAGS


def test_loads_without_hooks_and_with_other_arguments() -> None:
    _both(DOC)
    _both(DOC, parse_int=str, parse_float=str)
    _both('"just a string"', object_hook=AttrDict)
    _both('[["a", ["b"]], 1]', object_hook=AttrDict)


def test_loads_with_a_decoder_class_keeps_its_types() -> None:
    class Decoder(json.JSONDecoder):
        def __init__(self, **kw: Any) -> None:
            super().__init__(object_hook=AttrDict, **kw)

    got, _ = _both(DOC, cls=Decoder)
    assert got.user.email == "ada@x.io" and type(got.user.alts) is list
    got, _ = _both(DOC, cls=json.JSONDecoder, object_hook=FrozenDict)
    assert type(got) is FrozenDict


def test_loads_hook_failure_of_ours_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Any, v: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(_p_json._HookTagger, "_value", broken)
    calls: list[Any] = []
    with structlog.testing.capture_logs() as logs:
        got = json.loads(pt.tag(DOC, P), object_hook=_recording(AttrDict, calls))
    _same(got, json.loads(DOC, object_hook=AttrDict))
    assert len(calls) == 2  # still once per object
    assert {e["event"] for e in logs} == {"purpose_internal_error"}
    assert "ada@x.io" not in repr(logs)


def test_loads_errors_are_the_originals() -> None:
    with pytest.raises(ZeroDivisionError):
        json.loads(pt.tag(DOC, P), object_hook=lambda d: 1 / 0)
    with pytest.raises(json.JSONDecodeError):
        json.loads(pt.tag('{"a": ', P), object_hook=AttrDict)


# generated documents through loads, with and without hooks

KEYS = st.text(alphabet="ab é", max_size=3)
LEAVES = st.one_of(
    st.text(alphabet="ab é\"\\", max_size=4),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
DOCS = st.recursive(
    LEAVES,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(KEYS, kids, max_size=4),
    max_leaves=25,
)
HOOKS: dict[str, Callable[[Any], Any]] = {
    "identity": lambda d: d,
    "AttrDict": AttrDict,
    "FrozenDict": FrozenDict,
    "SubDict": SubDict,
    "keys": lambda d: frozenset(d),
    "namespace": lambda d: types.SimpleNamespace(**d),
    "values": lambda d: SubList(d.values()),
}
PAIRS_HOOKS: dict[str, Callable[[Any], Any]] = {
    "list": list,
    "OrderedDict": collections.OrderedDict,
    "AttrDict": AttrDict,
    "tuple": tuple,
}


def _hooks(hook: str | None, pairs: str | None, calls: list[Any]) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if hook is not None:
        kw["object_hook"] = _recording(HOOKS[hook], calls)
    if pairs is not None:
        kw["object_pairs_hook"] = _recording(PAIRS_HOOKS[pairs], calls)
    return kw


@given(DOCS, st.sampled_from([None, *HOOKS]), st.sampled_from([None, *PAIRS_HOOKS]))
def test_loads_generated_documents(doc: Any, hook: str | None, pairs: str | None) -> None:
    text = json.dumps(doc)
    plain: list[Any] = []
    tagged: list[Any] = []
    want = json.loads(text, **_hooks(hook, pairs, plain))
    got = json.loads(pt.tag(text, P), **_hooks(hook, pairs, tagged))
    _same(got, want)
    _every_string_tagged(got)
    assert len(tagged) == len(plain)  # the hook: as often, in the same order, same arguments
    for g, w in zip(tagged, plain, strict=True):
        _same(g, w)
        _every_string_tagged(g)


# the generic walk (`tag_deep`: json.loads with a decoder class, re, textwrap...)


class Ns(tuple):  # type: ignore[type-arg]
    pass


Pair = collections.namedtuple("Pair", "a b")


class SubSet(set):  # type: ignore[type-arg]
    pass


class SubFrozen(frozenset):  # type: ignore[type-arg]
    __slots__ = ("note",)


class SubOrdered(collections.OrderedDict):  # type: ignore[type-arg]
    pass


class SubDefault(collections.defaultdict):  # type: ignore[type-arg]
    pass


class Hostile(dict):  # type: ignore[type-arg]
    """Every method a copy or a walk might call raises (made by `_hostile`)."""

    __new__ = __init__ = __iter__ = items = keys = values = copy = _trap
    __setitem__ = clear = update = __getattr__ = _trap


def _hostile(**items: Any) -> Hostile:
    h = dict.__new__(Hostile)
    dict.update(h, items)
    return h


def _values(v: Any) -> list[Any]:
    if isinstance(v, dict):
        return [*dict.keys(v), *dict.values(v)]
    for base in (list, tuple, set, frozenset):
        if isinstance(v, base):
            return list(base.__iter__(v))  # type: ignore[attr-defined]
    raise AssertionError(type(v))


def _cases() -> list[Any]:
    ns = Ns(("x", 1))
    ns.note = "kept"  # type: ignore[attr-defined]
    fz = SubFrozen({"x", 2})
    fz.note = "slot"
    return [
        AttrDict(a="x"),
        FrozenDict(a="x"),
        SubDict(a=["x"]),
        SubList(["x", {"b": "y"}]),
        SubOrdered([("b", "x"), ("a", "y")]),
        SubDefault(list, a="x"),
        collections.OrderedDict([("b", "x"), ("a", "y")]),
        collections.defaultdict(int, a="x"),
        ns,
        Pair("x", 2),
        ("x", ("y", 3)),
        {"x", ("y", 3)},
        frozenset({"x"}),
        SubSet({"x"}),
        fz,
        _hostile(a="x"),
    ]


@pytest.mark.parametrize("i", range(16))
def test_tag_deep_keeps_types_and_state(i: int) -> None:
    value = _cases()[i]
    before = _values(value)
    got = tag_deep(value, TAGS)
    assert type(got) is type(value) and got is not value
    assert _values(value) == before and all(  # the value given is not changed
        type(a) is type(b) for a, b in zip(_values(value), before, strict=True)
    )
    assert sorted(map(repr, _values(got))) == sorted(map(repr, before))
    _every_string_tagged(_values(got))
    if isinstance(value, dict):
        assert list(dict.keys(got)) == list(dict.keys(value))  # order kept
    if isinstance(value, AttrDict):
        assert got.__dict__ is got and got.a == "x"
    if isinstance(value, collections.defaultdict):
        assert got.default_factory is value.default_factory
    if isinstance(value, Ns | SubFrozen):
        assert got.note == value.note  # type: ignore[union-attr]


def test_tag_deep_leaves_untagged_values_as_they_are() -> None:
    for value in (SubDict({1: 2}), (1, 2), frozenset({1}), SubList([None]), Pair(1, 2)):
        assert tag_deep(value, TAGS) is value


def test_tag_deep_adds_tags_to_a_proxy() -> None:
    other = pt.tag(5, "marketing.email")
    got = tag_deep([other], TAGS)[0]
    assert got == 5 and pt.tags(got) == TAGS | pt.tags(other)


# --- 4. json.dump writes what the original writes ------------------------------


class EncodeOnly(json.JSONEncoder):
    def encode(self, o: Any) -> str:  # dump() never calls encode(); dumps() does
        return '"from encode()"'


class OwnIterencode(json.JSONEncoder):
    calls = 0

    def iterencode(self, o: Any, _one_shot: bool = False) -> Any:
        OwnIterencode.calls += 1
        yield "<"
        yield from super().iterencode(o, _one_shot)
        yield ">"


class OwnDefault(json.JSONEncoder):
    seen: list[Any] = []

    def default(self, o: Any) -> Any:
        OwnDefault.seen.append(o)
        if isinstance(o, complex):
            return [o.real, o.imag]
        return super().default(o)


def _dump_both(obj: Any, plain: Any, **kw: Any) -> tuple[list[Any], list[Any]]:
    """The chunks the patched dump writes for `obj`, and the original for `plain`."""
    got, want = Chunks(), Chunks()
    json.dump(obj, got, **kw)
    json.dump.__wrapped__(plain, want, **kw)  # type: ignore[attr-defined]
    assert [str(c) for c in got.chunks] == want.chunks
    return got.chunks, want.chunks


def test_dump_with_an_encoder_that_has_its_own_encode() -> None:
    got, want = _dump_both([T], ["ada@x.io"], cls=EncodeOnly)
    assert want == ['["ada@x.io"', "]"]
    assert pt.ranges(got[0]) == [(2, 10, TAGS)] and not pt.is_tagged(got[1])
    buf = io.StringIO()
    json.dump([T], buf, cls=EncodeOnly)
    assert buf.getvalue() == '["ada@x.io"]'


def test_dump_with_an_encoder_that_has_its_own_iterencode() -> None:
    OwnIterencode.calls = 0
    got, want = _dump_both({"e": T}, {"e": "ada@x.io"}, cls=OwnIterencode)
    assert want[0] == "<" and want[-1] == ">" and OwnIterencode.calls == 2
    assert all(pt.tags(c) == TAGS for c in got)  # cannot be placed: every chunk, all tags


def test_dump_with_an_encoder_that_has_its_own_default() -> None:
    OwnDefault.seen = []
    got, _ = _dump_both([T, 1j], ["ada@x.io", 1j], cls=OwnDefault)
    assert OwnDefault.seen == [1j, 1j]  # once for each dump
    assert pt.tags(_concat(got)) == TAGS
    seen: list[Any] = []

    def default(o: Any) -> Any:
        seen.append(o)
        return str(o)

    got, _ = _dump_both([T, 2j], ["ada@x.io", 2j], default=default)
    assert seen == [2j, 2j]


def test_dump_errors_write_and_raise_as_the_original() -> None:
    got, want = Chunks(), Chunks()
    bad = [T, "x", object()]
    with pytest.raises(TypeError) as tagged_error:
        json.dump(bad, got)
    with pytest.raises(TypeError) as plain_error:
        json.dump.__wrapped__(["ada@x.io", "x", object()], want)  # type: ignore[attr-defined]
    assert str(tagged_error.value) == str(plain_error.value)
    assert [str(c) for c in got.chunks] == want.chunks == ['["ada@x.io"', ', "x"', ", "]
    with pytest.raises(ValueError, match="Out of range"):
        json.dump([T, float("nan")], Chunks(), allow_nan=False)
    with pytest.raises(TypeError):
        json.dump([T], Chunks(), no_such_argument=1)


def test_dump_of_a_proxied_number_as_dumps() -> None:
    got = Chunks()
    json.dump({"n": pt.tag(42, P), "e": T}, got)
    out = _concat(got.chunks)
    assert out == json.dumps({"n": pt.tag(42, P), "e": T}) == '{"n": 42, "e": "ada@x.io"}'
    assert all(pt.tags(c) == TAGS for c in got.chunks)


def test_dump_failure_of_ours_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(_p_json, "_tagging_iterencode", broken)
    with structlog.testing.capture_logs() as logs:
        got, _ = _dump_both({"e": T}, {"e": "ada@x.io"})
    assert all(pt.tags(c) == TAGS for c in got)
    assert [e["event"] for e in logs] == ["purpose_internal_error"]


STRINGS = st.text(alphabet="ab é\"\\\n", max_size=4)
TAGGED_STRINGS = st.one_of(STRINGS, STRINGS.map(lambda s: pt.tag(s, P)))
TAGGED_DOCS = st.recursive(
    st.one_of(TAGGED_STRINGS, st.integers(-5, 5), st.floats(allow_nan=False), st.none()),
    lambda kids: st.lists(kids, max_size=4)
    | st.dictionaries(TAGGED_STRINGS, kids, max_size=4)
    | st.lists(kids, max_size=3).map(tuple),
    max_leaves=25,
)
DUMP_KWARGS = st.fixed_dictionaries(
    {},
    optional={
        "indent": st.sampled_from([None, 0, 2, "\t"]),
        "sort_keys": st.booleans(),
        "ensure_ascii": st.booleans(),
        "separators": st.sampled_from([None, (",", ":"), (" ,", " : ")]),
        "check_circular": st.booleans(),
        "cls": st.sampled_from([None, json.JSONEncoder, EncodeOnly]),
    },
)


def _untag(v: Any) -> Any:
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, dict):
        return {_untag(k): _untag(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return type(v)(map(_untag, v))
    return v


@given(TAGGED_DOCS, DUMP_KWARGS)
def test_dump_generated_documents(doc: Any, kw: dict[str, Any]) -> None:
    got, _ = _dump_both(doc, _untag(doc), **kw)
    # every string's tags on its characters: what dumps with the default encoder gives
    dumps_kw = {k: v for k, v in kw.items() if k != "cls"}
    want = json.dumps(doc, **dumps_kw)
    out = _concat(got)
    assert out == want and pt.ranges(out) == pt.ranges(want)
