"""Encoder and decoder objects used directly keep tags as json.dumps/loads do.

``JSONEncoder.encode``/``.iterencode`` and ``JSONDecoder.decode``/``.raw_decode``
are patched on the classes: instances, subclasses and ``super()`` calls get the
tags ``json.dumps(obj, cls=...)``/``json.loads(text, cls=...)`` give, the
application's methods run as often as without purposetag, untagged calls give the
original's plain result, and ``dumps``/``loads``, which call these methods, tag once.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

import purposetag as pt
from purposetag._instrument import _p_json
from purposetag._instrument._patching import original

P = "security.account_recovery"
T = pt.tag("ada@x.io", P)
TAGS = pt.tags(T)
DOC = '{"user": {"email": "ada@x.io", "roles": ["admin", "ops"]}, "n": 1.5, "ok": true}'
METHODS = [
    (json.JSONEncoder, "encode"),
    (json.JSONEncoder, "iterencode"),
    (json.JSONDecoder, "decode"),
    (json.JSONDecoder, "raw_decode"),
]


@pytest.fixture(autouse=True)
def _on() -> None:
    pt.instrument()


def _concat(chunks: Any) -> str:
    """The chunks as one string, keeping their ranges (``+`` of tagged strings)."""
    return functools.reduce(lambda a, b: a + b, chunks, "")


def _plain(value: Any) -> Any:
    """`value` with plain strings: what the application would have without tags."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    return value


def _uninstrumented(fn: Callable[[], Any]) -> Any:
    """What `fn` gives (and does) with every patch removed."""
    pt.uninstrument()
    try:
        return fn()
    finally:
        pt.instrument()


