"""Functions whose whole result carries the union of their arguments' tags.

``base64``, ``binascii``, ``urllib.parse``, ``html`` and ``textwrap``: each output
character depends on input in ways not worth mapping precisely (an encoded email
is as personal as the email), so the result -- every string in it, for the ones
returning lists, tuples or dicts -- carries every tag of every argument.

``textwrap.TextWrapper.wrap`` and ``.fill`` are patched on the class (so subclasses
inherit them and ``super().wrap()`` reaches them); their result carries the tags
of the text and of the wrapper's own attributes (``initial_indent``,
``subsequent_indent``, ``placeholder``, and whatever a subclass keeps there), which
all end up in the output.
"""

from __future__ import annotations

import base64
import binascii
import dis
import functools
import gc
import html
import inspect
import textwrap
import types
import urllib.parse
from collections.abc import Callable
from typing import Any

from .. import _accel
from .. import _ranges as R
from .._accel import fast
from .._tainted import exact_text, join_tagged
from ._codepatch import clone, inject
from ._patching import (
    _MISSING,
    all_plain,
    fallback,
    named_fast,
    patch,
    tag_deep,
    tagged_result,
    tagging_wrapper,
    tags_in,
)

_FUNCTIONS: dict[object, tuple[str, ...]] = {
    # b64encode/b64decode and their standard_/urlsafe_ forms are not patched: they
    # call binascii.b2a_base64/a2b_base64 (patched below) and bytes.translate (a
    # TaintedBytes method), which carry the tags without a second wrapper.
    base64: (
        "b32encode",
        "b32decode",
        "b32hexencode",
        "b32hexdecode",
        "b16encode",
        "b16decode",
        "b85encode",
        "b85decode",
        "a85encode",
        "a85decode",
        "encodebytes",
        "decodebytes",
    ),
    binascii: ("hexlify", "unhexlify", "b2a_hex", "a2b_hex", "b2a_base64", "a2b_base64"),
    # quote is not patched: its Python body encodes (a TaintedStr method) and calls
    # the patched quote_from_bytes, whose result carries the tags; a check of its own
    # cost urlencode (quote_plus -> quote for every key and value) one more per
    # string.  quote_plus is: it replaces the spaces of quote's result by "+", which
    # str.replace would leave untagged.
    urllib.parse: (
        "quote_plus",
        "quote_from_bytes",
        "unquote",
        "unquote_plus",
        "unquote_to_bytes",
        "urlencode",
        "parse_qs",
        "parse_qsl",
        "urlsplit",
        "urlunsplit",
        "urlparse",
        "urlunparse",
        "urljoin",
        "urldefrag",
    ),
    html: ("escape", "unescape"),
    textwrap: ("wrap", "fill", "shorten", "dedent", "indent"),
}

