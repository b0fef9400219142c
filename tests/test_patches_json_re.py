"""json and re while instrumented."""

from __future__ import annotations

import io
import json
import pickle
import re

import pytest
import structlog

import purposetag as pt
from purposetag._instrument import _codepatch, _patching

P = "security.account_recovery"
T = pt.tag("bob@x.io", P)
TAGS = pt.tags(T)


@pytest.fixture(autouse=True)
def _on() -> None:
    pt.instrument()


def test_dumps_places_tags_on_the_string() -> None:
    out = json.dumps({"email": T, "n": 1})
    assert out == '{"email": "bob@x.io", "n": 1}'
    assert pt.ranges(out) == [(11, 17 + 2, TAGS)]  # the characters of bob@x.io
    assert out[10] == '"' and out[11:19] == "bob@x.io"


def test_dumps_variants() -> None:
    out = json.dumps([T], indent=2, sort_keys=True)
    plain_dumps = _patching.original(json, "dumps")
    assert pt.tags(out) == TAGS and out == plain_dumps(["bob@x.io"], indent=2)
    out = json.dumps({T: 1})
    assert pt.tags(out) == TAGS
    out = json.dumps([pt.tag("é", P)])
    assert out == '["\\u00e9"]' and pt.tags(out) == TAGS
    assert type(json.dumps({"a": "b"})) is str


def test_dumps_is_replaced_and_gives_the_originals_results_for_every_keyword() -> None:
    """``json.dumps`` is replaced, not patched in its own code: a reference taken
    before ``instrument()`` (a logging renderer's) keeps the original, so logging a
    tagged value does not pay the tagged encoding.  Every keyword gives what the
    original gives."""
    pt.uninstrument()
    early = json.dumps
    pt.instrument()
    assert json.dumps is not early and not _codepatch.patched(early)
    assert not pt.is_tagged(early({"e": T})) and pt.tags(json.dumps({"e": T})) == TAGS
    plain = _patching.original(json, "dumps")
    assert plain is early

    class Enc(json.JSONEncoder):
        def __init__(self, *, marker: str = "", **kw: object) -> None:
            super().__init__(**kw)  # type: ignore[arg-type]
            self.marker = marker

        def default(self, o: object) -> object:
            return self.marker

    cases: list[tuple[object, dict[str, object]]] = [
        ({"a": [1, 2.5, None, True]}, {}),
        ({"b": 1, "a": "x"}, {"sort_keys": True, "indent": 2}),
        ([1, "é"], {"ensure_ascii": False, "separators": (",", ":")}),
        ({1: "a"}, {"skipkeys": True}),
        ({"a": object()}, {"cls": Enc, "marker": "m"}),  # **kw to the encoder class
        ({"a": object()}, {"default": repr}),
        (float("nan"), {"allow_nan": False}),
        ({"a": object()}, {}),
        ([1], {"nope": 1}),  # JSONEncoder's own TypeError
    ]
    for obj, kw in cases:
        want = _outcome(lambda: plain(obj, **kw))
        got = _outcome(lambda: json.dumps(obj, **kw))
        if obj.__class__ is dict and "default" in kw:  # repr(object()) differs per object
            assert got[0] == want[0]
            continue
        assert got == want, (obj, kw)
    # tagged text in the layout, or returned by `default`: the output is tagged
    tagged_indent = json.dumps({"a": 1}, indent=pt.tag("  ", P))
    assert tagged_indent == plain({"a": 1}, indent="  ") and pt.tags(tagged_indent) == TAGS
    seps = (pt.tag(",", P), ":")
    assert pt.tags(json.dumps([1, 2], separators=seps)) == TAGS
    assert pt.tags(json.dumps(object(), default=lambda o: T)) == TAGS
    assert not pt.is_tagged(json.dumps({"a": 1}, indent=2, separators=(",", ": ")))


