"""Applying and undoing the stdlib patches, and the helpers every patch shares.

A patch replaces a module attribute (or a class attribute) and remembers the
original, so `restore_all()` puts everything back.  A patched function always
computes the original result first; tags are added only when an input carries
some, and any failure while computing them returns the original result and emits
the internal-error event.
"""

from __future__ import annotations

import collections
import types
from collections.abc import Callable
from typing import Any

from .. import _accel, _events
from .. import _ranges as R
from .._accel import fast
from .._formatting import deep_union
from .._proxy import TaggedValue, tag_result
from .._ranges import TagSet
from .._scan import _layout
from .._tags import intern_tags
from .._tainted import TaintedBytes, TaintedStr
from . import _codepatch

_PLAIN = frozenset({str, bytes, int, float, bool, type(None), complex})
_SCALARS = frozenset({int, float, bool, type(None), complex})
_str_new = str.__new__
all_plain = _PLAIN.issuperset
_EMPTY: TagSet = frozenset()
_MISSING: Any = object()

# (owner object, attribute name) -> original value
_originals: dict[tuple[Any, str], Any] = {}


class _Unbound(staticmethod):  # type: ignore[type-arg]
    """A patched builtin without the accelerator: callable, and, like the builtin it
    replaces (``digest = hashlib.sha256`` in a class body), not bound as a method."""

    __slots__ = ()

    def __reduce__(self) -> str:
        return self.__qualname__  # by reference


def _as_original(owner: types.ModuleType, name: str, orig: Any, replacement: Any) -> Any:
    """`replacement` for ``owner.name``, behaving there as `orig` did: pickled by
    reference as ``owner.name`` (pickle looks it up by ``__module__`` and
    ``__qualname__``), and not bound as a method on a class when `orig` is not."""
    if isinstance(replacement, type) or not callable(replacement):
        return replacement
    if not hasattr(type(orig), "__get__") and hasattr(type(replacement), "__get__"):
        if _accel._C is not None and type(replacement) is _accel._C.Fast:
            replacement = _accel._C.unbind(replacement)
            if type(orig) is types.BuiltinFunctionType:
                # a builtin function itself, which call sites specialise (or, for
                # the simple lane, the same FastFunction)
                replacement = _accel._C.front(
                    replacement, name, _front_doc(orig, name), owner.__name__, orig
                )
        elif isinstance(replacement, types.FunctionType):
            replacement = _Unbound(replacement)  # its __wrapped__ is the function
    for attr, value in (("__module__", owner.__name__), ("__qualname__", name)):
        try:
            setattr(replacement, attr, value)
        except (AttributeError, TypeError):  # read-only (a builtin's __qualname__)
            pass
    return replacement


def _front_doc(orig: Any, name: str) -> str | None:
    """`orig`'s internal doc for a builtin named `name`: its text signature (which
    CPython reads only under the function's own name) and its docstring."""
    sig = getattr(orig, "__text_signature__", None)
    doc = getattr(orig, "__doc__", None)
    if not isinstance(sig, str):
        return doc if isinstance(doc, str) else None
    return f"{name}{sig}\n--\n\n{doc if isinstance(doc, str) else ''}"


def original_of(fn: Any) -> Any:
    """The original a patched callable stands for (`fn` itself when it is not one).
    Only `fn`'s own ``__dict__`` is read: an object answering any attribute through
    ``__getattr__`` is not asked (nor made to raise)."""
    if _accel._C is not None:
        parts = _accel._C.front_parts(fn)
        if parts is not None:
            return parts[1]
    try:
        own = object.__getattribute__(fn, "__dict__")
    except AttributeError:
        return fn
    return own.get("_pt_original", fn) if type(own) is dict else fn


def patch(owner: Any, name: str, replacement: Any) -> None:
    """Set ``owner.name = replacement``, remembering the original once."""
    key = (owner, name)
    if key in _originals:
        return
    _originals[key] = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    if isinstance(owner, types.ModuleType):
        replacement = _as_original(owner, name, _originals[key], replacement)
    if hasattr(replacement, "__dict__") and callable(replacement):
        try:
            replacement._pt_original = _originals[key]
        except (AttributeError, TypeError):
            pass
    setattr(owner, name, replacement)


def original(owner: Any, name: str) -> Any:
    """The unpatched value of ``owner.name`` (for a function patched in place, a copy
    of it running its original code)."""
    key = (owner, name)
    if key in _originals:
        return _originals[key]
    value = getattr(owner, name)
    return _codepatch.clone(value) if _codepatch.patched(value) else value


