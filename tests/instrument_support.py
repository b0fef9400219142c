"""Helpers for instrumentation tests: throw-away packages with unique names in tmp_path."""

from __future__ import annotations

import importlib
import itertools
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

import purposetag as pt

_counter = itertools.count()

Factory = Callable[..., ModuleType]


def write_package(root: Path, name: str, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / name / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(textwrap.dedent(content), encoding="utf-8")
        else:
            path.write_bytes(content)


@pytest.fixture
def make_module(tmp_path: Path) -> Iterator[Factory]:
    """``make_module(source, instrument=True, files=None)`` -> the imported module.

    The module is ``<unique package>.mod``; `files` adds more files to the package.
    """
    names: list[str] = []
    sys.path.insert(0, str(tmp_path))

    def factory(
        source: str | bytes, *, instrument: bool = True, files: dict[str, str | bytes] | None = None
    ) -> ModuleType:
        name = f"ptinstr_{next(_counter)}_{len(names)}"
        names.append(name)
        write_package(tmp_path, name, {"__init__.py": "", "mod.py": source, **(files or {})})
        importlib.invalidate_caches()
        if instrument:
            pt.instrument(name)
        return importlib.import_module(f"{name}.mod")

    yield factory
    sys.path.remove(str(tmp_path))
    for mod in list(sys.modules):
        if any(mod == n or mod.startswith(n + ".") for n in names):
            del sys.modules[mod]
    pt.uninstrument()


def both(factory: Factory, source: str) -> tuple[ModuleType, ModuleType]:
    """The same source imported plain and instrumented."""
    plain = factory(source, instrument=False)
    inst = factory(source)
    return plain, inst
