"""Consent (DESIGN §1 step 4): asked at check time, failing closed when the provider fails."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from structlog.testing import capture_logs

import purposetag as pt

ADS = "marketing.advertising.targeted"
RECOVERY = "security.account_recovery"


def email(subject: str | None = "u1") -> str:
    return pt.tag("ada@example.com", RECOVERY, category="user.contact.email", subject=subject)


@pt.guard(ADS)
def upload(contact: Any) -> str:
    return "uploaded"


def test_consent_allows_and_withdrawal_applies_at_once() -> None:
    consents: dict[str, list[str]] = {}
    asked: list[str] = []

    def provider(subject: str) -> list[str]:
        asked.append(subject)
        return consents.get(subject, [])

    pt.configure(consent=provider)
    with pytest.raises(pt.PurposeViolation):
        upload(email())
    consents["u1"] = ["marketing.advertising"]
    assert upload(email()) == "uploaded"
    assert pt.allows(email(), ADS)
    with pytest.raises(pt.PurposeViolation):  # another subject: still denied
        upload(email("u2"))
    consents["u1"] = []
    with pytest.raises(pt.PurposeViolation):
        upload(email())
    assert asked.count("u1") >= 3


def test_consent_is_not_asked_without_a_subject() -> None:
    asked: list[str] = []
    pt.configure(consent=lambda s: asked.append(s) or ["marketing"])
    with pytest.raises(pt.PurposeViolation):
        upload(email(subject=None))
    assert asked == []


def test_consent_to_a_narrower_purpose_does_not_allow_a_wider_use() -> None:
    pt.configure(consent=lambda s: ["marketing.advertising.targeted.lookalike"])
    with pytest.raises(pt.PurposeViolation):
        upload(email())


def test_prohibition_beats_consent() -> None:
    pt.configure(
        consent=lambda s: ["marketing"],
        policy=pt.Policy(prohibited={RECOVERY: ["marketing"]}),
    )
    with pytest.raises(pt.PurposeViolation):
        upload(email())


def test_mixed_data_needs_every_tag_to_allow() -> None:
    pt.configure(consent=lambda s: ["marketing"] if s == "u1" else [])
    with pytest.raises(pt.PurposeViolation) as info:
        upload(email("u1") + "," + email("u2"))
    assert {t.subject for t in info.value.tags} == {"u2"}


def test_provider_that_raises_fails_closed_with_an_event() -> None:
    def broken(subject: str) -> list[str]:
        raise ConnectionError(f"consent db down for {subject} ada@example.com")

    pt.configure(consent=broken)
    with capture_logs() as logs, pytest.raises(pt.PurposeViolation):
        upload(email())
    errors = [e for e in logs if e["event"] == "purpose_internal_error"]
    assert errors and errors[0]["where"] == "consent_provider"
    assert errors[0]["error_type"] == "ConnectionError"
    assert "ada@example.com" not in repr(logs)


def test_provider_answers_are_lenient() -> None:
    pt.configure(consent=lambda s: None)
    assert not pt.allows(email(), ADS)
    pt.configure(consent=lambda s: "marketing")  # a bare str is one purpose
    assert pt.allows(email(), ADS)
    pt.configure(consent=lambda s: "m")  # not its characters
    assert not pt.allows(email(), ADS)


def test_timeout_fails_closed_with_an_event() -> None:
    release = threading.Event()

    def slow(subject: str) -> list[str]:
        release.wait(5)
        return ["marketing"]

    pt.configure(consent=slow, consent_timeout=0.05)
    try:
        with capture_logs() as logs, pytest.raises(pt.PurposeViolation):
            upload(email())
    finally:
        release.set()
    (e,) = [e for e in logs if e["event"] == "purpose_internal_error"]
    assert e["error_type"] == "TimeoutError"


def test_fast_provider_within_timeout_sees_the_callers_context() -> None:
    seen: list[Any] = []

    def provider(subject: str) -> list[str]:
        from purposetag._context import ambient_use

        seen.append(ambient_use())
        time.sleep(0.001)
        return ["marketing"]

    pt.configure(consent=provider, consent_timeout=5)
    with pt.processing("security"):
        assert upload(email()) == "uploaded"
    assert seen == ["security"]


@pytest.mark.parametrize(
    "kwargs",
    [{"consent": "yes"}, {"consent_timeout": 0}, {"consent_timeout": -1}, {"consent_timeout": "1"}],
)
def test_bad_consent_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(pt.PolicyError):
        pt.configure(**kwargs)


@pytest.mark.parametrize("timeout", [None, 5.0])
def test_a_provider_that_reaches_a_check_is_denied_not_recursed(timeout: float | None) -> None:
    @pt.guard("marketing.email")
    def send(x: object) -> str:
        return "sent"

    def provider(subject: str) -> list[str]:
        send(pt.tag("x", "security", subject="s-2"))  # the provider uses guarded code
        return ["marketing"]

    pt.configure(consent=provider, consent_timeout=timeout, mode="monitor")
    email = pt.tag("ada@example.com", "account.recovery", subject="s-1")
    with capture_logs() as logs:
        assert pt.allows(email, "marketing.email")  # the outer lookup still answers
    errors = [e for e in logs if e["event"] == "purpose_internal_error"]
    assert errors and errors[0]["error_type"] == "RecursionError"
    assert any(e["event"] == "purpose_violation" for e in logs)  # the inner call: denied
