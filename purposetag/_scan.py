"""The scanner: every tagged value inside a value, with a Python-like path to each.

It walks carriers, ``list``/``tuple``/``set``/``frozenset``/``dict`` (keys and
values), namedtuples, dataclasses and other objects' ``__dict__`` and
``__slots__``.  It reads storage directly (the base types' own iterators, the
type's ``__dict__``/slot descriptors), so no property, ``__getattr__``,
``__iter__``, ``__eq__`` or ``__hash__`` of the application ever runs; cycles
are cut by identity.  Limits (``max_depth``, ``max_items``) bound the work;
hitting one is reported, never passed over silently.
"""

from __future__ import annotations

import collections
import datetime
import enum
import fractions
import functools
import gc
import types
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, NamedTuple

import wrapt

from . import _events, _settings
from ._errors import PolicyError
from ._formatting import DICT_VIEWS
from ._proxy import TaggedValue
from ._ranges import TagSet
from ._ranges import union as _union_ranges
from ._tags import Tag
from ._tainted import TaintedBytes, TaintedStr

# Exact types that never hold a tag and are never looked into.
ATOMIC: frozenset[type] = frozenset(
    {
        str,
        bytes,
        int,
        float,
        complex,
        bool,
        type(None),
        bytearray,
        memoryview,
        range,
        type(Ellipsis),
        type(NotImplemented),
        datetime.date,
        datetime.datetime,
        datetime.time,
        datetime.timedelta,
        datetime.timezone,
        Decimal,
        fractions.Fraction,
        uuid.UUID,
    }
)

# Value types: their subclasses' attributes are looked into (see `_visit`).
_VALUES = (str, bytes, int, float, complex)

# Base types whose instances are not data: looked at, never into.
_OPAQUE: tuple[type, ...] = (
    str,
    bytes,
    int,
    float,
    complex,
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
    types.FrameType,
    types.GeneratorType,
    types.CoroutineType,
    types.AsyncGeneratorType,
    enum.Enum,
)

_GETSET = types.GetSetDescriptorType
_EXC_ARGS = BaseException.__dict__["args"].__get__
_EXC_CHAIN = (
    ("__cause__", BaseException.__dict__["__cause__"].__get__),
    ("__context__", BaseException.__dict__["__context__"].__get__),
)
_SUPPRESSED = BaseException.__dict__["__suppress_context__"].__get__
_EXC_SKIP = frozenset(
    {"args", "__traceback__", "__dict__", "__suppress_context__", "__cause__", "__context__"}
)
_EXC_FIELDS: dict[type, tuple[tuple[str, Any], ...]] = {}
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE


def _exception_fields(t: type) -> tuple[tuple[str, Any], ...]:
    """The fields of the built-in exception classes of `t`'s MRO (C members and
    getters: ``filename``, ``name``, ``obj``, ``exceptions``...); a Python class's
    own attributes live in its ``__dict__``, read as for any object."""
    found = _EXC_FIELDS.get(t)
    if found is None:
        fields: dict[str, Any] = {}
        for cls in t.__mro__:
            if cls.__flags__ & _HEAPTYPE:  # a Python class
                continue
            for name, desc in type.__dict__["__dict__"].__get__(cls).items():
                if name in _EXC_SKIP or name in fields:
                    continue
                if isinstance(desc, _GETSET | _MEMBER):
                    fields[name] = desc
        found = tuple(fields.items())
        if len(_EXC_FIELDS) >= 1024:
            _EXC_FIELDS.clear()
        _EXC_FIELDS[t] = found
    return found


def _index_segment(i: int) -> str:
    return f"[{i}]"


_MEMBER = types.MemberDescriptorType
_PROXY: type = wrapt.BaseObjectProxy
_PROXY_TARGET = vars(wrapt.BaseObjectProxy)["__wrapped__"].__get__
# Py_TPFLAGS_HEAPTYPE (a class made by a class statement) | Py_TPFLAGS_HAVE_GC
_HEAP_GC = _HEAPTYPE | (1 << 14)

# Per type: the `__dict__` descriptor (or None) and the (name, descriptor) of each slot.
_Layout = tuple["Any | None", tuple[tuple[str, Any], ...]]
_LAYOUTS: dict[type, _Layout] = {}


class ScanLimitExceeded(PolicyError):
    """A scan hit ``max_depth`` or ``max_items`` while ``on_truncate="raise"``."""


class Finding(NamedTuple):
    """One tagged value: where it is, its tags, and the value (for the fingerprint).

    The path is kept as segments and rendered only when read: most findings are
    allowed uses, and building the string for each would cost more than the scan.
    """

    parts: tuple[Any, ...]
    tags: TagSet
    value: object

    @property
    def path(self) -> str:
        return render(self.parts)


