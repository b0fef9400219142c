"""The optional C accelerator: `Fast` semantics, limits, and the pure-Python switch.

`make test` runs the whole suite twice: with the accelerator required
(``PURPOSETAG_REQUIRE_SPEEDUPS=1``) and with it switched off
(``PURPOSETAG_PURE_PYTHON=1``), so every behaviour test covers both paths.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pytest

import purposetag as pt
from purposetag import _accel
from purposetag._instrument import _patching

needs_c = pytest.mark.skipif(not _accel.ACCELERATED, reason="C accelerator not loaded")
C = _accel._C


def test_required_accelerator_is_loaded() -> None:
    if os.environ.get("PURPOSETAG_REQUIRE_SPEEDUPS") != "1":
        pytest.skip("only when the build is expected to have compiled it")
    assert _accel.ACCELERATED, "purposetag._speedups did not build or import"


def test_pure_python_switch_turns_it_off() -> None:
    code = "from purposetag import _accel; print(_accel.ACCELERATED, _accel._C)"
    env = {**os.environ, "PURPOSETAG_PURE_PYTHON": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "None"]


def test_fast_without_accelerator_is_slow_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_accel, "_C", None)

    def slow(x: int) -> int:
        return x

    assert _accel.fast(slow, fast=abs) is slow


def _log(kind: str, calls: list[tuple[str, tuple[object, ...], dict[str, object]]]):  # type: ignore[no-untyped-def]
    def f(*a: object, **k: object) -> str:
        calls.append((kind, a, k))
        return kind

    return f


@needs_c
@pytest.mark.parametrize(
    ("args", "kwargs", "path"),
    [
        ((), {}, "fast"),
        (("a", b"b", 1, 2.5, 3j, True, None), {}, "fast"),
        ((["a", ("b", 1)], {"k": [1, 2]}), {"x": "y"}, "fast"),
        ((pt.tag("a", "security.authentication"),), {}, "slow"),
        (("a",), {"x": pt.tag("a", "security.authentication")}, "slow"),
        ((["a", pt.tag("a", "security.authentication")],), {}, "slow"),
        (({"k": {"deep": pt.tag("a", "security.authentication")}},), {}, "slow"),
        (({pt.tag("key", "security.authentication"): 1},), {}, "slow"),
        ((pt.tag(5, "security.authentication"),), {}, "slow"),
        ((object(),), {}, "slow"),  # unknown types are Python's to judge
        ((type("S", (str,), {})("x"),), {}, "slow"),  # subclasses too
        (([[[["too deep"]]]],), {}, "slow"),
        ((list(range(300)),), {}, "slow"),  # more items than C walks
    ],
)
def test_fast_dispatch(args: tuple[object, ...], kwargs: dict[str, object], path: str) -> None:
    calls: list[tuple[str, tuple[object, ...], dict[str, object]]] = []
    f = C.Fast(slow=_log("slow", calls), fast=_log("fast", calls))
    assert f(*args, **kwargs) == path
    assert calls == [(path, args, kwargs)]


@needs_c
def test_fast_tagged_keyword_name_goes_slow() -> None:
    calls: list[tuple[str, tuple[object, ...], dict[str, object]]] = []
    f = C.Fast(slow=_log("slow", calls), fast=_log("fast", calls))
    name = pt.tag("secret", "security.authentication")
    assert f(**{name: 1}) == "slow"


@needs_c
def test_method_binding_check_from_and_fast_from() -> None:
    calls: list[tuple[str, tuple[object, ...], dict[str, object]]] = []

    class K:
        m = C.Fast(slow=_log("slow", calls), fast=_log("fast", calls), check_from=1, fast_from=1)

    k = K()
    assert k.m("plain") == "fast"  # the instance itself is not checked, and not passed
    assert k.m(pt.tag("x", "security.authentication")) == "slow"
    assert calls[0] == ("fast", ("plain",), {})
    assert calls[1][1][0] is k  # the slow path gets the instance
    assert K.m is K.__dict__["m"]  # unbound access: the object itself, like a function


@needs_c
def test_held_plain_reads_what_the_instance_holds() -> None:
    class Slots:
        __slots__ = ("a", "b")

    class Attrs:
        pass

    f = C.Fast(slow=lambda *a: "slow", fast=lambda *a: "fast", check_from=1, held_plain=True)
    s, o = Slots(), Attrs()
    assert f(s, "x") == "fast" and f(o, "x") == "fast"  # nothing held yet
    s.a, o.a = "plain", [1, "two"]
    assert f(s, "x") == "fast" and f(o, "x") == "fast"
    s.b = pt.tag("tagged", "security.authentication")
    o.b = {"k": pt.tag("tagged", "security.authentication")}
    assert f(s, "x") == "slow" and f(o, "x") == "slow"
    del s.b
    vars(o).pop("b")  # a real __dict__ now: it is read as a plain dict
    assert f(s, "x") == "fast" and f(o, "x") == "fast"
    o.c = object()  # not known to be plain
    assert f(o, "x") == "slow"
    assert f(1, "x") == "slow"  # an int holds nothing the GC sees: not known plain
    assert f(s, pt.tag("x", "security.authentication")) == "slow"  # arguments too
    assert f() == "slow"  # no instance to read
    C.Fast(slow=abs, fast=abs, make=C.CsvWriter)  # accepted alone, refused with held_plain:
    with pytest.raises(TypeError, match="make is the CsvWriter type"):
        C.Fast(slow=abs, fast=abs, make=C.CsvWriter, held_plain=True)


@needs_c
def test_inner_and_when_plain() -> None:
    class Box:
        def __init__(self) -> None:
            self.inner = ["x"]
            self.state: object = None

    def slow(box: Box, *a: object) -> str:
        return "slow"

    count = C.Fast(
        slow=slow, inner="inner", name="count", when_plain="state", check_from=1, fast_from=1
    )
    b = Box()
    assert count(b, "x") == 1
    b.state = "a plain str"
    assert count(b, "x") == 1
    b.state = pt.tag("tagged", "security.authentication")
    assert count(b, "x") == "slow"
    b.state = {"not plain": object()}
    assert count(b, "x") == "slow"
    del b.state  # an attribute that cannot be read: Python decides
    assert count(b, "x") == "slow"


@needs_c
def test_wrap_type() -> None:
    class W:
        __slots__ = ("obj",)

    f = C.Fast(slow=lambda *a: "slow", fast=list, wrap_type=W, wrap_attr="obj")
    w = f("ab")
    assert type(w) is W and w.obj == ["a", "b"]


@needs_c
def test_errors_of_the_original_propagate_unchanged() -> None:
    f = C.Fast(slow=lambda *a: "slow", fast=int)
    with pytest.raises(ValueError, match="invalid literal"):
        f("nope")


@needs_c
def test_bad_construction_is_refused() -> None:
    with pytest.raises(TypeError, match="slow must be callable"):
        C.Fast(slow=1, fast=abs)
    with pytest.raises(TypeError, match="exactly one of"):
        C.Fast(slow=abs)
    with pytest.raises(TypeError, match="exactly one of"):
        C.Fast(slow=abs, fast=abs, name="x")
    with pytest.raises(TypeError, match="exactly one of"):
        C.Fast(slow=abs, fast=abs, call_first=True)
    with pytest.raises(TypeError, match="exactly one of"):
        C.Fast(slow=abs, fast=abs, inner="x", name="y")
    with pytest.raises(TypeError, match="fast must be callable"):
        C.Fast(slow=abs, fast=1)
    with pytest.raises(TypeError, match="inner must be a str"):
        C.Fast(slow=abs, inner=1)
    with pytest.raises(TypeError, match="when_plain must be a str"):
        C.Fast(slow=abs, fast=abs, when_plain=b"x")
    with pytest.raises(TypeError, match="wrap_type must be a type"):
        C.Fast(slow=abs, fast=abs, wrap_type=1, wrap_attr="x")
    with pytest.raises(ValueError, match=">= 0"):
        C.Fast(slow=abs, fast=abs, check_from=-1)


@needs_c
def test_names_repr_and_pickling_follow_the_slow_function() -> None:
    f = _accel.fast(_named, fast=abs)
    assert f.__name__ == "_named" and f.__qualname__ == "_named"
    assert f.__doc__ == "A module-level function (picklable by reference)."
    assert repr(f) == "<purposetag wrapper of _named>"
    assert f.__module__ == __name__
    assert f._pt_slow is _named
    globals()["_fast_named"] = f
    f.__qualname__ = "_fast_named"
    assert pickle.loads(pickle.dumps(f)) is f


def _named(x: int) -> int:
    """A module-level function (picklable by reference)."""
    return x


@needs_c
def test_limits_follow_the_scanner_settings() -> None:
    assert C.is_plain([["a"]])
    pt.configure(max_depth=1)
    try:
        assert not C.is_plain([["a"]])  # the scanner would report max_depth: Python's call
        assert C.is_plain(["a"])
    finally:
        pt.configure(max_depth=None)
    pt.configure(max_items=2)
    try:
        assert not C.is_plain(["a", "b", "c"])
    finally:
        pt.configure(max_items=None)
    assert C.is_plain(["a", "b", "c"])


@needs_c
def test_limits_reset_with_settings() -> None:
    pt.configure(max_items=1)
    from purposetag import _settings

    _settings.reset()
    assert C.is_plain(["a", "b"])


def test_guard_clean_call_is_unchanged_either_way() -> None:
    seen: list[tuple[object, ...]] = []

    @pt.guard("marketing.advertising")
    def upload(*a: object, **k: object) -> int:
        seen.append((a, k))
        return 7

    assert upload("a", [1, {"b": 2}], k="v") == 7
    assert seen == [(("a", [1, {"b": 2}]), {"k": "v"})]
    with pytest.raises(pt.PurposeViolation):
        upload(pt.tag("x", "security.authentication"))
    with pytest.raises(pt.PurposeViolation):
        upload(["ok", {"deep": pt.tag("x", "security.authentication")}])


P = "security.authentication"


@pytest.fixture
def instrumented():  # type: ignore[no-untyped-def]
    pt.instrument()
    yield
    pt.uninstrument()


def test_hash_plain_then_tagged_updates(instrumented: None) -> None:
    import hashlib

    h = hashlib.sha256(b"a")
    h.update(b"b")
    c = h.copy()
    assert not pt.is_tagged(h.hexdigest()) and not pt.is_tagged(c.digest())
    h.update(pt.tag("c", P).encode())
    assert pt.tags(h.hexdigest()) == pt.tags(pt.tag("c", P))
    assert pt.is_tagged(h.digest()) and pt.is_tagged(h.copy().hexdigest())
    assert not pt.is_tagged(c.hexdigest())  # the earlier copy saw no tagged data
    assert h.hexdigest() == hashlib.sha256(b"abc").hexdigest()
    assert h.name == "sha256" and h.digest_size == 32


def test_memory_file_plain_then_tagged(instrumented: None) -> None:
    import io

    f = io.StringIO("start ")  # the position starts at 0: writes overwrite it
    f.write("plain ")
    assert not pt.is_tagged(f.getvalue())
    f.write(pt.tag("secret", P))
    v = f.getvalue()
    assert v == "plain secret" and pt.ranges(v)[0][:2] == (6, 12)
    f.seek(0)
    assert f.read() == v and pt.is_tagged(f.read() or v)
    g = io.StringIO(pt.tag("initial", P))
    assert pt.is_tagged(g.getvalue())


def test_template_with_tagged_template_string(instrumented: None) -> None:
    import string

    t = string.Template(pt.tag("Dear $name", P))
    out = t.substitute(name="bob")
    assert out == "Dear bob" and pt.is_tagged(out)
    assert not pt.is_tagged(string.Template("Dear $name").substitute(name="bob"))


def test_pattern_plain_and_tagged(instrumented: None) -> None:
    import re

    p = re.compile(r"(\w+)@")
    m = p.search("id bob@x")
    assert type(m) is re.Match and m.group(1) == "bob"
    assert pt.is_tagged(p.search(pt.tag("id bob@x", P)).group(1))
    assert p.sub("X", "a@ b@") == "X X" and isinstance(p, re.Pattern)


def test_csv_plain_and_tagged_rows(instrumented: None) -> None:
    import csv
    import io

    f = io.StringIO()
    w = csv.writer(f)
    w.writerow([1, "a"])
    assert not pt.is_tagged(f.getvalue())
    w.writerow([2, pt.tag("b", P)])
    assert f.getvalue() == "1,a\r\n2,b\r\n" and pt.is_tagged(f.getvalue())


def test_base64_through_patched_binascii(instrumented: None) -> None:
    import base64

    enc = base64.urlsafe_b64encode(pt.tag("bob@x.io", P).encode())
    assert pt.is_tagged(enc) and pt.is_tagged(base64.urlsafe_b64decode(enc))
    assert type(base64.b64encode(b"x")) is bytes


# ----------------------------------------------------------------- rewritten sites


def _module(tmp_path, source: str):  # type: ignore[no-untyped-def]
    import importlib
    import textwrap
    import uuid

    name = f"ptaccel_{uuid.uuid4().hex[:8]}"
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text(textwrap.dedent(source))
    sys.path.insert(0, str(tmp_path))
    try:
        pt.instrument(name)
        return importlib.import_module(f"{name}.mod")
    finally:
        sys.path.remove(str(tmp_path))


SITES = """
class Sep:
    calls = 0
    def join(self, items):
        Sep.calls += 1
        return "|".join(items)

