"""Engine benchmark: Monte Carlo throughput and peak memory of the canonical deal.

Run from the repository root::

    python benchmarks/bench_engine.py                 # 100,000 paths; memory at 1,000,000
    python benchmarks/bench_engine.py --smoke         # tiny sizes: checks the script runs

It prints a table and writes ``benchmarks/results/latest.json`` (git-ignored). It is not a
test and asserts nothing about speed: the target (20 million path-months per second on a
2-core machine, issue 2) is reported as met or not, never failed on.

What is measured:

* **Throughput**: ``gpucredit.simulate`` of ``benchmarks/canonical_h100.yaml`` (10,000 H100,
  60-month term loan) with ``keep_paths=0``, after a warm-up run that compiles (or loads) the
  numba kernels. The main Monte Carlo pass is timed from the call to the moment the last block
  is merged (the ``progress`` callback), so it excludes the fair-spread passes and the
  deterministic breakeven and stress runs that follow; path-months per second =
  ``n_paths x 60 / seconds``. Runs with ``solve_fair_spread=False`` and ``True`` are both
  reported (the second also with its total time: the fair-spread root search re-runs the
  waterfall on the same paths). Best of ``--repeat`` runs; the median is reported too.
* **Peak memory**: a fresh child process imports gpucredit, warms up on 256 paths (so the
  kernels are loaded and the warm-up's own peak stays low), records its resident set, runs
  ``simulate`` on ``--memory-paths`` paths (no kept paths, no fair spread) and reports
  ``ru_maxrss``, the peak resident set of the process. The same at ``--paths`` shows that the
  peak is set by the block size and the number of workers, not by the number of paths.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_DEAL = HERE / "canonical_h100.yaml"
RESULTS = HERE / "results" / "latest.json"
TARGET_PATH_MONTHS_PER_S = 20e6


def _display_path(path: Path) -> str:
    root = HERE.parent
    resolved = path.resolve()
    return str(resolved.relative_to(root)) if resolved.is_relative_to(root) else str(path)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions() -> dict[str, str]:
    import numba
    import numpy

    import gpucredit

    return {
        "gpucredit": gpucredit.__version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
    }


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=HERE,
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    ).stdout.strip()
    return out.stdout.strip() + ("+dirty" if dirty else "")


def time_simulate(
    deal_path: Path,
    n_paths: int,
    *,
    block_size: int,
    workers: int,
    solve_fair_spread: bool,
    seed: int = 0,
) -> dict[str, float]:
    """One timed ``simulate``: seconds of the main pass and in total."""
    from gpucredit import load_deal, simulate

    deal = load_deal(deal_path)
    main_done: list[float] = []

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "simulate" and done == total and not main_done:
            main_done.append(time.perf_counter())

    start = time.perf_counter()
    result = simulate(
        deal,
        n_paths=n_paths,
        seed=seed,
        block_size=block_size,
        keep_paths=0,
        n_workers=workers,
        solve_fair_spread=solve_fair_spread,
        progress=progress,
    )
    end = time.perf_counter()
    n_months = result.metrics.tenor_months
    main_s = main_done[0] - start
    return {
        "main_s": main_s,
        "total_s": end - start,
        "path_months": float(n_paths * n_months),
        "main_path_months_per_s": n_paths * n_months / main_s,
        "pd": result.metrics.pd,
    }


def bench_throughput(
    deal_path: Path,
    n_paths: int,
    *,
    block_size: int,
    workers: int,
    repeat: int,
    solve_fair_spread: bool,
) -> dict[str, Any]:
    runs = [
        time_simulate(
            deal_path,
            n_paths,
            block_size=block_size,
            workers=workers,
            solve_fair_spread=solve_fair_spread,
        )
        for _ in range(repeat)
    ]
    best = min(runs, key=lambda r: r["main_s"])
    return {
        "n_paths": n_paths,
        "solve_fair_spread": solve_fair_spread,
        "block_size": block_size,
        "workers": workers,
        "repeat": repeat,
        "main_s_best": best["main_s"],
        "main_s_median": statistics.median(r["main_s"] for r in runs),
        "total_s_best": min(r["total_s"] for r in runs),
        "path_months_per_s_best": best["main_path_months_per_s"],
        "path_months_per_s_median": statistics.median(r["main_path_months_per_s"] for r in runs),
        "total_path_months_per_s_best": best["path_months"] / min(r["total_s"] for r in runs),
    }


def _rss_kib() -> int:
    """Current resident set of this process, KiB (Linux ``/proc``; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _memory_child(deal_path: Path, n_paths: int, block_size: int, workers: int) -> None:
    """Run in a fresh process: warm up, then one simulate; print JSON on stdout."""
    from gpucredit import load_deal, simulate

    deal = load_deal(deal_path)
    # compile or load the kernels on one small block, so that its peak stays below the run's
    simulate(deal, n_paths=256, block_size=256, keep_paths=0, solve_fair_spread=False)
    baseline = _rss_kib()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    simulate(
        deal,
        n_paths=n_paths,
        block_size=block_size,
        keep_paths=0,
        n_workers=workers,
        solve_fair_spread=False,
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "n_paths": n_paths,
                "baseline_rss_mib": baseline / 1024,
                "peak_rss_mib": peak / 1024,
                "peak_rss_before_run_mib": peak_before / 1024,
                "run_increment_mib": (peak - baseline) / 1024,
                "seconds": seconds,
            }
        )
    )