def restore_all() -> None:
    """Every replaced attribute and every function patched in place back as it was."""
    for (owner, name), value in reversed(list(_originals.items())):
        setattr(owner, name, value)
    _originals.clear()
    _codepatch.restore_all()


_CONTAINERS = (list, tuple, set, frozenset)


def has_tags(value: Any, depth: int = 32) -> bool:
    """Is `tags_in(value)` non-empty?  A plain scan with early exits, no set building.

    Exact dicts, lists and tuples (a JSON document, a row, an argument tuple) are
    walked in loops that look at nothing but the type of a plain string or number.
    Below `depth` levels, and for every type the loops do not know, the answer is
    `tags_in`'s, which has no limit: a limit never turns into "no tags".
    """
    t = type(value)
    if t is dict and depth > 0:
        for v in dict.values(value):
            tv = type(v)
            if tv is str or tv in _PLAIN:
                continue
            if tv is list and depth > 1:  # a list in a document: one call fewer per list
                for x in v:
                    tx = type(x)
                    if tx is not str and tx not in _PLAIN and has_tags(x, depth - 2):
                        return True
            elif has_tags(v, depth - 1):
                return True
        for k in dict.keys(value):
            tk = type(k)
            if tk is not str and tk not in _PLAIN and has_tags(k, depth - 1):
                return True
        return False
    if t is str or t in _PLAIN:
        return False
    if t is TaintedStr or t is TaintedBytes or t is TaggedValue:
        return True
    if depth <= 0:
        return bool(deep_union(value))  # deeper: the walk without a depth limit
    if t is list or t is tuple:
        for v in value:
            tv = type(v)
            if tv is not str and tv not in _PLAIN and has_tags(v, depth - 1):
                return True
        return False
    if isinstance(value, dict):
        for k, v in dict.items(value):  # a subclass's items() is not ours to run
            tv = type(v)
            if tv is not str and tv not in _PLAIN and has_tags(v, depth - 1):
                return True
            tk = type(k)
            if tk is not str and tk not in _PLAIN and has_tags(k, depth - 1):
                return True
        return False
    if t in _CONTAINERS or isinstance(value, _CONTAINERS):
        base = t if t in _CONTAINERS else next(b for b in _CONTAINERS if isinstance(value, b))
        for v in base.__iter__(value):  # nor its __iter__
            tv = type(v)
            if tv is not str and tv not in _PLAIN and has_tags(v, depth - 1):
                return True
        return False
    # proxies, and the containers only `deep_union` knows (deque, ChainMap, UserDict...)
    return bool(deep_union(value))


def tags_in(value: Any) -> TagSet:
    """Tags anywhere in `value` (carriers and containers, at any depth); empty fast
    for plain values."""
    return deep_union(value)


def args_tags(args: tuple[Any, ...], kwargs: dict[str, Any]) -> TagSet:
    """Tags in any argument; cheap when all are plain scalars."""
    if not has_tags(args, 33) and (not kwargs or not has_tags(kwargs, 33)):
        return _EMPTY
    found = [tags_in(a) or None for a in args]
    found.extend(tags_in(v) or None for v in kwargs.values())
    return R.union_all(found)


def tag_deep(value: Any, tags: TagSet) -> Any:
    """`value` with `tags` added to every string / bytes inside it (containers rebuilt).

    Numbers stay plain numbers: proxies would change ``type()`` and break callers
    such as a later ``json.dumps``.
    """
    if not tags:
        return value
    return _deep(value, intern_tags(tags), None)


