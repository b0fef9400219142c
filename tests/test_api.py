"""The public functions: tag, tags, ranges, is_tagged, allows, untag, declassify."""

from __future__ import annotations

from collections import OrderedDict, defaultdict, namedtuple

import pytest
from structlog.testing import capture_logs

import purposetag as pt
from purposetag import PolicyError, Tag, TaggedValue, TaintedBytes, TaintedStr

A = Tag("security.authentication", category="user.contact.phone_number", source="2fa")
Rec = namedtuple("Rec", "phone email")


def tag_a(value):  # type: ignore[no-untyped-def]
    return pt.tag(
        value, "security.authentication", category="user.contact.phone_number", source="2fa"
    )


def test_tag_scalars() -> None:
    assert type(tag_a("555")) is TaintedStr
    assert type(tag_a(b"555")) is TaintedBytes
    assert type(tag_a(5)) is TaggedValue
    assert tag_a(None) is None
    assert pt.tags(tag_a("555")) == {A}


def test_tag_containers_deep_keeping_types() -> None:
    d = tag_a({"k": ["x", ("y", {"z"})], "n": 1})
    assert type(d) is dict and type(d["k"]) is list and type(d["k"][1]) is tuple
    assert all(type(k) is str for k in d)  # keys are not tagged
    assert pt.tags(d["k"][0]) == {A} and pt.tags(next(iter(d["k"][1][1]))) == {A}
    assert pt.tags(d["n"]) == {A}
    r = tag_a(Rec("555", "a@b"))
    assert type(r) is Rec and pt.tags(r.phone) == {A}
    od = tag_a(OrderedDict([("b", "1"), ("a", "2")]))
    assert type(od) is OrderedDict and list(od) == ["b", "a"]
    dd = defaultdict(list, {"a": "1"})
    tdd = tag_a(dd)
    assert type(tdd) is defaultdict and tdd.default_factory is list
    assert pt.tags(tdd["a"]) == {A}
    assert type(tag_a(frozenset({"x"}))) is frozenset


def test_tag_twice_adds() -> None:
    t = pt.tag(tag_a("x"), "marketing")
    assert pt.tags(t) == {A, Tag("marketing")}
    v = pt.tag(tag_a(5), "marketing")
    assert pt.tags(v) == {A, Tag("marketing")}
    partial = pt.tag("ab" + tag_a("c"), "marketing")
    assert pt.ranges(partial) == [(0, 2, {Tag("marketing")}), (2, 3, {A, Tag("marketing")})]


def test_tag_errors() -> None:
    with pytest.raises(PolicyError, match="at least one purpose"):
        pt.tag("x")
    with pytest.raises(PolicyError, match="'Marketing'"):
        pt.tag("x", "Marketing")
    with pytest.raises(PolicyError):
        pt.tag("x", "ok", category="")


def test_tags_ranges_is_tagged() -> None:
    s = "tel:" + tag_a("555")
    assert pt.ranges(s) == [(4, 7, {A})]
    assert pt.ranges("plain") == [] and pt.ranges(b"plain") == []
    with pytest.raises(TypeError, match="str or bytes"):
        pt.ranges(5)  # type: ignore[arg-type]
    assert pt.tags("plain") == frozenset() and pt.tags(5) == frozenset()
    assert pt.tags([tag_a("x")]) == frozenset()  # tags() is the value itself
    assert pt.is_tagged([1, {"k": (tag_a("x"),)}])
    assert pt.is_tagged({tag_a("key"): 1})
    assert not pt.is_tagged([1, "x", {"k": b"y"}])


def test_allows_deep_and_with_policy() -> None:
    v = {"phone": tag_a("555")}
    assert pt.allows(v, "security.authentication.two_factor")
    assert not pt.allows(v, "marketing.advertising")
    assert pt.allows({"x": "untagged"}, "marketing")
    mixed = tag_a("555") + pt.tag("a@b", "marketing")
    assert not pt.allows(mixed, "marketing") and not pt.allows(mixed, "security")
    pt.configure(policy=pt.Policy({"security.authentication": ["security.fraud_detection"]}))
    assert pt.allows(v, "security.fraud_detection.scoring")
    pt.configure(policy={"prohibited": {"security": ["security.authentication.two_factor"]}})
    assert not pt.allows(v, "security.authentication.two_factor")
    with pytest.raises(PolicyError):
        pt.allows(v, "Bad Use")


def test_untag_is_deep_and_audited() -> None:
    secret = "555-0100"
    value = {"phone": tag_a(secret), tag_a("key"): [tag_a(7)]}
    with capture_logs() as logs:
        plain = pt.untag(value)
    assert not pt.is_tagged(plain)
    assert type(plain["phone"]) is str and type(plain["key"][0]) is int
    assert pt.is_tagged(value)  # the original is untouched
    (event,) = [e for e in logs if e["event"] == "purpose_untagged"]
    assert event["categories"] == ["user.contact.phone_number"]
    assert event["sources"] == ["2fa"]
    assert event["fingerprint"] and "test_api.py" in event["location"]
    assert secret not in repr(event)


def test_untag_of_plain_value_emits_nothing() -> None:
    with capture_logs() as logs:
        assert pt.untag("x") == "x"
    assert logs == []


def test_declassify() -> None:
    secret = "a@b.c"
    t = tag_a(secret)
    with capture_logs() as logs:
        d = pt.declassify(t, "marketing.email", reason="user opted in 2026-01-05")
    assert d is not t and d == t
    assert pt.allows(d, "marketing.email") and not pt.allows(t, "marketing.email")
    assert pt.tags(t) == {A}
    (event,) = [e for e in logs if e["event"] == "purpose_declassified"]
    assert event["purposes_added"] == ["marketing.email"]
    assert event["reason"] == "user opted in 2026-01-05"
    assert event["categories"] == ["user.contact.phone_number"] and event["sources"] == ["2fa"]
    assert event["fingerprint"] and event["location"]
    assert secret not in repr(event)
    deep = pt.declassify({tag_a("k"): [tag_a("v")]}, "marketing", reason="contract")
    assert pt.allows(deep, "marketing")


def test_declassify_errors() -> None:
    for reason in ("", "   ", None):
        with pytest.raises(PolicyError, match="reason"):
            pt.declassify(tag_a("x"), "marketing", reason=reason)  # type: ignore[arg-type]
    with pytest.raises(PolicyError):
        pt.declassify(tag_a("x"), reason="r")
    with pytest.raises(PolicyError, match="'Mkt'"):
        pt.declassify(tag_a("x"), "Mkt", reason="r")


def test_is_tagged_and_allows_look_where_guards_look() -> None:
    import dataclasses

    @dataclasses.dataclass
    class Contact:
        phone: str

    c = Contact(pt.tag("+1 555 0100", "security.authentication"))
    assert pt.is_tagged(c)
    assert not pt.allows(c, "marketing")
    assert not pt.is_tagged(Contact("plain"))


def test_allows_is_false_when_the_scan_is_cut_short() -> None:
    from structlog.testing import capture_logs

    pt.configure(max_items=10)
    with capture_logs() as logs:
        assert not pt.allows(list(range(50)), "marketing")
    assert [e["reason"] for e in logs if e["event"] == "purpose_scan_truncated"] == ["max_items"]