# Patched in their own code (`_codepatch`), where they are plain Python functions: a
# call whose text arguments (listed) are exact str/bytes runs the original body; any
# other goes to the wrapper, which tags the result with the union of every argument's
# tags.  Flags, codec names and ``safe=`` (``quote=``, ``encoding=``, ``casefold=``)
# are not data.  ``urlencode``'s mapping is looked into by the accelerator (without
# it, the function keeps the wrapper).  The others (``urlunsplit``'s tuple, the
# lru-cached ``urlsplit``) keep the wrapper.
_IN_PLACE: dict[tuple[object, str], tuple[str, ...]] = {
    (html, "escape"): ("s",),
    (html, "unescape"): ("s",),
    # `safe` lists characters left as they are: what is written comes from the text
    (urllib.parse, "quote_plus"): ("string",),
    (urllib.parse, "quote_from_bytes"): ("bs",),
    (urllib.parse, "unquote"): ("string",),
    (urllib.parse, "unquote_plus"): ("string",),
    (urllib.parse, "unquote_to_bytes"): ("string",),
    (urllib.parse, "parse_qs"): ("qs",),
    (urllib.parse, "parse_qsl"): ("qs",),
    (urllib.parse, "urlsplit"): ("url", "scheme"),
    (urllib.parse, "urlparse"): ("url", "scheme"),
    (urllib.parse, "urljoin"): ("base", "url"),
    # the mapping or pairs: a container, looked into by the accelerator's is_plain
    (urllib.parse, "urlencode"): ("query*",),
    (urllib.parse, "urldefrag"): ("url",),
    (textwrap, "dedent"): ("text",),
    (textwrap, "indent"): ("text", "prefix"),
    # any keyword (TextWrapper's options: indents, placeholder) goes the tagged way
    (textwrap, "wrap"): ("text",),
    (textwrap, "fill"): ("text",),
    (textwrap, "shorten"): ("text",),
    **{
        (base64, n): ("s",)
        for n in (
            "b32encode",
            "b32hexencode",
            "b32hexdecode",
            "b16encode",
            "b16decode",
            "encodebytes",
            "decodebytes",
        )
    },
    (base64, "b32decode"): ("s", "map01"),  # map01 says what 1 decodes as
    **{(base64, n): ("b",) for n in ("b85encode", "b85decode", "a85encode", "a85decode")},
}


def _wrapper_method(orig: Callable[..., Any], where: str) -> Callable[..., Any]:
    """``TextWrapper.<name>`` whose result carries the tags of its arguments and of
    the instance's attributes (the indents and placeholder are written into it)."""

    def method(self: textwrap.TextWrapper, /, *args: Any, **kwargs: Any) -> Any:
        res = orig(self, *args, **kwargs)
        state = _held(self)
        if (
            all_plain(map(type, args))
            and (not kwargs or all_plain(map(type, kwargs.values())))
            and all_plain(map(type, state))
        ):
            return res  # the usual call: plain text, a wrapper configured with plain values
        try:
            tags = R.union_all(
                (tags_in(args) or None, tags_in(kwargs) or None, tags_in(state) or None)
            )
            if tags:
                return tag_deep(res, tags)
        except Exception as exc:
            fallback(where, exc)
        return res

    functools.update_wrapper(method, orig)  # names, doc, __wrapped__
    # with the C accelerator: plain arguments and an instance holding plain values
    # (what TextWrapper(...) sets up) are the original call, checked in C
    return fast(method, fast=orig, check_from=1, held_plain=True)


def _held(obj: object) -> list[Any]:
    """The values `obj` holds (attributes, in a ``__dict__`` or in slots), read as the
    garbage collector reads them.  Asking for ``obj.__dict__`` would make CPython
    turn the instance's inline attribute values into a dict for good, slowing every
    later attribute read of it (a TextWrapper's own wrap() by 15 %)."""
    own = type(obj)
    return [x for x in gc.get_referents(obj) if x is not own]


def _fill_method(orig: Callable[..., Any]) -> Callable[..., Any]:
    """``TextWrapper.fill``, which is ``"\\n".join(self.wrap(text))``: the lines come
    from ``self.wrap`` (patched, or a subclass's), and a join that keeps their tags
    puts them together.  A second wrapper around `fill` itself would read the
    instance's attributes again (≈ 150 ns on a 3.7 µs call)."""

    def fill(self: textwrap.TextWrapper, text: str) -> str:
        lines = self.wrap(text)
        for line in lines:
            if type(line) is not str:
                break
        else:
            return "\n".join(lines)
        try:
            return join_tagged("\n", lines)  # type: ignore[no-any-return]
        except Exception as exc:
            fallback("textwrap.TextWrapper.fill", exc)
            return tag_deep("\n".join(lines), tags_in(lines))  # type: ignore[no-any-return]

    functools.update_wrapper(fill, orig)  # names, doc, __wrapped__
    return fill


