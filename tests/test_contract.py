"""Black-box contract tests for purposetag (DESIGN.md §1–§4, §7; issues 2, 3, 4).

Only the public API is used: ``import purposetag as pt``, ``purposetag.strategies``,
``purposetag.middleware`` and the pytest plugin.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import dataclasses
import importlib
import inspect
import pickle
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

import purposetag as pt

TWO_FACTOR = "security.authentication.two_factor"
RECOVERY = "account.recovery"
ADS = "marketing.advertising.targeted"
SECRET = "Zq5550100xQ"  # distinctive raw value that must never leak


# --------------------------------------------------------------------------- helpers


def char_tags(s: str | bytes) -> list[frozenset[pt.Tag]]:
    out: list[frozenset[pt.Tag]] = [frozenset()] * len(s)
    for a, b, ts in pt.ranges(s):
        for i in range(a, b):
            out[i] = ts
    return out


def tagged_idx(s: str | bytes) -> list[int]:
    return [i for i, ts in enumerate(char_tags(s)) if ts]


def assert_ranges_wellformed(s: str | bytes) -> None:
    rs = pt.ranges(s)
    prev = 0
    for a, b, ts in rs:
        assert isinstance(ts, frozenset)
        assert 0 <= a < b <= len(s)
        assert a >= prev
        prev = b


def only_tag(value: object) -> pt.Tag:
    ts = pt.tags(value)
    assert len(ts) == 1
    return next(iter(ts))


def events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in logs if e.get("event") == name]


def no_raw(obj: object, raw: str = SECRET) -> None:
    text = repr(obj) + str(obj)
    assert raw not in text
    assert raw.lower() not in text.lower()


def phone() -> str:
    return pt.tag(
        SECRET,
        TWO_FACTOR,
        category="user.contact.phone_number",
        source="settings.two_factor",
    )


@pt.guard(ADS)
def upload_audience(contacts: Any) -> str:
    return "uploaded"


@pt.guard(ADS)
def upload_kw(*args: Any, **kwargs: Any) -> str:
    return "uploaded"


@pt.guard()
def ambient(x: Any) -> str:
    return "ran"


# ------------------------------------------------------------- §1 purposes & errors


BAD_PURPOSES = ["", "Marketing", "1abc", "a..b", "a.", ".a", "a-b", "a b", "é", "a.B", "_a"]


@pytest.mark.parametrize("bad", BAD_PURPOSES)
def test_malformed_purpose_in_tag_raises_policy_error_naming_it(bad: str) -> None:
    with pytest.raises(pt.PolicyError) as ei:
        pt.tag("x", bad)
    assert isinstance(ei.value, ValueError)
    assert isinstance(ei.value, pt.PurposeTagError)
    if bad:
        assert repr(bad) in str(ei.value) or bad in str(ei.value)


@pytest.mark.parametrize("bad", BAD_PURPOSES)
def test_malformed_purpose_in_guard_raises_at_decoration(bad: str) -> None:
    with pytest.raises(pt.PolicyError):
        pt.guard(bad)


@pytest.mark.parametrize("bad", ["Marketing", "a..b", "a-b"])
def test_malformed_purpose_in_policy_raises(bad: str) -> None:
    with pytest.raises(pt.PolicyError) as ei:
        pt.Policy({bad: ["security"]})
    assert bad in str(ei.value)
    with pytest.raises(pt.PolicyError) as ei:
        pt.Policy({"security": [bad]})
    assert bad in str(ei.value)
    with pytest.raises(pt.PolicyError) as ei:
        pt.Policy({}, prohibited={"security": [bad]})
    assert bad in str(ei.value)


@pytest.mark.parametrize("bad", ["Marketing", "a..b"])
def test_malformed_use_in_check_allows_processing(bad: str) -> None:
    with pytest.raises(pt.PolicyError):
        pt.allows("x", bad)
    with pytest.raises(pt.PolicyError):
        pt.check("x", bad)
    with pytest.raises(pt.PolicyError):
        pt.processing(bad)


@pytest.mark.parametrize("good", ["a", "a1_b", "security.authentication.two_factor", "x.y_2.z"])
def test_wellformed_purposes_accepted(good: str) -> None:
    assert pt.is_tagged(pt.tag("x", good))


def test_tag_without_purpose_is_policy_error() -> None:
    with pytest.raises(pt.PolicyError):
        pt.tag("x")


def test_error_hierarchy() -> None:
    assert issubclass(pt.PurposeViolation, pt.PurposeTagError)
    assert issubclass(pt.PolicyError, pt.PurposeTagError)
    assert issubclass(pt.PolicyError, ValueError)


# ------------------------------------------------------------------------ §1 Tag


def test_tag_fields_immutable_hashable_interned() -> None:
    a = only_tag(pt.tag("x", "b", "a", category="c.d", source="s.t", subject="u1"))
    b = only_tag(pt.tag("y", "a", "b", category="c.d", source="s.t", subject="u1"))
    assert a is b
    assert a.purposes == frozenset({"a", "b"})
    assert isinstance(a.purposes, frozenset)
    assert a.category == "c.d"
    assert a.source == "s.t"
    assert a.subject == "u1"
    assert hash(a) == hash(b)
    assert {a: 1}[b] == 1
    with pytest.raises((AttributeError, TypeError)):
        a.category = "other"  # type: ignore[misc]
    c = only_tag(pt.tag("x", "a"))
    assert c.category is None and c.source is None and c.subject is None
    assert c is not a


def test_tag_repr_has_no_raw_value() -> None:
    t = only_tag(phone())
    no_raw(t)
    assert TWO_FACTOR in repr(t)


# ---------------------------------------------------------------- §2 pt.tag & co


def test_tag_str_bytes_types() -> None:
    s = pt.tag("hello", "p")
    assert type(s) is pt.TaintedStr and isinstance(s, str) and s == "hello"
    b = pt.tag(b"hello", "p")
    assert type(b) is pt.TaintedBytes and isinstance(b, bytes) and b == b"hello"
    assert pt.ranges(s) == [(0, 5, pt.tags(s))]
    assert pt.ranges(b) == [(0, 5, pt.tags(b))]


def test_tag_non_ascii_and_empty_string() -> None:
    s = pt.tag("Grüße 📞", "p")
    assert s == "Grüße 📞"
    assert tagged_idx(s) == list(range(len("Grüße 📞")))
    e = pt.tag("", "p")
    assert isinstance(e, str) and e == ""


def test_tag_none_returns_none() -> None:
    assert pt.tag(None, "p") is None


def test_tag_other_object_is_proxy() -> None:
    v = pt.tag(42, "p")
    assert isinstance(v, pt.TaggedValue)
    assert isinstance(v, int)
    assert v == 42
    assert pt.is_tagged(v)
    assert not pt.allows(v, "q")
    assert pt.allows(v, "p")


@pytest.mark.parametrize("ctype", [list, tuple, set, frozenset])
def test_tag_sequence_containers_keep_type_and_tag_leaves(ctype: type) -> None:
    c = pt.tag(ctype(["a", "b"]), "p")
    assert type(c) is ctype
    assert c == ctype(["a", "b"])
    for leaf in c:
        assert type(leaf) is pt.TaintedStr
        assert {t.purposes for t in pt.tags(leaf)} == {frozenset({"p"})}
    assert not pt.allows(c, "q")
    assert pt.allows(c, "p")


def test_tag_dict_values_not_keys_and_nested() -> None:
    d = pt.tag({"email": "a@b.c", "nested": {"phone": ["555", 7]}}, "p")
    assert type(d) is dict
    for k in d:
        assert not pt.is_tagged(k)
    assert pt.is_tagged(d["email"])
    assert pt.is_tagged(d["nested"]["phone"][0])
    assert pt.is_tagged(d["nested"]["phone"][1])
    assert not pt.allows(d, "q")


def test_tag_on_tagged_value_adds_tag_and_narrows() -> None:
    once = pt.tag("x", "a")
    twice = pt.tag(once, "b")
    assert {t.purposes for t in pt.tags(twice)} == {frozenset({"a"}), frozenset({"b"})}
    # every tag must allow: neither a nor b alone is allowed any more
    assert not pt.allows(twice, "a")
    assert not pt.allows(twice, "b")
    assert pt.tags(once) == {only_tag(pt.tag("y", "a"))}  # original untouched
    v = pt.tag(pt.tag(3, "a"), "b")
    assert len(pt.tags(v)) == 2
    assert v == 3


def test_tags_ranges_is_tagged_on_plain() -> None:
    assert pt.tags("plain") == frozenset()
    assert pt.tags(5) == frozenset()
    assert pt.ranges("plain") == []
    assert pt.ranges(b"plain") == []
    assert pt.is_tagged("plain") is False
    assert pt.is_tagged(pt.tag("x", "p")) is True
    assert pt.allows("plain", "anything") is True
    assert pt.allows([["plain"], {"k": 1}], "anything") is True


def test_range_precision_slices() -> None:
    plain = "Phone: "
    t = pt.tag("+1 555 0100", "p")
    s = plain + t
    assert type(s) is pt.TaintedStr
    assert not pt.is_tagged(s[: len(plain)])
    assert pt.tags(s[: len(plain)]) == frozenset()
    assert pt.is_tagged(s[-4:])
    assert tagged_idx(s) == list(range(len(plain), len(s)))
    assert_ranges_wellformed(s)


def test_allows_deep_in_containers() -> None:
    t = phone()
    assert not pt.allows([1, ("a", {"k": t})], ADS)
    assert not pt.allows({t: 1}, ADS)  # dict keys are data too
    assert not pt.allows({frozenset({t})}, ADS)


def test_untag_returns_exact_plain_types_and_is_audited() -> None:
    with structlog.testing.capture_logs() as logs:
        s = pt.untag(phone())
        b = pt.untag(pt.tag(b"raw", "p"))
        v = pt.untag(pt.tag(42, "p"))
    assert type(s) is str and s == SECRET
    assert type(b) is bytes and b == b"raw"
    assert type(v) is int and v == 42
    evs = events(logs, "purpose_untagged")
    assert len(evs) >= 3
    for ev in evs:
        for key in ("purposes_added", "reason", "categories", "sources", "fingerprint"):
            assert key in ev, key
        assert "location" in ev
    for ev in logs:
        no_raw(ev)


def test_declassify_adds_purposes_without_mutating() -> None:
    t = phone()
    with structlog.testing.capture_logs() as logs:
        d = pt.declassify(t, "marketing", reason="user opted in, ticket 7")
    assert d == t
    assert pt.allows(d, ADS)
    assert not pt.allows(t, ADS)  # original unchanged
    assert pt.allows(d, TWO_FACTOR)
    (orig,) = pt.tags(t)
    assert orig.purposes == frozenset({TWO_FACTOR})
    assert any("marketing" in tg.purposes for tg in pt.tags(d))
    ev = events(logs, "purpose_declassified")
    assert len(ev) == 1
    ev0 = ev[0]
    assert "marketing" in ev0["purposes_added"]
    assert ev0["reason"] == "user opted in, ticket 7"
    assert "user.contact.phone_number" in ev0["categories"]
    assert "settings.two_factor" in ev0["sources"]
    assert ev0["fingerprint"]
    assert "test_contract" in str(ev0["location"])
    no_raw(ev0)


def test_declassify_container_and_proxy() -> None:
    c = pt.tag(["a", "b"], "p")
    d = pt.declassify(c, "q", reason="legal basis")
    assert pt.allows(d, "q") and not pt.allows(c, "q")
    v = pt.tag(5, "p")
    dv = pt.declassify(v, "q", reason="legal basis")
    assert pt.allows(dv, "q") and not pt.allows(v, "q")


def test_declassify_requires_non_empty_reason() -> None:
    with pytest.raises(TypeError):
        pt.declassify(phone(), "marketing")  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        pt.declassify(phone(), "marketing", reason="")
    with pytest.raises(pt.PolicyError):
        pt.declassify(phone(), "Bad-Name", reason="x")


# ----------------------------------------------------------- §1 decision order


def _cfg(compatible: dict[str, list[str]] | None = None, **kw: Any) -> None:
    pt.configure(policy=pt.Policy(compatible or {}, **kw))


def test_within_semantics() -> None:
    t = pt.tag("x", "marketing")
    assert pt.allows(t, "marketing")
    assert pt.allows(t, "marketing.email.newsletter")
    assert not pt.allows(t, "marketingx")  # prefix but not a dotted child
    assert not pt.allows(pt.tag("x", "marketing.email"), "marketing")  # broader use
    assert not pt.allows(pt.tag("x", "marketing.email"), "marketing.emailx")


def test_step1_prohibited_ancestors_both_sides() -> None:
    _cfg({}, prohibited={"security": ["marketing"]})
    # purpose is a descendant of the prohibited key, use a descendant of the value
    t = pt.tag("x", TWO_FACTOR, "marketing")
    assert not pt.allows(t, ADS)  # denied although step 2 would allow
    assert pt.allows(t, TWO_FACTOR)
    # the prohibition does not reach purposes that are not descendants
    assert pt.allows(pt.tag("x", "securityx", "marketing"), ADS)


def test_step1_prohibited_beats_compatible() -> None:
    _cfg({"security.authentication": [ADS]}, prohibited={"security": ["marketing"]})
    assert not pt.allows(pt.tag("x", TWO_FACTOR), ADS)


def test_step1_prohibition_of_descendant_use_does_not_block_parent() -> None:
    _cfg({}, prohibited={"security": ["marketing.advertising"]})
    t = pt.tag("x", "security", "marketing")
    assert not pt.allows(t, ADS)
    assert pt.allows(t, "marketing.email")


def test_step3_compatible_ancestor_and_descendant_use() -> None:
    _cfg({"security.authentication": ["analytics.fraud_detection"]})
    assert pt.allows(pt.tag("x", TWO_FACTOR), "analytics.fraud_detection")
    assert pt.allows(pt.tag("x", TWO_FACTOR), "analytics.fraud_detection.scoring")
    assert pt.allows(pt.tag("x", "security.authentication"), "analytics.fraud_detection")
    # compatibility declared for a child does not apply to its parent purpose
    assert not pt.allows(pt.tag("x", "security"), "analytics.fraud_detection")
    # nor to a broader use, nor to a sibling
    assert not pt.allows(pt.tag("x", TWO_FACTOR), "analytics")
    assert not pt.allows(pt.tag("x", TWO_FACTOR), "analytics.fraud")
    assert not pt.allows(pt.tag("x", "security.authenticationx"), "analytics.fraud_detection")
    assert not pt.allows(pt.tag("x", TWO_FACTOR), ADS)


def test_every_tag_must_allow_combining_never_widens() -> None:
    email = pt.tag("ada@example.com", "marketing", category="user.contact.email")
    ph = pt.tag("+1 555 0100", TWO_FACTOR)
    combined = email + " " + ph
    assert pt.allows(email, "marketing.email")
    assert not pt.allows(combined, "marketing.email")
    assert not pt.allows(combined, TWO_FACTOR)
    assert pt.tags(combined) == pt.tags(email) | pt.tags(ph)
    assert not pt.allows([email, ph], "marketing")


def test_configure_policy_rejects_non_policy() -> None:
    with pytest.raises((pt.PolicyError, TypeError)):
        pt.configure(policy={"a": ["b"]})  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, 3, [1], [None]])
def test_policy_bad_value_shape_errors(value: Any) -> None:
    with pytest.raises(pt.PolicyError):
        pt.Policy({"security": value})
    with pytest.raises(pt.PolicyError):
        pt.Policy({}, prohibited={"security": value})


# ------------------------------------------------------------------- §1 consent


def test_consent_step4_and_immediate_withdrawal() -> None:
    state = {"u1": {"marketing"}}
    calls: list[str] = []

    def provider(subject: str) -> list[str]:
        calls.append(subject)
        return sorted(state.get(subject, set()))

    pt.configure(consent=provider)
    email = pt.tag("ada@example.com", RECOVERY, subject="u1")
    other = pt.tag("bob@example.com", RECOVERY, subject="u2")
    anon = pt.tag("eve@example.com", RECOVERY)
    assert pt.allows(email, ADS)
    assert upload_audience([email]) == "uploaded"
    assert "u1" in calls
    assert not pt.allows(other, ADS)
    assert not pt.allows(anon, ADS)
    with pytest.raises(pt.PurposeViolation):
        upload_audience([other])
    state["u1"] = set()  # withdrawal
    assert not pt.allows(email, ADS)
    with pytest.raises(pt.PurposeViolation):
        upload_audience([email])
    state["u1"] = {"marketing.email"}  # consent to a narrower purpose only
    assert not pt.allows(email, ADS)
    assert pt.allows(email, "marketing.email.weekly")


def test_consent_does_not_override_prohibition() -> None:
    pt.configure(
        consent=lambda s: ["marketing"],
        policy=pt.Policy({}, prohibited={"security": ["marketing"]}),
    )
    assert not pt.allows(pt.tag("x", TWO_FACTOR, subject="u1"), ADS)
    assert pt.allows(pt.tag("x", RECOVERY, subject="u1"), ADS)


def test_consent_provider_failure_denies_and_logs() -> None:
    def broken(subject: str) -> list[str]:
        raise RuntimeError("db down " + SECRET)

    pt.configure(consent=broken)
    email = pt.tag("ada@example.com", RECOVERY, subject="u1")
    with structlog.testing.capture_logs() as logs:
        assert not pt.allows(email, ADS)
        with pytest.raises(pt.PurposeViolation):
            upload_audience(email)
    assert any("error" in str(e.get("event")) for e in logs)
    assert pt.allows(email, RECOVERY)  # step 2 needs no provider


# ------------------------------------------------------------- §2 guard basics


def test_guard_enforce_raises_body_not_run_and_attributes() -> None:
    ran: list[int] = []

    @pt.guard(ADS)
    def upload(contacts: Any) -> None:
        ran.append(1)

    t = phone()
    with pytest.raises(pt.PurposeViolation) as ei:
        upload([t])
    assert ran == []
    exc = ei.value
    assert exc.sink == f"{upload.__module__}.{upload.__qualname__}"
    assert exc.use == ADS
    assert exc.argument == "args[0][0]"
    assert only_tag(t) in exc.tags
    msg = str(exc)
    assert exc.sink in msg and ADS in msg and "args[0][0]" in msg and TWO_FACTOR in msg
    no_raw(exc)
    no_raw(exc.args)


def test_guard_sink_name_for_module_level_function() -> None:
    with pytest.raises(pt.PurposeViolation) as ei:
        upload_audience(phone())
    assert ei.value.sink == f"{__name__}.upload_audience"
    assert ei.value.argument == "args[0]"


def test_guard_allows_clean_and_permitted() -> None:
    assert upload_audience(["plain", 1, None]) == "uploaded"
    assert upload_audience([pt.tag("x", "marketing")]) == "uploaded"


def test_guard_keeps_metadata() -> None:
    def f(a: int, b: str = "x", *, c: bytes = b"") -> str:
        """Doc of f."""
        return b

    g = pt.guard(ADS)(f)
    assert g.__name__ == "f"
    assert g.__doc__ == "Doc of f."
    assert g.__qualname__ == f.__qualname__
    assert inspect.signature(g) == inspect.signature(f)
    assert g(1) == "x"


@dataclasses.dataclass
class User:
    name: str
    phone: str


Contact = collections.namedtuple("Contact", ["name", "phone"])


class Slotted:
    __slots__ = ("phone",)

    def __init__(self, phone: str) -> None:
        self.phone = phone


class Plain:
    def __init__(self, phone: str) -> None:
        self.phone = phone


class Trap:
    """Scanning must read storage only: no property, no __getattr__, no __eq__."""

    def __init__(self, phone: str) -> None:
        self._phone = phone

    @property
    def phone(self) -> str:
        raise AssertionError("property called by scanner")

    def __getattr__(self, name: str) -> Any:
        raise AssertionError("__getattr__ called by scanner")

    def __eq__(self, other: object) -> bool:
        raise AssertionError("__eq__ called by scanner")

    def __hash__(self) -> int:
        raise AssertionError("__hash__ called by scanner")


@pytest.mark.parametrize(
    ("call", "path"),
    [
        (lambda t: upload_kw(user=User("n", t)), "kwargs['user'].phone"),
        (lambda t: upload_kw("a", ["x", "y", "z", t]), "args[1][3]"),
        (lambda t: upload_kw(Contact("n", t)), "args[0].phone"),
        (lambda t: upload_kw(Slotted(t)), "args[0].phone"),
        (lambda t: upload_kw(Plain(t)), "args[0].phone"),
        (
            lambda t: upload_kw(campaign={"owner": User("n", t)}),
            "kwargs['campaign']['owner'].phone",
        ),
        (lambda t: upload_kw((1, (2, t))), "args[0][1][1]"),
    ],
)
def test_scanner_paths(call: Any, path: str) -> None:
    with pytest.raises(pt.PurposeViolation) as ei:
        call(phone())
    assert ei.value.argument == path
    assert path in str(ei.value)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda t: {t},
        lambda t: frozenset({t}),
        lambda t: {t: "k"},
        lambda t: [[[[t]]]],
        lambda t: pt.tag(b"bytes", TWO_FACTOR),
        lambda t: pt.tag(7, TWO_FACTOR),
        lambda t: Trap(t),
        lambda t: pt.tag(User("n", "p"), TWO_FACTOR),
    ],
)
def test_scanner_finds_tagged_everywhere(wrap: Any) -> None:
    with pytest.raises(pt.PurposeViolation):
        upload_kw(wrap(phone()))


def test_scanner_cycles_terminate() -> None:
    cyc: list[Any] = []
    cyc.append(cyc)
    assert upload_kw(cyc) == "uploaded"
    cyc.append(phone())
    with pytest.raises(pt.PurposeViolation):
        upload_kw(cyc)
    d: dict[str, Any] = {}
    d["self"] = d
    assert upload_kw(d) == "uploaded"


def test_monitor_one_event_per_call_with_union() -> None:
    a = phone()
    b = pt.tag("ada@example.com", RECOVERY, category="user.contact.email")
    with pt.mode("monitor"), structlog.testing.capture_logs() as logs:
        assert upload_kw(a, b) == "uploaded"
    evs = events(logs, "purpose_violation")
    assert len(evs) == 1
    assert evs[0]["argument"] == "args[0]"
    assert TWO_FACTOR in evs[0]["purposes"] and RECOVERY in evs[0]["purposes"]


# --------------------------------------------------------- guard: method kinds


class Service:
    secret = pt.tag("class-secret", TWO_FACTOR)

    def __init__(self) -> None:
        self.token = pt.tag("instance-secret", TWO_FACTOR)

    @pt.guard(ADS)
    def method(self, x: Any) -> str:
        """Method doc."""
        return "m"

    @classmethod
    @pt.guard(ADS)
    def cm_inner(cls, x: Any) -> str:
        return "c"

    @pt.guard(ADS)
    @classmethod
    def cm_outer(cls, x: Any) -> str:
        return "c"

    @staticmethod
    @pt.guard(ADS)
    def sm_inner(x: Any) -> str:
        return "s"

    @pt.guard(ADS)
    @staticmethod
    def sm_outer(x: Any) -> str:
        return "s"


@pytest.mark.parametrize("name", ["method", "cm_inner", "cm_outer", "sm_inner", "sm_outer"])
def test_method_kinds(name: str) -> None:
    svc = Service()
    bound = getattr(svc, name)
    assert bound("clean") in "mcs"
    with pytest.raises(pt.PurposeViolation) as ei:
        bound(phone())
    assert ei.value.argument == "args[0]"
    if name != "method":
        cls_level = getattr(Service, name)
        assert cls_level("clean") in "cs"
        with pytest.raises(pt.PurposeViolation):
            cls_level(phone())


def test_method_via_class_with_explicit_self_not_scanned() -> None:
    svc = Service()
    assert Service.method(svc, "clean") == "m"
    assert Service.method.__doc__ == "Method doc."
    assert list(inspect.signature(Service.method).parameters) == ["self", "x"]


def test_async_function_guard() -> None:
    ran: list[int] = []

    @pt.guard(ADS)
    async def send(x: Any) -> str:
        ran.append(1)
        return "sent"

    assert inspect.iscoroutinefunction(send)
    assert asyncio.run(send("clean")) == "sent"
    with pytest.raises(pt.PurposeViolation):
        asyncio.run(send(phone()))
    assert ran == [1]
    with pt.mode("monitor"), structlog.testing.capture_logs() as logs:
        assert asyncio.run(send(phone())) == "sent"
    assert len(events(logs, "purpose_violation")) == 1


def test_generator_guard_checked_when_called() -> None:
    started: list[int] = []

    @pt.guard(ADS)
    def gen(x: Any) -> Any:
        started.append(1)
        yield x

    assert inspect.isgeneratorfunction(gen)
    assert list(gen("clean")) == ["clean"]
    with pytest.raises(pt.PurposeViolation):
        gen(phone())
    assert started == [1]


def test_async_generator_guard_checked_when_called() -> None:
    started: list[int] = []

    @pt.guard(ADS)
    async def agen(x: Any) -> Any:
        started.append(1)
        yield x

    async def collect(x: Any) -> list[Any]:
        return [i async for i in agen(x)]

    assert inspect.isasyncgenfunction(agen)
    assert asyncio.run(collect("clean")) == ["clean"]
    with pytest.raises(pt.PurposeViolation):
        agen(phone())
    assert started == [1]


# ------------------------------------------------------------ processing scope


def test_guard_without_use_uses_processing_scope() -> None:
    with pt.processing(ADS):
        with pytest.raises(pt.PurposeViolation) as ei:
            ambient(phone())
        assert ei.value.use == ADS
        with pt.processing(TWO_FACTOR):  # innermost wins
            assert ambient(phone()) == "ran"
        with pytest.raises(pt.PurposeViolation):
            ambient(phone())


def test_guard_without_use_and_without_scope_is_policy_error_at_call() -> None:
    @pt.guard()
    def f(x: Any) -> str:
        return "ran"

    with pytest.raises(pt.PolicyError):
        f("clean")


def test_processing_as_decorator() -> None:
    @pt.processing(ADS)
    def job(x: Any) -> str:
        return ambient(x)

    with pytest.raises(pt.PurposeViolation):
        job(phone())
    assert job("clean") == "ran"

    @pt.processing(ADS)
    async def ajob(x: Any) -> str:
        return ambient(x)

    with pytest.raises(pt.PurposeViolation):
        asyncio.run(ajob(phone()))


# ---------------------------------------------------------------- §2 modes


def _violation_outcome(fn: Any = upload_audience) -> str:
    """'raised', 'logged' or 'none' for a call with a security phone."""
    with structlog.testing.capture_logs() as logs:
        try:
            fn(phone())
        except pt.PurposeViolation:
            return "raised"
    return "logged" if events(logs, "purpose_violation") else "none"


@pt.guard(ADS, mode="monitor")
def guard_monitor(x: Any) -> str:
    return "ran"


@pt.guard(ADS, mode="enforce")
def guard_enforce(x: Any) -> str:
    return "ran"


@pt.guard(ADS, mode="off")
def guard_off(x: Any) -> str:
    return "ran"


def test_default_mode_is_enforce() -> None:
    assert _violation_outcome() == "raised"


def test_configure_mode() -> None:
    pt.configure(mode="monitor")
    assert _violation_outcome() == "logged"
    pt.configure(mode="off")
    assert _violation_outcome() == "none"
    pt.configure(mode="enforce")
    assert _violation_outcome() == "raised"


def test_guard_mode_beats_configure() -> None:
    pt.configure(mode="monitor")
    assert _violation_outcome(guard_enforce) == "raised"
    pt.configure(mode="enforce")
    assert _violation_outcome(guard_monitor) == "logged"
    assert _violation_outcome(guard_off) == "none"


def test_scope_beats_guard_mode() -> None:
    with pt.mode("enforce"):
        assert _violation_outcome(guard_monitor) == "raised"
    with pt.mode("monitor"):
        assert _violation_outcome(guard_enforce) == "logged"
    with pt.mode("off"):
        assert _violation_outcome(guard_enforce) == "none"
    pt.configure(mode="off")
    with pt.mode("enforce"):
        assert _violation_outcome() == "raised"


def test_mode_scopes_nest_and_restore() -> None:
    with pt.mode("monitor"):
        with pt.mode("enforce"):
            assert _violation_outcome() == "raised"
        assert _violation_outcome() == "logged"
    assert _violation_outcome() == "raised"


def test_mode_as_decorator_sync_and_async() -> None:
    @pt.mode("monitor")
    def job() -> str:
        return upload_audience(phone())

    assert job() == "uploaded"

    @pt.mode("monitor")
    async def ajob() -> str:
        return upload_audience(phone())

    assert asyncio.run(ajob()) == "uploaded"
    assert _violation_outcome() == "raised"


@pytest.mark.parametrize("bad", ["loud", "ENFORCE", "", None.__class__.__name__])
def test_invalid_mode_is_policy_error(bad: str) -> None:
    with pytest.raises(pt.PolicyError):
        pt.mode(bad)  # type: ignore[arg-type]
    with pytest.raises(pt.PolicyError):
        pt.guard(ADS, mode=bad)  # type: ignore[arg-type]
    with pytest.raises(pt.PolicyError):
        pt.configure(mode=bad)  # type: ignore[arg-type]


def test_off_scans_nothing() -> None:
    class Boom:
        def __getattribute__(self, name: str) -> Any:
            raise AssertionError("scanned in off mode")

    with pt.mode("off"), structlog.testing.capture_logs() as logs:
        assert upload_kw(Boom(), phone()) == "uploaded"
    assert logs == []


def test_fresh_thread_sees_process_settings_not_scope() -> None:
    out: list[str] = []
    with pt.mode("monitor"):
        th = threading.Thread(target=lambda: out.append(_violation_outcome()))
        th.start()
        th.join()
        assert _violation_outcome() == "logged"
    assert out == ["raised"]


def test_threads_concurrent_guards() -> None:
    results: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        for _ in range(20):
            r = _violation_outcome() if i % 2 else upload_audience("clean")
            with lock:
                results.append(r)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results.count("raised") == 80
    assert results.count("uploaded") == 80


def test_asyncio_tasks_have_independent_scopes() -> None:
    async def run(mode: str) -> list[str]:
        out = []
        with pt.mode(mode):
            for _ in range(3):
                await asyncio.sleep(0)
                out.append(_violation_outcome())
        return out

    async def main() -> list[list[str]]:
        return list(await asyncio.gather(run("monitor"), run("enforce"), run("off")))

    assert asyncio.run(main()) == [["logged"] * 3, ["raised"] * 3, ["none"] * 3]


def _run_py(code: str, env_mode: str | None) -> subprocess.CompletedProcess[str]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "PURPOSETAG_MODE"}
    if env_mode is not None:
        env["PURPOSETAG_MODE"] = env_mode
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


_SUBPROC_PRELUDE = """
import purposetag as pt, structlog
@pt.guard("marketing", mode="enforce")
def up(x): return "ran"
@pt.guard("marketing")
def up2(x): return "ran"
t = pt.tag("s", "security")
def outcome(fn):
    with structlog.testing.capture_logs() as logs:
        try:
            fn(t)
        except pt.PurposeViolation:
            return "raised"
    return "logged" if any(e["event"] == "purpose_violation" for e in logs) else "none"
