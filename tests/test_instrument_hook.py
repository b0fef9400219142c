"""The import hook: what is rewritten, what is not, and the module shapes it must survive."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
import sys
import traceback
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from instrument_support import Factory, make_module, write_package  # noqa: F401
from structlog.testing import capture_logs

import purposetag as pt
from purposetag._instrument import instrumented_packages
from purposetag._instrument._hook import InstrumentFinder

P = "security.account_recovery"
T = pt.tag("bob", P)
TAGS = pt.tags(T)

BODY = """
def greet(name):
    return f"hi {name}!"
"""


def test_named_package_is_rewritten(make_module: Factory) -> None:  # noqa: F811
    mod = make_module(BODY)
    res = mod.greet(T)
    assert res == "hi bob!" and pt.ranges(res) == [(3, 6, TAGS)]


def test_other_packages_are_not_rewritten(make_module: Factory) -> None:  # noqa: F811
    mod = make_module(BODY, instrument=False)
    pt.instrument("some_other_package")
    assert type(mod.greet(T)) is str  # a plain f-string: the tag is lost without the hook
    assert "_pt_join" not in vars(mod)


def test_stdlib_is_never_rewritten() -> None:
    pt.instrument("ptinstr_none")
    import json

    assert "_pt_fstr" not in vars(json) and "_pt_fstr" not in vars(importlib)


def test_already_imported_modules_are_listed(make_module: Factory) -> None:  # noqa: F811
    mod = make_module(BODY, instrument=False)
    pkg = mod.__name__.split(".")[0]
    with capture_logs() as logs:
        pt.instrument(pkg)
    events = [e for e in logs if e["event"] == "purpose_instrument_already_imported"]
    assert len(events) == 1
    assert events[0]["modules"] == sorted([pkg, f"{pkg}.mod"])


def test_uninstrument_removes_hook_and_patches() -> None:
    before = hashlib.sha256
    pt.instrument("ptinstr_x")
    pt.instrument("ptinstr_x")  # idempotent
    assert sum(isinstance(f, InstrumentFinder) for f in sys.meta_path) == 1
    assert hashlib.sha256 is not before
    patched = hashlib.sha256
    pt.instrument()
    assert hashlib.sha256 is patched  # patches applied once
    pt.uninstrument()
    assert not any(isinstance(f, InstrumentFinder) for f in sys.meta_path)
    assert hashlib.sha256 is before
    assert instrumented_packages() == frozenset()


def test_bad_package_names() -> None:
    for bad in ("", "my-app", "a..b", "purposetag", "purposetag._api"):
        with pytest.raises(ValueError):
            pt.instrument(bad)


def test_pycache_is_not_poisoned(make_module: Factory, tmp_path: Path) -> None:  # noqa: F811
    mod = make_module(BODY)
    name = mod.__name__
    assert "_pt_fs_0" in vars(mod)
    pt.uninstrument()
    del sys.modules[name]
    plain = importlib.import_module(name)
    assert "_pt_fs_0" not in vars(plain)
    assert type(plain.greet(T)) is str
    for pyc in tmp_path.rglob("*.pyc"):
        assert b"_pt_" not in pyc.read_bytes()


def test_tracebacks_keep_line_numbers(make_module: Factory) -> None:  # noqa: F811
    src = 'x = 1\n\ndef boom(v):\n    a = 1\n    return f"val {v:d} end" + "%s" % (1 / 0,)\n'
    mod = make_module(src)
    with pytest.raises(ValueError) as info:
        mod.boom("notanint")
    assert traceback.extract_tb(info.tb)[-1].lineno == 5
    with pytest.raises(ZeroDivisionError) as info2:
        mod.boom(3)
    assert traceback.extract_tb(info2.tb)[-1].lineno == 5


TRACED = '''"""Doc."""
def never_called(a, b):
    return "%s-%d" % (a, b) + "{}|{}".format(a, b) + ",".join([a, b])


def work(a, b):
    return "%d:%s" % (a, b) + f"<{a}|{b}>" + "-".join((b, str(a))) + "{}/{}".format(a, b)


x = work(1, "b")
'''


def test_tracers_see_only_lines_that_ran(make_module: Factory) -> None:  # noqa: F811
    """What coverage.py records: the generated helpers must not report lines of the
    file that never ran (the first lines here are a function never called)."""

    def traced(call: Callable[[], Any]) -> set[tuple[str, int]]:
        seen: set[tuple[str, int]] = set()

        def tracer(frame: Any, event: str, arg: Any) -> Any:
            if event == "line":
                seen.add((frame.f_code.co_filename, frame.f_lineno))
            return tracer

        sys.settrace(tracer)
        try:
            call()
        finally:
            sys.settrace(None)
        return seen

    found = {}
    for instrument in (False, True):
        mods: list[Any] = []
        at_import = traced(lambda i=instrument: mods.append(make_module(TRACED, instrument=i)))
        at_call = traced(lambda: mods[0].work(2, "c"))
        file = mods[0].__file__
        found[instrument] = (
            {n for f, n in at_import if f == file},
            {n for f, n in at_call if f == file},
        )
    assert found[False] == ({1, 2, 6, 7, 10}, {7})  # (the premise)
    ran = found[False][0] | found[False][1]
    assert found[True][0] == found[False][0]
    # generated helpers (pure Python) report the line that holds them, which ran at
    # import: never a line that did not run
    assert found[False][1] <= found[True][1] <= ran


def test_getsource_and_reload(make_module: Factory) -> None:  # noqa: F811
    mod = make_module(BODY)
    assert "hi {name}" in inspect.getsource(mod.greet)
    again = importlib.reload(mod)
    assert pt.ranges(again.greet(T)) == [(3, 6, TAGS)]


def test_syntax_errors_are_reported_as_usual(make_module: Factory) -> None:  # noqa: F811
    with pytest.raises(SyntaxError) as info:
        make_module("x = 1\ny = (\n")
    assert info.value.lineno is not None


FUTURE = '''
"""Docstring stays the docstring."""
from __future__ import annotations

A = "q"

def annotated(x: f"{A}-x", y: "{}".format(1) = "d") -> f"{A}-ret":
    z: f"{A}-z" = f"<{x}>"
    return z
'''


def test_future_annotations_are_left_alone(make_module: Factory) -> None:  # noqa: F811
    inst = make_module(FUTURE)
    plain = make_module(FUTURE, instrument=False)
    assert inst.__doc__ == "Docstring stays the docstring."
    assert inst.annotated.__annotations__ == plain.annotated.__annotations__
    assert inst.annotated.__annotations__["return"] == "f'{A}-ret'"
    assert pt.ranges(inst.annotated(T)) == [(1, 4, TAGS)]


SHAPES = """
import functools

