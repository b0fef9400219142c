"""Patching a pure-Python stdlib function in place: its own code, one check in front.

A wrapper around ``html.escape`` or ``re.search`` costs a call more than the
function does, and from the C accelerator a re-entry into the interpreter too:
30-40 ns, more than 10 % of either.  For a module-level function whose source is
at hand, `inject` compiles the function again from that source with one statement
in front of its body::

    if type(string) is not str and type(string) is not bytes:
        return _purposetag_patches_.search(pattern, string, flags)

and installs the result as the function's ``__code__``.  A call with plain strings
runs the original body in the original frame, behind one type check per data
parameter; any other call (a tagged string, or anything else that is not an exact
``str`` or ``bytes``) goes to the tag-aware `slow` function, which computes the
real result with `clone(fn)` (the function with its original code).

The function object itself is unchanged, so references taken before
``instrument()`` (``from re import search``) see the patch as well.  The function is
compiled with the module's import statements around it (CPython compiles
``binascii.hexlify(s)`` differently when ``binascii`` is an import), and the result
without the check is compared with the loaded code first (bytecode, constants,
names, flags, lines).  No source, a source file changed since import, a closure (a
function whose own nested functions use its variables is fine), a generator,
``*args``, or a module or function that rebinds ``type``, ``str`` or
``bytes``: `inject` refuses, returning False, and the caller installs an ordinary
wrapper instead.  `restore_all` puts every original code object back (the
module keeps its `GLOBAL` name, then leading to the unpatched functions); the
recompiled code is kept, so instrumenting again compiles nothing.
"""

from __future__ import annotations
import __future__

import ast
import copy
import inspect
import linecache
import sys
import types
from collections.abc import Callable
from typing import Any

from .. import _accel

_NO: Any = object()

#: The module global through which a patched function reaches its slow path.
GLOBAL = "_purposetag_patches_"
# the name suffix, in that namespace, of a function's C front (see `inject`)
_FRONT = "_front"

_FUTURE_FLAGS = 0
for _f in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _f).compiler_flag
del _f

_REFUSED_FLAGS = (
    inspect.CO_GENERATOR
    | inspect.CO_COROUTINE
    | inspect.CO_ASYNC_GENERATOR
    | inspect.CO_ITERABLE_COROUTINE
    | inspect.CO_VARARGS
)

# patched function -> its original code
_saved: dict[types.FunctionType, types.CodeType] = {}
# the GLOBAL namespaces `inject` put into modules
_spaces: list[types.SimpleNamespace] = []
# function -> (its original code, data, the recompiled code): instrument() again
# after uninstrument() reuses it
_compiled: dict[
    types.FunctionType, tuple[types.CodeType, tuple[tuple[str, ...], bool, bool], types.CodeType]
] = {}
# the last module source parsed: (file name, its lines as linecache gave them, tree);
# `inject` is called module by module, so each module is parsed once
_parsed: list[tuple[str, list[str], ast.Module]] = []


def patched(fn: object) -> bool:
    """Has `inject` patched `fn`?"""
    return type(fn) is types.FunctionType and fn in _saved


def original_code(fn: types.FunctionType) -> types.CodeType:
    """The code `fn` had before `inject`."""
    return _saved.get(fn, fn.__code__)


def clone(fn: Any) -> Any:
    """A copy of the Python function `fn` running its original code (the unpatched
    function, for a slow path to call); anything else is returned as it is."""
    if type(fn) is not types.FunctionType:
        return fn
    c = types.FunctionType(
        original_code(fn), fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
    )
    c.__kwdefaults__ = fn.__kwdefaults__
    c.__qualname__ = fn.__qualname__
    c.__doc__ = fn.__doc__
    c.__module__ = fn.__module__
    c.__dict__.update(fn.__dict__)
    return c