"""


def test_kill_switch_env_off_wins_over_everything() -> None:
    code = (
        _SUBPROC_PRELUDE
        + """
pt.configure(mode="enforce")
with pt.mode("enforce"):
    r = [outcome(up), outcome(up2)]
    with structlog.testing.capture_logs() as logs:
        pt.check(t, "marketing")
    r.append(str(len([e for e in logs if e["event"] == "purpose_violation"])))
print(",".join(r))
"""
    )
    res = _run_py(code, "off")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "none,none,0"


def test_env_mode_below_configure_and_guard() -> None:
    code = (
        _SUBPROC_PRELUDE
        + """
r = [outcome(up2), outcome(up)]
pt.configure(mode="enforce")
r.append(outcome(up2))
print(",".join(r))
"""
    )
    res = _run_py(code, "monitor")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "logged,raised,raised"


def test_env_mode_invalid_does_not_break_host() -> None:
    res = _run_py(_SUBPROC_PRELUDE + "\nprint(outcome(up2))\n", "bogus")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "raised"


# ----------------------------------------------------------------- pt.check


def test_check_inline() -> None:
    t = phone()
    assert pt.check("clean", ADS) == "clean"
    with pytest.raises(pt.PurposeViolation) as ei:
        pt.check(t, ADS, sink="jobs.export")
    assert ei.value.sink == "jobs.export"
    assert ei.value.use == ADS
    no_raw(ei.value)
    with pt.mode("monitor"), structlog.testing.capture_logs() as logs:
        pt.check([t], ADS, sink="jobs.export")
    (ev,) = events(logs, "purpose_violation")
    assert ev["sink"] == "jobs.export"
    assert ev["action"] == "logged"
    assert pt.check(pt.tag("x", "marketing"), ADS) == "x"


# ---------------------------------------------------------------- pt.source


def test_source_sync_async_generator() -> None:
    @pt.source(TWO_FACTOR, category="user.contact.phone_number", source="db.users")
    def load() -> str:
        return "+1 555"

    v = load()
    tg = only_tag(v)
    assert tg.purposes == frozenset({TWO_FACTOR})
    assert tg.category == "user.contact.phone_number"
    assert tg.source == "db.users"

    @pt.source(TWO_FACTOR)
    async def aload() -> dict[str, str]:
        return {"phone": "+1"}

    d = asyncio.run(aload())
    assert pt.is_tagged(d["phone"])

    @pt.source(TWO_FACTOR)
    def many() -> Any:
        yield "a"
        yield "b"

    items = list(many())
    assert items == ["a", "b"]
    assert all(pt.is_tagged(i) for i in items)

    with pytest.raises(pt.PolicyError):
        pt.source("Bad Name")


def test_source_returning_none() -> None:
    @pt.source("p")
    def nothing() -> None:
        return None

    assert nothing() is None


# ------------------------------------------------------------- §4 events


def test_violation_event_schema_enforce_and_monitor() -> None:
    structlog.contextvars.bind_contextvars(request_id="req-123")
    try:
        with structlog.testing.capture_logs() as logs:
            with pytest.raises(pt.PurposeViolation):
                upload_audience([phone()])
            with pt.mode("monitor"):
                upload_audience([phone()])
    finally:
        structlog.contextvars.clear_contextvars()
    enf, mon = events(logs, "purpose_violation")
    for ev in (enf, mon):
        for key in (
            "sink",
            "use",
            "mode",
            "action",
            "argument",
            "purposes",
            "categories",
            "sources",
            "fingerprint",
        ):
            assert key in ev, key
        assert ev["sink"] == f"{__name__}.upload_audience"
        assert ev["use"] == ADS
        assert ev["argument"] == "args[0][0]"
        assert TWO_FACTOR in ev["purposes"]
        assert "user.contact.phone_number" in ev["categories"]
        assert "settings.two_factor" in ev["sources"]
        assert ev["request_id"] == "req-123"
        no_raw(ev)
    assert (enf["mode"], enf["action"], enf["log_level"]) == ("enforce", "raised", "error")
    assert (mon["mode"], mon["action"], mon["log_level"]) == ("monitor", "logged", "warning")
    assert enf["fingerprint"] == mon["fingerprint"]  # same value, same fingerprint


def test_fingerprint_differs_for_different_values() -> None:
    with pt.mode("monitor"), structlog.testing.capture_logs() as logs:
        upload_audience(pt.tag("value-one", TWO_FACTOR))
        upload_audience(pt.tag("value-two", TWO_FACTOR))
    a, b = events(logs, "purpose_violation")
    assert a["fingerprint"] != b["fingerprint"]
    assert "value-one" not in str(a) and "value-two" not in str(b)


def test_configured_logger_receives_events() -> None:
    seen: list[dict[str, Any]] = []

    def collect(logger: Any, method: str, event_dict: dict[str, Any]) -> Any:
        seen.append(dict(event_dict, _method=method))
        raise structlog.DropEvent

    custom = structlog.wrap_logger(structlog.PrintLogger(), processors=[collect])
    pt.configure(logger=custom, mode="monitor")
    upload_audience(phone())
    assert [e["event"] for e in seen] == ["purpose_violation"]
    assert seen[0]["_method"] == "warning"


def test_redact_tagged_processor() -> None:
    t = phone()
    ev = {
        "event": "user logged " + "x",
        "phone": t,
        "nested": {"list": [1, t], "tuple": (t,)},
        "obj": User("n", t),
        "clean": "keep me",
    }
    out = pt.redact_tagged(None, "info", ev)
    assert SECRET not in repr(out)
    assert out["clean"] == "keep me"
    assert out["event"] == "user logged x"
    assert out["phone"] != SECRET


def test_redact_tagged_processor_redacts_tagged_keys() -> None:
    ev = {"event": "x", phone(): "as key", "nested": {phone(): 1}}
    out = pt.redact_tagged(None, "info", ev)
    assert SECRET not in repr(out)


def test_redact_tagged_in_structlog_pipeline() -> None:
    lines: list[str] = []

    class Sink:
        def msg(self, message: str) -> None:
            lines.append(message)

        info = warning = error = msg

    log = structlog.wrap_logger(
        Sink(),
        processors=[pt.redact_tagged, structlog.processors.JSONRenderer()],
    )
    log.info("login", email=phone(), path=["a", phone()])
    assert lines and SECRET not in lines[0]


@settings(max_examples=40)
@given(st.text(min_size=1, max_size=30))
def test_no_raw_value_in_exceptions_or_events_hypothesis(raw: str) -> None:
    value = "Zq\u00a7" + raw + "#"
    t = pt.tag(value, TWO_FACTOR, category="user.contact.phone_number")
    with structlog.testing.capture_logs() as logs:
        try:
            upload_kw(user=User("n", t), extra=[t.upper()])
        except pt.PurposeViolation as exc:
            assert value not in str(exc) and value not in repr(exc)
            assert value not in repr(exc.args)
            assert value not in repr(exc.tags)
        else:
            raise AssertionError("no violation")
        with pt.mode("monitor"):
            pt.check({"k": t}, ADS)
        pt.declassify(t, "marketing", reason="r")
        pt.untag(t)
    assert len(logs) >= 4
    for ev in logs:
        assert value not in repr(ev)


# ----------------------------------------------- §3 propagation, no instrumentation


def mk(s: str = "secret", p: str = "p") -> pt.TaintedStr:
    return pt.tag(s, p)  # type: ignore[return-value]


def test_concat_both_orders_and_repeat() -> None:
    t = mk()
    tg = only_tag(t)
    assert char_tags("ab" + t) == [frozenset()] * 2 + [frozenset({tg})] * 6
    assert char_tags(t + "ab") == [frozenset({tg})] * 6 + [frozenset()] * 2
    for r in (t * 2, 2 * t):
        assert r == "secret" * 2
        assert tagged_idx(r) == list(range(12))
    assert (t * 0) == "" and not pt.is_tagged(t * 0)
    u = mk("u", "q")
    mixed = t + "-" + u
    assert tagged_idx(mixed) == [0, 1, 2, 3, 4, 5, 7]
    assert pt.tags(mixed[-1]) == pt.tags(u)
    assert_ranges_wellformed(mixed)


def test_slicing_indexing_iteration() -> None:
    s = "ab" + mk("cdef") + "gh"
    assert tagged_idx(s[::2]) == [1, 2]  # a c e g
    assert tagged_idx(s[::-1]) == [2, 3, 4, 5]
    assert pt.is_tagged(s[2]) and not pt.is_tagged(s[0])
    assert [pt.is_tagged(c) for c in s] == [False, False, True, True, True, True, False, False]
    assert pt.is_tagged(s[-3]) and not pt.is_tagged(s[-1])
    assert tagged_idx(s[1:4]) == [1, 2]


def test_split_partition_splitlines() -> None:
    s = "ab," + mk("cd") + ",ef"
    parts = s.split(",")
    assert parts == ["ab", "cd", "ef"]
    assert [pt.is_tagged(p) for p in parts] == [False, True, False]
    assert [pt.is_tagged(p) for p in s.rsplit(",", 1)] == [True, False]
    head, sep, tail = s.partition(",")
    assert not pt.is_tagged(head) and tagged_idx(tail) == [0, 1]
    lines = ("x\n" + mk("y\nz")).splitlines()
    assert [pt.is_tagged(line) for line in lines] == [False, True, True]
    whole = mk("a b").split()
    assert all(pt.is_tagged(w) for w in whole)


def test_encode_decode_ranges() -> None:
    s = "ab" + mk("cd")
    b = s.encode()
    assert isinstance(b, bytes) and b == b"abcd"
    assert tagged_idx(b) == [2, 3]
    back = b.decode()
    assert isinstance(back, str) and tagged_idx(back) == [2, 3]
    # non-ASCII: sound (the tagged characters' bytes carry the tag)
    n = "é" + mk("ü")
    nb = n.encode("utf-8")
    assert set(tagged_idx(nb)) >= {2, 3}
    assert pt.tags(nb) == pt.tags(n)
    nd = nb.decode("utf-8")
    assert 1 in tagged_idx(nd)
    assert pt.is_tagged(mk("ü").encode("utf-16"))
    assert pt.is_tagged(mk("x").encode("latin-1"))


def test_translate_and_case_changes_never_drop() -> None:
    t = mk("abc")
    assert tagged_idx(t.translate(str.maketrans("a", "z"))) == [0, 1, 2]
    wide = t.translate({ord("a"): "xyz"})
    assert wide == "xyzbc" and tagged_idx(wide) == list(range(5))
    up = ("x" + mk("ß")).upper()
    assert up == "XSS"
    assert {1, 2} <= set(tagged_idx(up))
    for op in ("upper", "lower", "title", "swapcase", "capitalize", "casefold"):
        r = getattr("ab" + mk("Cd"), op)()
        assert tagged_idx(r)[-2:] == [2, 3], op
        assert not pt.allows(r, "q"), op


def test_format_method_on_tagged_template() -> None:
    tpl = mk("<{}>")
    r = tpl.format("xy")
    assert r == "<xy>"
    assert tagged_idx(r) == [0, 3]
    r2 = mk("{a}-{b}").format_map({"a": "1", "b": "2"})
    assert tagged_idx(r2) == [1]


def test_join_with_tagged_separator() -> None:
    sep = mk("-")
    r = sep.join(["a", "b", "c"])
    assert r == "a-b-c" and tagged_idx(r) == [1, 3]
    item = mk("XY", "q")
    r2 = sep.join(["a", item])
    assert tagged_idx(r2) == [1, 2, 3]
    assert pt.tags(r2[2:]) == pt.tags(item)


def test_percent_template_and_single_arg() -> None:
    r = mk("id=%s;") % "42"
    assert r == "id=42;" and tagged_idx(r) == [0, 1, 2, 5]
    r2 = "x=%s!" % mk("ab")  # noqa: UP031
    assert r2 == "x=ab!" and tagged_idx(r2) == [2, 3]
    r3 = "[%5s]" % mk("ab")  # noqa: UP031
    assert r3 == "[   ab]" and tagged_idx(r3) == [4, 5]


def test_str_repr_format_fstring_single_field() -> None:
    t = mk("ab")
    assert type(str(t)) is pt.TaintedStr and pt.is_tagged(str(t))
    rp = repr(t)
    assert rp == "'ab'" and pt.is_tagged(rp)
    assert set(tagged_idx(rp)) >= {1, 2}
    f = format(t, ">4")
    assert f == "  ab" and tagged_idx(f) == [2, 3]
    assert pt.is_tagged(f"{t}")
    assert pt.is_tagged(f"{t:>4}")


def test_copy_deepcopy_pickle() -> None:
    s = "ab" + mk("cd") + "e"
    b = b"ab" + pt.tag(b"cd", "p")
    for x in (s, b):
        for y in (
            copy.copy(x),
            copy.deepcopy(x),
            *[
                pickle.loads(pickle.dumps(x, protocol=p))
                for p in range(pickle.HIGHEST_PROTOCOL + 1)
            ],
        ):
            assert y == x
            assert pt.ranges(y) == pt.ranges(x)
    v = pt.tag(5, "p")
    for y in (copy.copy(v), copy.deepcopy(v), pickle.loads(pickle.dumps(v))):
        assert y == 5 and pt.tags(y) == pt.tags(v)
    c = pt.tag({"k": ["x"]}, "p")
    assert pt.is_tagged(copy.deepcopy(c)["k"][0])


def test_str_methods_sweep_soundness() -> None:
    t = "  ab" + mk("Cd\tEf") + "gh  "
    cases = {
        "strip": t.strip(),
        "lstrip": t.lstrip(),
        "rstrip": t.rstrip(),
        "replace": t.replace("b", "B"),
        "center": t.center(30),
        "ljust": t.ljust(30),
        "rjust": t.rjust(30),
        "zfill": t.zfill(30),
        "expandtabs": t.expandtabs(4),
        "removeprefix": t.removeprefix("  a"),
        "removesuffix": t.removesuffix("h  "),
        "rpartition": t.rpartition("g")[0],
        "format_map": t.format_map({}),
    }
    for name, r in cases.items():
        assert not pt.allows(r, "q"), name
    assert tagged_idx(mk("ab").zfill(4)) == [2, 3]
    # replaced characters carry the tags of the replacement (plain here)
    assert tagged_idx(("xa" + mk("ab")).replace("a", "Z")) == [3]
    assert tagged_idx(("xa" + mk("ab")).replace("b", "YY")) == [2]
    assert pt.tags(mk("ab").replace("a", mk("Z", "q"))) == {
        only_tag(mk("x", "p")),
        only_tag(mk("x", "q")),
    }


def test_bytes_operations() -> None:
    b = pt.tag(b"cd,ef", "p")
    assert tagged_idx(b"ab" + b) == [2, 3, 4, 5, 6]
    assert tagged_idx(b + b"ab") == [0, 1, 2, 3, 4]
    assert tagged_idx(b * 2) == list(range(10))
    assert all(pt.is_tagged(p) for p in b.split(b","))
    assert pt.is_tagged(b[1:3]) and pt.is_tagged(b.upper()) and pt.is_tagged(b.strip())
    assert pt.is_tagged(b.hex())
    assert pt.is_tagged(b.replace(b"c", b"x"))
    assert pt.is_tagged(b[0])  # an int, tagged
    assert type(b.decode()) is pt.TaintedStr
    assert tagged_idx(pt.tag(b"-", "p").join([b"a", b"b"])) == [1]
    r = b"x=%s" % pt.tag(b"ab", "p")
    assert r == b"x=ab" and pt.is_tagged(r)


def test_tagged_value_proxy() -> None:
    v = pt.tag(40, "p")
    for r in (v + 2, 2 + v, v * 2, v - 1, -v):
        assert pt.is_tagged(r)
    assert v + 2 == 42
    assert type(v == 40) is bool and (v == 40) is True
    assert type(v < 41) is bool
    s = str(v)
    assert type(s) is pt.TaintedStr and s == "40" and pt.is_tagged(s)
    f = format(v, "05d")
    assert type(f) is pt.TaintedStr and f == "00040"
    assert type(repr(v)) is pt.TaintedStr
    fl = pt.tag(1.5, "p")
    assert isinstance(fl, float) and pt.is_tagged(fl * 2)
    user = pt.tag(User("n", "+1"), "p")
    assert isinstance(user, User)
    assert pt.is_tagged(user.phone)


# --------------------------------------------------------- §3 instrumentation


INSTR_SRC = """
import base64, csv, hashlib, hmac, html, io, json, re, string, textwrap
import urllib.parse