def fs(a, b):
    return f"é{a}…{b!r}-"

def many(*v):
    return (
        f"{v[0]}{v[1]}{v[2]}{v[3]}{v[4]}{v[5]}{v[6]}{v[7]}{v[8]}"
        f"{v[9]}{v[10]}{v[11]}{v[12]}{v[13]}{v[14]}{v[15]}{v[16]}!"
    )

def joins(a, sep):
    return ", ".join([a, "b"]), b"-".join((a.encode(), b"c")), sep.join([a, "z"])

def formats(a, t):
    return "{} {k}".format(a, k=3), t.format(a, k=a)

def mods(a, t):
    return "%s %d" % (a, 4), t % (a,), "%(x)s" % {"x": a}
"""


def test_sites_plain_and_tagged(tmp_path) -> None:  # type: ignore[no-untyped-def]
    m = _module(tmp_path, SITES)
    t = pt.tag("ab", P)
    assert m.fs("ab", "c") == "éab…'c'-" and not pt.is_tagged(m.fs("ab", "c"))
    out = m.fs(t, "c")
    assert out == "éab…'c'-" and pt.ranges(out)[0][:2] == (1, 3)
    vals = [str(i) for i in range(17)]
    assert m.many(*vals) == "".join(vals) + "!"
    vals[16] = pt.tag("x", P)
    assert pt.ranges(m.many(*vals))[0][:2] == (22, 23)  # after "0".."15"

    sep = m.Sep()
    assert m.joins("a", sep) == ("a, b", b"a-c", "a|z") and m.Sep.calls == 1
    tj = m.joins(t, sep)
    assert all(pt.is_tagged(x) for x in tj) and m.Sep.calls == 2  # called once per join

    assert m.formats("a", "{} {k}") == ("a 3", "a a")
    assert all(pt.is_tagged(x) for x in m.formats(t, "{} {k}"))
    assert m.mods("a", "<%s>") == ("a 4", "<a>", "a")
    assert all(pt.is_tagged(x) for x in m.mods(t, "<%s>"))
    with pytest.raises(TypeError):
        m.mods(object(), "%d")


@needs_c
def test_site_construction_and_calls_are_checked() -> None:
    with pytest.raises(TypeError, match="bad kind"):
        C.Site(9, ("a",), str)
    with pytest.raises(TypeError, match="literals must be str"):
        C.Site(0, ("a", 1), str, call=(1,))
    with pytest.raises(TypeError, match="offsets"):
        C.Site(0, ("a", "b"), str, call=None)
    with pytest.raises(TypeError, match="separator"):
        C.Site(1, (0,), str, call=[].count, mark=0)
    site = C.Site(0, ("a", "b"), str, call=(1,))
    assert site("x") == "axb"
    with pytest.raises(TypeError, match="takes 1 operands, got 2"):
        site("x", "y")
    with pytest.raises(TypeError, match="raw_last"):
        C.Site(1, (0,), str, mark=0, raw_last=True)
    with pytest.raises(TypeError, match="not a str"):
        site(42)  # a formatted piece must be a str
    raw = C.Site(0, ("a", "b"), str, call=(1,), raw_last=True)
    assert raw(42) == "a42b" and raw(pt.tag(7, P)) == "a7b" and pt.is_tagged(raw(pt.tag(7, P)))
    many = C.Site(0, ("",) * 20, str, call=(0,) * 19, raw_last=True)  # past the stack array
    assert many(*"abcdefghijklmnopqr", 5) == "abcdefghijklmnopqr5"


# ---------------------------------------------------- found by the C review (regressions)


@needs_c
def test_python_code_in_a_getattr_cannot_slip_a_tagged_value_past_the_check() -> None:
    payload = ["ok"]
    seen: list[str] = []

    class Obj:
        @property
        def state(self) -> None:
            payload.append(pt.tag("secret", P))  # runs during the call
            return None

        @property
        def inner(self) -> list[str]:
            payload.append(pt.tag("secret", P))
            return []

    def fast(*a: object) -> str:
        seen.append("fast")
        return "fast"

    def slow(*a: object) -> str:
        seen.append("slow")
        return "slow"

    f = C.Fast(slow=slow, fast=fast, when_plain="state", check_from=1)
    assert f(Obj(), payload) == "slow"
    g = C.Fast(slow=slow, inner="inner", name="count", check_from=1, fast_from=1)
    assert g(Obj(), payload) == "slow" and seen == ["slow", "slow"]


@needs_c
def test_a_getattr_interrupt_is_not_swallowed() -> None:
    class Obj:
        @property
        def state(self) -> None:
            raise KeyboardInterrupt

    f = C.Fast(slow=lambda *a: "slow", fast=lambda *a: "fast", when_plain="state")
    with pytest.raises(KeyboardInterrupt):
        f(Obj())


# A finalizer that runs while the collector clears a cycle can call the half-cleared
# object (before the fix: a NULL dereference, the interpreter died).
CLEARED = {
    "fast": """