def _cached(fn: Any, where: str) -> Callable[..., Any]:
    """`tagging_wrapper` for an ``lru_cache``-d function (``urlsplit``).  The cache
    sees exact copies of tagged text: it keys on equal text, so a result computed for
    one caller's tagged string came back, with those tags, to the next caller of the
    same text with other purposes.  The result is tagged per call.  The cache's own
    API (``cache_clear``, which ``urllib.parse.clear_cache`` calls, ``cache_info``,
    ``cache_parameters``) stays on the function."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return fn(*map(exact_text, args), **{k: exact_text(v) for k, v in kwargs.items()})

    functools.update_wrapper(call, fn)
    slow = tagging_wrapper(call, where)
    out = fast(getattr(slow, "_pt_slow", slow), fast=fn)  # plain calls: the cached function
    out.__wrapped__ = fn  # type: ignore[attr-defined]
    for name in ("cache_info", "cache_clear", "cache_parameters"):
        if hasattr(fn, name):
            setattr(out, name, getattr(fn, name))
    return out


# Usually given bytes: their check asks ``is not bytes`` first
_BYTES_FIRST = {
    (urllib.parse, "quote_from_bytes"),
    *((base64, n) for n in ("b32encode", "b32hexencode", "b16encode", "encodebytes")),
    *((base64, n) for n in ("b85encode", "a85encode", "decodebytes")),
}


class _Pairs(list):  # type: ignore[type-arg]
    """The pairs a mapping's ``items()`` gave, handed on to ``urlencode`` as a mapping:
    it asks for ``items()``, as it asked the mapping."""

    __slots__ = ()

    def items(self) -> list[Any]:
        return self


def _urlencode(fn: Any, where: str) -> Callable[..., Any]:
    """`tagging_wrapper` for ``urlencode``, which also looks into a mapping that is not
    a dict (a ``collections.abc.Mapping``): its pairs are read once, through its own
    ``items()`` as ``urlencode`` reads them, and handed on; the tags of what they
    hold are then found as in a dict's."""
    tagging = tagging_wrapper(fn, where)

    def urlencode(query: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(query, dict | list | tuple) and hasattr(query, "items"):
            query = _Pairs(query.items())
        return tagging(query, *args, **kwargs)

    functools.update_wrapper(urlencode, fn)
    return fast(urlencode, fast=fn)


# html.escape's replacements, in its order (the last two only when `quote` is true)
_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"))


def _escape_front(fn: Any, slow: Callable[..., Any]) -> Callable[..., Any] | None:
    """The accelerator's ``html.escape`` of an exact str, to run in front of the
    original body (see `inject`), when `fn`'s code is the one it mirrors: ``s``
    replaced by these five pairs in this order, ``quote`` tested after the third,
    ``s`` returned.  The original's five method calls cost a short string more than
    the replacing; one type check in front of them put it at 1.11x its unpatched
    self.  None (the ordinary check) for any other code."""
    if _accel._C is None or type(fn) is not types.FunctionType or fn.__kwdefaults__:
        return None
    code = fn.__code__
    loads: list[Any] = []
    instrs = list(dis.get_instructions(code))
    for i, ins in enumerate(instrs):
        if ins.opname == "LOAD_CONST" or ins.opname.startswith("LOAD_FAST"):
            loads.extend(ins.argval if isinstance(ins.argval, tuple) else (ins.argval,))
        elif ins.opname == "STORE_FAST_LOAD_FAST":  # 3.13's pair: the load is second
            loads.append(ins.argval[1])
        if ins.argval == "quote":
            after = instrs[i + 1].opname if i + 1 < len(instrs) else ""
            if "JUMP" not in after and after != "TO_BOOL":
                return None
    pairs = [x for pair in _ESCAPES for x in ("s", *pair)]
    expected = [*pairs[:9], "quote", *pairs[9:], "s"]
    if (
        loads != expected
        or code.co_names != ("replace",)
        or code.co_varnames[: code.co_argcount] != ("s", "quote")
        or code.co_kwonlyargcount
        or fn.__defaults__ != (True,)
    ):
        return None
    _accel._C.set_html_escape(slow, _ESCAPES)
    front: Callable[..., Any] = _accel._C.html_escape
    return front


# binascii's base64 pair: the keyword flag b64encode/b64decode pass by name
_FLAGS: dict[tuple[object, str], str] = {
    (binascii, "b2a_base64"): "newline",
    (binascii, "a2b_base64"): "strict_mode",
}


def _flag_wrapper(fn: Any, where: str, flag: str) -> Callable[..., Any] | None:
    """For binascii's ``b2a_base64(data, /, *, newline=True)`` and ``a2b_base64(data,
    /, *, strict_mode=False)``, which ``b64encode``/``b64decode`` call with the flag
    by name: a wrapper taking the flag by name too (a flag is not data).  Without the
    accelerator it is what runs; one taking ``**kwargs`` made ``b64encode`` about 6
    times slower (building and unpacking the keyword dict), this about 2 times.  Any
    other call shape goes to `tagging_wrapper`, so errors are the original's.  None
    when `fn`'s signature is not that one."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    kinds = [(p.kind, p.name) for p in params]
    want = [(inspect.Parameter.POSITIONAL_ONLY, "data"), (inspect.Parameter.KEYWORD_ONLY, flag)]
    if kinds != want:
        return None
    general = tagging_wrapper(fn, where)
    wrapper: Callable[..., Any]

    def other(data: Any, args: tuple[Any, ...], value: Any, kw: dict[str, Any]) -> Any:
        # any other call shape, given on as it came (the flag only if it was given)
        given = {} if value is _MISSING else {flag: value}
        return general(*(() if data is _MISSING else (data,)), *args, **given, **kw)

    # the flag is a named parameter: a call passing it builds no keyword dict to
    # unpack (``**kw`` is then an empty one, which CPython makes cheaply)
    if flag == "newline":

        def b2a(data: Any = _MISSING, /, *args: Any, newline: Any = _MISSING, **kw: Any) -> Any:
            if args or kw or data is _MISSING:
                return other(data, args, newline, kw)
            res = fn(data) if newline is _MISSING else fn(data, newline=newline)
            if type(data) is bytes:
                return res
            return tagged_result(res, (data,), {}, where)

        wrapper = b2a
    else:

        def a2b(data: Any = _MISSING, /, *args: Any, strict_mode: Any = _MISSING, **kw: Any) -> Any:
            if args or kw or data is _MISSING:
                return other(data, args, strict_mode, kw)
            res = fn(data) if strict_mode is _MISSING else fn(data, strict_mode=strict_mode)
            if type(data) is bytes:
                return res
            return tagged_result(res, (data,), {}, where)

        wrapper = a2b
    return named_fast(wrapper, fn)


def apply() -> None:
    for module, names in _FUNCTIONS.items():
        modname = getattr(module, "__name__", "?")
        for name in names:
            fn = getattr(module, name, None)
            if fn is None:
                continue
            data = _IN_PLACE.get((module, name))
            where = f"{modname}.{name}"
            wrap = _urlencode if (module, name) == (urllib.parse, "urlencode") else tagging_wrapper
            flag = _FLAGS.get((module, name))
            flagged = None if flag is None else _flag_wrapper(fn, where, flag)
            if flagged is not None:
                patch(module, name, flagged)
                continue
            slow = wrap(clone(fn), where)
            front = _escape_front(fn, slow) if (module, name) == (html, "escape") else None
            first = (module, name) in _BYTES_FIRST
            if data is None or not inject(fn, data, slow, front, first):
                cached = hasattr(fn, "cache_clear")
                patch(module, name, _cached(fn, where) if cached else wrap(fn, where))
    tw = textwrap.TextWrapper
    patch(tw, "wrap", _wrapper_method(tw.__dict__["wrap"], "textwrap.TextWrapper.wrap"))
    patch(tw, "fill", _fill_method(tw.__dict__["fill"]))