def _mangle(cls: type, name: str) -> str:
    if name.startswith("__") and not name.endswith("__"):
        return f"_{cls.__name__.lstrip('_')}{name}"
    return name


def _layout(t: type) -> _Layout:
    found = _LAYOUTS.get(t)
    if found is not None:
        return found
    dict_desc: Any = None
    slots: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for cls in t.__mro__:
        own = type.__dict__["__dict__"].__get__(cls)  # the mappingproxy, no metaclass hooks
        desc = own.get("__dict__")
        if dict_desc is None and isinstance(desc, _GETSET | _MEMBER):
            dict_desc = desc
        names = own.get("__slots__", ())
        if isinstance(names, str):
            names = (names,)
        try:
            names = tuple(names)
        except TypeError:
            names = ()
        for name in names:
            if not isinstance(name, str) or name in ("__dict__", "__weakref__"):
                continue
            attr = _mangle(cls, name)
            member = own.get(attr)
            if isinstance(member, _MEMBER) and attr not in seen:
                seen.add(attr)
                slots.append((name, member))
    layout: _Layout = (dict_desc, tuple(slots))
    if len(_LAYOUTS) >= 4096:
        _LAYOUTS.clear()
    _LAYOUTS[t] = layout
    return layout


def _key_segment(key: Any) -> str | None:
    """``[key]`` for keys safe and readable to show; None for anything else.

    Only plain identifiers and small ints: a key may itself be personal data.
    """
    t = type(key)
    if t is str:
        if len(key) <= 64 and key.isidentifier():
            return f"[{key!r}]"
        return None
    if t is bool or key is None or (t is int and -1_000_000 < key < 1_000_000):
        return f"[{key!r}]"
    return None


def _attr_segment(name: Any) -> str | None:
    if type(name) is str and name.isidentifier():
        return f".{name}"
    return None


def render(path: Iterable[Any]) -> str:
    """A path list as Python: str segments append, an int ``i`` means ``list(...)[i]``."""
    out = ""
    for seg in path:
        if type(seg) is int:
            out = f"list({out})[{seg}]"
        else:
            out += seg
    return out


