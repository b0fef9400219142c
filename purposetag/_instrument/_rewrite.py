"""The AST rewrite applied to instrumented modules.

* a multi-part f-string ``f"a{x}b{y!r:>5}"`` becomes ``_pt_fs_0(f"{x}", f"{y!r:>5}")``:
  each field stays a single-field f-string, so it is evaluated and formatted in the
  original order (and a tagged value's ``__format__`` hands back its `TaintedStr`);
  ``_pt_fs_0`` is a small function generated once per literal shape at the top of
  the module that returns ``f"a{_0}b{_1}"`` when every piece is a plain ``str``;
* ``!a`` conversions become ``_pt_ascii(x)``, which keeps the tags of ``repr(x)``;
* ``E.join(a)``, ``E.format(...)``, ``E.format_map(m)`` become
  ``_pt_join(E.join, a)`` etc.: the bound method is looked up exactly when it was
  before, so user methods of the same name and every exception are unchanged;
* ``a % b`` (unless ``b`` is a literal or ``a`` a number literal) becomes
  ``_pt_mod(a, b)``, and ``x %= b`` for a plain name ``x`` ``x = _pt_imod(x, b)``.

Joins, formats and ``%`` of a list/tuple display or with literal arguments get a
generated site of their shape (``_pt_j_N``, ``_pt_f_N``, ``_pt_m_N``) like f-strings.
With the C accelerator a site is not a generated function but a `_speedups.Site`
of the same shape (``_pt_fs_0 = _pt_Site(0, literals, ...).call``): plain operands
are computed in C, with no Python frame; the rest goes to the same Python aspect.

Locations are copied from the replaced nodes, so tracebacks point at the same lines.
"""

from __future__ import annotations

import ast
from typing import Any

from .._accel import ACCELERATED
from .._formatting import _compile_percent, brace_program, percent_program

_METHODS = {"join": "_pt_join", "format": "_pt_format", "format_map": "_pt_format_map"}


def _name(ident: str, like: ast.AST) -> ast.Name:
    return ast.copy_location(ast.Name(id=ident, ctx=ast.Load()), like)


def _call(func: str, args: list[ast.expr], like: ast.AST, keywords: Any = None) -> ast.Call:
    node = ast.Call(func=_name(func, like), args=args, keywords=keywords or [])
    return ast.copy_location(node, like)


def _is_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Tuple):
        return all(isinstance(e, ast.Constant) for e in node.elts)
    return False


