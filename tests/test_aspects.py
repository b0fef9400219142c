"""The rewritten constructs: f-strings, join, format, format_map and %, through an
instrumented module -- tags kept, ranges exact, and plain behaviour unchanged."""

from __future__ import annotations

import pytest
import structlog
from instrument_support import Factory, both, make_module  # noqa: F401

import purposetag as pt
from purposetag import _accel
from purposetag._instrument import _aspects

SRC = """
def fstr(x, y):
    return f"a{x}b{y!r:>8}c"

def fstr_debug(x):
    return f"{x=} end"

def fstr_ascii(x):
    return f"<{x!a}>"

def fstr_nested_spec(x, w):
    return f"[{x:>{w}}]"

def fstr_nested(x):
    return f"out {f'in {x}!'} done"

def fstr_walrus(x):
    return f"{(y := x)}-{y}"

def fstr_lambda(x):
    return f"L{(lambda v: v + '!')(x)}"

def join(sep, items):
    return sep.join(items)

def join_gen(items):
    return "-".join(i for i in items)

def fmt(t, *a, **k):
    return t.format(*a, **k)

def fmt_star(t, a):
    return t.format(*a)

def fmt_one(t, x):
    return t.format(x)

def fmt_dstar(t, k):
    return t.format(**k)

def fmt_mixed(t, a, k):
    return t.format(1, *a, x=2, **k)

def fmt_literal(x, y):
    return "name={} mail={mail}".format(x, mail=y)

def fmt_attr(obj):
    return "mail: {0.mail}".format(obj)

def fmt_map(t, m):
    return t.format_map(m)

def pct(t, v):
    return t % v

def pct_literal(x, n):
    return "%s is %d" % (x, n)

def pct_aug(x):
    s = "x=%s;"
    s %= x
    return s

def to_bytes(s, *a, **k):
    if k:
        return bytes(s, encoding=k["encoding"], errors=k.get("errors", "strict"))
    if not a:
        return bytes(s, "utf-8")
    return bytes(s, a[0]) if len(a) == 1 else bytes(s, a[0], a[1])

def to_str(b, enc="utf-8", errors=None):
    return str(b, enc) if errors is None else str(b, encoding=enc, errors=errors)

def by_keyword(s):
    return bytes(source=s, encoding="utf-8"), str(object=bytes(s, "utf-8"), encoding="utf-8")

def shadowed(s):
    bytes = lambda *a: ("mine", a)
    return bytes(s, "utf-8")

class Joiner:
    def join(self, items):
        return "custom:" + str(len(items))

    def format(self, *a):
        return ("custom", a)
"""

P = "security.account_recovery"


def _tagset() -> frozenset[pt.Tag]:
    return pt.tags(pt.tag("x", P))


@pytest.fixture
def mods(make_module: Factory):  # noqa: F811
    return both(make_module, SRC)


def test_fstring_keeps_tags_and_literals_stay_untagged(mods) -> None:
    plain, inst = mods
    e = pt.tag("bob@x.io", P)
    res = inst.fstr(e, 42)
    assert res == plain.fstr("bob@x.io", 42) == "abob@x.iob      42c"
    assert type(res) is pt.TaintedStr
    assert pt.ranges(res) == [(1, 9, _tagset())]


def test_fstring_repr_conversion_and_padding(mods) -> None:
    _, inst = mods
    res = inst.fstr("a", pt.tag("zz", P))
    # y!r:>8 -> "    'zz'": only the two characters of zz are tagged
    assert res == "aab    'zz'c"
    assert pt.ranges(res) == [(8, 10, _tagset())]


def test_fstring_debug_specifier(mods) -> None:
    plain, inst = mods
    res = inst.fstr_debug(pt.tag("v", P))
    assert res == plain.fstr_debug("v") == "x='v' end"
    assert pt.ranges(res) == [(3, 4, _tagset())]


def test_fstring_ascii_conversion(mods) -> None:
    plain, inst = mods
    res = inst.fstr_ascii(pt.tag("é", P))
    assert res == plain.fstr_ascii("é") == "<'\\xe9'>"
    assert pt.tags(res) == _tagset()
    assert pt.ranges(res)[0][0] >= 1  # the "<" literal is untagged