def fstring(a, b):
    return f"<{a}|{b!r}:{a:>5}>"

def fstring_prefix(d):
    return f"em:{d}"

def join_plain(items):
    return ", ".join(items)

def join_empty(items):
    return "".join(items)

def fmt(a, b):
    return "<{}-{}>".format(a, b)

def pct(a, b):
    return "%s %s" % (a, b)

def pct_dict(a):
    return "%(x)s!" % {"x": a}

def dumps(x):
    return json.dumps(x)

def loads(x):
    return json.loads(x)

def re_sub(x):
    return re.sub(r"\\s+", "", x)

def re_findall(x):
    return re.findall(r"[0-9]+", x)

def re_group(x):
    m = re.match(r"([a-z]+)@(\\w+)", x)
    return m.group(1), m.groups()

def re_split(x):
    return re.split(",", x)

def sha(x):
    return hashlib.sha256(x.encode()).hexdigest()

def sha_update(x):
    h = hashlib.sha256()
    h.update(b"salt")
    h.update(x)
    return h.digest(), h.copy().hexdigest()

def mac(x):
    return hmac.new(b"key", x, "sha256").hexdigest()

def b64(x):
    return base64.b64encode(x)

def b64d(x):
    return base64.b64decode(x)

def quote(x):
    return urllib.parse.quote(x)

