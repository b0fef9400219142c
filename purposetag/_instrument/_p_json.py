"""``json``: ``dumps``/``dump`` keep each string's tags at its place in the output,
``loads``/``load`` give every string (keys too) the input's tags."""

from __future__ import annotations

import json
import json.encoder as _enc
from collections.abc import Callable
from typing import Any

from .. import _ranges as R
from .._accel import fast
from .._proxy import TaggedValue
from .._ranges import TagSet
from .._tainted import _rng, join_tagged, mk_str
from ._patching import fallback, has_tags, patch, tag_deep, tags_in

_INF = float("inf")


def _tagging_encoder(
    base: Callable[[str], str], empty: list[TagSet]
) -> Callable[[str], str]:
    """`base` (the string encoder) keeping each string's tags on its characters; the
    tags of empty strings, which have no characters to carry them, go to `empty`."""

    def encode(s: str) -> str:
        out = base(s)
        r = _rng(s)
        if r is None:
            return out
        if not s:
            empty.append(R.union(r))
            return out
        n = len(out)
        inner: Any = r if n == len(s) + 2 else R.union(r)
        return mk_str(out, R.build(((1, None, 0), (n - 2, inner, 0), (1, None, 0)), n))

    return encode


def _floatstr(allow_nan: bool) -> Callable[[float], str]:
    def floatstr(o: float) -> str:
        if o != o:
            text = "NaN"
        elif o == _INF:
            text = "Infinity"
        elif o == -_INF:
            text = "-Infinity"
        else:
            return float.__repr__(o)
        if not allow_nan:
            raise ValueError("Out of range float values are not JSON compliant: " + repr(o))
        return text

    return floatstr


def _tagged_dumps(obj: Any, res: str, tags: TagSet, kw: dict[str, Any]) -> str:
    """``res`` (the plain dumps output) with each string's tags where it was written."""
    kw = dict(kw)
    cls = kw.pop("cls", None) or json.JSONEncoder
    encoder = cls(**kw)
    t = type(encoder)
    if (
        t.encode is not json.JSONEncoder.encode
        or t.iterencode is not json.JSONEncoder.iterencode
        or t.default is not json.JSONEncoder.default  # would run the user's default() again
    ):
        return mk_str(res, tags)
    base = _enc.encode_basestring_ascii if encoder.ensure_ascii else _enc.encode_basestring
    indent = encoder.indent
    if indent is not None and not isinstance(indent, str):
        indent = " " * indent  # what JSONEncoder.iterencode passes on (3.13 requires it)
    empty: list[TagSet] = []
    iterencode = _enc._make_iterencode(  # type: ignore[attr-defined]
        {} if encoder.check_circular else None,
        encoder.default,
        _tagging_encoder(base, empty),
        indent,
        _floatstr(encoder.allow_nan),
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        False,
    )
    out = join_tagged("", list(iterencode(obj, 0)))
    # every tag must be on some character (or on an empty string, which has none);
    # if not (a custom default(), a proxied number): the whole output, the union
    if out != res or R.union_all((_rng(out), *empty)) != tags:
        return mk_str(res, tags)
    return out  # type: ignore[no-any-return]


def _has_proxy(v: Any, depth: int) -> bool:
    if isinstance(v, TaggedValue):
        return True
    if depth > 64:
        return False
    if isinstance(v, dict):
        return any(_has_proxy(k, depth + 1) or _has_proxy(x, depth + 1) for k, x in v.items())
    if isinstance(v, list | tuple):
        return any(_has_proxy(x, depth + 1) for x in v)
    return False


def _unproxy(v: Any, depth: int) -> Any:
    """`v` with every `TaggedValue` replaced by the value it wraps (JSON containers)."""
    while isinstance(v, TaggedValue):
        v = v.__wrapped__
    if depth > 64:
        return v
    if isinstance(v, dict):
        return {_unproxy(k, depth + 1): _unproxy(x, depth + 1) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_unproxy(x, depth + 1) for x in v]
    return v


