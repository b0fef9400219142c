"""The small functions that rewritten code calls in place of f-strings, join, format and ``%``.

Each one returns exactly what the plain operation returns (value, type, exceptions)
and adds tags only when an input carries them.  The fast path is a C-speed check
that every input is of a type that cannot carry tags; only then is anything
computed twice or in Python.
"""

from __future__ import annotations

import operator
import types
from collections.abc import Mapping
from typing import Any, TypeVar

from .. import _accel, _events
from .. import _ranges as R
from .._formatting import brace_format, brace_format_map, deep_union, percent_format
from .._proxy import TaggedValue
from .._scan import ATOMIC
from .._tainted import TaintedBytes, TaintedStr, _rng, join_tagged, mk_bytes, mk_str

_T = TypeVar("_T")

# Values of these exact types never carry tags and format to plain text.
_PLAIN = frozenset({str, int, float, bool, type(None), bytes, complex})
_all_plain = _PLAIN.issuperset
_TAINTED = frozenset({TaintedStr, TaintedBytes})
_no_tainted = _TAINTED.isdisjoint
_BuiltinMethod: Any = type("".join)
_MethodType: Any = types.MethodType
# lone `%` operands formatted by `%` itself: values that never carry tags (`ATOMIC`),
# and containers, whose tags `deep_union` has looked for
_CONTAINERS = (list, tuple, set, frozenset, dict)
_s_plain = str.__str__
_str_new = str.__new__
_slen = str.__len__  # pieces are str: a subclass's own __len__ must not move ranges
_imod: Any = operator.imod
_MARK: Any = type("_OperandMark", (), {"__repr__": lambda self: "<operand>"})()


def fstring_slow(literals: tuple[str, ...], *pieces: str) -> str:
    """The multi-part f-string from its literal parts and already formatted pieces.

    ``literals`` has one more element than ``pieces``; pieces are the results of
    single-field f-strings, so they are ``str`` (maybe `TaintedStr`).
    """
    out: list[str] = [literals[0]]
    i = 1
    for piece in pieces:
        out.append(piece)
        out.append(literals[i])
        i += 1
    return fstring_tagged("".join(out), tuple(map(len, literals[:-1])), *pieces)


def _one_piece(res: str, tp: Any, hit: int) -> str:
    """`res` carrying the ranges of its only tagged piece `tp`, written at `hit`."""
    if tp is None:
        return res
    n = len(tp)
    if not n:
        return res
    r = tp._pt_ranges
    o = _str_new(TaintedStr, res)
    if type(r) is frozenset:
        o._pt_ranges = r if n == len(res) else ((hit, hit + n, r),)
    else:
        o._pt_ranges = tuple([(a + hit, b + hit, ts) for a, b, ts in r]) if hit else r
    return o


def fstring_tagged(res: str, offsets: tuple[int, ...], *pieces: str) -> str:
    """`res`, a joined f-string, with its pieces' ranges; ``offsets[i]`` is the length
    of the literal text just before piece ``i``."""
    try:
        # One tagged piece is the common case: find it, then place its ranges once.
        pos = 0
        hit = -1
        i = 0
        tp: Any = None
        for p in pieces:
            pos += offsets[i]
            i += 1
            t = type(p)
            if t is TaintedStr:
                if hit >= 0:
                    return _fstring_ranges(res, offsets, pieces)
                hit = pos
                tp = p
            elif t is not str:  # another subclass: its own __len__ may lie
                return _fstring_ranges(res, offsets, pieces)
            pos += len(p)
        return _one_piece(res, tp, hit)
    except Exception as exc:
        return _contained("f-string", exc, res, pieces)


def _contained(where: str, exc: Exception, res: _T, sources: Any) -> _T:
    """After a failure of ours while placing tags: the plain result `res` carrying
    every tag found in `sources` (the union: never fewer), and the internal-error
    event.  The operation itself already ran, once."""
    _events.internal_error(where, exc)
    try:
        tags = deep_union(sources)
        if tags:
            plain: Any = res
            out: Any = mk_str(plain, tags) if isinstance(plain, str) else mk_bytes(plain, tags)
            return out  # type: ignore[no-any-return]
    except Exception:  # pragma: no cover - nothing left to fall back to
        pass
    return res


