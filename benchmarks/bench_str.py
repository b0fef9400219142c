"""Common `TaintedStr` operations against the same operation on plain `str` (DESIGN §6).

Every subject is a one-range tagged ~20-character string (an email address);
every baseline is the same operation on the same text as a plain `str`.
Budget: 10x per operation, 2x memory per one-range tagged string.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

from _timing import interleaved, result

import purposetag as pt

EMAIL = "alice.smith@mail.com"  # 20 characters
TEMPLATE_FMT = "Dear {}, welcome!!!"
TEMPLATE_PCT = "Dear %s, welcome!!!"
BUDGET = 10.0
MEMORY_BUDGET = 2.0
N_OBJECTS = 10_000


def _cases(t: str, p: str, tf: str, pf: str, tp: str, pp: str) -> dict[str, tuple[Any, Any]]:
    items = ["a", "b", "c"]
    return {
        "str_add": (lambda: t + ">", lambda: p + ">"),
        "str_radd": (lambda: "mailto:" + t, lambda: "mailto:" + p),
        "str_slice": (lambda: t[2:10], lambda: p[2:10]),
        "str_upper": (lambda: t.upper(), lambda: p.upper()),
        "str_replace": (lambda: t.replace("@", " at "), lambda: p.replace("@", " at ")),
        "str_split": (lambda: t.split("@"), lambda: p.split("@")),
        # `%` with a single tagged argument (reaches TaintedStr.__rmod__) ...
        "str_mod": (lambda: "to: %s" % t, lambda: "to: %s" % p),  # noqa: UP031
        # ... and with a tagged template
        "str_mod_template": (lambda: tp % "bob", lambda: pp % "bob"),
        "str_format": (lambda: tf.format("bob"), lambda: pf.format("bob")),
        "str_join": (lambda: t.join(items), lambda: p.join(items)),
        "str_encode": (lambda: t.encode(), lambda: p.encode()),
    }


def _bytes_per_object(make: Callable[[str], Any], sources: list[str]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        keep = [make(s) for s in sources]
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(keep) == len(sources)
    return (after - before) / len(sources)


def memory_row() -> dict[str, Any]:
    # Distinct 20-char strings; each measured object is a fresh copy of one.
    sources = [f"user{i:07d}@mail.com"[:20].rjust(20, "x") for i in range(N_OBJECTS)]
    assert all(len(s) == 20 for s in sources)
    plain = _bytes_per_object(lambda s: "".join((s[:10], s[10:])), sources)
    tagged = _bytes_per_object(lambda s: pt.tag(s, "security.authentication"), sources)
    return result("memory_tagged_str", tagged, plain, MEMORY_BUDGET, "B")


def run() -> list[dict[str, Any]]:
    t = pt.tag(EMAIL, "security.authentication")
    tf = pt.tag(TEMPLATE_FMT, "marketing.email")
    tp = pt.tag(TEMPLATE_PCT, "marketing.email")
    cases = _cases(t, EMAIL, tf, TEMPLATE_FMT, tp, TEMPLATE_PCT)
    rows = []
    for name, (subject, baseline) in cases.items():
        assert subject() == baseline(), name  # same value as plain
        assert pt.is_tagged(subject()), name
        s_ns, b_ns = interleaved(subject, baseline, number=20_000, rounds=7)
        rows.append(result(name, s_ns, b_ns, BUDGET))
    rows.append(memory_row())
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