def _is_stdlib(fn: Callable[..., Any]) -> bool:
    """Is `fn` the `json` module's own function (not somebody else's wrapper)?"""
    code = getattr(fn, "__code__", None)
    return code is not None and code.co_filename == json.__file__


def _dumps(orig: Callable[..., str]) -> Callable[..., str]:
    # Without keyword arguments the stdlib's dumps() is ``_default_encoder.encode(obj)``
    # after checking its nine defaults; do that directly and spend the time saved on
    # looking for tags.
    default_only = _is_stdlib(orig)

    def dumps(obj: Any, **kw: Any) -> str:
        if kw.get("default") is not None:
            return _dumps_with_default(obj, kw)
        try:
            if kw:
                res = orig(obj, **kw)
            elif default_only:
                res = json._default_encoder.encode(obj)  # type: ignore[attr-defined]
            else:
                res = orig(obj)
        except TypeError:
            # The C encoder checks exact types and refuses a proxied number; encode
            # the values underneath and tag the whole text with every tag in `obj`.
            if not _has_proxy(obj, 0):
                raise
            res = orig(_unproxy(obj, 0), **kw)
            return mk_str(res, tags_in(obj) or None)
        tags = None
        try:
            if not has_tags(obj):
                return res
            tags = tags_in(obj)
            if tags:
                return _tagged_dumps(obj, res, tags, kw)
        except Exception as exc:
            fallback("json.dumps", exc)
            if tags:  # the ranges failed, not the tags: the whole text carries them all
                return mk_str(res, tags)
        return res

    def _dumps_with_default(obj: Any, kw: dict[str, Any]) -> str:
        # What `default()` returns is encoded too: collect its tags, call it once.
        user_default = kw["default"]
        seen: list[Any] = []

        def default(o: Any) -> Any:
            out = user_default(o)
            seen.append(out)
            return out

        try:
            res = orig(obj, **{**kw, "default": default})
        except TypeError:
            if not _has_proxy(obj, 0):
                raise
            res = orig(_unproxy(obj, 0), **{**kw, "default": default})
        try:
            tags = R.union_all((tags_in(obj) or None, *(tags_in(x) or None for x in seen)))
            if tags:
                return mk_str(res, tags)
        except Exception as exc:
            fallback("json.dumps", exc)
        return res

    dumps.__doc__ = orig.__doc__
    dumps.__wrapped__ = orig  # type: ignore[attr-defined]
    return fast(dumps, fast=orig)


def _dump(orig: Callable[..., None], dumps: Callable[..., str]) -> Callable[..., None]:
    def dump(obj: Any, fp: Any, **kw: Any) -> None:
        try:
            tagged = has_tags(obj) and bool(tags_in(obj))
        except Exception as exc:
            fallback("json.dump", exc)
            tagged = False
        if not tagged:
            return orig(obj, fp, **kw)
        try:
            text = dumps(obj, **kw)
        except Exception:  # let the original raise (and partly write) exactly as it would
            return orig(obj, fp, **kw)
        fp.write(text)
        return None

    dump.__doc__ = orig.__doc__
    dump.__wrapped__ = orig  # type: ignore[attr-defined]
    return dump


def _loads(orig: Callable[..., Any]) -> Callable[..., Any]:
    def loads(s: Any, **kw: Any) -> Any:
        res = orig(s, **kw) if kw else orig(s)
        t = type(s)
        if t is str or t is bytes:
            return res
        try:
            tags = tags_in(s)
            if tags:
                return tag_deep(res, tags)
        except Exception as exc:
            fallback("json.loads", exc)
        return res

    loads.__doc__ = orig.__doc__
    loads.__wrapped__ = orig  # type: ignore[attr-defined]
    return fast(loads, fast=orig)


def apply() -> None:
    dumps = _dumps(json.dumps)
    patch(json, "dumps", dumps)
    patch(json, "dump", _dump(json.dump, dumps))
    # json.load() calls the module's loads(), so it is covered through it
    patch(json, "loads", _loads(json.loads))