def urlencode(x):
    return urllib.parse.urlencode({"email": x})

def escape(x):
    return html.escape(x)

def template(x):
    return string.Template("hi $name").substitute(name=x)

def wrap(x):
    return textwrap.fill(x, 5)

def stringio(x):
    buf = io.StringIO()
    buf.write("a,")
    buf.write(x)
    return buf.getvalue()

def csvrow(x):
    buf = io.StringIO()
    csv.writer(buf).writerow(["id", x])
    return buf.getvalue()

def normalize_and_hash(email):
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"em:{digest}"
"""


@pytest.fixture
def instrumented(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    names: list[str] = []

    def make(src: str, *, instrument: bool = True, sub: dict[str, str] | None = None) -> Any:
        name = "ptpkg_" + uuid.uuid4().hex[:10]
        names.append(name)
        pkg = tmp_path / name
        pkg.mkdir()
        (pkg / "__init__.py").write_text(textwrap.dedent(src), encoding="utf-8")
        for mod, body in (sub or {}).items():
            (pkg / f"{mod}.py").write_text(textwrap.dedent(body), encoding="utf-8")
        monkeypatch.syspath_prepend(str(tmp_path))
        if instrument:
            pt.instrument(name)
        return importlib.import_module(name)

    yield make
    pt.uninstrument()
    for mod in list(sys.modules):
        if any(mod == n or mod.startswith(n + ".") for n in names):
            del sys.modules[mod]


def test_instrument_fstring_join_format_percent(instrumented: Any) -> None:
    m = instrumented(INSTR_SRC)
    a = mk("ab")
    r = m.fstring(a, "z")
    assert r == "<ab|'z':   ab>"
    assert tagged_idx(r) == [1, 2, 11, 12]
    assert tagged_idx(m.fstring_prefix(mk("dd"))) == [3, 4]
    j = m.join_plain(["x", a])
    assert j == "x, ab" and tagged_idx(j) == [3, 4]
    assert tagged_idx(m.join_empty([a, "c"])) == [0, 1]
    f = m.fmt("x", a)
    assert f == "<x-ab>" and tagged_idx(f) == [3, 4]
    p = m.pct(a, "y")
    assert p == "ab y" and tagged_idx(p) == [0, 1]
    assert tagged_idx(m.pct_dict(a)) == [0, 1]


def test_instrument_untagged_results_unchanged(instrumented: Any) -> None:
    m = instrumented(INSTR_SRC)
    assert type(m.fstring("a", "b")) is str
    assert type(m.join_plain(["a", "b"])) is str
    assert type(m.fmt("a", "b")) is str
    assert type(m.pct("a", "b")) is str
    assert m.sha("a@b.c") == __import__("hashlib").sha256(b"a@b.c").hexdigest()
    with pytest.raises(TypeError):
        m.join_plain(["a", 1])
    with pytest.raises(TypeError):
        m.pct_dict(object.__new__(object)) + 1


def test_uninstrumented_package_untouched(instrumented: Any) -> None:
    m = instrumented(INSTR_SRC, instrument=False)
    r = m.fstring(mk("ab"), "z")
    assert r == "<ab|'z':   ab>"  # multi-part f-string: tags not tracked without the hook


@pytest.mark.parametrize(
    ("fn", "arg", "check"),
    [
        ("dumps", lambda: {"e": mk("ab")}, lambda r: "ab" in r),
        ("loads", lambda: mk('{"e": "ab"}'), lambda r: pt.is_tagged(r["e"])),
        ("re_sub", lambda: mk("a b c"), lambda r: r == "abc"),
        ("re_findall", lambda: "x" + mk("12") + "y34", lambda r: pt.is_tagged(r[0])),
        ("re_group", lambda: mk("ada@example"), lambda r: pt.is_tagged(r[0])),
        ("re_split", lambda: mk("a,b"), lambda r: all(pt.is_tagged(x) for x in r)),
        ("sha", lambda: mk("ada@example.com"), lambda r: len(r) == 64),
        ("sha_update", lambda: pt.tag(b"ada", "p"), lambda r: pt.is_tagged(r[1])),
        ("mac", lambda: pt.tag(b"ada", "p"), lambda r: len(r) == 64),
        ("b64", lambda: pt.tag(b"ada", "p"), lambda r: r == b"YWRh"),
        ("b64d", lambda: pt.tag(b"YWRh", "p"), lambda r: r == b"ada"),
        ("quote", lambda: mk("a b"), lambda r: r == "a%20b"),
        ("urlencode", lambda: mk("a@b"), lambda r: r == "email=a%40b"),
        ("escape", lambda: mk("<a>"), lambda r: r == "&lt;a&gt;"),
        ("template", lambda: mk("ada"), lambda r: r == "hi ada"),
        ("wrap", lambda: mk("aaaa bbbb"), lambda r: "\n" in r),
        ("stringio", lambda: mk("ada"), lambda r: r == "a,ada"),
        ("csvrow", lambda: mk("ada"), lambda r: "ada" in r),
    ],
)
def test_instrument_stdlib_propagation(instrumented: Any, fn: str, arg: Any, check: Any) -> None:
    m = instrumented(INSTR_SRC)
    value = arg()
    r = getattr(m, fn)(value)
    assert check(r)
    assert not pt.allows(r, "q"), f"{fn} dropped tags"


def test_instrument_stdlib_precision_where_promised(instrumented: Any) -> None:
    m = instrumented(INSTR_SRC)
    s = m.dumps({"k": "plain", "e": mk("ab")})
    idx = tagged_idx(s)
    assert s.index("ab") in idx
    assert s.index("plain") not in idx
    g = m.re_group(mk("ada") + "@example")
    assert pt.is_tagged(g[0])
    assert not pt.is_tagged(g[1][1])  # group from untagged characters


def test_uninstrument_removes_patches(instrumented: Any) -> None:
    import hashlib

    instrumented(INSTR_SRC)
    pt.uninstrument()
    d = hashlib.sha256(mk("ada").encode()).hexdigest()
    assert type(d) is str


def test_instrument_bad_package_name() -> None:
    with pytest.raises((pt.PolicyError, ValueError, TypeError)):
        pt.instrument("not a package name!")


# ------------------------------------------------------------ seed scenario


SEED_SRC = """
import hashlib
import purposetag as pt

