"""``hashlib`` and ``hmac``: a digest of personal data is still personal data.

Hash objects are C types that cannot carry anything, so every patched constructor
returns a small `TaggedHash` wrapper: ``update()`` accumulates the tags of what is
fed to it, ``digest()``/``hexdigest()`` carry them (on every byte: each output byte
depends on all input), ``copy()`` keeps them.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import threading
import types
from collections.abc import Callable
from typing import Any

from .. import _accel
from .. import _ranges as R
from .._accel import fast
from .._ranges import TagSet
from .._tainted import mk_bytes, mk_str
from ._patching import all_plain, args_tags, fallback, original_of, patch, tagging_wrapper, tags_in

_TAGS_LOCK = threading.Lock()

_CONSTRUCTORS = (
    "md5",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "blake2b",
    "blake2s",
    "sha3_224",
    "sha3_256",
    "sha3_384",
    "sha3_512",
    "shake_128",
    "shake_256",
)


class TaggedHash:
    """A hash (or HMAC) object that remembers the tags of the data it was fed."""

    __slots__ = ("_h", "_pt_tags")

    _h: Any
    _pt_tags: TagSet | None

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._h.update(*args, **kwargs)  # a wrong call raises the hash's own error
        if len(args) != 1 or type(args[0]) is not _bytes:
            try:
                t = tags_in(args)
                if t:
                    # one lock for every hash: threads feeding the same object
                    # tagged data must not lose each other's tags (rare, and
                    # only for tagged data)
                    with _TAGS_LOCK:
                        self._pt_tags = R.union_all((self._pt_tags, t))
            except Exception as exc:
                fallback("hashlib.update", exc)

    def digest(self, *args: Any, **kwargs: Any) -> bytes:
        t = self._pt_tags
        if t is None and not args and not kwargs:
            return self._h.digest()  # type: ignore[no-any-return]
        res: bytes = self._h.digest(*args, **kwargs)  # shake: digest(length=...)
        return res if t is None else mk_bytes(res, t)

    def hexdigest(self, *args: Any, **kwargs: Any) -> str:
        t = self._pt_tags
        if t is None and not args and not kwargs:
            return self._h.hexdigest()  # type: ignore[no-any-return]
        res: str = self._h.hexdigest(*args, **kwargs)
        return res if t is None else mk_str(res, t)

    def copy(self) -> TaggedHash:
        return _wrap(self._h.copy(), self._pt_tags)

    def __reduce_ex__(self, protocol: Any) -> Any:
        # copy.copy() and pickle refuse as for the hash itself (a shallow copy of
        # this wrapper would share the hash's state)
        return self._h.__reduce_ex__(protocol)

    @property
    def name(self) -> str:
        return self._h.name  # type: ignore[no-any-return]

    @property
    def digest_size(self) -> int:
        return self._h.digest_size  # type: ignore[no-any-return]

    @property
    def block_size(self) -> int:
        return self._h.block_size  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return repr(self._h)


# With the C accelerator the wrappers are its `TaggedHash` (same attributes): plain
# data and untagged digests go straight to the wrapped object, in C, and the methods
# above handle the rest, called with the C object.
_CHash: Any = None if _accel._C is None else _accel._C.TaggedHash
if _CHash is not None:
    _accel._C.set_hash_twin(TaggedHash.update, TaggedHash.digest, TaggedHash.hexdigest)


def _forward(name: str) -> property:
    def get(self: TaggedHash) -> Any:
        return getattr(self._h, name)

    get.__name__ = name
    return property(get)


def _hash_attributes() -> set[str]:
    """Every public attribute of the hash (and OpenSSL HMAC) objects the patches wrap."""
    names: set[str] = set()
    samples: list[Any] = []  # HMAC objects are not wrapped: the OpenSSL HMAC inside is
    ossl = getattr(hmac, "_hashopenssl", None)
    if ossl is not None and callable(getattr(ossl, "hmac_new", None)):
        samples.append(ossl.hmac_new(b"k", b"", digestmod="sha256"))
    for ctor in _CONSTRUCTORS:
        fn = getattr(hashlib, ctor, None)
        if fn is not None:
            try:
                samples.append(fn())
            except Exception:  # pragma: no cover - an algorithm the build lacks
                continue
    for h in samples:
        names.update(n for n in dir(type(h)) if not n.startswith("_"))
    return names


# The other attributes are forwarded by name, as properties: a `__getattr__` would
# put every attribute read of the class (``h.hexdigest``, ``self._h``) on CPython's
# slow, unspecialized path.
for _cls in (TaggedHash, _CHash) if _CHash is not None else (TaggedHash,):
    for _name in sorted(_hash_attributes() - set(dir(_cls))):
        setattr(_cls, _name, _forward(_name))
del _cls, _name
if _CHash is not None:
    # copy/pickle refuse as for the hash itself, with hashlib's own message
    _CHash.__reduce_ex__ = TaggedHash.__reduce_ex__

_bytes = bytes


def _wrap(h: Any, tags: TagSet | None) -> TaggedHash:
    if _CHash is not None:
        return _CHash(h, tags)  # type: ignore[no-any-return]
    o = TaggedHash()
    o._h = h
    o._pt_tags = tags
    return o


def _tags_or_none(args: tuple[Any, ...], kwargs: dict[str, Any]) -> TagSet | None:
    if all_plain(map(type, args)) and (not kwargs or all_plain(map(type, kwargs.values()))):
        return None
    try:
        return args_tags(args, kwargs) or None
    except Exception as exc:
        fallback("hashlib.new", exc)
        return None


_MISSING: Any = object()


def _constructor(orig: Callable[..., Any]) -> Callable[..., Any]:
    # `data` is positional-only so the common call, ``sha256(b"...")``, builds no
    # argument tuple; everything else (keywords, ``new(name, data)``) takes the
    # general path.
    def constructor(data: Any = _MISSING, /, *args: Any, **kwargs: Any) -> TaggedHash:
        if type(data) is _bytes and not args and not kwargs:
            return _wrap(orig(data), None)
        if data is not _MISSING:
            args = (data, *args)
        h = orig(*args, **kwargs)
        return _wrap(h, _tags_or_none(args, kwargs) if args or kwargs else None)

    constructor.__name__ = getattr(orig, "__name__", "constructor")
    constructor.__qualname__ = constructor.__name__
    constructor.__doc__ = orig.__doc__
    constructor.__wrapped__ = orig  # type: ignore[attr-defined]
    return fast(constructor, fast=orig, wrap_type=_CHash, wrap_attr="_h")


def _unwrap_digestmod(digestmod: Any) -> Any:
    if type(digestmod) is str:  # the common ``"sha256"``: no attribute look-up (and miss)
        return digestmod
    return original_of(digestmod)


def _digestmod_unwrapped(
    args: tuple[Any, ...], kwargs: dict[str, Any], name: str
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments of an HMAC call ``(key, msg, <name>)`` as given (so a wrong call
    fails with the original's own message), the digest constructor unwrapped."""
    if len(args) >= 3:
        return (*args[:2], _unwrap_digestmod(args[2]), *args[3:]), kwargs
    if name in kwargs:
        return args, {**kwargs, name: _unwrap_digestmod(kwargs[name])}
    return args, kwargs


