"""`TaintedStr` and `TaintedBytes`: ``str``/``bytes`` subclasses whose tags sit on ranges.

Every method that returns text computes the plain result with the base type's
own method first (so values, types and exceptions are exactly those of plain
``str``/``bytes``), then the ranges of the result from the ranges of the inputs.
Where exact ranges are impractical the whole result carries the union -- never
nothing.  A result with no tags at all is returned as a plain value.

The common operations are written out flat, with the whole-string case
(``_pt_ranges`` is a frozenset) first: they run on every tagged value, and the
budget is ten times the plain operation (DESIGN §6).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from operator import index as _index
from typing import Any, SupportsIndex

from . import _ranges as R
from ._ranges import Ranges, Segment
from ._tags import intern_tags

_str_new = str.__new__
_bytes_new = bytes.__new__
_s_plain = str.__str__
_s_add = str.__add__
_s_getitem = str.__getitem__
_s_find = str.find
_s_len = str.__len__
_b_find = bytes.find
_frozenset = frozenset
_EXACT_CODECS = frozenset({"utf-8", "ascii", "iso8859-1", "cp1252"})
# A str format spec that succeeded: [[fill]align][0][width][.precision][s]
_STR_SPEC = re.compile(r"(?:(.)?([<>^]))?(0)?(\d+)?(?:\.(\d+))?s?", re.DOTALL)


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
    """A `TaintedBytes` for `plain` with ranges `r`, or plain bytes when `r` is None."""
    if r is None:
        return bytes(plain) if type(plain) is not bytes else plain
    o = _bytes_new(TaintedBytes, plain)
    o._pt_ranges = r
    return o


def _mk_like(base: type, plain: Any, r: Ranges | None) -> Any:
    return mk_str(plain, r) if base is str else mk_bytes(plain, r)


def _plain_of(base: type, value: Any) -> Any:
    return _s_plain(value) if base is str else bytes(value)


# --- shared range computations (plain values, str or bytes) -----------------


def _same_length(base: type, self: Any, res: Any) -> Any:
    """Case changes: per character when the length is kept, else the union."""
    r = self._pt_ranges
    if type(r) is _frozenset or len(res) == len(self):
        return _mk_like(base, res, r)
    return _mk_like(base, res, R.union(r))


def _pad(base: type, self: Any, res: Any, left: int, fill: object) -> Any:
    n = len(self)
    if len(res) == n:
        return _mk_like(base, res, self._pt_ranges)
    right = len(res) - n - left
    fr = _rng(fill)
    fu = R.union(fr) if fr is not None else None  # the fill character is repeated
    segs: list[Segment] = [(left, fu, 0), (n, self._pt_ranges, 0), (right, fu, 0)]
    return _mk_like(base, res, R.build(segs, len(res)))


def _size(x: Any) -> int:
    """The real length of a text argument: characters of a str (a subclass's own
    ``__len__`` may lie), bytes of a bytes-like object (``len()`` of a memoryview
    or ``array`` counts items, not bytes)."""
    t = type(x)
    if t is str or t is bytes or t is TaintedStr or t is TaintedBytes:
        return len(x)
    if isinstance(x, str):
        return _s_len(x)
    if isinstance(x, bytes):
        return bytes.__len__(x)
    return memoryview(x).nbytes


def exact_text(value: Any) -> Any:
    """`value` as a plain ``str``/``bytes`` copy when it is tagged text, else itself:
    for code keyed by equal text (``re``'s and ``urlsplit``'s caches) or that takes
    only exact strings (``sys.intern`` in ``pathlib`` and ``namedtuple``)."""
    t = type(value)
    if t is TaintedStr:
        return _s_plain(value)
    if t is TaintedBytes:
        return bytes(value)
    return value


def _reflected_add(self: Any, other: Any) -> Any:
    """``other.__radd__(self)``, or NotImplemented.  Plain str and bytes have no
    numeric ``+``: the right operand's ``__radd__`` goes first, then their
    concatenation (which raises their own TypeError)."""
    radd = getattr(type(other), "__radd__", None)
    return NotImplemented if radd is None else radd(other, self)


def _strip(base: type, self: Any, res: Any, start: int) -> Any:
    return _mk_like(base, res, R.sub(self._pt_ranges, start, start + len(res)))


def _replace(base: type, self: Any, old: Any, new: Any, count: int, res: Any) -> Any:
    r = self._pt_ranges
    nr = _rng(new)
    plain = _plain_of(base, self)
    n = len(plain)
    lo = _size(old)
    ln = _size(new)
    if count == 0 or (lo and old not in plain):
        return _mk_like(base, res, r)
    segs: list[Segment] = []
    pos = 0
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
        done = 0
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
    if type(r) is _frozenset:
        return [mkl(p, r) if p else p for p in parts]
    plain = _plain_of(base, self)
    out: list[Any] = []
    pos = 0
    if sep is None:
        for p in parts:
            start = plain.find(p, pos)
            out.append(mkl(p, R.sub(r, start, start + len(p))))
            pos = start + len(p)
    else:
        step = _size(sep)
        for p in parts:
            out.append(mkl(p, R.sub(r, pos, pos + len(p))))
            pos += len(p) + step
    return out


def _splitlines(base: type, self: Any, keepends: bool) -> list[Any]:
    r = self._pt_ranges
    mkl = mk_str if base is str else mk_bytes
    with_ends = base.splitlines(self, True)  # type: ignore[attr-defined]
    parts = with_ends if keepends else base.splitlines(self, False)  # type: ignore[attr-defined]
    if type(r) is _frozenset:
        return [mkl(p, r) if p else p for p in parts]
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


def _join(base: type, sep: Any, sep_r: Ranges | None, items: Any, res: Any) -> Any:
    ls = _size(sep)
    if type(sep_r) is _frozenset and ls:
        # A whole-tagged separator between untagged items: its positions directly.
        out: list[R.Triple] = []
        pos = 0
        first = True
        for it in items:
            ti = type(it)
            if ti is TaintedStr or ti is TaintedBytes:
                break
            if first:
                first = False
            else:
                if out and out[-1][1] == pos:
                    out[-1] = (out[-1][0], pos + ls, sep_r)
                else:
                    out.append((pos, pos + ls, sep_r))
                pos += ls
            pos += _size(it)
        else:
            if not out:
                return res
            return _mk_like(base, res, R.normalize(out, len(res)))
    return _mk_like(base, res, _join_segments(sep, sep_r, items, [], len(res)))


def _join_segments(
    sep: Any, sep_r: Ranges | None, items: Any, segs: list[Segment], total: int
) -> Ranges | None:
    ls = _size(sep)
    first = True
    any_tag = sep_r is not None
    for it in items:
        if first:
            first = False
        else:
            segs.append((ls, sep_r, 0))
        ir = _rng(it)
        if ir is not None:
            any_tag = True
        segs.append((_size(it), ir, 0))
    if not any_tag:
        return None
    return R.build(segs, total)


def join_tagged(sep: Any, items: Iterable[Any]) -> Any:
    """``sep.join(items)`` with tags from the separator and every item (any sep type)."""
    seq = items if type(items) is list or type(items) is tuple else list(items)
    base = str if isinstance(sep, str) else bytes
    res = base.join(sep, seq)
    return _mk_like(base, res, _join_segments(sep, _rng(sep), seq, [], len(res)))


def _expandtabs(base: type, self: Any, res: Any, tabsize: int) -> Any:
    r = self._pt_ranges
    plain = _plain_of(base, self)
    tab = "\t" if base is str else 9
    if type(r) is _frozenset or ("\t" if base is str else b"\t") not in plain:
        return _mk_like(base, res, r)
    segs: list[Segment] = []
    col = 0
    run_start = 0
    newlines = ("\n", "\r") if base is str else (10, 13)
    for i, ch in enumerate(plain):
        if ch == tab:
            segs.append((i - run_start, r, run_start))
            width = tabsize - (col % tabsize) if tabsize > 0 else 0
            segs.append((width, R.at(r, i), 0))
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
    plain = _plain_of(base, self)
    first = plain[:1]
    if n and first in (("+", "-") if base is str else (b"+", b"-")):
        segs: list[Segment] = [(1, r, 0), (pad, None, 0), (n - 1, r, 1)]
    else:
        segs = [(pad, None, 0), (n, r, 0)]
    return _mk_like(base, res, R.build(segs, len(res)))


def _getitem_slow(base: type, self: Any, key: Any, res: Any, r: Ranges) -> Any:
    if isinstance(key, slice):
        if not res:
            return res
        start, stop, step = key.indices(len(self))
        if step == 1:
            return _mk_like(base, res, R.sub(r, start, start + len(res)))
        return _mk_like(base, res, R.pick(r, range(start, stop, step)))
    idx = _index(key)
    ts = R.at(r, idx + len(self) if idx < 0 else idx)
    if base is bytes:  # an int: keep its tags through a proxy
        return _proxy.TaggedValue._make(res, ts) if ts else res
    return mk_str(res, ts)


def _reduce(cls: type, self: Any) -> tuple[Any, ...]:
    plain = _s_plain(self) if cls is TaintedStr else bytes(self)
    return (_rebuild, (cls, plain, self._pt_ranges))


def _share(r: Ranges) -> Ranges:
    """Interned tag sets, so unpickled strings share them again."""
    if type(r) is _frozenset:
        return intern_tags(r)
    return tuple((a, b, intern_tags(ts)) for a, b, ts in r)  # type: ignore[misc]


def _rebuild(cls: type, plain: Any, r: Ranges) -> Any:
    r = _share(r)
    return mk_str(plain, r) if cls is TaintedStr else mk_bytes(plain, r)


def _encoding_exact(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name in _EXACT_CODECS
    except LookupError:
        return False


def _encode(self: TaintedStr, res: bytes, encoding: str, errors: str) -> bytes:
    r = self._pt_ranges
    if type(r) is _frozenset:
        return mk_bytes(res, r)
    if not _encoding_exact(encoding):
        return mk_bytes(res, R.union(r))
    plain = _s_plain(self)
    if len(res) == len(plain) and plain.isascii():
        return mk_bytes(res, r)
    out: list[R.Triple] = []
    for a, b, ts in r:  # type: ignore[misc]
        ba = len(plain[:a].encode(encoding, errors))
        bb = ba + len(plain[a:b].encode(encoding, errors))
        R._push(out, ba, bb, ts)
    if len(plain.encode(encoding, errors)) != len(res):  # pragma: no cover - defensive
        return mk_bytes(res, R.union(r))
    return mk_bytes(res, R.normalize(out, len(res)))


def _decode(self: TaintedBytes, res: str, encoding: str, errors: str) -> str:
    r = self._pt_ranges
    if type(r) is _frozenset:
        return mk_str(res, r)
    if not _encoding_exact(encoding):
        return mk_str(res, R.union(r))
    plain = bytes(self)
    if len(res) == len(plain) and plain.isascii():
        return mk_str(res, r)
    out: list[R.Triple] = []
    try:
        for a, b, ts in r:  # type: ignore[misc]
            ca = len(plain[:a].decode(encoding, "strict"))
            cb = ca + len(plain[a:b].decode(encoding, "strict"))
            R._push(out, ca, cb, ts)
    except UnicodeDecodeError:  # a range boundary splits a character: whole union
        return mk_str(res, R.union(r))
    if len(plain.decode(encoding, "strict")) != len(res):  # pragma: no cover - defensive
        return mk_str(res, R.union(r))
    return mk_str(res, R.normalize(out, len(res)))


def _table_tags(table: Any) -> Any:
    """Tags of a translate table: a tagged str/bytes table, or tagged replacements in
    a dict (checked in C when all are plain, the usual table)."""
    t = type(table)
    if t is TaintedStr or t is TaintedBytes:
        return R.union(table._pt_ranges)
    if t is dict and _fmt._all_plain(map(type, dict.values(table))):
        return None
    if t is str or t is bytes or table is None:
        return None
    return _fmt.deep_union(table)


def _translate(base: type, self: Any, res: Any, table: Any) -> Any:
    r = self._pt_ranges
    tt = _table_tags(table)
    if tt:  # what a tagged table writes carries its tags: on the whole result
        return _mk_like(base, res, R.union_all((R.union(r), tt)))
    if type(r) is _frozenset:
        return _mk_like(base, res, r)
    if len(res) != len(self):
        return _mk_like(base, res, R.union(r))
    if base is str:
        for ch in set(_s_plain(self)):
            try:
                v = table[ord(ch)]
            except LookupError:
                continue
            if v is None or (isinstance(v, str) and len(v) != 1):
                return _mk_like(base, res, R.union(r))
    return _mk_like(base, res, r)


def _format_spec_result(base: type, self: Any, res: Any, spec: str) -> Any:
    """Ranges for ``format(self, spec)``: padding is untagged, truncation keeps a prefix."""
    r = self._pt_ranges
    n = len(self)
    total = len(res)
    m = _STR_SPEC.fullmatch(spec)
    if m is None:  # pragma: no cover - a spec str.__format__ accepted but we do not parse
        return _mk_like(base, res, R.union(r))
    align, prec = m.group(2), m.group(5)
    kept = min(n, int(prec)) if prec is not None else n
    if align == ">":
        at = total - kept
    elif align == "^":
        at = (total - kept) // 2
    else:
        at = 0
    return _mk_like(base, res, R.build(((at, None, 0), (kept, r, 0)), total))


def _not_index(n: object) -> bool:
    t = type(n)
    return t is not int and not hasattr(t, "__index__")


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
        to = type(other)
        if to is not str:
            if to is TaintedStr:
                res = _s_add(self, other)
                n = len(self)
                return mk_str(
                    res,
                    R.build(((n, self._pt_ranges, 0), (len(other), _rng(other), 0)), len(res)),
                )
            out = _reflected_add(self, other)
            if out is not NotImplemented:
                return out  # type: ignore[no-any-return]
        res = _s_add(self, other)
        r = self._pt_ranges
        if type(r) is _frozenset:
            n = len(self)
            if not n:
                return res
            o = _str_new(TaintedStr, res)
            o._pt_ranges = ((0, n, r),) if other else r
            return o
        o = _str_new(TaintedStr, res)
        o._pt_ranges = r
        return o

    def __radd__(self, other: str) -> str:
        if type(other) is str:
            res = _s_add(other, self)
            r = self._pt_ranges
            lo = len(other)
            if type(r) is _frozenset:
                n = len(self)
                if not n:
                    return res
                o = _str_new(TaintedStr, res)
                o._pt_ranges = ((lo, lo + n, r),) if lo else r
                return o
            return mk_str(res, R.build(((lo, None, 0), (len(self), r, 0)), len(res)))
        if not isinstance(other, str):
            return NotImplemented
        res = _s_add(other, self)
        lo = _s_len(other)  # (another subclass's own __len__ may lie)
        return mk_str(
            res, R.build(((lo, _rng(other), 0), (len(self), self._pt_ranges, 0)), len(res))
        )

    def __mul__(self, n: SupportsIndex) -> str:
        if _not_index(n):
            rmul = getattr(type(n), "__rmul__", None)
            out = rmul(n, self) if rmul is not None else NotImplemented
            if out is not NotImplemented:
                return out  # type: ignore[no-any-return]
            return _s_plain(self) * n  # raises str's own TypeError
        res = str.__mul__(self, n)
        if not res:
            return res
        r = self._pt_ranges
        if type(r) is _frozenset:
            o = _str_new(TaintedStr, res)
            o._pt_ranges = r
            return o
        return mk_str(res, R.repeat(r, len(self), len(res) // len(self)))

    def __rmul__(self, n: SupportsIndex) -> str:
        if _not_index(n):
            return NotImplemented
        return self.__mul__(n)

    def __mod__(self, values: Any) -> str:
        return _fmt.percent_format(self, values)

    def __rmod__(self, template: Any) -> str:
        if not isinstance(template, str):
            return NotImplemented
        return _fmt.percent_format(template, self)

    def __getitem__(self, key: SupportsIndex | slice) -> str:
        res = _s_getitem(self, key)
        r = self._pt_ranges
        if type(r) is _frozenset:
            if not res:
                return res
            o = _str_new(TaintedStr, res)
            o._pt_ranges = r
            return o
        return _getitem_slow(str, self, key, res, r)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[str]:
        r = self._pt_ranges
        if type(r) is _frozenset:
            for ch in str.__iter__(self):
                o = _str_new(TaintedStr, ch)
                o._pt_ranges = r
                yield o
        else:
            for i, ch in enumerate(str.__iter__(self)):
                yield mk_str(ch, R.at(r, i))

    def __str__(self) -> str:
        return self

    def __repr__(self) -> str:
        res = str.__repr__(self)
        if len(res) == len(self) + 2:  # no escapes: the quotes are the only additions
            return mk_str(res, R.build(((1, None, 0), (len(self), self._pt_ranges, 0)), len(res)))
        return mk_str(res, R.union(self._pt_ranges))

    def __format__(self, spec: str) -> str:
        if spec == "" and type(spec) is str:  # (0 or None is str's TypeError, below)
            return self
        try:
            res = str.__format__(self, spec)
        except (ValueError, TypeError):
            # re-raise with plain str's message (which names 'str', not our type)
            str.__format__(_s_plain(self), spec)
            raise
        return _format_spec_result(str, self, res, spec)  # type: ignore[no-any-return]

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
        res = str.upper(self)
        r = self._pt_ranges
        o = _str_new(TaintedStr, res)
        o._pt_ranges = r if type(r) is _frozenset or len(res) == len(self) else R.union(r)
        return o

    def lower(self) -> str:
        res = str.lower(self)
        r = self._pt_ranges
        o = _str_new(TaintedStr, res)
        o._pt_ranges = r if type(r) is _frozenset or len(res) == len(self) else R.union(r)
        return o

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
        left = marg // 2 + (marg & _index(width) & 1)
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
        return _expandtabs(str, self, res, _index(tabsize))  # type: ignore[no-any-return]

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
        r = self._pt_ranges
        if type(r) is _frozenset and type(new) is not TaintedStr and old:
            # Whole-string tags, untagged replacement: the kept stretches carry `r`.
            i = _s_find(self, old)
            if i < 0 or count == 0:
                o = _str_new(TaintedStr, res)
                o._pt_ranges = r
                return o
            lo = _size(old)
            ln = _size(new)
            n = len(self)
            lr = len(res)
            j = i + lo
            if (lr - n == ln - lo) if ln != lo else (count == 1 or _s_find(self, old, j) < 0):
                # exactly one replacement, the common case
                if i:
                    ranges: Any = ((0, i, r), (i + ln, lr, r)) if j < n else ((0, i, r),)
                elif j < n:
                    ranges = ((ln, lr, r),)
                else:
                    return res
                o = _str_new(TaintedStr, res)
                o._pt_ranges = ranges
                return o
        return _replace(str, self, old, new, _index(count), res)  # type: ignore[no-any-return]

    def split(self, sep: str | None = None, maxsplit: SupportsIndex = -1) -> list[str]:
        parts = str.split(self, sep, maxsplit)
        r = self._pt_ranges
        if type(r) is _frozenset:
            out: list[str] = []
            for p in parts:
                if p:
                    o = _str_new(TaintedStr, p)
                    o._pt_ranges = r
                    out.append(o)
                else:
                    out.append(p)
            return out
        return _split_pieces(str, self, parts, sep)

    def rsplit(self, sep: str | None = None, maxsplit: SupportsIndex = -1) -> list[str]:
        return _split_pieces(str, self, str.rsplit(self, sep, maxsplit), sep)

    def splitlines(self, keepends: bool = False) -> list[str]:
        return _splitlines(str, self, keepends)

    def partition(self, sep: str) -> tuple[str, str, str]:
        return _partition(str, self, str.partition(self, sep))

    def rpartition(self, sep: str) -> tuple[str, str, str]:
        return _partition(str, self, str.rpartition(self, sep))

    def join(self, iterable: Iterable[str]) -> str:
        seq = iterable if type(iterable) is list or type(iterable) is tuple else list(iterable)
        res = str.join(self, seq)
        r = self._pt_ranges
        ls = len(self)
        if type(r) is _frozenset and ls:
            # A whole-tagged separator between plain items: one triple per separator,
            # unless an empty middle item makes two separators adjacent (`_join`).
            # Two and three items, the common cases, are written out.
            n = len(seq)
            ranges: Any = None
            if n == 3:
                a, b, c = seq
                if type(a) is str and type(b) is str and type(c) is str and b:
                    p = len(a)
                    q = p + ls + len(b)
                    ranges = ((p, p + ls, r), (q, q + ls, r))
            elif n == 2:
                a, b = seq
                if type(a) is str and type(b) is str and (a or b):
                    p = len(a)
                    ranges = ((p, p + ls, r),)
            elif n > 3 and type(seq[0]) is str:
                out: list[Any] = []
                pos = len(seq[0])
                for it in seq[1:]:
                    if type(it) is not str or not it:
                        break
                    out.append((pos, pos + ls, r))
                    pos += ls + len(it)
                else:
                    ranges = tuple(out)
            if ranges is not None:
                o = _str_new(TaintedStr, res)
                o._pt_ranges = ranges
                return o
        return _join(str, self, r, seq, res)  # type: ignore[no-any-return]

    # formatting and codecs
    def format(self, *args: Any, **kwargs: Any) -> str:
        return _fmt.brace_format(self, args, kwargs)

    def format_map(self, mapping: Any) -> str:
        return _fmt.brace_format_map(self, mapping)

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        res = str.encode(self, encoding, errors)
        r = self._pt_ranges
        if type(r) is _frozenset:
            o = _bytes_new(TaintedBytes, res)
            o._pt_ranges = r
            return o
        return _encode(self, res, encoding, errors)


class TaintedBytes(bytes):
    """A `bytes` whose bytes carry purpose tags (ranges live in the instance dict).

    ``bytes`` subclasses may not have ``__slots__``; the ranges are kept on the
    object itself, never in a table keyed by ``id()`` (DESIGN §7).
    """

    _pt_ranges: Ranges

    def __new__(cls, value: object = b"", *args: Any, **kwargs: Any) -> TaintedBytes:
        r = _rng(value) if not args and not kwargs else None
        if r is None:
            return bytes(value, *args, **kwargs)  # type: ignore[call-overload,no-any-return]
        o = _bytes_new(cls, value)  # type: ignore[call-overload]
        o._pt_ranges = r
        return o  # type: ignore[no-any-return]

    def __add__(self, other: Any) -> bytes:
        try:
            res = bytes.__add__(self, other)
        except TypeError:
            res = None
        if res is None:
            out = _reflected_add(self, other)
            if out is not NotImplemented:
                return out  # type: ignore[no-any-return]
            # bytes' concatenation error, naming `bytes` ("can't concat int to bytes"),
            # raised outside the handler (no chained context)
            return bytes.__add__(b"", other)
        n = len(self)
        return mk_bytes(
            res, R.build(((n, self._pt_ranges, 0), (len(res) - n, _rng(other), 0)), len(res))
        )

    def __radd__(self, other: Any) -> bytes:
        if not isinstance(other, bytes):
            return NotImplemented
        res = bytes.__add__(other, self)
        lo = len(res) - len(self)
        return mk_bytes(
            res, R.build(((lo, _rng(other), 0), (len(self), self._pt_ranges, 0)), len(res))
        )

    def __mul__(self, n: SupportsIndex) -> bytes:
        if _not_index(n):
            return NotImplemented
        res = bytes.__mul__(self, n)
        if not res:
            return res
        return mk_bytes(res, R.repeat(self._pt_ranges, len(self), len(res) // len(self)))

    __rmul__ = __mul__

    def __mod__(self, values: Any) -> bytes:
        res = bytes.__mod__(self, values)
        return mk_bytes(res, R.union_all((self._pt_ranges, _fmt.deep_union(values) or None)))

    def __rmod__(self, template: Any) -> bytes:
        if not isinstance(template, bytes):
            return NotImplemented
        res = bytes.__mod__(template, self)
        return mk_bytes(res, R.union_all((_rng(template), self._pt_ranges)))

    def __getitem__(self, key: SupportsIndex | slice) -> Any:
        res = bytes.__getitem__(self, key)
        r = self._pt_ranges
        if type(r) is _frozenset and type(key) is slice:
            return mk_bytes(res, r) if res else res  # type: ignore[arg-type]
        return _getitem_slow(bytes, self, key, res, r)

    def __iter__(self) -> Iterator[Any]:
        make = _proxy.TaggedValue._make
        r = self._pt_ranges
        for i, b in enumerate(bytes.__iter__(self)):
            ts = R.at(r, i)
            yield make(b, ts) if ts else b

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
        left = marg // 2 + (marg & _index(width) & 1)
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
        return _expandtabs(bytes, self, res, _index(tabsize))  # type: ignore[no-any-return]

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
        return _replace(bytes, self, old, new, _index(count), res)  # type: ignore[no-any-return]

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
        seq = iterable if type(iterable) is list or type(iterable) is tuple else list(iterable)
        res = bytes.join(self, seq)
        return _join(bytes, self, self._pt_ranges, seq, res)  # type: ignore[no-any-return]

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        res = bytes.decode(self, encoding, errors)
        return _decode(self, res, encoding, errors)

    def hex(self, *args: Any, **kwargs: Any) -> str:  # (sep, bytes_per_sep)
        res = bytes.hex(self, *args, **kwargs)
        r = self._pt_ranges
        if args or kwargs or type(r) is _frozenset:
            return mk_str(res, R.union(r))
        out = [(a * 2, b * 2, ts) for a, b, ts in r]  # type: ignore[misc]
        return mk_str(res, R.normalize(out, len(res)))


# Late imports: these modules build on the carriers above (import cycle by design).
from . import _accel, _proxy  # noqa: E402
from . import _formatting as _fmt  # noqa: E402

if _accel._C is not None:
    # f-string parts: CPython calls __format__("") on every str subclass; in C the
    # empty spec costs no Python frame (any other spec calls the method above)
    _accel._C.install_format(TaintedStr, TaintedStr.__dict__["__format__"])
    # tagged strings made in C (json.loads, the aspects) come in one memory block
    _accel._C.install_one_block(TaintedStr)
