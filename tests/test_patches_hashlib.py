"""hashlib and hmac while instrumented: digests of tagged data stay tagged."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

import purposetag as pt
from purposetag._instrument import _patching

P = "security.account_recovery"
E = pt.tag(b"bob@example.com", P)
TAGS = pt.tags(E)


@pytest.fixture(autouse=True)
def _on() -> None:
    pt.instrument()


@pytest.mark.parametrize("name", ["md5", "sha1", "sha256", "sha512", "blake2b", "sha3_256"])
def test_constructors_tag_digests(name: str) -> None:
    h = getattr(hashlib, name)(E)
    plain = _patching.original(hashlib, name)(b"bob@example.com")
    assert h.hexdigest() == plain.hexdigest() and pt.tags(h.hexdigest()) == TAGS
    assert h.digest() == plain.digest() and pt.tags(h.digest()) == TAGS
    assert h.name == plain.name and h.digest_size == plain.digest_size


def test_untagged_digests_are_plain() -> None:
    h = hashlib.sha256(b"x")
    assert type(h.hexdigest()) is str and type(h.digest()) is bytes
    plain = _patching.original(hashlib, "sha256")
    assert hashlib.sha256(b"x").hexdigest() == plain(b"x").hexdigest()


def test_update_accumulates_and_copy_keeps() -> None:
    h = hashlib.sha256()
    h.update(b"salt:")
    assert not pt.is_tagged(h.hexdigest())
    h.update(E)
    c = h.copy()
    assert pt.tags(h.hexdigest()) == TAGS and pt.tags(c.digest()) == TAGS
    plain = _patching.original(hashlib, "sha256")
    assert c.hexdigest() == plain(b"salt:bob@example.com").hexdigest()


def test_new_and_shake() -> None:
    assert pt.tags(hashlib.new("sha256", E).hexdigest()) == TAGS
    s = hashlib.shake_128(E)
    assert len(s.hexdigest(8)) == 16 and pt.tags(s.hexdigest(8)) == TAGS


def test_str_encoded_then_hashed() -> None:
    email = pt.tag("Bob@Example.com ", P)
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    assert pt.tags(digest) == TAGS


def test_hmac() -> None:
    m = hmac.new(b"key", E, hashlib.sha256)
    ref = _patching.original(hmac, "new")(b"key", b"bob@example.com", "sha256")
    assert m.hexdigest() == ref.hexdigest() and pt.tags(m.hexdigest()) == TAGS
    m2 = hmac.new(b"key", digestmod="sha256")
    m2.update(E)
    assert pt.tags(m2.digest()) == TAGS
    assert pt.tags(hmac.digest(b"k", E, "sha256")) == TAGS
    assert not pt.is_tagged(hmac.digest(b"k", b"x", "sha256"))
    assert hmac.compare_digest(m.hexdigest(), ref.hexdigest())


def test_hmac_class_with_patched_digestmod() -> None:
    m = hmac.HMAC(b"key", E, digestmod=hashlib.sha256)
    assert pt.tags(m.hexdigest()) == TAGS
    # the patched constructor still gets OpenSSL's HMAC, as the builtin did
    assert type(m._hmac).__name__ == "TaggedHash"  # type: ignore[attr-defined]
    with pytest.raises(ValueError):  # as with the builtin: OpenSSL refuses it at once
        hmac.new(b"k", b"m", hashlib.shake_128)


@pytest.mark.parametrize("digestmod", ["sha256", "md5", hashlib.sha256, hashlib.sha512])
def test_hmac_objects_are_hmac_objects_and_keep_tags(digestmod: Any) -> None:
    mod = getattr(hashlib, digestmod) if isinstance(digestmod, str) else digestmod
    for m in (hmac.new(b"key", E, digestmod), hmac.HMAC(b"key", E, digestmod=digestmod)):
        assert isinstance(m, hmac.HMAC) and pt.tags(m.hexdigest()) == TAGS
        assert m.name == "hmac-" + mod().name
        c = m.copy()
        c.update(b"more")
        assert pt.tags(c.digest()) == TAGS and c.digest() != m.digest()
    k = hmac.HMAC(pt.tag(b"key", P), b"msg", digestmod=digestmod)
    assert pt.tags(k.digest()) == TAGS  # the key's tags
    plain = hmac.new(b"key", b"msg", digestmod)
    assert not pt.is_tagged(plain.hexdigest())
    assert plain.hexdigest() == _patching.original(hmac, "new")(b"key", b"msg", mod).hexdigest()


def test_uninstrument_restores_hmac() -> None:
    import _hashlib

    pt.uninstrument()
    before = (_hashlib.hmac_new, getattr(hmac, "_functype", None), hmac.new)
    pt.instrument()
    assert _hashlib.hmac_new is not before[0]
    pt.uninstrument()
    assert (_hashlib.hmac_new, getattr(hmac, "_functype", None), hmac.new) == before
    assert type(hmac.new(b"k", E, "sha256")._hmac) is type(before[0](b"k", b"", "sha256"))
    pt.instrument()


def test_pbkdf2() -> None:
    assert pt.tags(hashlib.pbkdf2_hmac("sha256", E, b"salt", 10)) == TAGS


def test_file_digest_of_a_memory_file_keeps_its_tags() -> None:
    import io

    email = pt.tag(b"bob@example.com", "account.recovery")
    f = io.BytesIO()
    f.write(b"header:")
    f.write(email)
    h = hashlib.file_digest(f, "sha256")
    want = _patching.original(hashlib, "sha256")(b"header:bob@example.com").hexdigest()
    assert h.hexdigest() == want and pt.tags(h.hexdigest()) == pt.tags(email)
    h2 = hashlib.file_digest(io.BytesIO(email), hashlib.sha256)  # a constructor, not a name
    assert pt.tags(h2.digest()) == pt.tags(email)
    plain = hashlib.file_digest(io.BytesIO(b"x"), "sha256")
    assert not pt.is_tagged(plain.hexdigest())
    assert plain.hexdigest() == _patching.original(hashlib, "sha256")(b"x").hexdigest()


def test_patched_builtins_stay_unbound_on_a_class_and_pickle_by_reference() -> None:
    import binascii
    import functools
    import json
    import pickle
    import re
    import urllib.parse

    class Hasher:  # Django's PBKDF2PasswordHasher keeps `digest = hashlib.sha256`
        digest = hashlib.sha256
        hexlify = binascii.hexlify
        dumps = json.dumps  # a Python function: bound, as without purposetag

        def encode(self, pw: bytes, salt: bytes) -> str:
            return hashlib.pbkdf2_hmac(self.digest().name, pw, salt, 10).hex()

    h = Hasher()
    plain = _patching.original(hashlib, "sha256")
    assert h.digest(b"x").hexdigest() == plain(b"x").hexdigest()
    assert h.hexlify(b"a") == b"61" and h.encode(b"pw", b"salt")
    assert pt.tags(h.digest(E).hexdigest()) == TAGS
    mac = hmac.new(b"k", b"m", Hasher.digest).hexdigest()
    assert mac == hmac.new(b"k", b"m", plain).hexdigest()
    with pytest.raises(TypeError):
        h.dumps({})  # json.dumps(h, {}), as it would be
    funcs = [hashlib.sha256, hashlib.md5, hashlib.new, hashlib.pbkdf2_hmac, hmac.digest]
    funcs += [binascii.hexlify, json.dumps, re.compile, urllib.parse.quote]
    for f in funcs:
        assert pickle.loads(pickle.dumps(f)) is f, f
    p = pickle.loads(pickle.dumps(functools.partial(hashlib.sha256, b"x")))
    assert p().hexdigest() == plain(b"x").hexdigest()


def test_hmac_new_fails_as_the_original_for_every_call_shape() -> None:
    import _hashlib

    orig = _patching.original(_hashlib, "hmac_new")
    shapes: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((), {}),
        ((b"k",), {}),
        ((b"k", b"m"), {}),
        ((b"k", b"m", "sha256", 1), {}),
        ((b"k", b"m"), {"digestmod": "nope"}),
        ((b"k",), {"msg": b"m", "digestmod": "sha256"}),
        ((), {"key": b"k", "digestmod": "sha256"}),
        ((b"k", b"m", "sha256"), {"digestmod": "sha256"}),
        ((b"k", b"m", "sha256"), {"other": 1}),
        (("text", b"m", "sha256"), {}),
    ]
    for args, kwargs in shapes:
        try:
            want: tuple[Any, ...] = ("ok", orig(*args, **kwargs).hexdigest())
        except Exception as exc:
            want = ("raised", type(exc), str(exc))
        try:
            got: tuple[Any, ...] = ("ok", _hashlib.hmac_new(*args, **kwargs).hexdigest())
        except Exception as exc:
            got = ("raised", type(exc), str(exc))
        assert got == want, (args, kwargs)
    mac = _hashlib.hmac_new(E, digestmod=hashlib.sha256)
    assert pt.tags(mac.hexdigest()) == TAGS


def test_digestmod_objects_are_not_asked_for_attributes_they_lack() -> None:
    """A digestmod answering any attribute (or raising) through __getattr__ is passed
    on as given: the original's error, not one of ours."""
    import _hashlib

    class Lazy:
        def __getattr__(self, name: str) -> object:
            return lambda *a: None

    class Raising:
        def __getattr__(self, name: str) -> object:
            raise RuntimeError(f"lookup of {name}")

    for dm in (Lazy(), Raising()):
        for call in (
            lambda: _hashlib.hmac_new(b"k", b"m", dm),  # noqa: B023
            lambda: hmac.digest(b"k", b"m", dm),  # noqa: B023
        ):
            pt.uninstrument()
            want = _outcome(call)
            pt.instrument()
            assert _outcome(call) == want, dm


