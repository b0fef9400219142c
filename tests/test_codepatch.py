"""Functions patched in their own code (`_instrument._codepatch`): `re` and `html`."""

from __future__ import annotations

import html
import importlib
import inspect
import linecache
import re
import sys
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import purposetag as pt
from purposetag import _accel
from purposetag._instrument import _codepatch, _patching
from purposetag._instrument._codepatch import GLOBAL, clone, inject

P = "security.account_recovery"
T = pt.tag("id bob@x.io <b>", P)

Factory = Callable[[str], ModuleType]


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    """Each test starts and ends uninstrumented (another test file may leave it on)."""
    pt.uninstrument()
    yield
    pt.uninstrument()


@pytest.fixture()
def make_module(tmp_path: Path) -> Iterator[Factory]:
    """Import a module written from `source` (a fresh name each time)."""
    sys.path.insert(0, str(tmp_path))
    names: list[str] = []

    def make(source: str) -> ModuleType:
        name = f"ptcodepatch_{uuid.uuid4().hex}"
        (tmp_path / f"{name}.py").write_text(source)
        names.append(name)
        return importlib.import_module(name)

    yield make
    _codepatch.restore_all()
    sys.path.remove(str(tmp_path))
    for name in names:
        sys.modules.pop(name, None)


def _slow(*args: Any, **kwargs: Any) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    return ("slow", args, kwargs)


# --- the stdlib functions -------------------------------------------------------


def test_re_and_html_are_patched_in_place_and_restored() -> None:
    fns = [re.search, re.match, re.fullmatch, re.findall, re.finditer, re.sub, re.subn]
    fns += [re.split, html.escape, html.unescape]
    # Python 3.13's sub, subn and split take *args (deprecated positional count and
    # flags): those are wrapped instead
    in_place = [f for f in fns if not f.__code__.co_flags & inspect.CO_VARARGS]
    assert re.search in in_place and html.escape in in_place and len(in_place) >= 7
    codes = [f.__code__ for f in fns]
    pt.instrument()
    try:
        for f in in_place:  # the same objects
            assert getattr(sys.modules[f.__module__], f.__name__) is f
        assert all(_codepatch.patched(f) for f in in_place)
        assert all(f.__code__ is not c for f, c in zip(fns, codes) if f in in_place)
        assert GLOBAL in vars(re) and GLOBAL in vars(html)
        pt.instrument()  # idempotent
        assert all(_codepatch.patched(f) for f in in_place)
    finally:
        pt.uninstrument()
    assert [f.__code__ for f in fns] == codes
    assert all(getattr(re, f.__name__) is f for f in fns[:8])
    assert not any(_codepatch.patched(f) for f in fns)
    # the slow-path name stays (a thread inside the patched code may still look it
    # up) and now leads to the unpatched function
    late = vars(html)[GLOBAL].escape
    assert late.__code__ is html.escape.__code__ and not pt.tags(late(pt.tag("<", P)))


def test_a_reference_taken_before_instrument_keeps_tags() -> None:
    from html import escape
    from re import findall, search

    pt.instrument()
    try:
        assert pt.tags(escape(T)) == pt.tags(T)
        assert pt.tags(search(r"(\w+)@", T).group(1)) == pt.tags(T)  # type: ignore[union-attr]
        assert [pt.ranges(x) for x in findall(r"\d", pt.tag("ab12", P))] == [
            [(0, 1, frozenset(pt.tags(T)))]
        ] * 2
    finally:
        pt.uninstrument()
    assert type(search(r"(\w+)@", T).group(1)) is str  # type: ignore[union-attr]


def test_original_is_the_unpatched_function() -> None:
    pt.instrument()
    try:
        orig = _patching.original(html, "escape")
        assert orig is not html.escape and not _codepatch.patched(orig)
        lt = pt.tag("<", P)
        assert not pt.tags(orig(lt)) and orig("<a>") == "&lt;a&gt;"  # str.replace alone
        assert pt.tags(html.escape(lt)) == pt.tags(lt)
        assert orig.__code__ is _codepatch.original_code(html.escape)
    finally:
        pt.uninstrument()