class Scanner:
    """One scan: call `scan` for each root, then read `found` and `truncated`."""

    __slots__ = ("budget", "chains", "found", "max_depth", "path", "seen", "truncated")

    def __init__(
        self, max_depth: int | None = None, max_items: int | None = None, *, chains: bool = True
    ) -> None:
        """`chains`: look into an exception's ``__cause__``/``__context__`` too."""
        if max_depth is None or max_items is None:
            s = _settings.current()
            max_depth = s.max_depth if max_depth is None else max_depth
            max_items = s.max_items if max_items is None else max_items
        self.max_depth = max_depth
        self.budget = max_items
        self.chains = chains
        self.found: list[Finding] = []
        self.seen: set[int] = set()
        self.path: list[Any] = []
        # (reason, path) of the first limit hit, if any
        self.truncated: tuple[str, str] | None = None

    def scan(self, value: object, root: str) -> None:
        self.path = [root]
        self._visit(value, 0)

    def _limit(self, reason: str) -> None:
        if self.truncated is None:
            self.truncated = (reason, render(self.path))

    def _take(self, n: int) -> int:
        """Charge `n` items to the budget; how many of them may be looked at."""
        budget = self.budget
        self.budget = budget - n
        if n > budget:
            self._limit("max_items")
            return max(budget, 0)
        return n

    def _visit(self, v: Any, depth: int) -> None:
        t = type(v)
        if t in ATOMIC:
            return
        if t is TaintedStr or t is TaintedBytes:
            self.found.append(Finding(tuple(self.path), _union_ranges(v._pt_ranges), v))
            return
        if issubclass(t, TaggedValue):
            self.found.append(Finding(tuple(self.path), v._self_tags, v))
            v = v.__wrapped__
            t = type(v)
        elif issubclass(t, _PROXY):
            # another library's wrapt proxy (tracing, instrumentation): what it wraps,
            # read through the C base's own getter
            if depth >= self.max_depth:
                self._limit("max_depth")
                return
            self.path.append(".__wrapped__")
            try:
                self._visit(_PROXY_TARGET(v), depth + 1)
            except Exception:  # (a proxy whose object was never set: ValueError)
                pass
            self.path.pop()
            return
        if t in ATOMIC:
            return
        if issubclass(t, _OPAQUE):
            # a subclass of str, int, ... may still hold data in attributes (`__dict__`,
            # `__slots__`): those are looked into, the value itself is not
            if not issubclass(t, _VALUES) or _layout(t) == (None, ()):
                return
            if depth >= self.max_depth:
                self._limit("max_depth")
                return
            if id(v) not in self.seen:
                self.seen.add(id(v))
                self._object(v, t, depth + 1)
            return
        if depth >= self.max_depth:
            self._limit("max_depth")
            return
        oid = id(v)
        if oid in self.seen:
            return
        self.seen.add(oid)
        if issubclass(t, dict):
            self._dict(v, t, depth + 1)
        elif issubclass(t, list | tuple):
            self._sequence(v, t, depth + 1)
        elif issubclass(t, set | frozenset):
            items = tuple(set.__iter__(v) if issubclass(t, set) else frozenset.__iter__(v))
            self._each(items, None, depth + 1)
            self._object(v, t, depth + 1)
        elif issubclass(t, collections.deque):
            self._each(tuple(collections.deque.__iter__(v)), _index_segment, depth + 1)
            self._object(v, t, depth + 1)
        elif issubclass(t, DICT_VIEWS):  # C iteration over the dict, no user code
            self._each(tuple(v), None, depth + 1)
        elif t is slice:  # (a slice holds any object)
            self._attrs([("start", v.start), ("stop", v.stop), ("step", v.step)], depth + 1)
        elif issubclass(t, functools.partial):  # what it will call the function with
            self.path.append(".args")
            self._visit(functools.partial.__dict__["args"].__get__(v), depth + 1)
            self.path[-1] = ".keywords"
            self._visit(functools.partial.__dict__["keywords"].__get__(v), depth + 1)
            self.path.pop()
            self._object(v, t, depth + 1)
        elif t is types.MappingProxyType:
            self.path.append(".keys()")
            self._each(tuple(types.MappingProxyType.keys(v)), None, depth + 1)
            self.path[-1] = ".values()"
            self._each(tuple(types.MappingProxyType.values(v)), None, depth + 1)
            self.path.pop()
        elif issubclass(t, BaseException):
            self._exception(v, t, depth + 1)
        else:
            self._object(v, t, depth + 1)

    def _each(self, items: tuple[Any, ...] | list[Any], names: Any, depth: int) -> None:
        """Visit items; `names` gives the segment of item i (None: iteration index)."""
        n = self._take(len(items))
        if n < len(items):
            items = items[:n]
        # the common case, decided in C: nothing but plain atoms
        if ATOMIC.issuperset(map(type, items)):
            return
        path = self.path
        for i, item in enumerate(items):
            if type(item) in ATOMIC:
                continue
            path.append(i if names is None else names(i))
            self._visit(item, depth)
            path.pop()

    def _sequence(self, v: Any, t: type, depth: int) -> None:
        if t is list or t is tuple:
            items = v
        elif issubclass(t, list):
            items = list(list.__iter__(v))
        else:
            items = tuple(tuple.__iter__(v))
        fields = None
        if issubclass(t, tuple) and t is not tuple:
            fields = _namedtuple_fields(t)
        if fields:
            names = fields

            def segment(i: int) -> str:
                name = names[i] if i < len(names) else None
                return _attr_segment(name) or f"[{i}]"

            self._each(items, segment, depth)
        else:
            self._each(items, lambda i: f"[{i}]", depth)
        if t is not list and t is not tuple:
            self._object(v, t, depth)

    def _dict(self, v: Any, t: type, depth: int) -> None:
        pairs = list(dict.items(v))
        n = self._take(len(pairs))
        if n < len(pairs):
            pairs = pairs[:n]
        if ATOMIC.issuperset(map(type, dict.keys(v))) and ATOMIC.issuperset(
            map(type, dict.values(v))
        ):
            if t is not dict:
                self._object(v, t, depth)
            return
        path = self.path
        for i, (key, value) in enumerate(pairs):
            if type(key) not in ATOMIC:
                path.append(i)
                self._visit(key, depth)
                path.pop()
            if type(value) not in ATOMIC:
                self._visit_named(value, _key_segment(key), ".values()", i, depth)
        if t is not dict:
            self._object(v, t, depth)

    def _object(self, v: Any, t: type, depth: int) -> None:
        dict_desc, slots = _layout(t)
        if dict_desc is None and not slots:
            return
        if t.__flags__ & _HEAP_GC == _HEAP_GC:
            # A Python class's instance: the collector sees every value it holds (its
            # slots, then its dict or inline attribute values, then its class).
            # When all are atomic there is nothing to look into, and not asking for
            # ``__dict__`` matters: CPython would turn the inline values into a dict
            # for good, slowing every later attribute read of the application's object.
            kinds = set(map(type, gc.get_referents(v)))
            kinds.discard(type(t))  # the class (a class is never looked into)
            if ATOMIC.issuperset(kinds):
                return
        if dict_desc is not None:
            try:
                attrs = dict_desc.__get__(v, t)
            except Exception:
                attrs = None
            # a dict subclass too (``obj.__dict__ = OrderedDict(...)``), read through
            # dict's own items(); an AttrDict whose __dict__ is itself was read as a dict
            if isinstance(attrs, dict) and attrs and attrs is not v:
                self._attrs(list(dict.items(attrs)), depth)
        if slots:
            pairs: list[tuple[str, Any]] = []
            for name, member in slots:
                try:
                    pairs.append((name, member.__get__(v, t)))
                except AttributeError:  # an unset slot
                    continue
            self._attrs(pairs, depth)

    def _attrs(self, pairs: list[tuple[Any, Any]], depth: int) -> None:
        n = self._take(len(pairs))
        for i, (name, value) in enumerate(pairs[:n]):
            if type(name) is not str:  # a tagged attribute name (setattr(o, tagged, v))
                self._visit_named(name, None, ".__dict__.keys()", i, depth)
            if type(value) not in ATOMIC:
                self._visit_named(value, _attr_segment(name), ".__dict__.values()", i, depth)

    def _exception(self, v: Any, t: type, depth: int) -> None:
        """Its args, the fields CPython keeps outside them (``OSError.filename``, an
        exception group's ``exceptions``, ...), the chain behind it (`chains`), and
        its own attributes."""
        self.path.append(".args")
        self._visit(_EXC_ARGS(v), depth)
        self.path.pop()
        for name, desc in _exception_fields(t):
            try:
                value = desc.__get__(v, t)
            except Exception:  # (an unset field: OSError.characters_written)
                continue
            if type(value) not in ATOMIC:
                self.path.append(f".{name}")
                self._visit(value, depth)
                self.path.pop()
        if self.chains:  # the exceptions a traceback shows behind this one
            for name, get in _EXC_CHAIN:
                linked = get(v)
                if linked is not None and not (name == "__context__" and _SUPPRESSED(v)):
                    self.path.append(f".{name}")
                    self._visit(linked, depth)
                    self.path.pop()
        self._object(v, t, depth)

    def _visit_named(self, value: Any, seg: str | None, listing: str, i: int, depth: int) -> None:
        """Visit `value` at ``seg`` (``['key']``/``.name``), or as item `i` of
        ``list(...<listing>)`` when its name is not safe or readable to show."""
        path = self.path
        if seg is None:
            path.append(listing)
            path.append(i)
            self._visit(value, depth)
            path.pop()
        else:
            path.append(seg)
            self._visit(value, depth)
        path.pop()


