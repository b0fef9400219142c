"""``io.StringIO``/``io.BytesIO``, ``csv.writer`` and ``string.Template``.

The in-memory files remember which positions tagged writes covered, so
``getvalue()``, ``read()`` and ``readline()`` (and iteration) hand the tags back;
a csv writer writes a row holding tagged values as one tagged line; a
``Template`` substitution carries the tags of the template and the values used.
"""

from __future__ import annotations

import _csv
import bisect
import csv
import functools
import inspect
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
# the originals' names of the initial value, and the methods a memory file overrides
_INITIAL: dict[type, str] = {str: "initial_value", bytes: "initial_bytes"}
_WRITERS = ("__init__", "write", "writelines")
_READERS = ("getvalue", "read", "read1", "readline", "readlines", "__next__")


class _Marks:
    """Tagged extents written into a buffer: (start, stop, tag set), in write order."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[Triple] = []

    def add(self, pos: int, spans: list[Triple]) -> None:
        for a, b, ts in spans:
            if a < b:
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


def _find_all(s: str, sub: str) -> list[int]:
    out: list[int] = []
    i = str.find(s, sub)
    while i >= 0:
        out.append(i)
        i = str.find(s, sub, i + len(sub))
    return out


def _stored(r: Ranges, s: Any, m: int) -> list[Triple]:
    """The triples of `r`, the ranges of the written `s`, over the `m` characters the
    file stored for it.  A StringIO's newline translation changes the length:
    ``newline=None`` stores each "\\r\\n" as one "\\n", ``newline="\\r\\n"`` each "\\n" as
    two characters; a stored character carries the tags of each character it came from.
    """
    n = len(s)
    spans = R.triples(r, n)
    if m == n:  # as written, or one character for one ("\r" stored as "\n")
        return spans
    if m < n:
        seconds = [p + 1 for p in _find_all(s, "\r\n")]  # second halves of the pairs
        if n - m != len(seconds):
            raise ValueError(f"{n} characters stored as {m}: not a newline translation")

        def at(i: int) -> int:  # where s[i] is stored: minus the pairs joined up to it
            return i - bisect.bisect_right(seconds, i)

        return [(at(a), at(b - 1) + 1, ts) for a, b, ts in spans if a < b]
    newlines = _find_all(s, "\n")
    if m - n != len(newlines):
        raise ValueError(f"{n} characters stored as {m}: not a newline translation")
    return [
        (a + bisect.bisect_left(newlines, a), b + bisect.bisect_left(newlines, b), ts)
        for a, b, ts in spans
    ]


class _ClassSignature:
    """``__signature__`` of a patched class: the original class's, as `inspect.signature`
    shows it.  Absent on instances, and on a subclass that has its own ``__init__`` or
    ``__new__`` or a metaclass ``__call__``, whose signature inspect finds as before."""

    __slots__ = ("cls", "sig")

    def __init__(self, cls: type, sig: inspect.Signature) -> None:
        self.cls = cls
        self.sig = sig

    def __get__(self, obj: object, owner: type | None = None) -> inspect.Signature:
        if obj is None and owner is not None and type(owner).__call__ is type.__call__:
            for k in owner.__mro__:
                if k is self.cls:
                    return self.sig
                if "__init__" in k.__dict__ or "__new__" in k.__dict__:
                    break
        raise AttributeError("__signature__")


def _like(method: Any, orig: Any) -> None:
    """`method` (a patched method) with the docstring and signature of `orig`."""
    try:
        method.__doc__ = orig.__doc__
        method.__signature__ = inspect.signature(orig)
    except (AttributeError, TypeError, ValueError):  # read-only (a C method), no signature
        pass


def _memory_file(base: Any, plain: type, mk: Callable[[Any, Ranges | None], Any]) -> Any:
    b_init = base.__init__
    b_write = base.write
    b_tell = base.tell
    b_seek = base.seek
    b_getvalue = base.getvalue
    b_writelines = base.writelines
    initial_name = _INITIAL[plain]

    def size(f: Any) -> int:
        """The length of `f`'s buffer; `f` left at 0, where __init__ leaves it."""
        n: int = b_seek(f, 0, 2)
        b_seek(f, 0)
        return n

    def record(f: Any, s: Any, pos: int, end: Callable[[Any], int]) -> None:
        """Remember the tags of `s`, stored from `pos` to ``end(f)``."""
        r = s._pt_ranges
        marks = f._pt_marks
        if marks is None:
            marks = f._pt_marks = _Marks()
        stop = _EVERYWHERE
        try:
            stop = end(f)
            marks.add(pos, _stored(r, s, stop - pos))
        except Exception as exc:
            fallback("io.write", exc)
            try:  # where exactly is lost: its tags on all it stored (or from pos on)
                marks.items.append((pos, stop, R.union(r)))
            except Exception:  # pragma: no cover - nothing left to fall back to
                pass

    def tagged(f: Any, res: Any, start: int | None = None) -> Any:
        """`res`, read from `f` at `start` (None: just read, so it ends at tell()),
        with the tags written there.  (`f` may be a file made before instrument(),
        handed to an unbound method: it has no marks.)"""
        marks = getattr(f, "_pt_marks", None)
        if marks is None or not res:
            return res
        try:
            if start is None:
                start = b_tell(f) - len(res)
            return mk(res, marks.ranges(start, start + len(res)))
        except Exception as exc:
            fallback("io.read", exc)
            try:  # exact ranges failed: every tag written anywhere, on all of it
                return mk(res, R.union_all(ts for _a, _b, ts in marks.items) or None)
            except Exception:  # pragma: no cover - nothing left to fall back to
                return res

    class Tagged(base):  # type: ignore[misc]
        __doc__ = base.__doc__
        _pt_marks: _Marks | None = None

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            b_init(self, *args, **kwargs)  # the original's errors, for any arguments
            initial = args[0] if args else kwargs.get(initial_name)
            t = type(initial)
            if (t is TaintedStr or t is TaintedBytes) and initial:  # its tags
                self._pt_marks = None  # (a second __init__ starts a new buffer)
                # a StringIO stores it with its newline translation: measure what it stored
                record(self, initial, 0, size)

        def write(self, s: Any = _NOTHING, /) -> int:
            if type(s) is plain:  # the usual write: one check, then the C method
                return b_write(self, s)  # type: ignore[no-any-return]
            t = type(s)
            if (t is not TaintedStr and t is not TaintedBytes) or not isinstance(self, Tagged):
                # (a file made before instrument(), given to the unbound method, cannot
                # keep marks: written as the original writes)
                if s is _NOTHING:
                    return b_write(self)  # type: ignore[no-any-return]  # its TypeError
                return b_write(self, s)  # type: ignore[no-any-return]
            try:
                pos: int = b_tell(self)
            except ValueError:  # a closed file: the original's error (a wrong type first)
                return b_write(self, s)  # type: ignore[no-any-return]
            n: int = b_write(self, s)
            record(self, s, pos, b_tell)  # stored from pos to tell(): newlines translated
            return n

        def writelines(self, lines: Iterable[Any], /) -> None:  # BytesIO's
            b_writelines(self, ())  # the original's checks first (a closed file)
            write = Tagged.write  # as the original, not a subclass's write()
            for line in lines:
                write(self, line)

        def getvalue(self) -> Any:
            if getattr(self, "_pt_marks", None) is None:
                return b_getvalue(self)
            return tagged(self, b_getvalue(self), 0)

        def read(self, size: Any = -1, /) -> Any:
            return tagged(self, base.read(self, size))

        def read1(self, size: Any = -1, /) -> Any:  # BytesIO's
            return tagged(self, base.read1(self, size))

        def readline(self, size: Any = -1, /) -> Any:
            return tagged(self, base.readline(self, size))

        def readlines(self, hint: Any = -1, /) -> list[Any]:  # BytesIO's
            lines: list[Any] = base.readlines(self, hint)  # its errors, before reading
            if getattr(self, "_pt_marks", None) is None or not lines:
                return lines
            pos = b_tell(self) - sum(map(len, lines))  # where they started
            out = []
            for line in lines:
                out.append(tagged(self, line, pos))
                pos += len(line)
            return out

        def __next__(self) -> Any:  # BytesIO's
            return tagged(self, base.__next__(self))

    # A StringIO reads its lines through readline() in a subclass (for iteration, and
    # IOBase.readlines() iterates) and writes writelines() through write(): the
    # originals do it with the tags, and with their own checks and errors.  A BytesIO
    # scans its buffer itself.  (Iteration starts at the base's __iter__, which checks
    # that the file is open.)
    if plain is str:
        for name in ("writelines", "read1", "readlines", "__next__"):
            delattr(Tagged, name)
    py_init, py_write, py_getvalue = Tagged.__init__, Tagged.write, Tagged.getvalue
    own = [name for name in (*_WRITERS, *_READERS) if name in vars(Tagged)]
    for name in own:  # named as the originals (pickled by reference as io.StringIO.read)
        fn = vars(Tagged)[name]
        fn.__module__ = "io"
        fn.__name__ = name
        fn.__qualname__ = f"{base.__qualname__}.{name}"
    # With the C accelerator: a construction from plain values, a plain write(lines),
    # and any read while nothing tagged was written, is the C method itself.
    for name in own:
        when = "_pt_marks" if name in _READERS else None
        slow = vars(Tagged)[name]
        setattr(Tagged, name, fast(slow, fast=getattr(base, name), check_from=1, when_plain=when))
    if _C is not None:
        # The C type's own dealloc never calls close(); a Python subclass's would (its
        # inherited IOBase finalizer looks up and calls close() on every instance,
        # ~100 ns a file).  So ours does not either, as the original.  A user's subclass
        # still inherits the finalizer: CPython fills an empty slot from the whole MRO.
        _C.drop_finalizer(Tagged)
        # Better still: write/getvalue as real C methods, and a C tp_init, which call
        # the io functions directly when plain (a Fast costs a second dispatch).
        _C.memfile_install(Tagged, plain, py_init, py_write, py_getvalue, "_pt_marks")
    for name in own:  # what help() and inspect show: the originals' (C methods have them)
        _like(vars(Tagged)[name], getattr(base, name))
    try:
        Tagged.__signature__ = _ClassSignature(Tagged, inspect.signature(base))
    except (ValueError, TypeError):  # pragma: no cover - a base without a signature
        pass
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
