"""Shared fixtures: every test starts from default settings and an empty log context."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import HealthCheck, settings

from purposetag import _context, _settings

# The CI machine has 2 cores shared with other work: no deadlines, fixed budget.
settings.register_profile(
    "purposetag",
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)
# CI (CI=true) replays the same examples every run, so a landing never depends on a
# new random draw; locally each run explores new ones.
settings.register_profile(
    "purposetag-ci", parent=settings.get_profile("purposetag"), derandomize=True
)
settings.load_profile("purposetag-ci" if os.environ.get("CI") else "purposetag")


@pytest.fixture(autouse=True)
def _reset_purposetag(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("PURPOSETAG_MODE", raising=False)
    _settings.reset()
    structlog.contextvars.clear_contextvars()
    # a scope leaked by an earlier test must not decide this one
    mode_token = _context.SCOPE_MODE.set(None)
    use_token = _context.SCOPE_USE.set(None)
    yield
    _context.SCOPE_USE.reset(use_token)
    _context.SCOPE_MODE.reset(mode_token)
    _settings.reset()
    structlog.contextvars.clear_contextvars()


@pytest.fixture(autouse=True)
def _uninstrument() -> Iterator[None]:
    """No import hook or stdlib patch outlives the test that installed it."""
    yield
    from purposetag import _instrument

    _instrument.uninstrument()