def test_fstring_nested_spec_and_nested_fstrings(mods) -> None:
    plain, inst = mods
    assert inst.fstr_nested_spec("ab", 5) == plain.fstr_nested_spec("ab", 5) == "[   ab]"
    res = inst.fstr_nested_spec(pt.tag("ab", P), 5)
    assert pt.ranges(res) == [(4, 6, _tagset())]
    res = inst.fstr_nested(pt.tag("Q", P))
    assert res == "out in Q! done"
    assert pt.ranges(res) == [(7, 8, _tagset())]


def test_fstring_walrus_and_lambda(mods) -> None:
    plain, inst = mods
    t = pt.tag("w", P)
    assert inst.fstr_walrus(t) == plain.fstr_walrus("w") == "w-w"
    assert pt.ranges(inst.fstr_walrus(t)) == [(0, 1, _tagset()), (2, 3, _tagset())]
    res = inst.fstr_lambda(t)
    assert res == "Lw!" and pt.ranges(res) == [(1, 2, _tagset())]


def test_untagged_results_are_exact_plain_types(mods) -> None:
    plain, inst = mods
    for fn, args in [
        ("fstr", ("x", 1)),
        ("fstr_ascii", ("é",)),
        ("join", (",", ["a", "b"])),
        ("join", (b",", [b"a", b"b"])),
        ("fmt", ("{}-{}", 1, 2)),
        ("fmt_map", ("{a}", {"a": 1})),
        ("pct", ("%s", ("x",))),
        ("pct", (7, 3)),
        ("pct", (7.5, 2)),
        ("pct", (b"%s", (b"x",))),
        ("pct_literal", ("x", 3)),
        ("pct_aug", ("v",)),
    ]:
        a = getattr(plain, fn)(*args)
        b = getattr(inst, fn)(*args)
        assert a == b and type(a) is type(b), fn


def test_join_plain_separator_tagged_items(mods) -> None:
    _, inst = mods
    res = inst.join(", ", ["a", pt.tag("bob", P), "c"])
    assert res == "a, bob, c"
    assert pt.ranges(res) == [(3, 6, _tagset())]
    res = inst.join_gen(iter(["a", pt.tag("b", P)]))
    assert res == "a-b" and pt.ranges(res) == [(2, 3, _tagset())]
    res = inst.join(b"/", [b"a", pt.tag(b"b", P)])
    assert res == b"a/b" and pt.ranges(res) == [(2, 3, _tagset())]


def test_join_iterates_once_and_errors_match(mods) -> None:
    plain, inst = mods
    calls = []

    def gen():
        calls.append(1)
        yield "a"

    assert inst.join_gen(gen()) == "a" and calls == [1]
    for bad in (5, ["a", 1]):
        with pytest.raises(TypeError) as e1:
            plain.join(",", bad)
        with pytest.raises(TypeError) as e2:
            inst.join(",", bad)
        assert str(e1.value) == str(e2.value)

    class Closed:
        def __iter__(self) -> None:
            calls.append("iter")
            raise TypeError("feed closed")

    for sep in (",", b",", bytearray(b",")):
        for mod in (plain, inst):
            calls.clear()
            with pytest.raises(TypeError, match="^can only join an iterable$") as e:
                mod.join(sep, Closed())
            assert calls == ["iter"], (mod, sep)  # asked once, as CPython asks
            assert e.value.__context__ is None and e.value.__cause__ is None


def test_user_methods_named_join_and_format_still_called(mods) -> None:
    _, inst = mods
    j = inst.Joiner()
    assert inst.join(j, [1, 2]) == "custom:2"
    assert inst.fmt(j, 1) == ("custom", (1,))


def test_repr_and_ascii_conversions_keep_the_tags_escapes_drop(mods) -> None:
    """``!a``/``%a`` of a non-ASCII tagged string, and ``!r``/``%r`` of a container,
    are texts built by C code without the tags: the piece carries all of them."""
    plain, inst = mods
    t = pt.tag("José", P)
    cases = [
        ("fmt", ("{!a}x", t), (0, 9)),
        ("fmt", ("<{0!a:>12}>", t), (1, 13)),
        ("fmt", ("{!r}x", [t]), (0, 8)),
        ("fmt", ("{k!r}|{n}",), (0, 9)),
        ("pct", ("%a %d", (t, 1)), (0, 9)),
        ("pct", ("%r %d", ([t], 1)), (0, 8)),
        ("pct", ("[%-12a]", (t,)), (1, 13)),
    ]
    for fn, args, (a, b) in cases:
        kw = {"k": (t,), "n": 2} if args == ("{k!r}|{n}",) else {}
        want = getattr(plain, fn)(*args, **kw)
        got = getattr(inst, fn)(*args, **kw)
        assert got == want, (fn, args)
        assert pt.ranges(got) == [(a, b, _tagset())], (fn, args, got)
    # and when nothing was lost, the ranges stay exact (the quotes untagged)
    assert pt.ranges(inst.fmt("{!r}|", pt.tag("bob", P))) == [(1, 4, _tagset())]
    assert pt.ranges(inst.pct("%r|%s", (pt.tag("bob", P), "x"))) == [(1, 4, _tagset())]