def test_hmac_digest_fails_as_the_original_with_tagged_arguments() -> None:
    for args, kwargs in [((E, b"m"), {}), ((E, b"m", "sha256", 1), {}), ((E, b"m"), {"dig": 1})]:
        pt.uninstrument()
        want = _outcome(lambda: hmac.digest(*args, **kwargs))  # noqa: B023
        pt.instrument()
        assert _outcome(lambda: hmac.digest(*args, **kwargs)) == want  # noqa: B023
    assert pt.tags(hmac.digest(E, b"m", "sha256")) == TAGS


def _outcome(fn: Any) -> tuple[Any, ...]:
    try:
        return ("ok", fn())
    except Exception as exc:
        return ("raised", type(exc), str(exc))


def test_hash_errors_copies_and_concurrent_tags_are_the_originals() -> None:
    import _hashlib
    import copy
    import threading

    from purposetag._instrument import _p_hashlib

    plain = _patching.original(hashlib, "sha256")()
    h = hashlib.sha256()
    for args, kwargs in [((), {}), ((b"a", b"b"), {}), ((), {"data": b"a"}), (("text",), {})]:
        with pytest.raises(TypeError) as ours:
            h.update(*args, **kwargs)
        with pytest.raises(TypeError) as theirs:
            plain.update(*args, **kwargs)
        assert str(ours.value) == str(theirs.value)
    for f in (copy.copy, copy.deepcopy):
        with pytest.raises(TypeError):
            f(h)  # as for the hash itself: a copy would share its state
    with pytest.raises(TypeError, match="digestmod"):
        _hashlib.hmac_new(b"k")
    entered = []

    class Recording:
        def __enter__(self) -> None:
            entered.append(threading.get_ident())

        def __exit__(self, *exc: object) -> None:
            pass

    real = _p_hashlib._TAGS_LOCK
    _p_hashlib._TAGS_LOCK = Recording()  # type: ignore[assignment]
    try:
        h.update(E)  # tagged data: the tag union is taken under the lock
    finally:
        _p_hashlib._TAGS_LOCK = real
    assert entered and pt.tags(h.digest()) == TAGS