def test_dumps_of_proxied_numbers_with_default_and_layout_tags() -> None:
    """A proxied number is encoded as the number underneath, whatever default() or
    the encoder class does with other values; the layout's and default()'s tags
    reach the text on every path."""
    from decimal import Decimal

    plain = _patching.original(json, "dumps")
    n = pt.tag(5, P)
    m = pt.tag(5, "marketing")

    class Enc(json.JSONEncoder):
        def default(self, o: object) -> object:
            return str(o)

    assert json.dumps([n, Decimal("1.5")], default=str) == '[5, "1.5"]'
    assert pt.tags(json.dumps([n, Decimal("1.5")], default=str)) == TAGS
    assert json.dumps([n, Decimal("1.5")], cls=Enc) == plain([5, Decimal("1.5")], cls=Enc)
    assert pt.tags(json.dumps([n], cls=Enc)) == TAGS
    out = json.dumps({"p": Decimal(5)}, default=lambda o: n)  # default gives a proxy
    assert out == '{"p": 5}' and pt.tags(out) == TAGS
    out = json.dumps({(1, 2): "x", "a": n}, skipkeys=True)
    assert out == '{"a": 5}' and pt.tags(out) == TAGS
    with pytest.raises(TypeError, match="keys must be str, int, float, bool or None, not tuple"):
        json.dumps({(1, 2): "x", "a": n})
    tagged_indent = pt.tag("  ", P)
    for kw in ({"default": str}, {}):
        out = json.dumps([1, Decimal(2)] if kw else [1, 2], indent=tagged_indent, **kw)
        assert pt.tags(out) == TAGS, kw
        out = json.dumps([m], indent=tagged_indent, **kw)
        assert out == plain([5], indent="  ") and pt.tags(out) == TAGS | pt.tags(m), kw
    out = json.dumps([1, Decimal(2)], separators=(pt.tag(",", P), ":"), default=str)
    assert out == '[1,"2"]' and pt.tags(out) == TAGS


def test_dumps_of_proxies_deep_in_cycles_under_skipkeys_and_in_subclasses() -> None:
    """Proxied numbers are encoded as the numbers underneath wherever they are: deep,
    as a key under skipkeys, in a cycle (the encoder's own error), in tuples a custom
    encoder looks at, in a dict subclass whose items() the encoder calls once."""
    import collections

    plain = _patching.original(json, "dumps")
    n = pt.tag(5, P)

    def nest(v: object, depth: int) -> object:
        for _ in range(depth):
            v = [v]
        return v

    for depth in (1, 66, 300):
        for kw in ({}, {"default": str}, {"indent": 1}):
            out = json.dumps(nest(n, depth), **kw)  # type: ignore[arg-type]
            assert out == plain(nest(5, depth), **kw), (depth, kw)  # type: ignore[arg-type]
            assert pt.tags(out) == TAGS
    out = json.dumps({n: "v", "b": 1}, skipkeys=True)
    assert out == '{"5": "v", "b": 1}' and pt.tags(out) == TAGS
    cyc: dict[str, object] = {"a": n}
    cyc["self"] = cyc
    want: dict[str, object] = {"a": 5}
    want["self"] = want
    for kw in ({}, {"default": str}, {"check_circular": False}):
        got = _outcome(lambda: json.dumps(cyc, **kw))  # noqa: B023
        assert got == _outcome(lambda: plain(want, **kw)), kw  # noqa: B023

    Pair = collections.namedtuple("Pair", "a b")

    class Enc(json.JSONEncoder):
        def encode(self, o: object) -> str:
            if isinstance(o, Pair):
                return super().encode(o._asdict())
            if isinstance(o, tuple):
                return super().encode({"__tuple__": list(o)})
            return super().encode(o)

    assert json.dumps((n, "x"), cls=Enc) == '{"__tuple__": [5, "x"]}'
    assert json.dumps(Pair(5, "x"), cls=Enc) == '{"a": 5, "b": "x"}'  # untagged: as given
    calls: list[str] = []

    class Hiding(dict):  # type: ignore[type-arg]
        def items(self):  # type: ignore[no-untyped-def]
            calls.append("items")
            return [(k, v) for k, v in super().items() if k != "hidden"]

    for kw in ({"default": str}, {"default": str, "indent": 1}, {"cls": Enc}):
        calls.clear()
        out = json.dumps(Hiding(a=5, hidden=1), **kw)  # type: ignore[arg-type]
        assert calls == ["items"], kw  # untagged: read once, as the original reads it
        out = json.dumps(Hiding(a=n, hidden=1), **kw)  # type: ignore[arg-type]
        assert out == plain(Hiding(a=5, hidden=1), **kw), kw  # type: ignore[arg-type]
        assert pt.tags(out) == TAGS, kw