ADS = "marketing.advertising.targeted"


def normalize_email(email):
    return email.strip().lower()


def hash_contact(value):
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@pt.guard(ADS)
def upload(audience):
    return len(audience)


def build_audience(users):
    out = []
    for u in users:
        out.append(f"em:{hash_contact(normalize_email(u['email']))}")
        out.append(f"ph:{hash_contact(u['phone'].replace(' ', ''))}")
    return out


def job(users):
    return upload(build_audience(users))
"""


def _seed_users() -> list[dict[str, str]]:
    return [
        {
            "phone": pt.tag(
                "+1 555 0100",
                TWO_FACTOR,
                category="user.contact.phone_number",
                source="settings.two_factor",
                subject="u1",
            ),
            "email": pt.tag(
                " Ada@Example.com ",
                RECOVERY,
                category="user.contact.email",
                source="settings.recovery",
                subject="u1",
            ),
        }
    ]


def test_seed_scenario_enforce_and_monitor(instrumented: Any) -> None:
    m = instrumented(SEED_SRC)
    users = _seed_users()
    audience = m.build_audience(users)
    key = audience[0]
    assert key.startswith("em:") and len(key) == 3 + 64
    assert tagged_idx(key) == list(range(3, 67))  # "em:" stays untagged
    assert {t.purposes for t in pt.tags(key)} == {frozenset({RECOVERY})}
    with pytest.raises(pt.PurposeViolation) as ei:
        m.job(users)
    exc = ei.value
    assert exc.use == ADS
    assert exc.argument == "args[0][0]"
    assert exc.sink.endswith(".upload")
    no_raw(exc, "ada@example.com")
    with pt.mode("monitor"), structlog.testing.capture_logs() as logs:
        assert m.job(users) == 2
    (ev,) = events(logs, "purpose_violation")
    assert ev["action"] == "logged"
    assert RECOVERY in ev["purposes"] and TWO_FACTOR in ev["purposes"]
    assert "user.contact.email" in ev["categories"]
    for e in logs:
        no_raw(e, "ada@example.com")
        no_raw(e, "555 0100")


def test_seed_scenario_with_consent(instrumented: Any) -> None:
    m = instrumented(SEED_SRC)
    pt.configure(consent=lambda s: ["marketing"] if s == "u1" else [])
    assert m.job(_seed_users()) == 2
    pt.configure(policy=pt.Policy({}, prohibited={"security": ["marketing"]}))
    with pytest.raises(pt.PurposeViolation) as ei:
        m.job(_seed_users())
    assert ei.value.argument == "args[0][1]"


def test_seed_phone_path_without_instrumentation() -> None:
    ph = _seed_users()[0]["phone"]
    normalized = "tel:" + ph.replace(" ", "")
    assert tagged_idx(normalized) == list(range(4, len(normalized)))
    with pytest.raises(pt.PurposeViolation):
        upload_audience([normalized])


# ---------------------------------------------------------- guard_function


MODULE_SRC = """
class Audience:
    def upload(self, contacts):
        return "uploaded"

