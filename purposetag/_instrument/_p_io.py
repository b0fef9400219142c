"""``io.StringIO``/``io.BytesIO``, ``csv.writer`` and ``string.Template``.

The in-memory files remember which positions tagged writes covered, so
``getvalue()``, ``read()`` and ``readline()`` (and iteration) hand the tags back;
a csv writer writes a row holding tagged values as one tagged line; a
``Template`` substitution carries the tags of the template and the values used.
"""

from __future__ import annotations

import _csv
import csv
import functools
import io
import itertools
import string
from collections.abc import Callable, Iterable
from typing import Any

from .. import _ranges as R
from .._accel import _C, fast
from .._ranges import Ranges, Triple
from .._tainted import TaintedBytes, TaintedStr, _rng, mk_bytes, mk_str
from ._patching import _PLAIN, all_plain, fallback, has_tags, patch, tags_in

_NO_TAGS: frozenset[Any] = frozenset()
_EVERYWHERE = 2**62  # the end of a mark that covers every position
_NOTHING: Any = object()


class _Marks:
    """Tagged extents written into a buffer: (start, stop, tag set), in write order."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[Triple] = []

    def add(self, pos: int, r: Ranges, n: int) -> None:
        for a, b, ts in R.triples(r, n):
            self.items.append((pos + a, pos + b, ts))

    def ranges(self, start: int, stop: int) -> Ranges | None:
        """Ranges of the slice ``[start, stop)``; overlapping writes merge their tags."""
        if stop <= start:
            return None
        cuts = {start, stop}
        for a, b, _ts in self.items:
            if start < a < stop:
                cuts.add(a)
            if start < b < stop:
                cuts.add(b)
        points = sorted(cuts)
        out: list[Triple] = []
        for lo, hi in itertools.pairwise(points):
            found = [ts for a, b, ts in self.items if a < hi and b > lo]
            if found:
                ts = R.union_all(found)
                if out and out[-1][1] == lo - start and out[-1][2] == ts:
                    out[-1] = (out[-1][0], hi - start, ts)
                else:
                    out.append((lo - start, hi - start, ts))
        return R.normalize(out, stop - start)


def _memory_file(base: Any, plain: type, mk: Callable[[Any, Ranges | None], Any]) -> Any:
    b_write = base.write
    b_getvalue = base.getvalue

    b_init = base.__init__

    class Tagged(base):  # type: ignore[misc]
        _pt_marks: _Marks | None = None

        def __init__(self, initial: Any = _NOTHING, *rest: Any, **kwargs: Any) -> None:
            if initial is _NOTHING:
                b_init(self, *rest, **kwargs)
                if not kwargs:
                    return
                initial = next(iter(kwargs.values()))
            else:
                b_init(self, initial, *rest, **kwargs)
            t = type(initial)
            if t is TaintedStr or t is TaintedBytes:  # the initial value's tags
                try:
                    marks = self._pt_marks = _Marks()
                    marks.add(0, initial._pt_ranges, len(initial))
                except Exception as exc:
                    fallback("io.init", exc)

        def write(self, s: Any) -> int:
            if type(s) is plain:  # the usual write: one check, then the C method
                return b_write(self, s)  # type: ignore[no-any-return]
            t = type(s)
            if t is not TaintedStr and t is not TaintedBytes:
                return b_write(self, s)  # type: ignore[no-any-return]
            r = s._pt_ranges
            pos = self.tell()
            n: int = base.write(self, s)
            try:
                if self._pt_marks is None:
                    self._pt_marks = _Marks()
                self._pt_marks.add(pos, r, len(s))
            except Exception as exc:
                fallback("io.write", exc)
                try:  # where exactly is lost: the tags go on everything read from now on
                    if self._pt_marks is None:
                        self._pt_marks = _Marks()
                    self._pt_marks.items.append((0, _EVERYWHERE, R.union(r)))
                except Exception:  # pragma: no cover - nothing left to fall back to
                    pass
            return n

        def writelines(self, lines: Iterable[Any]) -> None:
            for line in lines:
                self.write(line)

        def _tagged(self, res: Any, start: int) -> Any:
            marks = self._pt_marks
            if marks is None or not res:
                return res
            try:
                return mk(res, marks.ranges(start, start + len(res)))
            except Exception as exc:
                fallback("io.read", exc)
                try:  # exact ranges failed: every tag written anywhere, on all of it
                    return mk(res, R.union_all(ts for _a, _b, ts in marks.items) or None)
                except Exception:  # pragma: no cover - nothing left to fall back to
                    return res

        def getvalue(self) -> Any:
            if self._pt_marks is None:
                return b_getvalue(self)
            return self._tagged(b_getvalue(self), 0)

        def read(self, size: int | None = -1) -> Any:
            if self._pt_marks is None:
                return base.read(self, size)
            pos = self.tell()
            return self._tagged(base.read(self, size), pos)

        def read1(self, size: int | None = -1) -> Any:  # BytesIO's
            if self._pt_marks is None:
                return base.read1(self, size)
            pos = self.tell()
            return self._tagged(base.read1(self, size), pos)

        def readline(self, size: int | None = -1) -> Any:
            if self._pt_marks is None:
                return base.readline(self, size)
            pos = self.tell()
            return self._tagged(base.readline(self, size), pos)

        def readlines(self, hint: int | None = -1) -> list[Any]:
            if self._pt_marks is None:
                return base.readlines(self, hint)  # type: ignore[no-any-return]
            out: list[Any] = []
            total = 0
            while True:
                line = self.readline()
                if not line:
                    return out
                out.append(line)
                total += len(line)
                if hint is not None and 0 < hint <= total:
                    return out

        def __next__(self) -> Any:
            if self._pt_marks is None:
                return base.__next__(self)
            line = self.readline()
            if not line:
                raise StopIteration
            return line

        def __iter__(self) -> Any:
            return self

    py_init, py_write, py_getvalue = Tagged.__init__, Tagged.write, Tagged.getvalue
    # With the C accelerator: a plain write, and any read while nothing tagged was
    # written, is the C method itself.
    Tagged.__init__ = fast(Tagged.__init__, fast=b_init, check_from=1)  # type: ignore[method-assign]
    Tagged.write = fast(Tagged.write, fast=b_write, check_from=1)  # type: ignore[method-assign]
    if not hasattr(base, "read1"):  # StringIO has none
        del Tagged.read1
    for name in ("getvalue", "read", "read1", "readline", "readlines", "__next__"):
        if not hasattr(base, name):
            continue
        setattr(
            Tagged,
            name,
            fast(
                getattr(Tagged, name),
                fast=getattr(base, name),
                check_from=1,
                when_plain="_pt_marks",
            ),
        )
    if _C is not None:
        # The C type's own dealloc never calls close(); a Python subclass's would (its
        # inherited IOBase finalizer looks up and calls close() on every instance,
        # ~100 ns a file).  So ours does not either, as the original.  A user's subclass
        # still inherits the finalizer: CPython fills an empty slot from the whole MRO.
        _C.drop_finalizer(Tagged)
        # Better still: write/getvalue as real C methods, and a C tp_init, which call
        # the io functions directly when plain (a Fast costs a second dispatch).
        _C.memfile_install(Tagged, plain, py_init, py_write, py_getvalue, "_pt_marks")
    Tagged.__name__ = base.__name__
    Tagged.__qualname__ = base.__qualname__
    Tagged.__module__ = "io"
    return Tagged


TaggedStringIO = _memory_file(io.StringIO, str, mk_str)
TaggedBytesIO = _memory_file(io.BytesIO, bytes, mk_bytes)


class _LineCapture:
    __slots__ = ("line",)

    def __init__(self) -> None:
        self.line = ""

    def write(self, s: str) -> int:
        self.line = s
        return len(s)


class TaggedCsvWriter:
    """A csv writer that writes rows holding tagged values as one tagged line.

    Rows of plain values go straight to the real writer.  A row with tags is
    written by a second writer of the same dialect into a `_LineCapture`, and the
    line handed to the file tagged.
    """

    __slots__ = ("_file", "_side", "_spec", "_w")

    _w: Any
    _file: Any
    _spec: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]
    _side: tuple[Any, _LineCapture] | None

    def writerow(self, row: Any) -> Any:
        t = type(row)
        if t is list or t is tuple:
            for v in row:
                tv = type(v)
                if tv is not str and tv not in _PLAIN:
                    break
            else:  # the usual row: plain strings and numbers
                return self._w.writerow(row)
        else:
            try:
                row = list(row)  # iterate once (DictWriter hands over a generator)
            except TypeError:
                return self._w.writerow(row)  # raises csv.Error as it would
        try:
            tags = tags_in(row) if has_tags(row) else _NO_TAGS
        except Exception as exc:
            fallback("csv.writerow", exc)
            tags = _NO_TAGS
        if not tags:
            return self._w.writerow(row)
        side = self._side
        if side is None:  # a second writer, same dialect, that writes to us
            orig, args, kwargs = self._spec
            capture = _LineCapture()
            side = self._side = (orig(capture, *args, **kwargs), capture)
        side[0].writerow(row)
        return self._file.write(mk_str(side[1].line, tags))

    def writerows(self, rows: Iterable[Any]) -> None:
        for row in rows:
            self.writerow(row)

    @property
    def dialect(self) -> Any:
        return self._w.dialect

    def __reduce_ex__(self, protocol: Any) -> Any:
        # the real writer cannot be copied or pickled: neither can this one
        t = type(self._w)
        raise TypeError(f"cannot pickle '{t.__module__}.{t.__qualname__}' object")


_py_writerow = TaggedCsvWriter.writerow
# With the C accelerator, a row of plain values goes straight to the real writer.
TaggedCsvWriter.writerow = fast(  # type: ignore[method-assign]
    TaggedCsvWriter.writerow,
    fast=type(csv.writer(io.StringIO())).writerow,  # called with the real writer
    inner="_w",
    check_from=1,
    fast_from=1,
)


def _csv_writer(orig: Callable[..., Any]) -> Callable[..., Any]:
    def writer(*args: Any, **kwargs: Any) -> Any:
        w = orig(*args, **kwargs)  # its own errors, for any arguments
        o = TaggedCsvWriter()
        o._w = w
        o._file = args[0]  # the file is positional-only: orig raised without it
        o._spec = (orig, args[1:], kwargs)
        o._side = None
        return o

    writer.__doc__ = orig.__doc__
    writer.__wrapped__ = orig  # type: ignore[attr-defined]
    if _C is not None:  # the C CsvWriter, made in C (see `_speedups.c`)
        return fast(writer, fast=orig, make=_C.CsvWriter)
    return writer


if _C is not None:
    _C.csv_setup(type(_csv.writer(io.StringIO())), _py_writerow, TaggedCsvWriter.writerows)


_NO_MAPPING: Any = object()


def _template_method(orig: Callable[..., str], where: str) -> Callable[..., str]:
    def method(self: string.Template, mapping: Any = _NO_MAPPING, /, **kws: Any) -> str:
        if mapping is _NO_MAPPING:
            # ``substitute(**kws)`` is ``substitute(kws)``: hand over the dict we
            # already have instead of unpacking it into a second one
            res = orig(self, kws)
            if type(self.template) is str:
                for v in kws.values():
                    t = type(v)
                    if t is not str and t not in _PLAIN:
                        break
                else:  # the usual call: a plain template, plain keyword values
                    return res
            mapping = None
        else:
            res = orig(self, mapping, **kws)
            if (
                type(self.template) is str
                and type(mapping) is dict
                and all_plain(map(type, mapping.values()))
                and all_plain(map(type, kws.values()))
            ):
                return res
        try:
            tags = R.union_all(
                (_rng(self.template), tags_in(mapping) or None, tags_in(kws) or None)
            )
            if tags:
                return mk_str(res, tags)
        except Exception as exc:
            fallback(where, exc)
        return res

    functools.update_wrapper(method, orig)  # names, doc, __wrapped__
    # with the C accelerator: a plain template and plain values are the original call
    return fast(method, fast=orig, check_from=1, when_plain="template")


def apply() -> None:
    patch(io, "StringIO", TaggedStringIO)
    patch(io, "BytesIO", TaggedBytesIO)
    patch(csv, "writer", _csv_writer(csv.writer))
    st = string.Template
    patch(st, "substitute", _template_method(st.substitute, "string.Template.substitute"))
    patch(
        st,
        "safe_substitute",
        _template_method(st.safe_substitute, "string.Template.safe_substitute"),
    )
