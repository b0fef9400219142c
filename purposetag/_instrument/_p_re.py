"""``re``: matches, groups, ``sub``, ``split``, ``findall`` and ``finditer`` keep tags.

Spans are exact, so a group carries the tags of exactly the characters it
matched.  ``Pattern`` and ``Match`` are C types: ``re.compile`` returns a
transparent proxy (``isinstance(p, re.Pattern)`` holds) whose methods behave like
the module functions below, and a match on tagged text is a proxy whose
``group``/``groups``/``groupdict``/``expand``/``[]`` are tagged.  Results are
computed by the real ``re`` first; tags are computed only for tagged input, and
checked against the plain result (any mismatch falls back to the whole union).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import wrapt

from .. import _accel
from .. import _ranges as R
from .._accel import fast
from .._ranges import Ranges, Segment, TagSet
from .._tainted import _rng, exact_text, mk_bytes, mk_str
from ._codepatch import clone, inject
from ._patching import fallback, patch, tag_deep

_Pattern = re.Pattern
_NONE: TagSet = frozenset()


def _mk(plain: Any, r: Ranges | None) -> Any:
    return mk_str(plain, r) if isinstance(plain, str) else mk_bytes(plain, r)


class TaggedMatch(wrapt.BaseObjectProxy):  # type: ignore[type-arg]
    """A match on tagged text: every piece of text it returns carries its tags."""

    _self_r: Ranges

    def __init__(self, match: re.Match[Any], r: Ranges) -> None:
        super().__init__(match)
        self._self_r = r

    def _piece(self, g: Any) -> Any:
        m = self.__wrapped__
        plain = m.group(g)
        if plain is None:
            return None
        a, b = m.span(g)
        return _mk(plain, R.sub(self._self_r, a, b))

    def group(self, *groups: Any) -> Any:
        if len(groups) <= 1:
            return self._piece(groups[0] if groups else 0)
        return tuple(self._piece(g) for g in groups)

    def __getitem__(self, g: Any) -> Any:
        return self._piece(g)

    def groups(self, default: Any = None) -> tuple[Any, ...]:
        n = self.__wrapped__.re.groups
        return tuple(
            default if self.__wrapped__.group(i) is None else self._piece(i)
            for i in range(1, n + 1)
        )

    def groupdict(self, default: Any = None) -> dict[str, Any]:
        m = self.__wrapped__
        return {k: default if m.group(k) is None else self._piece(k) for k in m.re.groupindex}

    def expand(self, template: Any) -> Any:
        res = self.__wrapped__.expand(template)
        tags = R.union_all((_match_tags(self.__wrapped__, self._self_r), _rng(template)))
        return _mk(res, tags or None)

    def __copy__(self) -> TaggedMatch:
        return self

    def __deepcopy__(self, memo: Any) -> TaggedMatch:
        return self

    def __reduce_ex__(self, protocol: Any) -> Any:
        return self.__wrapped__.__reduce_ex__(protocol)


def _match_tags(m: re.Match[Any], r: Ranges) -> TagSet:
    """Tags of the text spanned by the match and all its groups."""
    lo, hi = m.span()
    for i in range(1, m.re.groups + 1):
        a, b = m.span(i)
        if a >= 0:
            lo, hi = min(lo, a), max(hi, b)
    return R.union(R.sub(r, lo, hi)) if hi > lo else frozenset()


def _wrap_match(m: Any, r: Ranges | None) -> Any:
    return m if m is None or r is None else TaggedMatch(m, r)


def _sub(p: Any, repl: Any, string: Any, count: int, with_n: bool) -> Any:
    """``p.sub``/``p.subn`` keeping tags; a callable `repl` is called once per match."""
    r = _rng(string)
    if callable(repl):
        seen: list[tuple[int, int, Any, TagSet]] = []

        def record(m: re.Match[Any]) -> Any:
            out = repl(m if r is None else TaggedMatch(m, r))
            seen.append((m.start(), m.end(), out, _match_tags(m, r) if r is not None else _NONE))
            return out

        res = p.subn(record, string, count)
        try:
            # as for a string `repl`: a replacement carries the tags of the text it
            # replaced (a digit masked as "*" still says where the digits were)
            spans: list[tuple[int, int, Any]] = [
                (a, b, o if not mt else _mk(o, R.union_all((R.union(_rng(o)), mt))))
                for a, b, o, mt in seen
            ]
            if r is not None or any(_rng(o) is not None for _a, _b, o in spans):
                res = (_assemble(res[0], string, r, spans), res[1])
        except Exception as exc:
            fallback("re.sub", exc)
            res = (_whole(res[0], r, *(_rng(o) for _a, _b, o, _mt in seen)), res[1])
        return res if with_n else res[0]
    res = p.subn(repl, string, count)
    rr = _rng(repl)
    if r is not None or rr is not None:
        try:
            spans = []
            # Match.expand fails on a memoryview's match (CPython joins the pieces
            # with the string's type): scan a bytes copy, the positions are the same
            scan = bytes(string) if isinstance(string, memoryview) else string
            for m in p.finditer(scan):
                if count and len(spans) >= count:
                    break
                out = m.expand(repl)
                tags = R.union_all((_match_tags(m, r) if r is not None else None, rr))
                spans.append((m.start(), m.end(), _mk(out, tags or None)))
            res = (_assemble(res[0], string, r, spans), res[1])
        except Exception as exc:
            fallback("re.sub", exc)
            res = (_whole(res[0], r, rr), res[1])
    return res if with_n else res[0]


def _assemble(res: Any, string: Any, r: Ranges | None, spans: list[tuple[int, int, Any]]) -> Any:
    """The substituted text: untouched input keeps its ranges, replacements theirs."""
    segs: list[Segment] = []
    pieces: list[Any] = []
    last = 0
    for a, b, out in spans:
        pieces.append(string[last:a])
        segs.append((a - last, r, last))
        if out is not None:
            pieces.append(out)
            segs.append((len(out), _rng(out), 0))
        last = b
    pieces.append(string[last:])
    segs.append((len(string) - last, r, last))
    plain = "" if isinstance(res, str) else b""
    sep: Any = plain[:0]
    # the pieces are slices of `string`, which may be a bytearray or memoryview
    joined = sep.join(str.__str__(x) if isinstance(x, str) else bytes(x) for x in pieces)
    ranges = R.build(segs, len(res))
    if joined != res:
        allr = [r, *(_rng(o) for _a, _b, o in spans if o is not None)]
        return _mk(res, R.union_all(allr) or None)
    return _mk(res, ranges)


def _split(p: Any, string: Any, maxsplit: int, res: list[Any]) -> list[Any]:
    r = _rng(string)
    if r is None:
        return res
    out: list[Any] = []
    last = 0
    for n, m in enumerate(p.finditer(string)):
        if maxsplit and n >= maxsplit:
            break
        out.append(_mk(string[last : m.start()], R.sub(r, last, m.start())))
        tm = TaggedMatch(m, r)
        out.extend(tm.group(i) for i in range(1, p.groups + 1))
        last = m.end()
    out.append(_mk(string[last:], R.sub(r, last, len(string))))
    if out != res:
        tags = R.union(r)
        return [_mk(x, tags) if isinstance(x, str | bytes) and x else x for x in res]
    return out


def _findall(p: Any, string: Any, pos: int, endpos: int, res: list[Any]) -> list[Any]:
    r = _rng(string)
    if r is None:
        return res
    out: list[Any] = []
    for m in p.finditer(string, pos, endpos):
        tm = TaggedMatch(m, r)
        if p.groups == 0:
            out.append(tm.group(0))
        elif p.groups == 1:
            g = tm.group(1)
            out.append(g if g is not None else string[:0])
        else:
            out.append(tuple(tm.groups(string[:0])))
    if out != res:
        tags = R.union(r)
        return [
            tuple(_mk(x, tags) for x in item) if isinstance(item, tuple) else _mk(item, tags)
            for item in res
        ]
    return out


def _finditer(it: Iterator[Any], r: Ranges | None) -> Iterator[Any]:
    for m in it:
        yield TaggedMatch(m, r)  # type: ignore[arg-type]


_MAX = 2**63 - 1


class _TaggedScanner:
    """``Pattern.scanner(tagged)``: its matches keep the string's tags."""

    __slots__ = ("_r", "_sc")

    def __init__(self, sc: Any, r: Ranges) -> None:
        self._sc = sc
        self._r = r

    @property
    def pattern(self) -> Any:
        return self._sc.pattern

    def match(self) -> Any:
        return _wrap_match(self._sc.match(), self._r)

    def search(self) -> Any:
        return _wrap_match(self._sc.search(), self._r)