class Rewriter(ast.NodeTransformer):
    """Rewrites one module; `site_defs()` gives the generated f-string functions."""

    def __init__(self, future_annotations: bool) -> None:
        self.future_annotations = future_annotations
        self.sites: dict[tuple[Any, ...], str] = {}
        self.defs: list[ast.stmt] = []
        self.counts: dict[str, int] = {}
        self.changed = False

    # --- annotations are left alone under `from __future__ import annotations`
    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        if not self.future_annotations:
            return self.generic_visit(node)
        returns = node.returns
        node.returns = None
        self.generic_visit(node)
        node.returns = returns
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return self._visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return self._visit_function(node)

    def visit_arg(self, node: ast.arg) -> ast.AST:
        return node if self.future_annotations else self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if not self.future_annotations:
            return self.generic_visit(node)
        node.target = self.visit(node.target)
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    # --- f-strings
    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node.value = self.visit(node.value)
        spec = node.format_spec
        if isinstance(spec, ast.JoinedStr):  # must stay a JoinedStr: visit its fields only
            for v in spec.values:
                if isinstance(v, ast.FormattedValue):
                    self.visit_FormattedValue(v)
        if node.conversion == ord("a"):
            # the spec moves into the call so a bad spec fails on a plain str, as before
            args = [node.value] if spec is None else [node.value, spec]
            node.value = _call("_pt_ascii", args, node.value)
            node.conversion = -1
            node.format_spec = None
            self.changed = True
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        for v in node.values:
            if isinstance(v, ast.FormattedValue):
                self.visit_FormattedValue(v)
        fields = [v for v in node.values if isinstance(v, ast.FormattedValue)]
        if not fields or len(node.values) < 2:
            return node
        literals: list[str] = [""]
        for v in node.values:
            if isinstance(v, ast.FormattedValue):
                literals.append("")
            else:
                assert isinstance(v, ast.Constant) and isinstance(v.value, str)
                literals[-1] += v.value
        key = tuple(literals)
        pieces: list[ast.expr] = [ast.copy_location(ast.JoinedStr(values=[f]), f) for f in fields]
        # The last piece, with no conversion and no spec, can go unformatted: the C
        # site formats it as CPython would, after every piece is evaluated, as here
        # (an earlier one cannot: formatting it before the next is evaluated is seen).
        last = fields[-1]
        raw = ACCELERATED and last.conversion == -1 and last.format_spec is None
        if raw:
            pieces[-1] = last.value
        fname = self._site(("fstring", key, raw), "_pt_fs_", lambda f: _fstring_def(f, key, raw))
        self.changed = True
        return _call(fname, pieces, node)

    # --- join / format / format_map
    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id in ("bytes", "str")
            and (len(node.args) >= 2 or any(k.arg in ("encoding", "errors") for k in node.keywords))
            and not any(isinstance(a, ast.Starred) for a in node.args)
            and all(k.arg is not None for k in node.keywords)
        ):
            # ``bytes(s, "utf-8")`` / ``str(b, "utf-8")``: an encode / decode, which
            # keeps tags when written as one
            self.changed = True
            return _call("_pt_convert", [func, *node.args], node, node.keywords)
        if not isinstance(func, ast.Attribute) or func.attr not in _METHODS:
            return node
        args = node.args
        starred = any(isinstance(a, ast.Starred) for a in args)
        if func.attr == "format":
            if not args and not node.keywords:
                return node  # nothing to format in: a tagged template keeps its own tags
            if (
                not starred
                and all(k.arg is not None for k in node.keywords)
                and len(args) + len(node.keywords) <= _MAX_ITEMS  # a Site holds 16 at most
            ):
                return self._format_site(node, func)
            self.changed = True
            if starred or any(k.arg is None for k in node.keywords):
                # unpacked by CPython into a call of what `_pt_format_call` gives,
                # whose errors then name ``str.format`` (or the template's own method)
                head = _call("_pt_format_call", [func], node)
                call = ast.Call(func=head, args=args, keywords=node.keywords)
                return ast.copy_location(call, node)
            return _call("_pt_format", [func, *args], node, node.keywords)
        if len(args) != 1 or node.keywords or starred:
            return node
        self.changed = True
        if func.attr == "join":
            return self._join_site(node, func, args[0])
        return _call(_METHODS[func.attr], [func, args[0]], node)

    def _site(self, key: tuple[Any, ...], prefix: str, build: Any) -> str:
        key = tuple(_typed(k) for k in key)  # 1, 1.0 and True are equal: keep them apart
        fname = self.sites.get(key)
        if fname is None:
            n = self.counts.get(prefix, 0)
            self.counts[prefix] = n + 1
            fname = self.sites[key] = f"{prefix}{n}"
            self.defs.append(build(fname))
        return fname

    def _join_site(self, node: ast.Call, func: ast.Attribute, arg: ast.expr) -> ast.AST:
        sep = _const_sep(func.value)
        if isinstance(arg, ast.List | ast.Tuple) and 0 < len(arg.elts) <= _MAX_ITEMS:
            elts = arg.elts
            if not any(isinstance(e, ast.Starred) for e in elts):
                want = bytes if isinstance(sep, bytes) else str
                consts = tuple(
                    e.value if isinstance(e, ast.Constant) and type(e.value) is want else _VAR
                    for e in elts
                )
                display = "[{}]" if isinstance(arg, ast.List) else "({},)"
                key = ("join", sep, display, consts)
                fname = self._site(key, "_pt_j_", lambda f: _join_def(f, sep, display, consts))
                vals = [e for e, c in zip(elts, consts, strict=True) if c is _VAR]
                head: list[ast.expr] = [] if sep is not None else [func]
                return _call(fname, [*head, *vals], node)
        if sep is not None:
            return _call("_pt_join_const", [func.value, arg], node)
        return _call("_pt_join", [func, arg], node)

    def _format_site(self, node: ast.Call, func: ast.Attribute) -> ast.AST:
        self.changed = True
        template = func.value
        tmpl = (
            template.value
            if isinstance(template, ast.Constant) and type(template.value) is str
            else None
        )
        exprs = [*node.args, *(k.value for k in node.keywords)]
        consts = tuple(
            e.value if isinstance(e, ast.Constant) and type(e.value) in _CONST_PLAIN else _VAR
            for e in exprs
        )
        names = tuple(k.arg for k in node.keywords)
        key = ("format", tmpl, len(node.args), names, consts)
        fname = self._site(
            key, "_pt_f_", lambda f: _format_def(f, tmpl, len(node.args), names, consts)
        )
        vals = [e for e, c in zip(exprs, consts, strict=True) if c is _VAR]
        head: list[ast.expr] = [] if tmpl is not None else [func]
        return _call(fname, [*head, *vals], node)

    # --- %
    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        joined = _percent_as_fstring(node)
        if joined is not None:  # what CPython compiles it to: rewrite that
            out: ast.AST = self.visit(joined)
            return out
        self.generic_visit(node)
        if not isinstance(node.op, ast.Mod) or _is_literal(node.right):
            return node
        left = node.left
        if isinstance(left, ast.Constant) and not isinstance(left.value, str | bytes):
            return node
        self.changed = True
        right = node.right
        if (
            isinstance(right, ast.Tuple)
            and 0 < len(right.elts) <= _MAX_ITEMS
            and not any(isinstance(e, ast.Starred) for e in right.elts)
        ):
            tmpl = left.value if isinstance(left, ast.Constant) else None
            consts = tuple(
                e.value if isinstance(e, ast.Constant) and type(e.value) in _CONST_PLAIN else _VAR
                for e in right.elts
            )
            key = ("mod", tmpl, consts)
            fname = self._site(key, "_pt_m_", lambda f: _mod_def(f, tmpl, consts))
            vals = [e for e, c in zip(right.elts, consts, strict=True) if c is _VAR]
            head: list[ast.expr] = [] if tmpl is not None else [left]
            return _call(fname, [*head, *vals], node)
        return _call("_pt_mod", [node.left, node.right], node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        if (
            not isinstance(node.op, ast.Mod)
            or not isinstance(node.target, ast.Name)
            or _is_literal(node.value)
        ):
            return node
        self.changed = True
        target = node.target
        load = ast.copy_location(ast.Name(id=target.id, ctx=ast.Load()), target)
        store = ast.copy_location(ast.Name(id=target.id, ctx=ast.Store()), target)
        value = _call("_pt_imod", [load, node.value], node)
        return ast.copy_location(ast.Assign(targets=[store], value=value), node)

    # --- generated helpers
    def site_defs(self) -> list[ast.stmt]:
        """The small functions generated for this module's sites: plain inputs, plain path."""
        return self.defs


# --- CPython compiles ``"<literal>" % (a, b)`` with only simple %s/%r/%a units as an
# f-string (its AST optimizer; ``str()`` then ``format()`` for each unit, not the
# runtime ``%``).  The rewrite runs before that optimizer, so it makes the same
# f-string itself, checked against the running compiler: the conversion is used only
# when it compiles to the very bytecode of the original expression.

_SIMPLE_FLAGS = frozenset("-+ #0")
_MAXDIGITS = 2  # CPython's optimizer reads at most two digits of width or precision


def _percent_parts(fmt: str, n: int) -> list[Any] | None:
    """Literal strings and (conversion, spec) units, or None if CPython keeps the `%`:
    `n` units, each of flags, at most two digits of width and of precision, and
    ``s``/``r``/``a`` (read from the template's program in `_formatting`)."""
    prog = _compile_percent(fmt)
    if prog is None:
        return None
    parts: list[Any] = []
    for item in prog[2]:
        if item[0] == 0:  # literal text (``%%`` as its own "%")
            if parts and isinstance(parts[-1], str):
                parts[-1] += item[1]
            else:
                parts.append(item[1])
            continue
        _, key, flags, width, prec, conv = item
        if (
            key is not None
            or conv not in ("s", "r", "a")
            or not _SIMPLE_FLAGS.issuperset(flags)
            or (width is not None and not width.isdigit())  # a `*`
            or (prec is not None and prec != "" and not prec.isdigit())
            or len(width or "") > _MAXDIGITS
            or len(prec or "") > _MAXDIGITS
        ):
            return None
        w = int(width) if width is not None else -1
        spec = (">" if "-" not in flags and w > 0 else "") + (width if width is not None else "")
        spec += f".{int(prec or 0)}" if prec is not None else ""
        parts.append((conv, spec or None))
    units = sum(1 for p in parts if not isinstance(p, str))
    return parts if units == n else None


def _joined(parts: list[Any], values: list[ast.expr]) -> ast.JoinedStr:
    out: list[ast.expr] = []
    it = iter(values)
    for p in parts:
        if isinstance(p, str):
            out.append(ast.Constant(value=p))
        else:
            spec = None if p[1] is None else ast.Constant(value=p[1])
            out.append(ast.FormattedValue(value=next(it), conversion=ord(p[0]), format_spec=spec))
    return ast.JoinedStr(values=out)


_VERIFIED: dict[tuple[str, int], list[Any] | None] = {}


def _compiled_parts(fmt: str, n: int) -> list[Any] | None:
    """`_percent_parts`, kept only when the running compiler agrees (cached)."""
    key = (fmt, n)
    if key in _VERIFIED:
        return _VERIFIED[key]
    parts = _percent_parts(fmt, n)
    if parts is not None:
        names = [f"_pt_v{i}" for i in range(n)]
        try:
            want = compile(f"{fmt!r} % ({''.join(x + ', ' for x in names)})", "<pct>", "eval")
            loads: list[ast.expr] = [ast.Name(id=x, ctx=ast.Load()) for x in names]
            tree = ast.fix_missing_locations(ast.Expression(body=_joined(parts, loads)))
            got = compile(tree, "<pct>", "eval")
            same = (want.co_code, want.co_consts, want.co_names) == (
                got.co_code,
                got.co_consts,
                got.co_names,
            )
        except (SyntaxError, ValueError):
            same = False
        if not same:
            parts = None
    if len(_VERIFIED) < 4096:
        _VERIFIED[key] = parts
    return parts


def _percent_as_fstring(node: ast.BinOp) -> ast.JoinedStr | None:
    """``node`` as the f-string CPython compiles it to, or None."""
    left, right = node.left, node.right
    if not (
        isinstance(node.op, ast.Mod)
        and isinstance(left, ast.Constant)
        and type(left.value) is str
        and isinstance(right, ast.Tuple)
        and not any(isinstance(e, ast.Starred) for e in right.elts)
        and not _is_literal(right)  # a tuple of constants: CPython folds the whole `%`
    ):
        return None
    parts = _compiled_parts(left.value, len(right.elts))
    if parts is None:
        return None
    joined = _joined(parts, list(right.elts))
    for v in joined.values:
        ast.copy_location(v, node)
    return ast.copy_location(joined, node)


class _VarMarker:
    """Marks a non-constant operand in a site's shape."""

    def __repr__(self) -> str:
        return "_VAR"


_VAR: Any = _VarMarker()
_MAX_ITEMS = 16
# Constants that format to plain text and can be written into a generated function.
_CONST_PLAIN = (str, bytes, int, float, bool, type(None), complex)
_DEFAULTS = "_T=_pt_type, _S=_pt_str, _B=_pt_bytes, _P=_pt_plain"


def _typed(k: Any) -> Any:
    if type(k) is tuple:
        return tuple(_typed(x) for x in k)
    return (type(k), repr(k))


def _const_sep(node: ast.expr) -> str | bytes | None:
    if isinstance(node, ast.Constant):
        v = node.value
        if type(v) is str or type(v) is bytes:
            return v
    return None


class _Consts(ast.NodeTransformer):
    """Replaces the placeholder names ``_pt_cN`` by the constants they stand for."""

    def __init__(self, values: list[Any]) -> None:
        self.values = values

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id.startswith("_pt_c") and node.id[5:].isdigit():
            return ast.Constant(value=self.values[int(node.id[5:])])
        return node


def _def(src: str, consts: list[Any]) -> ast.stmt:
    fdef = ast.parse(src).body[0]
    return _Consts(consts).visit(fdef)  # type: ignore[no-any-return]


def _operands(shape: tuple[Any, ...], consts: list[Any]) -> tuple[list[str], list[str]]:
    """(parameter names, operand expressions) for a shape of constants and variables."""
    params: list[str] = []
    exprs: list[str] = []
    for c in shape:
        if c is _VAR:
            p = f"_{len(params)}"
            params.append(p)
            exprs.append(p)
        else:
            exprs.append(f"_pt_c{len(consts)}")
            consts.append(c)
    return params, exprs


def _c_site(
    fname: str,
    kind: int,
    shape: tuple[Any, ...],
    head: Any,
    slow: str,
    call: str,
    slow_head: str = "_pt_c0",
    **options: Any,
) -> ast.stmt:
    """``fname = _pt_Site(...)``: the C accelerator's version of a site (see `_speedups.c`).

    `shape` holds the constants, `_VAR` marking operands; `head` is the literal
    separator or template, written in as a constant like the others.
    """
    consts: list[Any] = [head]
    items: list[str] = []
    for c in shape:
        if c is _VAR:
            items.append("_pt_MARK")
        else:
            items.append(f"_pt_c{len(consts)}")
            consts.append(c)
    opts = "".join(f", {k}={v!r}" for k, v in options.items())
    src = (
        f"{fname} = _pt_Site({kind}, ({''.join(i + ', ' for i in items)}), {slow}, "
        f"call={call}, slow_head={slow_head}, mark=_pt_MARK{opts}).call\n"
    )
    return _def(src, consts)


def _join_def(
    fname: str, sep: str | bytes | None, display: str, shape: tuple[Any, ...]
) -> ast.stmt:
    if ACCELERATED:  # `_pt_join_after(sep or <expr>.join, items, result or None)`
        as_list = display == "[{}]"
        if sep is None:  # the site gets the bound `<expr>.join` first
            return _c_site(fname, 1, shape, None, "_pt_join_after", "None", "None", as_list=as_list)
        return _c_site(fname, 1, shape, sep, "_pt_join_after", "_pt_c0.join", as_list=as_list)
    consts: list[Any] = []
    params, exprs = _operands(shape, consts)
    items = display.format(", ".join(exprs))
    if sep is None:
        head, m = ["_m"], "_m"
        check_t = "_S"
    else:
        head, m = [], f"_pt_c{len(consts)}.join"
        consts.append(sep)
        check_t = "_B" if isinstance(sep, bytes) else "_S"
    check = " and ".join(f"_T({p}) is {check_t}" for p in params) or "True"
    sig = ", ".join([*head, *params, _DEFAULTS])
    if isinstance(sep, str):  # a literal str separator: join, then straight to the ranges
        c = f"_pt_c{len(consts) - 1}"
        slow = f"_l = {items}\n    return _pt_join_after({c}, _l, {c}.join(_l))"
    else:
        slow = f"return _pt_join({m}, {items})"
    src = f"def {fname}({sig}):\n    if {check}:\n        return {m}({items})\n    {slow}\n"
    return _def(src, consts)


def _format_def(
    fname: str, tmpl: str | None, npos: int, names: tuple[Any, ...], shape: tuple[Any, ...]
) -> ast.stmt:
    if ACCELERATED:  # without a literal template the site gets the bound `.format` first
        if tmpl is None:
            return _c_site(
                fname, 2, shape, None, "_pt_format", "None", "None", kwnames=names or None
            )
        prog = brace_program(tmpl) if not names else None
        if prog is not None and all(op[1] < len(shape) for op in prog[1]) and len(shape) <= 16:
            # tagged operands of plain fields get their ranges in C (see Site)
            return _c_site(fname, 2, shape, tmpl, "_pt_brace", "_pt_c0.format", prog=prog)
        return _c_site(fname, 2, shape, tmpl, "_pt_brace", "_pt_c0.format", kwnames=names or None)
    consts: list[Any] = []
    params, exprs = _operands(shape, consts)
    argl = exprs[:npos] + [f"{k}={e}" for k, e in zip(names, exprs[npos:], strict=True)]
    if tmpl is None:
        head, m = ["_m"], "_m"
    else:
        head, m = [], f"_pt_c{len(consts)}.format"
        consts.append(tmpl)
    check = " and ".join(f"_T({p}) in _P" for p in params) or "True"
    sig = ", ".join([*head, *params, _DEFAULTS])
    call = ", ".join(argl)
    if tmpl is None:
        slow = f"_pt_format({m}, {call})"
    else:  # a literal str template: straight to the tag-keeping str.format
        pos = "".join(f"{e}, " for e in exprs[:npos])
        kws = ", ".join(f"{k!r}: {e}" for k, e in zip(names, exprs[npos:], strict=True))
        slow = f"_pt_brace(_pt_c{len(consts) - 1}, ({pos}), {{{kws}}})"
    src = f"def {fname}({sig}):\n    if {check}:\n        return {m}({call})\n    return {slow}\n"
    return _def(src, consts)


def _mod_def(fname: str, tmpl: Any, shape: tuple[Any, ...]) -> ast.stmt:
    if ACCELERATED:  # without a literal template the site gets the template first
        if tmpl is None:
            return _c_site(fname, 3, shape, None, "_pt_mod", "None", "None")
        slow = "_pt_percent" if type(tmpl) is str else "_pt_mod"
        prog = percent_program(tmpl) if type(tmpl) is str else None
        if prog is not None and len(prog[1]) == len(shape) <= 16:
            # one field per operand: tagged `%s` operands get their ranges in C (Site)
            return _c_site(fname, 3, shape, tmpl, slow, "_pt_c0", prog=prog)
        return _c_site(fname, 3, shape, tmpl, slow, "_pt_c0")
    consts: list[Any] = []
    params, exprs = _operands(shape, consts)
    tup = f"({', '.join(exprs)},)"
    if tmpl is None:
        head, left = ["_l"], "_l"
    else:
        head, left = [], f"_pt_c{len(consts)}"
        consts.append(tmpl)
    check = " and ".join(f"_T({p}) in _P" for p in params) or "True"
    sig = ", ".join([*head, *params, _DEFAULTS])
    # a literal str template: straight to the tag-keeping `%` (what `_pt_mod` would pick)
    mod = "_pt_percent" if type(tmpl) is str else "_pt_mod"
    src = (
        f"def {fname}({sig}):\n"
        f"    if {check}:\n"
        f"        return {left} % {tup}\n"
        f"    return {mod}({left}, {tup})\n"
    )
    return _def(src, consts)


def _fstring_def(fname: str, literals: tuple[str, ...], raw_last: bool = False) -> ast.stmt:
    """The fast path of one f-string shape: every piece a plain ``str`` (the last one
    given unformatted when `raw_last`, with the accelerator only)."""
    offsets = tuple(len(lit) for lit in literals[:-1])
    if ACCELERATED:
        # `.call`: a bound builtin method, which call sites specialise (a direct C call)
        raw = ", raw_last=True" if raw_last else ""
        src = f"{fname} = _pt_Site(0, _pt_c0, _pt_fstr, call=_pt_c1{raw}).call\n"
        return _def(src, [literals, offsets])
    assert not raw_last, "an unformatted piece needs the C site"
    n = len(literals) - 1
    params = [f"_{i}" for i in range(n)]
    check = " and ".join(f"_T({p}) is _S" for p in params)
    parts: list[str] = []
    for i, lit in enumerate(literals):
        if lit:
            parts.append(repr(lit))
        if i < n:
            parts.append(params[i])
    src = (
        f"def {fname}({', '.join(params)}, _T=_pt_type, _S=_pt_str):\n"
        f"    if {check}:\n"
        f"        return PLACEHOLDER\n"
        f"    return _pt_fstr(_pt_sjoin(({', '.join(parts)},)), {offsets!r}, {', '.join(params)})\n"
    )
    fdef = ast.parse(src).body[0]
    assert isinstance(fdef, ast.FunctionDef)
    values: list[ast.expr] = []
    for i, lit in enumerate(literals):
        if lit:
            values.append(ast.Constant(value=lit))
        if i < n:
            values.append(
                ast.FormattedValue(
                    value=ast.Name(id=params[i], ctx=ast.Load()),
                    conversion=-1,
                    format_spec=None,
                )
            )
    ret = fdef.body[0].body[0]  # type: ignore[attr-defined]
    ret.value = ast.JoinedStr(values=values)
    return fdef


def _insert_at(body: list[ast.stmt]) -> int:
    """Index after the module docstring and `from __future__` imports."""
    i = 0
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        i = 1
    while i < len(body):
        stmt = body[i]
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            i += 1
        else:
            break
    return i


def _has_future_annotations(tree: ast.Module) -> bool:
    for stmt in tree.body[: _insert_at(tree.body)]:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            if any(a.name == "annotations" for a in stmt.names):
                return True
    return False


def rewrite_tree(tree: ast.Module) -> ast.Module:
    """Rewrite `tree` in place (and return it)."""
    rw = Rewriter(_has_future_annotations(tree))
    tree = rw.visit(tree)
    # The module binds the aspect names itself, so its code also runs where the
    # loader's exec_module does not (runpy.run_module, `python -m`, exec of get_code).
    added = ast.parse(
        "from purposetag._instrument._aspects import GLOBALS as _pt_G\nglobals().update(_pt_G)\n"
    ).body
    added.extend(rw.site_defs())
    at = _insert_at(tree.body)
    # Everything added runs on one line of the file that runs at import anyway: the
    # first statement after the docstring and `__future__` imports.  Line numbers
    # of the generated text would point tracers (coverage) and tracebacks at the
    # file's first lines, which may be code that never ran.
    body = tree.body
    if at < len(body):
        line = body[at].lineno
    else:  # only a docstring and `__future__` imports, or nothing
        line = (body[-1].end_lineno or 1) if body else 1
    for stmt in added:
        for node in ast.walk(stmt):
            if "lineno" in node._attributes:
                node.lineno = node.end_lineno = line  # type: ignore[attr-defined]
                node.col_offset = node.end_col_offset = 0  # type: ignore[attr-defined]
    body[at:at] = added
    ast.fix_missing_locations(tree)
    return tree


def compile_source(source: bytes | str, filename: str) -> Any:
    """Parse (honouring a coding cookie), rewrite and compile a module's source."""
    tree = ast.parse(source, filename, "exec")
    return compile(rewrite_tree(tree), filename, "exec", dont_inherit=True)