class B:
    pass
def make():
    F = C.Fast(slow=lambda *a: "slow", fast=len)
    b = B(); b.f = F
    a = A(); a.keep = F; b.a = a
    F.b = b; F.a = a
""",
    "site": """
class B:
    __slots__ = ("f", "a")
def make():
    mark = object()
    D = {}
    s = C.Site(3, ("%s", mark, D), lambda *a: "slow", call="%s", mark=mark)
    b = B(); b.f = s
    a = A(); a.keep = s
    D["b"] = b; D["a"] = a
""",
}
CLEARED_RUN = """
import gc
from purposetag import _speedups as C
class A:
    def __del__(self):
        B.__del__ = lambda self: print("called:", self.f("x"), flush=True)
{setup}
gc.disable()
for i in range(20):
    B.__dict__.get("__del__") and delattr(B, "__del__")
    make()
    gc.collect()
print("survived")
"""


@needs_c
@pytest.mark.parametrize("kind", ["fast", "site"])
def test_called_after_the_collector_cleared_it_raises_instead_of_crashing(kind: str) -> None:
    code = CLEARED_RUN.format(setup=CLEARED[kind])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.strip().endswith("survived")
    assert "called after it was cleared" in out.stderr  # the scenario did happen


@needs_c
def test_wrap_type_must_be_a_plain_python_class() -> None:
    for bad in (type(None), dict, type("D", (dict,), {}), type):
        with pytest.raises(TypeError, match="wrap_type must be a Python class"):
            C.Fast(slow=abs, fast=abs, wrap_type=bad, wrap_attr="x")


@needs_c
def test_site_call_method_is_the_site() -> None:
    site = C.Site(0, ("a", "b"), str, call=(1,))
    assert site.call("x") == site("x") == "axb"
    with pytest.raises(TypeError, match="takes 1 operands"):
        site.call()


@needs_c
def test_fast_call_method_is_the_fast_itself() -> None:
    calls: list[tuple[str, tuple[object, ...], dict[str, object]]] = []
    f = C.Fast(slow=_log("slow", calls), fast=_log("fast", calls))
    assert f.call(1, k="v") == "fast" and f.call(object()) == "slow"
    assert calls[0] == ("fast", (1,), {"k": "v"})


@needs_c
def test_only_types_passes_other_first_arguments_straight_through() -> None:
    import operator

    calls: list[str] = []

    def slow(a: object, b: object) -> object:
        calls.append("slow")
        return operator.mod(a, b)

    f = C.Fast(slow=slow, fast=operator.mod, only_types=(str, bytes))
    tagged = pt.tag("x", P)
    assert f(7, 3) == 1 and f(7.5, 2) == 1.5  # numbers: never Python
    assert calls == []
    assert f("%s", (object(),)).startswith("<object") and calls == ["slow"]  # a str: checked
    assert f("%s", "a") == "a" and calls == ["slow"]  # ... plain: fast
    assert pt.is_tagged(f("%s!", tagged)) and calls == ["slow", "slow"]
    out = f(pt.tag("<%s>", P), ("a",))  # a TaintedStr template: its own __mod__, from C
    assert out == "<a>" and pt.is_tagged(out) and calls == ["slow", "slow"]
    with pytest.raises(TypeError, match="only_types"):
        C.Fast(slow=slow, fast=operator.mod, only_types=[str])
    with pytest.raises(TypeError, match="only_types"):
        C.Fast(slow=slow, fast=operator.mod, only_types=(1,))


@needs_c
def test_inner_with_an_unbound_method() -> None:
    class Box:
        def __init__(self) -> None:
            self.inner = ["x", "y", "x"]

    f = C.Fast(slow=lambda *a: "slow", fast=list.count, inner="inner", check_from=1, fast_from=1)
    assert f(Box(), "x") == 2 and f(Box(), pt.tag("x", P)) == "slow"
    with pytest.raises(TypeError):  # the inner object is not of the method's type
        C.Fast(slow=abs, fast=str.upper, inner="inner", fast_from=1)(Box())


def test_hash_wrapper_behaves_like_the_hash_either_way(instrumented: None) -> None:
    import hashlib
    import hmac

    h = hashlib.sha256()
    assert (h.name, h.digest_size, h.block_size) == ("sha256", 32, 64)
    assert repr(h).startswith("<sha256")
    h.update(bytearray(b"ab"))
    h.update(memoryview(b"c"))
    assert h.hexdigest() == hashlib.sha256(b"abc").hexdigest() and not pt.is_tagged(h.digest())
    s = hashlib.shake_128(pt.tag("x", P).encode())
    assert len(s.hexdigest(4)) == 8 and pt.is_tagged(s.digest(3))
    m = hmac.new(b"k", digestmod="sha256")
    m.update(pt.tag("v", P).encode())
    assert pt.is_tagged(m.hexdigest()) and pt.is_tagged(m.copy().digest())
    assert m.hexdigest() == hmac.new(b"k", b"v", "sha256").hexdigest()
    with pytest.raises(AttributeError):
        _ = h.no_such_attribute
    with pytest.raises(TypeError):
        h.update("text")  # the hash object's own error


@needs_c
def test_c_hash_wrapper_tags_attribute_is_checked(instrumented: None) -> None:
    import hashlib

    h = hashlib.md5()
    assert type(h).__name__ == "TaggedHash" and h._pt_tags is None
    with pytest.raises(TypeError, match="frozenset"):
        h._pt_tags = ["not", "tags"]
    h.update(pt.tag("x", P).encode())
    assert isinstance(h._pt_tags, frozenset) and pt.is_tagged(h.hexdigest())
    h._pt_tags = None
    assert not pt.is_tagged(h.hexdigest())


# ---------------------------------------------------- found by the second C review


def test_a_format_call_with_many_arguments_imports_and_runs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    args = ", ".join(str(i) for i in range(17))
    m = _module(tmp_path, f"def f(t):\n    return ('{{}}' * 18).format(t, {args})\n")
    out = m.f(pt.tag("x", P))
    assert out == "x" + "".join(str(i) for i in range(17)) and pt.ranges(out)[0][:2] == (0, 1)


def test_a_join_that_is_not_str_join_runs_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    m = _module(
        tmp_path,
        """