def deco(label):
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*a):
            return f"{label}:" + fn(*a)
        return inner
    return wrap

@deco(f"{'d'}{'e'}co")
def decorated(x):
    return f"[{x}]"

async def coro(x):
    return f"async {x}!"

def gen(xs):
    for x in xs:
        yield f"<{x}>"

class K:
    attr = ", ".join(["a", "b"])

    def method(self, x):
        return "{}/{}".format(self.attr, x)

def comp(xs):
    return [f"{x}." for x in xs]
"""


def test_decorators_async_generators_classes(make_module: Factory) -> None:  # noqa: F811
    mod = make_module(SHAPES)
    res = mod.decorated(T)
    assert res == "deco:[bob]" and pt.ranges(res) == [(6, 9, TAGS)]
    res = asyncio.run(mod.coro(T))
    assert res == "async bob!" and pt.ranges(res) == [(6, 9, TAGS)]
    out = list(mod.gen([T, "x"]))
    assert out == ["<bob>", "<x>"] and pt.ranges(out[0]) == [(1, 4, TAGS)]
    res = mod.K().method(T)
    assert res == "a, b/bob" and pt.ranges(res) == [(5, 8, TAGS)]
    assert pt.ranges(mod.comp([T])[0]) == [(0, 3, TAGS)]


def test_latin1_source(make_module: Factory) -> None:  # noqa: F811
    src = '# -*- coding: latin-1 -*-\ndef f(x):\n    return f"café {x} ñ"\n'.encode("latin-1")
    mod = make_module(src)
    res = mod.f(T)
    assert res == "café bob ñ" and pt.ranges(res) == [(5, 8, TAGS)]


def test_namespace_subpackage(make_module: Factory, tmp_path: Path) -> None:  # noqa: F811
    mod = make_module(BODY, files={"plugins/extra.py": 'def g(x):\n    return f"g{x}g"\n'})
    pkg = mod.__name__.split(".")[0]
    assert not (tmp_path / pkg / "plugins" / "__init__.py").exists()
    extra = importlib.import_module(f"{pkg}.plugins.extra")
    assert pt.ranges(extra.g(T)) == [(1, 4, TAGS)]


def test_namespace_top_level_package(tmp_path: Path) -> None:
    write_package(tmp_path, "ptinstr_nsroot", {"inner.py": BODY})
    sys.path.insert(0, str(tmp_path))
    try:
        pt.instrument("ptinstr_nsroot")
        mod = importlib.import_module("ptinstr_nsroot.inner")
        assert pt.ranges(mod.greet(T)) == [(3, 6, TAGS)]
    finally:
        sys.path.remove(str(tmp_path))
        for m in [m for m in sys.modules if m.startswith("ptinstr_nsroot")]:
            del sys.modules[m]


def test_modules_in_zip_archives_are_rewritten(tmp_path: Path) -> None:
    archive = tmp_path / "app.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("ptinstr_zipped/__init__.py", "")
        z.writestr("ptinstr_zipped/mod.py", BODY)
    sys.path.insert(0, str(archive))
    try:
        pt.instrument("ptinstr_zipped")
        mod = importlib.import_module("ptinstr_zipped.mod")
        assert "app.zip" in mod.__file__
        assert pt.ranges(mod.greet(T)) == [(3, 6, TAGS)]
        assert "hi {name}" in inspect.getsource(mod.greet)
    finally:
        sys.path.remove(str(archive))
        for m in [m for m in sys.modules if m.startswith("ptinstr_zipped")]:
            del sys.modules[m]


# --- bad package names -------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, shown",
    [
        ("", "an empty string"),
        ("not a package name!", "'not a package name!'"),
        ("my-app", "'my-app'"),
        ("myapp.", "'myapp.'"),
        (".myapp", "'.myapp'"),
        ("1app", "'1app'"),
        (5, "5 (int)"),
        (None, "None (NoneType)"),
        (b"myapp", "b'myapp' (bytes)"),
        (["myapp"], "['myapp'] (list)"),
    ],
)
def test_a_bad_package_name_is_a_policy_error_naming_it(bad: object, shown: str) -> None:
    from purposetag._instrument._patching import _originals

    with pytest.raises(pt.PolicyError) as err:
        pt.instrument("fine_pkg", bad)  # type: ignore[arg-type]
    msg = str(err.value)
    assert isinstance(err.value, ValueError)
    assert msg.startswith("instrument(): ") and shown in msg
    assert "dotted Python package name such as 'myapp'" in msg
    assert not _originals and "fine_pkg" not in instrumented_packages()  # nothing applied


@pytest.mark.parametrize("name", ["purposetag", "purposetag._api"])
def test_purposetag_itself_is_a_policy_error(name: str) -> None:
    with pytest.raises(pt.PolicyError, match="cannot instrument itself"):
        pt.instrument(name)


@pytest.mark.parametrize("raw", ["Ada Lovelace", "mypkg"])
def test_a_tagged_package_name_is_refused_and_not_echoed(raw: str) -> None:
    with capture_logs() as logs:
        with pytest.raises(pt.PolicyError) as err:
            pt.instrument(pt.tag(raw, P))
    assert raw not in str(err.value) and "<tagged str>" in str(err.value)
    assert raw not in repr(logs)


def test_an_untagged_str_subclass_is_a_plain_name() -> None:
    class Name(str):
        pass

    pt.instrument(Name("some_pkg_name"))
    assert instrumented_packages() == {"some_pkg_name"}
    assert all(type(p) is str for p in instrumented_packages())