@given(st.text(max_size=40), st.booleans())
def test_plain_results_are_the_originals(s: str, quote: bool) -> None:
    esc, unesc = clone(html.escape), clone(html.unescape)
    rsub, rsplit = clone(re.sub), clone(re.split)
    pt.instrument()
    try:
        assert html.escape(s, quote) == esc(s, quote)
        assert html.unescape(s) == unesc(s)
        assert re.sub(r"[a-c&]+", "-", s) == rsub(r"[a-c&]+", "-", s)
        assert re.split(r"\s", s) == rsplit(r"\s", s)
        for f in (html.escape, html.unescape):
            assert type(f(s)) is str
    finally:
        pt.uninstrument()


def test_errors_and_bytes_are_the_originals() -> None:
    pt.instrument()
    try:
        with pytest.raises(AttributeError, match="replace"):
            html.escape(None)  # type: ignore[arg-type]
        with pytest.raises(re.error):
            re.search("(", T)
        with pytest.raises(TypeError):
            re.search("a", 5)  # type: ignore[call-overload]
        assert re.sub(rb"\d", b"#", b"a1") == b"a#"
        assert re.findall(r"\d", "a1b2") == ["1", "2"]
    finally:
        pt.uninstrument()


# --- the mechanism ---------------------------------------------------------------

SOURCE = '''\
"""A module patched in place by the tests."""
import functools


def upper(s, sep=", ", *, end="!"):
    """Docstring kept."""
    return (s.upper(), sep, end)


@functools.lru_cache(maxsize=None)
def cached(s):
    return s * 2


def fails(s):
    x = 1
    raise ValueError("line 17")


def positional(a, s, /, b=2):
    return (a, s, b)


def star(s, *args):
    return s


def keywords(s, q=None, *, opt=None, **kw):
    return (s, q, opt, kw)


def gen(s):
    yield s


def outer():
    def inner(s):
        return s
    return inner


inner = outer()
made = eval("lambda s: s")


def nested(s):
    def twice():
        return s * 2
    return twice()
'''


def test_inject_runs_the_body_for_plain_str_and_slow_otherwise(make_module: Factory) -> None:
    mod = make_module(SOURCE)
    assert inject(mod.upper, ("s",), _slow)
    assert mod.upper("ab") == ("AB", ", ", "!") and mod.upper.__doc__ == "Docstring kept."
    assert mod.upper(b"ab") == (b"AB", ", ", "!")  # exact bytes carry no tags either
    assert mod.upper(bytearray(b"ab")) == ("slow", (bytearray(b"ab"), ", "), {"end": "!"})
    assert mod.upper(pt.tag("ab", P), "; ", end="?")[0] == "slow"
    assert mod.upper(pt.tag(b"ab", P))[0] == "slow"
    assert inject(mod.positional, ("s",), _slow)
    assert mod.positional(1, "s") == (1, "s", 2)
    assert mod.positional(1, 2, b=3) == ("slow", (1, 2, 3), {})
    assert clone(mod.upper)(bytearray(b"ab")) == (bytearray(b"AB"), ", ", "!")  # original
    _codepatch.restore_all()
    assert mod.upper(bytearray(b"ab")) == (bytearray(b"AB"), ", ", "!")
    assert vars(mod)[GLOBAL].upper(bytearray(b"ab")) == (bytearray(b"AB"), ", ", "!")


def test_inject_passes_keywords_on_and_checks_containers(make_module: Factory) -> None:
    """``**kw`` given sends the call to `slow` with them; ``name*`` (a container)
    sends what is_plain refuses, None passing where None is the default."""
    mod = make_module(SOURCE)
    data = ("s", "q*") if _accel.ACCELERATED else ("s",)
    assert inject(mod.keywords, data, _slow)
    assert mod.keywords("a") == ("a", None, None, {})  # the body
    assert mod.keywords("a", opt=0) == ("a", None, 0, {})  # not data
    assert mod.keywords("a", x=1) == ("slow", ("a", None), {"opt": None, "x": 1})
    assert mod.keywords(pt.tag("a", P)) == ("slow", ("a", None), {"opt": None})
    if _accel.ACCELERATED:
        assert mod.keywords("a", ["x", 1]) == ("a", ["x", 1], None, {})
        tagged = [pt.tag("x", P)]
        assert mod.keywords("a", tagged) == ("slow", ("a", tagged), {"opt": None})
    assert not inject(mod.star, ("s",), _slow)  # *args: refused
    _codepatch.restore_all()
    assert mod.keywords("a", opt=0, x=1) == ("a", None, 0, {"x": 1})