CALLS = []
class Item:
    def __repr__(self):
        CALLS.append(1)
        return "item"
class E:
    join = staticmethod("<{0}>".format)
def f():
    return E.join([Item(), Item()])
""",
    )
    assert m.f() == "<[item, item]>" and len(m.CALLS) == 2


class _Liar(str):
    def __len__(self) -> int:
        return 0


def test_a_str_subclass_lying_about_its_length_does_not_move_tags(tmp_path) -> None:  # type: ignore[no-untyped-def]
    m = _module(
        tmp_path,
        "def f(a, t):\n"
        "    return (f'{a}{t}', '-'.join([a, t]), '%s|%s' % (a, t), '{}{}'.format(a, t),\n"
        "            '{:>4}{}'.format(a, t), '%d|%5s|%s' % (1, a, t), f'{a}{a}{t}')\n",
    )
    for out in m.f(_Liar("abc"), pt.tag("secret", P)):
        r = pt.ranges(out)
        assert len(r) == 1 and out[r[0][0] : r[0][1]] == "secret"


def test_tagged_hash_digest_takes_keywords_like_the_hash(instrumented: None) -> None:
    import hashlib

    s = hashlib.shake_128(pt.tag("x", P).encode())
    assert len(s.hexdigest(length=4)) == 8 and pt.is_tagged(s.digest(length=3))
    assert hashlib.shake_128(b"x").hexdigest(length=4) == s.hexdigest(4)
    with pytest.raises(TypeError):
        s.update(data=b"y")  # positional only, as the hash's own update


SECOND_INSTANCE = """
import hashlib, importlib.util
from purposetag import _speedups as C1
spec = importlib.util.find_spec("purposetag._speedups")
C2 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(C2)
for C in (C1, C2):
    f = C.Fast(slow=lambda *a: "slow", fast=hashlib.sha256, wrap_type=C.TaggedHash,
               wrap_attr="_h")
    h = f(b"x")
    assert type(h) is C.TaggedHash and h._h.hexdigest() == hashlib.sha256(b"x").hexdigest()
