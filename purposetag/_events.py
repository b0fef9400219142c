"""Structured events through structlog, and the keyed fingerprint that correlates them."""

from __future__ import annotations

import hashlib
import hmac
import inspect
from collections.abc import Iterable
from typing import Any

import structlog

from . import _settings
from ._tags import Tag

_FINGERPRINT_LEN = 16


def logger() -> Any:
    """The configured logger, or a fresh `structlog.get_logger("purposetag")`.

    Fetched per event so `structlog.testing.capture_logs()` sees it.
    """
    configured = _settings.current().logger
    if configured is not None:
        return configured
    return structlog.get_logger("purposetag")


def fingerprint(value: object) -> str:
    """HMAC-SHA256 of the value's plain form with the process secret, truncated."""
    from ._carriers import plain_bytes_for_fingerprint

    data = plain_bytes_for_fingerprint(value)
    mac = hmac.new(_settings.current().secret, data, hashlib.sha256)
    return mac.hexdigest()[:_FINGERPRINT_LEN]


def describe(tags: Iterable[Tag]) -> dict[str, list[str]]:
    tags = list(tags)
    return {
        "purposes": sorted({p for t in tags for p in t.purposes}),
        "categories": sorted({t.category for t in tags if t.category}),
        "sources": sorted({t.source for t in tags if t.source}),
    }


#: Lists that also receive every event emitted (the pytest plugin's
#: ``purposetag_events`` fixture), whatever logger is configured.
taps: list[list[dict[str, Any]]] = []


def emit(level: str, event: str, **fields: Any) -> None:
    """Send one event; merges `structlog.contextvars`; never raises into the host.

    The event goes out redacted (`redact_tagged`): a tagged value the application
    bound into the context, or handed us as metadata, is not repeated raw in our own
    events, whatever processors the application configured.
    """
    try:
        from ._redact import redact_tagged

        ctx = structlog.contextvars.get_contextvars()
        # our fields, and the event name, win over what the application bound
        merged = {**ctx, **fields, "event": event} if ctx else {**fields, "event": event}
        merged = dict(redact_tagged(None, level, merged))
        for tap in taps:
            tap.append({**merged, "log_level": level})
        name = merged.pop("event")
    except Exception:  # a bug of ours: nothing can be sent safely
        return
    try:
        getattr(logger(), level)(name, **merged)
    except Exception as exc:  # a broken configured logger must not lose the event
        try:
            fallback = structlog.get_logger("purposetag")
            getattr(fallback, level)(name, logger_failed=type(exc).__name__, **merged)
        except Exception:  # ...nor break the application
            pass


def caller_location(skip_module_prefix: str = "purposetag") -> str:
    """`file:line` of the first frame outside purposetag."""
    frame = inspect.currentframe()
    try:
        while frame is not None:
            mod = frame.f_globals.get("__name__", "")
            if not (mod == skip_module_prefix or mod.startswith(skip_module_prefix + ".")):
                return f"{frame.f_code.co_filename}:{frame.f_lineno}"
            frame = frame.f_back
        return "<unknown>"
    finally:
        del frame


def internal_error(where: str, exc: BaseException, **fields: Any) -> None:
    """A bug or failure of ours (or of a consent provider) that we recovered from.

    Only the exception's type is logged, never its message: it may quote data.
    """
    emit(
        "error",
        "purpose_internal_error",
        where=where,
        error_type=type(exc).__name__,
        **fields,
    )
