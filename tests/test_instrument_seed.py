"""The motivating case end to end, through an instrumented application package.

A recovery email is normalised, hashed with SHA-256 the way ad platforms match
customer lists, prefixed in an f-string and uploaded to an ad audience: the guard
raises, and the literal prefix carries no tag.
"""

from __future__ import annotations

import pytest
from instrument_support import Factory, make_module  # noqa: F401

import purposetag as pt

APP = """
import hashlib

import purposetag as pt

uploaded = []

@pt.guard("marketing.advertising.targeted")
def upload_audience(keys):
    uploaded.extend(keys)

def audience_key(email):
    e = email.strip().lower()
    digest = hashlib.sha256(e.encode()).hexdigest()
    return f"em:{digest}"

def sync(users):
    upload_audience([audience_key(u["recovery_email"]) for u in users])
"""


def test_hashed_recovery_email_cannot_reach_ad_upload(make_module: Factory) -> None:  # noqa: F811
    app = make_module(APP)
    email = pt.tag(
        " Bob@Example.com ",
        "security.account_recovery",
        category="user.contact.email",
        source="settings.recovery",
    )
    key = app.audience_key(email)
    assert key.startswith("em:") and len(key) == 3 + 64
    assert pt.ranges(key) == [(3, 67, pt.tags(email))]  # "em:" untagged, digest tagged
    assert not pt.is_tagged(key[:3])
    with pytest.raises(pt.PurposeViolation) as info:
        app.sync([{"recovery_email": email}])
    assert info.value.use == "marketing.advertising.targeted"
    assert app.uploaded == []
    assert "bob@example.com" not in str(info.value).lower()


def test_untagged_data_uploads(make_module: Factory) -> None:  # noqa: F811
    app = make_module(APP)
    app.sync([{"recovery_email": "opted-in@example.com"}])
    assert len(app.uploaded) == 1 and type(app.uploaded[0]) is str
