"""The import hook: a `sys.meta_path` finder that wraps the normal loader of chosen packages.

The wrapped loader reads the module's source bytes through the original loader
(plain files and zip archives alike), rewrites and compiles them in memory, and
never writes bytecode: the normal ``__pycache__`` keeps only unrewritten code.
Everything else (``get_source``, resources, ``is_package``) goes to the original.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import CodeType, ModuleType
from typing import Any

from .. import _events
from ._aspects import GLOBALS
from ._rewrite import compile_source


def matches(name: str, packages: frozenset[str]) -> bool:
    """Is module `name` one of `packages` or inside one of them?"""
    if name in packages:
        return True
    head = name
    while "." in head:
        head = head.rpartition(".")[0]
        if head in packages:
            return True
    return False


class RewritingLoader(importlib.abc.Loader):
    """Delegates to the original loader, but executes rewritten code."""

    def __init__(self, inner: Any, origin: str) -> None:
        self._inner = inner
        self._origin = origin

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        create = getattr(self._inner, "create_module", None)
        return create(spec) if create is not None else None

    def get_code(self, fullname: str) -> CodeType:
        data = self._inner.get_data(self._origin)
        try:
            code: CodeType = compile_source(data, self._origin)
        except SyntaxError:
            raise
        except Exception as exc:  # our bug: run the module unrewritten rather than break it
            _events.internal_error("instrument.rewrite", exc)
            code = compile(data, self._origin, "exec", dont_inherit=True)
        return code

    def exec_module(self, module: ModuleType) -> None:
        code = self.get_code(module.__name__)
        module.__dict__.update(GLOBALS)
        exec(code, module.__dict__)

    def __getattr__(self, name: str) -> Any:
        if name in ("_inner", "_origin"):  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self._inner, name)


class InstrumentFinder(importlib.abc.MetaPathFinder):
    """Finds modules of `packages` with the other finders and wraps their loader."""

    def __init__(self) -> None:
        self.packages: frozenset[str] = frozenset()

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if not self.packages or not matches(fullname, self.packages):
            return None
        spec: importlib.machinery.ModuleSpec | None = None
        for finder in sys.meta_path:
            if isinstance(finder, InstrumentFinder):
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        if spec is None:
            return None
        loader = spec.loader
        origin = spec.origin
        if (
            loader is None
            or origin is None
            or not origin.endswith(".py")
            or not hasattr(loader, "get_data")
            or isinstance(loader, RewritingLoader)
        ):
            return spec  # namespace packages, extension modules, bytecode-only modules
        spec.loader = RewritingLoader(loader, origin)
        return spec
