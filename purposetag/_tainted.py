"""`TaintedStr` and `TaintedBytes`: ``str``/``bytes`` subclasses whose tags sit on ranges.

Every method that returns text computes the plain result with the base type's
own method first (so values, types and exceptions are exactly those of plain
``str``/``bytes``), then the ranges of the result from the ranges of the inputs.
Where exact ranges are impractical the whole result carries the union -- never
nothing.  A result with no tags at all is returned as a plain value.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from typing import Any, SupportsIndex

from . import _ranges as R
from ._ranges import Ranges, Segment, TagSet

_str_new = str.__new__
_bytes_new = bytes.__new__
_s_plain = str.__str__
_EXACT_CODECS = frozenset({"utf-8", "ascii", "latin-1", "iso8859-1", "cp1252"})


def _rng(value: object) -> Ranges | None:
    """Ranges of a str/bytes value, None for plain ones."""
    t = type(value)
    if t is TaintedStr or t is TaintedBytes:
        return value._pt_ranges  # type: ignore[attr-defined,no-any-return]
    return None


def mk_str(plain: str, r: Ranges | None) -> str:
    """A `TaintedStr` for `plain` with ranges `r`, or plain `plain` when `r` is None."""
    if r is None:
        return _s_plain(plain) if type(plain) is not str else plain
    o = _str_new(TaintedStr, plain)
    o._pt_ranges = r
    return o


def mk_bytes(plain: bytes, r: Ranges | None) -> bytes:
    if r is None:
        return bytes(plain) if type(plain) is not bytes else plain
    o = _bytes_new(TaintedBytes, plain)
    o._pt_ranges = r
    return o


def _mk_like(base: type, plain: Any, r: Ranges | None) -> Any:
    return mk_str(plain, r) if base is str else mk_bytes(plain, r)


def _whole(plain: Any, tags: TagSet) -> Any:
    """`plain` tagged all over with `tags` (the union fallback)."""
    if not tags:
        return plain
    if isinstance(plain, str):
        return mk_str(plain, tags)
    if isinstance(plain, bytes):
        return mk_bytes(plain, tags)
    return plain


# --- shared range computations (plain values, str or bytes) -----------------


def _same_length(base: type, self: Any, res: Any) -> Any:
    r = self._pt_ranges
    if len(res) == len(self):
        return _mk_like(base, res, r)
    return _mk_like(base, res, R.union(r))


def _pad(base: type, self: Any, res: Any, left: int, fill: object) -> Any:
    n = len(self)
    if len(res) == n:
        return _mk_like(base, res, self._pt_ranges)
    right = len(res) - n - left
    fr = _rng(fill)
    segs: list[Segment] = [(left, fr, 0), (n, self._pt_ranges, 0), (right, fr, 0)]
    return _mk_like(base, res, R.build(segs, len(res)))


def _strip(base: type, self: Any, res: Any, start: int) -> Any:
    return _mk_like(base, res, R.sub(self._pt_ranges, start, start + len(res)))


def _replace(base: type, self: Any, old: Any, new: Any, count: int, res: Any) -> Any:
    r = self._pt_ranges
    nr = _rng(new)
    if len(res) == len(self) and res == self:  # nothing replaced (or same text): keep
        if not old:
            pass
        else:
            return _mk_like(base, res, r)
    plain = base.__str__(self) if base is str else bytes(self)
    n = len(plain)
    lo = len(old)
    ln = len(new)
    segs: list[Segment] = []
    pos = 0
    done = 0
    if lo == 0:
        limit = n + 1 if count < 0 else min(count, n + 1)
        for i in range(limit):
            segs.append((ln, nr, 0))
            if i < n:
                segs.append((1, r, i))
            pos = i + 1
        if pos <= n:
            segs.append((n - pos, r, pos))
    else:
        while count < 0 or done < count:
            hit = plain.find(old, pos)
            if hit < 0:
                break
            segs.append((hit - pos, r, pos))
            segs.append((ln, nr, 0))
            pos = hit + lo
            done += 1
        segs.append((n - pos, r, pos))
    return _mk_like(base, res, R.build(segs, len(res)))


def _split_pieces(base: type, self: Any, parts: list[Any], sep: Any) -> list[Any]:
    """Tag the pieces of split/rsplit, locating each left to right."""
    r = self._pt_ranges
    mkl = mk_str if base is str else mk_bytes
    if type(r) is frozenset:
        return [mkl(p, r) if p else p for p in parts]
    plain = base.__str__(self) if base is str else bytes(self)
    out: list[Any] = []
    pos = 0
    if sep is None:
        for p in parts:
            start = plain.find(p, pos)
            out.append(mkl(p, R.sub(r, start, start + len(p))))
            pos = start + len(p)
    else:
        step = len(sep)
        for p in parts:
            out.append(mkl(p, R.sub(r, pos, pos + len(p))))
            pos += len(p) + step
    return out


def _splitlines(base: type, self: Any, keepends: bool) -> list[Any]:
    r = self._pt_ranges
    mkl = mk_str if base is str else mk_bytes
    with_ends = base.splitlines(self, True)  # type: ignore[attr-defined]
    if keepends:
        parts = with_ends
    else:
        parts = base.splitlines(self, False)  # type: ignore[attr-defined]
    if type(r) is frozenset:
        return [mkl(p, r) for p in parts]
    out: list[Any] = []
    pos = 0
    for full, p in zip(with_ends, parts, strict=True):
        out.append(mkl(p, R.sub(r, pos, pos + len(p))))
        pos += len(full)
    return out


def _partition(base: type, self: Any, res: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
    r = self._pt_ranges
    mkl = mk_str if base is str else mk_bytes
    a, s, b = res
    la, ls = len(a), len(s)
    return (
        mkl(a, R.sub(r, 0, la)),
        mkl(s, R.sub(r, la, la + ls)),
        mkl(b, R.sub(r, la + ls, la + ls + len(b))),
    )


def _join(base: type, sep: Any, sep_r: Ranges | None, items: list[Any], res: Any) -> Any:
    segs: list[Segment] = []
    ls = len(sep)
    first = True
    any_tag = sep_r is not None
    for it in items:
        if not first:
            segs.append((ls, sep_r, 0))
        first = False
        ir = _rng(it)
        if ir is not None:
            any_tag = True
        segs.append((len(it), ir, 0))
    if not any_tag:
        return res
    return _mk_like(base, res, R.build(segs, len(res)))


def join_tagged(sep: Any, items: Iterable[Any]) -> Any:
    """``sep.join(items)`` with tags from the separator and every item (any sep type)."""
    seq = items if type(items) is list else list(items)
    base = str if isinstance(sep, str) else bytes
    res = base.join(sep, seq)
    return _join(base, sep, _rng(sep), seq, res)


def _expandtabs(base: type, self: Any, res: Any, tabsize: int) -> Any:
    r = self._pt_ranges
    tab = "\t" if base is str else b"\t"
    if tab not in self:
        return _mk_like(base, res, r)
    plain = base.__str__(self) if base is str else bytes(self)
    segs: list[Segment] = []
    col = 0
    run_start = 0
    newlines = ("\n", "\r") if base is str else (10, 13)
    for i, ch in enumerate(plain):
        if ch == tab or ch == 9:
            segs.append((i - run_start, r, run_start))
            width = tabsize - (col % tabsize) if tabsize > 0 else 0
            segs.append((width, R.sub(r, i, i + 1), 0))
            col += width
            run_start = i + 1
        elif ch in newlines:
            col = 0
        else:
            col += 1
    segs.append((len(plain) - run_start, r, run_start))
    return _mk_like(base, res, R.build(segs, len(res)))


def _zfill(base: type, self: Any, res: Any) -> Any:
    n = len(self)
    r = self._pt_ranges
    if len(res) == n:
        return _mk_like(base, res, r)
    pad = len(res) - n
    first = self[:1] if base is str else bytes(self[:1])
    if n and first in (("+", "-") if base is str else (b"+", b"-")):
        segs: list[Segment] = [(1, r, 0), (pad, None, 0), (n - 1, r, 1)]
    else:
        segs = [(pad, None, 0), (n, r, 0)]
    return _mk_like(base, res, R.build(segs, len(res)))


def _getitem(base: type, self: Any, key: Any, res: Any) -> Any:
    r = self._pt_ranges
    if isinstance(key, slice):
        start, stop, step = key.indices(len(self))
        if step == 1:
            return _mk_like(base, res, R.sub(r, start, max(start, stop)) if res else None)
        if type(r) is frozenset:
            return _mk_like(base, res, r if res else None)
        return _mk_like(base, res, R.pick(r, range(start, stop, step)))
    if base is bytes:  # an int: keep its tags through a proxy
        from ._proxy import TaggedValue

        idx = key.__index__()
        ts = R.at(r, idx + len(self) if idx < 0 else idx)
        return TaggedValue._make(res, ts) if ts else res
    idx = key.__index__()
    return mk_str(res, R.at(r, idx + len(self) if idx < 0 else idx))


def _reduce(cls: type, self: Any) -> tuple[Any, ...]:
    plain = str.__str__(self) if cls is TaintedStr else bytes(self)
    return (_rebuild, (cls, plain, self._pt_ranges))


def _rebuild(cls: type, plain: Any, r: Ranges) -> Any:
    return mk_str(plain, r) if cls is TaintedStr else mk_bytes(plain, r)


def _encoding_exact(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name in _EXACT_CODECS
    except LookupError:
        return False


def _encode(self: TaintedStr, res: bytes, encoding: str, errors: str) -> bytes:
    r = self._pt_ranges
    if type(r) is frozenset:
        return mk_bytes(res, r)
    if len(res) == len(self):
        return mk_bytes(res, r)
    if not _encoding_exact(encoding):
        return mk_bytes(res, R.union(r))
    plain = _s_plain(self)
    out: list[R.Triple] = []
    for a, b, ts in r:  # type: ignore[misc]
        ba = len(plain[:a].encode(encoding, errors))
        bb = ba + len(plain[a:b].encode(encoding, errors))
        out.append((ba, bb, ts))
    return mk_bytes(res, R.normalize(out, len(res)))


def _decode(self: TaintedBytes, res: str, encoding: str, errors: str) -> str:
    r = self._pt_ranges
    if type(r) is frozenset or len(res) == len(self):
        return mk_str(res, r)
    if not _encoding_exact(encoding):
        return mk_str(res, R.union(r))
    plain = bytes(self)
    out: list[R.Triple] = []
    try:
        for a, b, ts in r:  # type: ignore[misc]
            ca = len(plain[:a].decode(encoding, "strict"))
            cb = ca + len(plain[a:b].decode(encoding, "strict"))
            out.append((ca, cb, ts))
    except UnicodeDecodeError:  # a range boundary splits a character: whole union
        return mk_str(res, R.union(r))
    return mk_str(res, R.normalize(out, len(res)))


def _translate(base: type, self: Any, res: Any, table: Any) -> Any:
    r = self._pt_ranges
    if type(r) is frozenset:
        return _mk_like(base, res, r)
    if len(res) != len(self):
        return _mk_like(base, res, R.union(r))
    if base is str:
        for ch in set(self):
            try:
                v = table[ord(ch)]
            except LookupError:
                continue
            if v is None or (isinstance(v, str) and len(v) != 1):
                return _mk_like(base, res, R.union(r))
    return _mk_like(base, res, r)


def _format_spec_result(base: type, self: Any, res: Any) -> Any:
    """Ranges for ``format(self, spec)``: padding is untagged, truncation keeps a prefix."""
    r = self._pt_ranges
    plain = str.__str__(self)
    if res == plain:
        return _mk_like(base, res, r)
    at = res.find(plain) if plain else -1
    if at >= 0:
        return _mk_like(base, res, R.build([(at, None, 0), (len(plain), r, 0)], len(res)))
    return _mk_like(base, res, R.union(r))


# --- the carriers ------------------------------------------------------------


class TaintedStr(str):
    """A `str` whose characters carry purpose tags.  Equal to, and hashes as, the plain text."""

    __slots__ = ("_pt_ranges",)
    _pt_ranges: Ranges

    def __new__(cls, value: object = "", *args: Any, **kwargs: Any) -> TaintedStr:
        # Made by purposetag.tag(); called directly (copy protocols, ``type(s)(x)``)
        # it keeps the tags of a tainted argument and otherwise returns a plain str.
        r = _rng(value) if not args and not kwargs else None
        if r is None:
            return str(value, *args, **kwargs)  # type: ignore[return-value]
        o = _str_new(cls, value)
        o._pt_ranges = r
        return o

    # operators
    def __add__(self, other: str) -> str:
        res = str.__add__(self, other)
        orr = _rng(other)
        r = self._pt_ranges
        n = len(self)
        if orr is None:
            if type(r) is frozenset:
                return mk_str(res, ((0, n, r),) if other else r)
            return mk_str(res, r)
        return mk_str(res, R.build(((n, r, 0), (len(other), orr, 0)), n + len(other)))

    def __radd__(self, other: str) -> str:
        if not isinstance(other, str):
            return NotImplemented
        res = str.__add__(other, self)
        lo = len(other)
        r = self._pt_ranges
        if lo == 0:
            return mk_str(res, r)
        return mk_str(res, R.build(((lo, _rng(other), 0), (len(self), r, 0)), len(res)))

    def __mul__(self, n: SupportsIndex) -> str:
        res = str.__mul__(self, n)
        return mk_str(
            res, R.repeat(self._pt_ranges, len(self), len(res) // len(self)) if res else None
        )

    __rmul__ = __mul__

    def __mod__(self, values: Any) -> str:
        from ._formatting import percent_format

        return percent_format(self, values)

    def __rmod__(self, template: Any) -> str:
        if not isinstance(template, str):
            return NotImplemented
        from ._formatting import percent_format

        return percent_format(template, self)

    def __getitem__(self, key: SupportsIndex | slice) -> str:
        return _getitem(str, self, key, str.__getitem__(self, key))  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[str]:
        r = self._pt_ranges
        if type(r) is frozenset:
            for ch in str.__iter__(self):
                yield mk_str(ch, r)
        else:
            for i, ch in enumerate(str.__iter__(self)):
                yield mk_str(ch, R.at(r, i))

    def __str__(self) -> str:
        return self

    def __repr__(self) -> str:
        res = str.__repr__(self)
        if len(res) == len(self) + 2:
            return mk_str(res, R.build(((1, None, 0), (len(self), self._pt_ranges, 0)), len(res)))
        return mk_str(res, R.union(self._pt_ranges))

    def __format__(self, spec: str) -> str:
        res = str.__format__(self, spec)
        return _format_spec_result(str, self, res)  # type: ignore[no-any-return]

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        return _reduce(TaintedStr, self)

    def __copy__(self) -> TaintedStr:
        return self

    def __deepcopy__(self, memo: Any) -> TaintedStr:
        return self

    def __getnewargs__(self) -> tuple[str]:
        return (_s_plain(self),)

    # case and length changes
    def upper(self) -> str:
        return _same_length(str, self, str.upper(self))  # type: ignore[no-any-return]

    def lower(self) -> str:
        return _same_length(str, self, str.lower(self))  # type: ignore[no-any-return]

    def casefold(self) -> str:
        return _same_length(str, self, str.casefold(self))  # type: ignore[no-any-return]

    def capitalize(self) -> str:
        return _same_length(str, self, str.capitalize(self))  # type: ignore[no-any-return]

    def title(self) -> str:
        return _same_length(str, self, str.title(self))  # type: ignore[no-any-return]

    def swapcase(self) -> str:
        return _same_length(str, self, str.swapcase(self))  # type: ignore[no-any-return]

    def translate(self, table: Any) -> str:
        return _translate(str, self, str.translate(self, table), table)  # type: ignore[no-any-return]

    # padding
    def center(self, width: SupportsIndex, fillchar: str = " ") -> str:
        res = str.center(self, width, fillchar)
        marg = len(res) - len(self)
        left = marg // 2 + (marg & int(width) & 1)
        return _pad(str, self, res, left, fillchar)  # type: ignore[no-any-return]

    def ljust(self, width: SupportsIndex, fillchar: str = " ") -> str:
        return _pad(str, self, str.ljust(self, width, fillchar), 0, fillchar)  # type: ignore[no-any-return]

    def rjust(self, width: SupportsIndex, fillchar: str = " ") -> str:
        res = str.rjust(self, width, fillchar)
        return _pad(str, self, res, len(res) - len(self), fillchar)  # type: ignore[no-any-return]

    def zfill(self, width: SupportsIndex) -> str:
        return _zfill(str, self, str.zfill(self, width))  # type: ignore[no-any-return]

    def expandtabs(self, tabsize: SupportsIndex = 8) -> str:
        res = str.expandtabs(self, tabsize)
        return _expandtabs(str, self, res, int(tabsize))  # type: ignore[no-any-return]

    # trimming
    def strip(self, chars: str | None = None) -> str:
        res = str.strip(self, chars)
        return _strip(str, self, res, len(self) - len(str.lstrip(self, chars)))  # type: ignore[no-any-return]

    def lstrip(self, chars: str | None = None) -> str:
        res = str.lstrip(self, chars)
        return _strip(str, self, res, len(self) - len(res))  # type: ignore[no-any-return]

    def rstrip(self, chars: str | None = None) -> str:
        return _strip(str, self, str.rstrip(self, chars), 0)  # type: ignore[no-any-return]

    def removeprefix(self, prefix: str) -> str:
        res = str.removeprefix(self, prefix)
        return _strip(str, self, res, len(self) - len(res))  # type: ignore[no-any-return]

    def removesuffix(self, suffix: str) -> str:
        return _strip(str, self, str.removesuffix(self, suffix), 0)  # type: ignore[no-any-return]

    # replace, split, join
    def replace(self, old: str, new: str, count: SupportsIndex = -1) -> str:
        res = str.replace(self, old, new, count)
        return _replace(str, self, old, new, int(count), res)  # type: ignore[no-any-return]

    def split(self, sep: str | None = None, maxsplit: SupportsIndex = -1) -> list[str]:
        return _split_pieces(str, self, str.split(self, sep, maxsplit), sep)

    def rsplit(self, sep: str | None = None, maxsplit: SupportsIndex = -1) -> list[str]:
        return _split_pieces(str, self, str.rsplit(self, sep, maxsplit), sep)

    def splitlines(self, keepends: bool = False) -> list[str]:
        return _splitlines(str, self, keepends)

    def partition(self, sep: str) -> tuple[str, str, str]:
        return _partition(str, self, str.partition(self, sep))

    def rpartition(self, sep: str) -> tuple[str, str, str]:
        return _partition(str, self, str.rpartition(self, sep))

    def join(self, iterable: Iterable[str]) -> str:
        seq = iterable if type(iterable) is list else list(iterable)
        res = str.join(self, seq)
        return _join(str, self, self._pt_ranges, seq, res)  # type: ignore[no-any-return]

    # formatting and codecs
    def format(self, *args: Any, **kwargs: Any) -> str:
        from ._formatting import brace_format

        return brace_format(self, args, kwargs)

    def format_map(self, mapping: Any) -> str:
        from ._formatting import brace_format_map

        return brace_format_map(self, mapping)

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        res = str.encode(self, encoding, errors)
        return _encode(self, res, encoding, errors)


class TaintedBytes(bytes):
    """A `bytes` whose bytes carry purpose tags (ranges live in the instance dict)."""

    _pt_ranges: Ranges

    def __new__(cls, value: object = b"", *args: Any, **kwargs: Any) -> TaintedBytes:
        r = _rng(value) if not args and not kwargs else None
        if r is None:
            return bytes(value, *args, **kwargs)  # type: ignore[call-overload,no-any-return]
        o = _bytes_new(cls, value)  # type: ignore[call-overload]
        o._pt_ranges = r
        return o  # type: ignore[no-any-return]

    def __add__(self, other: Any) -> bytes:
        res = bytes.__add__(self, other)
        n = len(self)
        return mk_bytes(
            res, R.build(((n, self._pt_ranges, 0), (len(res) - n, _rng(other), 0)), len(res))
        )

    def __radd__(self, other: Any) -> bytes:
        if not isinstance(other, bytes | bytearray | memoryview):
            return NotImplemented
        res = bytes(other) + bytes(self)
        lo = len(res) - len(self)
        return mk_bytes(
            res, R.build(((lo, _rng(other), 0), (len(self), self._pt_ranges, 0)), len(res))
        )

    def __mul__(self, n: SupportsIndex) -> bytes:
        res = bytes.__mul__(self, n)
        return mk_bytes(
            res, R.repeat(self._pt_ranges, len(self), len(res) // len(self)) if res else None
        )

    __rmul__ = __mul__

    def __mod__(self, values: Any) -> bytes:
        res = bytes.__mod__(self, values)
        from ._formatting import deep_union

        return mk_bytes(res, R.union_all((self._pt_ranges, deep_union(values))) or None)

    def __rmod__(self, template: Any) -> bytes:
        if not isinstance(template, bytes):
            return NotImplemented
        res = bytes.__mod__(template, self)
        return mk_bytes(res, R.union_all((_rng(template), self._pt_ranges)))

    def __getitem__(self, key: SupportsIndex | slice) -> Any:
        return _getitem(bytes, self, key, bytes.__getitem__(self, key))

    def __iter__(self) -> Iterator[Any]:
        from ._proxy import TaggedValue

        r = self._pt_ranges
        for i, b in enumerate(bytes.__iter__(self)):
            ts = R.at(r, i)
            yield TaggedValue._make(b, ts) if ts else b

    def __repr__(self) -> str:
        return mk_str(bytes.__repr__(self), R.union(self._pt_ranges))

    def __str__(self) -> str:
        return mk_str(bytes.__str__(self), R.union(self._pt_ranges))

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        return _reduce(TaintedBytes, self)

    def __copy__(self) -> TaintedBytes:
        return self

    def __deepcopy__(self, memo: Any) -> TaintedBytes:
        return self

    def __getnewargs__(self) -> tuple[bytes]:
        return (bytes(self),)

    def upper(self) -> bytes:
        return _same_length(bytes, self, bytes.upper(self))  # type: ignore[no-any-return]

    def lower(self) -> bytes:
        return _same_length(bytes, self, bytes.lower(self))  # type: ignore[no-any-return]

    def capitalize(self) -> bytes:
        return _same_length(bytes, self, bytes.capitalize(self))  # type: ignore[no-any-return]

    def title(self) -> bytes:
        return _same_length(bytes, self, bytes.title(self))  # type: ignore[no-any-return]

    def swapcase(self) -> bytes:
        return _same_length(bytes, self, bytes.swapcase(self))  # type: ignore[no-any-return]

    def translate(self, table: Any, delete: Any = b"") -> bytes:
        res = bytes.translate(self, table, delete)
        return _translate(bytes, self, res, table)  # type: ignore[no-any-return]

    def center(self, width: SupportsIndex, fillchar: bytes = b" ") -> bytes:
        res = bytes.center(self, width, fillchar)
        marg = len(res) - len(self)
        left = marg // 2 + (marg & int(width) & 1)
        return _pad(bytes, self, res, left, fillchar)  # type: ignore[no-any-return]

    def ljust(self, width: SupportsIndex, fillchar: Any = b" ") -> bytes:
        return _pad(bytes, self, bytes.ljust(self, width, fillchar), 0, fillchar)  # type: ignore[no-any-return]

    def rjust(self, width: SupportsIndex, fillchar: Any = b" ") -> bytes:
        res = bytes.rjust(self, width, fillchar)
        return _pad(bytes, self, res, len(res) - len(self), fillchar)  # type: ignore[no-any-return]

    def zfill(self, width: SupportsIndex) -> bytes:
        return _zfill(bytes, self, bytes.zfill(self, width))  # type: ignore[no-any-return]

    def expandtabs(self, tabsize: SupportsIndex = 8) -> bytes:
        res = bytes.expandtabs(self, tabsize)
        return _expandtabs(bytes, self, res, int(tabsize))  # type: ignore[no-any-return]

    def strip(self, chars: Any = None) -> bytes:
        res = bytes.strip(self, chars)
        return _strip(bytes, self, res, len(self) - len(bytes.lstrip(self, chars)))  # type: ignore[no-any-return]

    def lstrip(self, chars: Any = None) -> bytes:
        res = bytes.lstrip(self, chars)
        return _strip(bytes, self, res, len(self) - len(res))  # type: ignore[no-any-return]

    def rstrip(self, chars: Any = None) -> bytes:
        return _strip(bytes, self, bytes.rstrip(self, chars), 0)  # type: ignore[no-any-return]

    def removeprefix(self, prefix: Any) -> bytes:
        res = bytes.removeprefix(self, prefix)
        return _strip(bytes, self, res, len(self) - len(res))  # type: ignore[no-any-return]

    def removesuffix(self, suffix: Any) -> bytes:
        return _strip(bytes, self, bytes.removesuffix(self, suffix), 0)  # type: ignore[no-any-return]

    def replace(self, old: bytes, new: bytes, count: SupportsIndex = -1) -> bytes:  # type: ignore[override]
        res = bytes.replace(self, old, new, count)
        return _replace(bytes, self, old, new, int(count), res)  # type: ignore[no-any-return]

    def split(self, sep: bytes | None = None, maxsplit: SupportsIndex = -1) -> list[bytes]:  # type: ignore[override]
        return _split_pieces(bytes, self, bytes.split(self, sep, maxsplit), sep)

    def rsplit(self, sep: bytes | None = None, maxsplit: SupportsIndex = -1) -> list[bytes]:  # type: ignore[override]
        return _split_pieces(bytes, self, bytes.rsplit(self, sep, maxsplit), sep)

    def splitlines(self, keepends: bool = False) -> list[bytes]:
        return _splitlines(bytes, self, keepends)

    def partition(self, sep: bytes) -> tuple[bytes, bytes, bytes]:  # type: ignore[override]
        return _partition(bytes, self, bytes.partition(self, sep))

    def rpartition(self, sep: bytes) -> tuple[bytes, bytes, bytes]:  # type: ignore[override]
        return _partition(bytes, self, bytes.rpartition(self, sep))

    def join(self, iterable: Iterable[Any]) -> bytes:
        seq = iterable if type(iterable) is list else list(iterable)
        res = bytes.join(self, seq)
        return _join(bytes, self, self._pt_ranges, seq, res)  # type: ignore[no-any-return]

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        res = bytes.decode(self, encoding, errors)
        return _decode(self, res, encoding, errors)

    def hex(self, *args: Any) -> str:
        res = bytes.hex(self, *args)
        r = self._pt_ranges
        if args or type(r) is frozenset:
            return mk_str(res, R.union(r))
        out = [(a * 2, b * 2, ts) for a, b, ts in r]  # type: ignore[misc]
        return mk_str(res, R.normalize(out, len(res)))