def test_dumps_looking_for_proxies_runs_no_code_of_the_caller_and_any_depth() -> None:
    """Untagged data with default=/cls=/skipkeys: deep documents, objects pretending
    to be lists (wrapt proxies, __class__ properties) and dict subclasses whose
    items() make new values each call give exactly the original's outcome."""
    import itertools

    import wrapt

    plain = _patching.original(json, "dumps")

    class Enc(json.JSONEncoder):
        def default(self, o: object) -> object:
            return list(o) if isinstance(o, wrapt.ObjectProxy) else str(o)

    deep: object = [1]
    for _ in range(600):
        deep = [deep]
    counter = itertools.count()

    class Fresh(dict):  # type: ignore[type-arg]
        def items(self):  # type: ignore[no-untyped-def]
            n = next(counter)
            return [("v", [n, n])]

    cases: list[tuple[object, dict[str, object]]] = [
        (deep, {"default": str}),
        (deep, {"cls": Enc}),
        (deep, {"skipkeys": True, "cls": Enc}),
        ([object(), deep], {}),
        (wrapt.ObjectProxy([1, 2]), {"default": list}),
        ([wrapt.ObjectProxy({"a": 1})], {"cls": Enc}),
        ([wrapt.ObjectProxy([1, 2])], {}),
    ]
    for obj, kw in cases:
        assert _outcome(lambda: json.dumps(obj, **kw)) == _outcome(  # noqa: B023
            lambda: plain(obj, **kw)  # noqa: B023
        ), kw
    # a proxy first, then dict subclasses whose items() count their calls
    got = json.dumps([pt.tag(1, P), Fresh(), Fresh()])
    assert got == '[1, {"v": [0, 0]}, {"v": [1, 1]}]' and pt.tags(got) == TAGS


def _outcome(fn: object) -> tuple[object, ...]:
    try:
        return ("ok", fn())  # type: ignore[operator]
    except Exception as exc:
        return ("raised", type(exc), str(exc))


def test_dump_and_load_roundtrip() -> None:
    buf = io.StringIO()
    json.dump({"email": T}, buf)
    assert pt.tags(buf.getvalue()) == TAGS
    buf.seek(0)
    back = json.load(buf)
    assert back == {"email": "bob@x.io"} and pt.tags(back["email"]) == TAGS


def test_loads_tags_every_string() -> None:
    data = pt.tag('{"a": ["x", {"b": "y"}], "n": 3}', P)
    res = json.loads(data)
    assert pt.tags(res["a"][0]) == TAGS and pt.tags(res["a"][1]["b"]) == TAGS
    assert res["n"] == 3 and type(res["n"]) is int
    assert all(pt.tags(k) == TAGS for k in res)
    assert not pt.is_tagged(json.loads('{"a": "x"}'))


def test_dumps_errors_unchanged() -> None:
    with pytest.raises(TypeError):
        json.dumps({"a": object()})


def test_match_groups_are_exact() -> None:
    s = pt.tag("id: bob@x.io", P)
    m = re.search(r"(\w+)@(?P<host>[\w.]+)", s)
    assert m is not None and isinstance(m, re.Match)
    assert m.group(0) == "bob@x.io" and pt.tags(m.group(0)) == TAGS
    assert m.group(1, 2) == ("bob", "x.io") and pt.tags(m[1]) == TAGS
    assert m.groups() == ("bob", "x.io") and pt.tags(m.groups()[1]) == TAGS
    assert pt.tags(m.groupdict()["host"]) == TAGS
    assert pt.tags(m.expand(r"user=\1")) == TAGS
    assert m.span() == (4, 12)


def test_partly_tagged_string_group_precision() -> None:
    s = "id: " + T  # "id: " untagged
    m = re.match(r"(\w+): (.*)", s)
    assert m is not None
    assert not pt.is_tagged(m.group(1)) and pt.tags(m.group(2)) == TAGS


def test_sub_keeps_untouched_ranges() -> None:
    s = "mail " + T
    out = re.sub(r"mail", "MAIL", s)
    assert out == "MAIL bob@x.io" and pt.ranges(out) == [(5, 13, TAGS)]
    out = re.sub(r"@", lambda m: "[at]", s)
    assert out == "mail bob[at]x.io"
    # a replacement carries the tags of what it replaced, from a callable too
    assert pt.ranges(out) == [(5, 16, TAGS)]
    out = re.sub(r"\d", lambda m: "*", pt.tag("12-3", P))
    assert out == "**-*" and pt.ranges(out) == [(0, 4, TAGS)]
    out = re.sub(r"mail", lambda m: "MAIL", s)  # plain text replaced: plain replacement
    assert out == "MAIL bob@x.io" and pt.ranges(out) == [(5, 13, TAGS)]
    out, n = re.subn(r"(\w+)@", r"<\1>", s)
    assert out == "mail <bob>x.io" and n == 1 and pt.tags(out) == TAGS
    assert not pt.is_tagged(out[:5])


