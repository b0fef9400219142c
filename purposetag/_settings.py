"""Process-wide settings, set by `configure()`; one immutable snapshot swapped atomically."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ._accel import follow_settings
from ._errors import PolicyError
from ._policy import Policy
from ._safe_repr import safe_repr

Mode = Literal["enforce", "monitor", "off"]
MODES: tuple[str, ...] = ("enforce", "monitor", "off")
ConsentProvider = Callable[[str], Iterable[str]]


def validate_mode(mode: object, where: str = "mode") -> Mode:
    if not isinstance(mode, str) or mode not in MODES:
        raise PolicyError(
            f"{where} {safe_repr(mode)}: must be one of 'enforce', 'monitor', 'off'"
        )
    return MODES[MODES.index(mode)]  # type: ignore[return-value]  # the plain name


@dataclass(frozen=True, slots=True)
class Settings:
    mode: Mode | None = None
    policy: Policy = field(default_factory=Policy)
    logger: Any = None
    consent: ConsentProvider | None = None
    consent_timeout: float | None = None
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    max_depth: int = 64
    max_items: int = 100_000
    on_truncate: Literal["log", "raise"] = "log"


def _install(snapshot: Settings) -> Settings:
    """Make `snapshot` the settings in force (the C accelerator follows them)."""
    global _current
    _current = snapshot
    follow_settings(snapshot.max_items, snapshot.max_depth, snapshot.policy)
    return snapshot


_current = _install(Settings())


def current() -> Settings:
    return _current


def update(**changes: Any) -> Settings:
    """Replace some settings (already validated by the caller) and return the new snapshot."""
    return _install(replace(_current, **changes))


def restore(snapshot: Settings) -> None:
    """Put back a snapshot taken with `current()` (the pytest plugin, after each test)."""
    _install(snapshot)


def reset() -> None:
    """Back to defaults (for tests)."""
    _install(Settings())


_UNSET: Any = object()


def configure(
    *,
    mode: Mode | None = _UNSET,
    policy: Policy | Mapping[str, Any] | None = _UNSET,
    logger: Any = _UNSET,
    consent: ConsentProvider | None = _UNSET,
    consent_timeout: float | None = _UNSET,
    secret: bytes | str | None = _UNSET,
    max_depth: int | None = _UNSET,
    max_items: int | None = _UNSET,
    on_truncate: Literal["log", "raise"] | None = _UNSET,
) -> None:
    """Process-wide settings.  Only the arguments given change; ``None`` resets one.

    - `mode`: "enforce" | "monitor" | "off" (below `pt.mode()` and a guard's `mode=`).
    - `policy`: a `Policy` (or a dict in `Policy.from_dict` form).
    - `logger`: a structlog-style logger; ``None`` means ``structlog.get_logger("purposetag")``.
    - `consent`: ``subject -> iterable of purposes``, asked at check time.  A provider
      that raises denies (fails closed) and logs ``purpose_internal_error``.
    - `consent_timeout`: seconds a consent look-up may take (default: no limit); a
      slower one denies and logs ``purpose_internal_error`` (it is run in a daemon
      thread, which is left to finish on its own).
    - `secret`: the key of event fingerprints (random per process by default).
    - `max_depth` / `max_items`: scanner limits (64, 100_000); `on_truncate`: "log"
      (the default) or "raise".
    """
    changes: dict[str, Any] = {}
    if mode is not _UNSET:
        changes["mode"] = None if mode is None else validate_mode(mode, "configure(mode=...)")
    if policy is not _UNSET:
        if policy is None:
            policy = Policy()
        elif isinstance(policy, dict):
            policy = Policy.from_dict(policy, where="configure(policy=...)")
        elif not isinstance(policy, Policy):
            raise PolicyError(
                f"configure(policy=...) takes a Policy or a dict, got a {type(policy).__name__}"
            )
        changes["policy"] = policy
    if logger is not _UNSET:
        stdlib = isinstance(logger, logging.Logger | logging.LoggerAdapter)
        if logger is not None and (
            stdlib
            or not any(
                callable(getattr(logger, level, None)) for level in ("info", "warning", "error")
            )
        ):
            raise PolicyError(
                "configure(logger=...) takes a structlog-style logger with info/warning/error "
                f"methods taking keyword fields (or None), got a {type(logger).__name__}"
                + (
                    ": a stdlib logger takes no keyword fields; pass "
                    "structlog.wrap_logger(logger) or structlog.stdlib.get_logger(name)"
                    if stdlib
                    else ""
                )
            )
        changes["logger"] = logger
    if consent is not _UNSET:
        if consent is not None and not callable(consent):
            raise PolicyError(
                "configure(consent=...) takes a callable subject -> iterable of purposes, "
                f"got a {type(consent).__name__}"
            )
        changes["consent"] = consent
    if consent_timeout is not _UNSET:
        if consent_timeout is not None and (
            isinstance(consent_timeout, bool)
            or not isinstance(consent_timeout, int | float)
            or not 0 < consent_timeout <= threading.TIMEOUT_MAX
        ):
            raise PolicyError(
                "configure(consent_timeout=...) takes a positive number of seconds (at most "
                f"threading.TIMEOUT_MAX) or None, got {safe_repr(consent_timeout)}"
            )
        changes["consent_timeout"] = None if consent_timeout is None else float(consent_timeout)
    if secret is not _UNSET:
        if secret is None:
            secret = secrets.token_bytes(32)
        elif isinstance(secret, str):
            secret = secret.encode("utf-8")
        if not isinstance(secret, bytes) or len(secret) < 16:
            raise PolicyError("configure(secret=...) takes at least 16 bytes (or a str)")
        changes["secret"] = bytes(secret)
    for name, value in (("max_depth", max_depth), ("max_items", max_items)):
        if value is not _UNSET:
            if value is None:
                value = getattr(Settings(), name)
            if type(value) is not int or value < 1:
                raise PolicyError(
                    f"configure({name}=...) takes a positive int, got {safe_repr(value)}"
                )
            changes[name] = value
    if on_truncate is not _UNSET:
        if on_truncate is None:
            on_truncate = Settings().on_truncate
        elif not isinstance(on_truncate, str) or on_truncate not in ("log", "raise"):
            raise PolicyError(
                "configure(on_truncate=...) takes 'log' or 'raise' (or None for the "
                f"default, 'log'), got {safe_repr(on_truncate)}"
            )
        changes["on_truncate"] = str.__str__(on_truncate)
    update(**changes)