def test_unpacking_into_format_fails_and_tags_as_the_original(mods) -> None:
    """``t.format(*a, **k)`` is unpacked by CPython itself: its errors name
    ``str.format`` (or the template's own method), as in the original code."""
    plain, inst = mods

    class Fmt:
        def format(self, *a: object, **k: object) -> str:
            return "own"

    cases = [
        ("fmt_star", ("{}-{}", 5)),
        ("fmt_star", ("{}-{}", None)),
        ("fmt_star", ("{}", [1, 2])),
        ("fmt_star", ("{}-{}", [1])),
        ("fmt_dstar", ("{a}", 5)),
        ("fmt_dstar", ("{a}", [("a", 1)])),
        ("fmt_dstar", ("{a}", {"b": 1})),
        ("fmt_mixed", ("{}{}{x}{y}", [3], {"y": 4})),
        ("fmt_mixed", ("{}{x}", [3], {"x": 4})),  # x twice
        ("fmt_mixed", ("{}{x}", 3, {})),
        ("fmt_star", (Fmt(), 5)),
        ("fmt_star", (Fmt(), [1])),
        ("fmt_dstar", (b"{a}", {"a": 1})),  # bytes have no format
    ]
    for fn, args in cases:
        want = _outcome(getattr(plain, fn), *args)
        got = _outcome(getattr(inst, fn), *args)
        assert got == want, (fn, args)
    # a ``**`` mapping with a key that is not a string: str.format takes it unchecked
    # (with the accelerator, so does the rewritten call; without, a Python callable
    # gets CPython's own check: the documented difference)
    for fn, args in [("fmt_dstar", ("{a}", {1: 2})), ("fmt_mixed", ("{}{x}", [3], {1: 2}))]:
        want = _outcome(getattr(plain, fn), *args)
        got = _outcome(getattr(inst, fn), *args)
        if _accel.ACCELERATED:
            assert got == want, (fn, args)
        else:
            assert got == ("raised", TypeError, "keywords must be strings"), (fn, args)
    t = pt.tag("bob", P)
    res = inst.fmt_star("<{}|{}>", iter([t, "x"]))
    assert res == "<bob|x>" and pt.ranges(res) == [(1, 4, _tagset())]
    res = inst.fmt_dstar("<{a}>", {"a": t})
    assert res == "<bob>" and pt.ranges(res) == [(1, 4, _tagset())]
    res = inst.fmt_mixed("{}{}{x}{y}", (t,), {"y": t})
    assert res == "1bob2bob" and pt.ranges(res) == [(1, 4, _tagset()), (5, 8, _tagset())]


def test_other_methods_stored_as_format_join_or_format_map_are_called_as_written(
    mods,
) -> None:
    """An object whose ``format``/``join``/``format_map`` is another builtin method of a
    str (``"a-b".split``) gets that method called, tagged arguments or not."""
    plain, inst = mods
    t = pt.tag("-", P)

    class Obj:
        pass

    def holder(**methods: object) -> Obj:
        o = Obj()
        for k, v in methods.items():
            setattr(o, k, v)
        return o

    cases = [
        ("fmt", (holder(format="a-b".split), "-")),
        ("fmt", (holder(format="a-b".split), t)),
        ("fmt_star", (holder(format="a-b".split), ["-"])),
        ("fmt_star", (holder(format="a-b".split), [t])),
        ("fmt_star", (holder(format="{}-x".upper), [])),
        ("fmt_dstar", (holder(format="a-b".split), {"sep": t})),
        ("fmt_star", (holder(format="a b".split), 5)),
        ("fmt_map", (holder(format_map="{x}".startswith), "{")),
        ("fmt_map", (holder(format_map="{x}".startswith), pt.tag("{", P))),
        ("join", (holder(join="a-b".split), "-")),
        ("join", (holder(join="a-b".split), t)),
        ("join", (holder(join="{}".count), iter(["{"]))),
    ]
    for fn, args in cases:
        want = _outcome(getattr(plain, fn), *args)
        got = _outcome(getattr(inst, fn), *args)
        assert got == want, (fn, args)


