"""``json``: ``dumps``/``dump`` keep each string's tags at its place in the output,
``loads``/``load`` give every string (keys too) the input's tags.

The encoder and decoder methods -- ``JSONEncoder.encode``/``.iterencode``,
``JSONDecoder.decode``/``.raw_decode`` -- are patched on the classes (so subclasses
inherit them and ``super()`` reaches them) and give the tags ``dumps``/``loads`` with
that encoder or decoder give.  ``dumps``/``loads`` call them too; while one of these
functions runs the original for an object, the methods leave that object to it
(`_quiet`), so nothing is tagged twice and no user method runs more often.

What the application gets is what the original gives: ``dump`` writes the chunks
the original writes, through the same calls of the encoder's methods, and
``loads`` with an ``object_hook``/``object_pairs_hook`` hands the hook the object
with its strings already tagged, so whatever the hook makes (its types, its
structure) is exactly the original's.
"""

from __future__ import annotations

import contextvars
import functools
import json
import json.encoder as _enc
import json.scanner as _scanner
import types
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from .. import _ranges as R
from .._accel import fast
from .._proxy import TaggedValue, tag_result
from .._ranges import TagSet
from .._tags import intern_tags
from .._tainted import TaintedStr, _rng, join_tagged, mk_str
from ._patching import fallback, has_tags, original, patch, tag_deep, tags_in

_INF = float("inf")
_str_new = str.__new__
_T = TypeVar("_T")
_NOBODY: Any = object()
_ANY: Any = object()  # (in `_quiet`) whatever the methods are called for
_JSONEncoder, _JSONDecoder = json.JSONEncoder, json.JSONDecoder
_CONSTANTS = json.decoder._CONSTANTS  # type: ignore[attr-defined]
_C_SCANNER: Any = getattr(_scanner, "c_make_scanner", None)  # its hooks are readable

# The object (document or text) a patched json function is running the original
# for: the encoder/decoder methods called for that very object on the way (dumps()
# calls encode(), which calls iterencode(); loads() calls decode(), which calls
# raw_decode()) return the original's result and leave the tags to that function.
# `_ANY` for tagged bytes, which loads() decodes to a new text first.
_quiet: contextvars.ContextVar[Any] = contextvars.ContextVar("purposetag_json", default=_NOBODY)


def _quietly(o: Any, fn: Callable[..., _T], /, *args: Any, **kw: Any) -> _T:
    """``fn(*args, **kw)`` with the json methods leaving `o` to the caller."""
    token = _quiet.set(o)
    try:
        return fn(*args, **kw)
    finally:
        _quiet.reset(token)


def _leaving(o: Any, cls: Any, base: type, methods: tuple[str, ...]) -> Any:
    """What the json methods leave to a patched function running the original for
    `o` with `cls` (its ``cls=``): `o` -- or anything, when `cls` has methods of its
    own among `methods`: they may hand JSONEncoder's or JSONDecoder's something
    else, and the function tags their whole result anyway."""
    if cls is None or cls is base:
        return o
    if any(getattr(cls, name, None) is not getattr(base, name) for name in methods):
        return _ANY
    return o


_ENCODING = ("encode", "iterencode")
_DECODING = ("decode", "raw_decode")


def _tagging_encoder(
    base: Callable[[str], str], empty: list[TagSet] | None, where: str
) -> Callable[[str], str]:
    """`base` (the string encoder) keeping each string's tags on its characters; the
    tags of empty strings, which have no characters to carry them, go to `empty`
    (when given).  A failure of ours gives `base`'s text and the internal-error event."""

    def encode(s: str) -> str:
        out = base(s)
        r = _rng(s)
        if r is None:
            return out
        try:
            if not s:
                if empty is not None:
                    empty.append(R.union(r))
                return out
            n = len(out)
            inner: Any = r if n == len(s) + 2 else R.union(r)
            return mk_str(out, R.build(((1, None, 0), (n - 2, inner, 0), (1, None, 0)), n))
        except Exception as exc:
            fallback(where, exc)
            return out

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
    return _placed(cls(**kw), obj, res, tags)


