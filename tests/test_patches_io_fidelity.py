"""io.StringIO / io.BytesIO while instrumented: tags on the characters as the file
stores them (newline translation, initial values), and the originals' docs,
signatures, checks and errors."""

from __future__ import annotations

import inspect
import io
from collections.abc import Callable
from typing import Any

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

import purposetag as pt
from purposetag._instrument import _p_io, _patching

P = "security.account_recovery"
Q = "marketing.email"
EMAIL = "ada@example.com"
T = pt.tag(EMAIL, P)
B = pt.tag(EMAIL.encode(), P)
TAGS = pt.tags(T)
NEWLINES = [None, "", "\n", "\r", "\r\n"]
NONE: frozenset[Any] = frozenset()


@pytest.fixture(autouse=True)
def _on() -> None:
    pt.instrument()


def _orig(name: str) -> Any:
    return _patching.original(io, name)


def _per_char(s: str | bytes) -> list[frozenset[Any]]:
    """The tag set of each character (byte) of `s`."""
    out = [NONE] * len(s)
    for a, b, ts in pt.ranges(s):
        out[a:b] = [frozenset(ts)] * (b - a)
    return out


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return ("ok", call())
    except Exception as exc:
        return (type(exc), str(exc))


# --- 1. newline translation: tags on the characters as stored -----------------------


def test_newline_none_tags_the_stored_characters() -> None:
    f = io.StringIO(newline=None)  # each "\r\n" stored as "\n"
    f.write("\r\n" * 3 + T)
    v = f.getvalue()
    assert v == "\n\n\n" + EMAIL
    assert pt.ranges(v) == [(3, 18, TAGS)] and pt.is_tagged(v[3:6])


def test_newline_crlf_tags_every_stored_character() -> None:
    f = io.StringIO(newline="\r\n")  # each "\n" stored as "\r\n"
    f.write(pt.tag("a\n" + EMAIL, P))
    v = f.getvalue()
    assert v == "a\r\n" + EMAIL and pt.ranges(v) == [(0, len(v), TAGS)]
    f.write("!\n")
    assert pt.ranges(f.getvalue()) == [(0, len(v), TAGS)]


def test_newline_translation_keeps_the_ranges_exact() -> None:
    f = io.StringIO(newline=None)
    f.write("x\r\n" + pt.tag("\r\nab", P) + "\r\ny")  # "x\n" + "\nab" + "\ny"
    assert f.getvalue() == "x\n\nab\ny" and pt.ranges(f.getvalue()) == [(2, 5, TAGS)]
    f = io.StringIO(newline=None)
    f.write("ab\r" + pt.tag("\ncd", P))  # the tagged "\n" joins the plain "\r"
    assert f.getvalue() == "ab\ncd" and pt.ranges(f.getvalue()) == [(2, 5, TAGS)]
    f = io.StringIO(newline="\r\n")
    f.write(pt.tag("a", P) + "\n" + pt.tag("\nb", Q))
    v = f.getvalue()
    assert v == "a\r\n\r\nb"
    assert _per_char(v) == [TAGS, NONE, NONE] + [pt.tags(pt.tag("x", Q))] * 3


@pytest.mark.parametrize("newline", NEWLINES)
def test_reads_of_a_translated_file_carry_the_stored_characters_tags(newline: Any) -> None:
    f = io.StringIO(newline=newline)
    f.write("to:\r\n")
    f.write(pt.tag("ada\r\n@example\n.com\r", P))
    f.write("\nplain\r\n")
    v = f.getvalue()
    want = _per_char(v)
    assert want != [NONE] * len(v)

    def check(parts: list[str]) -> None:
        assert "".join(parts) == v
        assert [ts for part in parts for ts in _per_char(part)] == want

    reads: list[Callable[[], list[str]]] = [
        lambda: [f.read()],
        lambda: list(iter(f.readline, "")),
        lambda: list(f),
        lambda: f.readlines(),
        lambda: list(iter(lambda: f.read(3), "")),
        lambda: list(iter(lambda: f.readline(2), "")),
        lambda: [line for _ in range(len(v)) for line in f.readlines(4)],
    ]
    for read in reads:
        f.seek(0)
        check(read())


