"""``python -m purposetag demo``: run the shipped example."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if argv[:1] == ["demo"]:
        from ._demo import main as demo

        return demo(argv[1:])
    print("usage: python -m purposetag demo", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
