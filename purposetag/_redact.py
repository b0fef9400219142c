"""`redact_tagged`: a structlog processor that keeps tagged values out of log lines.

Logging is a use too.  Put it before the renderer::

    structlog.configure(processors=[..., pt.redact_tagged, structlog.processors.JSONRenderer()])

Every tagged value anywhere in the event dict -- top-level values, the ``event``
string itself, dict keys and values, list/tuple/set items, objects holding tagged
attributes -- is replaced by ``"[tagged: <purposes>]"``.  Containers are copied
only when something in them was redacted; the caller's objects are never mutated.
Cycles and shared objects come out as one redacted copy each: a back-reference
points to the copy, never to the caller's object (which still holds the raw value).
"""

from __future__ import annotations

import string
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

from . import _events
from ._carriers import shallow_tags
from ._errors import PolicyError
from ._proxy import TaggedValue
from ._ranges import TagSet
from ._safe_repr import safe_repr
from ._scan import ATOMIC, Scanner
from ._tainted import TaintedBytes, TaintedStr

_MISSING = object()


class RedactTagged:
    """The processor class; `redact_tagged` is its default instance.

    `placeholder` is a plain `str` template, formatted with ``purposes``
    (comma-separated, sorted) and no other field, e.g. ``"<redacted: {purposes}>"``
    or ``"***"``; `max_depth` (an int >= 0) bounds how deep containers are followed
    -- anything deeper that holds a tag is redacted whole.  Bad arguments raise here
    (`TypeError` for a wrong type, `PolicyError` for a bad value), not on every log call.
    """

    __slots__ = ("_max_depth", "_placeholder")

    def __init__(self, placeholder: str = "[tagged: {purposes}]", max_depth: int = 32) -> None:
        self._placeholder = _check_placeholder(placeholder)
        if type(max_depth) is not int:
            raise TypeError(
                "RedactTagged(max_depth=...) takes an int >= 0 (how deep containers are "
                f"followed), got {_given(max_depth)}"
            )
        if max_depth < 0:
            raise PolicyError(
                "RedactTagged(max_depth=...) takes an int >= 0 (how deep containers are "
                f"followed; 0 redacts any container holding a tag whole), got {max_depth}"
            )
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
        walk = _Walk(self)  # one per event: objects shared between fields agree
        for key, value in list(event_dict.items()):
            if type(key) is not str and type(key) not in ATOMIC:  # a tagged key is data too
                new_key = walk.redact(key, 0)
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
            new = walk.redact(value, 0)
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
        # anything tagged reachable from it (its chain, a group's exceptions and
        # theirs)?  Then the traceback is written here, each message of the chain
        # redacted if it itself holds tagged data (a group's sub-exceptions, which
        # format_exc_info would print in full, are left out)
        if exc is None or self._whole(exc) is _MISSING:
            return
        # the exceptions the traceback shows: the logged one and the chain behind it
        chain: list[tuple[BaseException, str]] = []  # (exception, how the next led to it)
        seen: set[int] = set()
        e: BaseException | None = exc
        while e is not None and id(e) not in seen:
            seen.add(id(e))
            if e.__cause__ is not None:
                chain.append((e, _CAUSE))
                e = e.__cause__
            elif e.__context__ is not None and not e.__suppress_context__:
                chain.append((e, _CONTEXT))
                e = e.__context__
            else:
                chain.append((e, ""))
                e = None
        redacted = [self._whole(x, chains=False) for x, _link in chain]
        parts: list[str] = []
        for (x, link), r in reversed(list(zip(chain, redacted, strict=True))):
            stack = "".join(traceback.format_tb(x.__traceback__))
            if r is _MISSING:
                last = "".join(traceback.format_exception_only(type(x), x)).rstrip("\n")
            else:
                last = f"{type(x).__qualname__}: {r}"
            parts.append(f"Traceback (most recent call last):\n{stack}{last}")
            if link:
                parts.append(link)
        event_dict["exc_info"] = False
        event_dict["exception"] = "".join(parts)

    def _text(self, tags: TagSet) -> str:
        purposes = ", ".join(sorted({p for t in tags for p in t.purposes}))
        return self._placeholder.format(purposes=purposes)

    def _whole(self, value: Any, chains: bool = True) -> Any:
        scanner = Scanner(chains=chains)
        scanner.scan(value, "value")
        if not scanner.found and scanner.truncated is None:
            return _MISSING
        tags: set[Any] = set()
        for f in scanner.found:
            tags |= f.tags
        if not tags:  # truncated: cannot tell, so do not let it through
            return f"[unscanned {type(value).__name__}]"
        return self._text(frozenset(tags))


_INF = sys.maxsize
# what Python prints between chained exceptions (traceback.TracebackException)
_CAUSE = "\n\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\n\nDuring handling of the above exception, another exception occurred:\n\n"
_PLACEHOLDER_HELP = (
    "a str template whose only field is {purposes}, e.g. '[tagged: {purposes}]' or '***'"
)


def _given(value: object) -> str:
    shown = safe_repr(value)
    return shown if shown.startswith("<") else f"{shown} ({type(value).__name__})"


def _check_placeholder(placeholder: object) -> str:
    if type(placeholder) is not str:
        raise TypeError(
            f"RedactTagged(placeholder=...) takes {_PLACEHOLDER_HELP} (a plain str: it is "
            f"written into every log line), got {_given(placeholder)}"
        )
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(placeholder) if f is not None]
        if any(f != "purposes" for f in fields):
            bad = next(f for f in fields if f != "purposes")
            raise PolicyError(f"unknown field {{{bad}}}")
        placeholder.format(purposes="security, marketing")
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
        reason = str(exc) if isinstance(exc, PolicyError) else f"{type(exc).__name__}: {exc}"
        raise PolicyError(
            f"RedactTagged(placeholder={placeholder!r}): takes {_PLACEHOLDER_HELP}; {reason}"
        ) from None
    return placeholder