def _pair_tags(key: Any, msg: Any) -> TagSet | None:
    if type(key) is _bytes and (msg is None or type(msg) is _bytes):
        return None
    return _tags_or_none((key, msg), {})


class _HashClass:
    """Stands for a hash *class* of ``hashlib`` (``blake2b``, ``blake2s``; the others
    are functions): called, it makes a tagged hash like the other constructors;
    ``isinstance``/``issubclass`` and the class's constants (``SALT_SIZE``, ...)
    answer as the class does."""

    def __init__(self, ctor: Callable[..., Any], cls: type) -> None:
        self._ctor = ctor
        self._cls = cls
        self.__wrapped__ = cls
        self.__doc__ = cls.__doc__
        self.__name__ = cls.__name__
        self.__qualname__ = cls.__qualname__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._ctor(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # (only names not found on the object)
        return getattr(self._cls, name)

    def __instancecheck__(self, obj: Any) -> bool:
        if type(obj) is TaggedHash or (_CHash is not None and type(obj) is _CHash):
            obj = obj._h
        return isinstance(obj, self._cls)

    def __subclasscheck__(self, sub: type) -> bool:
        return issubclass(sub, self._cls)

    def __repr__(self) -> str:
        return repr(self._cls)

    def __reduce_ex__(self, protocol: Any) -> str:
        # by reference, as the class pickles: ``hashlib.<name>`` when loaded
        name: str = self.__qualname__
        return name


def _hmac_object(orig: Callable[..., Any]) -> Callable[..., Any]:
    """``_hashlib.hmac_new``, which ``hmac.HMAC`` (``hmac.new``, and the class used
    directly) builds its OpenSSL HMAC with: a `TaggedHash` whose tags are the key's
    and the message's.  ``HMAC.update``/``digest``/``hexdigest``/``copy`` then go
    through it, so ``hmac`` itself needs no wrapper.  (Without OpenSSL's HMAC, or
    for a digestmod it lacks, ``hmac`` hashes with ``hashlib`` constructors, which
    are patched.)"""

    def hmac_new(*args: Any, **kwargs: Any) -> TaggedHash:
        # (key, msg=b"", digestmod=None)
        args, kwargs = _digestmod_unwrapped(args, kwargs, "digestmod")
        h = orig(*args, **kwargs)
        key = args[0] if args else kwargs.get("key")
        msg = args[1] if len(args) > 1 else kwargs.get("msg", b"")
        return _wrap(h, _pair_tags(key, msg))

    hmac_new.__doc__ = orig.__doc__
    hmac_new.__wrapped__ = orig  # type: ignore[attr-defined]
    return fast(hmac_new, fast=orig, wrap_type=_CHash, wrap_attr="_h")


def _hmac_digest(orig: Callable[..., Any]) -> Callable[..., Any]:
    def digest(*args: Any, **kwargs: Any) -> bytes:
        # (key, msg, digest)
        args, kwargs = _digestmod_unwrapped(args, kwargs, "digest")
        res: bytes = orig(*args, **kwargs)
        key = args[0] if args else kwargs.get("key")
        msg = args[1] if len(args) > 1 else kwargs.get("msg")
        t = _pair_tags(key, msg)
        return res if t is None else mk_bytes(res, t)

    digest.__doc__ = orig.__doc__
    digest.__wrapped__ = orig  # type: ignore[attr-defined]
    return fast(digest, fast=orig)


def _file_digest(orig: Callable[..., Any]) -> Callable[..., Any]:
    """``hashlib.file_digest``: a `BytesIO` is hashed through ``getbuffer()`` (a
    memoryview, no tags); the memory file's marks give the digest its tags."""

    def file_digest(fileobj: Any, digest: Any, /, **kwargs: Any) -> Any:
        h = orig(fileobj, digest, **kwargs)
        marks = getattr(fileobj, "_pt_marks", None)  # a patched memory file's tagged writes
        if marks is None:
            return h
        try:
            tags = R.union_all(ts for _a, _b, ts in marks.items)
            if tags:
                if isinstance(h, TaggedHash) or (_CHash is not None and type(h) is _CHash):
                    h._pt_tags = R.union_all((h._pt_tags, tags))
                    return h
                return _wrap(h, tags)
        except Exception as exc:
            fallback("hashlib.file_digest", exc)
        return h

    return functools.update_wrapper(file_digest, orig)


def apply() -> None:
    for name in _CONSTRUCTORS:
        fn = getattr(hashlib, name, None)
        if fn is not None:
            ctor = _constructor(fn)
            patch(hashlib, name, _HashClass(ctor, fn) if isinstance(fn, type) else ctor)
    patch(hashlib, "new", _constructor(hashlib.new))
    patch(hashlib, "pbkdf2_hmac", tagging_wrapper(hashlib.pbkdf2_hmac, "hashlib.pbkdf2_hmac"))
    if hasattr(hashlib, "scrypt"):
        patch(hashlib, "scrypt", tagging_wrapper(hashlib.scrypt, "hashlib.scrypt"))
    patch(hashlib, "file_digest", _file_digest(hashlib.file_digest))
    ossl = getattr(hmac, "_hashopenssl", None)
    if ossl is not None and callable(getattr(ossl, "hmac_new", None)):
        patch(ossl, "hmac_new", _hmac_object(ossl.hmac_new))
        functype = getattr(hmac, "_functype", None)
        ctor_type = type(hashlib.sha256)  # the patched constructors' (not a function)
        if isinstance(functype, type) and ctor_type is not types.FunctionType:
            # ``HMAC(key, msg, hashlib.sha256)`` takes OpenSSL's HMAC only for a str
            # or a builtin digestmod: a patched constructor counts too (`hmac_new`
            # unwraps it), or the pure-Python HMAC would run instead
            patch(hmac, "_functype", (functype, ctor_type))
    patch(hmac, "digest", _hmac_digest(hmac.digest))
