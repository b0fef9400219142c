"""Standard-library code that refuses tagged strings, made to accept them.

``pathlib`` interns each path component with ``sys.intern``, which takes only an
exact ``str``: CPython casts the arguments with ``str(arg)`` first ("Force-cast str
subclasses to str", bpo-21127), but a `TaintedStr` keeps its class through
``str()``, so ``Path(tagged)`` and ``Path("/srv") / tagged`` raised ``TypeError``
on Python 3.11 and 3.12 (on 3.13, ``PureWindowsPath(tagged)``).  The component
parser gets an exact copy of a tagged argument instead, as CPython means it to:
the path itself carries no tags (a ``pathlib`` path is not a string; see the
README).

``collections.namedtuple`` (and ``typing.NamedTuple``) refused tagged type and
field names for the same reason (a header row read from tagged data): they get
exact copies too.

Applied once, when purposetag is imported; a CPython whose ``pathlib`` is shaped
otherwise is left as it is.
"""

from __future__ import annotations

import collections
import functools
import pathlib
import sys
from collections.abc import Callable
from typing import Any

from ._accel import fast
from ._tainted import exact_text


def _parse_parts(orig: Callable[..., Any]) -> Callable[..., Any]:
    """3.11: ``_Flavour.parse_parts(self, parts)``."""

    def parse_parts(self: Any, parts: Any) -> Any:
        return orig(self, [exact_text(p) for p in parts])

    parse_parts.__wrapped__ = orig  # type: ignore[attr-defined]
    # with the C accelerator, a list of plain strings goes straight to the original
    return fast(parse_parts, fast=orig, check_from=1)


def _parse_path(orig: Callable[..., Any]) -> Callable[..., Any]:
    """3.12, 3.13: the classmethod ``PurePath._parse_path(cls, path)``."""

    def parse_path(cls: Any, path: Any) -> Any:
        return orig(cls, exact_text(path))

    parse_path.__wrapped__ = orig  # type: ignore[attr-defined]
    return fast(parse_path, fast=orig, check_from=1)


def _namedtuple(orig: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(orig)
    def namedtuple(typename: Any, field_names: Any, **kwargs: Any) -> Any:
        if kwargs.get("module") is None:  # where the class is made, as namedtuple finds it
            kwargs["module"] = sys._getframe(1).f_globals.get("__name__", "__main__")
        if isinstance(field_names, str):
            names: Any = exact_text(field_names)
        else:
            names = [exact_text(name) for name in field_names]
        return orig(exact_text(typename), names, **kwargs)

    return namedtuple


def install() -> None:
    orig = collections.namedtuple
    if not hasattr(orig, "__wrapped__"):
        collections.namedtuple = _namedtuple(orig)
    if sys.version_info < (3, 12):
        flavour: Any = getattr(pathlib, "_Flavour", None)
        parse = vars(flavour).get("parse_parts") if flavour is not None else None
        if callable(parse) and not hasattr(parse, "__wrapped__"):
            flavour.parse_parts = _parse_parts(parse)
    else:  # 3.12, 3.13 (PureWindowsPath's parsing there interns too)
        method = vars(pathlib.PurePath).get("_parse_path")
        if isinstance(method, classmethod) and not hasattr(method.__func__, "__wrapped__"):
            pathlib.PurePath._parse_path = classmethod(  # type: ignore[attr-defined]
                _parse_path(method.__func__)
            )
