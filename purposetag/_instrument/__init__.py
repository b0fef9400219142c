"""``pt.instrument(*packages)`` / ``pt.uninstrument()``: the import hook and stdlib patches."""

from __future__ import annotations

import re
import sys
import threading

from .. import _events
from .._errors import PolicyError
from .._safe_repr import holds_tag, safe_repr
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
    packages = tuple(_check_package(p) for p in packages)
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


def _check_package(p: object) -> str:
    """The package name `p` as a plain str; a bad one is a `PolicyError` naming it
    (described, not quoted, if it is tagged: it would be echoed in events too)."""
    expected = "a dotted Python package name such as 'myapp' or 'myapp.api'"
    if not isinstance(p, str):
        raise PolicyError(
            f"instrument(): {safe_repr(p)} ({type(p).__name__}) is not a package name: "
            f"expected {expected}"
        )
    if type(p) is not str:
        if holds_tag(p):
            raise PolicyError(
                f"instrument(): package names are plain str, got {safe_repr(p)}: "
                f"expected {expected}"
            )
        p = str.__str__(p)
    if not _NAME.fullmatch(p):
        what = "an empty string" if p == "" else safe_repr(p)
        raise PolicyError(f"instrument(): {what} is not a package name: expected {expected}")
    if p == "purposetag" or p.startswith("purposetag."):
        raise PolicyError(
            f"instrument(): {p!r}: purposetag cannot instrument itself; "
            f"expected {expected} of your application"
        )
    return p


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
