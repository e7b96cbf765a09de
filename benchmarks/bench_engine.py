"""Engine benchmark: main-pass throughput against a plain NumPy loop, and peak memory.

Run from the repository root::

    python benchmarks/bench_engine.py                      # every case; memory at 1e5 and 1e6
    python benchmarks/bench_engine.py --case miner         # one case: canonical|structure|miner
    python benchmarks/bench_engine.py --no-memory          # throughput only
    python benchmarks/bench_engine.py --smoke              # tiny sizes: checks the script runs

For each case of issue 12 (``common.CASES``: the canonical single loan, the ddtl2 tiered
structure, the miner) it times the main Monte Carlo pass (best and median of ``--repeat``
runs, after a warm-up that compiles or loads the numba kernels) and, in the same run, the
plain NumPy reference loop of ``common.reference_pass`` on the same paths, months, blocks and
workers; it prints both in path-months per second, their ratio, and whether the case's target
is met. Then the peak resident set (``ru_maxrss``) of a fresh child process running one main
pass of each ``--memory-paths`` size, counted from the start of that pass: the same at every
size when memory is set by the block size and not by the number of paths. It writes
``benchmarks/results/engine.json`` (git-ignored) and asserts nothing: a slow or busy machine
never fails it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import common

RESULTS = common.RESULTS / "engine.json"
#: Facilities the reference loop pays in each case (the miner's include its margin loan).
REFERENCE_FACILITIES = {"canonical": 1, "structure": 3, "miner": 4}


def bench_throughput(
    name: str, n_paths: int, *, block_size: int, workers: int, repeat: int
) -> dict[str, Any]:
    case = common.CASES[name]
    loaded = common.load(case)
    common.run_main_pass(loaded, min(n_paths, 2 * block_size), block_size=block_size, workers=1)
    path_months = n_paths * loaded.months
    best, median = common.best_of(
        repeat,
        lambda: common.run_main_pass(loaded, n_paths, block_size=block_size, workers=workers),
    )
    ref_best, _ = common.best_of(
        repeat,
        lambda: common.reference_pass(
            n_paths,
            loaded.months,
            n_facilities=REFERENCE_FACILITIES[name],
            miner=case.miner,
            block_size=block_size,
            workers=workers,
        ),
    )
    rate = path_months / best
    return {
        "case": name,
        "deal": common.display_path(case.path),
        "n_paths": n_paths,
        "months": loaded.months,
        "block_size": block_size,
        "workers": workers,
        "repeat": repeat,
        "main_s_best": best,
        "main_s_median": median,
        "path_months_per_s": rate,
        "path_months_per_s_median": path_months / median,
        "numpy_reference_s_best": ref_best,
        "numpy_reference_path_months_per_s": path_months / ref_best,
        "ratio_to_numpy": ref_best / best,
        "target_path_months_per_s": case.target_path_months_per_s,
        "target_met": rate >= case.target_path_months_per_s,
    }


def main(argv: list[str] | None = None) -> int:
    from gpucredit.engine.runner import default_workers

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--case", choices=[*common.CASES, "all"], default="all")
    parser.add_argument("--paths", type=int, default=100_000, help="paths of the timed runs")
    parser.add_argument(
        "--memory-paths",
        type=int,
        nargs="+",
        default=[100_000, 1_000_000],
        help="paths of the peak-memory runs",
    )
    parser.add_argument("--block-size", type=int, default=4096)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; best is reported")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory runs")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, one repeat: check the script runs"
    )
    parser.add_argument("--memory-child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_child is not None:
        name, n = args.memory_child
        common.memory_child(name, int(n), args.block_size, args.workers)
        return 0
    names = list(common.CASES) if args.case == "all" else [args.case]
    memory_names = names
    if args.smoke:  # every case's main pass and one memory child: the code runs, in seconds
        args.block_size, args.repeat = 256, 1
        args.paths, args.memory_paths, memory_names = 512, [256], names[:1]
    throughput = [
        bench_throughput(
            name, args.paths, block_size=args.block_size, workers=args.workers, repeat=args.repeat
        )
        for name in names
    ]
    memory = []
    if not args.no_memory:
        script = Path(__file__).resolve()
        for name in memory_names:
            for n in sorted(set(args.memory_paths)):
                memory.append(
                    common.measure_memory(
                        script, name, n, block_size=args.block_size, workers=args.workers
                    )
                )
    report = {**common.header(), "smoke": args.smoke, "throughput": throughput, "memory": memory}
    _print_report(report)
    common.write_results(args.out, report)
    return 0


def _print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(f"gpucredit {report['versions']['gpucredit']} ({report['commit']})")
    print(f"machine: {m['cpu']}, {m['cores']} cores\n")
    rows = []
    for r in report["throughput"]:
        rows.append(
            {
                **r,
                "engine": r["path_months_per_s"] / 1e6,
                "median": r["path_months_per_s_median"] / 1e6,
                "numpy": r["numpy_reference_path_months_per_s"] / 1e6,
                "target": r["target_path_months_per_s"] / 1e6,
                "met": "yes" if r["target_met"] else "no",
                "_fmt": {
                    "n_paths": ",",
                    "main_s_best": ".2f",
                    "engine": ".2f",
                    "median": ".2f",
                    "numpy": ".2f",
                    "ratio_to_numpy": ".2f",
                    "target": ".0f",
                },
            }
        )
    print("main pass, M path-months/s (best of repeats); numpy = plain NumPy loop, same run")
    common.print_table(
        [
            ("case", "case", 10),
            ("paths", "n_paths", 10),
            ("months", "months", 7),
            ("block", "block_size", 6),
            ("wk", "workers", 4),
            ("main s", "main_s_best", 8),
            ("engine", "engine", 8),
            ("median", "median", 8),
            ("numpy", "numpy", 8),
            ("x numpy", "ratio_to_numpy", 9),
            ("target", "target", 8),
            ("met", "met", 5),
        ],
        rows,
    )
    if report["memory"]:
        print("\npeak memory of a fresh process, one main pass, MiB")
        rows = [
            {
                **r,
                "_fmt": {
                    "n_paths": ",",
                    "baseline_rss_mib": ".0f",
                    "peak_rss_mib": ".0f",
                    "run_adds_mib": ".0f",
                    "seconds": ".1f",
                },
            }
            for r in report["memory"]
        ]
        common.print_table(
            [
                ("case", "case", 10),
                ("paths", "n_paths", 11),
                ("block", "block_size", 6),
                ("wk", "workers", 4),
                ("RSS before", "baseline_rss_mib", 11),
                ("peak RSS", "peak_rss_mib", 10),
                ("run adds", "run_adds_mib", 10),
                ("seconds", "seconds", 9),
            ],
            rows,
        )


if __name__ == "__main__":
    sys.exit(main())
