"""``pt.instrument(*packages)`` / ``pt.uninstrument()``: the import hook and stdlib patches."""

from __future__ import annotations

import re
import sys
import threading

from .. import _events
from ._hook import InstrumentFinder, matches
from ._patches import apply_patches
from ._patching import restore_all

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_lock = threading.Lock()
_finder = InstrumentFinder()


def instrument(*packages: str) -> None:
    """Rewrite `packages` (and their submodules) as they are imported; patch the stdlib.

    Call it once at start-up, before the application is imported: modules already
    imported are not rewritten (they are listed in a
    ``purpose_instrument_already_imported`` event), and ``from hashlib import
    sha256`` done earlier keeps the unpatched function.  Calling it again adds
    packages; the patches are applied once.
    """
    for p in packages:
        if not isinstance(p, str) or not _NAME.fullmatch(p):
            raise ValueError(f"instrument(): {p!r} is not a package name like 'myapp'")
        if p == "purposetag" or p.startswith("purposetag."):
            raise ValueError("instrument(): purposetag cannot instrument itself")
    with _lock:
        apply_patches()
        new = frozenset(packages) - _finder.packages
        if not new:
            return
        _finder.packages = _finder.packages | new
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
        already = sorted(m for m in list(sys.modules) if matches(m, new))
    if already:
        _events.emit(
            "warning",
            "purpose_instrument_already_imported",
            modules=already,
            packages=sorted(new),
            hint="call pt.instrument() before importing these modules",
        )


def uninstrument() -> None:
    """Remove the import hook and every stdlib patch (already rewritten modules stay)."""
    with _lock:
        while _finder in sys.meta_path:
            sys.meta_path.remove(_finder)
        _finder.packages = frozenset()
        restore_all()


def instrumented_packages() -> frozenset[str]:
    """The packages currently rewritten on import."""
    return _finder.packages


__all__ = ["instrument", "instrumented_packages", "uninstrument"]