def test_subclass_separators_and_templates_keep_the_tags(mods) -> None:
    """A str/bytes subclass (not a tagged string) as separator or template: the
    original's value and errors, and the tagged pieces' tags."""
    plain, inst = mods

    class S(str):
        pass

    class B(bytes):
        pass

    t = pt.tag("bob", P)
    tb = pt.tag(b"bob", P)
    cases = [
        ("join", lambda: (S(", "), ["a", t]), [(3, 6)]),
        ("join", lambda: (S(", "), iter(["a", t])), [(3, 6)]),
        ("join", lambda: (B(b"-"), [b"a", tb]), [(2, 5)]),
        ("fmt_one", lambda: (S("<{}>"), t), [(1, 4)]),
        ("fmt_star", lambda: (S("<{}|{}>"), ["x", t]), [(3, 6)]),
        ("fmt_dstar", lambda: (S("<{a}>"), {"a": t}), [(1, 4)]),
        ("fmt_map", lambda: (S("<{a}>"), {"a": t}), [(1, 4)]),
    ]
    for fn, make, spans in cases:
        got = getattr(inst, fn)(*make())
        assert got == getattr(plain, fn)(*make()), fn
        if fn in ("fmt_star", "fmt_dstar") and not _accel.ACCELERATED:
            continue  # pure Python: an unpacking call's template must be an exact str
        assert [(a, b) for a, b, _ in pt.ranges(got)] == spans, (fn, got)
    for fn, args in [("fmt_star", (S("{}"), 5)), ("fmt_dstar", (S("{a}"), 5))]:
        assert _outcome(getattr(inst, fn), *args) == _outcome(getattr(plain, fn), *args)


def test_format_keeps_tags(mods) -> None:
    _, inst = mods
    res = inst.fmt_literal(pt.tag("Bo", P), "m@x")
    assert res == "name=Bo mail=m@x"
    assert pt.ranges(res) == [(5, 7, _tagset())]
    res = inst.fmt("{:>4}|{!r}", pt.tag("a", P), "b")
    assert res == "   a|'b'" and pt.ranges(res) == [(3, 4, _tagset())]


def test_format_attribute_of_untagged_object(mods) -> None:
    _, inst = mods

    class User:
        mail = pt.tag("u@x", P)

    res = inst.fmt_attr(User())
    assert res == "mail: u@x" and pt.ranges(res) == [(6, 9, _tagset())]


def test_format_map(mods) -> None:
    _, inst = mods
    res = inst.fmt_map("to {who}!", {"who": pt.tag("Al", P)})
    assert res == "to Al!" and pt.ranges(res) == [(3, 5, _tagset())]


def test_percent_tuple_and_dict(mods) -> None:
    _, inst = mods
    res = inst.pct_literal(pt.tag("Ann", P), 3)
    assert res == "Ann is 3" and pt.ranges(res) == [(0, 3, _tagset())]
    res = inst.pct("%(a)s+%(b)s", {"a": "x", "b": pt.tag("yy", P)})
    assert res == "x+yy" and pt.ranges(res) == [(2, 4, _tagset())]
    res = inst.pct("n=%d", (pt.tag(7, P),))
    assert res == "n=7" and pt.tags(res) == _tagset()
    res = inst.pct(b"%s-%s", (b"a", pt.tag(b"b", P)))
    assert res == b"a-b" and pt.tags(res) == _tagset()
    res = inst.pct_aug(pt.tag("v", P))
    assert res == "x=v;" and pt.ranges(res) == [(2, 3, _tagset())]


def test_percent_on_numbers_is_numeric(mods) -> None:
    _, inst = mods
    assert inst.pct(7, 3) == 1 and type(inst.pct(7, 3)) is int
    assert inst.pct(pt.tag(7, P), 3) == 1
    assert pt.tags(inst.pct(pt.tag(7, P), 3)) == _tagset()


