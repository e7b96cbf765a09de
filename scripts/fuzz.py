"""Fuzz the spec loader and the engine outside pytest, and print the counts.

Usage::

    python scripts/fuzz.py --cases 2000 --seed 0

It runs the same cases as ``tests/fuzz/test_fuzz.py`` for the same seed and count (the
shipped examples first, then ``--cases`` drawn by Hypothesis) and prints the table: cases,
clean rejections, accepted runs, tracebacks, hangs and non-finite outputs, then one line per
distinct failure site. ``--save DIR`` writes each failing spec there. Exit status 1 when any
case failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.fuzz.harness import run_fuzz  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000, help="cases drawn (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0)")
    parser.add_argument("--save", type=Path, default=None, help="folder for failing specs")
    parser.add_argument("--progress", action="store_true", help="a line every 100 cases")
    args = parser.parse_args()

    def report(done: int, outcome: str) -> None:
        if args.progress and done % 100 == 0:
            print(f"{done} cases", file=sys.stderr, flush=True)

    tally = run_fuzz(args.cases, args.seed, on_case=report)
    print(tally.table())
    if args.save is not None:
        args.save.mkdir(parents=True, exist_ok=True)
        for i, failure in enumerate(tally.failures):
            (args.save / f"case_{i:04d}_{failure.outcome}.yaml").write_text(
                f"# {failure.outcome}: {failure.site}\n# {failure.detail[:200]}\n{failure.text}",
                encoding="utf-8",
            )
    return 1 if tally.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
