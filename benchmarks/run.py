"""`make bench`: run every `benchmarks/bench_*.py`, print a table, write results.json
(`make bench-pure`: the same without the C accelerator, into results-pure.json).

Each module exposes ``run() -> list[dict]`` whose rows carry name, ratio, budget,
baseline (and subject) and unit; see `_timing.result`.
"""

from __future__ import annotations

import datetime
import importlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _timing import machine  # noqa: E402


def main(argv: list[str]) -> int:
    only = set(argv)
    rows = []
    for path in sorted(HERE.glob("bench_*.py")):
        if only and path.stem not in only:
            continue
        mod = importlib.import_module(path.stem)
        print(f"# {path.stem}", flush=True)
        for row in mod.run():
            ok = row["ratio"] <= row["budget"]
            print(
                f"  {row['name']:<34} {row['ratio']:>8.2f}x  budget {row['budget']:>6.2f}x  "
                f"baseline {row['baseline']:>10.1f} {row['unit']:<6} {'ok' if ok else 'OVER BUDGET'}",
                flush=True,
            )
            rows.append(row)
    # PURPOSETAG_PURE_PYTHON=1 (make bench-pure): the same benchmarks without the C
    # accelerator, kept apart
    pure = os.environ.get("PURPOSETAG_PURE_PYTHON", "").strip().lower() in ("1", "true", "yes")
    out = HERE / ("results-pure.json" if pure else "results.json")
    if only and out.exists():  # a partial run updates its rows, keeps the others
        fresh = {r["name"] for r in rows}
        kept = [r for r in json.loads(out.read_text()) if r["name"] not in fresh]
        rows = kept + rows
    out.write_text(json.dumps(rows, indent=2) + "\n")
    over = [r["name"] for r in rows if r["ratio"] > r["budget"]]
    print(
        f"\n{len(rows)} benchmarks on {machine()} at {datetime.date.today()}; "
        f"{len(over)} over budget{': ' + ', '.join(over) if over else ''}"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