def test_exceptions_are_the_plain_ones(mods) -> None:
    plain, inst = mods
    cases = [
        ("pct", ("%s %s", ("a",))),
        ("pct", ("%d", ("x",))),
        ("pct", ("%s", ("a", "b"))),
        ("fmt", ("{} {}", "a")),
        ("fmt", ("{x}",)),
        ("fmt_map", ("{x}", {})),
        ("fstr_nested_spec", ("a", "zz")),
    ]
    for fn, args in cases:
        with pytest.raises(Exception) as e1:
            getattr(plain, fn)(*args)
        with pytest.raises(Exception) as e2:
            getattr(inst, fn)(*args)
        assert type(e1.value) is type(e2.value) and str(e1.value) == str(e2.value), fn
    tagged_cases = [("pct", ("%s %s", (pt.tag("a", P),))), ("fmt", ("{} {}", pt.tag("a", P)))]
    for fn, args in tagged_cases:
        with pytest.raises(Exception) as e1:
            getattr(plain, fn)(*args)
        with pytest.raises(Exception) as e2:
            getattr(inst, fn)(*args)
        assert type(e1.value) is type(e2.value) and str(e1.value) == str(e2.value), fn


def test_aspect_functions_directly() -> None:
    t = pt.tag("x", P)
    assert _aspects.mod("%s!", t) == "x!"

    class Acc:
        def __init__(self) -> None:
            self.seen: list[int] = []

        def __imod__(self, other: int) -> Acc:
            self.seen.append(other)
            return self

    acc = Acc()
    assert _aspects.imod(acc, 2) is acc and acc.seen == [2]  # in place, like `acc %= 2`
    assert _aspects.fstring_slow(("<", ">"), t) == "<x>"
    assert pt.ranges(_aspects.fstring_slow(("<", ">"), t)) == [(1, 2, _tagset())]
    assert _aspects.ascii_(t) == "'x'"


SITES = """
def consts(x):
    return ["{}-{}".format(x, 1), "{}-{}".format(x, True), "{}-{}".format(x, 1.0),
            "%s/%s" % (x, 1), "%s/%s" % (x, True), "%s%r" % (x, 0.0), "%s%r" % (x, -0.0)]

def joins(x, sep):
    return [", ".join([x, "b"]), ", ".join((x, "b")), b"-".join([b"a", b"b"]),
            sep.join([x, "c"]), ", ".join(i for i in [x, "d"]), "".join([x, 1][:1])]

def kw(t, x):
    return t.format(x, k=x), "{k}|{}".format(x, k=3)
"""


def test_generated_sites_match_plain_code(make_module: Factory) -> None:  # noqa: F811
    plain, inst = both(make_module, SITES)
    for fn, args in [("consts", ("a",)), ("joins", ("a", "/")), ("kw", ("{}{k}", "z"))]:
        a, b = getattr(plain, fn)(*args), getattr(inst, fn)(*args)
        assert a == b and [type(x) for x in a] == [type(x) for x in b], fn
    with pytest.raises(TypeError) as e1:
        plain.joins(1, "/")
    with pytest.raises(TypeError) as e2:
        inst.joins(1, "/")
    assert str(e1.value) == str(e2.value)


def test_generated_sites_keep_tags(make_module: Factory) -> None:  # noqa: F811
    _, inst = both(make_module, SITES)
    t = pt.tag("ab", P)
    for res in [*inst.consts(t), *inst.joins(t, "/")[:2], *inst.kw("{}{k}", t)]:
        assert pt.tags(res) == _tagset(), res
    res = inst.joins(t, pt.tag("/", P))[3]
    assert res == "ab/c" and pt.ranges(res) == [(0, 3, _tagset())]
    assert pt.ranges(inst.joins(t, "/")[0]) == [(0, 2, _tagset())]


def _boom(*a: object, **k: object) -> object:
    raise RuntimeError("simulated purposetag bug")