def test_a_traceback_keeps_the_original_lines(make_module: Factory) -> None:
    mod = make_module(SOURCE)

    def line_of_error() -> int:
        with pytest.raises(ValueError) as info:
            mod.fails("x")
        return traceback.extract_tb(info.tb)[-1].lineno or 0

    before = line_of_error()
    assert inject(mod.fails, ("s",), _slow)
    assert line_of_error() == before == 17


def test_inject_refuses_what_it_cannot_patch(make_module: Factory) -> None:
    mod = make_module(SOURCE)
    for fn in (mod.cached, mod.star, mod.gen, mod.inner, mod.made, len):
        assert not inject(fn, ("s",), _slow)
    assert not inject(mod.upper, ("nope",), _slow)  # not a parameter
    assert not inject(mod.upper, (), _slow)
    assert mod.star(b"x") == b"x" and not _codepatch.patched(mod.star)


def test_inject_refuses_a_source_changed_since_import(make_module: Factory) -> None:
    mod = make_module(SOURCE)
    path = Path(mod.__file__ or "")
    path.write_text(SOURCE.replace("s.upper()", "s.lower()"))
    linecache.checkcache(str(path))
    assert not inject(mod.upper, ("s",), _slow)
    assert mod.upper(b"ab") == (b"AB", ", ", "!")


def test_inject_refuses_a_source_whose_lines_moved_inside_the_function(
    make_module: Factory,
) -> None:
    mod = make_module(SOURCE)
    path = Path(mod.__file__ or "")
    # the same bytecode, but its lines are no longer where the loaded code says
    path.write_text(SOURCE.replace('"""Docstring kept."""', '"""Docstring kept."""\n    # moved'))
    linecache.checkcache(str(path))
    assert not inject(mod.upper, ("s",), _slow)


def test_inject_refuses_a_module_that_rebinds_type(make_module: Factory) -> None:
    mod = make_module(SOURCE + "\ntype = 'shadowed'\n")
    assert not inject(mod.upper, ("s",), _slow)
    mod2 = make_module("def f(s):\n    str = 1\n    return s\n")
    assert not inject(mod2.f, ("s",), _slow)
    mod3 = make_module("bytes = str\n\ndef f(s):\n    return s\n")
    assert not inject(mod3.f, ("s",), _slow)


def test_inject_patches_a_function_whose_nested_function_uses_its_variables(
    make_module: Factory,
) -> None:
    mod = make_module(SOURCE)
    assert mod.nested.__code__.co_cellvars == ("s",)
    assert inject(mod.nested, ("s",), _slow)
    assert mod.nested("ab") == "abab" and mod.nested(3) == ("slow", (3,), {})


def test_inject_patches_a_function_with_an_identity_decorator(make_module: Factory) -> None:
    mod = make_module(
        "def same(f):\n    return f\n\n\n@same\ndef f(s):\n    return s * 2\n"
    )
    assert inject(mod.f, ("s",), _slow)
    assert mod.f("ab") == "abab" and mod.f(3) == ("slow", (3,), {})


