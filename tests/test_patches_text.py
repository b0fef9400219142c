"""base64, binascii, urllib.parse, html, textwrap, string.Template, io and csv."""

from __future__ import annotations

import base64
import binascii
import csv
import gc
import html
import io
import string
import textwrap
import urllib.parse
from typing import Any

import pytest

import purposetag as pt

P = "security.account_recovery"
T = pt.tag("bob@x.io", P)
B = pt.tag(b"bob@x.io", P)
TAGS = pt.tags(T)


@pytest.fixture(autouse=True)
def _on() -> None:
    pt.instrument()


def _outcome(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    try:
        res = fn(*args, **kwargs)
        return ("ok", res, type(res), pt.tags(res))
    except Exception as exc:
        return ("raised", type(exc), str(exc))


@pytest.mark.parametrize(
    ("name", "flag"), [("b2a_base64", "newline"), ("a2b_base64", "strict_mode")]
)
def test_base64_pair_takes_its_flag_by_name_and_fails_as_the_original(name: str, flag: str) -> None:
    """binascii's base64 pair, which b64encode/b64decode call with a keyword flag: every
    call shape gives the original's result or error, tagged data a tagged result."""
    from purposetag._instrument import _patching

    fn = getattr(binascii, name)
    orig = _patching.original(binascii, name)
    data = b"Ym9iQHguaW8=" if name == "a2b_base64" else b"bob@x.io"
    shapes: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((data,), {}),
        ((data,), {flag: True}),
        ((data,), {flag: False}),
        ((data, True), {}),  # the flag is keyword-only
        ((), {}),
        ((), {flag: True}),
        ((data,), {flag: True, "other": 1}),
        ((data,), {"data": data}),
        (("text",), {}),
        ((bytearray(data),), {flag: False}),
        ((memoryview(data),), {}),
        ((b"!!",), {flag: True}),
    ]
    for args, kwargs in shapes:
        assert _outcome(fn, *args, **kwargs) == _outcome(orig, *args, **kwargs), (args, kwargs)
    tagged = pt.tag(data, P)
    for kwargs in ({}, {flag: False}):
        out = fn(tagged, **kwargs)
        assert out == orig(data, **kwargs) and pt.tags(out) == TAGS
    assert pt.tags(base64.b64decode(base64.b64encode(B))) == TAGS


@pytest.mark.parametrize("kind", ["b64", "urlsafe_b64", "b32", "b16", "b85", "standard_b64"])
def test_base64_roundtrip(kind: str) -> None:
    enc = getattr(base64, f"{kind}encode")
    dec = getattr(base64, f"{kind}decode")
    out = enc(B)
    assert out == getattr(enc, "__wrapped__", enc)(b"bob@x.io") and pt.tags(out) == TAGS
    back = dec(out)
    assert back == b"bob@x.io" and pt.tags(back) == TAGS
    assert type(enc(b"plain")) is bytes


def test_binascii() -> None:
    h = binascii.hexlify(B)
    assert h == b"626f6240782e696f" and pt.tags(h) == TAGS
    assert pt.tags(binascii.unhexlify(h)) == TAGS
    assert type(binascii.hexlify(b"x")) is bytes


def test_urllib_parse() -> None:
    q = urllib.parse.quote(T)
    assert q == "bob%40x.io" and pt.tags(q) == TAGS
    assert pt.tags(urllib.parse.quote_plus(T)) == TAGS
    assert pt.tags(urllib.parse.unquote(q)) == TAGS
    enc = urllib.parse.urlencode({"email": T, "c": "1"})
    assert enc == "email=bob%40x.io&c=1" and pt.tags(enc) == TAGS
    parsed = urllib.parse.parse_qs(pt.tag("email=bob%40x.io", P))
    assert parsed == {"email": ["bob@x.io"]} and pt.tags(parsed["email"][0]) == TAGS
    pairs = urllib.parse.parse_qsl(pt.tag("a=1&b=2", P))
    assert pairs == [("a", "1"), ("b", "2")] and pt.tags(pairs[1][1]) == TAGS
    url = "https://ads.example/?e=" + q
    parts = urllib.parse.urlsplit(url)
    assert parts.query == "e=bob%40x.io" and pt.tags(parts.query) == TAGS
    assert pt.tags(urllib.parse.urlunsplit(parts)) == TAGS
    assert pt.tags(urllib.parse.urljoin("https://a/b/", q)) == TAGS
    assert type(urllib.parse.quote("x y")) is str
    assert type(urllib.parse.urlsplit("https://a/b")).__name__ == "SplitResult"


