"""Is a use allowed for a tag?  Policy steps 1-3, then consent (step 4) at check time."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterable
from typing import Any

from . import _events, _settings
from ._purposes import within
from ._tags import Tag


def _purposes_of(answer: Any) -> list[str]:
    if answer is None:
        return []
    if isinstance(answer, str):  # a single purpose, not its characters
        return [answer]
    return [p for p in answer if isinstance(p, str)]


def _ask(provider: _settings.ConsentProvider, subject: str, timeout: float | None) -> list[str]:
    """The provider's answer as a list; with a timeout, asked in a daemon thread."""
    if timeout is None:
        return _purposes_of(provider(subject))
    box: list[tuple[bool, Any]] = []
    ctx = contextvars.copy_context()

    def run() -> None:
        try:
            box.append((True, ctx.run(lambda: _purposes_of(provider(subject)))))
        except BaseException as exc:  # handed back to the asking thread
            box.append((False, exc))

    worker = threading.Thread(target=run, name="purposetag-consent", daemon=True)
    worker.start()
    worker.join(timeout)
    if not box:
        raise TimeoutError(f"consent provider took longer than {timeout}s")
    ok, value = box[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


#: set while the consent provider runs (a check it causes is denied, not recursed into)
_ASKING: contextvars.ContextVar[bool] = contextvars.ContextVar("purposetag_consent", default=False)


def consented(subject: str, use: str) -> bool:
    """Ask the configured consent provider now; any failure or timeout denies (fails closed).

    Looked up at every check, never cached, so a withdrawal takes effect at once.
    """
    s = _settings.current()
    provider = s.consent
    if provider is None:
        return False
    if _ASKING.get():  # the provider itself reached a check: deny, do not recurse
        _events.internal_error("consent_provider", RecursionError("consent provider re-entered"))
        return False
    token = _ASKING.set(True)  # (before _ask copies the context for its thread)
    try:
        purposes = _ask(provider, subject, s.consent_timeout)
    except Exception as exc:
        _events.internal_error("consent_provider", exc)
        return False
    finally:
        _ASKING.reset(token)
    return any(within(use, p) for p in purposes)



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


# use -> {tag set: the policy that allows `use` for every tag of the set}.  Only sets
# the policy alone allows (steps 1-3) are kept: such a verdict never depends on
# consent, so it holds as long as the configured policy is the same object (a
# `Policy` is immutable; `configure(policy=...)` installs a new one).  Denials and
# consent-dependent sets are decided afresh at every check.
_ALLOWED: dict[str, dict[frozenset[Tag], object]] = {}
_ALLOWED_MAX = 1024


def allowed_cache(use: str) -> dict[frozenset[Tag], object]:
    """The cache of tag sets the policy allows for `use` (cleared when full, never replaced)."""
    cache = _ALLOWED.get(use)
    if cache is None:
        if len(_ALLOWED) >= _ALLOWED_MAX:
            for stale in _ALLOWED.values():
                stale.clear()
            _ALLOWED.clear()
        cache = _ALLOWED[use] = {}
    return cache


def policy_allows(tags: frozenset[Tag], use: str, cache: dict[frozenset[Tag], object]) -> bool:
    """True when the policy alone allows `use` for every tag in `tags` (consent not needed).

    False means "not by the policy alone": the caller decides tag by tag
    (`denied_tags`), asking for consent where a tag has a subject.  `cache` is
    ``allowed_cache(use)``.
    """
    policy = _settings._current.policy
    if cache.get(tags) is policy:
        return True
    decide = policy.decide
    for t in tags:
        if decide(t, use) is not True:
            return False
    if len(cache) >= _ALLOWED_MAX:
        cache.clear()
    cache[tags] = policy
    return True