def test_sub_with_tagged_replacement_from_callable() -> None:
    out = re.sub(r"\{(\w+)\}", lambda m: {"e": T}[m.group(1)], "to: {e}.")
    assert out == "to: bob@x.io." and pt.ranges(out) == [(4, 12, TAGS)]


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_sub_of_a_buffer_with_a_tagged_replacement(kind: type) -> None:
    """The untouched pieces are slices of a bytearray / memoryview, not bytes."""
    rep = pt.tag(b"#", P)
    with structlog.testing.capture_logs() as logs:
        out = re.sub(b"[0-9]", rep, kind(b"a1b22"))
    assert out == b"a#b##" and type(out).__name__ == "TaintedBytes"
    assert pt.ranges(out) == [(1, 2, TAGS), (3, 5, TAGS)]
    assert [e for e in logs if e["event"] == "purpose_internal_error"] == []


def test_a_pattern_compiled_from_tagged_text_is_tagged_data() -> None:
    """Its text and repr carry the tags of this call's text (``re``'s cache is keyed
    by the plain text, so another call's tags never come back), and guards and
    redaction see it."""
    mail = pt.tag("ada@example.com", P)
    ads = pt.tag("ada@example.com", "marketing.email")
    p1, p2 = re.compile(re.escape(mail)), re.compile(re.escape(ads))
    assert pt.tags(p1.pattern) == TAGS and pt.tags(p2.pattern) == pt.tags(ads)
    assert repr(p1) == repr(re.compile(r"ada@example\.com")) and pt.tags(repr(p1)) == TAGS
    assert pt.is_tagged(p1) and not pt.allows(p1, "marketing.email")
    assert pt.allows(p2, "marketing.email")
    out = pt.redact_tagged(None, "info", {"event": "x", "pattern": p1})
    assert "ada" not in str(out)
    plain = re.compile(re.escape("ada@example.com"))  # the same text, untagged
    assert type(plain.pattern) is str and type(repr(plain)) is str and not pt.is_tagged(plain)
    assert plain == p1 and hash(plain) == hash(p1)
    assert re.search(p1, "x ada@example.com").group() == "ada@example.com"
    assert pt.tags(pickle.loads(pickle.dumps(p1)).pattern) == TAGS


def test_split_findall_finditer_and_compiled() -> None:
    s = pt.tag("a,b;c", P)
    parts = re.split(r"[,;]", s)
    assert parts == ["a", "b", "c"] and all(pt.tags(p) == TAGS for p in parts)
    parts = re.split(r"([,;])", s, maxsplit=1)
    assert parts == ["a", ",", "b;c"] and all(pt.tags(p) == TAGS for p in parts)
    assert all(pt.tags(x) == TAGS for x in re.findall(r"\w", s))
    assert re.findall(r"(\w)([,;])", s) == [("a", ","), ("b", ";")]
    pat = re.compile(r"\w")
    assert isinstance(pat, re.Pattern)
    it = pat.finditer(s)
    first = next(it)
    assert pt.tags(first.group()) == TAGS
    assert pt.tags(pat.sub("X", "q" + s)) == TAGS
    assert pat.sub("X", "ab") == "XX" and type(pat.sub("X", "ab")) is str
    assert pt.tags(pat.match(s).group()) == TAGS
    assert re.compile(pat) is pat


def test_untagged_results_are_plain() -> None:
    m = re.match(r"\w", "a")
    assert type(m).__name__ == "Match"
    assert type(re.sub("a", "b", "aa")) is str
    assert re.findall(r"\d", "a1b2") == ["1", "2"]