class TaggedPattern:
    """``re.compile(...)`` while instrumented: a `Pattern` whose results keep tags.

    A small wrapper rather than a proxy (a method call through a proxy costs
    twice the plain search it wraps): every attribute of `re.Pattern` is spelled
    out, ``isinstance(p, re.Pattern)`` holds through ``__class__``, equality,
    hashing, ``repr``, copying and pickling are the wrapped pattern's.
    """

    # `_pt_source`: the tagged text it was compiled from (unset for plain text); the
    # compiled pattern itself comes from `re`'s cache, keyed by the plain text, so
    # one call's tags never come back from another's
    __slots__ = ("__weakref__", "__wrapped__", "_pt_source")

    __wrapped__: re.Pattern[Any]
    _pt_source: Any

    def __init__(self, pattern: re.Pattern[Any]) -> None:
        self.__wrapped__ = pattern

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # what isinstance() asks
        return _Pattern

    def match(self, string: Any, pos: int = 0, endpos: int = _MAX) -> Any:
        if type(string) is str:
            return self.__wrapped__.match(string, pos, endpos)
        return _wrap_match(self.__wrapped__.match(string, pos, endpos), _rng(string))

    def search(self, string: Any, pos: int = 0, endpos: int = _MAX) -> Any:
        if type(string) is str:
            return self.__wrapped__.search(string, pos, endpos)
        return _wrap_match(self.__wrapped__.search(string, pos, endpos), _rng(string))

    def fullmatch(self, string: Any, pos: int = 0, endpos: int = _MAX) -> Any:
        if type(string) is str:
            return self.__wrapped__.fullmatch(string, pos, endpos)
        return _wrap_match(self.__wrapped__.fullmatch(string, pos, endpos), _rng(string))

    def sub(self, repl: Any, string: Any, count: int = 0) -> Any:
        p = self.__wrapped__
        if type(string) is str and type(repl) is str:
            return p.sub(repl, string, count)
        return _sub(p, repl, string, count, False)

    def subn(self, repl: Any, string: Any, count: int = 0) -> Any:
        p = self.__wrapped__
        if type(string) is str and type(repl) is str:
            return p.subn(repl, string, count)
        return _sub(p, repl, string, count, True)

    def split(self, string: Any, maxsplit: int = 0) -> list[Any]:
        p = self.__wrapped__
        res: list[Any] = p.split(string, maxsplit)
        if type(string) is str:
            return res
        out: list[Any] = _guarded(
            lambda: _split(p, string, maxsplit, res), res, "re.split", _rng(string)
        )
        return out

    def findall(self, string: Any, pos: int = 0, endpos: int = _MAX) -> list[Any]:
        p = self.__wrapped__
        res: list[Any] = p.findall(string, pos, endpos)
        if type(string) is str:
            return res
        out: list[Any] = _guarded(
            lambda: _findall(p, string, pos, endpos, res), res, "re.findall", _rng(string)
        )
        return out

    def finditer(self, string: Any, pos: int = 0, endpos: int = _MAX) -> Iterator[Any]:
        it = self.__wrapped__.finditer(string, pos, endpos)
        r = _rng(string)
        return it if r is None else _finditer(it, r)

    def scanner(self, string: Any, pos: int = 0, endpos: int = _MAX) -> Any:
        sc = self.__wrapped__.scanner(string, pos, endpos)  # type: ignore[attr-defined]
        r = _rng(string)
        return sc if r is None else _TaggedScanner(sc, r)

    @property
    def pattern(self) -> Any:
        try:
            return self._pt_source
        except AttributeError:
            return self.__wrapped__.pattern

    @property
    def flags(self) -> int:
        return self.__wrapped__.flags

    @property
    def groups(self) -> int:
        return self.__wrapped__.groups

    @property
    def groupindex(self) -> Any:
        return self.__wrapped__.groupindex

    def __eq__(self, other: object) -> bool:
        if type(other) is TaggedPattern:
            other = other.__wrapped__
        return self.__wrapped__ == other

    def __ne__(self, other: object) -> bool:
        if type(other) is TaggedPattern:
            other = other.__wrapped__
        return self.__wrapped__ != other

    def __hash__(self) -> int:
        return hash(self.__wrapped__)

    def __repr__(self) -> str:
        text = repr(self.__wrapped__)
        try:
            source = self._pt_source
        except AttributeError:
            return text
        # it shows the tagged text: tagged too, so redaction and guards see it
        return mk_str(text, R.union(_rng(source)) or None)

    def __dir__(self) -> list[str]:
        return dir(self.__wrapped__)

    def __copy__(self) -> TaggedPattern:
        return self

    def __deepcopy__(self, memo: Any) -> TaggedPattern:
        return self

    def __reduce_ex__(self, protocol: Any) -> Any:
        # as `re` registers for patterns with copyreg: recompiled on load
        return _compile, (self.pattern, self.__wrapped__.flags)


