"""Shared timing helpers: each benchmark times its subject and its baseline in one run."""

from __future__ import annotations

import gc
import platform
import sys
import time
from collections.abc import Callable
from typing import Any


def best_ns(fn: Callable[[], Any], *, number: int = 20_000, repeat: int = 7) -> float:
    """Best-of-`repeat` mean nanoseconds per call of `fn` over `number` calls."""
    best = float("inf")
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            t0 = time.perf_counter_ns()
            for _ in range(number):
                fn()
            dt = (time.perf_counter_ns() - t0) / number
            best = min(best, dt)
    finally:
        if gc_was:
            gc.enable()
    return best


def interleaved(
    subject: Callable[[], Any],
    baseline: Callable[[], Any],
    *,
    number: int = 20_000,
    rounds: int = 7,
) -> tuple[float, float]:
    """Best ns per call of subject and baseline, measured alternately so drift hits both."""
    s = b = float("inf")
    for _ in range(rounds):
        b = min(b, best_ns(baseline, number=number, repeat=1))
        s = min(s, best_ns(subject, number=number, repeat=1))
    return s, b


def toggled(
    cases: list[tuple[str, Callable[[], Any]]],
    *,
    on: Callable[[], Any],
    off: Callable[[], Any],
    number: int = 20_000,
    passes: int = 7,
) -> dict[str, tuple[float, float]]:
    """Best ns per call of each case after `on()` (subject) and after `off()`
    (baseline): each pass times every case with `off()` in force, then every case
    with `on()`, so drift hits both sides.  One switch per pass, not per case: a
    patch applied in a function's own code changes the function's version, and
    CPython's call sites re-specialise for it more slowly each time it changes."""
    subject = {name: float("inf") for name, _fn in cases}
    baseline = dict(subject)
    for _ in range(passes):
        off()
        for name, fn in cases:
            baseline[name] = min(baseline[name], best_ns(fn, number=number, repeat=3))
        on()
        for name, fn in cases:
            subject[name] = min(subject[name], best_ns(fn, number=number, repeat=3))
    return {name: (subject[name], baseline[name]) for name, _fn in cases}


def result(
    name: str, subject_ns: float, baseline_ns: float, budget: float, unit: str = "ns"
) -> dict[str, Any]:
    """One row of `benchmarks/results.json`."""
    return {
        "name": name,
        "ratio": round(subject_ns / baseline_ns, 3) if baseline_ns else float("inf"),
        "budget": budget,
        "baseline": round(baseline_ns, 1),
        "subject": round(subject_ns, 1),
        "unit": unit,
    }


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, Python {sys.version.split()[0]}"
