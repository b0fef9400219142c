"""The public API as a type checker sees it: `mypy --strict` on code a user writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

USER_CODE = '''
import os
from typing import Any

import purposetag as pt
from purposetag.middleware import ASGIMiddleware, WSGIMiddleware
from purposetag.typing import Config, Mode, SinkSpec


def plain_text(v: pt.TaintedStr) -> str:
    text = pt.untag(v)
    if isinstance(text, pt.TaintedStr):  # reachable only if untag's type were wrong
        return "never"
    return text


def plain_bytes(v: pt.TaintedBytes) -> bytes:
    return pt.untag(v)


def same(v: list[str]) -> list[str]:
    return pt.untag(v)


def config(p: os.PathLike[str]) -> Config:
    pt.load_policy(p)
    return pt.load_config(p)


def sinks(c: Config) -> list[SinkSpec]:
    return list(c.sinks)


pt.configure(policy={"compatible": {"security": ["analytics"]}})
mode: Mode = "monitor"
WSGIMiddleware(lambda environ, start: [], mode=mode)


async def app(scope: Any, receive: Any, send: Any) -> None:
    pass


ASGIMiddleware(app, mode="off", use="analytics")
'''


@pytest.mark.skipif(
    os.environ.get("PURPOSETAG_PURE_PYTHON", "") == "1", reason="types do not depend on the mode"
)
def test_user_code_type_checks_strictly(tmp_path: Path) -> None:
    user = tmp_path / "user_code.py"
    user.write_text(USER_CODE)
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--warn-unreachable", "--no-incremental",
         "--cache-dir", str(tmp_path / "cache"), str(user)],
        capture_output=True, text=True, env=env, cwd=ROOT, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
