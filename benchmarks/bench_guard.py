"""Guard overhead: a guarded call with clean arguments, `off` mode, and a 10k-item scan.

Each subject runs interleaved with its baseline in the same process (DESIGN §6).
"""

from __future__ import annotations

from typing import Any

from _timing import interleaved, result

import purposetag as pt


def _target(a: Any, b: Any, c: Any) -> Any:
    return a


def run() -> list[dict[str, Any]]:
    rows = []
    guarded = pt.guard("marketing.advertising")(_target)
    args = (1, "ada@example.com", 2.5)

    def subject() -> Any:
        return guarded(1, "ada@example.com", 2.5)

    def baseline() -> Any:
        return _target(1, "ada@example.com", 2.5)

    assert subject() == baseline() == args[0]
    with pt.mode("enforce"):
        s, b = interleaved(subject, baseline, number=50_000)
    rows.append(result("guard_clean_args", s, b, 10.0))

    with pt.mode("off"):
        s, b = interleaved(subject, baseline, number=50_000)
    rows.append(result("guard_off", s, b, 6.0))

    scan = pt.guard("marketing.advertising")(lambda items: None)
    items = [f"user{i}@example.com" for i in range(10_000)]

    def scan_subject() -> Any:
        return scan(items)

    def scan_baseline() -> Any:
        for x in items:
            if type(x) is str:
                pass

    with pt.mode("enforce"):
        s, b = interleaved(scan_subject, scan_baseline, number=100)
    rows.append(result("guard_scan_10k", s, b, 3.0, unit="ns/list"))
    return rows