def push(x):
    return "pushed"
"""


def _write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = "adsdk_" + uuid.uuid4().hex[:10]
    (tmp_path / f"{name}.py").write_text(MODULE_SRC, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_guard_function_before_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _write_module(tmp_path, monkeypatch)
    try:
        assert name not in sys.modules
        pt.guard_function(name, "Audience.upload", ADS)
        pt.guard_function(name, "push", ADS, mode="monitor")
        mod = importlib.import_module(name)
        aud = mod.Audience()
        assert aud.upload(["clean"]) == "uploaded"
        with pytest.raises(pt.PurposeViolation) as ei:
            aud.upload([phone()])
        assert ei.value.sink == f"{name}.Audience.upload"
        assert ei.value.argument == "args[0][0]"
        with structlog.testing.capture_logs() as logs:
            assert mod.push(phone()) == "pushed"
        assert len(events(logs, "purpose_violation")) == 1
    finally:
        sys.modules.pop(name, None)


def test_guard_function_after_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _write_module(tmp_path, monkeypatch)
    try:
        mod = importlib.import_module(name)
        pt.guard_function(name, "Audience.upload", ADS)
        pt.guard_function(name, "push", ADS)
        with pytest.raises(pt.PurposeViolation):
            mod.Audience().upload(phone())
        with pytest.raises(pt.PurposeViolation):
            mod.push(phone())
        assert mod.push("clean") == "pushed"
    finally:
        sys.modules.pop(name, None)


def test_guard_function_bad_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(pt.PolicyError):
        pt.guard_function("x_mod", "f", "Bad Use")
    name = _write_module(tmp_path, monkeypatch)
    try:
        # a missing target must never break the host's import
        pt.guard_function(name, "DoesNotExist.method", ADS)
        mod = importlib.import_module(name)
        assert mod.push("x") == "pushed"
    finally:
        sys.modules.pop(name, None)


# ---------------------------------------------------------------- config files


def test_load_policy_standalone_and_pyproject(tmp_path: Path) -> None:
    standalone = tmp_path / "policy.toml"
    standalone.write_text(
        '[compatible]\n"security.authentication" = ["security.fraud_detection"]\n'
        '[prohibited]\n"security" = ["marketing"]\n',
        encoding="utf-8",
    )
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "app"\n'
        '[tool.purposetag.compatible]\n"security.authentication" = ["security.fraud_detection"]\n'
        '[tool.purposetag.prohibited]\n"security" = ["marketing"]\n',
        encoding="utf-8",
    )
    for path in (standalone, str(pyproject)):
        policy = pt.load_policy(path)
        assert isinstance(policy, pt.Policy)
        pt.configure(policy=policy)
        assert pt.allows(pt.tag("x", TWO_FACTOR), "security.fraud_detection.login")
        assert not pt.allows(pt.tag("x", TWO_FACTOR, "marketing"), ADS)
        pt.configure(policy=pt.Policy({}))
        assert not pt.allows(pt.tag("x", TWO_FACTOR), "security.fraud_detection")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('[compatable]\n"a" = ["b"]\n', "compatable"),
        ('[compatible]\n"Bad.Name" = ["b"]\n', "Bad.Name"),
        ('[prohibited]\n"a" = ["Nope!"]\n', "Nope!"),
        ("[compatible\nbroken", None),
    ],
)
def test_load_policy_errors_name_file_and_key(
    tmp_path: Path, content: str, needle: str | None
) -> None:
    path = tmp_path / "mypolicy.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(pt.PolicyError) as ei:
        pt.load_policy(path)
    msg = str(ei.value)
    assert "mypolicy.toml" in msg
    if needle:
        assert needle in msg


def test_load_policy_missing_file(tmp_path: Path) -> None:
    with pytest.raises(pt.PolicyError) as ei:
        pt.load_policy(tmp_path / "nope.toml")
    assert "nope.toml" in str(ei.value)
    with pytest.raises(pt.PolicyError) as ei:
        pt.load_config(tmp_path / "nope.toml")
    assert "nope.toml" in str(ei.value)


def test_load_config_applies_policy_mode_and_sinks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _write_module(tmp_path, monkeypatch)
    cfg = tmp_path / "pyproject.toml"
    cfg.write_text(
        textwrap.dedent(
            f"""
            [tool.purposetag]
            mode = "monitor"

            [tool.purposetag.compatible]
            "security.authentication" = ["security.fraud_detection"]

            [tool.purposetag.prohibited]
            "security" = ["marketing"]

            [[tool.purposetag.sinks]]
            module = "{name}"
            function = "Audience.upload"
            use = "{ADS}"
            mode = "enforce"

            [[tool.purposetag.sinks]]
            module = "{name}"
            function = "push"
            use = "{ADS}"
            """
        ),
        encoding="utf-8",
    )
    try:
        pt.load_config(cfg)
        assert pt.allows(pt.tag("x", TWO_FACTOR), "security.fraud_detection")
        assert not pt.allows(pt.tag("x", TWO_FACTOR, "marketing"), ADS)
        assert _violation_outcome() == "logged"  # mode from the file
        mod = importlib.import_module(name)
        with pytest.raises(pt.PurposeViolation):  # sink's own mode beats file mode
            mod.Audience().upload(phone())
        with structlog.testing.capture_logs() as logs:
            assert mod.push(phone()) == "pushed"
        assert len(events(logs, "purpose_violation")) == 1
        with pt.mode("monitor"):
            assert mod.Audience().upload(phone()) == "uploaded"  # scope beats sink mode
    finally:
        sys.modules.pop(name, None)


@pytest.mark.parametrize(
    ("sink", "needle"),
    [
        ('module = "m"\nfunction = "f"\n', "use"),
        ('module = "m"\nfunction = "f"\nuse = "Bad Use"\n', "Bad Use"),
        ('module = "m"\nfunction = "f"\nuse = "a"\nmode = "loud"\n', "loud"),
        ('module = "m"\nfunction = "f"\nuse = "a"\ncolour = "red"\n', "colour"),
    ],
)
def test_load_config_bad_sinks(tmp_path: Path, sink: str, needle: str) -> None:
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("[[sinks]]\n" + sink, encoding="utf-8")
    with pytest.raises(pt.PolicyError) as ei:
        pt.load_config(cfg)
    assert "cfg.toml" in str(ei.value)
    assert needle in str(ei.value)


def test_load_config_bad_mode_changes_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('mode = "loud"\n[prohibited]\n"security" = ["marketing"]\n', encoding="utf-8")
    with pytest.raises(pt.PolicyError) as ei:
        pt.load_config(cfg)
    assert "loud" in str(ei.value)
    assert pt.allows(pt.tag("x", "security", "marketing"), "marketing")
    assert _violation_outcome() == "raised"


# --------------------------------------------------------------- integrations


def test_strategies_generate_valid_values() -> None:
    import re

    from purposetag import strategies as pst

    grammar = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")

    @settings(max_examples=25)
    @given(pst.purposes(), pst.tagged_text(["marketing.email"]), pst.mixed_text(["a.b"]))
    def inner(p: str, t: str, m: str) -> None:
        assert grammar.fullmatch(p)
        assert pt.is_tagged(t)
        assert not pt.allows(t, "security")
        assert pt.allows(t, "marketing.email")
        assert isinstance(m, str)
        assert_ranges_wellformed(m)

    inner()


def test_wsgi_middleware_scope_and_request_id() -> None:
    from purposetag.middleware import WSGIMiddleware

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        ambient(phone())
        start_response("200 OK", [])
        return [b"ok"]

    wrapped = WSGIMiddleware(app, mode="monitor", use=ADS)
    with structlog.testing.capture_logs() as logs:
        body = list(
            wrapped(
                {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "HTTP_X_REQUEST_ID": "rid-9"},
                lambda status, headers: None,
            )
        )
    assert body == [b"ok"]
    (ev,) = events(logs, "purpose_violation")
    assert ev["use"] == ADS and ev["request_id"] == "rid-9"
    assert _violation_outcome() == "raised"  # scope did not leak


def test_asgi_middleware_scope() -> None:
    from purposetag.middleware import ASGIMiddleware

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        ambient(phone())
        await send({"type": "http.response.start", "status": 200})

    sent: list[Any] = []

    async def send(msg: Any) -> None:
        sent.append(msg)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    wrapped = ASGIMiddleware(app, use=ADS)
    with pytest.raises(pt.PurposeViolation):
        asyncio.run(
            wrapped({"type": "http", "method": "GET", "path": "/", "headers": []}, receive, send)
        )
    wrapped = ASGIMiddleware(app, mode="monitor", use=ADS)
    with structlog.testing.capture_logs() as logs:
        asyncio.run(
            wrapped({"type": "http", "method": "GET", "path": "/", "headers": []}, receive, send)
        )
    assert len(events(logs, "purpose_violation")) == 1
    with pytest.raises(pt.PolicyError):
        ASGIMiddleware(app, mode="loud")


def test_pytest_plugin_marker_option_and_fixture(tmp_path: Path) -> None:
    test_file = tmp_path / "test_inner.py"
    test_file.write_text(
        textwrap.dedent(
            """
            import pytest
            import purposetag as pt

            @pt.guard()
            def use_it(x):
                return "ran"

            @pytest.mark.purposetag(mode="monitor", use="marketing")
            def test_marker(purposetag_events):
                assert use_it(pt.tag("x", "security")) == "ran"
                assert [e["event"] for e in purposetag_events] == ["purpose_violation"]

            def test_session_mode_is_monitor():
                @pt.guard("marketing")
                def f(x):
                    return "ran"
                assert f(pt.tag("x", "security")) == "ran"
            """
        ),
        encoding="utf-8",
    )
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--purposetag-mode=monitor",
            str(test_file),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--purposetag-mode=loud", str(test_file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert bad.returncode != 0


# ------------------------------------------------------------- adversarial extras


def test_tag_identity_survives_pickle_and_deepcopy() -> None:
    t = phone()
    tg = only_tag(t)
    assert copy.deepcopy(tg) is tg
    assert copy.copy(tg) is tg
    assert pickle.loads(pickle.dumps(tg)) is tg
    assert only_tag(pickle.loads(pickle.dumps(t))) is tg
    assert only_tag(copy.deepcopy(t)) is tg


def test_tainted_str_equality_hash_ordering_like_plain() -> None:
    t = mk("abc")
    assert t == "abc" and hash(t) == hash("abc")
    assert {"abc": 1}[t] == 1
    assert t < "abd" and not (t > "abd")
    assert type(t == "abc") is bool
    assert "b" in t and t.find("c") == 2 and len(t) == 3


def test_str_methods_reject_bad_arguments_like_plain() -> None:
    t = mk("abc")
    for call in (
        lambda s: s + 1,
        lambda s: s.split(1),
        lambda s: s.replace(1, "x"),
        lambda s: s.join([1]),
        lambda s: s * "x",
        lambda s: s.center("x"),
    ):
        with pytest.raises(TypeError):
            call("abc")
        with pytest.raises(TypeError):
            call(t)


def test_more_exact_ranges() -> None:
    assert tagged_idx(mk("ab").center(6)) == [2, 3]
    assert tagged_idx(mk("-12").zfill(5)) == [0, 3, 4]
    assert tagged_idx(("a\t" + mk("b")).expandtabs(4)) == [4]
    assert tagged_idx(("x" + mk("yz")).removeprefix("x")) == [0, 1]
    assert tagged_idx(("  " + mk("ab") + "  ").strip()) == [0, 1]
    lines = ("a\n" + mk("b\n")).splitlines(keepends=True)
    assert [tagged_idx(x) for x in lines] == [[], [0, 1]]
    r = mk("%s-%s") % ("a", "b")
    assert r == "a-b" and tagged_idx(r) == [1]
    r = mk("%(a)s!") % {"a": "xy"}
    assert r == "xy!" and tagged_idx(r) == [2]


def test_format_tagged_template_with_tagged_argument_keeps_both() -> None:
    tpl = mk("<{}>", "p")
    arg = mk("AB", "q")
    r = tpl.format(arg)
    assert r == "<AB>"
    assert char_tags(r)[1] == pt.tags(arg)
    assert char_tags(r)[0] == pt.tags(tpl)
    r2 = mk("{0:>4}", "p").format(arg)
    assert pt.tags(arg) <= pt.tags(r2)


def test_bytes_non_ascii_decode_and_iteration() -> None:
    b = b"\xc3\xa9" + pt.tag("ü".encode(), "p")
    s = b.decode("utf-8")
    assert s == "éü" and 1 in tagged_idx(s)
    ints = list(pt.tag(b"ab", "p"))
    assert ints == [97, 98] and all(pt.is_tagged(i) for i in ints)


def test_tag_bytes_and_container_on_already_tagged() -> None:
    b = pt.tag(pt.tag(b"x", "a"), "b")
    assert len(pt.tags(b)) == 2
    lst = pt.tag(pt.tag(["x"], "a"), "b")
    assert len(pt.tags(lst[0])) == 2


def test_tag_namedtuple_and_dataclass() -> None:
    c = pt.tag(Contact("n", "555"), "p")
    assert isinstance(c, Contact)
    assert not pt.allows(c, "q")
    u = pt.tag(User("n", "555"), "p")
    assert isinstance(u, User)
    assert not pt.allows(u, "q")
    with pytest.raises(pt.PurposeViolation):
        upload_kw(c)


def test_declassify_partial_string_keeps_plain_parts_plain() -> None:
    s = "id:" + phone()
    d = pt.declassify(s, "marketing", reason="consent recorded")
    assert tagged_idx(d) == tagged_idx(s)
    assert pt.allows(d, ADS)
    assert not pt.is_tagged(d[:3])
    assert not pt.allows(s, ADS)


def test_declassify_then_tagging_again_is_still_narrowing() -> None:
    d = pt.declassify(phone(), "marketing", reason="ok")
    d2 = pt.tag(d, "analytics")
    assert not pt.allows(d2, ADS)


def test_guard_does_not_consume_iterators_or_generators() -> None:
    @pt.guard(ADS)
    def consume(it: Any) -> list[Any]:
        return list(it)

    assert consume(iter([1, 2, 3])) == [1, 2, 3]
    assert consume(x for x in "ab") == ["a", "b"]


def test_guard_scans_kwargs_and_defaults_are_not_args() -> None:
    default = pt.tag("d", TWO_FACTOR)

    @pt.guard(ADS)
    def f(a: Any, b: Any = default) -> str:
        return "ran"

    assert f("x") == "ran"  # a default value is the function's own, not an argument
    with pytest.raises(pt.PurposeViolation) as ei:
        f("x", b=phone())
    assert ei.value.argument == "kwargs['b']"


def test_scan_depth_limit_is_never_a_silent_pass() -> None:
    deep: Any = phone()
    for _ in range(500):
        deep = [deep]
    with structlog.testing.capture_logs() as logs:
        try:
            upload_kw(deep)
        except pt.PurposeTagError:
            return
    assert any(e["event"] == "purpose_scan_truncated" for e in logs)


def test_scan_items_limit_is_never_a_silent_pass() -> None:
    big: list[Any] = ["x"] * 300_000
    big.append(phone())
    with structlog.testing.capture_logs() as logs:
        try:
            upload_kw(big)
        except pt.PurposeTagError:
            return
    assert any(e["event"] == "purpose_scan_truncated" for e in logs)


def test_consent_mixed_tags_all_must_allow() -> None:
    pt.configure(consent=lambda s: ["marketing"] if s == "u1" else [])
    a = pt.tag("a", RECOVERY, subject="u1")
    b = pt.tag("b", RECOVERY, subject="u2")
    assert pt.allows(a, ADS)
    assert not pt.allows(a + b, ADS)
    assert not pt.allows([a, b], ADS)


@pytest.mark.parametrize("answer", [None, 5, ["Not A Purpose"]])
def test_consent_provider_bad_answer_denies(answer: Any) -> None:
    pt.configure(consent=lambda s: answer)
    assert not pt.allows(pt.tag("a", RECOVERY, subject="u1"), ADS)


def test_consent_not_asked_for_untagged_or_allowed_by_purpose() -> None:
    calls: list[str] = []
    pt.configure(consent=lambda s: calls.append(s) or [])
    assert upload_audience("plain") == "uploaded"
    assert pt.allows(pt.tag("a", "marketing", subject="u1"), ADS)
    assert calls == []


def test_tags_travel_through_threads_and_tasks() -> None:
    import queue

    q: queue.Queue[str] = queue.Queue()
    th = threading.Thread(target=lambda: q.put("x:" + phone()))
    th.start()
    th.join()
    got = q.get()
    assert tagged_idx(got) == list(range(2, 2 + len(SECRET)))

    async def produce() -> str:
        await asyncio.sleep(0)
        return phone()[2:]

    assert pt.is_tagged(asyncio.run(produce()))


def test_violation_message_for_guard_policy_error_names_input() -> None:
    with pytest.raises(pt.PolicyError) as ei:
        pt.guard("Marketing.Ads")
    assert "Marketing.Ads" in str(ei.value)
    with pytest.raises(pt.PolicyError) as ei:
        pt.configure(mode="loud")  # type: ignore[arg-type]
    assert "loud" in str(ei.value)


def test_fingerprint_is_keyed_not_plain_sha256() -> None:
    import hashlib

    with pt.mode("monitor"), structlog.testing.capture_logs() as logs:
        upload_audience(phone())
    fp = str(events(logs, "purpose_violation")[0]["fingerprint"])
    assert fp
    for algo in (hashlib.sha256, hashlib.md5, hashlib.sha1):
        assert fp not in algo(SECRET.encode()).hexdigest()


def test_processing_scope_isolated_between_tasks() -> None:
    async def run(use: str | None) -> str:
        if use is None:
            await asyncio.sleep(0)
            try:
                ambient("clean")
            except pt.PolicyError:
                return "no-scope"
            return "scope-leaked"
        with pt.processing(use):
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            return _violation_outcome(ambient)

    async def main() -> list[str]:
        return list(await asyncio.gather(run(ADS), run(None), run(TWO_FACTOR)))

    assert asyncio.run(main()) == ["raised", "no-scope", "none"]


# ------------------------------------------------------ instrumentation extras


EDGE_SRC = """
from __future__ import annotations
import functools
import hashlib, hmac, base64, binascii, html, io, json, re, csv, string, textwrap
import urllib.parse


