"""Generic carrier helpers used by the guards and instrumentation."""

from __future__ import annotations

import purposetag as pt
from purposetag import Tag, TaggedValue
from purposetag import _carriers as C

A = Tag("security.authentication")
B = Tag("marketing")


def test_shallow_tags_and_is_carrier() -> None:
    t = "x" + pt.tag("y", "security.authentication")
    assert C.shallow_tags(t) == {A}
    assert C.shallow_tags(pt.tag(b"y", "marketing")) == {B}
    assert C.shallow_tags(pt.tag(1, "marketing")) == {B}
    assert C.shallow_tags([t]) == frozenset()
    assert C.is_carrier(t) and C.is_carrier(pt.tag(1, "p")) and not C.is_carrier("x")


def test_deep_tags_including_keys_and_proxied_containers() -> None:
    v = {pt.tag("k", "marketing"): [(pt.tag(1, "security.authentication"),)]}
    assert C.deep_tags(v) == {A, B}
    inner = TaggedValue([pt.tag("x", "marketing")], frozenset({A}))
    assert C.deep_tags(inner) == {A, B}
    loop: list[object] = []
    loop.append(loop)
    assert C.deep_tags(loop) == frozenset()


def test_with_tag_map_tags_plain() -> None:
    v = C.with_tag(["a", 1], A)
    assert C.deep_tags(v) == {A}
    widened = C.map_tags(v, lambda ts: frozenset(t.with_purposes("marketing") for t in ts))
    assert all("marketing" in t.purposes for t in C.deep_tags(widened))
    p = C.plain({pt.tag("k", "marketing"): pt.tag(b"v", "marketing")})
    assert not C.deep_tags(p) and type(next(iter(p))) is str and type(p["k"]) is bytes


def test_fingerprint_bytes_are_stable_and_plain() -> None:
    t = pt.tag("secret", "marketing")
    assert C.plain_bytes_for_fingerprint(t) == C.plain_bytes_for_fingerprint("secret")
    assert C.plain_bytes_for_fingerprint(t) == b"secret"
    assert C.plain_bytes_for_fingerprint(b"x") == C.plain_bytes_for_fingerprint("x") == b"x"
    assert C.plain_bytes_for_fingerprint(pt.tag(5, "marketing")) == b"5"


def test_self_referencing_containers_keep_their_shape() -> None:
    import purposetag as pt_

    items: list[object] = ["x"]
    items.append(items)
    tagged = pt_.tag(items, "p")
    assert tagged[1] is tagged and pt_.is_tagged(tagged[0])
    mapping: dict[str, object] = {"k": "v"}
    mapping["self"] = mapping
    plain_map = pt_.untag(pt_.tag(mapping, "p"))
    assert plain_map["self"] is plain_map and type(plain_map["k"]) is str


def test_argument_lengths_are_real_lengths_and_tables_carry_tags() -> None:
    """Ranges come from what was written: a str subclass's own ``__len__`` may lie,
    ``len()`` of an array or memoryview counts items, not bytes; a translate table's
    replacements carry their tags."""
    from array import array

    P = "security.account_recovery"
    Q = "marketing.advertising"
    tp, tq = pt.tags(pt.tag("x", P)), pt.tags(pt.tag("x", Q))

    class Liar(str):
        def __len__(self) -> int:
            return 1

    out = Liar("xyz") + pt.tag("secret", P)
    assert out == "xyzsecret" and pt.ranges(out) == [(3, 9, tp)]
    out = pt.tag("-", P).join(["xyz", Liar("q")])
    assert out == "xyz-q" and pt.ranges(out) == [(3, 4, tp)]
    out = ("a," + pt.tag("bcd", P)).replace(",", Liar(";;"))
    assert out == "a;;bcd" and pt.ranges(out) == [(3, 6, tp)]
    tb = b"a--" + pt.tag(b"b", P) + b"--c"
    parts = tb.split(array("h", [0x2D2D]))
    assert parts == [b"a", b"b", b"c"] and pt.ranges(parts[1]) == [(0, 1, tp)]
    out = (b"a--b--" + pt.tag(b"c", P)).replace(memoryview(b"--"), b"+")
    assert out == b"a+b+c" and pt.ranges(out) == [(4, 5, tp)]
    out = pt.tag(b"|", P).join([b"xx", array("i", [0]), b"yy"])
    assert pt.ranges(out) == [(2, 3, tp), (7, 8, tp)]
    out = pt.tag("bob@example.com", P).translate({ord("@"): pt.tag("X", Q)})
    assert out == "bobXexample.com" and pt.tags(out) == tp | tq
    out = pt.tag(b"abc", P).translate(pt.tag(bytes(range(256))[::-1], Q))
    assert pt.tags(out) == tp | tq
    assert pt.ranges(pt.tag("abc", P).translate({ord("a"): "A"})) == [(0, 3, tp)]
    assert pt.tag(b"\x01\x02\x03", P).hex(sep=":", bytes_per_sep=2) == "01:0203"
    assert pt.tags(pt.tag(b"\x01\x02", P).hex(sep="-")) == tp