@st.composite
def _pieces(draw: Any, kind: type) -> tuple[Any, list[Any]]:
    """A write: (value, the tag set of each written character)."""
    segments = draw(
        st.lists(
            st.tuples(st.text("ab\r\n", max_size=5), st.sampled_from([None, P, Q])), max_size=4
        )
    )
    value, tags = kind(), []
    for text, purpose in segments:
        piece = text if kind is str else text.encode()
        if purpose and piece:
            piece = pt.tag(piece, purpose)
        value = value + piece
        tags += [pt.tags(piece)] * len(piece)
    return (value, tags)


def _translated(text: str, tags: list[Any], newline: Any) -> tuple[str, list[Any]]:
    """What a StringIO stores for `text`, and each stored character's tags: those of
    the characters it came from (a model, checked against the original class)."""
    out, out_tags, i = [], [], 0
    while i < len(text):
        c, ts = text[i], tags[i]
        if newline is None and c == "\r":
            if text[i + 1 : i + 2] == "\n":
                ts = ts | tags[i + 1]
                i += 1
            c = "\n"
        if newline in ("\r", "\r\n") and c == "\n":
            out += list(newline)
            out_tags += [ts] * len(newline)
        else:
            out.append(c)
            out_tags.append(ts)
        i += 1
    return ("".join(out), out_tags)


@pytest.mark.parametrize("kind", [str, bytes])
@given(data=st.data())
def test_every_stored_character_carries_the_tags_of_what_it_came_from(
    kind: type, data: Any
) -> None:
    name = "StringIO" if kind is str else "BytesIO"
    newline = data.draw(st.sampled_from(NEWLINES)) if kind is str else "\n"
    kw = {"newline": newline} if kind is str else {}
    initial, init_tags = data.draw(_pieces(kind))
    writes = data.draw(st.lists(st.tuples(_pieces(kind), st.booleans()), max_size=6))
    how = data.draw(st.sampled_from(["positional", "keyword", "none"]))
    key = "initial_value" if kind is str else "initial_bytes"
    args, kwargs = {
        "positional": ((initial,), kw),
        "keyword": ((), {**kw, key: initial}),
        "none": ((), kw),
    }[how]
    orig, f = _orig(name)(*args, **kwargs), getattr(io, name)(*args, **kwargs)
    orig.seek(0, 2)  # (a write at 0 would replace the initial value)
    f.seek(0, 2)
    extents = [(0, len(orig.getvalue()), init_tags if how != "none" else [])]
    for (value, tags), as_lines in writes:
        start = orig.tell()
        orig.write(kind(value))
        (f.writelines if as_lines else f.write)([value] if as_lines else value)
        extents.append((start, orig.tell(), tags))
    stored = orig.getvalue()
    v = f.getvalue()
    assert v == stored and f.tell() == orig.tell()
    got = _per_char(v)
    for (start, end, tags), (value, _tags) in zip(
        extents, [(initial, None)] + [w[0] for w in writes], strict=True
    ):
        if start == end:
            continue
        text = value if kind is str else value.decode()
        want_text, want = _translated(text, tags, newline) if kind is str else (text, tags)
        assert want_text == (stored[start:end] if kind is str else stored[start:end].decode())
        assert got[start:end] == want
    if all(not ts for ts in got):
        assert type(v) is kind
    # and the same characters and tags read back, however the file is read
    read: Callable[[Any], list[Any]] = data.draw(
        st.sampled_from(
            [
                lambda f: [f.read()],
                lambda f: list(f),
                lambda f: f.readlines(),
                lambda f: list(iter(f.readline, kind())),
                lambda f: list(iter(lambda: f.read(3), kind())),
                lambda f: [x for _ in range(len(v) + 1) for x in f.readlines(2)],
            ]
        )
    )
    f.seek(0)
    parts = read(f)
    assert kind().join(parts) == v
    assert [ts for part in parts for ts in _per_char(part)] == got


