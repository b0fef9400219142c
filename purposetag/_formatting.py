"""Tag-keeping ``%`` and ``str.format``: the template's ranges plus each field's.

Both split the template once (cached per template text), format one field at a
time with Python's own machinery and join the pieces with their ranges, so the
value is that of the plain operation.  Errors are those of plain ``str`` at the same
point: what user code (``__format__``, ``__str__``, a mapping's ``__getitem__``...)
or CPython's formatting of one field raises is re-raised as it is (`_Faithful`),
and the structural errors (too few arguments, numbering, missing mapping) are
raised here with CPython's messages, so nothing the user wrote runs twice.  Any
other error runs the plain operation again for its exact exception (a safety net).
A template this module does not parse is formatted by the plain operation and its
whole result carries the union of every tag involved (never fewer tags).

A piece whose text carries no ranges of its own (``%d`` of a tagged number,
``%s`` of a list holding tagged strings) carries the union of every tag found in
the value it came from.
"""

from __future__ import annotations

import collections as _col
import gc as _gc
import operator
import re
import string
import sys
from abc import ABCMeta as _ABCMeta
from typing import Any

from . import _ranges as R
from ._ranges import Ranges, Segment, TagSet
from ._tags import intern_tags
from ._tainted import TaintedBytes, TaintedStr, _rng, mk_str

_SPEC = re.compile(
    r"%(?:\(([^()]*)\))?([#0\- +]*)(\*|[0-9]+)?(?:\.(\*|[0-9]*))?[hlL]?([diouxXeEfFgGcrsa%])"
)
_FORMATTER = string.Formatter()
_EMPTY: TagSet = frozenset()
_CACHE_MAX = 2048
_s_mod = str.__mod__
_s_join = "".join
_str_new = str.__new__
_s_str = str.__str__  # an exact copy of a str subclass (whose __len__ may lie)
_frozenset = frozenset
_getitem = operator.getitem  # PyObject_GetItem: no attribute look-up on the object
_BIG = 2**31  # widths/precisions from here on: CPython's own "too big" errors, from plain `%`


_all_plain = frozenset({str, bytes, int, float, bool, type(None), complex}).issuperset


