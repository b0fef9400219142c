"""The stdlib patches applied by `instrument()`, in one list."""

from __future__ import annotations

from . import _codepatch, _p_hashlib, _p_io, _p_json, _p_re, _p_simple
from ._patching import fallback

_APPLIERS = (_p_hashlib.apply, _p_json.apply, _p_re.apply, _p_simple.apply, _p_io.apply)


def apply_patches() -> None:
    """Apply every patch (idempotent: each attribute is replaced once)."""
    for apply in _APPLIERS:
        try:
            apply()
        except Exception as exc:  # a patch that cannot apply must not break start-up
            fallback(f"instrument.{apply.__module__}", exc)
    _codepatch.forget_sources()