def _strings(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _all_tagged(value: Any) -> bool:
    found = _strings(value)
    return bool(found) and all(pt.tags(s) == TAGS for s in found)


# --- encoders --------------------------------------------------------------------


class AppEncoder(json.JSONEncoder):  # DjangoJSONEncoder-style: its own default()
    calls = 0

    def default(self, o: Any) -> Any:
        AppEncoder.calls += 1
        if isinstance(o, set):
            return sorted(o)
        return super().default(o)


class SuperEncode(json.JSONEncoder):
    calls = 0

    def encode(self, o: Any) -> str:
        SuperEncode.calls += 1
        return super().encode({"wrapped": o})


class OwnIterencode(json.JSONEncoder):
    calls = 0

    def iterencode(self, o: Any, _one_shot: bool = False) -> Any:
        OwnIterencode.calls += 1
        yield "<"
        yield from super().iterencode(o, _one_shot)
        yield ">"


class Inherits(json.JSONEncoder):
    pass


OPTIONS = [
    {},
    {"indent": 2},
    {"indent": "\t", "sort_keys": True},
    {"separators": (",", ":")},
    {"ensure_ascii": False},
    {"sort_keys": True, "separators": (" ,", " : "), "indent": 0},
]


@pytest.mark.parametrize("opts", OPTIONS)
@pytest.mark.parametrize("cls", [json.JSONEncoder, Inherits])
def test_encode_places_tags_as_dumps_does(opts: dict[str, Any], cls: type) -> None:
    name = pt.tag("Adé Lovelace", P)
    obj = {"z": T, "a": [1, name, None], "k": {"x": "plain"}}
    got = cls(**opts).encode(obj)
    want = json.dumps(obj, cls=cls, **opts)
    assert got == want == json.dumps.__wrapped__(_plain(obj), **opts)  # type: ignore[attr-defined]
    assert pt.ranges(got) == pt.ranges(want)
    spans = [got[a:b] for a, b, _ in pt.ranges(got)]
    assert sorted(spans) == sorted([json.dumps(name, **opts).strip('"'), "ada@x.io"])


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_encode_of_a_tagged_string(ensure_ascii: bool) -> None:
    s = pt.tag("é", P)
    got = json.JSONEncoder(ensure_ascii=ensure_ascii).encode(s)
    assert got == json.dumps(s, ensure_ascii=ensure_ascii)
    assert pt.ranges(got) == [(1, len(got) - 1, TAGS)]


def test_encoder_with_its_own_default_tags_the_whole_text() -> None:
    obj = {"e": T, "s": {"b", "a"}}
    AppEncoder.calls = 0
    got = AppEncoder().encode(obj)
    assert AppEncoder.calls == 1
    want = _uninstrumented(lambda: AppEncoder().encode(obj))
    assert AppEncoder.calls == 2 and type(want) is str and got == want
    assert pt.tags(got) == TAGS and pt.ranges(got) == pt.ranges(json.dumps(obj, cls=AppEncoder))
    assert pt.ranges(got) == [(0, len(got), TAGS)]


def test_encoder_made_with_default_calls_it_once() -> None:
    seen: list[Any] = []

    def default(o: Any) -> Any:
        seen.append(o)
        return str(o)

    got = json.JSONEncoder(default=default).encode([T, 1j])
    assert seen == [1j] and got == '["ada@x.io", "1j"]' and pt.tags(got) == TAGS


def test_a_subclass_encode_reaches_the_patched_one_through_super() -> None:
    SuperEncode.calls = 0
    got = SuperEncode().encode([T])
    assert SuperEncode.calls == 1
    assert got == '{"wrapped": ["ada@x.io"]}' and pt.tags(got) == TAGS
    SuperEncode.calls = 0
    dumped = json.dumps([T], cls=SuperEncode)
    assert SuperEncode.calls == 1 and pt.ranges(dumped) == pt.ranges(got)


def test_an_encoder_with_its_own_iterencode() -> None:
    OwnIterencode.calls = 0
    got = OwnIterencode().encode({"e": T})
    assert OwnIterencode.calls == 1
    assert got == '<{"e": "ada@x.io"}>' and pt.ranges(got) == [(0, len(got), TAGS)]
    chunks = list(OwnIterencode().iterencode({"e": T}))
    assert OwnIterencode.calls == 2 and chunks[0] == "<" and chunks[-1] == ">"
    assert not pt.is_tagged(chunks[0])  # its own chunks; super()'s carry the tags
    inner = _concat(chunks[1:-1])
    at = inner.index("ada")
    assert pt.ranges(inner) == [(at, at + 8, TAGS)]


def test_encoder_subclass_overriding_encode_without_super_is_its_own() -> None:
    class Fixed(json.JSONEncoder):
        def encode(self, o: Any) -> str:
            return "fixed"

    assert Fixed().encode(T) == "fixed"
    assert pt.tags(json.dumps(T, cls=Fixed)) == TAGS  # dumps still sees its input


@pytest.mark.parametrize("opts", OPTIONS)
def test_iterencode_chunks_carry_each_strings_tags(opts: dict[str, Any]) -> None:
    obj = {"a": [T, "x"], "b": T}
    enc = json.JSONEncoder(**opts)
    chunks = list(enc.iterencode(obj))
    plain = _uninstrumented(lambda: list(json.JSONEncoder(**opts).iterencode(_plain(obj))))
    assert [str.__str__(c) for c in chunks] == plain
    out = _concat(chunks)
    assert pt.ranges(out) == pt.ranges(json.dumps(obj, **opts))
    assert all(pt.is_tagged(c) == ("ada@x.io" in c) for c in chunks)


def test_iterencode_is_lazy_and_one_shot_is_a_list() -> None:
    gen = json.JSONEncoder().iterencode([T, object()])
    assert pt.tags(next(gen)) == TAGS  # '["ada@x.io"'
    with pytest.raises(TypeError, match="not JSON serializable"):
        list(gen)
    shot = json.JSONEncoder().iterencode({"e": T}, _one_shot=True)
    assert isinstance(shot, list) and _concat(shot) == '{"e": "ada@x.io"}'
    assert pt.ranges(_concat(shot)) == [(7, 15, TAGS)]


def test_iterencode_with_its_own_default_tags_every_chunk() -> None:
    AppEncoder.calls = 0
    chunks = list(AppEncoder().iterencode({"e": T, "s": {"a"}}))
    assert AppEncoder.calls == 1
    assert _concat(chunks) == '{"e": "ada@x.io", "s": ["a"]}'
    assert all(pt.tags(c) == TAGS for c in chunks)
    dumped = io.StringIO()
    json.dump({"e": T, "s": {"a"}}, dumped, cls=AppEncoder)
    assert AppEncoder.calls == 2 and pt.tags(dumped.getvalue()) == TAGS


def test_proxied_numbers_encode_as_dumps_does() -> None:
    obj = {"n": pt.tag(42, P), "e": "x"}
    got = json.JSONEncoder().encode(obj)
    assert got == json.dumps(obj) == '{"n": 42, "e": "x"}' and pt.tags(got) == TAGS
    chunks = list(json.JSONEncoder().iterencode(obj))
    assert _concat(chunks) == got and all(pt.tags(c) == TAGS for c in chunks)


def test_encoding_errors_are_the_originals() -> None:
    with pytest.raises(TypeError) as tagged:
        json.JSONEncoder().encode({"e": T, "o": object()})
    with pytest.raises(TypeError) as plain:
        _uninstrumented(lambda: json.JSONEncoder().encode({"e": "ada@x.io", "o": object()}))
    assert str(tagged.value) == str(plain.value)
    with pytest.raises(ValueError, match="Out of range"):
        json.JSONEncoder(allow_nan=False).encode([T, float("nan")])


# --- decoders --------------------------------------------------------------------


class SuperDecode(json.JSONDecoder):
    calls = 0

    def decode(self, s: str, *args: Any, **kw: Any) -> Any:
        SuperDecode.calls += 1
        return {"got": super().decode(s, *args, **kw)}


class OwnRawDecode(json.JSONDecoder):
    calls = 0

    def raw_decode(self, s: str, idx: int = 0) -> tuple[Any, int]:
        OwnRawDecode.calls += 1
        return super().raw_decode(s, idx)


@pytest.mark.parametrize("cls", [json.JSONDecoder, SuperDecode, OwnRawDecode])
def test_decode_tags_every_string_as_loads_does(cls: type) -> None:
    text = pt.tag(DOC, P)
    got = cls().decode(text)
    assert got == _uninstrumented(lambda: cls().decode(DOC))
    assert _all_tagged(json.loads(text, cls=cls))
    if cls is SuperDecode:  # what super() parsed is tagged; the key it adds is its own
        assert not pt.is_tagged(next(iter(got)))
        got = got["got"]
    assert _all_tagged(got)


def test_raw_decode_tags_the_document_and_keeps_the_end() -> None:
    text = pt.tag("  " + DOC + " trailing", P)
    obj, end = json.JSONDecoder().raw_decode(text, 2)
    assert (obj, end) == json.JSONDecoder().raw_decode("  " + DOC + " trailing", 2)
    assert _all_tagged(obj)
    top, _ = json.JSONDecoder().raw_decode(pt.tag('"ada" 1', P))
    assert top == "ada" and pt.tags(top) == TAGS


def test_decoder_subclasses_run_their_methods_as_often_as_the_original() -> None:
    text = pt.tag(DOC, P)
    SuperDecode.calls = OwnRawDecode.calls = 0
    SuperDecode().decode(text)
    json.loads(text, cls=SuperDecode)
    OwnRawDecode().decode(text)
    json.loads(text, cls=OwnRawDecode)
    got = (SuperDecode.calls, OwnRawDecode.calls)
    SuperDecode.calls = OwnRawDecode.calls = 0

    def plain() -> None:
        SuperDecode().decode(DOC)
        json.loads(DOC, cls=SuperDecode)
        OwnRawDecode().decode(DOC)
        json.loads(DOC, cls=OwnRawDecode)

    _uninstrumented(plain)
    assert got == (SuperDecode.calls, OwnRawDecode.calls) == (2, 2)


class AttrDict(dict[str, Any]):
    def __getattr__(self, name: str) -> Any:
        return self[name]


@pytest.mark.parametrize("kind", ["object_hook", "object_pairs_hook"])
@pytest.mark.parametrize("method", ["decode", "raw_decode"])
def test_decoder_hooks_get_tagged_objects_once_each(kind: str, method: str) -> None:
    calls: list[Any] = []

    def hook(arg: Any) -> Any:
        calls.append(arg)
        return AttrDict(arg)

    text = pt.tag("[" + DOC + ', ["a"]]', P)
    options: dict[str, Any] = {kind: hook, "parse_float": lambda f: float(f) * 2}
    dec = json.JSONDecoder(**options)
    got = getattr(dec, method)(text)
    doc = got if method == "decode" else got[0]
    assert method == "decode" or got[1] == len(text)
    assert len(calls) == 2 and all(_all_tagged(list(dict(c).items())) for c in calls)
    assert type(doc[0]) is AttrDict and doc[0].user.email == "ada@x.io" and doc[0].n == 3.0
    assert pt.tags(doc[0].user.email) == TAGS and pt.tags(doc[1][0]) == TAGS
    calls.clear()
    plain = _uninstrumented(lambda: getattr(dec, method)(str.__str__(text)))
    assert len(calls) == 2 and plain == got


def test_untagged_text_decodes_to_plain_strings() -> None:
    for dec in (json.JSONDecoder(), SuperDecode(), json.JSONDecoder(object_hook=AttrDict)):
        got = dec.decode(DOC)
        assert got == _uninstrumented(lambda d=dec: d.decode(DOC))  # type: ignore[misc]
        assert all(type(s) is str for s in _strings(got))
        obj, end = dec.raw_decode(DOC)
        assert end == len(DOC) and all(type(s) is str for s in _strings(obj))


def test_decoding_errors_are_the_originals() -> None:
    for bad in ('{"a": 1} x', "", '{"a": '):
        with pytest.raises(json.JSONDecodeError) as tagged:
            json.JSONDecoder().decode(pt.tag(bad, P))
        with pytest.raises(json.JSONDecodeError) as plain:
            json.JSONDecoder().decode(bad)
        assert str(tagged.value) == str(plain.value)


# --- untagged calls are the original's --------------------------------------------


@pytest.mark.parametrize("opts", OPTIONS)
def test_untagged_encoding_is_the_originals(opts: dict[str, Any]) -> None:
    big = {"rows": [{"id": i, "name": f"n{i}"} for i in range(400)]}  # past C's walk
    for obj in ({"a": [1, "x", None], "b": 2.5}, "é", big, [(1, 2)]):
        for cls in (json.JSONEncoder, AppEncoder, Inherits):
            got = cls(**opts).encode(obj)
            chunks = list(cls(**opts).iterencode(obj))
            want = _uninstrumented(lambda c=cls, o=obj: c(**opts).encode(o))  # type: ignore[misc]
            assert got == want and type(got) is str
            assert "".join(chunks) == want and all(type(c) is str for c in chunks)


def test_untagged_one_shot_is_the_originals() -> None:
    obj = {"a": [1, "x"]}
    got = json.JSONEncoder().iterencode(obj, _one_shot=True)
    want = _uninstrumented(lambda: json.JSONEncoder().iterencode(obj, _one_shot=True))
    assert type(got) is type(want) and list(got) == list(want)


# --- dumps/loads through these methods: tagged once, user code as often -------------


def test_dumps_and_loads_tag_once(monkeypatch: pytest.MonkeyPatch) -> None:
    placed: list[Any] = []
    deep: list[Any] = []
    real_placed, real_deep = _p_json._placed, vars(_p_json)["tag_deep"]

    def counting_placed(*args: Any) -> Any:
        placed.append(args)
        return real_placed(*args)

    def counting_deep(*args: Any) -> Any:
        deep.append(args)
        return real_deep(*args)

    monkeypatch.setattr(_p_json, "_placed", counting_placed)
    monkeypatch.setattr(_p_json, "tag_deep", counting_deep)
    out = json.dumps({"e": T})
    assert pt.ranges(out) == [(7, 15, TAGS)] and len(placed) == 1
    json.dumps({"e": T}, cls=Inherits, indent=1)
    json.dumps({"e": T}, cls=SuperEncode)
    assert len(placed) == 3
    assert _all_tagged(json.loads(pt.tag(DOC, P))) and len(deep) == 1
    json.loads(pt.tag(DOC, P), cls=OwnRawDecode)
    json.loads(pt.tag(DOC.encode(), P))  # bytes: decoded to a new text first
    json.load(io.StringIO(pt.tag(DOC, P)))
    json.loads(pt.tag(DOC, P), cls=SuperDecode)  # its decode() hands super() the text
    assert len(deep) == 5
    json.dump({"e": T}, io.StringIO())
    assert len(placed) == 3  # dump places through its own chunks


class Counting(json.JSONEncoder):
    calls: list[str] = []

    def encode(self, o: Any) -> str:
        Counting.calls.append("encode")
        return super().encode(o)

    def iterencode(self, o: Any, _one_shot: bool = False) -> Any:
        Counting.calls.append("iterencode")
        return super().iterencode(o, _one_shot)

    def default(self, o: Any) -> Any:
        Counting.calls.append("default")
        return sorted(o)


class CountingDecoder(json.JSONDecoder):
    calls: list[str] = []

    def decode(self, s: str, *args: Any, **kw: Any) -> Any:
        CountingDecoder.calls.append("decode")
        return super().decode(s, *args, **kw)

    def raw_decode(self, s: str, idx: int = 0) -> tuple[Any, int]:
        CountingDecoder.calls.append("raw_decode")
        return super().raw_decode(s, idx)


def _exercise(e: Any, text: Any) -> list[str]:
    Counting.calls, CountingDecoder.calls = [], []
    obj = {"e": e, "s": {"x"}}
    json.dumps(obj, cls=Counting)
    json.dumps(obj, cls=Counting, indent=2)
    json.dump(obj, io.StringIO(), cls=Counting)
    Counting().encode(obj)
    list(Counting().iterencode(obj))
    json.loads(text, cls=CountingDecoder)
    json.loads(text, cls=CountingDecoder, object_hook=dict)
    CountingDecoder().decode(text)
    CountingDecoder().raw_decode(text)
    return Counting.calls + CountingDecoder.calls


def test_user_methods_run_as_often_as_without_purposetag() -> None:
    tagged = _exercise(T, pt.tag(DOC, P))
    plain = _uninstrumented(lambda: _exercise("ada@x.io", DOC))
    assert tagged == plain
    assert tagged.count("default") == 5 and tagged.count("raw_decode") == 4


# --- failures of ours, uninstrument ----------------------------------------------


def test_a_failure_of_ours_gives_the_original_result(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(_p_json, "_placed", broken)
    monkeypatch.setattr(_p_json, "_tagging_iterencode", broken)
    monkeypatch.setattr(_p_json, "tag_deep", broken)
    with structlog.testing.capture_logs() as logs:
        got = json.JSONEncoder().encode({"e": T})
        chunks = list(json.JSONEncoder().iterencode({"e": T}))
        decoded = json.JSONDecoder().decode(pt.tag(DOC, P))
    assert got == '{"e": "ada@x.io"}' and pt.ranges(got) == [(0, len(got), TAGS)]
    assert _concat(chunks) == got and all(pt.tags(c) == TAGS for c in chunks)
    assert decoded == json.JSONDecoder().decode(DOC)
    assert [e["event"] for e in logs] == ["purpose_internal_error"] * 3
    assert [e["where"] for e in logs] == [
        "json.JSONEncoder.encode",
        "json.JSONEncoder.iterencode",
        "json.JSONDecoder.decode",
    ]
    assert "ada@x.io" not in repr(logs)


def test_uninstrument_restores_the_methods() -> None:
    patched = {(c, n): c.__dict__[n] for c, n in METHODS}
    origs = {(c, n): original(c, n) for c, n in METHODS}
    assert all(patched[k] is not origs[k] for k in patched)
    assert all(patched[k].__wrapped__ is origs[k] for k in patched)
    pt.uninstrument()
    assert all(c.__dict__[n] is origs[c, n] for c, n in METHODS)
    assert not pt.is_tagged(json.JSONEncoder().encode({"e": T}))
    assert not pt.is_tagged(json.JSONDecoder().decode(pt.tag('"x"', P)))
    pt.instrument()
    assert all(c.__dict__[n] is not origs[c, n] for c, n in METHODS)
    assert pt.tags(json.JSONEncoder().encode({"e": T})) == TAGS


# --- properties --------------------------------------------------------------------

STRINGS = st.text(alphabet='ab é"\\\n', max_size=4)
TAGGED_STRINGS = st.one_of(STRINGS, STRINGS.map(lambda s: pt.tag(s, P)))
DOCS = st.recursive(
    st.one_of(TAGGED_STRINGS, st.integers(-5, 5), st.floats(allow_nan=False), st.none()),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(TAGGED_STRINGS, kids, max_size=4),
    max_leaves=20,
)
ENCODER_KWARGS = st.fixed_dictionaries(
    {},
    optional={
        "indent": st.sampled_from([None, 0, 2, "\t"]),
        "sort_keys": st.booleans(),
        "ensure_ascii": st.booleans(),
        "separators": st.sampled_from([None, (",", ":"), (" ,", " : ")]),
        "check_circular": st.booleans(),
    },
)


@given(doc=DOCS, kw=ENCODER_KWARGS)
def test_encoder_objects_agree_with_dumps(doc: Any, kw: dict[str, Any]) -> None:
    pt.instrument()
    want = json.dumps(doc, **kw)
    got = json.JSONEncoder(**kw).encode(doc)
    chunks = _concat(Inherits(**kw).iterencode(doc))
    assert got == chunks == want
    assert pt.ranges(got) == pt.ranges(want)
    if pt.tags(chunks) or pt.ranges(want):
        # a tagged empty string gives no characters: dumps tags only the others too
        assert pt.ranges(chunks) == pt.ranges(want)


@given(doc=DOCS)
def test_decoder_objects_agree_with_loads(doc: Any) -> None:
    pt.instrument()
    text = pt.tag(json.dumps(_plain(doc)), P)
    got = json.JSONDecoder().decode(text)
    assert got == json.loads(text) == _plain(doc)
    assert [pt.tags(s) for s in _strings(got)] == [pt.tags(s) for s in _strings(json.loads(text))]
    assert all(pt.tags(s) == TAGS for s in _strings(got))