def test_tagging_wrappers_run_no_subclass_code_and_give_arguments_back() -> None:
    import html

    class Hostile(dict):  # type: ignore[type-arg]
        def items(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("not ours to call")

    class HostileList(list):  # type: ignore[type-arg]
        def __iter__(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("not ours to call")

    d = Hostile(a=1)
    assert html.unescape(d) is d  # what html.unescape gives back for it
    lst = HostileList(["a"])
    assert html.unescape(lst) is lst
    tagged = [pt.tag("a", P)]
    assert html.unescape(tagged) is tagged  # not a tagged copy of it


def test_the_hash_classes_stay_usable_as_classes() -> None:
    """``blake2b``/``blake2s`` are classes in hashlib (the others are functions): their
    constants, isinstance, issubclass, repr, pickling and signature hold."""
    import copy
    import inspect
    import pickle

    for name in ("blake2b", "blake2s"):
        patched = getattr(hashlib, name)
        cls = _patching.original(hashlib, name)
        assert isinstance(cls, type)
        for const in ("SALT_SIZE", "PERSON_SIZE", "MAX_KEY_SIZE", "MAX_DIGEST_SIZE"):
            assert getattr(patched, const) == getattr(cls, const)
        h = patched(pt.tag(b"bob@x.io", P), digest_size=16, salt=b"s" * patched.SALT_SIZE)
        assert isinstance(h, patched)
        assert not isinstance(hashlib.sha256(), patched) and not isinstance("x", patched)
        assert issubclass(cls, patched) and not issubclass(int, patched)
        assert pt.tags(h.hexdigest()) == pt.tags(pt.tag(b"x", P))
        ref = cls(b"bob@x.io", digest_size=16, salt=b"s" * cls.SALT_SIZE)
        assert h.hexdigest() == ref.hexdigest()
        assert repr(patched) == repr(cls) and patched.__name__ == cls.__name__
        assert patched.__doc__ == cls.__doc__
        assert pickle.loads(pickle.dumps(patched)) is patched and copy.deepcopy(patched) is patched
        assert inspect.signature(patched) == inspect.signature(cls)


def test_copying_a_hash_refuses_with_hashlibs_own_message() -> None:
    import copy
    import pickle

    plain = _patching.original(hashlib, "sha256")(b"x")
    with pytest.raises(TypeError) as want:
        copy.copy(plain)
    for call in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(TypeError) as got:
            call(hashlib.sha256(pt.tag(b"x", P)))
        assert str(got.value) == str(want.value)
