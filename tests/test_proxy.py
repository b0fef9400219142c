"""TaggedValue: a transparent proxy whose derived values keep the tags."""

from __future__ import annotations

import copy
import json
import pickle
from collections import namedtuple
from decimal import Decimal
from typing import Any

import pytest

import purposetag as pt
from purposetag import Tag, TaggedValue, TaintedStr
from purposetag._proxy import tag_result

A = Tag("security.authentication")
B = Tag("marketing.email")
SA = frozenset({A})
SB = frozenset({B})

Point = namedtuple("Point", "x y")


def test_isinstance_and_plain_behaviour() -> None:
    v = pt.tag(42, "security.authentication")
    assert isinstance(v, TaggedValue) and isinstance(v, int)
    assert v == 42 and 42 == v and v != 41 and v < 50 and v >= 42
    assert type(v == 42) is bool and type(v < 1) is bool
    assert hash(v) == hash(42) and {v: 1}[42] == 1
    assert bool(v) and int(v) == 42 and float(v) == 42.0


@pytest.mark.parametrize(
    "expr",
    [
        lambda v: v + 1,
        lambda v: 1 + v,
        lambda v: v - 1,
        lambda v: 100 - v,
        lambda v: v * 2,
        lambda v: 2 * v,
        lambda v: v / 2,
        lambda v: 84 / v,
        lambda v: v // 5,
        lambda v: v % 5,
        lambda v: 100 % v,
        lambda v: v**2,
        lambda v: 2**v,
        lambda v: pow(v, 2, 5),
        lambda v: v << 1,
        lambda v: v & 3,
        lambda v: 3 | v,
        lambda v: -v,
        lambda v: abs(v),
        lambda v: ~v,
        lambda v: round(v, -1),
    ],
)
def test_arithmetic_is_tagged(expr) -> None:
    v = pt.tag(42, "security.authentication")
    got = expr(v)
    assert got == expr(42)
    assert pt.tags(got) == SA


def test_arithmetic_unions_both_operands_tags() -> None:
    a = pt.tag(2, "security.authentication")
    b = pt.tag(3, "marketing.email")
    assert pt.tags(a + b) == SA | SB
    assert pt.tags(divmod(a, b)) == SA | SB


def test_in_place_operators() -> None:
    v = pt.tag(1, "security.authentication")
    v += pt.tag(1, "marketing.email")
    assert v == 2 and pt.tags(v) == SA | SB
    items = pt.tag(Decimal("1.5"), "security.authentication")
    items *= 2
    assert items == Decimal("3.0") and pt.tags(items) == SA
    # a mutable wrapped object is mutated in place, as without the proxy
    lst = [1]
    p = TaggedValue(lst, SA)
    alias = p
    p += [2]
    assert p is alias and lst == [1, 2]


def test_text_forms_are_tainted_str() -> None:
    v = pt.tag(3.5, "security.authentication")
    for s in (str(v), repr(v), format(v, ".2f"), f"{v}"):
        assert type(s) is TaintedStr and pt.tags(s) == SA
    assert format(v, ".2f") == "3.50"


def test_data_attributes_and_items_are_tagged() -> None:
    p = pt.tag(Point(1, 2), "security.authentication")  # namedtuple: a container
    assert type(p) is Point and pt.tags(p.x) == SA
    c = pt.tag(complex(1, 2), "security.authentication")
    assert pt.tags(c.real) == SA and c.real == 1.0

    class Obj:
        name = "bob"

        def method(self) -> str:
            return "x"

    o = pt.tag(Obj(), "security.authentication")
    assert isinstance(o, Obj)
    assert pt.tags(o.name) == SA
    # method-call results are not data reads: they come back plain
    assert pt.tags(o.method()) == frozenset()


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_copy_deepcopy_pickle_keep_tags(protocol: int) -> None:
    v = pt.tag(Decimal("9.99"), "security.authentication")
    for other in (copy.copy(v), copy.deepcopy(v), pickle.loads(pickle.dumps(v, protocol))):
        assert isinstance(other, TaggedValue)
        assert other == Decimal("9.99") and pt.tags(other) == SA


def test_tag_result() -> None:
    assert tag_result(None, SA) is None
    assert tag_result(5, frozenset()) == 5 and type(tag_result(5, frozenset())) is int
    assert pt.tags(tag_result("x", SA)) == SA
    assert pt.tags(tag_result(b"x", SA)) == SA
    assert pt.tags(tag_result(pt.tag(1, "marketing.email"), SA)) == SA | SB


def test_int_float_bool_of_a_proxy_are_plain() -> None:
    v = pt.tag(7, "security.authentication")
    assert type(int(v)) is int and type(float(v)) is float and type(bool(v)) is bool


def test_json_dumps_without_instrumentation() -> None:
    # Documented: json's C encoder checks exact types, so a proxied number is refused
    # (pt.instrument() patches json); tagged strings serialise but the output is plain.
    with pytest.raises(TypeError, match="Object of type int is not JSON serializable"):
        json.dumps({"age": pt.tag(42, "security.authentication")})
    out = json.dumps(pt.tag({"email": "a@b.c"}, "security.authentication"))
    assert out == '{"email": "a@b.c"}' and type(out) is str


def test_percent_treats_a_proxy_as_a_mapping_documented_quirk() -> None:
    # CPython's %-formatting takes anything with __getitem__ as a mapping; every
    # wrapt proxy has one.  Documented in the README's propagation section.
    template = "%%"
    assert template % pt.tag(0, "p") == "%"
    with pytest.raises(TypeError):
        template % 0  # noqa: B018


def test_proxy_bytes_and_iter_fail_as_the_wrapped_value_would() -> None:
    import datetime

    def outcome(fn: Any) -> Any:
        try:
            return ("ok", fn())
        except TypeError as exc:
            return ("TypeError", str(exc))

    for value in (1.5, datetime.date(2020, 1, 1), None):
        tv = pt.tag(value, "p") if value is not None else pt.TaggedValue(value)
        assert outcome(lambda tv=tv: b"%s" % tv) == outcome(lambda v=value: b"%s" % v)
        assert outcome(lambda tv=tv: iter(tv))[0] == "TypeError"  # at once, not on next()
    assert bytes(pt.tag(3, "p")) == bytes(3)  # bytes(n): n zero bytes, as for a plain int
    assert bytes(pt.tag(bytearray(b"xy"), "p")) == b"xy"
    assert [x + 0 for x in pt.tag(range(2), "p")] == [0, 1]


def test_known_quirk_bytes_percent_s_of_a_tagged_int() -> None:
    # documented: a proxy always has __bytes__, so bytes `%s` of a tagged int gives
    # bytes(n) where plain `b"%s" % 5` raises TypeError
    assert b"<%s>" % pt.tag(2, "p") == b"<\x00\x00>"