def _fstring_ranges(res: str, offsets: tuple[int, ...], pieces: tuple[str, ...]) -> str:
    """`fstring_tagged` for several tagged pieces, or other str subclasses among them."""
    triples: list[R.Triple] = []
    pos = 0
    for off, p in zip(offsets, pieces, strict=True):
        pos += off
        n = _slen(p)  # the real length, whatever the class says
        if type(p) is TaintedStr:
            R.place(triples, p._pt_ranges, pos, n)
        pos += n
    return mk_str(res, R.normalize(triples, len(res)))


_place = R.place


def _join_str(sep: str, items: list[Any] | tuple[Any, ...], res: str) -> str:
    """``res`` (``sep.join(items)``, `sep` a plain ``str``) with the tagged items' ranges
    (several tagged items, or other str subclasses among them)."""
    ls = len(sep)
    triples: list[R.Triple] = []
    pos = 0
    for it in items:
        n = _slen(it)  # the real length, whatever the class says
        if type(it) is TaintedStr:
            r = it._pt_ranges
            if type(r) is frozenset and not triples:
                if n:
                    triples.append((pos, pos + n, r))
            else:
                _place(triples, r, pos, n)
        pos += n + ls
    if not triples:
        return res
    if len(triples) == 1 and triples[0][0] == 0 and triples[0][1] == len(res):
        rr: Any = triples[0][2]
    else:
        rr = tuple(triples)
    o = _str_new(TaintedStr, res)
    o._pt_ranges = rr
    return o


def join_str(sep: str, items: list[Any] | tuple[Any, ...]) -> str:
    """``sep.join(items)`` for a plain ``str`` separator and a list or tuple display."""
    return join_after(sep, items, sep.join(items))  # type: ignore[no-any-return]


def join_after(head: Any, items: list[Any] | tuple[Any, ...], res: Any) -> Any:
    """`res` (the join of `items`) with the tagged items' ranges: the Python half of a
    join site.  `head` is the literal separator, or the bound ``<expr>.join`` of a
    site without one; `res` is None when that is some other object's join, not
    called yet."""
    if res is None:
        return join(head, items)
    try:
        sep = head if type(head) is str else getattr(head, "__self__", head)
        if type(sep) is not str:
            return join_tagged(sep, items)
        # One tagged item is the common case: find it, then place its ranges once.
        ls = len(sep)
        pos = 0
        hit = 0
        tp: Any = None
        for it in items:
            t = type(it)
            if t is TaintedStr:
                if tp is not None:
                    return _join_str(sep, items, res)
                hit = pos
                tp = it
            elif t is not str:  # another subclass: its own __len__ may lie
                return _join_str(sep, items, res)
            pos += len(it) + ls
        return _one_piece(res, tp, hit)
    except Exception as exc:
        return _contained("join", exc, res, items)


def ascii_(value: Any, spec: str | None = None) -> str:
    """``format(ascii(value), spec)`` keeping the tags of ``repr(value)`` (one ``__repr__``)."""
    r = repr(value)
    res = _s_plain(r).encode("ascii", "backslashreplace").decode("ascii")
    if spec is not None:
        res = format(res, spec)
    try:
        rr = _rng(r)
        if rr is None:
            return res
        if spec is None and len(res) == len(r):
            return mk_str(res, rr)
        return mk_str(res, R.union(rr))
    except Exception as exc:
        return _contained("f-string !a", exc, res, r)


def _materialize(items: Any) -> list[Any]:
    """``items`` as a list, iterated once, as ``str.join``/``bytes.join`` read it: an
    object whose ``iter()`` raises a TypeError raises join's own TypeError (asked
    once: asking the join again would call the object's ``__iter__`` a second time)."""
    try:
        it = iter(items)
    except TypeError:
        pass
    else:
        return list(it)
    # outside the handler, as CPython replaces the error: no chained context
    raise TypeError("can only join an iterable")


_JOINERS = (str, bytes, bytearray)


def _exact(s: Any) -> Any:
    """The exact ``str``/``bytes`` of `s`, a builtin method's receiver: a subclass's
    text as str's own methods read it (no ``__str__``, ``__len__``, ``__hash__`` of
    its own).  A tagged string's methods are its own, never a builtin's."""
    t = type(s)
    if t is str or t is bytes:
        return s
    if isinstance(s, str):
        return str.__getitem__(s, slice(None))
    return bytes.__getitem__(s, slice(None))


def _named(m: Any, name: str) -> bool:
    """Is `m` a builtin method named `name` (``"a".join``, not ``"a".split`` stored
    as some object's ``join``)?  Its receiver's type is the caller's to check."""
    return type(m) is _BuiltinMethod and m.__name__ == name


