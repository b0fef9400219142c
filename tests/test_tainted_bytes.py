"""TaintedBytes: bytes methods keep tags on byte ranges; codecs map offsets."""

from __future__ import annotations

import copy
import pickle

import pytest

import purposetag as pt
from purposetag import Tag, TaggedValue, TaintedBytes

A = Tag("security.authentication")
B = Tag("marketing.email")
SA = frozenset({A})
SB = frozenset({B})


def ba(b: bytes) -> bytes:
    return pt.tag(b, "security.authentication")


def bb(b: bytes) -> bytes:
    return pt.tag(b, "marketing.email")


def marks(value: bytes | str) -> str:
    out = ["."] * len(value)
    table = {SA: "a", SB: "b", SA | SB: "+"}
    for a, b, ts in pt.ranges(value):
        for i in range(a, b):
            out[i] = table[ts]
    return "".join(out)


def test_type_and_equality() -> None:
    t = ba(b"abc")
    assert type(t) is TaintedBytes and isinstance(t, bytes)
    assert t == b"abc" and hash(t) == hash(b"abc")
    assert type(TaintedBytes(b"x")) is bytes


def test_concat_both_orders_and_repeat() -> None:
    t = ba(b"ab")
    assert marks(b"x" + t) == ".aa"
    assert marks(t + b"x" + bb(b"y")) == "aa.b"
    assert marks(t * 2) == "aaaa" and marks(2 * t) == "aaaa"
    assert type(t * 0) is bytes
    # bytearray on the left keeps its own type (and, like plain bytes, no tags)
    assert type(bytearray(b"x") + t) is bytearray
    with pytest.raises(TypeError):
        t + "x"  # type: ignore[operator]


def test_slicing_and_indexing_yield_tagged_ints() -> None:
    t = b"xy" + ba(b"abc")
    assert marks(t[1:4]) == ".aa"
    assert marks(t[::-2]) == "aa."
    assert type(t[:2]) is bytes
    v = t[3]
    assert isinstance(v, TaggedValue) and isinstance(v, int) and v == ord("b")
    assert pt.tags(v) == SA
    assert type(t[0]) is int
    items = list(t)
    assert [pt.tags(i) for i in items] == [frozenset(), frozenset(), SA, SA, SA]
    assert items == list(b"xyabc")


def test_methods_keep_ranges() -> None:
    t = b"  " + ba(b"a,b") + b"  "
    assert marks(t.strip()) == "aaa"
    assert [marks(p) for p in t.strip().split(b",")] == ["a", "a"]
    assert [marks(p) for p in t.split()] == ["aaa"]
    assert [marks(p) for p in ba(b"a,b").rsplit(b",", 1)] == ["a", "a"]
    assert [marks(p) for p in (ba(b"x\n") + b"y").splitlines()] == ["a", "."]
    assert [marks(p) for p in (ba(b"k") + b"=" + bb(b"v")).partition(b"=")] == ["a", ".", "b"]
    assert marks(ba(b"a-b").replace(b"-", b"+")) == "a.a"
    assert marks(ba(b"ab").upper()) == "aa"
    assert marks(ba(b"ab").center(4)) == ".aa."
    assert marks(ba(b"-1").zfill(4)) == "a..a"
    assert marks(ba(b"a\tb").expandtabs(4)) == "aaaaa"
    assert marks(ba(b",").join([b"x", b"y"])) == ".a."
    assert marks(ba(b"pre.x").removeprefix(b"pre.")) == "a"
    assert marks(ba(b"ab").translate(bytes.maketrans(b"a", b"z"))) == "aa"
    assert marks(ba(b"ab").translate(None, b"a")) == "a"


def test_mod_is_union() -> None:
    assert pt.tags(ba(b"x=%s") % b"1") == SA
    assert pt.tags(b"x=%s" % bb(b"1")) == SB
    assert pt.tags(ba(b"%s%s") % (bb(b"1"), b"2")) == SA | SB


def test_decode_maps_offsets_for_utf8() -> None:
    raw = "é".encode() + ba("añb".encode()) + b"z"
    s = raw.decode("utf-8")
    assert s == "éañbz" and marks(s) == ".aaa."
    # a range boundary inside a multi-byte character: the whole union
    split = ba("é".encode()[:1]) + "é".encode()[1:]
    assert pt.ranges(split.decode("utf-8")) == [(0, 1, SA)]
    assert marks(ba(b"abc").decode("ascii")) == "aaa"
    assert pt.tags((b"\xff\xfe" + ba(b"a\x00")).decode("utf-16")) == SA


def test_encode_decode_roundtrip_exact() -> None:
    s = "ü" + pt.tag("ñé", "security.authentication") + "x"
    back = s.encode("utf-8").decode("utf-8")
    assert back == s and pt.ranges(back) == pt.ranges(s)


def test_hex() -> None:
    t = b"\x00" + ba(b"\x01\x02")
    assert t.hex() == "000102" and marks(t.hex()) == "..aaaa"
    assert pt.tags(t.hex(":")) == SA


def test_str_and_repr_are_tagged() -> None:
    t = ba(b"ab")
    assert pt.tags(repr(t)) == SA and repr(t) == "b'ab'"


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_and_copy(protocol: int) -> None:
    t = b"x" + ba(b"yz")
    back = pickle.loads(pickle.dumps(t, protocol=protocol))
    assert type(back) is TaintedBytes and pt.ranges(back) == pt.ranges(t)
    assert pt.ranges(copy.deepcopy(t)) == pt.ranges(t)
    assert copy.copy(t) is t


def test_non_bytes_arguments_raise_like_plain() -> None:
    for call in (
        lambda b: b.replace("a", b"x"),
        lambda b: b.join([1]),
        lambda b: b.split(1),
        lambda b: b.strip("a"),
    ):
        with pytest.raises(TypeError) as want:
            call(b"abc")
        with pytest.raises(TypeError) as got:
            call(ba(b"abc"))
        assert str(got.value) == str(want.value)


def test_concatenating_something_else_raises_as_bytes_does() -> None:
    tb = pt.tag(b"ab", "security.authentication")
    for other in (1, "x", 2.0, None, [1]):
        with pytest.raises(TypeError) as want:
            b"ab" + other  # type: ignore[operator]
        with pytest.raises(TypeError) as got:
            tb + other
        assert str(got.value) == str(want.value) and got.value.__context__ is None

    class Radd:
        def __radd__(self, other: object) -> str:
            return "radd"

    assert tb + Radd() == "radd"  # the right operand's __radd__ still goes first
    assert pt.tags(tb + bytearray(b"z")) == pt.tags(tb)
