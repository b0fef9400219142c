"""Applying and undoing the stdlib patches, and the helpers every patch shares.

A patch replaces a module attribute (or a class attribute) and remembers the
original, so `restore_all()` puts everything back.  A patched function always
computes the original result first; tags are added only when an input carries
some, and any failure while computing them returns the original result and emits
the internal-error event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _events
from .. import _ranges as R
from .._proxy import TaggedValue, tag_result
from .._ranges import TagSet
from .._tainted import TaintedBytes, TaintedStr

_PLAIN = frozenset({str, bytes, int, float, bool, type(None), complex})
all_plain = _PLAIN.issuperset
_EMPTY: TagSet = frozenset()

# (owner object, attribute name) -> original value
_originals: dict[tuple[Any, str], Any] = {}


def patch(owner: Any, name: str, replacement: Any) -> None:
    """Set ``owner.name = replacement``, remembering the original once."""
    key = (owner, name)
    if key in _originals:
        return
    _originals[key] = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    if hasattr(replacement, "__dict__") and callable(replacement):
        try:
            replacement._pt_original = _originals[key]
        except (AttributeError, TypeError):
            pass
    setattr(owner, name, replacement)


def original(owner: Any, name: str) -> Any:
    """The unpatched value of ``owner.name``."""
    key = (owner, name)
    return _originals[key] if key in _originals else getattr(owner, name)


def restore_all() -> None:
    for (owner, name), value in reversed(list(_originals.items())):
        setattr(owner, name, value)
    _originals.clear()


def is_patched() -> bool:
    return bool(_originals)


def tags_in(value: Any, depth: int = 32) -> TagSet:
    """Tags anywhere in `value` (carriers and containers); empty fast for plain values."""
    t = type(value)
    if t in _PLAIN:
        return _EMPTY
    if t is TaintedStr or t is TaintedBytes:
        return R.union(value._pt_ranges)
    if t is TaggedValue:
        return value._self_tags  # type: ignore[no-any-return]
    if depth <= 0:
        return _EMPTY
    if t is dict or isinstance(value, dict):
        vals = value.values()
        keys = value.keys()
        if all_plain(map(type, vals)) and all_plain(map(type, keys)):
            return _EMPTY
        found: list[TagSet | None] = [tags_in(v, depth - 1) or None for v in vals]
        found.extend(tags_in(k, depth - 1) or None for k in keys)
        return R.union_all(found)
    if t in (list, tuple, set, frozenset) or isinstance(value, list | tuple | set | frozenset):
        if all_plain(map(type, value)):
            return _EMPTY
        return R.union_all(tags_in(v, depth - 1) or None for v in value)
    if isinstance(value, TaggedValue):
        return value._self_tags
    return _EMPTY


def args_tags(args: tuple[Any, ...], kwargs: dict[str, Any]) -> TagSet:
    """Tags in any argument; cheap when all are plain scalars."""
    if all_plain(map(type, args)) and (not kwargs or all_plain(map(type, kwargs.values()))):
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
    if isinstance(value, str | bytes):
        return tag_result(value, tags)
    if isinstance(value, dict):
        new = {} if type(value) is dict else value.copy()
        new.clear()
        for k, v in value.items():
            new[tag_deep(k, tags)] = tag_deep(v, tags)
        return new
    if isinstance(value, list):
        return [tag_deep(v, tags) for v in value]
    if isinstance(value, tuple):
        items = [tag_deep(v, tags) for v in value]
        if hasattr(type(value), "_make"):
            return type(value)._make(items)  # type: ignore[attr-defined]
        return tuple(items)
    return value


def tagging_wrapper(fn: Callable[..., Any], where: str, *, deep: bool = True) -> Callable[..., Any]:
    """A wrapper of `fn` whose result carries (deeply) the union of its arguments' tags."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        res = fn(*args, **kwargs)
        if all_plain(map(type, args)) and (not kwargs or all_plain(map(type, kwargs.values()))):
            return res
        try:
            tags = args_tags(args, kwargs)
            if tags:
                return tag_deep(res, tags) if deep else tag_result(res, tags)
        except Exception as exc:
            _events.internal_error(where, exc)
        return res

    wrapper.__name__ = getattr(fn, "__name__", "wrapper")
    wrapper.__qualname__ = getattr(fn, "__qualname__", wrapper.__name__)
    wrapper.__doc__ = getattr(fn, "__doc__", None)
    wrapper.__module__ = getattr(fn, "__module__", None) or "purposetag"
    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


def fallback(where: str, exc: BaseException) -> None:
    _events.internal_error(where, exc)
