"""Structured events: schema, context merging, fingerprints, and no raw value anywhere."""

from __future__ import annotations

import json
from typing import Any

import pytest
import structlog
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

import purposetag as pt
from purposetag import _events

ADS = "marketing.advertising"
P = "security.authentication.two_factor"

VIOLATION_KEYS = {
    "event", "log_level", "sink", "use", "mode", "action", "argument",
    "purposes", "categories", "sources", "fingerprint",
}  # fmt: skip


@pt.guard(ADS)
def upload(contact: Any, **kwargs: Any) -> str:
    return "ok"


def test_violation_event_schema() -> None:
    with capture_logs() as logs, pt.mode("monitor"):
        upload(pt.tag("555", P, category="user.contact.phone_number", source="settings"))
    (e,) = logs
    assert set(e) == VIOLATION_KEYS


def test_application_context_is_merged() -> None:
    structlog.contextvars.bind_contextvars(request_id="req-42")
    with capture_logs() as logs, pytest.raises(pt.PurposeViolation):
        upload(pt.tag("555", P))
    assert logs[0]["request_id"] == "req-42"
    assert logs[0]["event"] == "purpose_violation"


def test_untag_and_declassify_events() -> None:
    value = pt.tag("+1-555-0199", P, category="user.contact.phone_number")
    with capture_logs() as logs:
        pt.untag(value)
        pt.declassify(value, "marketing.email", reason="opted in 2026-01-05")
    untagged, declassified = logs
    assert untagged["event"] == "purpose_untagged"
    assert declassified["event"] == "purpose_declassified"
    assert declassified["purposes_added"] == ["marketing.email"]
    assert declassified["reason"] == "opted in 2026-01-05"
    for e in logs:
        assert e["categories"] == ["user.contact.phone_number"]
        assert ":" in e["location"]
        assert "555-0199" not in json.dumps(e)


def test_fingerprint_is_keyed_and_stable() -> None:
    a = pt.tag("ada@example.com", P)
    b = pt.tag("ada@example.com", "marketing")
    assert (
        _events.fingerprint(a) == _events.fingerprint(b) == _events.fingerprint("ada@example.com")
    )
    assert _events.fingerprint(a) != _events.fingerprint("bob@example.com")
    before = _events.fingerprint(a)
    pt.configure(secret="a-much-longer-secret-key")
    after = _events.fingerprint(a)
    assert after != before
    pt.configure(secret="a-much-longer-secret-key")
    assert _events.fingerprint(a) == after
    assert len(after) == 16


def test_configured_logger_gets_the_events() -> None:
    got: list[tuple[str, str, dict[str, Any]]] = []

    class Logger:
        def info(self, event: str, **kw: Any) -> None:
            got.append(("info", event, kw))

        def warning(self, event: str, **kw: Any) -> None:
            got.append(("warning", event, kw))

        def error(self, event: str, **kw: Any) -> None:
            got.append(("error", event, kw))

    pt.configure(logger=Logger())
    with pytest.raises(pt.PurposeViolation):
        upload(pt.tag("555", P))
    assert got[0][:2] == ("error", "purpose_violation")


# --- no raw value, ever --------------------------------------------------------


def _structure(e: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in e.items() if k != "fingerprint"}, default=str)


values = st.one_of(
    st.text(min_size=6, max_size=40),
    st.binary(min_size=6, max_size=40),
    st.integers(min_value=10**6),
)


