"""Where the time of ``gpucredit run`` goes, by phase and example (cProfile, one worker).

Run from the repository root::

    python benchmarks/profile_run.py                 # every shipped example, 2,000 paths
    python benchmarks/profile_run.py --smoke         # one example, 256 paths

Each example runs alone in a fresh process as ``python -m cProfile -m gpucredit run EXAMPLE
--paths N --workers 1 --quiet`` (one worker, so that every block runs on the profiled thread),
after one unprofiled run (none with ``--smoke``) that fills the numba cache and the
calibration in the store. The profile is then split into exclusive phases by the cumulative
time of the functions that run them:

* ``main``: the main Monte Carlo pass (``pipeline``'s block functions; a miner's main passes
  with convergence on and off);
* ``spreads``: the fair-spread searches and their standard errors, P and Q;
* ``attrib``: a miner's Shapley attribution (16 main passes on fewer paths);
* ``determ``: breakeven rent, glut stress, collateral at close and the duration fans;
* ``store``: resolving the calibration and recording the run in the DuckDB store;
* ``import``: importing modules (gpucredit, NumPy, numba, pandas, xarray, ...);
* ``other``: the rest (reading the spec, building the model, tables);

and two shares that lie inside the phases above: ``liquid`` (the secondary-market liquidation
in ``credit.liquidation``) and ``numba`` (compiling or loading numba kernels). The table shows
each as a percentage of the example's profiled seconds. The profiler slows Python-heavy code
more than compiled kernels; read the shares, not the seconds. Writes
``benchmarks/results/profile.json`` (git-ignored).
"""

from __future__ import annotations

import argparse
import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import common

RESULTS = common.RESULTS / "profile.json"

Func = tuple[str, int, str]

#: (phase, module file suffix, function names) whose cumulative time is the phase.
PHASES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("main", "gpucredit/pipeline/deal.py", ("main_block",)),
    ("main", "gpucredit/pipeline/structure.py", ("main_block",)),
    ("spreads", "gpucredit/pipeline/spreads.py", ("solve_facility_spread",)),
    ("attrib", "gpucredit/credit/attribution.py", ("attribute",)),
    (
        "determ",
        "gpucredit/pipeline/deterministic.py",
        ("breakeven_reported", "glut_stress", "close_collateral_value"),
    ),
    ("determ", "gpucredit/pipeline/duration.py", ("measure_duration", "miner_duration")),
    ("store", "gpucredit/factors/parameter_source.py", ("resolve",)),
    ("store", "gpucredit/cli/app.py", ("_record",)),
)
ORDER = ("main", "spreads", "attrib", "determ", "store", "import", "other")


def _cumulative(stats: dict[Func, Any], suffix: str, names: tuple[str, ...]) -> float:
    return sum(v[3] for (f, _, n), v in stats.items() if f.endswith(suffix) and n in names)


def _miner_main(stats: dict[Func, Any]) -> float:
    """A miner's main passes, not counting those its attribution runs."""
    total = 0.0
    for (f, _, n), v in stats.items():
        if f.endswith("gpucredit/pipeline/miner.py") and n == "_main_pass":
            callers = v[4]
            total += sum(c[3] for (cf, _, cn), c in callers.items() if cn != "evaluate")
    return total


def _entered(stats: dict[Func, Any], suffix: str) -> float:
    """Cumulative time of calls into module ``suffix`` from outside it."""
    total = 0.0
    for (f, _, _), v in stats.items():
        if f.endswith(suffix):
            total += sum(c[3] for (cf, _, _), c in v[4].items() if not cf.endswith(suffix))
    return total


def split(profile: Path) -> dict[str, float]:
    """Seconds of each phase (``ORDER``) and of the ``liquid`` and ``numba`` shares."""
    stats: dict[Func, Any] = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    total = max(v[3] for v in stats.values())
    out = dict.fromkeys(ORDER, 0.0)
    for phase, suffix, names in PHASES:
        out[phase] += _cumulative(stats, suffix, names)
    out["main"] += _miner_main(stats)
    # the package's import pulls in the rest (NumPy, numba, pandas, ...); then the CLI's
    out["import"] = _cumulative(stats, "gpucredit/__init__.py", ("<module>",))
    out["import"] += _cumulative(stats, "gpucredit/cli/app.py", ("<module>",))
    out["other"] = max(0.0, total - sum(out[p] for p in ORDER if p != "other"))
    out["total"] = total
    out["liquid"] = _entered(stats, "gpucredit/credit/liquidation.py")
    out["numba"] = sum(
        v[3] for (f, _, n), v in stats.items() if "numba" in f and n == "_compile_for_args"
    )
    return out


def profile_example(path: Path, n_paths: int, folder: Path, *, warm: bool) -> dict[str, Any]:
    run = [*("-m", "gpucredit", "run", str(path), "--paths", str(n_paths)), "--workers", "1"]
    run.append("--quiet")
    env = {**os.environ, "PYTHONPATH": str(common.ROOT / "src")}
    if warm:  # fill the numba cache and the store's calibration first
        subprocess.run([sys.executable, *run], check=True, capture_output=True, env=env)
    out = folder / f"{path.stem}.prof"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(out), *run]
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return {"example": path.stem, "n_paths": n_paths, "seconds": split(out)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--paths", type=int, default=2_000)
    parser.add_argument("--example", nargs="+", default=None, help="stems; default: all")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--smoke", action="store_true", help="one example, 256 paths, no warm-up run"
    )
    args = parser.parse_args(argv)
    files = sorted(common.EXAMPLES.glob("*.yaml"))
    if args.smoke:
        args.paths, args.example = 256, ["b200_ai_lab"]
    if args.example:
        files = [f for f in files if f.stem in args.example]
    with tempfile.TemporaryDirectory() as folder:
        rows = [profile_example(f, args.paths, Path(folder), warm=not args.smoke) for f in files]
    table = []
    for r in rows:
        s = r["seconds"]
        shares = {k: 100.0 * v / s["total"] for k, v in s.items() if k != "total"}
        fmt = dict.fromkeys(shares, ".0f") | {"total": ".1f"}
        table.append({"example": r["example"], **shares, "total": s["total"], "_fmt": fmt})
    print(f"gpucredit run EXAMPLE --paths {args.paths} --workers 1: % of profiled seconds")
    common.print_table(
        [("example", "example", 32)]
        + [(p, p, 8) for p in (*ORDER, "liquid", "numba")]
        + [("total s", "total", 9)],
        table,
    )
    common.write_results(args.out, {**common.header(), "smoke": args.smoke, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
