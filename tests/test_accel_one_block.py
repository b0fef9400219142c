"""Tagged strings made in one memory block by the accelerator, and ``json.loads`` of a
tagged string parsed and tagged in C.

CPython makes a ``str`` subclass instance in two blocks (the object, then its
characters); the accelerator makes the TaintedStr of an exact str in one, and gives
TaintedStr a dealloc that frees both kinds.  These check that such strings are
equal in every way to the ones CPython makes, that nothing is leaked or freed
twice (subclasses and ``__class__`` assignment included), and that the C
``json.loads`` path gives what the Python wrapper gives.
"""

from __future__ import annotations

import copy
import gc
import json
import pickle
import sys
import time
from typing import Any

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

import purposetag as pt
from purposetag import _accel
from purposetag._instrument._patching import _tag_deep
from purposetag._tags import intern_tags
from purposetag._tainted import TaintedStr

pytestmark = pytest.mark.skipif(not _accel.ACCELERATED, reason="C accelerator not loaded")
C = _accel._C
P = ("security.authentication", "marketing.email")
TAGS = intern_tags(pt.tags(pt.tag("x", *P, category="user.contact", source="signup")))
ONE_BLOCK = sys.version_info < (3, 14)  # the layouts install_one_block knows

# every kind of str: ASCII, Latin-1, UCS-2, UCS-4, NUL, lone surrogate, empty
texts = st.text(alphabet="ab\x00\x7fé\xff€\ud800😀", max_size=40)


def _made_in_c(s: str) -> Any:
    """A TaintedStr of `s` made by C (one block once installed)."""
    out = C.tag_deep([s], TAGS, None)[0]
    assert type(out) is TaintedStr
    return out


def _made_by_cpython(s: str) -> Any:
    o = str.__new__(TaintedStr, s)
    o._pt_ranges = TAGS
    return o


def test_installed_on_taintedstr() -> None:
    assert C.install_one_block(TaintedStr) is ONE_BLOCK  # again: nothing changes


def test_install_refuses_other_types() -> None:
    class Other(str):
        __slots__ = ("_pt_ranges",)

    class NoSlot(str):
        pass

    for tp in (str, NoSlot, int):
        with pytest.raises(TypeError):
            C.install_one_block(tp)
    if ONE_BLOCK:
        with pytest.raises(RuntimeError, match="another type"):
            C.install_one_block(Other)


@given(texts)
def test_one_block_strings_equal_cpythons(s: str) -> None:
    got, want = _made_in_c(s), _made_by_cpython(s)
    assert got == want == s and len(got) == len(s)
    assert hash(got) == hash(s) and {got: 1}[s] == 1
    assert got._pt_ranges is TAGS and pt.ranges(got) == pt.ranges(want)
    assert str.__str__(got) == s and type(str.__str__(got)) is str
    assert got.encode("utf-8", "surrogatepass") == s.encode("utf-8", "surrogatepass")
    assert got.encode("utf-16", "surrogatepass") == s.encode("utf-16", "surrogatepass")
    assert list(got) == list(s) and got[::-1] == s[::-1]
    assert got.upper() == s.upper() and pt.tags(got.upper()) == TAGS
    assert sys.getsizeof(got) == sys.getsizeof(want)  # the same parts, counted alike
    back = pickle.loads(pickle.dumps(got))
    assert back == s and pt.ranges(back) == pt.ranges(got)
    assert copy.deepcopy(got) is got


@given(texts.filter(lambda s: "\ud800" not in s))
def test_utf8_of_a_one_block_string(s: str) -> None:
    got = _made_in_c(s)
    # C callers that ask for UTF-8 (os, sqlite3, most extensions) read it in place
    # for ASCII and from a separate copy otherwise, freed with the string
    assert got.encode() == s.encode()
    if s and "\x00" not in s:
        _utf8_cached(got)
        assert got.encode() == s.encode() and got == s
    assert f"{got}" == s and "%s" % got == s  # noqa: UP031 - the % path
    ns: dict[str, Any] = {}
    exec(compile(f"x = {got!r}", "<s>", "exec"), ns)  # its UTF-8, read by the compiler
    assert ns["x"] == s


