"""Hypothesis: generated f-string / format / % / join expressions give the same values,
types and exceptions rewritten as they do plain, with or without tagged inputs."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import purposetag as pt
from purposetag._carriers import plain
from purposetag._instrument._aspects import GLOBALS
from purposetag._instrument._rewrite import compile_source

P = "security.authentication"

_scalars = st.one_of(
    st.text(max_size=4),
    st.integers(-300, 300),
    st.floats(allow_nan=False, width=32),
    st.none(),
    st.booleans(),
    st.binary(max_size=3),
)


@st.composite
def values(draw: Any) -> list[Any]:
    out = []
    for v in draw(st.lists(_scalars, min_size=1, max_size=4)):
        if isinstance(v, str | bytes) and v and draw(st.booleans()):
            v = pt.tag(v, P)
        elif isinstance(v, int) and not isinstance(v, bool) and draw(st.booleans()):
            v = pt.tag(v, P)
        out.append(v)
    return out


_literal = st.text(alphabet="ab {}%-é\n", max_size=3)
_spec = st.sampled_from(["", ":>5", ":<3", ":^4", ":x", ":.2f", ":d", ":s", ":{w}", ":*>{w}"])
_conv = st.sampled_from(["", "!r", "!s", "!a"])


def _esc(s: str) -> str:
    return s.replace("{", "{{").replace("}", "}}")


@st.composite
def fstring_expr(draw: Any, n: int) -> str:
    parts = []
    for i in range(n):
        parts.append(_esc(draw(_literal)))
        parts.append("{v" + str(i) + draw(_conv) + draw(_spec) + "}")
    parts.append(_esc(draw(_literal)))
    return "f" + repr("".join(parts))


@st.composite
def format_expr(draw: Any, n: int) -> str:
    parts = []
    for i in range(n):
        parts.append(_esc(draw(_literal)))
        parts.append("{" + str(i) + draw(_conv) + draw(_spec) + "}")
    parts.append(_esc(draw(_literal)))
    template = "".join(parts)
    items = ", ".join(f"v{i}" for i in range(n))
    shape = draw(st.sampled_from(["plain", "star", "star_value", "dstar", "dstar_value", "map"]))
    if shape == "plain":
        return f"{template!r}.format({items}, w=w)"
    if shape == "star":  # unpacked by CPython: its errors must name str.format
        return f"{template!r}.format(*({items},), w=w)"
    if shape == "star_value":  # a scalar: iterated (a str), or not iterable
        return f"{template!r}.format(*v0, *[{items}], w=w)"
    if shape == "dstar":
        return f"{template!r}.format({items}, **{{'w': w}})"
    if shape == "dstar_value":  # not a mapping: CPython's error
        return f"{template!r}.format({items}, w=w, **v0)"
    return f"{template!r}.format_map(dict(w=w, **{{}}))"


@st.composite
def percent_expr(draw: Any, n: int) -> str:
    specs = st.sampled_from(["%s", "%r", "%d", "%5s", "%-3s", "%x", "%%", "%.2f", "%a"])
    template = "".join(draw(_literal).replace("%", "%%") + draw(specs) for _ in range(n))
    count = draw(st.integers(max(0, n - 1), n + 1))
    args = ", ".join(f"v{i % n}" for i in range(count))
    if count == 1 and draw(st.booleans()):
        return f"{template!r} % v0"
    return f"{template!r} % ({args}{',' if count == 1 else ''})"


@st.composite
def join_expr(draw: Any, n: int) -> str:
    sep = draw(st.sampled_from(["''", "', '", "b'-'", "v0"]))
    items = ", ".join(f"v{i}" for i in range(n))
    if draw(st.booleans()):
        return f"{sep}.join([{items}])"
    return f"{sep}.join(x for x in ({items},))"


def _run(code: Any, env: dict[str, Any]) -> tuple[str, Any]:
    try:
        exec(code, env)
        return "ok", env["result"]
    except Exception as exc:
        # carriers' type names may show in messages (format(TaintedStr, "x")): compare as plain
        msg = str(exc).replace("TaintedStr", "str").replace("TaintedBytes", "bytes")
        return "raised", (type(exc), msg)


def _plain(v: Any) -> Any:
    return plain(v)


def _proxy_as_mapping(expr: str, vals: list[Any]) -> bool:
    """The documented proxy quirk: CPython's ``%`` takes any object with ``__getitem__``
    (every wrapt proxy) as a mapping, so ``"%%" % pt.tag(0, p)`` gives ``"%"`` where
    ``"%%" % 0`` raises.  Rewritten and original code still agree (checked above)."""
    return expr.endswith(" % v0") and isinstance(vals[0], pt.TaggedValue)


def _check(expr: str, vals: list[Any], width: int) -> None:
    src = f"result = {expr}\n"
    env: dict[str, Any] = {f"v{i}": v for i, v in enumerate(vals)} | {"w": width}
    plain_env = {f"v{i}": _plain(v) for i, v in enumerate(vals)} | {"w": width}
    original = compile(src, "<gen>", "exec")
    rewritten = compile_source(src, "<gen>")
    kind_o, res_o = _run(original, dict(env))  # the original code, same (tagged) inputs
    kind_r, res_r = _run(rewritten, {**GLOBALS, **env})
    assert kind_o == kind_r, (expr, res_o, res_r)
    if kind_o == "raised":
        assert res_o == res_r, expr
        return
    kind_p, res_p = _run(original, dict(plain_env))  # and with the plain values
    if kind_p == "raised" and _proxy_as_mapping(expr, vals):
        return
    assert kind_p == "ok" and res_p == res_o == res_r, expr
    if not any(pt.is_tagged(v) for v in vals):
        assert type(res_o) is type(res_r), expr
    else:
        assert isinstance(res_r, type(res_p)), expr
        assert pt.tags(res_r) <= pt.tags(pt.tag("x", P)), expr
        assert pt.tags(res_o) <= pt.tags(res_r), expr  # never fewer tags than without


@given(st.integers(1, 3).flatmap(lambda n: st.tuples(fstring_expr(n), values())), st.integers(0, 6))
def test_fstrings_equivalent(case: tuple[str, list[Any]], width: int) -> None:
    expr, vals = case
    vals = (vals * 3)[:3]
    _check(expr, vals, width)


@given(st.integers(1, 3).flatmap(lambda n: st.tuples(format_expr(n), values())), st.integers(0, 6))
def test_format_equivalent(case: tuple[str, list[Any]], width: int) -> None:
    expr, vals = case
    _check(expr, (vals * 3)[:3], width)


@given(st.integers(1, 3).flatmap(lambda n: st.tuples(percent_expr(n), values())))
def test_percent_equivalent(case: tuple[str, list[Any]]) -> None:
    expr, vals = case
    _check(expr, (vals * 3)[:3], 0)


@given(st.integers(1, 3).flatmap(lambda n: st.tuples(join_expr(n), values())))
def test_join_equivalent(case: tuple[str, list[Any]]) -> None:
    expr, vals = case
    _check(expr, (vals * 3)[:3], 0)


@given(st.integers(-50, 50), st.integers(-50, 50).filter(bool))
def test_numeric_modulo_untouched(a: int, b: int) -> None:
    _check("v0 % v1", [a, b], 0)
    _check("v0 % v1", [float(a), b], 0)


def test_tagged_fstring_is_sound() -> None:
    t = pt.tag("secret", P)
    env = {**GLOBALS, "v0": t}
    exec(compile_source("result = f'<{v0}> and {v0!r:>12}'\n", "<gen>"), env)
    assert pt.ranges(env["result"]) == [
        (1, 7, pt.tags(t)),
        (18, 24, pt.tags(t)),
    ]


# --- `"<literal>" % (a, b)` is compiled by CPython as an f-string when every unit is a
# simple %s/%r/%a: the rewrite makes that same f-string, and only then.

import dis  # noqa: E402

from purposetag._instrument._rewrite import _compiled_parts  # noqa: E402


def _compiler_keeps_percent(fmt: str, n: int) -> bool:
    args = "".join(f"a{i}, " for i in range(n))
    code = compile(f"{fmt!r} % ({args})", "<pct>", "eval")
    return any(i.opname == "BINARY_OP" for i in dis.get_instructions(code))


_units = st.sampled_from(
    [
        "%s",
        "%r",
        "%a",
        "%d",
        "%5s",
        "%-3r",
        "%.2a",
        "%05s",
        "%12.1s",
        "%.s",
        "%123s",
        "%%",
        "%",
        "x",
        "é",
        "%(k)s",
        "%+s",
        "% s",
    ]
)


@given(st.lists(_units, max_size=5).map("".join), st.integers(1, 4))
def test_percent_becomes_an_fstring_exactly_when_cpython_makes_it_one(fmt: str, n: int) -> None:
    assert (_compiled_parts(fmt, n) is not None) == (not _compiler_keeps_percent(fmt, n))


class _Shown(str):
    """A str subclass whose str() is another subclass with its own __format__."""

    def __str__(self) -> str:
        return _Framed(str.__str__(self))


class _Framed(str):
    def __format__(self, spec: str) -> str:
        return "<" + str.__format__(self, spec) + ">"


@given(st.lists(_units, max_size=4).map("".join), st.integers(1, 3), st.booleans())
def test_percent_units_behave_as_compiled(fmt: str, n: int, tagged: bool) -> None:
    vals: list[Any] = [_Shown("ab"), "cd", 7][:n]
    if tagged:
        vals[1 % n] = pt.tag("cd", P)
    args = "".join(f"v[{i}], " for i in range(n))
    src = f"def f(v):\n    return {fmt!r} % ({args})\n"
    want_env: dict[str, Any] = {}
    exec(compile(src, "<plain>", "exec"), want_env)
    got_env: dict[str, Any] = dict(GLOBALS)
    exec(compile_source(src, "<inst>"), got_env)
    want = _run_call(want_env["f"], [plain(x) if not isinstance(x, _Shown) else x for x in vals])
    got = _run_call(got_env["f"], vals)
    assert (got[0], got[1]) == (want[0], want[1])


def _run_call(fn: Any, vals: list[Any]) -> tuple[str, Any]:
    try:
        return "ok", str.__str__(fn(vals))
    except Exception as exc:
        return "exc", type(exc).__name__