def bench_memory(deal_path: Path, n_paths: int, *, block_size: int, workers: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--memory-child",
        str(n_paths),
        "--deal",
        str(deal_path),
        "--block-size",
        str(block_size),
        "--workers",
        str(workers),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    row: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    row.update(block_size=block_size, workers=workers)
    return row


def main(argv: list[str] | None = None) -> int:
    from gpucredit.engine.runner import default_workers

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paths", type=int, default=100_000, help="paths of the timed runs")
    parser.add_argument(
        "--memory-paths", type=int, default=1_000_000, help="paths of the peak-memory run"
    )
    parser.add_argument("--block-size", type=int, default=4096)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; best is reported")
    parser.add_argument("--deal", type=Path, default=DEFAULT_DEAL)
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory runs")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, one repeat: check the script runs"
    )
    parser.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_child is not None:
        _memory_child(args.deal, args.memory_child, args.block_size, args.workers)
        return 0
    if args.smoke:
        args.paths, args.memory_paths, args.repeat = 2 * args.block_size, 4 * args.block_size, 1

    from gpucredit import load_deal, simulate

    warm = time.perf_counter()
    simulate(load_deal(args.deal), n_paths=min(args.paths, 2 * args.block_size), keep_paths=0)
    warm_s = time.perf_counter() - warm

    throughput = [
        bench_throughput(
            args.deal,
            args.paths,
            block_size=args.block_size,
            workers=args.workers,
            repeat=args.repeat,
            solve_fair_spread=fair,
        )
        for fair in (False, True)
    ]
    memory: list[dict[str, Any]] = []
    if not args.no_memory:
        for n in sorted({args.paths, args.memory_paths}):
            memory.append(
                bench_memory(args.deal, n, block_size=args.block_size, workers=args.workers)
            )

    best = throughput[0]["path_months_per_s_best"]
    report: dict[str, Any] = {
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "deal": _display_path(args.deal),
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "platform": platform.platform(),
        },
        "versions": _versions(),
        "commit": _git_commit(),
        "smoke": args.smoke,
        "warm_up_s": warm_s,
        "throughput": throughput,
        "memory": memory,
        "target_path_months_per_s": TARGET_PATH_MONTHS_PER_S,
        "target_met": best >= TARGET_PATH_MONTHS_PER_S,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    _print_report(report)
    print(f"\nwritten {args.out}")
    return 0


def _print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(f"gpucredit {report['versions']['gpucredit']}  {report['deal']}")
    print(f"machine: {m['cpu']}, {m['cores']} cores; warm-up {report['warm_up_s']:.1f} s")
    print()
    head = (
        f"{'fair spread':<12}{'paths':>10}{'block':>7}{'workers':>8}"
        f"{'main pass s':>13}{'M path-months/s':>17}{'(median)':>10}{'total s':>10}"
    )
    print(head)
    print("-" * len(head))
    for r in report["throughput"]:
        print(
            f"{'yes' if r['solve_fair_spread'] else 'no':<12}{r['n_paths']:>10,}"
            f"{r['block_size']:>7}{r['workers']:>8}{r['main_s_best']:>13.3f}"
            f"{r['path_months_per_s_best'] / 1e6:>17.2f}"
            f"{r['path_months_per_s_median'] / 1e6:>10.2f}{r['total_s_best']:>10.2f}"
        )
    if report["memory"]:
        print()
        head = (
            f"{'paths':>10}{'block':>7}{'workers':>8}{'RSS before MiB':>16}"
            f"{'peak RSS MiB':>14}{'run adds MiB':>14}{'seconds':>9}"
        )
        print(head)
        print("-" * len(head))
        for r in report["memory"]:
            print(
                f"{r['n_paths']:>10,}{r['block_size']:>7}{r['workers']:>8}"
                f"{r['baseline_rss_mib']:>16.0f}{r['peak_rss_mib']:>14.0f}"
                f"{r['run_increment_mib']:>14.0f}{r['seconds']:>9.1f}"
            )
    target = report["target_path_months_per_s"] / 1e6
    verdict = "met" if report["target_met"] else "NOT met"
    print(f"\ntarget {target:.0f} M path-months/s (main pass, no fair spread): {verdict}")


if __name__ == "__main__":
    sys.exit(main())