@given(st.lists(texts, max_size=80), st.lists(texts, max_size=80))
def test_reused_blocks_hold_only_their_new_string(first: list[str], then: list[str]) -> None:
    # freed short strings are kept and reused for any string of their size class,
    # of any kind (an ASCII block becomes a UCS-4 one)
    made = [_made_in_c(s) for s in first]
    subs = [_made_in_c(s) for s in first[:10]]
    for x in subs:
        x.__class__ = _Sub  # freed through a subclass's dealloc
    del made, subs
    again = [_made_in_c(s) for s in then]
    assert [type(x) for x in again] == [TaintedStr] * len(then)
    assert again == then and [hash(x) for x in again] == [hash(s) for s in then]
    assert [x.encode("utf-32", "surrogatepass") for x in again] == [
        s.encode("utf-32", "surrogatepass") for s in then
    ]
    assert all(x._pt_ranges is TAGS for x in again)


class _Sub(TaintedStr):
    __slots__ = ()


def test_hash_cached_on_the_plain_string_is_kept() -> None:
    s = "".join(["cached", "-", "hash"])
    h = hash(s)
    got = _made_in_c(s)
    assert hash(got) == h


def _utf8_cached(s: str) -> None:
    """Make CPython cache `s`'s UTF-8 on it (a separate copy unless ASCII), as C code
    asking for it (PyUnicode_AsUTF8) does: an encoding name is read so.  (The codec
    registry remembers each unknown name once: callers reuse their texts.)"""
    try:
        "x".encode(s)
    except LookupError:
        pass


def _blocks_after(make: Any, n: int = 3000) -> int:
    for i in range(300):  # the accelerator keeps a few freed strings for reuse
        make(i)
    gc.collect()
    before = sys.getallocatedblocks()
    for i in range(n):
        make(i)
    gc.collect()
    return sys.getallocatedblocks() - before


@pytest.mark.parametrize(
    "text",
    ["ascii text", "latin-1 é" * 3, "bmp €" * 5, "astral 😀" * 2, ""],
)
def test_nothing_is_leaked(text: str) -> None:
    def make(i: int) -> None:
        s = _made_in_c(f"{text} no such encoding")
        _utf8_cached(s)

    assert _blocks_after(make) < 100


def test_subclass_instances_and_class_assignment_free_cleanly() -> None:
    class Sub(TaintedStr):
        __slots__ = ()

    class WithDict(TaintedStr):
        pass

    def make(i: int) -> None:
        s = _made_in_c("xé")
        s.__class__ = Sub  # its characters stay in its block
        _utf8_cached(s)
        t = str.__new__(Sub, f"y{i}")  # two blocks, freed through TaintedStr's dealloc
        t._pt_ranges = TAGS
        w = str.__new__(WithDict, f"z{i}")
        w._pt_ranges = TAGS
        w.note = [w]  # a cycle: only the collector frees it
        assert s == "xé" and t == f"y{i}" and w == f"z{i}"

    assert _blocks_after(make) < 100


def test_strings_made_by_cpython_still_free_their_characters() -> None:
    def make(i: int) -> None:
        _utf8_cached(_made_by_cpython("two blocks €"))

    assert _blocks_after(make) < 100


# --- json.loads of a tagged string, parsed and tagged in C ------------------------

DOC = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(texts, kids, max_size=4),
    max_leaves=20,
)


def _shape(v: Any, out: list[Any]) -> list[Any]:
    """Every str in `v` (keys too), in order, with its type and ranges."""
    if isinstance(v, dict):
        for k, x in v.items():
            _shape(k, out)
            _shape(x, out)
    elif isinstance(v, list):
        for x in v:
            _shape(x, out)
    elif isinstance(v, str):
        out.append((type(v), v, pt.ranges(v) if pt.is_tagged(v) else None))
    else:
        out.append((type(v), v))
    return out


@given(DOC)
def test_loads_of_a_tagged_string_matches_the_python_path(doc: Any) -> None:
    pt.instrument()
    text = json.dumps(doc)
    tagged = pt.tag(text, *P, category="user.contact", source="signup")
    got = json.loads(tagged)  # C: one tag set on every character
    want = _tag_deep(json.loads(text), pt.tags(tagged), None)  # the Python reference
    assert got == doc
    assert _shape(got, []) == _shape(want, [])
    for _typ, s, *r in _shape(got, []):
        if isinstance(s, str):
            assert r == [pt.ranges(s) if s else []]


def test_loads_shares_tagged_keys_within_a_list_only() -> None:
    pt.instrument()
    text = '{"id": 1, "user": {"id": 2}, "rows": [{"id": 3}, {"id": 4}], "more": [{"id": 5}]}'
    for source in (pt.tag(text, P[0]), text):
        got = (
            json.loads(source)
            if source is not text
            else _tag_deep(json.loads(text), pt.tags(pt.tag("x", P[0])), None)
        )
        top, user = next(iter(got)), next(iter(got["user"]))
        rows = got["rows"]
        assert top == user == "id" and top is not user
        assert next(iter(rows[0])) is next(iter(rows[1]))
        assert next(iter(got["more"][0])) is not next(iter(rows[0]))
        assert all(pt.tags(k) == {pt.tags(pt.tag("x", P[0]))}.pop() for k in got)