def test_calls_by_keyword_and_bad_calls_behave_as_the_original() -> None:
    orig_sub, orig_search = clone(re.sub), clone(re.search)

    def error(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[type, str]:
        with pytest.raises(Exception) as info:
            fn(*args, **kwargs)
        return type(info.value), str(info.value)

    pt.instrument()
    try:
        t = pt.tag("a1b22", P)
        assert re.sub(pattern=r"\d", repl="#", string=t, count=1) == "a#b22"
        assert pt.tags(re.sub(pattern=r"\d", repl="#", string=t, count=1)) == pt.tags(t)
        m = re.search(string=t, pattern=r"B(\d+)", flags=re.I)
        assert m is not None and pt.tags(m.group(1)) == pt.tags(t)
        for args, kwargs in [((), {}), (("a",), {}), (("a", "b"), {"nope": 1})]:
            assert error(re.search, *args, **kwargs) == error(orig_search, *args, **kwargs)
        assert error(re.sub, "(", "", t) == error(orig_sub, "(", "", "a1b22")
    finally:
        pt.uninstrument()


def test_instrument_and_uninstrument_while_other_threads_call_re() -> None:
    import threading

    errors: list[BaseException] = []
    stop = threading.Event()
    t = pt.tag("id bob@x.io", P)

    def work() -> None:
        try:
            while not stop.is_set():
                m = re.search(r"(\w+)@", t)
                assert m is not None and m.group(1) == "bob"
                assert html.escape(t) == "id bob@x.io"
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for th in threads:
        th.start()
    try:
        for _ in range(200):
            pt.instrument()
            pt.uninstrument()
    finally:
        stop.set()
        for th in threads:
            th.join()
    assert not errors, errors


def test_the_other_python_stdlib_functions_in_place_or_wrapped() -> None:
    import base64
    import textwrap
    import urllib.parse

    from purposetag._instrument import _p_simple

    before = {key: getattr(*key) for key in _p_simple._IN_PLACE}
    pt.instrument()
    try:
        in_place = [key for key, fn in before.items() if _codepatch.patched(fn)]
        for key, fn in before.items():
            now = getattr(*key)
            # in place: the same function; refused (a closure, a cache): a wrapper
            assert (now is fn) == (key in in_place), key
            assert now is fn or now.__wrapped__ is fn, key
        names = {name for _m, name in in_place}
        assert {"escape", "quote_from_bytes", "unquote", "parse_qs", "urljoin", "dedent"} <= names
        # a container argument is looked into in place by the accelerator only
        assert ("urlencode" in names) == _accel.ACCELERATED
        # quote is not patched: it reaches the patched quote_from_bytes; quote_plus
        # is, so that the "+" put for a tagged space is tagged as the rest
        assert not _codepatch.patched(urllib.parse.quote)
        assert "quote_plus" in names
        assert {"b32encode", "b16encode", "b85encode", "encodebytes"} <= names
        t = pt.tag("bob@x.io/a b", P)
        tb = pt.tag(b"bob@x.io", P)
        results = [
            urllib.parse.quote(t),
            urllib.parse.quote_plus(t),
            urllib.parse.quote(tb),
            urllib.parse.quote_plus(tb, safe=b"@"),
            urllib.parse.quote(t, safe=""),
            urllib.parse.quote_plus(t, safe="/", encoding="latin-1"),
            urllib.parse.urlencode({"e": t, "n": 1}),
            urllib.parse.urlencode([("e", [t, "x"])], doseq=True),
            urllib.parse.urlencode({t: "v"}, quote_via=urllib.parse.quote),
            urllib.parse.unquote(t),
            urllib.parse.urljoin("https://x.io/", t),
            urllib.parse.urlparse(t).path,
            urllib.parse.parse_qs("e=" + t)["e"][0],
            textwrap.dedent("  " + t),
            base64.b32encode(tb),
            base64.b16encode(tb),
            base64.b85encode(tb),
            base64.encodebytes(tb),
        ]
        for res in results:
            assert pt.tags(res) == pt.tags(t), res
        for res in (urllib.parse.quote_plus(t), urllib.parse.quote(t)):  # t has a space
            assert pt.ranges(res) == [(0, len(res), frozenset(pt.tags(t)))], res
    finally:
        pt.uninstrument()
    assert all(getattr(*key) is fn for key, fn in before.items())
    assert not any(_codepatch.patched(fn) for fn in before.values())


@given(st.text(max_size=30), st.binary(max_size=20))
def test_plain_results_of_the_other_functions_are_the_originals(s: str, b: bytes) -> None:
    import base64
    import textwrap
    import urllib.parse

    calls: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
        (urllib.parse.quote, (s,)),
        (urllib.parse.quote_plus, (s, "@")),
        (urllib.parse.unquote, (s,)),
        (urllib.parse.urljoin, ("https://x.io/a/", s)),
        (urllib.parse.urlparse, (s,)),
        (urllib.parse.parse_qsl, (s,)),
        (textwrap.dedent, (s,)),
        (base64.b32encode, (b,)),
        (base64.b16encode, (b,)),
        (base64.b85encode, (b,)),
        (base64.encodebytes, (b,)),
        (urllib.parse.urlencode, ({s: b, "n": [s, 1]},)),
        (urllib.parse.urlencode, ([(s, [s, b])], True)),
        (urllib.parse.urlencode, (s,)),  # not a mapping nor pairs: its TypeError
    ]
    originals = [clone(fn) for fn, _a in calls]

    def outcome(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        try:
            return ("ok", fn(*args))
        except Exception as exc:  # noqa: BLE001 - compared below
            return ("raised", type(exc), str(exc))

    pt.instrument()
    try:
        for (fn, args), orig in zip(calls, originals):
            got = outcome(fn, args)
            assert got == outcome(orig, args)
            if got[0] == "ok" and isinstance(got[1], str | bytes):
                assert type(got[1]) in (str, bytes)  # plain in, plain out
    finally:
        pt.uninstrument()


def test_urlencode_looks_into_its_query_in_place() -> None:
    import urllib.parse

    pt.instrument()
    t = pt.tag("bob@x.io", P)
    big = {f"k{i}": "v" for i in range(5000)}  # past what C walks: the tag-aware path
    for query, doseq in [
        ({"e": t}, False),
        ({"e": "x", "n": pt.tag(7, P)}, False),
        ([("e", ("x", t))], True),  # in a sequence value
        ({"deep": [[[t]]]}, True),
        ({**big, "e": t}, False),
    ]:
        got = urllib.parse.urlencode(query, doseq)
        assert pt.tags(got) == pt.tags(t), query
    plain = urllib.parse.urlencode(big)
    assert type(plain) is str and plain == clone(urllib.parse.urlencode)(big)
    assert _codepatch.patched(urllib.parse.urlencode) == _accel.ACCELERATED


def test_a_container_parameter_needs_the_accelerator(monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.parse

    monkeypatch.setattr(_accel, "_C", None)
    assert not inject(urllib.parse.urlencode, ("query*",), lambda *a, **k: None)
    assert not _codepatch.patched(urllib.parse.urlencode)


def test_an_optional_text_argument_defaulting_to_none_is_checked_too() -> None:
    import base64

    pt.instrument()
    assert _codepatch.patched(base64.b32decode)
    tagged = base64.b32decode(b"MFRGG===", map01=pt.tag(b"L", P))  # map01 is data
    assert pt.tags(tagged) == pt.tags(T)
    plain = base64.b32decode(b"MFRGG===")  # map01=None: the original body
    assert plain == b"abc" and type(plain) is bytes


def test_html_escape_runs_in_c_in_front_of_its_body_when_its_code_is_known() -> None:
    from purposetag._instrument import _p_simple

    pt.instrument()
    ns = vars(html)[GLOBAL]
    assert hasattr(ns, "escape_front") == _accel.ACCELERATED
    assert _codepatch.patched(html.escape)

    class Truth:
        def __init__(self, v: object) -> None:
            self.v = v

        def __bool__(self) -> bool:
            if isinstance(self.v, BaseException):
                raise self.v
            return bool(self.v)

    class Sub(str):
        def replace(self, *a: Any, **k: Any) -> str:  # type: ignore[override]
            return "own replace"

    orig = clone(html.escape)
    cases: list[tuple[Any, ...]] = [
        ("<a href='x' title=\"y\">&</a>",),
        ("é😀<>&\"'", False),
        ("", True),
        ("plain", 0),
        ("'\"", ""),
        ("'\"", [1]),
        ("'\"", Truth(1)),
        ("'\"", Truth(0)),
        ("'\"", Truth(ValueError("no truth"))),
        (None,),
        (b"<b>",),
        (Sub("<x>"),),
        (5, True),
    ]

    def outcome(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        try:
            res = fn(*args)
            return ("ok", type(res), res)
        except Exception as exc:  # noqa: BLE001 - compared below
            return ("raised", type(exc), str(exc))

    for args in cases:
        assert outcome(html.escape, args) == outcome(orig, args), args
    t = pt.tag("<b>bob</b>", P)
    out = html.escape(t)
    assert out == "&lt;b&gt;bob&lt;/b&gt;"
    assert pt.ranges(out) == [(0, len(out), frozenset(pt.tags(t)))]  # the whole, as promised

    # any other code (here, another order of replacements): the ordinary check
    def escape(s: str, quote: bool = True) -> str:
        s = s.replace("<", "&lt;")
        s = s.replace("&", "&amp;")
        s = s.replace(">", "&gt;")
        if quote:
            s = s.replace('"', "&quot;")
            s = s.replace("'", "&#x27;")
        return s

    assert _p_simple._escape_front(escape, lambda *a: None) is None
    pt.uninstrument()
    if _accel.ACCELERATED:  # a thread still in the patched code gets the original
        assert not _codepatch.patched(ns.escape_front)
        assert ns.escape_front("<", True) == "&lt;"


def test_html_escape_front_checks_its_set_up() -> None:
    if not _accel.ACCELERATED:
        pytest.skip("C accelerator not loaded")
    C = _accel._C
    with pytest.raises(TypeError, match="html_escape"):
        C.html_escape("<")
    with pytest.raises(TypeError, match="five"):
        C.set_html_escape(print, (("a", "b"),))
    with pytest.raises(TypeError, match="five"):
        C.set_html_escape(None, (("a", "b"),) * 5)


def test_urlencode_of_a_mapping_that_is_not_a_dict_keeps_tags() -> None:
    import urllib.parse
    from collections.abc import Mapping

    calls: list[str] = []

    class Query(Mapping):  # type: ignore[type-arg]
        def __init__(self, d: dict[str, Any]) -> None:
            self._d = d

        def __getitem__(self, k: str) -> Any:
            return self._d[k]

        def __iter__(self) -> Any:
            return iter(self._d)

        def __len__(self) -> int:
            return len(self._d)

        def items(self) -> Any:
            calls.append("items")
            return self._d.items()

    class BadItems:
        def items(self) -> int:
            return 5

    orig = clone(urllib.parse.urlencode)
    pt.instrument()
    t = pt.tag("ada@example.com", P)
    got = urllib.parse.urlencode(Query({"e": t, "n": 1}))
    assert got == "e=ada%40example.com&n=1" and pt.tags(got) == pt.tags(t)
    assert calls == ["items"]  # read once, as urlencode reads it
    calls.clear()
    assert urllib.parse.urlencode(Query({"e": ["a", t]}), doseq=True) == "e=a&e=ada%40example.com"
    plain = urllib.parse.urlencode(Query({"e": "x y"}))
    assert plain == orig(Query({"e": "x y"})) and type(plain) is str
    with pytest.raises(TypeError) as ours:
        urllib.parse.urlencode(BadItems())
    with pytest.raises(TypeError) as theirs:
        orig(BadItems())
    assert str(ours.value) == str(theirs.value)


def test_functions_usually_given_bytes_ask_is_not_bytes_first() -> None:
    import base64
    import dis
    import urllib.parse

    def first_type_compared(fn: Any) -> Any:
        code = fn.__code__
        names = [i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_GLOBAL"]
        return next(n for n in names if n in ("str", "bytes"))

    orig_q, orig_b = clone(urllib.parse.quote_from_bytes), clone(base64.b32encode)
    pt.instrument()
    for fn in (urllib.parse.quote_from_bytes, base64.b32encode):
        assert _codepatch.patched(fn) and first_type_compared(fn) == "bytes"
    assert first_type_compared(urllib.parse.unquote) == "str"  # usually given str
    tb = pt.tag(b"a b@c", P)
    assert pt.tags(urllib.parse.quote_from_bytes(tb)) == pt.tags(tb)
    assert pt.tags(base64.b32encode(tb)) == pt.tags(tb)
    for fn, orig in ((urllib.parse.quote_from_bytes, orig_q), (base64.b32encode, orig_b)):
        assert fn(b"x y") == orig(b"x y") and type(fn(b"x y")) is type(orig(b"x y"))
        with pytest.raises(TypeError) as ours:
            fn("text")
        with pytest.raises(TypeError) as theirs:
            orig("text")
        assert str(ours.value) == str(theirs.value)