def test_a_write_whose_stored_extent_cannot_be_mapped_keeps_its_tags_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def boom(*a: Any) -> Any:
        raise RuntimeError("internal bug")

    monkeypatch.setattr(_p_io, "_stored", boom)
    f = io.StringIO(newline=None)
    f.write("plain\r\n")
    with structlog.testing.capture_logs() as logs:
        f.write(pt.tag("a\r\nb", P))
    f.write("\r\nmore")
    v = f.getvalue()
    assert v == "plain\na\nb\nmore" and pt.ranges(v) == [(6, 9, TAGS)]
    assert [e["where"] for e in logs if e["event"] == "purpose_internal_error"] == ["io.write"]


# --- 2. the initial value, positional or keyword ----------------------------------


@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [
        ("StringIO", (T,), {}),
        ("StringIO", (T, ""), {}),
        ("StringIO", (T,), {"newline": ""}),
        ("StringIO", (), {"initial_value": T}),
        ("StringIO", (), {"initial_value": T, "newline": ""}),
        ("StringIO", (), {"newline": "", "initial_value": T}),
        ("StringIO", (), {"newline": None, "initial_value": T}),
        ("BytesIO", (B,), {}),
        ("BytesIO", (), {"initial_bytes": B}),
    ],
)
def test_a_tagged_initial_value_keeps_its_tags_however_it_is_passed(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    f = getattr(io, name)(*args, **kwargs)
    for value in (f.getvalue(), f.read()):
        assert value == EMAIL or value == EMAIL.encode()
        assert pt.ranges(value) == [(0, len(EMAIL), TAGS)]
    assert f.tell() == len(EMAIL)


def test_a_tagged_initial_value_is_tagged_where_it_is_stored() -> None:
    f = io.StringIO("x\r\n" + pt.tag("\r\nab", P), newline=None)
    assert f.tell() == 0 and f.getvalue() == "x\n\nab" and pt.ranges(f.read()) == [(2, 5, TAGS)]
    f = io.StringIO(newline="\r\n", initial_value=pt.tag("a\nb", P))
    assert f.getvalue() == "a\r\nb" and pt.ranges(f.getvalue()) == [(0, 4, TAGS)]


def test_a_subclass_passing_the_initial_value_by_keyword_keeps_its_tags() -> None:
    class Mine(io.StringIO):
        def __init__(self, value: str) -> None:
            super().__init__(newline="", initial_value=value)

    assert pt.ranges(Mine(T).getvalue()) == [(0, len(EMAIL), TAGS)]


def test_an_untagged_initial_value_by_keyword_is_plain() -> None:
    f = io.StringIO(newline="", initial_value=EMAIL)
    assert type(f.getvalue()) is str and type(f.read()) is str


# --- 3. what the host sees: docs, signatures, checks and errors -------------------


@pytest.mark.parametrize("name", ["StringIO", "BytesIO"])
def test_docs_and_signatures_are_the_originals(name: str) -> None:
    cls, orig = getattr(io, name), _orig(name)
    assert cls is not orig
    assert cls.__doc__ == orig.__doc__ is not None
    assert inspect.signature(cls) == inspect.signature(orig)
    for method in ("__init__", "write", "writelines", "getvalue", "read", "read1", "readline"):
        if hasattr(orig, method):
            assert getattr(cls, method).__doc__ == getattr(orig, method).__doc__, method
            assert inspect.signature(getattr(cls, method)) == inspect.signature(
                getattr(orig, method)
            ), method
    assert inspect.signature(cls().read) == inspect.signature(orig().read)
    assert not hasattr(cls(), "__signature__")  # as the original's instances

    def init(self: Any, a: int, b: str = "") -> None:
        super(type(self), self).__init__()

    # a subclass: the original's signature, or that of its own __init__
    for base in (cls, orig):
        assert inspect.signature(type("Inherits", (base,), {})) == inspect.signature(orig)
        own = type("Own", (base,), {"__init__": init})
        assert str(inspect.signature(own)) == "(a: 'int', b: 'str' = '') -> 'None'"


@pytest.mark.parametrize("name", ["StringIO", "BytesIO"])
@pytest.mark.parametrize("tagged", [False, True])
def test_iterating_a_closed_file_raises_as_the_original(name: str, tagged: bool) -> None:
    def outcome(cls: Any) -> Any:
        f = cls()
        if tagged:
            f.write(B if name == "BytesIO" else T)
        f.close()
        return _outcome(lambda: iter(f) is f), _outcome(lambda: next(f))

    assert outcome(getattr(io, name)) == outcome(_orig(name))
    if name == "StringIO":
        f = io.StringIO("x")
        f.close()
        with pytest.raises(ValueError, match="I/O operation on closed file"):
            iter(f)


@pytest.mark.parametrize("name", ["StringIO", "BytesIO"])
@pytest.mark.parametrize("hint", [2.5, "x", object(), None, True, -1, 0, 3, 4, 5, 100])
def test_readlines_of_a_tagged_file_is_the_originals(name: str, hint: Any) -> None:
    text = "aa\nbb\ncc\n"
    value = pt.tag(text, P) if name == "StringIO" else pt.tag(text.encode(), P)
    f, orig = getattr(io, name)(value), _orig(name)(text if name == "StringIO" else text.encode())
    f.readline(), orig.readline()
    got, want = _outcome(lambda: f.readlines(hint)), _outcome(lambda: orig.readlines(hint))
    assert got == want and f.tell() == orig.tell()  # an error reads nothing
    if got[0] == "ok":
        assert all(pt.tags(line) == TAGS for line in got[1])


CALLS: list[tuple[str, tuple[Any, ...]]] = [
    ("read", ()),
    ("read", (2,)),
    ("read", (None,)),
    ("read", (2.5,)),
    ("readline", ()),
    ("readline", (1,)),
    ("readline", ("x",)),
    ("read1", (2,)),
    ("readlines", ()),
    ("readlines", (3,)),
    ("readlines", (2.5,)),
    ("__next__", ()),
    ("getvalue", ()),
    ("write", ()),
    ("write", (1,)),
    ("write", ("s",)),
    ("write", (b"s",)),
    ("writelines", (5,)),
    ("writelines", ([b"s"],)),
    ("writelines", (["s"],)),
    ("writelines", ("LINES",)),  # a generator: the original checks before taking a line
]


@pytest.mark.parametrize("name", ["StringIO", "BytesIO"])
@pytest.mark.parametrize("closed", [False, True])
@pytest.mark.parametrize(("method", "args"), CALLS)
def test_calls_on_a_tagged_file_behave_as_the_originals(
    name: str, closed: bool, method: str, args: tuple[Any, ...]
) -> None:
    text = "aa\nbb\ncc\n"
    plain: Any = text if name == "StringIO" else text.encode()

    def outcome(cls: Any, value: Any) -> Any:
        f = cls(value)
        taken: list[Any] = []
        if closed:
            f.close()
        if args == ("LINES",):
            call_args: tuple[Any, ...] = ((taken.append(x) or x for x in [plain[:1]]),)
        else:
            call_args = args
        if not hasattr(f, method):
            return "no such method"
        res = _outcome(lambda: getattr(f, method)(*call_args))
        state = None if closed else (f.tell(), f.getvalue())
        return (res, state, taken)

    want = outcome(_orig(name), plain)
    assert outcome(getattr(io, name), plain) == want
    assert outcome(getattr(io, name), pt.tag(plain, P)) == want


@pytest.mark.parametrize("kind", ["StringIO", "BytesIO"])
def test_unbound_methods_on_a_file_made_before_instrument(kind: str) -> None:
    """No internal name leaks out: read as the original; write/getvalue work, or
    (with the accelerator, whose C methods check the class) CPython's TypeError."""
    from purposetag import _accel

    pt.uninstrument()
    start = "hello" if kind == "StringIO" else b"hello"
    pre = getattr(io, kind)(start)
    pt.instrument()
    cls = getattr(io, kind)
    assert cls.read(pre, 2) == start[:2]
    assert cls.readline(pre) == start[2:]
    piece = pt.tag("x", P) if kind == "StringIO" else pt.tag(b"x", P)
    if _accel.ACCELERATED:
        for call in (lambda: cls.write(pre, piece), lambda: cls.getvalue(pre)):
            with pytest.raises(TypeError, match="doesn't apply to a"):
                call()
    else:
        assert cls.write(pre, piece) == 1
        assert cls.getvalue(pre) == start + piece
