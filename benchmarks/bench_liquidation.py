"""Liquidation benchmark: the compiled sale-schedule optimiser against the NumPy oracle.

Run from the repository root::

    python benchmarks/bench_liquidation.py                 # 20,000 lots and paths, best of 3
    python benchmarks/bench_liquidation.py --smoke         # tiny sizes: checks the script runs

It asserts nothing about speed; it prints, in the same run, the figures of the compiled
optimiser and of the NumPy dynamic programme it replaces, and their ratio:

* **Liquidation alone**: ``SecondaryMarketRecovery.summarise`` of the canonical deal
  (``benchmarks/canonical_h100.yaml``: 10,000 H100 sold over up to 12 months on a 1/12 grid)
  on ``--lots`` defaulted paths whose per-unit values, default months and lender rates are
  spread over the range the engine produces. Lots per second, and the largest relative gap in
  sale PV between the two methods.
* **Main pass**: ``gpucredit.simulate(deal, n_paths, solve_fair_spread=False, keep_paths=0)``
  timed to the end of its main Monte Carlo pass (the ``progress`` callback), by default with
  the sourced parameters (``--calibration sourced``: most paths default, so every one of
  them is a sale to optimise, the worst case), with the default
  (compiled, memoised) recovery, with the NumPy optimiser memoised as before the compiled one,
  and with the first-version fixed-factor recovery (no sale optimised at all: the floor that
  liquidation can approach). Path-months per wall-clock second and per CPU second (the CPU
  time of all threads: less disturbed by other processes on a shared machine).

Both are the best of ``--repeat`` runs (liquidation alone: of its CPU time) after a warm-up
that loads the numba kernels; in the main pass the three recoveries take turns in each repeat.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import common
import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_DEAL = HERE / "canonical_h100.yaml"
RESULTS = common.RESULTS / "liquidation.json"


def _clocks() -> tuple[float, float]:
    """Wall-clock and CPU seconds (all threads of this process)."""
    return time.perf_counter(), time.process_time()


def bench_liquidation_alone(deal_path: Path, n_lots: int, repeat: int) -> dict[str, float]:
    """Lots per second of the compiled and the NumPy optimiser on the canonical deal's market."""
    from gpucredit import load_deal
    from gpucredit.credit.liquidation import MarketDefaultState
    from gpucredit.pipeline import build_model

    compiled = build_model(load_deal(deal_path)).market
    oracle = dataclasses.replace(compiled, method="numpy")
    rng = np.random.default_rng(0)
    units = np.array([c.units for c in compiled.cohorts])
    # per-unit values from deep default (a tenth of a new H100) to new, months over the term
    unit_value = np.exp(rng.uniform(np.log(2_000.0), np.log(25_000.0), n_lots))
    state = MarketDefaultState(
        month=rng.integers(1, 61, n_lots),
        ead_usd=np.full(n_lots, 1.2e8),
        pledged_cash_usd=np.zeros(n_lots),
        cohort_value_usd=unit_value[:, None] * units[None, :],
        monthly_discount=rng.uniform(0.002, 0.006, n_lots),
    )
    compiled.summarise(state)  # warm-up: load the compiled kernels

    # the two take turns; the best CPU time of each (single-threaded: least disturbed by
    # other processes on the machine)
    cpu: dict[str, list[float]] = {"compiled": [], "numpy": []}
    for _ in range(repeat):
        for name, model in (("compiled", compiled), ("numpy", oracle)):
            start = time.process_time()
            model.summarise(state)
            cpu[name].append(time.process_time() - start)
    fast_s, slow_s = min(cpu["compiled"]), min(cpu["numpy"])
    fast, slow = compiled.summarise(state), oracle.summarise(state)
    sold = slow.pv_usd > 0.0
    gap = np.max(np.abs(fast.pv_usd[sold] / slow.pv_usd[sold] - 1.0), initial=0.0)
    return {
        "compiled_lots_per_s": n_lots / fast_s,
        "numpy_lots_per_s": n_lots / slow_s,
        "ratio": slow_s / fast_s,
        "max_relative_pv_gap": float(gap),
    }


