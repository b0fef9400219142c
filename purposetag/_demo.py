"""``python -m purposetag demo``: the two-factor phone numbers that fed an ad audience.

A small app: account settings store a phone number for two-factor authentication
and an email address for account recovery; a marketing job normalizes everyone's
contacts and uploads them to an ad platform's custom audience.  Played three
times: in ``monitor`` (the JSON events), in ``enforce`` (the exceptions), and
after one user records marketing consent (her email goes through; the rest not).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

import structlog

import purposetag as pt

TWO_FACTOR = "security.authentication.two_factor"
RECOVERY = "security.account_recovery"
AUDIENCE = "marketing.advertising.targeted"


# --- the application --------------------------------------------------------------


@dataclass
class Account:
    user_id: str
    name: str
    phone: str = ""
    recovery_email: str = ""


@dataclass
class AccountSettings:
    """Where users enter their security contacts: tagged where they come in."""

    accounts: dict[str, Account] = field(default_factory=dict)

    def sign_up(self, user_id: str, name: str) -> None:
        self.accounts[user_id] = Account(user_id, name)

    def enable_two_factor(self, user_id: str, phone: str) -> None:
        self.accounts[user_id].phone = pt.tag(
            phone,
            TWO_FACTOR,
            category="user.contact.phone_number",
            source="settings.two_factor",
            subject=user_id,
        )

    def set_recovery_email(self, user_id: str, email: str) -> None:
        self.accounts[user_id].recovery_email = pt.tag(
            email,
            RECOVERY,
            category="user.contact.email",
            source="settings.account_recovery",
            subject=user_id,
        )


class AdPlatform:
    """Stands in for an ad platform SDK's custom-audience upload."""

    def __init__(self) -> None:
        self.uploaded: list[bytes] = []

    @pt.guard(AUDIENCE)
    def upload_contact(self, contact: bytes) -> None:
        self.uploaded.append(contact)


def normalize_email(email: str) -> bytes:
    return email.strip().lower().encode()


def normalize_phone(phone: str) -> bytes:
    return ("+1" + phone.strip().replace("-", "").replace(" ", "")).encode()


def audience_job(
    settings: AccountSettings, platform: AdPlatform, say: Callable[[str], None]
) -> None:
    """Upload every known contact, one call per contact, reporting what happened."""
    for account in settings.accounts.values():
        contacts = [("phone", normalize_phone(account.phone))]
        contacts.append(("email", normalize_email(account.recovery_email)))
        for kind, contact in contacts:
            try:
                platform.upload_contact(contact)
            except pt.PurposeViolation as exc:
                say(f"   blocked  {account.name}'s {kind}")
                say(f"            PurposeViolation: {exc}")
            else:
                say(f"   uploaded {account.name}'s {kind}")


def build_app() -> AccountSettings:
    settings = AccountSettings()
    for user_id, name, phone, email in (
        ("u1", "Ada", "555-0101", " Ada@Example.com "),
        ("u2", "Grace", "555 0102", "grace@example.org"),
    ):
        settings.sign_up(user_id, name)
        settings.enable_two_factor(user_id, phone)
        settings.set_recovery_email(user_id, email)
    return settings


# --- the show ---------------------------------------------------------------------


def _logger(out: TextIO, level: int = logging.INFO) -> Any:
    return structlog.wrap_logger(
        structlog.PrintLogger(out),
        processors=[
            structlog.processors.add_log_level,
            pt.redact_tagged,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
    )


def main(argv: Iterable[str] = (), out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout

    def say(line: str = "") -> None:
        print(line, file=out, flush=True)

    consents: dict[str, set[str]] = {}
    pt.configure(
        logger=_logger(out),
        # Two-factor numbers are never marketing material, whatever else is recorded.
        policy=pt.Policy(prohibited={TWO_FACTOR: ["marketing"]}),
        consent=lambda subject: consents.get(subject, ()),
    )
    settings = build_app()
    say("purposetag demo: security contacts on their way into an ad audience")
    say("Ada and Grace gave a phone number for two-factor login and an email to recover")
    say(f"their account.  A marketing job uploads contacts for use {AUDIENCE!r}.")

    say()
    say("Act 1 - monitor: production logs every leak as one JSON event and carries on.")
    platform = AdPlatform()
    with pt.mode("monitor"):
        audience_job(settings, platform, say)
    say(f"   -> {len(platform.uploaded)} contacts reached the ad platform")

    say()
    say("Act 2 - enforce: in the test suite the same job raises PurposeViolation.")
    say("   (the same events are logged, at level error; shown here: the exceptions)")
    pt.configure(logger=_logger(out, logging.CRITICAL))
    platform = AdPlatform()
    with pt.mode("enforce"):
        audience_job(settings, platform, say)
    say(f"   -> {len(platform.uploaded)} contacts reached the ad platform")

    say()
    say("Act 3 - Ada opts in to marketing; her email may go, phone numbers never may.")
    consents["u1"] = {"marketing.advertising"}
    platform = AdPlatform()
    with pt.mode("enforce"):
        audience_job(settings, platform, say)
    say(f"   -> {len(platform.uploaded)} contact reached the ad platform")
    return 0