def _whole(text: Any, *ranges: Ranges | None) -> Any:
    """`text` with the union of `ranges` on all of it: where exact ranges failed."""
    try:
        tags = R.union_all(R.union(r) for r in ranges if r is not None)
        return _mk(text, tags) if tags and text else text
    except Exception as exc:  # pragma: no cover - nothing left to fall back to
        fallback("re.tags", exc)
        return text


def _guarded(fn: Callable[[], Any], res: Any, where: str, r: Ranges | None) -> Any:
    """``fn()``, exact ranges; if it fails, `res` with every tag of `r` on each string."""
    try:
        return fn()
    except Exception as exc:
        fallback(where, exc)
        if r is None:
            return res
        try:
            return tag_deep(res, R.union(r))
        except Exception as exc2:  # pragma: no cover - nothing left to fall back to
            fallback(where, exc2)
            return res


def _pattern(pattern: Any, flags: Any) -> Any:
    """The real compiled pattern (the module's own cache, keyed by the plain text)."""
    if isinstance(pattern, TaggedPattern):
        pattern = pattern.__wrapped__
    return _compile(exact_text(pattern), flags)


_compile: Callable[..., Any] = re._compile  # type: ignore[attr-defined]


def _compile_wrapper(orig: Callable[..., Any]) -> Callable[..., Any]:
    def compile(pattern: Any, flags: Any = 0) -> Any:
        plain = exact_text(pattern)
        p = orig(plain, flags)
        if isinstance(p, TaggedPattern):
            return p
        out = TaggedPattern(p)
        if plain is not pattern:
            out._pt_source = pattern
        return out

    compile.__doc__ = orig.__doc__
    compile.__wrapped__ = orig  # type: ignore[attr-defined]
    # a plain pattern string: compile it and wrap it, in C
    return fast(compile, fast=orig, wrap_type=TaggedPattern, wrap_attr="__wrapped__")