def deco(fn):
    @functools.wraps(fn)
    def inner(*a, **k):
        return fn(*a, **k)
    return inner


@deco
def debug(x):
    return f"{x=}"

def conv(x):
    return f"[{x!s}|{x!a}]"

def nested_spec(x, w):
    return f"<{x:>{w}}>"

def nested_fstring(x):
    return f"a{f'b{x}c'}d"

def walrus(x):
    return f"{(y := x)}-{y}"

def lam(x):
    return (lambda v: f"L{v}")(x)

async def coro(x):
    return f"async:{x}"

def gen(xs):
    for x in xs:
        yield f"g:{x}"

def once(it):
    return f"{next(it)}-{next(it)}"

def join_gen(xs):
    return "-".join(x for x in xs)

def aug(x):
    s = "%s!"
    s %= x
    return s

def fmt_map(x):
    return "<{a}>".format_map({"a": x})

def fmt_err():
    return "{}{}".format("a")

def pct_err():
    return "%d %d" % ("a", "b")

def fstr_err():
    return f"a{1 // 0}"

def dumps_proxy(v):
    return json.dumps({"n": v})

def dump_io(x):
    buf = io.StringIO()
    json.dump({"e": x}, buf)
    return buf.getvalue()

def finditer(x):
    return [m.group(0) for m in re.finditer(r"[0-9]+", x)]