def test_html() -> None:
    e = html.escape(pt.tag("<b>", P))
    assert e == "&lt;b&gt;" and pt.tags(e) == TAGS
    assert pt.tags(html.unescape(e)) == TAGS
    assert type(html.escape("<")) is str


def test_textwrap() -> None:
    long = pt.tag("word " * 10, P)
    assert all(pt.tags(line) == TAGS for line in textwrap.wrap(long, 12))
    for fn in (textwrap.fill, textwrap.dedent):
        assert pt.tags(fn(long) if fn is textwrap.dedent else fn(long, 12)) == TAGS
    assert pt.tags(textwrap.shorten(long, 15)) == TAGS
    assert pt.tags(textwrap.indent(long, "> ")) == TAGS


def _all_tagged(lines: list[str], tags: frozenset[pt.Tag]) -> bool:
    return bool(lines) and all(pt.tags(line) == tags for line in lines)


@pytest.mark.parametrize("width", [5, 10, 80])
def test_textwrapper_methods_keep_tags(width: int) -> None:
    long = pt.tag("word " * 10, P)
    w = textwrap.TextWrapper(width=width)
    assert _all_tagged(w.wrap(long), TAGS)
    assert _all_tagged(w.wrap(text=long), TAGS)
    filled = w.fill(long)
    assert pt.tags(filled) == TAGS and filled == textwrap.TextWrapper(width=width).fill(
        "word " * 10
    )
    assert pt.tags(textwrap.TextWrapper(width=width, max_lines=1).fill(long)) == TAGS
    # part of the text tagged: the whole result carries the union (never dropped)
    mixed = "plain words then " + T
    assert _all_tagged(w.wrap(mixed), TAGS) and pt.tags(w.fill(mixed)) == TAGS


def test_textwrapper_untagged_calls_return_the_original_result() -> None:
    from purposetag._instrument._patching import original

    w = textwrap.TextWrapper(width=10, initial_indent="> ")
    text = "plain words that need wrapping"
    lines = w.wrap(text)
    assert lines == original(textwrap.TextWrapper, "wrap")(w, text)
    assert all(type(line) is str for line in lines)
    filled = w.fill(text)
    assert type(filled) is str and filled == original(textwrap.TextWrapper, "fill")(w, text)


def test_textwrapper_attributes_are_data_too() -> None:
    other = pt.tag("| ", "marketing")
    both = TAGS | pt.tags(other)
    w = textwrap.TextWrapper(width=10, initial_indent=other, subsequent_indent="  ")
    assert pt.tags(w.fill("plain words that need wrapping")) == pt.tags(other)
    assert pt.tags(w.fill("word " * 5 + T)) == both
    w2 = textwrap.TextWrapper(width=10, max_lines=1, placeholder=other)
    assert pt.tags(w2.fill("plain words that need wrapping")) == pt.tags(other)
    w3 = textwrap.TextWrapper(width=10)
    w3.subsequent_indent = other  # set after construction
    assert _all_tagged(w3.wrap("plain words that need wrapping")[1:], pt.tags(other))


def test_textwrapper_subclasses() -> None:
    class Upper(textwrap.TextWrapper):
        def wrap(self, text: str) -> list[str]:
            return [line.upper() for line in super().wrap(text)]

    class Inherits(textwrap.TextWrapper):
        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self.note = "x"

    class Prefixed(textwrap.TextWrapper):
        prefix = ">"

        def fill(self, text: str) -> str:
            return self.prefix + super().fill(text)

    long = pt.tag("word " * 10, P)
    for w in (Upper(width=12), Inherits(width=12), Prefixed(width=12)):
        assert _all_tagged(w.wrap(long), TAGS), type(w)
        assert pt.tags(w.fill(long)) == TAGS, type(w)
        assert type(w.fill("plain words here")) is str, type(w)
    assert Upper(width=12).fill("ab cd") == "AB CD"


