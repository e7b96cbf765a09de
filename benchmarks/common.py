"""What the benchmark scripts share: the cases, the timed main pass, the plain NumPy reference
loop, the peak-memory child process and the results file.

Not a test and not part of the package: the scripts beside it import it (``python
benchmarks/bench_engine.py`` puts this folder first on ``sys.path``).

The cases of issue 12's targets:

* ``canonical``: ``benchmarks/canonical_h100.yaml`` (10,000 new H100, a 60-month level-payment
  term loan), main pass with the default secondary-market recovery: at least 30 M
  path-months/s;
* ``structure``: ``examples/ddtl2_tiered_structure.yaml`` (three facilities), at least 15 M;
* ``miner``: ``examples/miner_hosting_pivot.yaml`` (three structure facilities and a bitcoin
  margin loan), at least 10 M.

Path-months per second = paths x horizon months / seconds of the main Monte Carlo pass: from
the call until its last block is merged (the ``progress`` callback's ``simulate`` phase), so
the fair-spread passes, breakeven, stress and duration that follow are not in it. The factor
parameters are resolved once, before the clock starts, from ``calibration`` (``latest`` by
default, as ``gpucredit run``; the store is ``GPUCREDIT_DB`` or the user's default).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLES = ROOT / "src" / "gpucredit" / "examples"
RESULTS = HERE / "results"


@dataclass(frozen=True, slots=True)
class Case:
    """One benchmarked deal: its file, kind and issue-12 target (path-months per second)."""

    name: str
    path: Path
    miner: bool
    target_path_months_per_s: float


CASES: dict[str, Case] = {
    "canonical": Case("canonical", HERE / "canonical_h100.yaml", False, 30e6),
    "structure": Case("structure", EXAMPLES / "ddtl2_tiered_structure.yaml", False, 15e6),
    "miner": Case("miner", EXAMPLES / "miner_hosting_pivot.yaml", True, 10e6),
}


def display_path(path: Path) -> str:
    """``path`` relative to the repository root where it lies inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def machine() -> dict[str, Any]:
    """CPU model, core count and platform of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()}


def versions() -> dict[str, str]:
    import numba

    import gpucredit

    return {
        "gpucredit": gpucredit.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
    }


def git_commit() -> str | None:
    """Short commit of the checkout, ``+dirty`` with uncommitted changes; None without git."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=HERE, capture_output=True, text=True, check=True, timeout=10
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def header() -> dict[str, Any]:
    """The fields every results file starts with."""
    return {
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "commit": git_commit(),
    }