def inject(
    fn: Any,
    data: tuple[str, ...],
    slow: Callable[..., Any],
    front: Callable[..., Any] | None = None,
    bytes_first: bool = False,
) -> bool:
    """Give `fn` a first statement sending calls where a `data` parameter is not an
    exact ``str`` or ``bytes`` to `slow` (called with every parameter, and `fn`'s
    ``**kwargs``); False when `fn` cannot be patched this way (nothing is changed
    then).  A name ending in ``*`` is a container parameter (``urlencode``'s query):
    the call goes to `slow` unless the accelerator's ``is_plain`` finds nothing but
    plain values in it, or it is None where None is its default (without the
    accelerator such a function is not patched in place).  Any ``**kwargs`` given
    send the call to `slow` too.

    With `front` (a C function of the accelerator that computes what `fn` computes
    for plain arguments and hands any other call to `slow` itself), the first
    statement is ``return front(<every parameter>)`` instead of the check.
    `bytes_first`: the data is usually bytes (``quote_from_bytes``, base64's
    functions), so the check asks ``is not bytes`` first (one type() call, not two)."""
    if type(fn) is not types.FunctionType:
        return False
    if fn in _saved:
        return True
    deep = any(p.endswith("*") for p in data)
    if deep and _accel._C is None:
        return False
    new = _recompiled(fn, data, front is not None, bytes_first)
    if new is None:
        return False
    ns = fn.__globals__.get(GLOBAL)
    if ns is None:
        ns = fn.__globals__[GLOBAL] = types.SimpleNamespace()
        _spaces.append(ns)
    if deep:
        ns.is_plain = _accel._C.is_plain
    if front is not None:
        setattr(ns, fn.__name__ + _FRONT, front)
    setattr(ns, fn.__name__, slow)
    _saved[fn] = fn.__code__
    fn.__code__ = new
    return True


def forget_sources() -> None:
    """Drop the parsed module source kept between `inject` calls (a module's tree is
    over a megabyte); `apply_patches` calls it when done."""
    _parsed.clear()


def restore_all() -> None:
    """Every patched function gets its original code back.

    The `GLOBAL` namespace stays in the module, its entries now the unpatched
    functions: a call in another thread that entered the patched code just before
    (a frame keeps the code it started with) still finds it, and gets the original
    behaviour."""
    for fn, code in list(_saved.items()):
        fn.__code__ = code
        ns = fn.__globals__.get(GLOBAL)
        if _ours(ns):
            setattr(ns, fn.__name__, clone(fn))
            if hasattr(ns, fn.__name__ + _FRONT):
                setattr(ns, fn.__name__ + _FRONT, clone(fn))
    _saved.clear()


def _recompiled(
    fn: types.FunctionType, data: tuple[str, ...], front: bool = False, bytes_first: bool = False
) -> types.CodeType | None:
    code = fn.__code__
    nparams = code.co_argcount + code.co_kwonlyargcount
    params = code.co_varnames[:nparams]
    mod = sys.modules.get(fn.__module__ or "")
    if (
        mod is None
        or getattr(mod, fn.__name__, None) is not fn
        or fn.__globals__ is not vars(mod)
        or fn.__qualname__ != fn.__name__
        or code.co_flags & _REFUSED_FLAGS
        or code.co_freevars  # a closure's cells belong to the function object
        or not data
        or not {p.rstrip("*") for p in data} <= set(params)
        or {"type", "str", "bytes", GLOBAL} & set(code.co_varnames)
        or {"type", "str", "bytes"} & set(fn.__globals__)
        or (GLOBAL in fn.__globals__ and not _ours(fn.__globals__[GLOBAL]))
    ):
        return None
    done = _compiled.get(fn)
    if done is not None and done[0] is code and done[1] == (data, front, bytes_first):
        return done[2]
    tree = _module_tree(code.co_filename, fn.__globals__)
    if tree is None:
        return None
    found = [
        stmt
        for stmt in tree.body
        if type(stmt) is ast.FunctionDef
        and stmt.name == fn.__name__
        and min([stmt.lineno, *(d.lineno for d in stmt.decorator_list)]) == code.co_firstlineno
    ]
    if len(found) != 1:
        return None
    imports = _imports(tree.body)
    flags = code.co_flags & _FUTURE_FLAGS
    if not _same(_compile_def([*imports, found[0]], fn, flags), code):
        return None  # the source on disk is not what was loaded
    fdef = copy.deepcopy(found[0])
    body = fdef.body
    at = 1 if body and _is_docstring(body[0]) else 0
    positional, given = code.co_varnames[: code.co_argcount], fn.__defaults__ or ()
    defaults = dict(zip(positional[len(positional) - len(given) :], given, strict=True))
    defaults.update(fn.__kwdefaults__ or {})
    nullable = {p for p in data if defaults.get(p.rstrip("*"), _NO) is None}
    # **kw: its name, after the parameters (*args is refused)
    kw = code.co_varnames[nparams] if code.co_flags & inspect.CO_VARKEYWORDS else None
    first = (
        _front(fn.__name__, params, code.co_argcount, fdef.lineno, kw)
        if front
        else _check(
            fn.__name__, data, nullable, params, code.co_argcount, fdef.lineno, bytes_first, kw
        )
    )
    body.insert(at, first)
    new = _compile_def([*imports, fdef], fn, flags)
    if new is not None:
        _compiled[fn] = (code, (data, front, bytes_first), new)
    return new