def _placed(encoder: Any, obj: Any, res: str, tags: TagSet, where: str = "json.dumps") -> str:
    """``res`` (what `encoder` encoded `obj` as) with each string's tags where it was
    written; every tag on the whole text when that cannot be known."""
    t = type(encoder)
    if (
        t.encode is not json.JSONEncoder.encode
        or t.iterencode is not json.JSONEncoder.iterencode
        or _own_default(encoder)  # would run the user's default() again
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
        _tagging_encoder(base, empty, where),
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


def _tagged_dumps_plain(obj: Any, res: str, tags: TagSet) -> str:
    return _tagged_dumps(obj, res, tags, {})


def _encoded(
    obj: Any,
    encode: Callable[[Any], str],
    place: Callable[[Any, str, TagSet], str],
    where: str,
    leave: Any,
) -> str:
    """``encode(obj)`` (an original encoding, which may reach the patched json
    methods: they leave `leave` to it -- `obj`, `_ANY`, or `_NOBODY` when they
    cannot be reached) carrying `obj`'s tags as ``place(obj, text, tags)`` puts them."""
    try:
        res = encode(obj) if leave is _NOBODY else _quietly(leave, encode, obj)
    except TypeError:
        # The C encoder checks exact types and refuses a proxied number; encode
        # the values underneath and tag the whole text with every tag in `obj`.
        if not _has_proxy(obj, 0):
            raise
        plain = _unproxy(obj, 0)
        res = _quietly(plain if leave is obj else leave, encode, plain)
        return mk_str(res, tags_in(obj) or None)
    tags = None
    try:
        if not has_tags(obj):
            return res
        tags = tags_in(obj)
        if tags:
            return place(obj, res, tags)
    except Exception as exc:
        fallback(where, exc)
        if tags:  # the ranges failed, not the tags: the whole text carries them all
            return mk_str(res, tags)
    return res


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


def _copy(fn: Any, names: dict[str, Any]) -> Any:
    """`fn` -- a `json` function: its own code, so its calls are the running
    Python's -- reading `names` in place of its module's."""
    namespace = dict(fn.__globals__)
    namespace.update(names)
    new = types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__kwdefaults__ = fn.__kwdefaults__
    new.__doc__ = fn.__doc__
    return new


def _unpatched(cls: type, methods: tuple[str, ...]) -> Any:
    """A subclass of `cls` with its original `methods`, not the patched ones."""
    own = {name: original(cls, name) for name in methods}
    return type(cls.__name__, (cls,), {"__module__": __name__, **own})


def _plain_encoding(orig: Callable[..., _T]) -> tuple[Callable[..., _T], Any]:
    """The stdlib's dumps() or dump() makes a JSONEncoder (or, without keyword
    arguments, uses `_default_encoder`), whose encode() and iterencode() are
    patched: a copy of it making one with the original methods, for untagged calls
    (no second look at their arguments), and that default encoder; for a function
    of somebody else's, itself and None."""
    if not _is_stdlib(orig):
        return orig, None
    cls = _unpatched(json.JSONEncoder, ("encode", "iterencode"))
    encoder = cls(
        skipkeys=False,
        ensure_ascii=True,
        check_circular=True,
        allow_nan=True,
        indent=None,
        separators=None,
        default=None,
    )  # as json's own `_default_encoder`
    return _copy(orig, {"JSONEncoder": cls, "_default_encoder": encoder}), encoder


def _dumps(orig: Callable[..., str]) -> Callable[..., str]:
    # Without keyword arguments the stdlib's dumps() is ``_default_encoder.encode(obj)``
    # after checking its nine defaults; do that directly and spend the time saved on
    # looking for tags.
    plain, encoder = _plain_encoding(orig)
    stdlib = encoder is not None
    default_encode = encoder.encode if stdlib else None

    def dumps(obj: Any, **kw: Any) -> str:
        if kw.get("default") is not None:
            return _dumps_with_default(obj, kw)
        if kw:
            cls = kw.get("cls")
            return _encoded(
                obj,
                lambda o: plain(o, **kw),
                lambda o, res, tags: _tagged_dumps(o, res, tags, kw),
                "json.dumps",
                _NOBODY if stdlib and cls is None else _leaving(obj, cls, _JSONEncoder, _ENCODING),
            )
        if default_encode is not None:
            return _encoded(obj, default_encode, _tagged_dumps_plain, "json.dumps", _NOBODY)
        return _encoded(obj, orig, _tagged_dumps_plain, "json.dumps", obj)

    def _dumps_with_default(obj: Any, kw: dict[str, Any]) -> str:
        # What `default()` returns is encoded too: collect its tags, call it once.
        user_default = kw["default"]
        seen: list[Any] = []

        def default(o: Any) -> Any:
            out = user_default(o)
            seen.append(out)
            return out

        leave = _leaving(obj, kw.get("cls"), _JSONEncoder, _ENCODING)
        try:
            res = _quietly(leave, plain, obj, **{**kw, "default": default})
        except TypeError:
            if not _has_proxy(obj, 0):
                raise
            underneath = _unproxy(obj, 0)
            leave = underneath if leave is obj else leave
            res = _quietly(leave, plain, underneath, **{**kw, "default": default})
        try:
            tags = R.union_all((tags_in(obj) or None, *(tags_in(x) or None for x in seen)))
            if tags:
                return mk_str(res, tags)
        except Exception as exc:
            fallback("json.dumps", exc)
        return res

    dumps.__doc__ = orig.__doc__
    dumps.__wrapped__ = orig  # type: ignore[attr-defined]
    return fast(dumps, fast=plain)


def _dump_encoder(
    skipkeys: Any = False,
    ensure_ascii: Any = True,
    check_circular: Any = True,
    allow_nan: Any = True,
    cls: Any = None,
    indent: Any = None,
    separators: Any = None,
    default: Any = None,
    sort_keys: Any = False,
    **kw: Any,
) -> Any:
    """The encoder `json.dump` uses for these arguments: its own test and call."""
    if (
        not skipkeys
        and ensure_ascii
        and check_circular
        and allow_nan
        and cls is None
        and indent is None
        and separators is None
        and default is None
        and not sort_keys
        and not kw
    ):
        return json._default_encoder  # type: ignore[attr-defined]
    if cls is None:
        cls = json.JSONEncoder
    return cls(
        skipkeys=skipkeys,
        ensure_ascii=ensure_ascii,
        check_circular=check_circular,
        allow_nan=allow_nan,
        indent=indent,
        separators=separators,
        default=default,
        sort_keys=sort_keys,
        **kw,
    )


def _tagging_iterencode(where: str = "json.dump") -> Callable[..., Any] | None:
    """``JSONEncoder.iterencode`` -- its own code, so its chunks and its calls are
    the running Python's -- reading string encoders that keep each string's tags
    on its characters; None if its code does not read them by those names."""
    fn = original(json.JSONEncoder, "iterencode")
    code = fn.__code__
    names = ("encode_basestring_ascii", "encode_basestring")
    if not all(n in code.co_names for n in names) or fn.__closure__:
        return None
    namespace = dict(fn.__globals__)
    for n in names:
        namespace[n] = _tagging_encoder(namespace[n], None, where)
    new = types.FunctionType(code, namespace, fn.__name__, fn.__defaults__)
    new.__kwdefaults__ = fn.__kwdefaults__
    return new


def _own_default(encoder: Any) -> bool:
    """Does `encoder` turn values into JSON with a `default()` other than JSONEncoder's
    (which only raises)?  Its output may carry tags the strings do not show."""
    if type(encoder).default is not json.JSONEncoder.default:
        return True
    try:
        return "default" in vars(encoder)
    except TypeError:  # no __dict__
        return False


def _proxied(obj: Any, where: str) -> bool:
    try:
        return _has_proxy(obj, 0)
    except Exception as exc:
        fallback(where, exc)
        return False


def _each_tagged(chunks: Any, tags: TagSet, where: str) -> Iterator[Any]:
    for chunk in chunks:
        if isinstance(chunk, str):
            try:
                chunk = tag_result(chunk, tags)
            except Exception as exc:
                fallback(where, exc)
        yield chunk


def _tagged_chunks(
    encoder: Any, obj: Any, tags: TagSet, proxied: bool, one_shot: bool, where: str
) -> Any:
    """What ``JSONEncoder.iterencode(encoder, obj, one_shot)`` gives for a tagged
    `obj` (a proxied one: `obj` is the value underneath): the chunks of its own code,
    run once, with each string's tags on its characters -- or, when that cannot be
    known (an encoder with its own ``default``, a proxied value), the original's
    chunks each carrying every tag.  A one-shot call gets a list, as it is made now."""
    placed = None
    if not proxied and not _own_default(encoder):
        try:
            placed = _tagging_iterencode(where)
        except Exception as exc:
            fallback(where, exc)
    if placed is not None:
        chunks = placed(encoder, obj)
        return list(chunks) if one_shot else chunks
    chunks = original(json.JSONEncoder, "iterencode")(encoder, obj, one_shot)
    if isinstance(chunks, list | tuple):  # one shot: made now
        return type(chunks)(_each_tagged(chunks, tags, where))
    return _each_tagged(chunks, tags, where)


def _tagged_dump(obj: Any, fp: Any, tags: TagSet, kw: dict[str, Any]) -> None:
    """`json.dump` of a tagged `obj`: the encoder the original makes, its
    ``iterencode`` chunks written one by one as the original writes them, with each
    string's tags on its characters -- or, when that cannot be known (an encoder
    with its own ``iterencode`` or ``default``, a proxied value, which is encoded as
    the value underneath as `json.dumps` does), every chunk carrying every tag."""
    proxied = _proxied(obj, "json.dump")
    if proxied:
        obj = _unproxy(obj, 0)
    encoder = _dump_encoder(**kw)
    iterencode = encoder.iterencode  # the one look-up the original makes
    if (
        type(iterencode) is types.MethodType
        and iterencode.__func__ is json.JSONEncoder.iterencode
        and iterencode.__self__ is encoder
    ):
        for chunk in _tagged_chunks(encoder, obj, tags, proxied, False, "json.dump"):
            fp.write(chunk)
        return
    token = _quiet.set(_ANY)  # its own iterencode may call JSONEncoder's with anything
    try:
        for chunk in _each_tagged(iterencode(obj), tags, "json.dump"):
            fp.write(chunk)
    finally:
        _quiet.reset(token)


def _dump(orig: Callable[..., None]) -> Callable[..., None]:
    plain, encoder = _plain_encoding(orig)

    def dump(obj: Any, fp: Any, **kw: Any) -> None:
        try:
            tags = tags_in(obj) if has_tags(obj) else None
        except Exception as exc:
            fallback("json.dump", exc)
            tags = None
        if tags:
            return _tagged_dump(obj, fp, tags, kw)
        if encoder is None or kw.get("cls") is not None:  # an encoder with patched methods
            return _quietly(obj, plain, obj, fp, **kw)
        return plain(obj, fp, **kw)

    dump.__doc__ = orig.__doc__
    dump.__wrapped__ = orig  # type: ignore[attr-defined]
    return dump


class _HookTagger:
    """Tags for a document parsed with ``object_hook``/``object_pairs_hook``: the
    user's hook is handed the dict (or pairs) with every string already tagged --
    keys, values, and the strings of the arrays inside it -- so whatever it builds
    from them (an ``AttrDict``, a frozen mapping, a set, a ``SimpleNamespace``) is
    exactly what the original builds, with tagged strings; what it returns is not
    looked into again.  `outside` then tags what no hook saw (a top-level string or
    array).  Arrays are tagged in place: they are the parser's own fresh lists."""

    __slots__ = ("keys", "made", "tags")

    def __init__(self, tags: TagSet) -> None:
        self.tags = tags
        self.keys: dict[str, str] = {}  # one tagged key per key text, as the parser shares
        self.made: dict[int, Any] = {}  # lists the hooks returned (held: ids stay unique)

    def _str(self, s: str) -> str:
        o: Any = _str_new(TaintedStr, s)
        o._pt_ranges = self.tags
        return o  # type: ignore[no-any-return]

    def _key(self, k: Any) -> Any:
        if type(k) is not str:
            return k
        tk = self.keys.get(k)
        if tk is None:
            tk = self.keys[k] = self._str(k)
        return tk

    def _value(self, v: Any) -> Any:
        t = type(v)
        if t is str:
            return self._str(v)
        if t is list and id(v) not in self.made:
            self._array(v)
        return v  # numbers, constants, what a hook made

    def _array(self, root: list[Any]) -> None:
        made = self.made
        stack = [root]
        while stack:
            items = stack.pop()
            for i, v in enumerate(items):
                t = type(v)
                if t is str:
                    items[i] = self._str(v)
                elif t is list and id(v) not in made:
                    stack.append(v)

    def _made(self, res: Any) -> Any:
        if type(res) is list:
            self.made[id(res)] = res
        return res

    def parse_hook(self, hook: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``parse_float``/``parse_int``/``parse_constant``: what it makes is its own."""

        def noting_hook(text: Any) -> Any:
            return self._made(hook(text))

        return noting_hook

    def object_hook(self, hook: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def tagging_hook(d: Any) -> Any:
            try:
                d = {self._key(k): self._value(v) for k, v in dict.items(d)}
            except Exception as exc:
                fallback("json.loads", exc)
            return self._made(hook(d))

        return tagging_hook

    def object_pairs_hook(self, hook: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def tagging_hook(pairs: Any) -> Any:
            try:
                pairs = [(self._key(k), self._value(v)) for k, v in pairs]
            except Exception as exc:
                fallback("json.loads", exc)
            return self._made(hook(pairs))

        return tagging_hook

    def outside(self, res: Any) -> Any:
        """The parse's result: what no hook saw (a top-level string or array)."""
        return self._value(res)


def _loads_hooked(
    call: Callable[..., Any],
    s: Any,
    tags: TagSet,
    kw: dict[str, Any],
    where: str = "json.loads",
    pair: bool = False,
) -> Any:
    """``call(s, **kw)`` -- `json.loads`, or a decoder's method (`pair`: one giving
    the document and where it ends) -- with hooks, of a tagged `s` (see
    `_HookTagger`); the json methods left quiet for `s`."""
    tagger = None
    try:
        tagger = _HookTagger(intern_tags(tags))
        hooked = dict(kw)
        if kw.get("object_hook") is not None:
            hooked["object_hook"] = tagger.object_hook(kw["object_hook"])
        if kw.get("object_pairs_hook") is not None:
            hooked["object_pairs_hook"] = tagger.object_pairs_hook(kw["object_pairs_hook"])
        for name in ("parse_float", "parse_int", "parse_constant"):
            if kw.get(name) is not None:
                hooked[name] = tagger.parse_hook(kw[name])
    except Exception as exc:
        fallback(where, exc)
        tagger = None
    if tagger is None:
        return _quietly(_text(s), call, s, **kw)
    res = _quietly(_text(s), call, s, **hooked)
    try:
        return (tagger.outside(res[0]), res[1]) if pair else tagger.outside(res)
    except Exception as exc:
        fallback(where, exc)
    return res


def _text(s: Any) -> Any:
    """What the decoder methods are called with for `s`: itself, or (bytes, which
    `json.loads` decodes first) any text."""
    return s if isinstance(s, str) else _ANY


def _loads(orig: Callable[..., Any]) -> Callable[..., Any]:
    # as in `_dumps`: untagged calls get a copy of the stdlib's loads() making its
    # JSONDecoder with the original decode() and raw_decode()
    plain = orig
    if _is_stdlib(orig):
        cls = _unpatched(json.JSONDecoder, ("decode", "raw_decode"))
        decoder = cls(object_hook=None, object_pairs_hook=None)  # as json's `_default_decoder`
        plain = _copy(orig, {"JSONDecoder": cls, "_default_decoder": decoder})

    def loads(s: Any, **kw: Any) -> Any:
        t = type(s)
        if t is str or t is bytes:
            return plain(s, **kw) if kw else plain(s)
        try:
            tags = tags_in(s)
        except Exception as exc:
            fallback("json.loads", exc)
            tags = None
        if not tags:
            return plain(s, **kw) if kw else plain(s)
        if kw and (kw.get("object_hook") is not None or kw.get("object_pairs_hook") is not None):
            cls = kw.get("cls")
            if cls is None or cls is json.JSONDecoder:  # a decoder of yours may use them otherwise
                return _loads_hooked(plain, s, tags, kw)
        leave = _leaving(_text(s), kw.get("cls"), _JSONDecoder, _DECODING)
        res = _quietly(leave, plain, s, **kw)
        try:
            return tag_deep(res, tags)
        except Exception as exc:
            fallback("json.loads", exc)
        return res

    loads.__doc__ = orig.__doc__
    loads.__wrapped__ = orig  # type: ignore[attr-defined]
    return fast(loads, fast=plain)


# --- the encoder and decoder methods -------------------------------------------


def _encode_method(orig: Callable[..., str]) -> Callable[..., str]:
    """``JSONEncoder.encode``: the original's text with the tags ``json.dumps`` with
    this encoder gives (each string's on its characters, or the whole text's)."""

    def encode(self: json.JSONEncoder, o: Any) -> str:
        q = _quiet.get()
        if q is o or q is _ANY:
            return orig(self, o)
        return _encoded(
            o,
            lambda x: orig(self, x),
            lambda x, res, tags: _placed(self, x, res, tags, "json.JSONEncoder.encode"),
            "json.JSONEncoder.encode",
            o,
        )

    functools.update_wrapper(encode, orig)  # names, doc, __wrapped__
    return fast(encode, fast=orig, check_from=1)


def _iterencode_method(orig: Callable[..., Any]) -> Callable[..., Any]:
    """``JSONEncoder.iterencode``: the original's chunks, with the tags ``json.dump``
    with this encoder writes (see `_tagged_chunks`)."""
    where = "json.JSONEncoder.iterencode"

    def iterencode(self: json.JSONEncoder, o: Any, _one_shot: bool = False) -> Any:
        q = _quiet.get()
        if q is o or q is _ANY:
            return orig(self, o, _one_shot)
        try:
            tags = tags_in(o) if has_tags(o) else None
        except Exception as exc:
            fallback(where, exc)
            tags = None
        if not tags:
            return orig(self, o, _one_shot)
        proxied = _proxied(o, where)
        if proxied:
            o = _unproxy(o, 0)
        return _tagged_chunks(self, o, tags, proxied, _one_shot, where)

    functools.update_wrapper(iterencode, orig)
    return fast(iterencode, fast=orig, check_from=1)


def _hook_options(decoder: Any) -> dict[str, Any] | None:
    """The arguments making a `JSONDecoder` that parses as `decoder` does, when it is
    one (a subclass's may use its hooks otherwise) with an object hook; read from
    its scanner, which holds what it parses with."""
    if type(decoder) is not json.JSONDecoder:
        return None
    scan: Any = decoder.__dict__.get("scan_once")
    if _C_SCANNER is None or type(scan) is not _C_SCANNER:
        return None
    if scan.object_hook is None and scan.object_pairs_hook is None:
        return None
    kw: dict[str, Any] = {"strict": scan.strict}
    for name in ("object_hook", "object_pairs_hook", "parse_float", "parse_int", "parse_constant"):
        kw[name] = getattr(scan, name)
    # the defaults, as json.loads passes them (None): not wrapped
    if kw["parse_float"] is float:
        kw["parse_float"] = None
    if kw["parse_int"] is int:
        kw["parse_int"] = None
    constant = kw["parse_constant"]
    if getattr(constant, "__self__", None) is _CONSTANTS and constant.__name__ == "__getitem__":
        kw["parse_constant"] = None
    return kw


def _decode_method(orig: Callable[..., Any], where: str, pair: bool) -> Callable[..., Any]:
    """``JSONDecoder.decode`` (`pair` false) or ``.raw_decode``: the original's result
    with the tags ``json.loads`` with this decoder gives: every string of the
    document (keys too) carries the text's tags; an object hook gets its dict or
    pairs already tagged (see `_HookTagger`)."""

    def method(self: json.JSONDecoder, s: Any, *args: Any, **kw: Any) -> Any:
        q = _quiet.get()
        if q is s or q is _ANY or type(s) is str:
            return orig(self, s, *args, **kw)
        tags = hooks = None
        try:
            tags = tags_in(s)
            hooks = _hook_options(self) if tags else None
        except Exception as exc:
            fallback(where, exc)
        if not tags:
            return orig(self, s, *args, **kw)
        if hooks is not None:

            def call(text: Any, **options: Any) -> Any:
                return orig(json.JSONDecoder(**options), text, *args, **kw)

            return _loads_hooked(call, s, tags, hooks, where, pair)
        res = _quietly(s, orig, self, s, *args, **kw)
        try:
            return (tag_deep(res[0], tags), res[1]) if pair else tag_deep(res, tags)
        except Exception as exc:
            fallback(where, exc)
        return res

    functools.update_wrapper(method, orig)
    return fast(method, fast=orig, check_from=1)


def apply() -> None:
    dumps = _dumps(json.dumps)
    patch(json, "dumps", dumps)
    patch(json, "dump", _dump(json.dump))
    # json.load() calls the module's loads(), so it is covered through it
    patch(json, "loads", _loads(json.loads))
    enc, dec = json.JSONEncoder, json.JSONDecoder
    patch(enc, "encode", _encode_method(enc.__dict__["encode"]))
    patch(enc, "iterencode", _iterencode_method(enc.__dict__["iterencode"]))
    patch(dec, "decode", _decode_method(dec.__dict__["decode"], "json.JSONDecoder.decode", False))
    patch(
        dec,
        "raw_decode",
        _decode_method(dec.__dict__["raw_decode"], "json.JSONDecoder.raw_decode", True),
    )