def shape(value: Any, tagged: Any, which: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if which == 0:
        return (tagged,), {}
    if which == 1:
        return ("x",), {"owner": {"contact": [1, tagged]}}
    if which == 2:
        return ({tagged: "key"},), {}
    return ("x",), {"extra": {"a": (tagged, tagged)}}


def _raw_forms(value: Any) -> list[str]:
    forms = [str(value), repr(value)]
    if isinstance(value, bytes):
        forms.append(value.decode("latin-1"))
    return forms


@settings(max_examples=60)
@given(value=values, which=st.integers(0, 3), mode=st.sampled_from(["enforce", "monitor"]))
@example(value="Purpos", which=0, mode="enforce")  # a piece of the message's own words
def test_no_raw_value_in_events_or_exceptions(value: Any, which: int, mode: str) -> None:
    tagged = pt.tag(value, P, category="user.contact.phone_number", subject="subject-1")
    args, kwargs = shape(value, tagged, which)
    with capture_logs() as logs, pt.mode(mode):  # type: ignore[arg-type]
        try:
            upload(*args, **kwargs)
            message = ""
        except pt.PurposeViolation as exc:
            message = f"{exc}\n{exc!r}\n{exc.argument}\n{exc.sink}"
    assert logs, "a violation must be reported"
    texts = [message, *(_structure(e) for e in logs)]
    # the benign structure, with a stand-in value, to rule out coincidences
    b_args, b_kwargs = shape("@@", pt.tag("@@@@@@", P, category="user.contact.phone_number"), which)
    b_message = ""
    with capture_logs() as benign_logs, pt.mode(mode):  # type: ignore[arg-type]
        try:  # the same mode: its literals ("raised") are part of the structure
            upload(*b_args, **b_kwargs)
        except pt.PurposeViolation as exc:
            # its own text: the real message minus the value would cut literals such
            # as "PurposeViolation" when the value is a piece of them ("Purpos")
            b_message = f"{exc}\n{exc!r}\n{exc.argument}\n{exc.sink}"
    benign = " ".join(_structure(e) for e in benign_logs) + b_message
    for form in _raw_forms(value):
        assume(form not in benign)
        for text in texts:
            assert form not in text


@settings(max_examples=30)
@given(value=st.text(min_size=6, max_size=30))
def test_no_raw_value_through_check_and_truncation(value: str) -> None:
    pt.configure(max_depth=2)
    tagged = pt.tag(value, P)
    with capture_logs() as logs, pt.mode("monitor"):
        pt.check([[[tagged]]], ADS, sink="app.export")
        pt.check({"k": tagged}, ADS, sink="app.export")
    # the benign structure (field names, sink, purposes...), with a stand-in value
    stand_in = pt.tag("@@@@@@", P)
    with capture_logs() as benign_logs, pt.mode("monitor"):
        pt.check([[[stand_in]]], ADS, sink="app.export")
        pt.check({"k": stand_in}, ADS, sink="app.export")
    assume(value not in " ".join(_structure(e) for e in benign_logs))
    assert logs
    for e in logs:
        assert value not in _structure(e)


def _metadata_calls(tagged: Any) -> list[Any]:
    """Entry points where a user might hand a tagged value as a name or label."""
    v = pt.tag("x", P)
    return [
        lambda: pt.tag("x", tagged),  # as a purpose
        lambda: pt.tag("x", P, category=tagged),
        lambda: pt.tag("x", P, source=tagged),
        lambda: pt.check(v, ADS, sink=tagged),
        lambda: pt.check(v, tagged),
        lambda: pt.declassify(v, ADS, reason="opt-in by " + tagged),
        lambda: pt.guard(tagged),
        lambda: pt.guard_function(tagged, "f", ADS),
        lambda: pt.guard_function("m", "f", tagged),
        lambda: pt.Policy({P: [tagged]}),
        lambda: pt.Policy({tagged: [P]}),
        lambda: pt.tag("x", {"purpose": tagged}),  # not even a str
    ]


@settings(max_examples=25)
@given(value=st.text(alphabet="abcdefghij@.", min_size=8, max_size=20).map(lambda s: s + "@"))
def test_no_raw_value_when_tagged_data_is_given_as_a_name_label_or_context(value: str) -> None:
    # text that is not a valid purpose name: a valid one, even tagged, is accepted as
    # the identifier it is (see the test below); anything else must never be echoed
    assume("@" in value and value not in P + ADS)
    tagged = pt.tag(value, P)
    texts: list[str] = []
    with capture_logs() as logs, pt.mode("monitor"):
        for call in _metadata_calls(tagged):
            try:
                call()
            except pt.PolicyError as exc:
                texts.append(f"{exc}\n{exc!r}")
        structlog.contextvars.bind_contextvars(user=tagged, nested={"who": [tagged]})
        try:
            upload(pt.tag("x", P))
        finally:
            structlog.contextvars.clear_contextvars()
    assert logs and texts  # things were reported and refused
    texts.extend(_structure(e) for e in logs)
    for text in texts:
        assert value not in text


def test_tagged_labels_and_reasons_are_refused_but_tagged_valid_purposes_are_plain_names() -> None:
    email = pt.tag("ada@example.com", P)
    for call in _metadata_calls(email)[1:3] + _metadata_calls(email)[5:6]:
        with pytest.raises(pt.PolicyError, match="tagged"):
            call()
    t = next(iter(pt.tags(pt.tag("x", pt.tag("marketing.email", P)))))
    assert t.purposes == frozenset({"marketing.email"})
    assert all(type(p) is str for p in t.purposes)
    with capture_logs() as logs:
        structlog.contextvars.bind_contextvars(request_id="r-1", user=email)
        try:
            with pt.mode("monitor"):
                upload(pt.tag("x", P))
        finally:
            structlog.contextvars.clear_contextvars()
    (event,) = [e for e in logs if e["event"] == "purpose_violation"]
    assert event["request_id"] == "r-1" and event["user"].startswith("[tagged")


def test_fingerprint_is_the_documented_hmac_of_the_value() -> None:
    import hashlib
    import hmac

    pt.configure(secret=b"k" * 32)
    email = "ada@example.com"
    want = hmac.new(b"k" * 32, email.encode(), hashlib.sha256).hexdigest()[:16]
    assert _events.fingerprint(pt.tag(email, P)) == want
    assert _events.fingerprint(pt.tag(email.encode(), P)) == want  # str and bytes correlate
    with capture_logs() as logs, pt.mode("monitor"):
        upload(pt.tag(email, P))
    assert [e["fingerprint"] for e in logs if e["event"] == "purpose_violation"] == [want]



def test_a_logger_that_cannot_take_our_events_is_refused_when_configured() -> None:
    import logging

    with pytest.raises(pt.PolicyError, match="structlog.wrap_logger"):
        pt.configure(logger=logging.getLogger("app"))

    with pytest.raises(pt.PolicyError, match="info/warning/error"):
        pt.configure(logger=object())
    pt.configure(logger=structlog.wrap_logger(logging.getLogger("app")))  # wrapped: fine

    class OnlyInfo:  # lacks the level a violation is logged at: the event is not lost
        def info(self, event: str, **kw: Any) -> None:
            pass

    pt.configure(logger=OnlyInfo())
    with capture_logs() as logs, pt.mode("monitor"):
        upload(pt.tag("555", P))
    assert [(e["event"], e["logger_failed"]) for e in logs] == [
        ("purpose_violation", "AttributeError")
    ]


def test_a_bound_event_key_does_not_rename_our_events() -> None:
    structlog.contextvars.bind_contextvars(event="ctx-event", sink="ctx-sink")
    try:
        with capture_logs() as logs, pt.mode("monitor"):
            upload(pt.tag("555", P))
    finally:
        structlog.contextvars.clear_contextvars()
    (e,) = logs
    assert e["event"] == "purpose_violation" and e["sink"].endswith("upload")
