"""Tag-keeping ``%`` and ``str.format``: the template's ranges plus each field's.

Both work by formatting one field at a time with Python's own machinery and
concatenating the pieces with their ranges, so values and exceptions are those
of the plain operation.  When a template holds something this module does not
parse, the plain operation runs and its whole result carries the union of every
tag involved (never fewer tags).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from . import _ranges as R
from ._ranges import Ranges, Segment, TagSet
from ._tainted import TaintedBytes, TaintedStr, _rng, mk_str

_SPEC = re.compile(
    r"%(?:\(([^()]*)\))?([#0\- +]*)(\*|\d+)?(?:\.(\*|\d*))?[hlL]?([diouxXeEfFgGcrsa%])"
)
_FORMATTER = string.Formatter()


def deep_union(value: Any, depth: int = 8) -> TagSet:
    """Tags anywhere in `value`: carriers, and the common containers."""
    t = type(value)
    if t is TaintedStr or t is TaintedBytes:
        return R.union(value._pt_ranges)
    if t in (str, bytes, int, float, bool, type(None)):
        return R.union(None)
    from ._proxy import TaggedValue

    if isinstance(value, TaggedValue):
        return value._self_tags
    if depth <= 0:
        return R.union(None)
    if t in (list, tuple, set, frozenset) or isinstance(value, list | tuple | set | frozenset):
        return R.union_all(deep_union(v, depth - 1) or None for v in value)
    if isinstance(value, dict):
        return R.union_all(
            (deep_union(k, depth - 1) | deep_union(v, depth - 1)) or None for k, v in value.items()
        )
    return R.union(None)


def _fallback(plain_result: str, *sources: TagSet) -> str:
    tags = R.union_all(s or None for s in sources)
    return mk_str(plain_result, tags or None)


def _piece_ranges(text: str, piece: str) -> Ranges | None:
    """Where the converted value `text` sits in its padded / truncated `piece`."""
    r = _rng(text)
    if r is None:
        return None
    plain = str.__str__(text)
    if piece == plain:
        return r
    at = piece.find(plain) if plain else -1
    if at >= 0:
        return R.build(((at, None, 0), (len(plain), r, 0)), len(piece))
    if plain.startswith(piece):  # precision truncated it
        return R.sub(r, 0, len(piece))
    for k in range(len(piece)):  # padded and truncated
        if plain.startswith(piece[k:]):
            return R.build(((k, None, 0), (len(piece) - k, r, 0)), len(piece))
    return R.union(r)


def percent_format(template: str, values: Any) -> str:
    """``template % values`` keeping the template's and each value's tags."""
    plain_t = str.__str__(template)
    tr = _rng(template)
    if type(values) is tuple:
        positional: list[Any] = list(values)
        mapping: Any = None
    else:
        positional = [values]
        mapping = values if (isinstance(values, Mapping) and not isinstance(values, str)) else None
    segs: list[Segment] = []
    pieces: list[str] = []
    pos = 0
    ai = 0
    used_mapping = False
    try:
        while True:
            hit = plain_t.find("%", pos)
            if hit < 0:
                break
            m = _SPEC.match(plain_t, hit)
            if m is None:
                raise _Unparsed
            key, flags, width, prec, conv = m.groups()
            pieces.append(plain_t[pos:hit])
            segs.append((hit - pos, tr, pos))
            if conv == "%" and key is None and not flags and width is None and prec is None:
                pieces.append("%")
                segs.append((1, tr, hit))
                pos = m.end()
                continue
            if conv == "%":
                raise _Unparsed
            if width == "*":
                width = str(int(positional[ai]))
                ai += 1
            if prec == "*":
                prec = str(int(positional[ai]))
                ai += 1
            if key is not None:
                if mapping is None:
                    raise _Unparsed
                used_mapping = True
                value = mapping[key]
            else:
                value = positional[ai]
                ai += 1
            spec = "%" + flags + (width or "") + ("." + prec if prec is not None else "")
            if conv in "sra":
                text: Any = (
                    str(value) if conv == "s" else repr(value) if conv == "r" else ascii(value)
                )
                piece = str.__mod__(spec + "s", (text,))
                if conv == "a":
                    pr: Ranges | None = R.union(_rng(repr(value))) or None
                else:
                    pr = _piece_ranges(text, piece)
            else:
                piece = str.__mod__(spec + conv, (value,))
                pr = deep_union(value) or None
            pieces.append(piece)
            segs.append((len(piece), pr, 0))
            pos = m.end()
        pieces.append(plain_t[pos:])
        segs.append((len(plain_t) - pos, tr, pos))
        if not used_mapping and ai != len(positional) and not (mapping is not None and ai == 0):
            raise _Unparsed
    except (_Unparsed, IndexError):
        res = str.__mod__(plain_t, values)  # raises exactly what plain str raises
        return _fallback(res, R.union(tr), deep_union(values))
    res = "".join(pieces)
    return mk_str(res, R.build(segs, len(res)))


class _Unparsed(Exception):
    pass


def _literal_segments(literal: str, raw_pos: int, tr: Ranges | None, segs: list[Segment]) -> int:
    """Segments for a literal chunk whose escaped braces are doubled in the raw template."""
    i = 0
    n = len(literal)
    while i < n:
        j = i
        while j < n and literal[j] not in "{}":
            j += 1
        if j > i:
            segs.append((j - i, tr, raw_pos))
            raw_pos += j - i
        if j < n:  # an escaped brace: two raw characters, one output
            segs.append((1, tr, raw_pos))
            raw_pos += 2
            j += 1
        i = j
    return raw_pos


def _field_end(raw: str, start: int) -> int:
    """Index just past the field that opens at raw[start] == '{'."""
    depth = 0
    i = start
    n = len(raw)
    while i < n:
        c = raw[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise _Unparsed


class _Auto:
    __slots__ = ("index", "manual")

    def __init__(self) -> None:
        self.index = 0
        self.manual = False


def _expand_spec(spec: str, args: Any, kwargs: Any, auto: _Auto, depth: int) -> str:
    if "{" not in spec:
        return spec
    if depth <= 0:
        raise ValueError("Max string recursion exceeded")
    out: list[str] = []
    for literal, field, sub_spec, conv in _FORMATTER.parse(spec):
        out.append(literal)
        if field is not None:
            out.append(
                str.__str__(
                    _format_field(field, sub_spec or "", conv, args, kwargs, auto, depth - 1)
                )
            )
    return "".join(out)


def _format_field(
    field: str, spec: str, conv: str | None, args: Any, kwargs: Any, auto: _Auto, depth: int
) -> str:
    if field == "" or field[0] in ".[":
        if auto.manual:
            raise ValueError(
                "cannot switch from manual field specification to automatic field numbering"
            )
        field = str(auto.index) + field
        auto.index += 1
    elif field[0].isdigit():
        if auto.index:
            raise ValueError(
                "cannot switch from automatic field numbering to manual field specification"
            )
        auto.manual = True
    obj, _ = _FORMATTER.get_field(field, args, kwargs)
    if conv:
        obj = _FORMATTER.convert_field(obj, conv)
    spec = _expand_spec(spec, args, kwargs, auto, depth)
    return format(obj, spec)


def _brace(template: str, args: tuple[Any, ...], kwargs: Any, plain_call: Any) -> str:
    plain_t = str.__str__(template)
    tr = _rng(template)
    segs: list[Segment] = []
    pieces: list[str] = []
    raw = 0
    auto = _Auto()
    try:
        for literal, field, spec, conv in _FORMATTER.parse(plain_t):
            if literal:
                pieces.append(literal)
                raw = _literal_segments(literal, raw, tr, segs)
            if field is None:
                continue
            end = _field_end(plain_t, raw)
            inner = plain_t[raw + 1 : end - 1]
            head = field + ("!" + conv if conv else "")
            if inner not in (head + (":" + spec if spec else ""), head + ":" + (spec or "")):
                raise _Unparsed
            raw = end
            piece = _format_field(field, spec or "", conv, args, kwargs, auto, 2)
            pieces.append(piece)
            segs.append((len(piece), _rng(piece), 0))
        if raw != len(plain_t):
            raise _Unparsed
    except Exception:
        res = plain_call()  # raises exactly what plain str.format raises
        return _fallback(res, R.union(tr), deep_union(args), deep_union(kwargs))
    res = "".join(pieces)
    return mk_str(res, R.build(segs, len(res)))


def brace_format(template: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """``template.format(*args, **kwargs)`` keeping tags of the template and each field."""
    return _brace(
        template, args, kwargs, lambda: str.format(str.__str__(template), *args, **kwargs)
    )


def brace_format_map(template: str, mapping: Any) -> str:
    """``template.format_map(mapping)`` keeping tags."""
    return _brace(template, (), mapping, lambda: str.format_map(str.__str__(template), mapping))
