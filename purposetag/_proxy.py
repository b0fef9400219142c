"""`TaggedValue`: a transparent proxy carrying tags for values that are not str/bytes.

Built on wrapt's C `BaseObjectProxy`: `isinstance` sees the wrapped type,
comparisons and hashing are the wrapped value's, and results of arithmetic,
``str()``/``repr()``/``format()``, attribute reads of data, indexing and
iteration carry the proxy's tags.
"""

from __future__ import annotations

import copy as _copy
import math
import operator
from typing import Any

import wrapt

from . import _ranges as R
from ._ranges import TagSet
from ._tainted import TaintedBytes, TaintedStr, mk_bytes, mk_str

_DATA_TYPES = (int, float, complex, str, bytes, bool)
_NONE: TagSet = frozenset()


def _tags_of(value: Any) -> TagSet | None:
    if isinstance(value, TaggedValue):
        return value._self_tags
    t = type(value)
    if t is TaintedStr or t is TaintedBytes:
        return R.union(value._pt_ranges)
    return None


def _unwrap(value: Any) -> Any:
    return value.__wrapped__ if isinstance(value, TaggedValue) else value


def tag_result(value: Any, tags: TagSet) -> Any:
    """`value` carrying `tags` (for results derived from tagged operands)."""
    if value is None or value is NotImplemented or not tags:
        return value
    if isinstance(value, TaggedValue):
        return TaggedValue._make(value.__wrapped__, value._self_tags | tags)
    if isinstance(value, str):
        return mk_str(value, R.union_all((R.union(_own(value)), tags)))
    if isinstance(value, bytes):
        return mk_bytes(value, R.union_all((R.union(_own(value)), tags)))
    return TaggedValue._make(value, tags)


def _own(value: Any) -> Any:
    t = type(value)
    return value._pt_ranges if t is TaintedStr or t is TaintedBytes else None


def _binary(op: Any) -> Any:
    def method(self: TaggedValue, other: Any) -> Any:
        ot = _tags_of(other)
        res = op(self.__wrapped__, _unwrap(other))
        return tag_result(res, self._self_tags | ot if ot else self._self_tags)

    method.__name__ = f"__{op.__name__.strip('_')}__"
    return method


def _reflected(op: Any) -> Any:
    def method(self: TaggedValue, other: Any) -> Any:
        ot = _tags_of(other)
        res = op(_unwrap(other), self.__wrapped__)
        return tag_result(res, self._self_tags | ot if ot else self._self_tags)

    method.__name__ = f"__r{op.__name__.strip('_')}__"
    return method


def _inplace(op: Any) -> Any:
    def method(self: TaggedValue, other: Any) -> Any:
        ot = _tags_of(other)
        tags = self._self_tags | ot if ot else self._self_tags
        wrapped = self.__wrapped__
        res = op(wrapped, _unwrap(other))
        if res is wrapped:  # mutated in place (a list +=): same proxy, more tags
            self._self_tags = tags
            return self
        return tag_result(res, tags)

    method.__name__ = f"__{op.__name__.strip('_')}__"
    return method


def _unary(op: Any) -> Any:
    def method(self: TaggedValue) -> Any:
        return tag_result(op(self.__wrapped__), self._self_tags)

    method.__name__ = f"__{op.__name__.strip('_')}__"
    return method


def _is_buffer(value: Any) -> bool:
    try:
        memoryview(value).release()
    except TypeError:
        return False
    return True


def _tagged_items(it: Any, tags: TagSet) -> Any:
    for item in it:
        yield tag_result(item, tags)