def test_loads_of_partly_tagged_text_goes_through_python() -> None:
    pt.instrument()
    text = pt.tag('{"a": "', P[0]) + "b" + pt.tag('"}', P[1])
    got = json.loads(text)
    assert pt.tags(got["a"]) == pt.tags(text)  # the union of both
    assert pt.tags(next(iter(got))) == pt.tags(text)


def test_loads_parser_errors_are_the_parsers() -> None:
    pt.instrument()
    with pytest.raises(json.JSONDecodeError) as err:
        json.loads(pt.tag('{"a": ', P[0]))
    with pytest.raises(json.JSONDecodeError) as plain:
        json.loads('{"a": ')
    assert str(err.value) == str(plain.value) and err.value.pos == plain.value.pos == 6


def test_loads_falls_back_plain_and_reports_when_tagging_fails() -> None:
    pt.instrument()
    text = "[" * 70 + '"deep"' + "]" * 70  # below 64 levels C hands the rest to Python

    def broken(*_a: Any) -> Any:
        raise RuntimeError("bug of ours")

    C.set_tag_deep(TaintedStr, broken)
    try:
        with structlog.testing.capture_logs() as logs:
            got = json.loads(pt.tag(text, P[0]))
    finally:
        C.set_tag_deep(TaintedStr, _tag_deep)
    assert got == json.loads(text)  # the plain document: the parse was right
    assert any(e["event"] == "purpose_internal_error" for e in logs)
    again = json.loads(pt.tag(text, P[0]))
    for _ in range(70):
        again = again[0]
    assert again == "deep" and pt.tags(again) == pt.tags(pt.tag("x", P[0]))


def _raise(exc: BaseException) -> Any:
    def fn(*_a: Any) -> Any:
        raise exc

    return fn


def test_fast_deep_options() -> None:
    calls: list[Any] = []

    def slow(s: Any, **kw: Any) -> Any:
        calls.append(s)
        return "slow"

    with pytest.raises(TypeError, match="deep"):
        C.Fast(slow=slow, deep=True, name="x")
    with pytest.raises(TypeError, match="deep"):
        C.Fast(slow=slow, deep=True, fast=json.loads, check_from=1)
    f = C.Fast(slow=slow, fast=_raise(ValueError("parser")), deep=True)
    tagged = pt.tag('"s"', P[0])
    with pytest.raises(ValueError, match="parser"):
        f(tagged)  # the parser's own error: not parsed again by slow
    assert calls == []
    f = C.Fast(slow=slow, fast=_raise(KeyboardInterrupt()), deep=True)
    with pytest.raises(KeyboardInterrupt):
        f(tagged)
    assert calls == []
    f = C.Fast(slow=slow, fast=lambda s: ["v", {"k": s}], deep=True)
    got = f(tagged)
    assert got == ["v", {"k": '"s"'}] and pt.tags(got[0]) == pt.tags(tagged)
    assert pt.tags(next(iter(got[1]))) == pt.tags(tagged)
    assert f(tagged, strict=False) == "slow"  # anything but a lone argument: Python's
    assert calls == [tagged]
    plain = f('"s"')
    assert plain == ["v", {"k": '"s"'}] and not pt.is_tagged(plain)


def test_a_subclass_finalizer_runs_for_every_string_given_its_class() -> None:
    # a freed block is reused only if it was a TaintedStr: a subclass's __del__
    # marks the block finalized, and a later string in it given that class again
    # would not have its __del__ run
    ran: list[int] = []

    class Final(TaintedStr):
        __slots__ = ()

        def __del__(self) -> None:
            ran.append(1)

    for _ in range(200):
        s = _made_in_c("short text")
        s.__class__ = Final
        del s
    assert len(ran) == 200


@given(texts.filter(lambda s: "\x00" not in s and "\ud800" not in s))
def test_wide_character_readers_see_the_text(s: str) -> None:
    # C code reading a str as wchar_t (array 'u', ctypes, locale, time.strftime);
    # on 3.11 a string of wchar_t-wide characters must be its own wchar_t text, as
    # CPython's own subclass instances are, or they read it as 2-byte units
    import array
    import ctypes

    got = _made_in_c(s)
    assert array.array("u", got).tounicode() == s
    assert ctypes.create_unicode_buffer(got).value == s
    assert time.strftime(got, time.gmtime(0)) == time.strftime(s, time.gmtime(0))