def bench_main_pass(
    deal_path: Path, n_paths: int, repeat: int, calibration: str
) -> dict[str, float]:
    """Main-pass path-months per second with each recovery, timed in the same run."""
    from gpucredit import load_deal, simulate
    from gpucredit.credit.liquidation import MemoisedRecovery
    from gpucredit.credit.recovery import IncomeApproachRecovery, RecoveryModel
    from gpucredit.pipeline import build_model

    deal = load_deal(deal_path)
    market = build_model(deal).market
    recoveries: dict[str, Callable[[], RecoveryModel | None]] = {
        "compiled": lambda: None,  # the engine's default: MemoisedRecovery(compiled market)
        "numpy": lambda: MemoisedRecovery(dataclasses.replace(market, method="numpy")),
        "fixed_factor": lambda: IncomeApproachRecovery("broker", 0.05),
    }

    def timed(
        make: Callable[[], RecoveryModel | None], paths: int
    ) -> Callable[[], tuple[float, float]]:
        def run() -> tuple[float, float]:
            done: list[tuple[float, float]] = []

            def progress(phase: str, count: int, total: int) -> None:
                if phase == "simulate" and count == total and not done:
                    done.append(_clocks())

            wall, cpu = _clocks()
            result = simulate(
                deal,
                n_paths=paths,
                keep_paths=0,
                solve_fair_spread=False,
                recovery=make(),
                progress=progress,
                calibration=calibration,
            )
            pd.append(result.metrics.pd)
            path_months = paths * result.metrics.tenor_months
            return (done[0][0] - wall) / path_months, (done[0][1] - cpu) / path_months

        return run

    pd: list[float] = []
    timed(recoveries["compiled"], 256)()  # warm-up: load the compiled kernels
    # the methods take turns, so that a burst of load from other processes hits all of them
    seconds: dict[str, list[tuple[float, float]]] = {name: [] for name in recoveries}
    for _ in range(repeat):
        for name, make in recoveries.items():
            seconds[name].append(timed(make, n_paths)())
    out: dict[str, float] = {}
    for name, runs in seconds.items():
        out[name] = 1.0 / min(r[0] for r in runs)
        out[f"{name}_cpu"] = 1.0 / min(r[1] for r in runs)
    out["ratio"] = out["compiled"] / out["numpy"]
    out["ratio_cpu"] = out["compiled_cpu"] / out["numpy_cpu"]
    out["pd"] = pd[-1]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deal", type=Path, default=DEFAULT_DEAL)
    parser.add_argument("--lots", type=int, default=20_000, help="defaulted paths, alone")
    parser.add_argument("--paths", type=int, default=20_000, help="paths of the main pass")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--calibration",
        default="sourced",
        help="factor parameters of the main pass: 'sourced' (default; most paths default, "
        "the worst case for liquidation), 'latest' or a stored id, as for gpucredit run",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    lots, paths, repeat = (256, 256, 1) if args.smoke else (args.lots, args.paths, args.repeat)

    alone = bench_liquidation_alone(args.deal, lots, repeat)
    print(f"Liquidation alone, {lots:,} lots of the canonical deal (best of {repeat}):")
    print(f"  compiled  {alone['compiled_lots_per_s']:>12,.0f} lots per CPU second")
    print(f"  NumPy DP  {alone['numpy_lots_per_s']:>12,.0f} lots per CPU second")
    print(f"  ratio     {alone['ratio']:>12.1f} x")
    print(f"  largest relative gap in sale PV: {alone['max_relative_pv_gap']:.1e}")

    main_pass = bench_main_pass(args.deal, paths, repeat, args.calibration)
    print(
        f"Main pass, {paths:,} paths, no fair spread, calibration {args.calibration!r} "
        f"(PD {main_pass['pd']:.0%}; best of {repeat}):"
    )
    print(f"  {'':<30} {'wall':>8} {'CPU':>8}  (M path-months per second)")
    for name, label in (
        ("compiled", "compiled optimiser (default)"),
        ("numpy", "NumPy optimiser (before)"),
        ("fixed_factor", "fixed-factor recovery"),
    ):
        wall, cpu = main_pass[name] / 1e6, main_pass[f"{name}_cpu"] / 1e6
        print(f"  {label:<30} {wall:>8.2f} {cpu:>8.2f}")
    ratio, ratio_cpu = main_pass["ratio"], main_pass["ratio_cpu"]
    print(f"  {'ratio compiled / NumPy':<30} {ratio:>8.2f} {ratio_cpu:>8.2f}")
    report = {**common.header(), "smoke": args.smoke, "alone": alone, "main_pass": main_pass}
    common.write_results(args.out, report)


if __name__ == "__main__":
    main()