def test_a_failure_of_ours_in_rewritten_code_is_contained(
    mods, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Placing ranges fails (a bug of ours, simulated): the application gets the plain
    result carrying every tag (never fewer), the internal-error event is logged, and
    user code runs once where the operation had already run."""
    import structlog

    from purposetag import _formatting

    plain, inst = mods
    a, b = pt.tag("ann", P), pt.tag("bob", "analytics")
    want = pt.tags(a) | pt.tags(b)
    for name in ("_one_piece", "_join_str", "_fstring_ranges"):
        monkeypatch.setattr(_aspects, name, _boom)
    monkeypatch.setattr(_formatting, "_run_brace_fast", _boom)
    monkeypatch.setattr(_formatting, "_run_brace", _boom)
    calls = []

    def gen():
        calls.append(1)
        yield from (a, b)

    with structlog.testing.capture_logs() as logs:
        out = inst.join_gen(gen())
        assert out == "ann-bob" and pt.tags(out) == want and calls == [1]
        out = inst.join(", ", [a, "x", b])
        assert out == "ann, x, bob" and pt.tags(out) == want
        out = inst.fmt_literal(a, b)
        assert out == "name=ann mail=bob" and pt.tags(out) == want
        out = inst.fstr(a, b)  # (the accelerator places f-string ranges in C)
        assert out == plain.fstr("ann", "bob") and pt.tags(out) == want
    failures = 3 if _accel.ACCELERATED else 4
    assert [e["event"] for e in logs].count("purpose_internal_error") == failures
    assert all("ann" not in str(e) and "bob" not in str(e) for e in logs)


def test_percent_of_one_object_keeps_the_tags_of_its_text(mods) -> None:
    """``"sent to %s" % user``: the object's str()/repr() is tagged text, asked once."""
    plain, inst = mods
    email = pt.tag("ada@x.org", P)
    calls: list[str] = []

    class User:
        def __init__(self, e: str) -> None:
            self.e = e

        def __str__(self) -> str:
            calls.append("str")
            return self.e

        def __repr__(self) -> str:
            calls.append("repr")
            return "User(" + repr(self.e) + ")"  # (this module is not instrumented)

        def __index__(self) -> int:
            return 7

    for tmpl, obj in (
        ("sent to %s", User(email)),
        ("sent to %r!", User(email)),
        ("failed: %s", ValueError(email)),
    ):
        calls.clear()
        got = inst.pct(tmpl, obj)
        n = len(calls)
        calls.clear()
        assert got == plain.pct(tmpl, obj) and n == len(calls) == (0 if "failed" in tmpl else 1)
        assert pt.tags(got) == _tagset(), tmpl
    assert pt.ranges(inst.pct("sent to %s", User(email))) == [(8, 17, _tagset())]
    assert inst.pct("n=%d", User("x")) == "n=7" and type(inst.pct("x=%s", User("y"))) is str
    for tmpl in ("%(k)s", "%s %s", "%d %d"):  # the same errors as plain `%`
        with pytest.raises(TypeError) as e1:
            plain.pct(tmpl, User("x"))
        with pytest.raises(TypeError) as e2:
            inst.pct(tmpl, User("x"))
        assert str(e1.value) == str(e2.value)


def test_bytes_and_str_with_an_encoding_keep_tags(mods) -> None:
    """``bytes(s, "utf-8")`` / ``str(b, "utf-8")`` are an encode / a decode."""
    plain, inst = mods
    email = pt.tag("Ada@Example.com", P)
    out = inst.to_bytes(email)
    assert out == b"Ada@Example.com" and pt.ranges(out) == [(0, 15, _tagset())]
    mixed = "é-" + pt.tag("bob", P)
    for args, kw in (((), {}), (("utf-8",), {}), (("latin-1", "strict"), {})):
        got, want = inst.to_bytes(mixed, *args, **kw), plain.to_bytes("é-bob", *args, **kw)
        assert got == want and pt.tags(got) == _tagset()
    got = inst.to_bytes(mixed, encoding="utf-8")
    assert pt.ranges(got) == [(3, 6, _tagset())]  # é is two bytes: exact
    back = inst.to_str(pt.tag(b"ada", P))
    assert back == "ada" and pt.ranges(back) == [(0, 3, _tagset())]
    assert pt.tags(inst.to_str(pt.tag(b"a\xffb", P), "utf-8", "replace")) == _tagset()
    assert type(inst.to_bytes("plain")) is bytes and type(inst.to_str(b"plain")) is str
    assert inst.shadowed(email) == plain.shadowed(email)  # a local `bytes` is called as it is
    with structlog.testing.capture_logs() as logs:
        kb, ks = inst.by_keyword(email)
    assert (kb, ks) == plain.by_keyword("Ada@Example.com") and logs == []
    assert pt.tags(kb) == pt.tags(ks) == _tagset()
    for bad in ((email, "no-such-codec"), (email, 1), (pt.tag("é", P), "ascii")):
        with pytest.raises((LookupError, TypeError, UnicodeError)) as e1:
            plain.to_bytes(str.__str__(bad[0]), bad[1])
        with pytest.raises((LookupError, TypeError, UnicodeError)) as e2:
            inst.to_bytes(*bad)
        assert type(e1.value) is type(e2.value) and str(e1.value) == str(e2.value)


LAST_PIECE_SRC = """
def last(a, b):
    return f"<{a}|{b}>"

def only(b):
    return f"hello {b}"

def spec(a, b):
    return f"<{a}|{b:>4}>"

def order(log, a, b):
    return f"{log.take(a)}{log.take(b)}"
"""


class _Fmt:
    """An object whose __format__ records the call, returns `out` or raises it."""

    def __init__(self, log: list[str], name: str, out: object) -> None:
        self.log, self.name, self.out = log, name, out

    def __format__(self, spec: str) -> str:
        self.log.append(f"format {self.name} {spec!r}")
        if isinstance(self.out, BaseException):
            raise self.out
        return self.out  # type: ignore[return-value]


class _Log:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def take(self, v: object) -> object:
        self.log.append(f"eval {getattr(v, 'name', v)!s}")
        return v


class _StrSub(str):
    def __str__(self) -> str:
        return "from __str__"


def _outcome(fn: object, *args: object) -> tuple[object, ...]:
    try:
        return ("ok", fn(*args))  # type: ignore[operator]
    except Exception as exc:
        return ("raised", type(exc), str(exc))


def _same_as_plain(plain: object, inst: object, fn: str, *args: object) -> tuple[object, ...]:
    """`fn` of the instrumented module gives what the plain module's does (result or
    exception, type and message); that outcome."""
    got = _outcome(getattr(inst, fn), *args)
    assert got == _outcome(getattr(plain, fn), *args), (fn, args)
    return got


def test_last_piece_is_formatted_as_cpython_does(make_module: Factory) -> None:  # noqa: F811
    # with the accelerator the last piece (no conversion, no spec) reaches the site
    # unformatted: every kind of value must come out as FORMAT_VALUE makes it
    plain, inst = both(make_module, LAST_PIECE_SRC)
    tagged = pt.tag("bob", P)
    values: list[object] = [
        "s",
        tagged,
        42,
        pt.tag(42, P),
        3.5,
        None,
        _StrSub("raw"),
        pt.tag("é😀", P),
        b"x",
        [tagged],
    ]
    for v in values:
        for fn in ("last", "spec"):
            got = _same_as_plain(plain, inst, fn, "a", v)
            if got[0] == "ok":
                assert (type(got[1]) is str) == (not pt.is_tagged(got[1])), (fn, v)
        assert inst.only(v) == plain.only(v)
    res = inst.last(pt.tag("a", P), tagged)
    assert res == "<a|bob>" and pt.ranges(res) == [(1, 2, _tagset()), (3, 6, _tagset())]
    assert pt.ranges(inst.only(tagged)) == [(6, 9, _tagset())]
    assert pt.ranges(inst.only(pt.tag(7, P))) == [(6, 7, _tagset())]
    assert type(inst.only(42)) is str and type(inst.only(_StrSub("x"))) is str


def test_last_piece_errors_and_order_are_cpythons(make_module: Factory) -> None:  # noqa: F811
    plain, inst = both(make_module, LAST_PIECE_SRC)
    for out in (ValueError("bad spec"), 5):  # raises; returns a non-str
        results = []
        for mod in (plain, inst):
            log: list[str] = []
            a, b = _Fmt(log, "a", "A"), _Fmt(log, "b", out)
            with pytest.raises((ValueError, TypeError)) as err:
                mod.order(_Log(log), a, b)
            results.append((log, type(err.value), str(err.value)))
        assert results[0] == results[1]
    log_p: list[str] = []
    log_i: list[str] = []
    assert plain.order(_Log(log_p), _Fmt(log_p, "a", "A"), _Fmt(log_p, "b", "B")) == "AB"
    assert inst.order(_Log(log_i), _Fmt(log_i, "a", "A"), _Fmt(log_i, "b", "B")) == "AB"
    assert log_p == log_i == ["eval a", "format a ''", "eval b", "format b ''"]


PROG_SRC = """
def pct(a, b):
    return "é<%s|%d>😀" % (a, b)

def pct_s(a, b):
    return "%s%s" % (a, b)

def fmt(a, b):
    return "€{}-{}!".format(a, b)

def fmt_index(a, b):
    return "{1}{0}{1}".format(a, b)

def fmt_extra(a, b):
    return "[{}]".format(a, b)
"""


@pytest.mark.parametrize(
    "a, b",
    [
        ("x", 1),
        ("", 0),
        ("😀é", -12345678901234567890),
        ("a\x00b", 10**40),
        ("\xff", True),  # a bool: not an exact int, str's own formatting
        (3, 4),
        ("s", "t"),  # %d of a str: str's TypeError
        ("s", 2.5),
        ("s", "BIG"),  # past the int-to-str limit: its ValueError
    ],
)
def test_plain_percent_and_format_sites_match_str(
    make_module: Factory,  # noqa: F811
    a: object,
    b: object,
) -> None:
    # with the accelerator, bare %s/%d/{} fields of exact str and int operands are
    # put together by the site itself: the result must be str's, to the character
    plain, inst = both(make_module, PROG_SRC)
    if b == "BIG":
        b = 10**5000
    for fn in ("pct", "pct_s", "fmt", "fmt_index", "fmt_extra"):
        got = _same_as_plain(plain, inst, fn, a, b)
        if got[0] == "ok":
            assert type(got[1]) is str


JOIN_SRC = """
def three(a, b):
    return "|é|".join([a, "x😀", b])

def many(a, b):
    return ",".join([a, b, "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
                     "p", "q", a])

def dyn(sep, a, b):
    return sep.join([a, b])
"""


class _OwnStr(str):
    def __str__(self) -> str:
        return "not used by join"


@pytest.mark.parametrize(
    "a, b",
    [
        ("a", "b"),
        ("", ""),
        ("\xff", "😀"),
        (_OwnStr("own"), "b"),
        ("a", 5),  # str.join's TypeError, naming the item
        (b"x", "b"),
    ],
)
def test_literal_list_joins_match_str_join(
    make_module: Factory,  # noqa: F811
    a: object,
    b: object,
) -> None:
    # with the accelerator, a join of a literal list of str items is put together by
    # the site itself: results, types and errors must be str.join's
    plain, inst = both(make_module, JOIN_SRC)
    for fn, args in (("three", (a, b)), ("many", (a, b)), ("dyn", ("--", a, b))):
        got = _same_as_plain(plain, inst, fn, *args)
        if got[0] == "ok":
            assert type(got[1]) is str


def test_literal_list_join_ranges(make_module: Factory) -> None:  # noqa: F811
    _, inst = both(make_module, JOIN_SRC)
    t, ts = pt.tag("bob", P), _tagset()
    res = inst.three(t, "z")
    assert res == "bob|é|x😀|é|z" and pt.ranges(res) == [(0, 3, ts)]
    res = inst.three("a", t)
    assert pt.ranges(res) == [(len(res) - 3, len(res), ts)]
    res = inst.many(t, t)
    assert pt.ranges(res)[0] == (0, 3, ts) and pt.ranges(res)[-1] == (len(res) - 3, len(res), ts)
    res = inst.dyn(pt.tag("-", P), "a", "b")  # a tagged separator: tagged too
    assert res == "a-b" and pt.ranges(res) == [(1, 2, ts)]


def test_a_failing_percent_runs_each_str_once_and_reports_nothing(
    make_module: Factory,  # noqa: F811
) -> None:
    # a later field failing in str's own way (an int past the int-to-str limit)
    # re-raises that error; the __str__ of an earlier object has run once, as plain
    plain, inst = both(make_module, 'def pct(a, n):\n    return "%s%%%d" % (a, n)\n')
    for mod in (plain, inst):
        seen: list[int] = []

        class Named:
            def __str__(self) -> str:
                seen.append(1)
                return "named"

        with structlog.testing.capture_logs() as logs, pytest.raises(ValueError, match="4300"):
            mod.pct(Named(), 10**5000)
        assert seen == [1]
        assert not [e for e in logs if e["event"] == "purpose_internal_error"]


def test_a_whole_template_field_gives_back_what_format_returned(
    make_module: Factory,  # noqa: F811
) -> None:
    src = """
def one(x):
    return "{}".format(x)

def spec(x):
    return "{:>1}".format(x)

def named(x):
    return "{x}".format(x=x)

def conv(x):
    return "{!s}".format(x)

def text(x):
    return "a{}".format(x)
"""
    plain, inst = both(make_module, src)

    class Sub(str):
        pass

    class Fmt:
        def __init__(self, out: str) -> None:
            self.out = out

        def __format__(self, spec: str) -> str:
            return self.out

        def __str__(self) -> str:
            return self.out

    for fn in ("one", "spec", "named", "conv", "text"):
        sub = Sub("sub")
        got, want = getattr(inst, fn)(Fmt(sub)), getattr(plain, fn)(Fmt(sub))
        assert got == want and type(got) is type(want), fn
        assert (got is sub) == (want is sub), fn
    tagged = getattr(inst, "one")(Fmt(pt.tag("bob", P)))  # tagged text: tagged, as always
    assert tagged == "bob" and pt.tags(tagged) == _tagset()
