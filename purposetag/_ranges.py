"""The range algebra: which characters (or bytes) of a string carry which tags.

A string's tags are held as `Ranges`, one of two shapes:

* a non-empty ``frozenset[Tag]`` -- every character carries exactly that set.
  This is the common case (a value tagged where it entered) and costs nothing
  per string: the set object is interned and shared.
* a non-empty tuple of ``(start, stop, frozenset[Tag])`` triples, sorted,
  non-overlapping, never empty, adjacent equal sets merged.

Untagged data has no `Ranges` at all (None): operations return plain values.
Results are described as *segments* ``(length, source_ranges, source_offset)``:
``length`` characters copied from ``source_ranges`` starting at
``source_offset``; a segment with ``None`` source is untagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeAlias

from ._tags import Tag, intern_tags

TagSet: TypeAlias = frozenset[Tag]
Triple: TypeAlias = tuple[int, int, TagSet]
Ranges: TypeAlias = "TagSet | tuple[Triple, ...]"
Segment: TypeAlias = "tuple[int, Ranges | None, int]"

_EMPTY: TagSet = frozenset()


def union(r: Ranges | None) -> TagSet:
    """Every tag anywhere in `r`."""
    if r is None:
        return _EMPTY
    if type(r) is frozenset:
        return r
    out: set[Tag] = set()
    for _a, _b, ts in r:  # type: ignore[misc]
        out |= ts
    return intern_tags(frozenset(out))


def union_all(rs: Iterable[Ranges | None]) -> TagSet:
    out: set[Tag] = set()
    for r in rs:
        if r is not None:
            out |= union(r)
    return intern_tags(frozenset(out))


def triples(r: Ranges | None, length: int) -> list[Triple]:
    """`r` as explicit triples over a string of `length`."""
    if r is None:
        return []
    if type(r) is frozenset:
        return [(0, length, r)]
    return list(r)  # type: ignore[arg-type]


def _push(out: list[Triple], a: int, b: int, ts: TagSet) -> None:
    if a >= b:
        return
    if out:
        last = out[-1]
        if last[1] == a and last[2] == ts:
            out[-1] = (last[0], b, ts)
            return
    out.append((a, b, ts))


def place(out: list[Triple], r: Ranges, pos: int, n: int) -> None:
    """Append the ranges `r` of an `n`-long piece written at `pos` (after every triple
    already in `out`), merging equal neighbours."""
    if type(r) is frozenset:
        if not n:
            return
        if out:
            last = out[-1]
            if last[1] == pos and (last[2] is r or last[2] == r):
                out[-1] = (last[0], pos + n, r)
                return
        out.append((pos, pos + n, r))
        return
    for a, b, ts in r:  # type: ignore[misc]
        a += pos
        if out:
            last = out[-1]
            if last[1] == a and (last[2] is ts or last[2] == ts):
                out[-1] = (last[0], b + pos, ts)
                continue
        out.append((a, b + pos, ts))


def normalize(out: list[Triple], total: int) -> Ranges | None:
    """Canonical form of explicit triples over a string of length `total`."""
    if not out:
        return None
    if len(out) == 1:
        a, b, ts = out[0]
        if a == 0 and b == total:
            return ts
    return tuple(out)


def build(segments: Iterable[Segment], total: int) -> Ranges | None:
    """Ranges of a string made of `segments` (see module docstring)."""
    out: list[Triple] = []
    pos = 0
    # `_push` written out: this loop runs for every concatenation and format.
    for ln, src, off in segments:
        if ln <= 0:
            continue
        if src is not None:
            if type(src) is frozenset:
                if out:
                    last = out[-1]
                    if last[1] == pos and last[2] == src:
                        out[-1] = (last[0], pos + ln, src)
                    else:
                        out.append((pos, pos + ln, src))
                else:
                    out.append((pos, pos + ln, src))
            else:
                end = off + ln
                for a, b, ts in src:  # type: ignore[misc]
                    if b <= off:
                        continue
                    if a >= end:
                        break
                    _push(
                        out,
                        (a if a > off else off) - off + pos,
                        (b if b < end else end) - off + pos,
                        ts,
                    )
        pos += ln
    return normalize(out, total)


def sub(r: Ranges | None, start: int, stop: int) -> Ranges | None:
    """Ranges of the contiguous piece ``[start, stop)``, shifted to 0."""
    if r is None or type(r) is frozenset:
        return r if stop > start else None
    return build(((stop - start, r, start),), stop - start)


def at(r: Ranges | None, index: int) -> TagSet | None:
    """The tag set on character `index` (already normalised to 0 <= index < len)."""
    if r is None or type(r) is frozenset:
        return r
    for a, b, ts in r:  # type: ignore[misc]
        if index < a:
            return None
        if index < b:
            return ts
    return None


def pick(r: Ranges | None, positions: Sequence[int]) -> Ranges | None:
    """Ranges of the string made of the characters at `positions` (stepped slices)."""
    if r is None or type(r) is frozenset:
        return r if positions else None
    out: list[Triple] = []
    for i, p in enumerate(positions):
        ts = at(r, p)
        if ts is not None:
            _push(out, i, i + 1, ts)
    return normalize(out, len(positions))


def repeat(r: Ranges | None, length: int, times: int) -> Ranges | None:
    if r is None or times <= 0 or length == 0:
        return None
    if type(r) is frozenset:
        return r
    out: list[Triple] = []
    for k in range(times):
        base = k * length
        for a, b, ts in r:  # type: ignore[misc]
            _push(out, a + base, b + base, ts)
    return normalize(out, length * times)


def add_tag(r: Ranges | None, length: int, tag: Tag) -> Ranges:
    """`r` with `tag` added to every character (untagged ones included)."""
    if r is None:
        return intern_tags(frozenset((tag,)))
    if type(r) is frozenset:
        return intern_tags(r | {tag})
    out: list[Triple] = []
    pos = 0
    single = intern_tags(frozenset((tag,)))
    for a, b, ts in r:  # type: ignore[misc]
        _push(out, pos, a, single)
        _push(out, a, b, intern_tags(ts | {tag}))
        pos = b
    _push(out, pos, length, single)
    res = normalize(out, length)
    assert res is not None
    return res


def map_tags(r: Ranges, length: int, fn: object) -> Ranges:
    """`r` with each tag set replaced by ``fn(tagset)``."""
    f = fn  # callable TagSet -> TagSet
    if type(r) is frozenset:
        return f(r)  # type: ignore[operator,no-any-return]
    out: list[Triple] = []
    for a, b, ts in r:  # type: ignore[misc]
        _push(out, a, b, f(ts))  # type: ignore[operator]
    res = normalize(out, length)
    assert res is not None
    return res


def as_public(r: Ranges | None, length: int) -> list[tuple[int, int, TagSet]]:
    """The public `pt.ranges()` form: characters only (an empty tagged string, which
    still carries its tags, has no range)."""
    return triples(r, length) if length else []
