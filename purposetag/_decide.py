"""Is a use allowed for a tag?  Policy steps 1-3, then consent (step 4) at check time."""

from __future__ import annotations

from collections.abc import Iterable

from . import _events, _settings
from ._purposes import within
from ._tags import Tag


def consented(subject: str, use: str) -> bool:
    """Ask the configured consent provider; any failure denies (fails closed)."""
    provider = _settings.current().consent
    if provider is None:
        return False
    try:
        purposes = provider(subject)
        if purposes is None:
            return False
        for p in purposes:
            if isinstance(p, str) and within(use, p):
                return True
        return False
    except Exception as exc:
        _events.internal_error("consent_provider", exc)
        return False


def tag_allowed(tag: Tag, use: str) -> bool:
    """DESIGN §1: prohibited, own purpose, compatible purpose, then the subject's consent."""
    decided = _settings.current().policy.decide(tag, use)
    if decided is not None:
        return decided
    if tag.subject is not None:
        return consented(tag.subject, use)
    return False


def denied_tags(tags: Iterable[Tag], use: str) -> frozenset[Tag]:
    """The tags among `tags` that do not allow `use`."""
    return frozenset(t for t in tags if not tag_allowed(t, use))
