"""The optional C accelerator (`_speedups.c`), and the one way the rest of purposetag uses it.

`fast(slow, ...)` returns a C `Fast` that sends calls whose arguments are all plain
(exact builtin scalars, or small exact lists/tuples/dicts of them) straight to the
original function, and every other call to `slow`, the pure-Python implementation.
Without the extension (no compiler at install time, or ``PURPOSETAG_PURE_PYTHON=1``
in the environment when purposetag is imported) `fast` returns `slow` itself: the
same results, more slowly.  The test suite runs once each way.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

_C: Any = None
if os.environ.get("PURPOSETAG_PURE_PYTHON", "").strip().lower() not in ("1", "true", "yes"):
    try:
        _C = importlib.import_module("purposetag._speedups")
    except ImportError:  # pragma: no cover - depends on the install
        _C = None

#: True when the C accelerator is loaded.
ACCELERATED: bool = _C is not None

_COPIED = ("__module__", "__name__", "__qualname__", "__doc__", "__wrapped__")


def fast(slow: Callable[..., Any], **spec: Any) -> Callable[..., Any]:
    """`slow`, or a C `Fast` over it (see `_speedups.c` for `spec`); names copied from `slow`."""
    if _C is None:
        return slow
    f: Callable[..., Any] = _C.Fast(slow=slow, **spec)
    for name in _COPIED:
        try:
            setattr(f, name, getattr(slow, name))
        except AttributeError:
            pass
    return f


def follow_settings(max_items: int, max_depth: int, policy: object) -> None:
    """Keep C in step with the settings: its container walk within the scanner's limits
    (beyond them, Python reports), and the policy a guard's allowed cache must name."""
    if _C is not None:
        _C.set_limits(max_items, max_depth)
        _C.set_policy(policy)