del C2
import gc; gc.collect()
class Other:
    __slots__ = ("_h",)
g = C1.Fast(slow=lambda *a: "slow", fast=list, wrap_type=Other, wrap_attr="_h")
print(type(g("ab")).__name__, "ok")
"""


@needs_c
def test_a_second_module_instance_keeps_each_its_own_hash_type() -> None:
    out = subprocess.run([sys.executable, "-c", SECOND_INSTANCE], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-800:]
    assert out.stdout.split() == ["Other", "ok"]


@needs_c
def test_site_kwnames_and_join_call_are_checked() -> None:
    m = object()
    with pytest.raises(TypeError, match="distinct str"):
        C.Site(2, (m,), str, call="{k}".format, kwnames=(1,), mark=m)
    with pytest.raises(TypeError, match="distinct str"):
        C.Site(2, (m, m), str, call="{k}".format, kwnames=("k", "k"), mark=m)
    with pytest.raises(TypeError, match="sep.join"):
        C.Site(1, (m,), str, call="x".format, mark=m)
    with pytest.raises(TypeError, match="frozenset"):
        C.TaggedHash(b"", type("F", (frozenset,), {})())


@needs_c
def test_drop_finalizer_is_checked() -> None:
    with pytest.raises(TypeError, match="not a Python class"):
        C.drop_finalizer(int)
    with pytest.raises(TypeError, match="not a Python class"):
        C.drop_finalizer("A")


@needs_c
def test_join_name_goes_straight_to_the_c_join_only_for_plain_items() -> None:
    seen: list[tuple[object, ...]] = []

    def slow(sep: object, items: object) -> object:
        seen.append((sep, items))
        return "slow"

    j = C.Fast(slow=slow, name="join").call
    assert j(", ", ["a", "b"]) == "a, b" and j(b"-", (b"x", b"y")) == b"x-y"
    assert j("", []) == "" and seen == []
    tagged = pt.tag("b", "security.authentication")
    out = j(", ", ["a", tagged])  # a tagged item: joined and its ranges placed in C
    assert out == "a, b" and pt.ranges(out) == [(3, 4, pt.tags(tagged))] and seen == []
    for sep, items in [
        (pt.tag(",", "security.authentication"), ["a"]),  # a tagged separator
        (", ", iter(["a"])),  # not a list or tuple: Python materialises it
        (b"-", [b"x", bytearray(b"y")]),
    ]:
        assert j(sep, items) == "slow"
    assert len(seen) == 3
    with pytest.raises(TypeError, match="sequence item 1: expected str instance, int found"):
        j(", ", ["a", 1])  # plain, not all str: str.join's own error


@needs_c
def test_memfile_install_is_checked() -> None:
    def f(*a: object) -> None:
        return None

    class NotIO:
        pass

    with pytest.raises(TypeError, match="memfile_install"):
        C.memfile_install(NotIO, int, f, f, f, "_m")
    with pytest.raises(TypeError, match="memfile_install"):
        C.memfile_install(NotIO, str, f, 1, f, "_m")
    # a base without io's C methods: refused, nothing installed
    assert C.memfile_install(NotIO, str, f, f, f, "_m") is False
    assert not hasattr(NotIO, "write")


@needs_c
def test_csv_writer_type_and_make_are_checked(instrumented: None) -> None:
    import csv
    import gc
    import io

    with pytest.raises(TypeError):
        C.CsvWriter()
    with pytest.raises(TypeError, match="make is the CsvWriter type"):
        C.Fast(slow=print, fast=print, make=int)
    with pytest.raises(TypeError, match="make is the CsvWriter type"):
        C.Fast(slow=print, name="x", make=C.CsvWriter)
    f = io.StringIO()
    w = csv.writer(f, delimiter=";")
    assert type(w) is C.CsvWriter and w._file is f and w._side is None
    orig, args, kwargs = w._spec
    assert orig is _patching.original(csv, "writer") and args == () and kwargs == {"delimiter": ";"}
    assert "bob" not in repr(w)

    collected: list[str] = []

    class File:
        def write(self, s: str) -> int:
            return len(s)

        def __del__(self) -> None:
            collected.append("file")

    cyc = File()
    cyc.w = csv.writer(cyc)  # type: ignore[attr-defined]  # a cycle through the writer
    del cyc
    gc.collect()
    assert collected == ["file"]


@needs_c
def test_hash_forwarding_across_many_hash_types(instrumented: None) -> None:
    import hashlib

    # more types than the method cache holds, interleaved: each call must reach its own
    names = ["sha256", "blake2b", "sha3_256", "blake2s", "md5", "sha3_512"]
    orig = {n: _patching.original(hashlib, n) for n in names}
    for _round in range(3):
        for n in names:
            h = getattr(hashlib, n)(b"a")
            h.update(b"b")
            assert h.hexdigest() == orig[n](b"ab").hexdigest()
            assert h.digest() == orig[n](b"ab").digest()
    s = hashlib.shake_128(b"x")
    assert s.hexdigest(4) == _patching.original(hashlib, "shake_128")(b"x").hexdigest(4)

    class Mutable:  # a Python class: its methods can change, so they are looked up by name
        def update(self, data: bytes) -> None:
            self.seen = data

        def digest(self) -> bytes:
            return b"d"

        def hexdigest(self) -> str:
            return "h"

    w = C.TaggedHash(Mutable())
    w.update(b"q")
    assert (w.digest(), w.hexdigest()) == (b"d", "h") and w._h.seen == b"q"
    Mutable.hexdigest = lambda self: "changed"  # type: ignore[method-assign]
    assert w.hexdigest() == "changed"


@needs_c
def test_allowed_cache_passes_only_known_sets_under_the_policy_in_force() -> None:
    from purposetag import _settings

    calls: list[str] = []

    def slow(*args: object) -> str:
        calls.append("slow")
        return "slow"

    a = pt.tag("a", "security.authentication")
    b = pt.tag("b", "analytics")
    policy = _settings.current().policy
    cache: dict[object, object] = {}
    f = C.Fast(slow=slow, fast=lambda *args: "fast", allowed=cache).call
    assert f(a) == "slow"  # not in the cache
    cache[pt.tags(a)] = policy
    assert f(a) == "slow"  # found in the cache now, remembered: this call still in Python
    assert f(a) == "fast" and f([a, {"k": a}], "x", 1) == "fast"
    assert f(a, b) == "slow"  # b's set unknown
    assert f(a + b) == "slow"  # ranges holding b's set
    C.set_policy(object())  # another policy: what was allowed under the old one is not
    try:
        assert f(a) == "slow"
    finally:
        C.set_policy(policy)
    assert f(a) == "fast"
    cache.clear()  # the cache forgetting does not matter: identity entries stay valid
    assert f(a) == "fast"
    assert f(pt.tag(b"x", "security.authentication")) == "slow"  # bytes: Python decides
    with pytest.raises(TypeError, match="allowed is a dict"):
        C.Fast(slow=slow, fast=print, allowed=[])
    with pytest.raises(TypeError, match="allowed is a dict"):
        C.Fast(slow=slow, name="x", allowed={})


@needs_c
def test_set_carrier_is_checked() -> None:
    class NoSlot(str):
        pass

    for bad in (NoSlot, str, int, "x"):
        with pytest.raises(TypeError, match="set_carrier"):
            C.set_carrier(bad)


@needs_c
def test_unbound_memory_file_methods_refuse_a_file_made_before_instrument() -> None:
    import io

    from purposetag._instrument import _patching

    pt.uninstrument()
    before = io.StringIO()
    pt.instrument()
    try:
        assert io.StringIO is not _patching.original(io, "StringIO")
        with pytest.raises(TypeError, match="descriptor 'write'"):
            io.StringIO.write(before, "x")  # documented: the C method is the patched class's
        before.write("x")  # its own methods are the original ones
        assert before.getvalue() == "x"
    finally:
        pt.uninstrument()


@needs_c
def test_mod_site_program_is_checked() -> None:
    mark = object()

    def site(**kw: object) -> object:
        return C.Site(3, (mark, mark), print, call="%s|%d", slow_head="%s|%d", mark=mark, **kw)

    site(prog=("", ((0, 0, "%", "|"), (3, 1, "%d", ""))))
    for bad in [
        ("", ((0, 0, "%", "|"),)),  # one op for two operands
        ("", ((0, 1, "%", "|"), (3, 0, "%d", ""))),  # `%` takes the operands in order
        ("", ((1, 0, "%5s", "|"), (3, 1, "%d", ""))),  # code 1 stays in Python
        ("", ((0, 0, "%", "|"), (3, 2, "%d", ""))),  # no third operand
        ("", [(0, 0, "%", "|"), (3, 1, "%d", "")]),
        (b"", ((0, 0, "%", "|"), (3, 1, "%d", ""))),
        "nonsense",
    ]:
        with pytest.raises(TypeError, match="prog"):
            site(prog=bad)
    fmt = "{1}:{0:>3}"
    C.Site(2, (mark, mark), print, call=fmt.format, slow_head=fmt, mark=mark,
           prog=("", ((5, 1, "", ":"), (4, 0, ">3", ""))))  # fmt: skip
    with pytest.raises(TypeError, match="prog"):  # a .format() site with keywords
        C.Site(2, (mark, mark), print, call=fmt.format, slow_head=fmt, mark=mark,
               kwnames=("k",), prog=("", ((5, 0, "", ""),)))  # fmt: skip
    with pytest.raises(TypeError, match="prog"):
        C.Site(1, (mark,), print, call=", ".join, slow_head=", ", mark=mark, prog=("", ()))


@needs_c
def test_a_memory_file_class_installed_before_the_current_one_still_works() -> None:
    # io patched by a second class (a reload of the patch module): instances of the
    # first still construct, keep the tags of a tagged initial value, write and read
    code = """