def _args(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """The items of a tuple (subclass), read without calling a user ``__iter__``."""
    return values if type(values) is tuple else tuple(tuple.__iter__(values))


# --- deep_union: every tag inside a value ------------------------------------

_LEAVES = frozenset({str, bytes, int, float, bool, type(None), complex})
_MAPPINGPROXY = type(type.__dict__)
# dict keys/values/items views (an OrderedDict's are subclasses): iterated in C
DICT_VIEWS: tuple[type, ...] = (type({}.keys()), type({}.values()), type({}.items()))
_BUILT_IN = (dict, list, tuple, set, frozenset, _col.deque, *DICT_VIEWS)
_CLASS_DICT = type.__dict__["__dict__"].__get__  # a class's own namespace, no metaclass hooks
_NOTHING: Any = object()


def _own_attribute(value: Any, t: type, name: str) -> Any:
    """The instance attribute `name` of `value` (``data`` of a UserDict, ``maps`` of
    a ChainMap), or `_NOTHING`: read only when no class of `t` defines the name,
    since a property or other descriptor there would be code of the application."""
    for cls in type.__dict__["__mro__"].__get__(t):
        if name in _CLASS_DICT(cls):
            return _NOTHING
    try:
        return object.__getattribute__(value, name)  # the instance's own storage
    except AttributeError:
        return _NOTHING


def _contents(value: Any, t: type) -> Any:
    """What `deep_union` looks into in a `value` of type `t`, read from storage (the
    base types' own iterators, the attribute holding the data), so that no
    ``__iter__``/``items``/``__getitem__``/property of a subclass runs; None when
    `value` is not a container it knows."""
    if t is list or t is tuple:
        return value
    if issubclass(t, _BUILT_IN):
        if issubclass(t, dict):
            return (*dict.keys(value), *dict.values(value))
        if issubclass(t, list):
            return tuple(list.__iter__(value))
        if issubclass(t, tuple):
            return tuple(tuple.__iter__(value))
        if issubclass(t, set):
            return tuple(set.__iter__(value))
        if issubclass(t, frozenset):
            return tuple(frozenset.__iter__(value))
        if issubclass(t, _col.deque):
            return tuple(_col.deque.__iter__(value))
        return tuple(value)  # a dict view: iterated in C over the dict's storage
    if t is _MAPPINGPROXY:
        # the mapping it shows; reading through the proxy would call that mapping's
        # own (maybe overridden) keys()/values()
        return _gc.get_referents(value)
    if isinstance(t, _ABCMeta):  # UserDict, UserList, UserString, ChainMap and subclasses
        mro = type.__dict__["__mro__"].__get__(t)
        if _col.ChainMap in mro:
            name = "maps"
        elif _col.UserDict in mro or _col.UserList in mro or _col.UserString in mro:
            name = "data"
        else:
            return None
        held = _own_attribute(value, t, name)
        return None if held is _NOTHING else (held,)
    return None


def deep_union(value: Any) -> TagSet:
    """Tags anywhere in `value`: carriers, and the containers of the standard library
    (list, tuple, set, frozenset, dict and their subclasses, dict views, deque,
    ChainMap, UserDict, UserList, UserString, mappingproxy), at any depth.

    Containers are read from their storage (see `_contents`), so no code of the
    application runs (the plain operation would not call it).  Each container is
    looked into once (cycles and shared parts cost nothing more), and there is no
    depth or size limit, so no tag is ever left out: like the operation whose
    result gets the tags, the walk makes one pass over the data.
    """
    t = type(value)
    if t is TaintedStr or t is TaintedBytes:
        return R.union(value._pt_ranges)
    if t is str or t is bytes or t is int or t is float or t is bool or value is None:
        return _EMPTY
    if issubclass(t, _proxy.TaggedValue):
        inner = deep_union(value.__wrapped__)
        return intern_tags(value._self_tags | inner) if inner else value._self_tags
    items = _contents(value, t)
    if items is None or _all_plain(map(type, items)):  # the common case, decided in C
        return _EMPTY
    stack = list(items)
    seen = {id(value): value}  # (holding what it keys: ids stay unique)
    found: list[Any] = []
    pop, push = stack.pop, stack.extend
    tagged_value = _proxy.TaggedValue
    while stack:
        v = pop()
        t = type(v)
        if t is TaintedStr or t is TaintedBytes:
            found.append(v._pt_ranges)
        elif t in _LEAVES:
            continue
        elif issubclass(t, tagged_value):
            found.append(v._self_tags)
            stack.append(v.__wrapped__)
        elif id(v) not in seen:
            items = _contents(v, t)
            if items is not None:
                seen[id(v)] = v
                push(items)
    return R.union_all(found)


def _internal(where: str, exc: Exception) -> None:
    """A failure of ours while formatting with tags: the plain operation runs again
    for the result (a user ``__format__`` or ``__str__`` before the failure runs a
    second time) and it carries the union of every tag (`_fallback`).  Reported,
    except for a template this module does not parse, which is not a failure."""
    if not isinstance(exc, _Unparsed):
        from . import _events  # (imports the policy machinery; formatting is imported first)

        _events.internal_error(where, exc)


def _fallback(plain_result: str, *sources: TagSet) -> str:
    tags = R.union_all(s or None for s in sources)
    return mk_str(plain_result, tags or None)


def _convert(value: Any, conv: str) -> str:
    """The ``!s`` / ``!r`` / ``!a`` conversion (``%s`` / ``%r`` / ``%a``)."""
    return str(value) if conv == "s" else repr(value) if conv == "r" else ascii(value)


def _value_tags(value: Any, piece: str, converted: bool = False) -> Ranges | None:
    """For a piece with no ranges of its own: every tag found in the value it came
    from (``%d`` of a tagged number, ``%s`` of a list of tagged strings, ``%a`` or
    ``{!r}`` -- `converted` -- of a tagged string whose escaped text lost them)."""
    if type(value) is TaintedStr or type(value) is TaintedBytes:
        # formatted as itself, its characters carry its tags: a piece without them
        # is padding only (``{:.0>4}``); an empty one contributes no characters
        if not converted or not len(value):
            return None
    du = deep_union(value)
    return du if du and piece else None


def _placed(
    text: str,
    piece: str,
    left: bool,
    value: Any,
    prec: int | None = None,
    converted: bool = False,
) -> Ranges | None:
    """Ranges of `piece`: `text` cut to `prec` characters (None: all of it) and padded
    on one side (`left`: the text first); `converted`: `text` is ``repr``/``ascii``
    of `value`."""
    r = _rng(text)
    if r is None:
        return _value_tags(value, piece, converted)
    n = len(piece)
    kept = len(text) if prec is None else min(len(text), max(prec, 0))
    if kept == n == len(text) and piece == text:
        return r
    if kept == 0:
        return None  # nothing of the text is in the piece: only padding
    at = 0 if left else n - kept
    if at < 0 or piece[at : at + kept] != text[:kept]:
        return R.union(r)  # not the layout expected: the whole piece (sound)
    return R.build(((at, None, 0), (kept, r, 0)), n)


def _precision(prec: str | None, star: int | None = None) -> int | None:
    """The precision a ``%`` unit applies: None, digits (``""`` is 0), or a ``*`` value."""
    if prec is None:
        return None
    if prec == "*":
        return star
    return int(prec) if prec else 0


_place = R.place


def _finish(parts: list[str], out: list[Any], pos: int) -> str:
    """Join the formatted pieces; a `TaintedStr` when `out` holds any range."""
    res = _s_join(parts)
    if not out:
        return res
    o = _str_new(TaintedStr, res)
    if len(out) == 1 and out[0][0] == 0 and out[0][1] == pos:
        o._pt_ranges = out[0][2]
    else:
        o._pt_ranges = tuple(out)
    return o


# --- printf-style `%` ----------------------------------------------------------

# A compiled template: a tuple of items; ``str`` items are literal text whose raw
# template offset follows in the next item, tuples are conversion specs.
_PCT_CACHE: dict[str, Any] = {}


class _Unparsed(Exception):
    pass


class _Faithful(Exception):
    """Carries the exception plain formatting raises at this point, to re-raise as is."""

    def __init__(self, exc: Exception) -> None:
        super().__init__()
        self.exc = exc


def _user(fn: Any, *args: Any) -> Any:
    """``fn(*args)``, a call plain formatting makes too: its exception is faithful."""
    try:
        return fn(*args)
    except Exception as exc:
        raise _Faithful(exc) from None


def _exact(text: str) -> str:
    """`text`, or an exact copy of a str subclass other than `TaintedStr` (same
    characters; its own ``__len__`` could move ranges).  For final pieces only."""
    t = type(text)
    return text if t is str or t is TaintedStr else _s_str(text)


def _user_text(fn: Any, *args: Any) -> str:
    """`_user` for a call that returns text: a str subclass other than `TaintedStr`
    becomes an exact copy (same characters), so its own ``__len__`` cannot move ranges."""
    try:
        text = fn(*args)
    except Exception as exc:
        raise _Faithful(exc) from None
    t = type(text)
    return text if t is str or t is TaintedStr else _s_str(text)


def _too_few() -> _Faithful:
    return _Faithful(TypeError("not enough arguments for format string"))


def _index_error(i: int) -> _Faithful:
    return _Faithful(IndexError(f"Replacement index {i} out of range for positional args tuple"))


_AUTO_AFTER_MANUAL = "cannot switch from manual field specification to automatic field numbering"
_MANUAL_AFTER_AUTO = "cannot switch from automatic field numbering to manual field specification"


def _field_index(head: str) -> int:
    """CPython's ``get_integer``: the index a field name's head means, or -1 (a name).

    Any Unicode decimal digits count; more than fit a Py_ssize_t is a ValueError."""
    if not head or not head.isdecimal():
        return -1
    i = int(head)
    if i > sys.maxsize:
        raise _Faithful(ValueError("Too many decimal digits in format string"))
    return i


def _is_mapping(values: Any) -> bool:
    """CPython's test in ``%`` (``PyMapping_Check``, not a tuple or str): runs no user code."""
    try:
        _s_mod("", values)  # fails with "not all arguments converted" unless a mapping
    except TypeError:
        return False
    return True


def _compile_percent(t: str) -> Any:
    """``(simple, fast, items)`` for a template, or None when this module does not parse it.

    ``items`` is the general program: ``(0, text, raw offset)`` literals and
    ``(1, key, flags, width, prec, conv)`` specs.  ``simple`` is ``(prefix, suffix)``
    for a template with one bare ``%s``; ``fast`` is ``(lead, ops)`` for one without
    mapping keys or ``*``: each op is ``(code, spec, literal after, conv, left)``.
    """
    plain = str.__str__(t)
    items: list[Any] = []
    pos = 0
    while True:
        hit = plain.find("%", pos)
        if hit < 0:
            break
        m = _SPEC.match(plain, hit)
        if m is None:
            return None
        key, flags, width, prec, conv = m.groups()
        if hit > pos:
            items.append((0, plain[pos:hit], pos))
        if conv == "%":
            if key is not None or flags or width is not None or prec is not None:
                return None
            items.append((0, "%", hit + 1))
        else:
            if key is not None and "*" in (width, prec):
                return None  # the looked-up value is the `*` argument: left to plain `%`
            if (width not in (None, "*") and int(width) >= _BIG) or (
                prec not in (None, "*", "") and int(prec) >= _BIG
            ):
                return None  # "width/precision too big": raised by plain `%`, before any call
            items.append((1, key, flags, width, prec, conv))
        pos = m.end()
    if pos < len(plain):
        items.append((0, plain[pos:], pos))
    specs = [it for it in items if it[0] == 1]
    simple = None
    if len(specs) == 1 and specs[0][1:] == (None, "", None, None, "s") and "%%" not in plain:
        i = plain.index("%")
        simple = (plain[:i], plain[i + 2 :])
    return (simple, _fast_percent(items), tuple(items))


def _fast_program(template: str, compile_: Any) -> Any:
    """The ``(lead, ops)`` part of a plain template's compiled program, or None."""
    if type(template) is not str:
        return None
    prog = compile_(template)
    return None if prog is None else prog[1]


def percent_program(template: str) -> tuple[str, tuple[Any, ...]] | None:
    """The ``(lead, ((code, operand index, spec, literal after), ...))`` program of a
    plain template whose fields are all bare ``%s``, bare ``%d``/``%i``/``%u`` or
    number conversions (codes 0, 3, 2), for the C accelerator's `%` sites (which
    format tagged operands in C); None for any other template."""
    fast = _fast_program(template, _compile_percent)
    if fast is None:
        return None
    lead, ops = fast
    if not ops or any(op[0] == 1 for op in ops):
        return None
    return lead, tuple((op[0], i, op[1], op[2]) for i, op in enumerate(ops))


def brace_program(template: str) -> tuple[str, tuple[Any, ...]] | None:
    """The same for ``template.format(...)`` with positional fields and no conversion:
    code 5 a bare field (its ``format(v, "")``), code 4 one with a format spec."""
    fast = _fast_program(template, _brace_program)
    if fast is None:
        return None
    lead, ops = fast
    if not ops or any(from_kw or conv is not None for from_kw, _k, _s, conv, _l in ops):
        return None
    return lead, tuple((4 if spec else 5, key, spec, lit) for _f, key, spec, _c, lit in ops)


def _fast_percent(items: list[Any]) -> Any:
    """The ``(lead, ops)`` program of a template with positional fields only, or None."""
    lead: list[str] = []
    ops: list[Any] = []
    lits = lead
    for item in items:
        if item[0] == 0:
            lits.append(item[1])
            continue
        _, key, flags, width, prec, conv = item
        if key is not None or width == "*" or prec == "*":
            return None
        spec = "%" + flags + (width or "") + ("." + prec if prec is not None else "")
        left = "-" in flags or (width or "").startswith("-")
        if conv == "s" and spec == "%":
            code = 0  # bare %s: the value's own str()
        elif conv in "diu" and spec == "%":
            code = 3  # bare %d: str() of an exact int, else as code 2
            spec += conv
        elif conv in "sra":
            code = 1  # str/repr/ascii, maybe padded or truncated
            spec = spec + "s" if spec != "%" else ""
        else:
            code = 2  # a number (or %c): the value's tags on the whole piece
            spec += conv
        lits = []
        ops.append([code, spec, lits, conv, left, _precision(prec)])
    if not ops:
        return None
    for op in ops:
        op[2] = "".join(op[2])
    return ("".join(lead), tuple(tuple(op) for op in ops))


def _simple(pre: str, v: str, post: str, tr: Ranges | None) -> str:
    """``pre + v + post`` for a template that is `pre`, one bare two-character field
    (``%s`` or ``{}``) and `post`."""
    res = _s_join((pre, v, post))
    vr = v._pt_ranges if type(v) is TaintedStr else None
    lp = len(pre)
    lv = len(v)
    if tr is None:
        if vr is None or not lv:
            return res
        o = str.__new__(TaintedStr, res)
        if type(vr) is _frozenset:
            o._pt_ranges = ((lp, lp + lv, vr),) if pre or post else vr
        else:
            o._pt_ranges = R.build(((lp, None, 0), (lv, vr, 0)), len(res))  # type: ignore[assignment]
        return o
    lt = len(res)
    if type(tr) is _frozenset and (vr is None or vr is tr):
        if vr is tr and lv:
            return mk_str(res, tr)
        e = lp + lv
        if lp and e < lt:
            r2: Any = ((0, lp, tr), (e, lt, tr)) if lv else tr
        elif lp:
            r2 = ((0, lp, tr),)
        elif e < lt:
            r2 = ((e, lt, tr),)
        else:
            return res
        o = str.__new__(TaintedStr, res)
        o._pt_ranges = r2
        return o
    segs: list[Segment] = [(lp, tr, 0), (lv, vr, 0), (len(post), tr, lp + 2)]
    return mk_str(res, R.build(segs, lt))


def percent_format(template: str, values: Any) -> str:
    """``template % values`` keeping the template's and each value's tags."""
    prog = _PCT_CACHE.get(template, _Unparsed)
    if prog is _Unparsed:
        prog = _compile_percent(template)
        if len(_PCT_CACHE) >= _CACHE_MAX:
            _PCT_CACHE.clear()
        _PCT_CACHE[str.__str__(template)] = prog
    tt = type(template)
    tr = template._pt_ranges if tt is TaintedStr else None  # type: ignore[attr-defined]
    if prog is None:
        res = _s_mod(str.__str__(template), values)  # raises what plain str raises
        return _fallback(res, R.union(tr), deep_union(values))
    simple, fast, items = prog
    if simple is not None:
        v = values
        if issubclass(type(v), tuple):  # CPython takes any tuple subclass as the arguments
            v = _args(v)
            v = v[0] if len(v) == 1 else _Unparsed
        tv = type(v)
        if tv is TaintedStr or tv is str:
            return _simple(simple[0], v, simple[1], tr)
    try:
        if fast is not None and tr is None:
            if issubclass(type(values), tuple):
                args = _args(values)
                if len(args) == len(fast[1]):
                    return _run_percent_fast(fast[0], fast[1], args)
            elif len(fast[1]) == 1:
                return _run_percent_fast(fast[0], fast[1], (values,))
        return _run_percent(items, tr, values)
    except _Faithful as f:
        exc = f.exc
    except Exception as bug:
        _internal("%", bug)
        res = _s_mod(str.__str__(template), values)
        return _fallback(res, R.union(tr), deep_union(values))
    raise exc


def _run_percent_fast(lead: str, ops: Any, args: tuple[Any, ...]) -> str:
    """A plain template with positional fields only, `args` one value per field."""
    parts = [lead]
    out: list[R.Triple] = []
    pos = len(lead)
    i = 0
    for code, spec, lit, conv, left, prec in ops:
        v = args[i]
        i += 1
        tv = type(v)
        if code == 0:
            if tv is TaintedStr:
                piece = v
                pr = v._pt_ranges
            elif tv is str:
                piece = v
                pr = None
            else:
                piece = _user_text(str, v)
                pr = _rng(piece)
                if pr is None and tv is not int and tv is not float:
                    pr = _value_tags(v, piece)
        elif code == 3 and tv is int:
            piece = _user(str, v)  # a huge int raises ValueError, as `%` does
            pr = None
        elif code >= 2:
            piece = _user(_s_mod, spec, (v,))
            if tv is int or tv is float:
                pr = None
            else:
                pr = deep_union(v) or None
        else:
            text = _user(_convert, v, conv)  # (may be a subclass: `%` calls its __str__)
            piece = _user(_s_mod, spec, (text,)) if spec else text
            text, piece = _exact(text), _exact(piece)
            pr = _placed(text, piece, left, v, prec, conv != "s")
        parts.append(piece)
        if pr is not None:
            _place(out, pr, pos, len(piece))
        pos += len(piece)
        parts.append(lit)
        pos += len(lit)
    return _finish(parts, out, pos)


def _run_percent(prog: Any, tr: Ranges | None, values: Any) -> str:
    tv = type(values)
    if issubclass(tv, tuple):
        positional: Any = _args(values)
        mapping: Any = None
    else:
        positional = (values,)
        mapping = values if not issubclass(tv, str) and _is_mapping(values) else None
    pieces: list[str] = []
    segs: list[Segment] = []
    ai = 0
    for item in prog:
        if item[0] == 0:
            text = item[1]
            pieces.append(text)
            segs.append((len(text), tr, item[2]))
            continue
        _, key, flags, width, prec, conv = item
        stars: list[int] = []  # `*` values, handed to `%` itself (its checks, its errors)
        left = "-" in flags
        if width == "*":
            if ai >= len(positional):
                raise _too_few()
            w = positional[ai]
            if not issubclass(type(w), int):
                raise _Faithful(TypeError("* wants int"))
            stars.append(w)
            left = left or w < 0
            ai += 1
        star: int | None = None
        if prec == "*":
            if ai >= len(positional):
                raise _too_few()
            p = positional[ai]
            if not issubclass(type(p), int):
                raise _Faithful(TypeError("* wants int"))
            stars.append(p)
            star = int(p)
            ai += 1
        if key is not None:
            if mapping is None:
                raise _Faithful(TypeError("format requires a mapping"))
            value = _user(_getitem, mapping, key)
            # CPython: the looked-up value is now the only argument, and it is used
            positional, ai = (value,), 1
        else:
            if ai >= len(positional):
                raise _too_few()
            value = positional[ai]
            ai += 1
        if conv in "sra":
            text = _user(_convert, value, conv)  # (may be a subclass: `%` calls its __str__)
            if width is None and prec is None:
                piece = text
            else:
                spec = "%" + flags + (width or "") + ("." + prec if prec is not None else "")
                piece = _user(_s_mod, spec + "s", (*stars, text))
            text, piece = _exact(text), _exact(piece)
            pr = _placed(text, piece, left, value, _precision(prec, star), conv != "s")
        else:
            spec = "%" + flags + (width or "") + ("." + prec if prec is not None else "")
            piece = _user(_s_mod, spec + conv, (*stars, value))
            pr = deep_union(value) or None
        pieces.append(piece)
        segs.append((len(piece), pr, 0))
    if ai < len(positional) and mapping is None:
        raise _Faithful(TypeError("not all arguments converted during string formatting"))
    if ai > len(positional):  # pragma: no cover - IndexError above
        raise _Unparsed
    res = _s_join(pieces)
    return mk_str(res, R.build(segs, len(res)))


# --- str.format ------------------------------------------------------------------

_BRACE_CACHE: dict[str, Any] = {}


def _literal_segments(literal: str, raw_pos: int, segs: list[tuple[int, int]]) -> int:
    """(length, raw offset) runs for a literal chunk whose braces are doubled in the raw."""
    i = 0
    n = len(literal)
    while i < n:
        j = i
        while j < n and literal[j] not in "{}":
            j += 1
        if j > i:
            segs.append((j - i, raw_pos))
            raw_pos += j - i
        if j < n:  # an escaped brace: two raw characters, one output
            segs.append((1, raw_pos))
            raw_pos += 2
            j += 1
        i = j
    return raw_pos


def _field_end(raw: str, start: int) -> int:
    """Index just past the field that opens at raw[start] == '{'."""
    depth = 0
    i = start
    n = len(raw)
    while i < n:
        c = raw[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise _Unparsed


def _compile_brace(t: str) -> Any:
    """A tuple of items: (0, text, raw-runs) literals and (1, field, spec, conv, kind, key)."""
    plain = str.__str__(t)
    items: list[Any] = []
    raw = 0
    try:
        for literal, field, spec, conv in _FORMATTER.parse(plain):
            if literal:
                runs: list[tuple[int, int]] = []
                raw = _literal_segments(literal, raw, runs)
                items.append((0, literal, tuple(runs)))
            if field is None:
                continue
            end = _field_end(plain, raw)
            inner = plain[raw + 1 : end - 1]
            head = field + ("!" + conv if conv else "")
            if inner not in (head + (":" + spec if spec else ""), head + ":" + (spec or "")):
                return None
            raw = end
            key: str | int | None
            if "." in field or "[" in field:
                kind, key = 3, field
            elif field == "":
                kind, key = 0, None
            elif field.isdecimal():
                if int(field) > sys.maxsize:
                    return None  # "Too many decimal digits": raised by plain str.format
                kind, key = 1, int(field)
            else:
                kind, key = 2, field
            items.append((1, field, spec or "", conv, kind, key))
        if raw != len(plain):
            return None
    except (ValueError, _Unparsed):
        return None
    fields = [it for it in items if it[0] == 1]
    simple = None
    if len(fields) == 1 and fields[0][2:5] == ("", None, 0) and "{{" not in plain:
        i = plain.find("{}")  # one bare "{}" and no escaped braces: raw == output
        if i >= 0 and "}}" not in plain:
            simple = (plain[:i], plain[i + 2 :])
    return (simple, _fast_brace(items), tuple(items))


def _fast_brace(items: list[Any]) -> Any:
    """``(lead, ops)`` for a template whose fields are plain names or numbers, or None.

    Each op is ``(from kwargs, key, spec, conv, literal after)``; automatic numbering
    is resolved here.
    """
    lead: list[str] = []
    ops: list[Any] = []
    lits = lead
    auto = manual = False
    for item in items:
        if item[0] == 0:
            lits.append(item[1])
            continue
        _, _field, spec, conv, kind, key = item
        if kind == 3 or "{" in spec or conv not in (None, "r", "s", "a"):
            return None
        if kind == 0:
            auto = True
            key = sum(1 for op in ops if not op[0])
        elif kind == 1:
            manual = True
        lits = []
        ops.append([kind == 2, key, spec, conv, lits])
    if not ops or (auto and manual):
        return None
    for op in ops:
        op[4] = "".join(op[4])
    return ("".join(lead), tuple(tuple(op) for op in ops))


def _expand_spec(spec: str, args: Any, kwargs: Any, auto: list[int], depth: int) -> str:
    if "{" not in spec:
        return spec
    if depth <= 0:
        raise _Faithful(ValueError("Max string recursion exceeded"))
    out: list[str] = []
    for literal, field, sub_spec, conv in _FORMATTER.parse(spec):
        out.append(literal)
        if field is not None:
            obj = _get(field, args, kwargs, auto)
            if conv:
                obj = _user(_FORMATTER.convert_field, obj, conv)
            inner = _expand_spec(sub_spec or "", args, kwargs, auto, depth - 1)
            out.append(str.__str__(_user_text(format, obj, inner)))
    return "".join(out)


def _get(field: str, args: Any, kwargs: Any, auto: list[int]) -> Any:
    """The object a field names; ``auto`` = [next auto index, manual used (0/1)]."""
    head = field
    for i, c in enumerate(field):
        if c in ".[":
            head = field[:i]
            break
    if head == "":
        if auto[1]:
            raise _Faithful(ValueError(_AUTO_AFTER_MANUAL))
        index = auto[0]
        field = str(index) + field
        auto[0] += 1
    else:
        index = _field_index(head)
        if index >= 0:
            if auto[0]:
                raise _Faithful(ValueError(_MANUAL_AFTER_AUTO))
            auto[1] = 1
            field = str(index) + field[len(head) :]
    if index >= 0:
        if args is None:  # format_map
            raise _Faithful(ValueError("Format string contains positional fields"))
        if index >= len(args):
            raise _index_error(index)
    # the rest (kwargs[name], attributes, items) is user code or a plain KeyError
    obj, _ = _user(_FORMATTER.get_field, field, args, kwargs)
    return obj


def _run_brace(prog: Any, tr: Ranges | None, args: Any, kwargs: Any) -> str:
    pieces: list[str] = []
    segs: list[Segment] = []
    auto = [0, 0]
    tagged = tr is not None
    whole = tr is None or type(tr) is _frozenset
    for item in prog:
        if item[0] == 0:
            text = item[1]
            pieces.append(text)
            if whole:
                segs.append((len(text), tr, 0))
            else:
                for ln, off in item[2]:
                    segs.append((ln, tr, off))
            continue
        _, field, spec, conv, kind, key = item
        if kind == 0:
            if auto[1]:
                raise _Faithful(ValueError(_AUTO_AFTER_MANUAL))
            if auto[0] >= len(args):
                raise _index_error(auto[0])
            obj = args[auto[0]]
            auto[0] += 1
        elif kind == 1:
            if auto[0]:
                raise _Faithful(ValueError(_MANUAL_AFTER_AUTO))
            auto[1] = 1
            if key >= len(args):
                raise _index_error(key)
            obj = args[key]
        elif kind == 2:
            obj = _user(_getitem, kwargs, key)
        else:
            obj = _get(field, args, kwargs, auto)
        src = obj
        if conv:
            obj = _user(_FORMATTER.convert_field, obj, conv)
        to = type(obj)
        if not spec and (to is TaintedStr or to is str):
            piece = obj
            pr = obj._pt_ranges if to is TaintedStr else None
        else:
            if "{" in spec:
                spec = _expand_spec(spec, args, kwargs, auto, 1)
            piece = _user_text(format, obj, spec)
            pr = _rng(piece)
        if pr is None:
            # !r / !a text built by C code (a list's repr, escapes) has lost the tags
            # of the value it shows: all of them, on the whole piece
            pr = _value_tags(src, piece, conv is not None and conv != "s")
        if pr is not None:
            tagged = True
        pieces.append(piece)
        segs.append((len(piece), pr, 0))
    res = _s_join(pieces)
    if not tagged:
        return res
    return mk_str(res, R.build(segs, len(res)))


def _brace_program(template: str) -> Any:
    prog = _BRACE_CACHE.get(template, _Unparsed)
    if prog is _Unparsed:
        prog = _compile_brace(template)
        if len(_BRACE_CACHE) >= _CACHE_MAX:
            _BRACE_CACHE.clear()
        _BRACE_CACHE[str.__str__(template)] = prog
    return prog


def brace_format(template: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """``template.format(*args, **kwargs)`` keeping tags of the template and each field."""
    prog = _BRACE_CACHE.get(template, _Unparsed)
    if prog is _Unparsed:
        prog = _brace_program(template)
    tr = template._pt_ranges if type(template) is TaintedStr else None
    if prog is not None:
        simple, fast, items = prog
        if simple is not None:
            v = args[0] if args else None
            tv = type(v)
            if tv is TaintedStr or tv is str:
                return _simple(simple[0], v, simple[1], tr)  # type: ignore[arg-type]
        try:
            if fast is not None and tr is None:
                return _run_brace_fast(fast[0], fast[1], args, kwargs)
            return _run_brace(items, tr, args, kwargs)
        except _Faithful as f:
            exc: Exception | None = f.exc
        except Exception as bug:
            _internal("str.format", bug)
            exc = None
        if exc is not None:
            raise exc
    res = str.format(str.__str__(template), *args, **kwargs)  # raises what plain str raises
    return _fallback(res, R.union(tr), deep_union(args), deep_union(kwargs))


def _run_brace_fast(lead: str, ops: Any, args: Any, kwargs: Any) -> str:
    """A plain template whose fields name an argument directly (see `_fast_brace`)."""
    parts = [lead]
    out: list[R.Triple] = []
    pos = len(lead)
    for from_kw, key, spec, conv, lit in ops:
        if from_kw:
            obj = _user(_getitem, kwargs, key)
        elif key >= len(args):
            raise _index_error(key)
        else:
            obj = args[key]
        src = obj
        if conv is not None:
            obj = _user(_convert, obj, conv)  # (may be a subclass: format() calls its own)
        to = type(obj)
        if spec or (to is not TaintedStr and to is not str):
            raw = _user(format, obj, spec)
            piece = _exact(raw)
            pr = _rng(piece)
            if pr is None and to is not int and to is not float and to is not str:
                pr = _value_tags(obj, piece)
            if pr is None and piece is not raw and not lead and not lit and len(ops) == 1:
                # the whole template one field: str.format gives back what __format__
                # returned, a str subclass included
                return raw  # type: ignore[no-any-return]
        else:
            piece = obj
            pr = obj._pt_ranges if to is TaintedStr else None
        if pr is None and conv is not None and conv != "s":
            pr = _value_tags(src, piece, True)  # repr/ascii text that lost the tags
        parts.append(piece)
        if pr is not None:
            _place(out, pr, pos, len(piece))
        pos += len(piece)
        parts.append(lit)
        pos += len(lit)
    return _finish(parts, out, pos)


def _positional(item: Any) -> bool:
    """Does a compiled brace item name a positional argument?"""
    if item[0] != 1:
        return False
    field = item[1]
    if item[4] == 3:
        head = re.split(r"[.\[]", field, maxsplit=1)[0]
        return head == "" or head.isdecimal()
    return item[4] in (0, 1)


def brace_format_map(template: str, mapping: Any) -> str:
    """``template.format_map(mapping)`` keeping tags."""
    prog = _brace_program(template)
    tr = template._pt_ranges if type(template) is TaintedStr else None
    # (positional fields: CPython's own error, from the plain operation below)
    if prog is not None and not any(_positional(item) for item in prog[2]):
        try:
            return _run_brace(prog[2], tr, None, mapping)  # (args None: positional fields fail)
        except _Faithful as f:
            exc: Exception | None = f.exc
        except Exception as bug:
            _internal("str.format_map", bug)
            exc = None
        if exc is not None:
            raise exc
    res = str.format_map(str.__str__(template), mapping)
    return _fallback(res, R.union(tr), deep_union(mapping))


from . import _proxy  # noqa: E402  (the proxy module imports the carriers)