def test_textwrapper_state_in_slots_or_a_dict_is_read() -> None:
    """A subclass's own state reaching the output through a path that drops tags
    (``%`` in this uninstrumented module) is still seen: the instance's values are
    read wherever they are kept."""
    other = pt.tag("|", "marketing")

    class Slotted(textwrap.TextWrapper):
        __slots__ = ("mark",)

        def _munge_whitespace(self, text: str) -> str:
            return "%s%s" % (self.mark, super()._munge_whitespace(text))  # noqa: UP031

    w = Slotted(width=12)
    w.mark = other
    assert not pt.is_tagged("%s%s" % (other, "x"))  # noqa: UP031 - the premise
    assert _all_tagged(w.wrap("plain words here"), pt.tags(other))

    class Kept(textwrap.TextWrapper):
        def _munge_whitespace(self, text: str) -> str:
            return "%s%s" % (self.mark, super()._munge_whitespace(text))  # noqa: UP031

    w2 = Kept(width=12)
    vars(w2)["mark"] = other  # an instance whose attributes are a real dict
    assert pt.tags(w2.fill("plain words here")) == pt.tags(other)
    vars(w2)["mark"] = ""
    assert type(w2.fill("plain words here")) is str


def test_textwrapper_instances_keep_their_inline_attributes() -> None:
    """Reading the instance's state must not ask for its ``__dict__``: CPython would
    turn the inline attribute values into a dict for good, slowing every later
    attribute read.  The garbage collector sees a dict among the referents then."""
    w = textwrap.TextWrapper(width=10)
    assert not any(type(x) is dict for x in gc.get_referents(w))  # inline to begin with
    w.wrap("plain words that need wrapping")
    w.fill("plain words that need wrapping")
    w.wrap(T + " and more words")
    assert not any(type(x) is dict for x in gc.get_referents(w))


def test_uninstrument_restores_the_textwrapper_methods() -> None:
    wrap = textwrap.TextWrapper.__dict__["wrap"]
    fill = textwrap.TextWrapper.__dict__["fill"]
    from purposetag._instrument._patching import original

    orig_wrap = original(textwrap.TextWrapper, "wrap")
    orig_fill = original(textwrap.TextWrapper, "fill")
    assert wrap is not orig_wrap and fill is not orig_fill
    pt.uninstrument()
    try:
        assert textwrap.TextWrapper.__dict__["wrap"] is orig_wrap
        assert textwrap.TextWrapper.__dict__["fill"] is orig_fill
        assert pt.tags(textwrap.TextWrapper(width=8).fill(pt.tag("word " * 4, P))) == set()
    finally:
        pt.instrument()
    assert textwrap.TextWrapper.__dict__["wrap"] is not orig_wrap


def test_template() -> None:
    t = string.Template("Dear $name, your code is $code")
    out = t.substitute(name=T, code="42")
    assert out == "Dear bob@x.io, your code is 42" and pt.tags(out) == TAGS
    assert pt.tags(t.safe_substitute({"name": T})) == TAGS
    assert type(t.substitute(name="a", code="b")) is str


def test_stringio_and_bytesio() -> None:
    buf = io.StringIO()
    buf.write("to: ")
    buf.write(T)
    buf.write("\nplain\n")
    v = buf.getvalue()
    assert v == "to: bob@x.io\nplain\n" and pt.ranges(v) == [(4, 12, TAGS)]
    buf.seek(0)
    first = buf.readline()
    assert first == "to: bob@x.io\n" and pt.ranges(first) == [(4, 12, TAGS)]
    assert not pt.is_tagged(buf.read())
    buf.seek(0)
    assert [pt.is_tagged(line) for line in buf] == [True, False]
    assert isinstance(buf, io.StringIO)
    bb = io.BytesIO()
    bb.write(B)
    assert pt.tags(bb.getvalue()) == TAGS
    bb.seek(0)
    assert pt.tags(bb.read(3)) == TAGS
    plain = io.StringIO("x")
    assert type(plain.getvalue()) is str


