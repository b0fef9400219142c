"""`redact_tagged`: a structlog processor that keeps tagged values out of log lines.

Logging is a use too.  Put it before the renderer::

    structlog.configure(processors=[..., pt.redact_tagged, structlog.processors.JSONRenderer()])

Every tagged value anywhere in the event dict -- top-level values, the ``event``
string itself, dict keys and values, list/tuple/set items, objects holding tagged
attributes -- is replaced by ``"[tagged: <purposes>]"``.  Containers are copied
only when something in them was redacted; the caller's objects are never mutated.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

from . import _events
from ._carriers import shallow_tags
from ._proxy import TaggedValue
from ._ranges import TagSet
from ._scan import ATOMIC, Scanner
from ._tainted import TaintedBytes, TaintedStr

_MISSING = object()


class RedactTagged:
    """The processor class; `redact_tagged` is its default instance.

    `placeholder` is formatted with ``purposes`` (comma-separated, sorted);
    `max_depth` bounds how deep containers are followed -- anything deeper that
    holds a tag is redacted whole.
    """

    __slots__ = ("_max_depth", "_placeholder")

    def __init__(self, placeholder: str = "[tagged: {purposes}]", max_depth: int = 32) -> None:
        self._placeholder = placeholder
        self._max_depth = max_depth

    def __repr__(self) -> str:
        return f"RedactTagged(placeholder={self._placeholder!r}, max_depth={self._max_depth})"

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        try:
            return self._redact_event(event_dict)
        except Exception as exc:  # a bug of ours: never the raw event, never a crash
            _report_failure(exc)
            return _failed(event_dict)

    def _redact_event(self, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if event_dict.get("exc_info"):
            self._exc_info(event_dict)
        for key, value in list(event_dict.items()):
            if type(key) is not str and type(key) not in ATOMIC:  # a tagged key is data too
                new_key = self._redact(key, 0, set())
                if new_key is not _MISSING and not isinstance(new_key, str):
                    new_key = self._whole(key)
                    if not isinstance(new_key, str):
                        new_key = "[tagged]"
                if new_key is not _MISSING:
                    del event_dict[key]
                    key = new_key
                    event_dict[key] = value
            if type(value) in ATOMIC:
                continue
            new = self._redact(value, 0, set())
            if new is not _MISSING:
                event_dict[key] = new
        return event_dict

    def _exc_info(self, event_dict: MutableMapping[str, Any]) -> None:
        """An exception to be rendered later (``format_exc_info``) whose message or
        arguments hold tagged data: render its traceback now, message redacted."""
        info = event_dict["exc_info"]
        if isinstance(info, BaseException):
            exc: BaseException | None = info
        elif isinstance(info, tuple) and len(info) == 3:
            exc = info[1]
        else:
            exc = sys.exc_info()[1]
        if exc is None:
            return
        redacted = self._whole(exc)
        if redacted is _MISSING:
            return
        stack = "".join(traceback.format_tb(exc.__traceback__))
        event_dict["exc_info"] = False
        event_dict["exception"] = (
            f"Traceback (most recent call last):\n{stack}{type(exc).__qualname__}: {redacted}"
        )

    def _text(self, tags: TagSet) -> str:
        purposes = ", ".join(sorted({p for t in tags for p in t.purposes}))
        return self._placeholder.format(purposes=purposes)

    def _redact(self, value: Any, depth: int, seen: set[int]) -> Any:
        """The redacted form of `value`, or `_MISSING` when it holds no tag."""
        t = type(value)
        if t in ATOMIC:
            return _MISSING
        if t is TaintedStr or t is TaintedBytes or issubclass(t, TaggedValue):
            return self._text(shallow_tags(value))
        if id(value) in seen:
            return _MISSING
        if depth >= self._max_depth:
            return self._whole(value)
        seen.add(id(value))
        try:
            if t is dict:
                return self._dict(value, depth, seen)
            if t is list or t is tuple:
                items = [self._redact(v, depth + 1, seen) for v in value]
                if all(i is _MISSING for i in items):
                    return _MISSING
                out = [v if i is _MISSING else i for v, i in zip(value, items, strict=True)]
                return out if t is list else tuple(out)
            if t is set or t is frozenset:
                items = [self._redact(v, depth + 1, seen) for v in value]
                if all(i is _MISSING for i in items):
                    return _MISSING
                return [v if i is _MISSING else i for v, i in zip(value, items, strict=True)]
            # anything else (namedtuples, dataclasses, objects): redact whole if it holds a tag
            return self._whole(value)
        finally:
            seen.discard(id(value))

    def _dict(self, value: dict[Any, Any], depth: int, seen: set[int]) -> Any:
        changed = False
        out: dict[Any, Any] = {}
        for k, v in value.items():
            nk = self._redact(k, depth + 1, seen)
            nv = self._redact(v, depth + 1, seen)
            if nk is not _MISSING or nv is not _MISSING:
                changed = True
            if nk is not _MISSING and not isinstance(nk, str):  # keys must stay hashable
                nk = self._whole(k)
                if nk is _MISSING or not isinstance(nk, str):
                    nk = "[tagged]"
            out[k if nk is _MISSING else nk] = v if nv is _MISSING else nv
        return out if changed else _MISSING

    def _whole(self, value: Any) -> Any:
        scanner = Scanner()
        scanner.scan(value, "value")
        if not scanner.found and scanner.truncated is None:
            return _MISSING
        tags: set[Any] = set()
        for f in scanner.found:
            tags |= f.tags
        if not tags:  # truncated: cannot tell, so do not let it through
            return f"[unscanned {type(value).__name__}]"
        return self._text(frozenset(tags))


_FAILING = False


def _report_failure(exc: Exception) -> None:
    global _FAILING
    if _FAILING:  # the internal-error event goes through the same processors
        return
    _FAILING = True
    try:
        _events.internal_error("redact_tagged", exc)
    finally:
        _FAILING = False


def _failed(event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """What is logged when redaction itself failed: nothing that could hold a value."""
    event = event_dict.get("event")
    out: dict[str, Any] = {"event": event if type(event) is str else "[redaction failed]"}
    for key in ("level", "log_level", "timestamp", "logger"):
        if type(event_dict.get(key)) is str:
            out[key] = event_dict[key]
    out["redaction"] = "failed: values dropped"
    return out


redact_tagged = RedactTagged()
"""Redact tagged values anywhere in a structlog event dict (see `RedactTagged`)."""
