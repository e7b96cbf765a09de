"""Throughput of capital structures and miners (path-months per second).

Run from the repository root::

    python benchmarks/bench_structures.py            # 20,000 paths per example
    python benchmarks/bench_structures.py --smoke    # tiny sizes: checks the script runs

For each shipped capital-structure example, the main Monte Carlo pass of
``gpucredit.simulate`` (no fair spread, no kept paths) and for the miner example the main pass
of ``gpucredit.miners.simulate_miner`` (no spreads, premium or attribution), after a warm-up;
then the full runs (spreads, premium, attribution) at ``--full-paths``. Prints a table and
writes ``benchmarks/results/structures.json`` (git-ignored). It asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "src" / "gpucredit" / "examples"
STRUCTURES = ("ddtl2_tiered_structure", "hosting_secured_notes_backstop", "parent_unsecured_notes")
MINER = "miner_hosting_pivot"
RESULTS = HERE / "results" / "structures.json"


def _time(run: Any) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    from gpucredit.config.loading import load_deal
    from gpucredit.config.miner import load_miner
    from gpucredit.miners import simulate_miner
    from gpucredit.pipeline import simulate

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paths", type=int, default=20_000)
    parser.add_argument("--full-paths", type=int, default=2_000)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    paths, full = (200, 100) if args.smoke else (args.paths, args.full_paths)
    rows: list[dict[str, Any]] = []
    for stem in STRUCTURES:
        deal = load_deal(EXAMPLES / f"{stem}.yaml")
        simulate(deal, n_paths=64, keep_paths=0, solve_fair_spread=False)  # warm-up
        main_s = _time(
            lambda d=deal: simulate(d, n_paths=paths, keep_paths=0, solve_fair_spread=False)
        )
        full_s = _time(lambda d=deal: simulate(d, n_paths=full, keep_paths=0))
        months = deal.horizon_months
        rows.append(
            {
                "example": stem,
                "facilities": len(deal.facility_names),
                "months": months,
                "paths": paths,
                "main_pass_s": main_s,
                "path_months_per_s": paths * months / main_s,
                "full_paths": full,
                "full_run_s": full_s,
            }
        )
    miner = load_miner(EXAMPLES / f"{MINER}.yaml")
    quick = {"solve_fair_spread": False, "premium": False, "attribution": False}
    simulate_miner(miner, n_paths=64, **quick)  # warm-up
    main_s = _time(lambda: simulate_miner(miner, n_paths=paths, **quick))
    full_s = _time(lambda: simulate_miner(miner, n_paths=full, attribution_paths=full))
    rows.append(
        {
            "example": MINER,
            "facilities": len(miner.facility_names),
            "months": miner.horizon_months,
            "paths": paths,
            "main_pass_s": main_s,
            "path_months_per_s": paths * miner.horizon_months / main_s,
            "full_paths": full,
            "full_run_s": full_s,
        }
    )
    print(
        f"{'example':34} {'fac':>3} {'months':>6} {'main s':>8} {'path-months/s':>14} {'full s':>8}"
    )
    for r in rows:
        print(
            f"{r['example']:34} {r['facilities']:>3} {r['months']:>6} {r['main_pass_s']:>8.2f} "
            f"{r['path_months_per_s']:>14,.0f} {r['full_run_s']:>8.2f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