def _tag_deep(value: Any, tags: TagSet, keys: dict[str, str] | None) -> Any:
    """`tag_deep` below the top.  The bulk of a parsed document is plain strings in
    exact dicts and lists: those are handled in the loops, each plain string
    getting the one shared `tags` object as its ranges.  Inside a list or tuple,
    `keys` maps a plain dict key to its tagged copy, so a list of records shares one
    tagged string per key name (as the json parser shares the plain ones); outside
    any (`keys` None), a key is copied as any string is: the keys of one object
    differ, and looking each up in a cache cost more than the copy.
    """
    t = type(value)
    if t is dict:
        new: Any = {}
        for k, v in dict.items(value):
            if type(k) is str:
                tk: Any = None if keys is None else keys.get(k)
                if tk is None:
                    tk = _str_new(TaintedStr, k)
                    tk._pt_ranges = tags
                    if keys is not None:
                        keys[k] = tk
                k = tk
            else:
                k = _tag_deep(k, tags, keys)
            tv = type(v)
            if tv is str:
                o = _str_new(TaintedStr, v)
                o._pt_ranges = tags
                new[k] = o
            elif tv in _SCALARS:
                new[k] = v
            else:
                new[k] = _tag_deep(v, tags, keys)
        return new
    if t is list:
        out: list[Any] = []
        append = out.append
        if keys is None:  # the records of this list share their tagged keys
            keys = {}
        for v in value:
            tv = type(v)
            if tv is str:
                o = _str_new(TaintedStr, v)
                o._pt_ranges = tags
                append(o)
            elif tv in _SCALARS:
                append(v)
            else:
                append(_tag_deep(v, tags, keys))
        return out
    if t is str:
        o = _str_new(TaintedStr, value)
        o._pt_ranges = tags
        return o
    if t in _SCALARS:
        return value
    if isinstance(value, str | bytes) or issubclass(t, TaggedValue):
        return tag_result(value, tags)
    # Other containers keep their type: a new instance of it (the value given is
    # never changed) holding the tagged items, with the old one's attributes.  They
    # are read and filled through the methods of their nearest built-in base, never
    # through a subclass's own items(), __iter__, __setitem__, copy() or constructor.
    if issubclass(t, dict):
        before: list[Any] = []
        after: list[Any] = []
        for k, v in dict.items(value):  # keys and values in turn
            before.append(k)
            before.append(v)
            after.append(_tag_deep(k, tags, keys))
            after.append(_tag_deep(v, tags, keys))
        if not _changed(before, after):
            return value
        return _rebuilt(t, value, list(zip(after[::2], after[1::2], strict=True)))
    if issubclass(t, list | tuple):
        if keys is None:
            keys = {}
        before = list(list.__iter__(value) if issubclass(t, list) else tuple.__iter__(value))
        after = [_tag_deep(v, tags, keys) for v in before]
        if not _changed(before, after):
            return value
        return tuple(after) if t is tuple else _rebuilt(t, value, after)
    if issubclass(t, set | frozenset):
        before = list(set.__iter__(value) if issubclass(t, set) else frozenset.__iter__(value))
        after = [_tag_deep(v, tags, keys) for v in before]
        if not _changed(before, after):
            return value
        items = set(value)  # a copy of the hash table: the items are not hashed again
        for a, b in zip(before, after, strict=True):
            if a is not b:
                items.discard(a)
                items.add(b)
        if t is set:
            return items
        return frozenset(items) if t is frozenset else _rebuilt(t, value, items)
    return value


_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement


def _filler(setitem: Callable[[Any, Any, Any], None]) -> Callable[[Any, Any], None]:
    def fill(mapping: Any, pairs: Any) -> None:
        for k, v in pairs:
            setitem(mapping, k, v)

    return fill


# how `_rebuilt` fills a new instance, per built-in base
_FILLED: dict[type, Callable[[Any, Any], None]] = {
    dict: _filler(dict.__setitem__),
    collections.OrderedDict: _filler(collections.OrderedDict.__setitem__),  # keeps its order
    collections.defaultdict: _filler(dict.__setitem__),
    list: list.extend,
    set: set.update,
}
_DEFAULT_FACTORY = collections.defaultdict.__dict__["default_factory"]


def _builtin_base(t: type) -> Any:
    """The first class of `t`'s MRO that is not a Python class: `dict` for an
    ``AttrDict``, ``OrderedDict`` for a subclass of it, `t` itself for a C type.
    (``collections``' C types are heap types from Python 3.12 on: known by name.)"""
    for cls in type.__dict__["__mro__"].__get__(t):
        if cls in _FILLED or cls is tuple or cls is frozenset or not cls.__flags__ & _HEAPTYPE:
            return cls
    return object  # pragma: no cover - object is in every MRO


def _changed(old: list[Any], new: list[Any]) -> bool:
    """Did tagging give any item other than the one it was?"""
    return any(a is not b for a, b in zip(old, new, strict=True))