class _Walk:
    """Redaction of one event, in two passes over the same graph.

    `holds` decides, for every container reached, whether anything tagged is
    reachable from it (cycles included: a node that reaches back to an ancestor
    holds a tag when that ancestor does, resolved as in Tarjan's SCC algorithm).
    `redact` then copies exactly the containers that hold a tag, with a memo as
    ``copy.deepcopy`` has, so a back-reference or a shared object points to the
    redacted copy -- never to the caller's object -- and untagged containers are
    kept as they are.
    """

    __slots__ = (
        "_active",
        "_copies",
        "_final",
        "_keep",
        "_low",
        "_next",
        "_owner",
        "_pending",
        "_whole",
    )

    def __init__(self, owner: RedactTagged) -> None:
        self._owner = owner
        self._final: dict[int, bool] = {}  # id -> holds a tag (decided)
        self._active: dict[int, int] = {}  # id -> DFS index, while being looked into
        self._pending: list[int] = []  # finished but undecided nodes, in finishing order
        self._low: dict[int, int] = {}  # id -> lowest active index it reaches (pending)
        self._next = 0
        self._whole: dict[int, Any] = {}  # id -> `_whole` result for objects seen whole
        self._copies: dict[int, Any] = {}  # id -> redacted copy
        self._keep: list[Any] = []  # what the ids stand for stays alive during the walk

    # -- pass 1 ----------------------------------------------------------------------

    def holds(self, value: Any, depth: int) -> bool:
        """Does anything tagged hang off `value` (as `redact` would look at it)?"""
        return self._holds(value, depth)[0]

    def _holds(self, value: Any, depth: int) -> tuple[bool, int]:
        t = type(value)
        if t in ATOMIC:
            return False, _INF
        if t is TaintedStr or t is TaintedBytes or issubclass(t, TaggedValue):
            return True, _INF
        i = id(value)
        decided = self._final.get(i)
        if decided is not None:
            return decided, _INF
        index = self._active.get(i)
        if index is not None:  # a cycle back to a node being looked into
            return False, index
        pending_low = self._low.get(i)
        if pending_low is not None:
            return False, pending_low
        self._keep.append(value)
        if depth >= self._owner._max_depth or not (
            t is dict or t is list or t is tuple or t is set or t is frozenset
        ):
            whole = self._owner._whole(value)
            self._whole[i] = whole
            self._final[i] = whole is not _MISSING
            return whole is not _MISSING, _INF
        index = self._next
        self._next += 1
        self._active[i] = index
        mark = len(self._pending)
        found = False
        low = index
        try:
            children = _children(value)
            for child in children:
                f, child_low = self._holds(child, depth + 1)
                if f:
                    found = True
                    break
                if child_low < low:
                    low = child_low
        finally:
            del self._active[i]
        if found or low >= index:
            # decided, and so is every undecided node found below it: those reach it
            # (found: they reach an ancestor of this node, which reaches this node;
            # low == index: they reach nothing above this node)
            for pid in self._pending[mark:]:
                self._final[pid] = found
                del self._low[pid]
            del self._pending[mark:]
            self._final[i] = found
            return found, _INF
        self._pending.append(i)
        self._low[i] = low
        return False, low

    # -- pass 2 ----------------------------------------------------------------------

    def redact(self, value: Any, depth: int) -> Any:
        """The redacted form of `value`, or `_MISSING` when it holds no tag."""
        t = type(value)
        if t in ATOMIC:
            return _MISSING
        if t is TaintedStr or t is TaintedBytes or issubclass(t, TaggedValue):
            return self._owner._text(shallow_tags(value))
        i = id(value)
        copy = self._copies.get(i, _MISSING)
        if copy is not _MISSING:
            return copy
        if i not in self._final:
            self._holds(value, depth)
        if not self._final[i]:
            return _MISSING
        if i in self._whole:
            return self._whole[i]
        if depth >= self._owner._max_depth:
            return self._owner._whole(value)
        if t is dict:
            out: Any = {}
            self._copies[i] = out
            self._dict(value, out, depth)
            return out
        if t is list:
            out = []
            self._copies[i] = out
            out.extend(self._item(v, depth) for v in list(value))
            return out
        # tuple, set, frozenset: immutable (a set is rendered as a list, as before);
        # a cycle through one re-enters it via a mutable copy -- keep the first made
        items = [self._item(v, depth) for v in value]
        copy = self._copies.get(i, _MISSING)
        if copy is not _MISSING:
            return copy
        out = tuple(items) if t is tuple else items
        self._copies[i] = out
        return out

    def _item(self, value: Any, depth: int) -> Any:
        new = self.redact(value, depth + 1)
        return value if new is _MISSING else new

    def _dict(self, value: dict[Any, Any], out: dict[Any, Any], depth: int) -> None:
        for k, v in list(value.items()):
            nk = self.redact(k, depth + 1)
            if nk is not _MISSING and not isinstance(nk, str):  # keys must stay hashable
                nk = self._owner._whole(k)
                if nk is _MISSING or not isinstance(nk, str):
                    nk = "[tagged]"
            out[k if nk is _MISSING else nk] = self._item(v, depth)


def _children(value: Any) -> list[Any]:
    """What `_Walk` looks into: items, or a dict's keys and values (a snapshot)."""
    if type(value) is dict:
        out: list[Any] = []
        for k, v in list(value.items()):
            out.append(k)
            out.append(v)
        return out
    return list(value)


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