# the module functions as loaded (`apply` may patch their code in place)
_orig_sub: Callable[..., Any] = clone(re.sub)
_orig_subn: Callable[..., Any] = clone(re.subn)
_orig_split: Callable[..., Any] = clone(re.split)


def _module_split(pattern: Any, string: Any, maxsplit: int = 0, flags: Any = 0) -> list[Any]:
    if type(string) is str:
        return _orig_split(pattern, string, maxsplit=maxsplit, flags=flags)  # type: ignore[no-any-return]
    return TaggedPattern(_pattern(pattern, flags)).split(string, maxsplit)


def _module_sub(pattern: Any, repl: Any, string: Any, count: int = 0, flags: Any = 0) -> Any:
    if type(string) is str and type(repl) is str:
        return _orig_sub(pattern, repl, string, count=count, flags=flags)
    return _sub(_pattern(pattern, flags), repl, string, count, False)


def _module_subn(pattern: Any, repl: Any, string: Any, count: int = 0, flags: Any = 0) -> Any:
    if type(string) is str and type(repl) is str:
        return _orig_subn(pattern, repl, string, count=count, flags=flags)
    return _sub(_pattern(pattern, flags), repl, string, count, True)


def _simple(name: str) -> Callable[..., Any]:
    orig = clone(getattr(re, name))

    def fn(pattern: Any, string: Any, flags: Any = 0) -> Any:
        res = orig(pattern, string, flags)
        if type(string) is str or type(string) is bytes:
            return res
        r = _rng(string)
        if r is None:
            return res
        if name == "finditer":
            return _finditer(res, r)
        if name == "findall":
            p = _pattern(pattern, flags)
            return _guarded(lambda: _findall(p, string, 0, _MAX, res), res, "re.findall", r)
        return _wrap_match(res, r)

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = orig.__doc__
    fn.__wrapped__ = orig  # type: ignore[attr-defined]
    return fast(fn, fast=orig)


# With the C accelerator these methods are C method descriptors, which CPython's
# call sites specialise: plain arguments go straight to the wrapped pattern's own
# method, anything else to the Python methods above.
if _accel._C is not None:
    _accel._C.install_pattern_methods(
        TaggedPattern,
        re.Pattern,
        tuple(
            TaggedPattern.__dict__[n]
            for n in ("match", "search", "fullmatch", "sub", "subn", "split", "findall")
        ),
    )


def _in_place(name: str, data: tuple[str, ...], slow: Callable[..., Any]) -> None:
    """``re.<name>`` sends a call whose `data` arguments are not all plain ``str`` to
    `slow`: in its own code when it can be patched in place (see `_codepatch`),
    else through a wrapper replacing it."""
    if not inject(getattr(re, name), data, slow):
        patch(re, name, slow)


def apply() -> None:
    for name in ("match", "search", "fullmatch", "findall", "finditer"):
        _in_place(name, ("string",), _simple(name))
    _in_place("sub", ("repl", "string"), fast(_module_sub, fast=_orig_sub))
    _in_place("subn", ("repl", "string"), fast(_module_subn, fast=_orig_subn))
    _in_place("split", ("string",), fast(_module_split, fast=_orig_split))
    patch(re, "compile", _compile_wrapper(re.compile))
