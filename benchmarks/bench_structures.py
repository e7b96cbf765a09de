"""Throughput of every shipped capital structure and miner: main pass and full run.

Run from the repository root::

    python benchmarks/bench_structures.py            # 20,000 paths per example
    python benchmarks/bench_structures.py --smoke    # tiny sizes: checks the script runs

For each shipped capital-structure example and the miner: the main Monte Carlo pass
(``common.run_main_pass``: no spreads, premium, attribution or kept paths) after a warm-up, in
path-months per second, and then the full run (fair spreads P and Q; for the miner also the
premium and the attribution on all ``--full-paths``) in seconds. ``bench_engine.py`` holds
the issue-12 targets and the NumPy reference; this script covers the examples it does not.
Prints a table and writes ``benchmarks/results/structures.json`` (git-ignored); asserts
nothing about speed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import common

STRUCTURES = ("ddtl2_tiered_structure", "hosting_secured_notes_backstop", "parent_unsecured_notes")
MINER = "miner_hosting_pivot"
RESULTS = common.RESULTS / "structures.json"


def full_run(loaded: common.Loaded, n_paths: int, workers: int) -> float:
    """Seconds of the full run of ``n_paths`` paths (no kept paths)."""
    from gpucredit import simulate, simulate_miner

    start = time.perf_counter()
    if loaded.case.miner:
        simulate_miner(
            loaded.spec,
            n_paths=n_paths,
            attribution_paths=n_paths,
            n_workers=workers,
            params=loaded.params,
            market=loaded.market,
        )
    else:
        simulate(
            loaded.spec, n_paths=n_paths, keep_paths=0, n_workers=workers, params=loaded.params
        )
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    from gpucredit.engine.runner import default_workers

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--paths", type=int, default=20_000)
    parser.add_argument("--full-paths", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    paths, full = (256, 0) if args.smoke else (args.paths, args.full_paths)
    rows: list[dict[str, Any]] = []
    for stem in (*STRUCTURES, MINER):
        case = common.Case(stem, common.EXAMPLES / f"{stem}.yaml", stem == MINER, 0.0)
        loaded = common.load(case)
        common.run_main_pass(loaded, 64, block_size=64, workers=1)  # warm-up
        main_s = common.run_main_pass(loaded, paths, block_size=4096, workers=args.workers)
        rows.append(
            {
                "example": stem,
                "facilities": len(loaded.spec.facility_names),
                "months": loaded.months,
                "paths": paths,
                "main_pass_s": main_s,
                "path_months_per_s": paths * loaded.months / main_s,
                "full_paths": full,
                "full_run_s": full_run(loaded, full, args.workers) if full else None,
            }
        )
    print(f"main pass at {paths:,} paths; full run at {full:,} paths; {args.workers} workers")
    common.print_table(
        [
            ("example", "example", 32),
            ("fac", "facilities", 5),
            ("months", "months", 8),
            ("main s", "main_pass_s", 9),
            ("path-months/s", "path_months_per_s", 15),
            ("full s", "full_run_s", 9),
        ],
        [
            {**r, "_fmt": {"main_pass_s": ".2f", "path_months_per_s": ",.0f", "full_run_s": ".1f"}}
            for r in rows
        ],
    )
    common.write_results(args.out, {**common.header(), "smoke": args.smoke, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
