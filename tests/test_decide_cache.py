"""The per-policy decision cache must never outlive the policy or skip consent."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

import purposetag as pt

P = "security.authentication"
ADS = "marketing.advertising"


@pt.guard(ADS)
def upload(value: Any) -> str:
    return "sent"


def test_policy_change_after_a_cached_allow_denies_again() -> None:
    pt.configure(policy=pt.Policy({P: [ADS]}))
    phone = pt.tag("+1 555 0100", P)
    assert upload(phone) == "sent"  # allowed, and now cached
    pt.configure(policy=pt.Policy({}))
    with pytest.raises(pt.PurposeViolation):
        upload(phone)
    pt.configure(policy=pt.Policy({P: [ADS]}, prohibited={"security": ["marketing"]}))
    with pytest.raises(pt.PurposeViolation):
        upload(phone)


def test_consent_is_asked_on_every_call() -> None:
    asked: list[str] = []
    consenting = {"user-1"}

    def consent(subject: str) -> list[str]:
        asked.append(subject)
        return ["marketing"] if subject in consenting else []

    pt.configure(consent=consent)
    email = pt.tag("ada@example.com", "account.recovery", subject="user-1")
    assert upload(email) == "sent"
    assert upload(email) == "sent"
    assert asked == ["user-1", "user-1"]
    consenting.clear()  # withdrawal takes effect at once
    with pytest.raises(pt.PurposeViolation):
        upload(email)


def test_item_limit_counts_across_arguments() -> None:
    pt.configure(max_items=10)

    @pt.guard(ADS)
    def send(a: Any, b: Any) -> str:
        return "sent"

    with capture_logs() as logs:
        assert send(list(range(7)), list(range(7))) == "sent"
    assert [e["reason"] for e in logs if e["event"] == "purpose_scan_truncated"] == ["max_items"]