import io
import purposetag as pt
from purposetag._instrument import _p_io
from purposetag._instrument._patching import original
from purposetag._tainted import mk_str
first = _p_io.TaggedStringIO
second = _p_io._memory_file(original(io, "StringIO"), str, mk_str)
t = pt.tag("secret", "security.authentication")
for cls in (first, second):
    f = cls(t)
    f.seek(0, 2)
    f.write("+plain")
    assert f.getvalue() == "secret+plain" and pt.ranges(f.getvalue())[0][:2] == (0, 6)
    assert type(cls("x").getvalue()) is str
print("ok")
"""
    env = {**os.environ, "PURPOSETAG_REQUIRE_SPEEDUPS": "1"}
    env.pop("PURPOSETAG_PURE_PYTHON", None)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


MEMFILE_OVER_PATCHED = """
import io, purposetag as pt
from purposetag._instrument import _p_io
from purposetag._tainted import mk_str
pt.instrument()
# what a re-import of _p_io makes while io is patched: a memory file over ours
again = _p_io._memory_file(io.StringIO, str, mk_str)
f = again("start")
f.write("x")
f.write(pt.tag("y", "marketing.email"))
v = f.getvalue()
print(v, pt.is_tagged(v))
"""


@needs_c
def test_memory_file_over_the_patched_class_does_not_call_itself() -> None:
    # its base's C write/getvalue/tp_init were ours: installed again, each called itself
    out = subprocess.run(
        [sys.executable, "-c", MEMFILE_OVER_PATCHED], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-800:]
    assert out.stdout.split() == ["xyart", "True"]


SUBINTERPRETER = """
import _testcapi
import purposetag as pt
from purposetag import _accel
from purposetag._instrument._patching import tag_deep
from purposetag._ranges import union
assert _accel.ACCELERATED
tags = union(pt.tag("x", "marketing.email")._pt_ranges)
# a sub-interpreter (mod_wsgi runs each application in one) imports purposetag too
rc = _testcapi.run_in_subinterp(
    "import purposetag._instrument._patching, purposetag._guard\\n"
    "from purposetag import _accel\\n"
    "import purposetag as pt\\n"
    "s = pt.tag('y', 'marketing.email')\\n"
    "assert pt.is_tagged(s + '!') and pt.is_tagged(purposetag._instrument._patching"
    "._deep(['z'], s._pt_ranges, {})[0])\\n"
)
assert rc == 0, rc
out = tag_deep({"a": ["b"]}, tags)
print(pt.is_tagged(out["a"][0]), pt.is_tagged(out["a"][0] + "!"))
"""


@needs_c
def test_a_sub_interpreter_does_not_take_over_the_accelerator() -> None:
    # Its state is per process: a second interpreter loading it pointed the first
    # one's tag_deep at the second's TaintedStr (not tagged for the first; its Python
    # code from an interpreter that may be gone).  The second gets pure Python instead.
    pytest.importorskip("_testcapi")
    out = subprocess.run([sys.executable, "-c", SUBINTERPRETER], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-800:]
    assert out.stdout.split() == ["True", "True"]


@needs_c
def test_inner_slot_cache_follows_the_class() -> None:
    calls: list[str] = []

    def slow(self: object, x: object) -> str:
        calls.append("slow")
        return "slow"

    class Holder:
        __slots__ = ("inner",)

    class Sub(Holder):
        __slots__ = ()

    f = C.Fast(slow=slow, inner="inner", name="__add__", check_from=1, fast_from=1).call
    h = Holder()
    assert f(h, "x") == "slow"  # slot unset: Python
    h.inner = "abc"
    assert [f(h, "x"), f(h, "x")] == ["abcx", "abcx"]  # the second read through the cache
    s = Sub()
    s.inner = "sub"
    assert f(s, "x") == "subx" and f(h, "x") == "abcx"
    Holder.inner = property(lambda self: "prop")  # the class changed: no stale slot read
    assert f(h, "x") == "propx"
    assert calls == ["slow"]


@needs_c
def test_tainted_str_format_is_c_for_the_empty_spec() -> None:
    from purposetag._tainted import TaintedStr

    assert type(TaintedStr.__dict__["__format__"]).__name__ == "method_descriptor"
    t = pt.tag("Ada", "security.authentication")
    assert format(t, "") is t and f"{t}" == "Ada" and pt.ranges(f"{t}") == pt.ranges(t)
    assert pt.ranges(format(t, ">5")) == [(2, 5, frozenset(pt.tags(t)))]
    assert pt.ranges(f"{t!r:>7}") == [(3, 6, frozenset(pt.tags(t)))]  # quotes untagged
    for bad in ("d", "=5", ",x"):
        with pytest.raises(ValueError) as ours:
            format(t, bad)
        with pytest.raises(ValueError) as plain:
            format("Ada", bad)
        assert str(ours.value) == str(plain.value)
    with pytest.raises(TypeError):
        t.__format__(5)  # type: ignore[arg-type]

    class Sub(TaintedStr):
        __slots__ = ()

    s = str.__new__(Sub, "Bob")
    s._pt_ranges = t._pt_ranges  # type: ignore[attr-defined]
    assert format(s, "") is s  # through the Python method, which returns self too
    with pytest.raises(TypeError, match="subclass of str"):
        _accel._C.install_format(Sub, TaintedStr.__format__)

    class Other(str):
        __slots__ = ("_pt_ranges",)

    with pytest.raises(RuntimeError, match="another type"):
        _accel._C.install_format(Other, TaintedStr.__format__)
    _accel._C.install_format(TaintedStr, TaintedStr.__format__)  # again: nothing changes
    assert format(t, "") is t


@needs_c
def test_unbind_makes_a_fast_a_function_that_is_not_bound_on_a_class() -> None:
    C = _accel._C

    def slow(*args: object) -> tuple[object, ...]:
        return args

    bound = C.Fast(slow=slow, fast=len)
    free = C.unbind(C.Fast(slow=slow, fast=len))
    assert type(free) is C.FastFunction and type(bound) is C.Fast

    class K:
        b = bound
        f = free

    assert K().f("abc") == 3  # called as given: len("abc")
    got = K().b()  # bound: the instance is not plain, so slow(instance)
    assert len(got) == 1 and type(got[0]) is K
    assert C.unbind(free) is free
    with pytest.raises(TypeError, match="Fast"):
        C.unbind(len)


@needs_c
def test_patched_builtins_are_builtin_functions_standing_for_the_originals(
    instrumented: None,
) -> None:
    """A patched builtin called for its result (a hash constructor, ``hmac_new``,
    ``csv.writer``) is itself a builtin function, which CPython's call sites
    specialise; it shows, unbinds, pickles and signs as the builtin it replaces."""
    import _hashlib
    import csv
    import hashlib
    import inspect
    import pickle
    import types

    C = _accel._C
    for owner, name in [(hashlib, "sha256"), (hashlib, "md5"), (_hashlib, "hmac_new")]:
        f = getattr(owner, name)
        orig = _patching.original(owner, name)
        assert type(f) is types.BuiltinFunctionType, name
        assert repr(f) == f"<built-in function {name}>" and f.__name__ == name
        assert f.__module__ == owner.__name__ and f.__qualname__ == name
        assert inspect.signature(f) == inspect.signature(orig), name
        assert f.__doc__ == orig.__doc__
        assert pickle.loads(pickle.dumps(f)) is f
        assert _patching.original_of(f) is orig
        fast, got = C.front_parts(f)
        assert got is orig and type(fast) is C.FastFunction

        class Holder:
            g = f

        assert Holder.g is f  # not bound: Holder().g is f too
        assert Holder().g is f
    assert type(csv.writer) is types.BuiltinFunctionType
    tagged = hashlib.sha256(pt.tag(b"bob@example.com", "account.recovery")).hexdigest()
    assert pt.is_tagged(tagged)
    assert type(hashlib.sha256(b"x")).__name__ == "TaggedHash"
    # binascii's keep their FastFunction (measured slower behind a front)
    import binascii

    assert type(binascii.b2a_base64) is C.FastFunction
    assert C.front_parts(binascii.b2a_base64) is None and C.front_parts(len) is None


@needs_c
def test_front_checks_its_arguments_and_frees_what_it_holds() -> None:
    import gc
    import weakref

    C = _accel._C

    def slow(*args: object) -> tuple[object, ...]:
        return args

    fast = C.unbind(C.Fast(slow=slow, fast=sorted, wrap_type=C.TaggedHash, wrap_attr="_h"))
    with pytest.raises(TypeError, match="a purposetag Fast is expected"):
        C.front(len, "f", None, "m", len)
    with pytest.raises(TypeError, match="doc is a str or None"):
        C.front(fast, "f", b"doc", "m", len)
    with pytest.raises(TypeError):
        C.front(fast, b"f", None, "m", len)  # the name is a str
    f = C.front(fast, "f", "f($module, x, /)\n--\n\nDoc.", "somewhere", sorted)
    assert f.__doc__ == "Doc." and f.__text_signature__ == "($module, x, /)"
    assert f.__module__ == "somewhere" and repr(f) == "<built-in function f>"
    assert f(pt.tag("ba", "account.recovery")) == ("ba",)  # tagged: to slow
    assert type(f("ba")) is C.TaggedHash  # plain: sorted, wrapped
    # what the front holds is let go with it
    orig = object()
    before = sys.getrefcount(fast), sys.getrefcount(orig)
    g = C.front(fast, "g", None, "m", orig)
    assert (sys.getrefcount(fast), sys.getrefcount(orig)) == (before[0] + 1, before[1] + 1)
    del g
    assert (sys.getrefcount(fast), sys.getrefcount(orig)) == before
    # the front holds the Fast, which holds `slow`; a cycle through slow's defaults
    slow.__defaults__ = (f,)
    ref = weakref.ref(slow)
    del f, fast, slow
    gc.collect()
    assert ref() is None
