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

Locations are copied from the replaced nodes, so tracebacks point at the same lines.
"""

from __future__ import annotations

import ast
from typing import Any

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
        self.sites: dict[tuple[str, ...], str] = {}
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
        fname = self.sites.get(key)
        if fname is None:
            fname = self.sites[key] = f"_pt_fs_{len(self.sites)}"
        pieces: list[ast.expr] = [ast.copy_location(ast.JoinedStr(values=[f]), f) for f in fields]
        self.changed = True
        return _call(fname, pieces, node)

    # --- join / format / format_map
    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr not in _METHODS:
            return node
        aspect = _METHODS[func.attr]
        if func.attr == "format":
            self.changed = True
            return _call(aspect, [func, *node.args], node, node.keywords)
        if len(node.args) == 1 and not node.keywords and not isinstance(node.args[0], ast.Starred):
            self.changed = True
            return _call(aspect, [func, node.args[0]], node)
        return node

    # --- %
    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.op, ast.Mod) or _is_literal(node.right):
            return node
        left = node.left
        if isinstance(left, ast.Constant) and not isinstance(left.value, str | bytes):
            return node
        self.changed = True
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
        """One small function per f-string shape: the fast path for plain pieces."""
        out: list[ast.stmt] = []
        for literals, fname in self.sites.items():
            n = len(literals) - 1
            params = [f"_{i}" for i in range(n)]
            check = " and ".join(f"_T({p}) is _S" for p in params)
            src = (
                f"def {fname}({', '.join(params)}, _T=_pt_type, _S=_pt_str):\n"
                f"    if {check}:\n"
                f"        return PLACEHOLDER\n"
                f"    return _pt_fslow({literals!r}, {', '.join(params)})\n"
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
            out.append(fdef)
        return out


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
    defs = rw.site_defs()
    if defs:
        for d in defs:
            ast.increment_lineno(d, 0)
        at = _insert_at(tree.body)
        tree.body[at:at] = defs
    ast.fix_missing_locations(tree)
    return tree


def compile_source(source: bytes | str, filename: str) -> Any:
    """Parse (honouring a coding cookie), rewrite and compile a module's source."""
    tree = ast.parse(source, filename, "exec")
    return compile(rewrite_tree(tree), filename, "exec", dont_inherit=True)