def join(m: Any, items: Any) -> Any:
    """``<sep>.join(items)`` where ``m`` is the already evaluated bound ``<sep>.join``."""
    ti = type(items)
    if ti is not list and ti is not tuple:
        if not (_named(m, "join") and isinstance(m.__self__, _JOINERS)):
            return m(items)  # some other object's join: it reads `items` its own way
        items = _materialize(items)
    res = m(items)
    # any tagged item?  A Python loop beats ``isdisjoint(map(...))`` on short sequences
    if len(items) <= 12:
        for x in items:
            t = type(x)
            if t is TaintedStr or t is TaintedBytes:
                break
        else:
            return res
    elif _no_tainted(map(type, items)):
        return res
    if _named(m, "join") and isinstance(m.__self__, str | bytes):
        return join_after(_exact(m.__self__), items, res)
    return res


def join_const(sep: Any, items: Any) -> Any:
    """``<sep>.join(items)`` for a literal ``str``/``bytes`` separator."""
    ti = type(items)
    if ti is not list and ti is not tuple:
        items = _materialize(items)
    res = sep.join(items)
    if len(items) <= 12:
        # items of exactly the separator's type carry no tags (one test per item)
        ts = type(sep)
        for x in items:
            if type(x) is not ts:
                break
        else:
            return res
    elif _no_tainted(map(type, items)):
        return res
    return join_after(sep, items, res)


def format_(m: Any, /, *args: Any, **kwargs: Any) -> Any:
    """``<template>.format(*args, **kwargs)`` with ``m`` the bound ``<template>.format``."""
    if _all_plain(map(type, args)) and (not kwargs or _all_plain(map(type, kwargs.values()))):
        return m(*args, **kwargs)
    if _named(m, "format") and isinstance(m.__self__, str):
        return brace_format(_exact(m.__self__), args, kwargs)
    return m(*args, **kwargs)


def _str_format(template: str, /, *args: Any, **kwargs: Any) -> Any:
    return format_(template.format, *args, **kwargs)


# Named as what it stands for: CPython names the callable in the errors of unpacking
# into a call (``str.format() argument after * must be an iterable, not int``).
_str_format.__qualname__ = _str_format.__name__ = "str.format"
_str_format.__module__ = "builtins"


def format_call(m: Any) -> Any:
    """The callable for ``<template>.format(*args, **kwargs)`` with ``m`` the bound
    ``<template>.format``: a call that unpacks (``*``, ``**``) is left to CPython, with
    the callable it names in its errors standing for ``str.format``; `m` itself when the
    template is not an exact ``str``.  (The accelerator's takes a ``**`` mapping as
    ``str.format`` does, keys unchecked; this one, a Python callable, gets CPython's
    "keywords must be strings" for a key that is not a string.)"""
    if _named(m, "format") and type(m.__self__) is str:
        return _MethodType(_str_format, m.__self__)
    return m


def _format_unpacked(template: str, args: tuple[Any, ...], kwargs: dict[Any, Any] | None) -> str:
    return brace_format(_exact(template), args, {} if kwargs is None else kwargs)


if _accel._C is not None:
    _accel._C.set_format_call(_format_unpacked)
    format_call = _accel._C.format_call


def format_map(m: Any, mapping: Any) -> Any:
    """``<template>.format_map(mapping)`` with ``m`` the bound ``<template>.format_map``."""
    if _named(m, "format_map") and isinstance(m.__self__, str):
        template = _exact(m.__self__)
        if not (type(mapping) is dict and _all_plain(map(type, mapping.values()))):
            return brace_format_map(template, mapping)
    return m(mapping)