def _orig(name: str) -> Any:
    from purposetag._instrument import _patching

    return _patching.original(io, name)


@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [
        ("StringIO", (), {}),
        ("StringIO", ("abc",), {}),
        ("StringIO", (None,), {}),
        ("StringIO", ("a\nb",), {"newline": "\r\n"}),
        ("StringIO", (), {"initial_value": "xyz"}),
        ("StringIO", (3,), {}),  # the original's TypeError
        ("StringIO", ("a", "bad"), {}),  # the original's ValueError
        ("BytesIO", (), {}),
        ("BytesIO", (b"abc",), {}),
        ("BytesIO", (bytearray(b"abc"),), {}),
        ("BytesIO", (), {"initial_bytes": b"xyz"}),
        ("BytesIO", ("text",), {}),
    ],
)
def test_memory_file_construction_is_the_originals(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    def outcome(cls: Any) -> Any:
        try:
            f = cls(*args, **kwargs)
        except Exception as exc:
            return (type(exc), str(exc))
        return (f.getvalue(), f.tell(), f.read(), type(f.getvalue()))

    assert outcome(getattr(io, name)) == outcome(_orig(name))


@pytest.mark.parametrize(("name", "value"), [("StringIO", T), ("BytesIO", B)])
def test_memory_file_tagged_initial_value_positional_or_keyword(name: str, value: Any) -> None:
    kw = "initial_value" if name == "StringIO" else "initial_bytes"
    for f in (getattr(io, name)(value), getattr(io, name)(**{kw: value})):
        assert f.getvalue() == value and pt.tags(f.getvalue()) == TAGS


@pytest.mark.parametrize(("name", "plain", "value"), [("StringIO", "x", T), ("BytesIO", b"x", B)])
def test_memory_file_writes_plain_tagged_and_wrong(name: str, plain: Any, value: Any) -> None:
    cls = getattr(io, name)
    f = cls()
    f.note = "a user attribute"  # an instance dict without marks: still plain
    assert f.write(plain) == 1 and type(f.getvalue()) is type(plain)
    assert cls.write(f, value) == len(value)  # the unbound method too
    assert pt.tags(f.getvalue()) == TAGS and pt.ranges(f.getvalue())[0][:2] == (1, 9)

    def error(g: Any) -> Any:
        try:
            g.write(3.5)
        except TypeError as exc:
            return str(exc)
        return None

    assert error(cls()) == error(_orig(name)()) is not None
    closed = cls()
    closed.close()
    with pytest.raises(ValueError, match="closed file"):
        closed.write(plain)
    with pytest.raises(ValueError, match="closed file"):
        closed.getvalue()

    class Mine(cls):  # type: ignore[misc,valid-type]
        pass

    m = Mine(value)
    m.write(plain * 20)
    m.write(value)
    assert pt.tags(m.getvalue()) == TAGS and len(pt.ranges(m.getvalue())) == 2


@pytest.mark.parametrize("base", ["StringIO", "BytesIO"])
def test_a_subclass_of_the_patched_memory_file_is_finalized_as_before(base: str) -> None:
    # The patched class itself skips the IOBase finalizer, as the C type does; a user's
    # subclass must still have close() called when it is collected, as it would be.
    closed: list[str] = []

    class Mine(getattr(io, base)):  # type: ignore[misc]
        def close(self) -> None:
            closed.append("mine")
            super().close()

    class Deeper(Mine):
        pass

    Mine()
    Deeper()
    gc.collect()
    assert closed == ["mine", "mine"]
    own_del: list[str] = []

    class WithDel(getattr(io, base)):  # type: ignore[misc]
        def __del__(self) -> None:
            own_del.append("del")

    WithDel()
    gc.collect()
    assert own_del == ["del"]


def test_csv_writer_and_dictwriter() -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "email"])
    w.writerow([1, T])
    lines = buf.getvalue().splitlines(keepends=True)
    assert lines == ["id,email\r\n", "1,bob@x.io\r\n"]
    assert not pt.is_tagged(lines[0]) and pt.tags(lines[1]) == TAGS
    buf2 = io.StringIO()
    dw = csv.DictWriter(buf2, fieldnames=["email"])
    dw.writeheader()
    dw.writerow({"email": T})
    assert buf2.getvalue() == "email\r\nbob@x.io\r\n" and pt.tags(buf2.getvalue()) == TAGS
    assert w.dialect is not None


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), (("excel-tab",), {}), ((), {"delimiter": ";", "quoting": csv.QUOTE_ALL})],
)
def test_csv_writer_dialects_and_return_values_are_the_originals(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    from purposetag._instrument import _patching

    orig = _patching.original(csv, "writer")
    rows: list[list[Any]] = [["id", "email"], [1, "bob@x.io"], (2.5, None, True)]  # type: ignore[list-item]
    want_buf = _orig("StringIO")()
    ow = orig(want_buf, *args, **kwargs)
    want = [ow.writerow(r) for r in rows]
    buf = io.StringIO()
    w = csv.writer(buf, *args, **kwargs)
    assert [w.writerow(r) for r in rows] == want
    assert buf.getvalue() == want_buf.getvalue() and not pt.is_tagged(buf.getvalue())
    assert w.dialect.delimiter == ow.dialect.delimiter
    tagged_line = w.writerow([3, T])
    assert tagged_line == ow.writerow([3, "bob@x.io"])
    assert buf.getvalue() == want_buf.getvalue()
    assert pt.ranges(buf.getvalue())[0][2] == TAGS
    w.writerows([[4, "plain"], iter([5, T])])
    ow.writerows([[4, "plain"], [5, "bob@x.io"]])
    assert buf.getvalue() == want_buf.getvalue()


def test_csv_writer_errors_are_the_originals() -> None:
    from purposetag._instrument import _patching

    orig = _patching.original(csv, "writer")

    def outcome(make: Any, *args: Any) -> Any:
        try:
            w = make(*args)
            w.writerow(5)
        except Exception as exc:
            return (type(exc), str(exc))
        return None

    for args in [(), (object(),), (io.StringIO(), "no-such-dialect"), (io.StringIO(),)]:
        assert outcome(csv.writer, *args) == outcome(orig, *args) is not None


def test_bytesio_read1_keeps_tags() -> None:
    f = io.BytesIO(b"id:" + B)
    assert f.read1(3) == b"id:" and not pt.is_tagged(f.read1(0))
    rest = f.read1(-1)
    assert rest == b"bob@x.io" and pt.tags(rest) == TAGS
    assert not hasattr(io.StringIO, "read1")


def test_csv_writer_copies_and_pickles_as_the_original_does_not() -> None:
    import copy
    import pickle

    from purposetag._instrument import _patching

    def error(w: Any, how: Any) -> str:
        with pytest.raises(TypeError) as e:
            how(w)
        return str(e.value)

    orig = _patching.original(csv, "writer")(io.StringIO())
    mine = csv.writer(io.StringIO())
    for how in (copy.copy, copy.deepcopy, pickle.dumps):
        assert error(mine, how) == error(orig, how)


def test_urlsplit_cache_never_hands_one_callers_tags_to_another() -> None:
    url = "https://example.com/reset?email=ada@example.com"
    first = urllib.parse.urlsplit(pt.tag(url, P))
    second = urllib.parse.urlsplit(pt.tag(url, "marketing.email"))
    plain = urllib.parse.urlsplit(url)
    assert first == second == plain
    assert pt.tags(first.query) == TAGS
    assert pt.tags(second.query) == pt.tags(pt.tag("x", "marketing.email"))
    assert pt.allows(second.query, "marketing.email")
    assert not any(pt.is_tagged(part) for part in plain)
    # the lru_cache API is still there: urllib.parse.clear_cache() calls it
    urllib.parse.clear_cache()
    info = urllib.parse.urlsplit.cache_info()  # type: ignore[attr-defined]
    assert info.currsize == 0
    urllib.parse.urlsplit(url)
    assert urllib.parse.urlsplit.cache_info().currsize == 1  # type: ignore[attr-defined]
    assert urllib.parse.urlsplit.cache_parameters()["typed"]  # type: ignore[attr-defined]