def compiled(x):
    p = re.compile(r"[0-9]+")
    return p.findall(x), p.sub("#", x), p.search(x).group(0)

def subn(x):
    return re.subn("a", "b", x)[0]

def groupdict(x):
    return re.match(r"(?P<u>[a-z]+)@", x).groupdict()["u"]

def hash_new(x):
    return hashlib.new("sha256", x).hexdigest()

def md5(x):
    return hashlib.md5(x).digest()

def hmac_digest(x):
    return hmac.digest(b"k", x, "sha256")

def b_all(x):
    return [base64.urlsafe_b64encode(x), base64.b32encode(x), base64.b16encode(x),
            base64.b85encode(x), binascii.hexlify(x)]

def url_all(x):
    return [urllib.parse.quote_plus(x), urllib.parse.unquote(x),
            urllib.parse.parse_qs("e=" + x)["e"][0], urllib.parse.parse_qsl("e=" + x)[0][1],
            urllib.parse.urlsplit("https://h/" + x).path, urllib.parse.urljoin("https://h/", x)]

def unescape(x):
    return html.unescape(x)

def safe_sub(x):
    return string.Template("$a $b").safe_substitute(a=x)

def text_all(x):
    return [textwrap.wrap(x, 4)[0], textwrap.shorten(x, 8), textwrap.dedent(x),
            textwrap.indent(x, "> ")]

def bytesio(x):
    b = io.BytesIO()
    b.write(x)
    return b.getvalue()

def stringio_read(x):
    return io.StringIO(x).read()

def dictwriter(x):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["e"])
    w.writerow({"e": x})
    return buf.getvalue()
"""


def _instr(instrumented: Any) -> Any:
    return instrumented(EDGE_SRC)


def test_instrument_fstring_edge_forms(instrumented: Any) -> None:
    m = _instr(instrumented)
    t = mk("ab")
    r = m.debug(t)
    assert r == "x='ab'" and pt.is_tagged(r) and not pt.is_tagged(r[:2])
    r = m.conv(t)
    assert r == "[ab|'ab']" and {1, 2} <= set(tagged_idx(r))
    r = m.nested_spec(t, 4)
    assert r == "<  ab>" and tagged_idx(r) == [3, 4]
    r = m.nested_fstring(t)
    assert r == "abab" + "cd" and tagged_idx(r) == [2, 3]
    r = m.walrus(t)
    assert r == "ab-ab" and tagged_idx(r) == [0, 1, 3, 4]
    assert tagged_idx(m.lam(t)) == [1, 2]
    assert tagged_idx(asyncio.run(m.coro(t))) == [6, 7]
    assert [tagged_idx(g) for g in m.gen([t, "z"])] == [[2, 3], []]


def test_instrument_single_evaluation_and_order(instrumented: Any) -> None:
    m = _instr(instrumented)
    assert m.once(iter(["a", mk("b")])) == "a-b"
    r = m.join_gen([mk("a"), "b"])
    assert r == "a-b" and tagged_idx(r) == [0]
    r = m.aug(mk("x"))
    assert r == "x!" and tagged_idx(r) == [0]
    assert tagged_idx(m.fmt_map(mk("x"))) == [1]


def test_instrument_same_exceptions(instrumented: Any) -> None:
    m = _instr(instrumented)
    with pytest.raises(IndexError):
        m.fmt_err()
    with pytest.raises(TypeError):
        m.pct_err()
    with pytest.raises(ZeroDivisionError):
        m.fstr_err()


def test_instrument_json_dump_io(instrumented: Any) -> None:
    m = _instr(instrumented)
    r = m.dump_io(mk("ab"))
    assert r == '{"e": "ab"}' and not pt.allows(r, "q")


def test_instrument_json_with_proxied_number_does_not_crash(instrumented: Any) -> None:
    import json

    m = _instr(instrumented)
    r = m.dumps_proxy(pt.tag(42, "p"))
    assert r == '{"n": 42}'
    assert not pt.allows(r, "q")
    r = json.dumps(pt.tag({"n": 42, "e": "x"}, "p"))
    assert r == '{"n": 42, "e": "x"}' and not pt.allows(r, "q")


@pytest.mark.parametrize(
    ("fn", "arg"),
    [
        ("finditer", lambda: "x" + mk("12")),
        ("compiled", lambda: "x" + mk("12")),
        ("subn", lambda: mk("aaa")),
        ("groupdict", lambda: mk("ada@x")),
        ("hash_new", lambda: pt.tag(b"ada", "p")),
        ("md5", lambda: pt.tag(b"ada", "p")),
        ("hmac_digest", lambda: pt.tag(b"ada", "p")),
        ("b_all", lambda: pt.tag(b"ada", "p")),
        ("url_all", lambda: mk("a%20b")),
        ("unescape", lambda: mk("&lt;a")),
        ("safe_sub", lambda: mk("ada")),
        ("text_all", lambda: mk("aaaa bbbb cccc")),
        ("bytesio", lambda: pt.tag(b"ada", "p")),
        ("dictwriter", lambda: mk("ada")),
    ],
)
def test_instrument_more_stdlib(instrumented: Any, fn: str, arg: Any) -> None:
    m = _instr(instrumented)
    r = getattr(m, fn)(arg())
    items = list(r) if isinstance(r, list | tuple) else [r]
    for i, item in enumerate(items):
        assert not pt.allows(item, "q"), f"{fn}[{i}] dropped tags"


def test_instrument_stringio_initial_value(instrumented: Any) -> None:
    m = _instr(instrumented)
    assert not pt.allows(m.stringio_read(mk("ada")), "q")
    import io

    assert not pt.allows(io.BytesIO(pt.tag(b"ada", "p")).read(), "q")


def test_instrument_does_not_poison_pycache(instrumented: Any, tmp_path: Path) -> None:
    m = instrumented(INSTR_SRC)
    name = m.__name__
    assert pt.is_tagged(m.fstring(mk("ab"), "z"))
    pt.uninstrument()
    del sys.modules[name]
    importlib.invalidate_caches()
    plain = importlib.import_module(name)
    r = plain.fstring(mk("ab"), "z")
    assert type(r) is str  # not rewritten any more, and no stale rewritten .pyc used


def test_instrument_encoding_namespace_zip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import zipfile

    name = "ptenc_" + uuid.uuid4().hex[:8]
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_bytes(
        b"# -*- coding: latin-1 -*-\ndef f(x):\n    return f'\xe9:{x}'\n"
    )
    ns = pkg / "nsub"  # namespace subpackage: no __init__.py
    ns.mkdir()
    (ns / "mod.py").write_text("def g(x):\n    return f'n:{x}'\n", encoding="utf-8")
    zname = "ptzip_" + uuid.uuid4().hex[:8]
    zpath = tmp_path / "lib.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr(f"{zname}/__init__.py", "def h(x):\n    return f'z:{x}'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(zpath))
    try:
        pt.instrument(name, zname)
        enc = importlib.import_module(name)
        r = enc.f(mk("ab"))
        assert r == "é:ab" and tagged_idx(r) == [2, 3]
        sub = importlib.import_module(f"{name}.nsub.mod")
        assert tagged_idx(sub.g(mk("ab"))) == [2, 3]
        z = importlib.import_module(zname)
        assert tagged_idx(z.h(mk("ab"))) == [2, 3]
    finally:
        pt.uninstrument()
        for mod in list(sys.modules):
            if mod.startswith((name, zname)):
                del sys.modules[mod]


def test_instrument_already_imported_module_is_reported(instrumented: Any) -> None:
    m = instrumented(INSTR_SRC, instrument=False)
    pt.uninstrument()
    with structlog.testing.capture_logs() as logs:
        pt.instrument(m.__name__)
    assert any(m.__name__ in repr(e) for e in logs)


def test_instrument_is_idempotent(instrumented: Any) -> None:
    import hashlib

    m = instrumented(INSTR_SRC)
    pt.instrument(m.__name__)
    d = hashlib.sha256(pt.tag(b"x", "p")).hexdigest()
    assert d == hashlib.sha256(b"x").hexdigest()
    assert only_tag(d).purposes == frozenset({"p"})


def test_guard_scans_tagged_keyword_names() -> None:
    @pt.guard(ADS)
    def f(**kw: Any) -> str:
        return "ran"

    with pytest.raises(pt.PurposeViolation):
        f(**{phone(): 1})


def test_guard_scans_tagged_dict_keys_without_leaking_them() -> None:
    with pytest.raises(pt.PurposeViolation) as ei:
        upload_kw(d={phone(): 1})
    no_raw(ei.value)
    assert ei.value.argument.startswith(("kwargs['d']", "list(kwargs['d'])"))


def test_percent_precision_with_padding_is_exact() -> None:
    t = mk("ab")
    assert tagged_idx(format(t, ">5.1")) == [4]
    r = "%5.1s" % t  # noqa: UP031
    assert r == "    a" and tagged_idx(r) == [4]
    r = "%-5.1s" % t  # noqa: UP031
    assert r == "a    " and tagged_idx(r) == [0]


def test_single_field_fstring_conversions() -> None:
    t = mk("ab")
    assert tagged_idx(f"{t!r}") == [1, 2]
    assert tagged_idx(f"{t!s}") == [0, 1]
    assert tagged_idx("%r" % t) == [1, 2]  # noqa: UP031


def test_guard_on_dunder_call_and_generator_method() -> None:
    class C:
        @pt.guard(ADS)
        def __call__(self, x: Any) -> str:
            return "ran"

        @pt.guard(ADS)
        def gen(self, x: Any) -> Any:
            yield x

    with pytest.raises(pt.PurposeViolation):
        C()(phone())
    with pytest.raises(pt.PurposeViolation):
        C().gen(phone())
    assert C()("clean") == "ran"