def _module_tree(filename: str, module_globals: dict[str, Any]) -> ast.Module | None:
    """The parsed source of `filename` (as linecache has it), or None."""
    lines = linecache.getlines(filename, module_globals)
    if not lines:
        return None
    if _parsed and _parsed[0][0] == filename and _parsed[0][1] is lines:
        return _parsed[0][2]
    try:
        tree = ast.parse("".join(lines), filename)
    except (SyntaxError, ValueError):
        return None
    _parsed[:] = [(filename, lines, tree)]
    return tree


def _imports(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """The import statements of module scope (``from __future__`` aside: those are
    compile flags), also inside ``if``/``try``/``with`` blocks there."""
    out: list[ast.stmt] = []
    for stmt in stmts:
        if isinstance(stmt, ast.Import) or (
            isinstance(stmt, ast.ImportFrom) and stmt.module != "__future__"
        ):
            out.append(stmt)
        elif not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list):
                    out += _imports(inner)
            for handler in getattr(stmt, "handlers", None) or ():
                out += _imports(handler.body)
    return out


def _ours(ns: object) -> bool:
    return any(ns is s for s in _spaces)


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        type(stmt) is ast.Expr
        and type(stmt.value) is ast.Constant
        and type(stmt.value.value) is str
    )


def _check(
    name: str,
    data: tuple[str, ...],
    nullable: set[str],
    params: tuple[str, ...],
    npos: int,
    line: int,
    bytes_first: bool = False,
    kw: str | None = None,
) -> ast.stmt:
    # exact str and bytes carry no tags (TaintedStr/TaintedBytes are subclasses), nor
    # does None where it is the default.  A str argument costs one type() call; a
    # local holding it for the bytes comparison measured slower for str (COPY and
    # STORE_FAST on every call, one more local to clear)
    def one(p: str) -> str:
        if p.endswith("*"):
            q = p[:-1]
            if p in nullable:
                return f"({q} is not None and not {GLOBAL}.is_plain({q}))"
            return f"not {GLOBAL}.is_plain({q})"
        test = (
            f"(type({p}) is not bytes and type({p}) is not str"
            if bytes_first
            else f"(type({p}) is not str and type({p}) is not bytes"
        )
        return test + (f" and {p} is not None)" if p in nullable else ")")

    test = " or ".join([*(one(p) for p in data), *([kw] if kw else [])])
    src = f"if {test}:\n    return {GLOBAL}.{name}({_passed(params, npos, kw)})\n"
    stmt = ast.parse(src).body[0]
    _on_line(stmt, line)
    return stmt


def _passed(params: tuple[str, ...], npos: int, kw: str | None) -> str:
    """Every parameter passed on as it was received (``**kw`` too)."""
    args = [*params[:npos], *(f"{p}={p}" for p in params[npos:]), *([f"**{kw}"] if kw else [])]
    return ", ".join(args)


def _front(
    name: str, params: tuple[str, ...], npos: int, line: int, kw: str | None = None
) -> ast.stmt:
    stmt = ast.parse(f"return {GLOBAL}.{name}{_FRONT}({_passed(params, npos, kw)})\n").body[0]
    _on_line(stmt, line)
    return stmt


def _on_line(stmt: ast.stmt, line: int) -> None:
    for node in ast.walk(stmt):  # all on the `def` line: the body keeps its own lines
        if isinstance(node, ast.stmt | ast.expr):
            node.lineno = node.end_lineno = line
            node.col_offset = node.end_col_offset = 0


def _compile_def(
    stmts: list[ast.stmt], fn: types.FunctionType, flags: int
) -> types.CodeType | None:
    try:
        module = compile(
            ast.Module(body=stmts, type_ignores=[]),
            fn.__code__.co_filename,
            "exec",
            flags=flags,
            dont_inherit=True,
        )
    except (SyntaxError, ValueError, TypeError):
        return None
    for const in module.co_consts:
        if type(const) is types.CodeType and const.co_name == fn.__name__:
            return const
    return None


def _same(a: types.CodeType | None, b: types.CodeType) -> bool:
    return (
        a is not None
        and a.co_code == b.co_code
        and a.co_consts == b.co_consts
        and a.co_names == b.co_names
        and a.co_varnames == b.co_varnames
        and a.co_flags == b.co_flags
        and a.co_argcount == b.co_argcount
        and a.co_posonlyargcount == b.co_posonlyargcount
        and a.co_kwonlyargcount == b.co_kwonlyargcount
        and a.co_firstlineno == b.co_firstlineno
        and list(a.co_lines()) == list(b.co_lines())  # tracebacks name the same lines
    )