def write_results(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten {display_path(path)}")


def print_table(columns: list[tuple[str, str, int]], rows: list[dict[str, Any]]) -> None:
    """A compact fixed-width table: ``(title, key, width)`` per column; a float key is shown
    with the format in its row's ``_fmt`` entry for that key, else as is."""
    print("".join(f"{title:>{width}}" for title, _, width in columns))
    print("-" * sum(width for _, _, width in columns))
    for row in rows:
        cells = []
        for _, key, width in columns:
            value = row.get(key, "")
            fmt = row.get("_fmt", {}).get(key, "")
            cells.append(f"{value:>{width}{fmt}}" if value is not None else f"{'-':>{width}}")
        print("".join(cells))


# -- the timed main pass ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Loaded:
    """A case's spec with its factor parameters, resolved once."""

    case: Case
    spec: Any
    params: Any
    market: Any
    months: int


def load(case: Case, calibration: str = "latest") -> Loaded:
    from gpucredit import load_deal, load_miner
    from gpucredit.factors.parameter_source import resolve

    if case.miner:
        miner = load_miner(case.path)
        params, market = resolve(calibration, None, miner.as_of).miner_params_for(miner)
        return Loaded(case, miner, params, market, miner.horizon_months)
    deal = load_deal(case.path)
    params = resolve(calibration, None, deal.as_of).params_for(deal)
    return Loaded(case, deal, params, None, deal.horizon_months)


def run_main_pass(loaded: Loaded, n_paths: int, *, block_size: int, workers: int) -> float:
    """Seconds of one main pass of ``n_paths`` paths (no kept paths, no spreads, premium or
    attribution), from the call until its last block is merged."""
    from gpucredit import simulate, simulate_miner

    done: list[float] = []

    def progress(phase: str, finished: int, total: int) -> None:
        if phase == "simulate" and finished == total and not done:
            done.append(time.perf_counter())

    start = time.perf_counter()
    if loaded.case.miner:
        simulate_miner(
            loaded.spec,
            n_paths=n_paths,
            block_size=block_size,
            n_workers=workers,
            solve_fair_spread=False,
            premium=False,
            attribution=False,
            params=loaded.params,
            market=loaded.market,
            progress=progress,
        )
    else:
        simulate(
            loaded.spec,
            n_paths=n_paths,
            block_size=block_size,
            keep_paths=0,
            n_workers=workers,
            solve_fair_spread=False,
            params=loaded.params,
            progress=progress,
        )
    return done[0] - start


# -- the plain NumPy reference ----------------------------------------------------------------


def reference_pass(
    n_paths: int,
    n_months: int,
    *,
    n_facilities: int,
    miner: bool,
    block_size: int,
    workers: int,
    seed: int = 0,
) -> float:
    """Seconds of a plain NumPy loop over months doing comparable per-path work.

    Issue 12's yardstick: vectorised over the paths of a block, a Python loop over months, the
    blocks on ``workers`` threads as the engine runs them. Per path-month it draws three
    normals and a uniform, steps a two-state regime chain, an OU log rent around a decaying
    regime mean and an OU SOFR, computes revenue, opex and CFADS, draws or tops up a six-month
    DSRA, pays interest and scheduled principal on ``n_facilities`` facilities in seniority,
    flags a default when a payment is short and books the recovery (an income-approach value
    with a haircut) against the balance. A miner also steps a bitcoin price with jumps and a
    hashprice, adds mining revenue and tests a margin loan's LTV against a top-up from its
    treasury. The numbers are illustrative; only the work is meant to be comparable.
    """
    from gpucredit.engine.runner import block_ranges, run_blocks

    def block(start: int, stop: int) -> float:
        return _reference_block(stop - start, n_months, n_facilities, miner, seed, start)

    begin = time.perf_counter()
    total = 0.0
    for loss in run_blocks(block, block_ranges(n_paths, block_size), n_workers=workers):
        total += loss
    seconds = time.perf_counter() - begin
    if not np.isfinite(total):
        raise RuntimeError("reference loop: non-finite loss")
    return seconds


def _reference_block(
    n: int, n_months: int, n_fac: int, miner: bool, seed: int, start: int
) -> float:
    """One block of :func:`reference_pass`; returns its total loss (USD)."""
    rng = np.random.default_rng([seed, start])
    units, hours = 10_000.0, 730.0
    principal = np.linspace(1.0, 0.5, n_fac)[:, None] * (100e6 / n_fac) * np.ones((n_fac, n))
    balance = principal.copy()
    margin = np.linspace(0.05, 0.09, n_fac)[:, None]
    instalment = principal / n_months
    regime = np.zeros(n, dtype=np.int8)
    log_rent = np.full(n, np.log(2.0))
    sofr = np.full(n, 0.04)
    dsra = np.full(n, 6.0e6)
    alive = np.ones(n, dtype=bool)
    loss = np.zeros(n)
    log_btc = np.full(n, np.log(100_000.0))
    treasury = np.full(n, 20e6)
    pledged_btc, margin_loan = 500.0, 25e6
    for t in range(n_months):
        z = rng.standard_normal((3, n))
        u = rng.random(n)
        switch = np.where(regime == 0, 0.03, 0.10)
        regime = np.where(u < switch, 1 - regime, regime).astype(np.int8)
        mean = np.where(regime == 0, np.log(2.2), np.log(1.6)) - 0.15 * t / 12.0
        log_rent += 0.2 * (mean - log_rent) + 0.08 * z[0]
        sofr += 0.05 * (0.035 - sofr) + 0.002 * z[1]
        np.maximum(sofr, 0.0, out=sofr)
        rent = np.exp(log_rent)
        revenue = units * hours * 0.85 * rent
        if miner:
            jump = np.where(u < 0.02, -0.25, 0.0)
            log_btc += 0.005 + 0.15 * z[2] + jump
            btc = np.exp(log_btc)
            hashprice = btc * 3.125 * 144.0 * 30.0 / (800e6 * np.exp(0.02 * t))
            revenue += 50_000.0 * hashprice
            ltv = margin_loan / (pledged_btc * btc)
            call = ltv > 0.75
            top_up = np.where(call, np.minimum(treasury, 0.1 * margin_loan), 0.0)
            treasury -= top_up
            alive &= ~(call & (top_up <= 0.0))
        opex = 0.35 * revenue + 1.2e6
        cfads = revenue - opex
        available = np.maximum(cfads, 0.0) + dsra
        short = np.zeros(n, dtype=bool)
        for k in range(n_fac):
            interest = balance[k] * (sofr + margin[k]) / 12.0
            due = interest + np.minimum(instalment[k], balance[k])
            paid = np.minimum(available, due)
            available -= paid
            balance[k] -= np.maximum(paid - interest, 0.0)
            short |= paid < due - 1e-6
        dsra = np.minimum(available, 6.0e6)
        newly = alive & short
        value = units * hours * 12.0 * rent * 2.5 * 0.7
        owed = balance.sum(axis=0)
        loss += np.where(newly, np.maximum(owed - value, 0.0), 0.0)
        alive &= ~short
        balance *= alive
    return float(loss.sum())


# -- peak memory in a fresh process -----------------------------------------------------------


def _rss_kib() -> int:
    """Current resident set of this process, KiB (Linux ``/proc``; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reset_peak() -> bool:
    """Reset this process's peak resident set to its current one (Linux 4.0+:
    ``/proc/self/clear_refs``), so that ``ru_maxrss`` then measures what follows; False where
    that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def memory_child(case_name: str, n_paths: int, block_size: int, workers: int) -> None:
    """In a fresh process: load the case and warm up on one small block (kernels compiled or
    loaded), reset the peak resident set, then one main pass of ``n_paths``; print one JSON
    line with the run's peak resident set (``ru_maxrss``, MiB) and what it added to the
    resident set before it. Without the reset the peak may be the loading's (``peak_reset``)."""
    loaded = load(CASES[case_name])
    run_main_pass(loaded, 256, block_size=256, workers=1)
    reset = _reset_peak()
    baseline = _rss_kib()
    seconds = run_main_pass(loaded, n_paths, block_size=block_size, workers=workers)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    row = {
        "n_paths": n_paths,
        "baseline_rss_mib": baseline / 1024,
        "peak_rss_mib": peak / 1024,
        "run_adds_mib": (peak - baseline) / 1024,
        "seconds": seconds,
        "peak_reset": reset,
    }
    print(json.dumps(row))


def measure_memory(
    script: Path, case_name: str, n_paths: int, *, block_size: int, workers: int
) -> dict[str, Any]:
    """:func:`memory_child` run by ``script --memory-child`` in a fresh interpreter."""
    cmd = [
        sys.executable,
        str(script),
        "--memory-child",
        case_name,
        str(n_paths),
        "--block-size",
        str(block_size),
        "--workers",
        str(workers),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    row: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    row.update(case=case_name, block_size=block_size, workers=workers)
    return row


def best_of(repeat: int, run: Callable[[], float]) -> tuple[float, float]:
    """Best and median seconds of ``repeat`` runs."""
    times = sorted(run() for _ in range(max(1, repeat)))
    return times[0], times[len(times) // 2]
