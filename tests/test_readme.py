"""The README's 30-second example runs and behaves as it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import purposetag as pt

README = Path(__file__).resolve().parent.parent / "README.md"


def _snippet(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block after {heading!r}"
    return match.group(1)


def test_thirty_second_example_raises_as_documented() -> None:
    code = _snippet("## 30 seconds")
    namespace: dict[str, object] = {"__name__": "__main__"}
    with pytest.raises(pt.PurposeViolation) as exc:
        exec(compile(code, "README.md", "exec"), namespace)
    assert exc.value.argument == "args[0][0]"
    assert "+1 555" not in str(exc.value)
    normalized = namespace["normalized"]
    assert [(a, b) for a, b, _ in pt.ranges(normalized)] == [(4, 13)]  # type: ignore[arg-type]