def convert(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    """``bytes(s, encoding, errors)`` / ``str(b, encoding, errors)`` (`fn` as the code
    named it): the call itself, for its exact result and errors; for a tagged source,
    with the ranges ``s.encode(...)`` / ``b.decode(...)`` give the same text."""
    res = fn(*args, **kwargs)
    src: Any = args[0] if args else kwargs.get("object", kwargs.get("source"))
    t = type(src)
    if not (fn is bytes and t is TaintedStr) and not (fn is str and t is TaintedBytes):
        return res
    where = "bytes()" if fn is bytes else "str()"
    try:
        rest = args[1:]
        kw = {k: v for k, v in kwargs.items() if k != "source" and k != "object"}
        tagged = src.encode(*rest, **kw) if fn is bytes else src.decode(*rest, **kw)
        if tagged == res:
            return tagged
        return _contained(where, ValueError("not the same text"), res, src)
    except Exception as exc:
        return _contained(where, exc, res, src)


def _mod_tagged(a: Any, b: Any) -> Any:
    """``a % b`` for a plain str/bytes template and arguments that may carry tags."""
    if type(a) is str:
        return percent_format(a, b)
    res = a % b
    if type(res) is bytes:
        try:
            tags = deep_union(b)
            if tags:
                return mk_bytes(res, tags)
        except Exception as exc:
            _events.internal_error("bytes %", exc)
    return res


def mod(a: Any, b: Any) -> Any:
    """``a % b``: numbers stay numbers; str/bytes templates keep their arguments' tags."""
    ta = type(a)
    if ta is str or ta is bytes:
        tb = type(b)
        if tb in _PLAIN:
            return a % b
        if tb is tuple:
            if _all_plain(map(type, b)):
                return a % b
            return _mod_tagged(a, b)
        if tb is dict:
            if _all_plain(map(type, b.values())):
                return a % b
            return _mod_tagged(a, b)
        if tb is TaintedStr or tb is TaintedBytes:  # their __rmod__ keeps the tags
            return a % b if (ta is str) is (tb is TaintedStr) else _mod_tagged(a, b)
        if tb is TaggedValue:
            return _mod_tagged(a, b)
        if issubclass(tb, str | bytes):  # another str subclass: its own __rmod__ may apply
            return a % b
        if ta is str and "%(" in a and issubclass(tb, Mapping):
            # a mapping that is not a dict (UserDict, ...): its values are only seen
            # through lookups, which percent_format makes exactly as `%` does
            return percent_format(a, b)
        if deep_union(b):
            return _mod_tagged(a, b)
        if ta is str and tb not in ATOMIC and not issubclass(tb, _CONTAINERS):
            # an object whose str()/repr() may be tagged text (a user, an exception):
            # percent_format asks for it once, as `%` would, and keeps its tags
            return percent_format(a, b)
        return a % b
    return a % b


def imod(a: Any, b: Any) -> Any:
    """``a %= b`` for a plain name target: ``__imod__`` when the type has one."""
    ta = type(a)
    if ta is str or ta is bytes:
        return mod(a, b)
    res: Any = _imod(a, b)
    return res


__all__ = [
    "ascii_",
    "convert",
    "format_",
    "format_map",
    "fstring_slow",
    "fstring_tagged",
    "imod",
    "join",
    "join_const",
    "join_str",
    "mod",
]

# Names the rewritten code uses, injected into each instrumented module's globals.
GLOBALS: dict[str, Any] = {
    "_pt_MARK": _MARK,
    "_pt_fstr": fstring_tagged,
    "_pt_sjoin": "".join,
    "_pt_ascii": ascii_,
    "_pt_join": join,
    "_pt_join_const": join_const,
    "_pt_join_after": join_after,
    "_pt_brace": brace_format,
    "_pt_percent": percent_format,
    "_pt_format": format_,
    "_pt_format_call": format_call,
    "_pt_format_map": format_map,
    "_pt_mod": mod,
    "_pt_convert": convert,
    "_pt_imod": imod,
    "_pt_type": type,
    "_pt_str": str,
    "_pt_bytes": bytes,
    "_pt_plain": _PLAIN,
}
if _accel._C is not None:
    GLOBALS["_pt_Site"] = _accel._C.Site
    # plain operands need no aspect: straight to the operator (the rest: the aspect)
    # `.call`: the builtin-method entry point, which call sites specialise
    # `a % b` needs Python only for an exact str/bytes template (`mod`, `imod`)
    _texts = (str, bytes)
    GLOBALS["_pt_mod"] = _accel._C.Fast(slow=mod, fast=operator.mod, only_types=_texts).call
    GLOBALS["_pt_imod"] = _accel._C.Fast(slow=imod, fast=operator.imod, only_types=_texts).call
    # (bound method, operands...): plain operands, so the method's own result
    GLOBALS["_pt_join"] = _accel._C.Fast(slow=join, call_first=True, check_from=1).call
    GLOBALS["_pt_format"] = _accel._C.Fast(slow=format_, call_first=True, check_from=1).call
    GLOBALS["_pt_convert"] = _accel._C.Fast(slow=convert, call_first=True, check_from=1).call
    GLOBALS["_pt_format_map"] = _accel._C.Fast(slow=format_map, call_first=True, check_from=1).call
    # (literal separator, items): ``sep.join(items)``
    GLOBALS["_pt_join_const"] = _accel._C.Fast(slow=join_const, name="join").call
