"""`python -m purposetag demo`: the three acts, readable and leak-free."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from purposetag import _demo


def run_demo() -> str:
    out = io.StringIO()
    assert _demo.main([], out=out) == 0
    return out.getvalue()


def test_three_acts() -> None:
    text = run_demo()
    act1, rest = text.split("Act 2")
    act2, act3 = rest.split("Act 3")
    assert "Act 1 - monitor" in act1
    events = [json.loads(line) for line in act1.splitlines() if line.startswith("{")]
    assert len(events) == 4
    assert {e["event"] for e in events} == {"purpose_violation"}
    assert {e["action"] for e in events} == {"logged"}
    assert "4 contacts reached" in act1
    assert act2.count("PurposeViolation:") == 4
    assert "0 contacts reached" in act2
    assert "uploaded Ada's email" in act3
    assert act3.count("blocked") == 3
    assert "1 contact reached" in act3


def test_no_raw_contact_in_events_or_messages() -> None:
    text = run_demo()
    for raw in ("555-0101", "555 0102", "ada@example.com", "grace@example.org"):
        assert raw not in text.lower()


def test_module_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "purposetag", "demo"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Act 3" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "purposetag"], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2
    assert "usage" in bad.stderr