class TaggedValue(wrapt.BaseObjectProxy):  # type: ignore[type-arg]
    """A proxy for any value other than str/bytes/containers, carrying `_self_tags`."""

    _self_tags: TagSet

    def __init__(self, wrapped: Any, tags: TagSet = frozenset()) -> None:
        if isinstance(wrapped, TaggedValue):
            tags = wrapped._self_tags | tags
            wrapped = wrapped.__wrapped__
        super().__init__(wrapped)
        self._self_tags = tags

    @classmethod
    def _make(cls, wrapped: Any, tags: TagSet) -> TaggedValue:
        return cls(wrapped, tags)

    # text forms keep the tags
    def __str__(self) -> str:
        return mk_str(str(self.__wrapped__), self._self_tags)

    def __repr__(self) -> str:
        return mk_str(repr(self.__wrapped__), self._self_tags)

    def __format__(self, spec: str) -> str:
        return mk_str(format(self.__wrapped__, spec), self._self_tags)

    def __bytes__(self) -> bytes:
        # bytes(x) and bytes `%s`/`%b` both ask for __bytes__, which a proxy always
        # has: answer only for what would have one, or is a buffer, or an int (whose
        # bytes(n) is n zero bytes); anything else fails as it would without us
        w = self.__wrapped__
        tw = type(w)
        if not (hasattr(tw, "__bytes__") or isinstance(w, int) or _is_buffer(w)):
            return b"%b" % (w,)  # raises CPython's own TypeError, naming the type
        return mk_bytes(bytes(w), self._self_tags)

    # data read through the proxy keeps the tags
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_self_"):
            raise AttributeError(name)
        value = getattr(self.__wrapped__, name)
        if isinstance(value, _DATA_TYPES) or isinstance(value, TaggedValue):
            return tag_result(value, self._self_tags)
        return value

    def __getitem__(self, key: Any) -> Any:
        return tag_result(self.__wrapped__[_unwrap(key)], self._self_tags)

    def __iter__(self) -> Any:
        # iter() itself raises for what is not iterable, as it would unwrapped
        return _tagged_items(iter(self.__wrapped__), self._self_tags)

    # copies and pickles keep the tags
    def __copy__(self) -> TaggedValue:
        return TaggedValue(_copy.copy(self.__wrapped__), self._self_tags)

    def __deepcopy__(self, memo: dict[int, Any]) -> TaggedValue:
        return TaggedValue(_copy.deepcopy(self.__wrapped__, memo), self._self_tags)

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return (TaggedValue, (self.__wrapped__, self._self_tags))

    def __reduce__(self) -> tuple[Any, ...]:
        return (TaggedValue, (self.__wrapped__, self._self_tags))

    # arithmetic propagates
    __add__ = _binary(operator.add)
    __sub__ = _binary(operator.sub)
    __mul__ = _binary(operator.mul)
    __matmul__ = _binary(operator.matmul)
    __truediv__ = _binary(operator.truediv)
    __floordiv__ = _binary(operator.floordiv)
    __mod__ = _binary(operator.mod)
    __divmod__ = _binary(divmod)

    def __pow__(self, other: Any, modulo: Any = None) -> Any:
        ot = _tags_of(other)
        mt = _tags_of(modulo)
        tags = self._self_tags | (ot or _NONE) | (mt or _NONE)
        if modulo is None:
            res = pow(self.__wrapped__, _unwrap(other))
        else:
            res = pow(self.__wrapped__, _unwrap(other), _unwrap(modulo))
        return tag_result(res, tags)

    __lshift__ = _binary(operator.lshift)
    __rshift__ = _binary(operator.rshift)
    __and__ = _binary(operator.and_)
    __xor__ = _binary(operator.xor)
    __or__ = _binary(operator.or_)
    __radd__ = _reflected(operator.add)
    __rsub__ = _reflected(operator.sub)
    __rmul__ = _reflected(operator.mul)
    __rmatmul__ = _reflected(operator.matmul)
    __rtruediv__ = _reflected(operator.truediv)
    __rfloordiv__ = _reflected(operator.floordiv)
    __rmod__ = _reflected(operator.mod)
    __rdivmod__ = _reflected(divmod)
    __rpow__ = _reflected(pow)
    __rlshift__ = _reflected(operator.lshift)
    __rrshift__ = _reflected(operator.rshift)
    __rand__ = _reflected(operator.and_)
    __rxor__ = _reflected(operator.xor)
    __ror__ = _reflected(operator.or_)
    __iadd__ = _inplace(operator.iadd)
    __isub__ = _inplace(operator.isub)
    __imul__ = _inplace(operator.imul)
    __imatmul__ = _inplace(operator.imatmul)
    __itruediv__ = _inplace(operator.itruediv)
    __ifloordiv__ = _inplace(operator.ifloordiv)
    __imod__ = _inplace(operator.imod)
    __ipow__ = _inplace(operator.ipow)
    __ilshift__ = _inplace(operator.ilshift)
    __irshift__ = _inplace(operator.irshift)
    __iand__ = _inplace(operator.iand)
    __ixor__ = _inplace(operator.ixor)
    __ior__ = _inplace(operator.ior)
    __neg__ = _unary(operator.neg)
    __pos__ = _unary(operator.pos)
    __abs__ = _unary(abs)
    __invert__ = _unary(operator.invert)

    def __floor__(self) -> Any:
        return tag_result(math.floor(self.__wrapped__), self._self_tags)

    def __ceil__(self) -> Any:
        return tag_result(math.ceil(self.__wrapped__), self._self_tags)

    def __trunc__(self) -> Any:
        return tag_result(math.trunc(self.__wrapped__), self._self_tags)

    def __round__(self, ndigits: Any = None) -> Any:
        res = round(self.__wrapped__) if ndigits is None else round(self.__wrapped__, ndigits)
        return tag_result(res, self._self_tags)

    # comparisons give plain bools
    def __eq__(self, other: object) -> bool:
        return bool(self.__wrapped__ == _unwrap(other))

    def __ne__(self, other: object) -> bool:
        return bool(self.__wrapped__ != _unwrap(other))

    def __lt__(self, other: Any) -> bool:
        return bool(self.__wrapped__ < _unwrap(other))

    def __le__(self, other: Any) -> bool:
        return bool(self.__wrapped__ <= _unwrap(other))

    def __gt__(self, other: Any) -> bool:
        return bool(self.__wrapped__ > _unwrap(other))

    def __ge__(self, other: Any) -> bool:
        return bool(self.__wrapped__ >= _unwrap(other))

    def __hash__(self) -> int:
        return hash(self.__wrapped__)
