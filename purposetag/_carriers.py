"""Generic operations over every carrier: tags of a value, adding tags, the plain value."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from . import _ranges as R
from ._proxy import TaggedValue
from ._ranges import TagSet
from ._tags import Tag, intern_tags
from ._tainted import TaintedBytes, TaintedStr, mk_bytes, mk_str

_EMPTY: TagSet = frozenset()
_CONTAINERS = (list, tuple, set, frozenset, dict)


def shallow_tags(value: Any) -> TagSet:
    """Tags on the value itself (all ranges of a string); empty for anything else."""
    t = type(value)
    if t is TaintedStr or t is TaintedBytes:
        return R.union(value._pt_ranges)
    if isinstance(value, TaggedValue):
        return value._self_tags
    return _EMPTY


def is_carrier(value: Any) -> bool:
    t = type(value)
    return t is TaintedStr or t is TaintedBytes or isinstance(value, TaggedValue)


def _rebuild_container(
    value: Any,
    fn: Callable[[Any], Any],
    key_fn: Callable[[Any], Any] | None = None,
    memo: dict[int, Any] | None = None,
) -> Any:
    """A new container of the same type with `fn` applied to each leaf.

    Dict values always; dict keys only with `key_fn` (tagging leaves keys alone,
    untagging and declassifying must reach tagged keys too).  `memo` maps the id of
    a list/dict being rebuilt to its copy, so self-referencing structures are
    rebuilt with the same shape instead of recursing forever.
    """
    if memo is not None:
        found = memo.get(id(value))
        if found is not None:
            return found
    if isinstance(value, dict):
        new = copy.copy(value)
        if memo is not None:
            memo[id(value)] = new
        if key_fn is None:
            for k in list(new):
                new[k] = fn(value[k])
        else:
            items = list(value.items())
            new.clear()
            for k, v in items:
                new[key_fn(k)] = fn(v)
        return new
    if isinstance(value, list):
        new_list = copy.copy(value)
        if memo is not None:
            memo[id(value)] = new_list
        new_list[:] = [fn(v) for v in value]
        return new_list
    if isinstance(value, tuple):
        items = [fn(v) for v in value]
        if hasattr(type(value), "_make"):  # namedtuple
            return type(value)._make(items)  # type: ignore[attr-defined]
        return type(value)(items) if type(value) is not tuple else tuple(items)
    if isinstance(value, set | frozenset):
        return type(value)(fn(v) for v in value)
    raise TypeError(type(value).__name__)


def with_tag(value: Any, tag: Tag, _memo: dict[int, Any] | None = None) -> Any:
    """`value` with `tag` added everywhere (see `purposetag.tag`)."""
    t = type(value)
    if value is None:
        return None
    if t is TaintedStr:
        return mk_str(value, R.add_tag(value._pt_ranges, len(value), tag))
    if t is TaintedBytes:
        return mk_bytes(value, R.add_tag(value._pt_ranges, len(value), tag))
    if isinstance(value, str):
        return mk_str(str.__str__(value), intern_tags(frozenset((tag,))))
    if isinstance(value, bytes):
        return mk_bytes(bytes(value), intern_tags(frozenset((tag,))))
    if isinstance(value, TaggedValue):
        return TaggedValue(value.__wrapped__, intern_tags(value._self_tags | {tag}))
    if isinstance(value, _CONTAINERS):
        memo: dict[int, Any] = {} if _memo is None else _memo
        return _rebuild_container(value, lambda v: with_tag(v, tag, memo), memo=memo)
    return TaggedValue(value, intern_tags(frozenset((tag,))))


def map_tags(
    value: Any, fn: Callable[[TagSet], TagSet], _memo: dict[int, Any] | None = None
) -> Any:
    """`value` (deeply) with every tag set replaced by ``fn(tagset)``."""
    t = type(value)
    if t is TaintedStr:
        return mk_str(value, R.map_tags(value._pt_ranges, len(value), fn))
    if t is TaintedBytes:
        return mk_bytes(value, R.map_tags(value._pt_ranges, len(value), fn))
    if isinstance(value, TaggedValue):
        return TaggedValue(value.__wrapped__, fn(value._self_tags))
    if isinstance(value, _CONTAINERS):
        memo: dict[int, Any] = {} if _memo is None else _memo
        return _rebuild_container(
            value, lambda v: map_tags(v, fn, memo), lambda k: map_tags(k, fn, memo), memo
        )
    return value


def plain(value: Any, _memo: dict[int, Any] | None = None) -> Any:
    """The value with every tag removed (deeply through containers)."""
    t = type(value)
    if t is TaintedStr:
        return str.__str__(value)
    if t is TaintedBytes:
        return bytes(value)
    if isinstance(value, TaggedValue):
        return value.__wrapped__
    if isinstance(value, _CONTAINERS):
        memo: dict[int, Any] = {} if _memo is None else _memo
        return _rebuild_container(value, lambda v: plain(v, memo), lambda k: plain(k, memo), memo)
    return value


def deep_tags(value: Any, limit: int = 100_000) -> TagSet:
    """Every tag on `value` or inside its containers (list/tuple/set/dict keys and values)."""
    out: set[Tag] = set()
    seen: set[int] = set()
    stack = [value]
    count = 0
    while stack and count < limit:
        v = stack.pop()
        count += 1
        tags = shallow_tags(v)
        if tags:
            out |= tags
            if not isinstance(v, TaggedValue):
                continue
            v = v.__wrapped__  # a proxied container: look inside what it wraps
        if isinstance(v, _CONTAINERS):
            if id(v) in seen:
                continue
            seen.add(id(v))
            # the base types' own iterators: a subclass's __iter__ never runs
            if isinstance(v, dict):
                stack.extend(dict.keys(v))
                stack.extend(dict.values(v))
            elif isinstance(v, list):
                stack.extend(list.__iter__(v))
            elif isinstance(v, tuple):
                stack.extend(tuple.__iter__(v))
            elif isinstance(v, set):
                stack.extend(set.__iter__(v))
            else:
                stack.extend(frozenset.__iter__(v))
    return frozenset(out)


def plain_bytes_for_fingerprint(value: Any) -> bytes:
    """Stable bytes of the plain value, for the keyed fingerprint: a string's UTF-8, a
    bytes value itself (so the same text as str and as bytes correlates), else the
    UTF-8 of its ``repr``."""
    p = plain(value)
    if isinstance(p, str):
        return p.encode("utf-8", "surrogatepass")
    if isinstance(p, bytes):
        return bytes(p)
    try:
        return repr(p).encode("utf-8", "surrogatepass")
    except Exception:
        return type(p).__qualname__.encode()