def _rebuilt(t: type, old: Any, items: Any) -> Any:
    """A new instance of `t` (a container type other than exact dict, list, tuple,
    set) holding `items` (for a mapping, its pairs), made as ``base.__new__(t)`` and
    filled through `base`'s methods, or ``base.__new__(t, items)`` for a tuple or a
    frozenset (what ``namedtuple._make`` does), so that no ``__new__``/``__init__``/
    ``__setitem__`` of the class runs; with `old`'s attributes (its ``__dict__``,
    shallow-copied -- an ``AttrDict``'s, which is itself, is the new one itself --,
    its slots, a defaultdict's ``default_factory``).  `old` itself when `t` is built on
    a C container type this does not know (its C state could not be copied)."""
    base = _builtin_base(t)
    new: Any
    if base is tuple or base is frozenset:
        new = base.__new__(t, items)
    elif base in _FILLED:
        new = base.__new__(t)
        _FILLED[base](new, items)
        if base is collections.defaultdict:
            _DEFAULT_FACTORY.__set__(new, _DEFAULT_FACTORY.__get__(old, t))
    else:
        return old
    dict_desc, slots = _layout(t)
    if dict_desc is not None:
        state = dict_desc.__get__(old, t)
        if state is old:
            dict_desc.__set__(new, new)
        elif state:
            dict_desc.__set__(new, dict(state))
    for _name, member in slots:
        try:
            member.__set__(new, member.__get__(old, t))
        except AttributeError:  # an unset slot
            continue
    return new


def _c_tag_deep() -> Callable[[Any, TagSet, dict[str, str] | None], Any]:
    """`_tag_deep` in C (its dicts, lists, strings and numbers; the rest calls back
    the Python function), or the Python function itself when the accelerator is not
    loaded or does not accept `TaintedStr` (its `_pt_ranges` slot is checked)."""
    if _accel._C is None:
        return _tag_deep
    try:
        _accel._C.set_tag_deep(TaintedStr, _tag_deep)
    except (AttributeError, TypeError):  # pragma: no cover - an unexpected TaintedStr
        return _tag_deep
    fn: Callable[[Any, TagSet, dict[str, str] | None], Any] = _accel._C.tag_deep
    return fn


_deep = _c_tag_deep()


def tagging_wrapper(fn: Callable[..., Any], where: str, *, deep: bool = True) -> Callable[..., Any]:
    """A wrapper of `fn` whose result carries (deeply) the union of its arguments' tags."""

    # `first` is positional-only so the common one-argument call builds no tuple
    def wrapper(first: Any = _MISSING, /, *args: Any, **kwargs: Any) -> Any:
        if not args and not kwargs and first is not _MISSING:
            res = fn(first)
            t = type(first)
            if t is str or t in _PLAIN:
                return res
            args = (first,)
        else:
            if first is not _MISSING:
                args = (first, *args)
            res = fn(*args, **kwargs)
            for a in (*args, *kwargs.values()) if kwargs else args:  # usually plain strings
                t = type(a)
                if t is not str and t not in _PLAIN:
                    break
            else:
                return res
        return tagged_result(res, args, kwargs, where, deep)

    return named_fast(wrapper, fn)


def tagged_result(
    res: Any, args: tuple[Any, ...], kwargs: dict[str, Any], where: str, deep: bool = True
) -> Any:
    """`res`, what a function returned for `args`/`kwargs`, carrying (deeply) the
    union of their tags; `res` itself when they carry none, or when it is one of them
    given back (its tags are its own).  A failure logs the internal-error event and
    gives `res`."""
    try:
        if not has_tags(args, 33) and (not kwargs or not has_tags(kwargs, 33)):
            return res
        if any(res is a for a in args) or any(res is v for v in kwargs.values()):
            return res
        tags = args_tags(args, kwargs)
        if tags:
            return tag_deep(res, tags) if deep else tag_result(res, tags)
    except Exception as exc:
        _events.internal_error(where, exc)
    return res


def named_fast(wrapper: Callable[..., Any], fn: Callable[..., Any]) -> Callable[..., Any]:
    """`wrapper` named as `fn`, behind a C `Fast` calling `fn` for plain arguments."""
    wrapper.__name__ = getattr(fn, "__name__", "wrapper")
    wrapper.__qualname__ = getattr(fn, "__qualname__", wrapper.__name__)
    wrapper.__doc__ = getattr(fn, "__doc__", None)
    wrapper.__module__ = getattr(fn, "__module__", None) or "purposetag"
    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return fast(wrapper, fast=fn)


def fallback(where: str, exc: BaseException) -> None:
    _events.internal_error(where, exc)
