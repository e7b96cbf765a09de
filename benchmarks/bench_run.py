"""Wall-clock of the whole ``gpucredit run`` on the shipped examples, warm and on first use.

Run from the repository root::

    python benchmarks/bench_run.py                   # 10,000 paths: warm, then cold
    python benchmarks/bench_run.py --no-cold         # warm only
    python benchmarks/bench_run.py --smoke           # one example, 256 paths, one run

``gpucredit run --paths N --quiet`` (every shipped example, fair spreads P and Q, the miner's
premium and attribution: the job ``make run`` does) in a fresh process, timed from the start
of the process to its exit:

* **warm**: after one run that fills the numba cache and stores the calibration, best of
  ``--repeat`` runs (issue 12's target: at most 60 s on a 2-core machine);
* **cold**: numba's cache pointed (``NUMBA_CACHE_DIR``) at a new empty folder, so every kernel
  compiles as on first use after an install (target: under 2 minutes). The calibration is
  the one already in the store; with ``--cold-store`` the store starts empty too (a fresh
  clone's first run: the store built and the factor models fitted).

Each row also gives the process's CPU seconds (user + system; the warm row's least), the
figure to compare on a machine shared with other jobs. ``--workers N`` is passed on to
``gpucredit run`` (default: its own, all cores up to 8).

The store is ``GPUCREDIT_DB`` (or the user's default). Prints a table and writes
``benchmarks/results/run.json`` (git-ignored); asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common

RESULTS = common.RESULTS / "run.json"
TARGETS_S = {"warm": 60.0, "cold": 120.0}


def time_run(args: list[str], env: dict[str, str], cpu: list[float] | None = None) -> float:
    """Seconds of ``python -m gpucredit run ARGS --quiet`` in a fresh process; its CPU seconds
    (user + system, the child's ``getrusage``) are appended to ``cpu`` where given."""
    cmd = [sys.executable, "-m", "gpucredit", "run", *args, "--quiet"]
    before = _children_cpu()
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    seconds = time.perf_counter() - start
    if cpu is not None:
        cpu.append(_children_cpu() - before)
    return seconds


def _children_cpu() -> float:
    """User + system CPU seconds of this process's finished children (0 where unknown)."""
    if sys.platform == "win32":
        return 0.0
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return float(usage.ru_utime + usage.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2, help="warm runs; best is reported")
    parser.add_argument("--example", nargs="+", default=None, help="stems; default: all")
    parser.add_argument("--no-cold", action="store_true", help="skip the empty-cache run")
    parser.add_argument(
        "--no-warm-up", action="store_true", help="the numba cache and store are already filled"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--smoke", action="store_true", help="one example, 256 paths, one run, no warm-up"
    )
    parser.add_argument("--workers", type=int, default=None, help="default: the CLI's")
    parser.add_argument(
        "--cold-store",
        action="store_true",
        help="the cold run also starts from an empty store (GPUCREDIT_DB): fit, then simulate",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.paths, args.repeat, args.no_cold = 256, 1, True
        args.example = ["b200_ai_lab"]
    files = sorted(common.EXAMPLES.glob("*.yaml"))
    if args.example:
        files = [f for f in files if f.stem in args.example]
    run_args = [*map(str, files), "--paths", str(args.paths)]
    if args.workers is not None:
        run_args += ["--workers", str(args.workers)]
    env = {**os.environ, "PYTHONPATH": str(common.ROOT / "src")}
    if not (args.smoke or args.no_warm_up):
        time_run(run_args, env)  # fills the numba cache and the store's calibration
    rows: list[dict[str, Any]] = []
    cpu: list[float] = []
    best, median = common.best_of(args.repeat, lambda: time_run(run_args, env, cpu))
    rows.append(
        {
            "start": "warm",
            "seconds": best,
            "median_s": median,
            "runs": args.repeat,
            "cpu_s": min(cpu),
        }
    )
    if not args.no_cold:
        cpu.clear()
        with tempfile.TemporaryDirectory() as cache:
            cold = {**env, "NUMBA_CACHE_DIR": cache}
            if args.cold_store:
                cold["GPUCREDIT_DB"] = str(Path(cache) / "store.duckdb")
            seconds = time_run(run_args, cold, cpu)
        rows.append(
            {"start": "cold", "seconds": seconds, "median_s": seconds, "runs": 1, "cpu_s": cpu[0]}
        )
    for row in rows:
        target = TARGETS_S[row["start"]]
        row.update(
            paths=args.paths,
            examples=len(files),
            target_s=target,
            target_met=row["seconds"] <= target,
        )
    print(f"gpucredit run on {len(files)} shipped examples, {args.paths:,} paths, whole process")
    common.print_table(
        [
            ("start", "start", 7),
            ("paths", "paths", 9),
            ("runs", "runs", 6),
            ("best s", "seconds", 9),
            ("median s", "median_s", 10),
            ("CPU s", "cpu_s", 8),
            ("target s", "target_s", 10),
            ("met", "met", 5),
        ],
        [
            {
                **r,
                "met": "yes" if r["target_met"] else "no",
                "_fmt": {
                    "paths": ",",
                    "seconds": ".1f",
                    "median_s": ".1f",
                    "target_s": ".0f",
                    "cpu_s": ".1f",
                },
            }
            for r in rows
        ],
    )
    report = {
        **common.header(),
        "smoke": args.smoke,
        "examples": [f.stem for f in files],
        "rows": rows,
    }
    common.write_results(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