def test_instrumented_pattern_behaves_like_re_pattern() -> None:
    import copy as copy_
    import pickle as pickle_
    import re as re_
    import weakref as weakref_

    import purposetag as pt_

    pt_.instrument()
    try:
        p = re_.compile(r"(\w+)@")
        assert isinstance(p, re_.Pattern)
        assert re_.compile(p) is p
        assert p == re_.compile(r"(\w+)@")
        assert hash(p) == hash(re_.compile(r"(\w+)@"))
        assert repr(p) == "re.compile('(\\\\w+)@')"
        assert weakref_.ref(p)() is p
        assert copy_.copy(p) == p
        back = pickle_.loads(pickle_.dumps(p))
        assert back.pattern == p.pattern
        m = p.search(pt_.tag("id bob@x", "p"))
        assert m is not None and pt_.tags(m.group(1))
    finally:
        pt_.uninstrument()


def test_pattern_scanner_matches_keep_tags() -> None:
    p = re.compile(r"\w+")
    sc = p.scanner(T)
    first = sc.match()
    assert first.group() == "bob" and pt.tags(first.group()) == TAGS
    assert pt.tags(sc.search().group()) == TAGS and sc.pattern is p.__wrapped__
    plain = p.scanner("a b")
    assert type(plain.match()) is re.Match


def test_json_dumps_an_empty_tagged_string_tags_only_the_tagged_text() -> None:
    e = pt.tag("", "account.recovery")
    out = json.dumps({"k": e, "n": T})
    assert out == '{"k": "", "n": "bob@x.io"}'
    assert pt.ranges(out) == [(out.index("bob"), out.index("bob") + 8, TAGS)]
    assert type(json.dumps({"k": e, "n": "plain"})) is str


def test_compiled_pattern_methods_are_the_patterns_own_for_plain_arguments() -> None:
    import inspect

    from purposetag import _accel
    from purposetag._instrument._p_re import TaggedPattern

    pat = re.compile(r"(\w+)@(\w+)")
    raw = pat.__wrapped__  # the re.Pattern it wraps
    assert type(pat) is TaggedPattern and type(raw) is re.Pattern
    if _accel.ACCELERATED:  # C method descriptors, which call sites specialise
        assert type(TaggedPattern.__dict__["search"]).__name__ == "method_descriptor"
    assert str(inspect.signature(TaggedPattern.search)).startswith("(self")

    def outcome(fn: object, *args: object, **kwargs: object) -> object:
        try:
            res = fn(*args, **kwargs)  # type: ignore[operator]
        except Exception as exc:
            return ("raised", type(exc), str(exc))
        if isinstance(res, re.Match):
            return ("match", res.span(), res.groups())
        return ("ok", type(res), res)

    calls: list[tuple[str, tuple[object, ...], dict[str, object]]] = [
        ("search", ("id bob@x and al@y",), {}),
        ("search", ("id bob@x", 3), {}),
        ("search", ("id bob@x",), {"pos": 1, "endpos": 5}),
        ("match", ("bob@x",), {}),
        ("fullmatch", ("bob@x",), {}),
        ("sub", ("#", "a@b c@d"), {"count": 1}),
        ("subn", (r"\2", "a@b c@d"), {}),
        ("split", ("a@b c@d",), {"maxsplit": 1}),
        ("findall", ("a@b c@d",), {}),
        ("search", (b"bob@x",), {}),  # bytes for a str pattern: its TypeError
        ("search", (5,), {}),
        ("sub", (lambda m: m.group(1), "a@b c@d"), {}),  # a callable repl: the Python method
        ("search", (None,), {}),
    ]
    if _accel.ACCELERATED:  # the Python methods' own messages name them
        calls += [
            ("search", (), {}),  # a missing argument: its message
            ("search", ("a", 0, 5, 6), {}),  # too many
            ("search", ("a",), {"nope": 1}),
            ("sub", ("#", "a@b", 0, 1, 2, 3, 4, 5, 6), {}),  # more than C's stack holds
        ]
    for name, args, kwargs in calls:
        got = outcome(getattr(pat, name), *args, **kwargs)
        want = outcome(getattr(raw, name), *args, **kwargs)
        assert got == want, (name, args, kwargs)
    t = pt.tag("id bob@x", P)
    m = pat.search(t)
    assert m is not None and m.group(1) == "bob" and pt.tags(m.group(1)) == TAGS
    assert pt.tags(pat.sub(lambda m: m.group(1), t)) == TAGS
    assert pt.tags(pat.split(t)[1]) == TAGS
    pat.__wrapped__ = "not a pattern"  # type: ignore[assignment]
    with pytest.raises(AttributeError):
        pat.search("a@b")  # the Python method, which asks it for search