def _namedtuple_fields(t: type) -> tuple[str, ...] | None:
    for cls in t.__mro__:
        own = type.__dict__["__dict__"].__get__(cls)
        fields = own.get("_fields")
        if isinstance(fields, tuple):
            return fields
    return None


def report_truncation(
    scanner: Scanner, *, sink: str, use: str | None, mode: str
) -> ScanLimitExceeded | None:
    """Emit ``purpose_scan_truncated`` if a limit was hit.

    Returns the error to raise when ``on_truncate="raise"`` (the caller raises it
    after reporting any violation the partial scan found), else None.
    """
    if scanner.truncated is None:
        return None
    reason, path = scanner.truncated
    s = _settings.current()
    limit = s.max_depth if reason == "max_depth" else s.max_items
    raising = s.on_truncate == "raise"
    _events.emit(
        "error" if raising else "warning",
        "purpose_scan_truncated",
        sink=sink,
        use=use,
        mode=mode,
        argument=path,
        reason=reason,
        limit=limit,
        action="raised" if raising else "logged",
    )
    if not raising:
        return None
    return ScanLimitExceeded(
        f"{sink}: scanning {path} for {use!r} hit {reason}={limit}; raise the limit "
        f"with pt.configure({reason}=...) or pass less data"
    )


def collect_tags(
    value: object, *, sink: str = "purposetag.allows", use: str | None = None
) -> TagSet:
    """Every tag anywhere in `value` (for `allows`); a truncated scan is reported."""
    return scan_tags(value, sink=sink, use=use)[0]


def scan_tags(
    value: object, *, sink: str = "purposetag.allows", use: str | None = None
) -> tuple[TagSet, bool]:
    """Every tag found in `value`, and whether the scan was cut short by a limit
    (reported as ``purpose_scan_truncated``; raised with ``on_truncate="raise"``)."""
    scanner = Scanner()
    scanner.scan(value, "value")
    error = report_truncation(scanner, sink=sink, use=use, mode="check")
    if error is not None:
        raise error
    return _union(f.tags for f in scanner.found), scanner.truncated is not None


def _union(sets: Iterable[TagSet]) -> TagSet:
    out: set[Tag] = set()
    for s in sets:
        out |= s
    return frozenset(out)
