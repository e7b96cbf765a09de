"""Whole runs on worker processes (``engine.processes``): the same results as in this
process, in the order submitted, progress relayed here, errors raised here as themselves,
and workers that end when the pool closes, at once when it closes on an interrupt."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from gpucredit.config.loading import load_deal
from gpucredit.deals import shipped_deals
from gpucredit.engine.processes import InlinePool, RunPool, run_pool
from gpucredit.errors import SpecError, SpecIssue
from gpucredit.factors.parameter_source import SOURCED
from gpucredit.pipeline import simulate


def _square(x: int, *, progress: Callable[[str, int, int], None] | None = None) -> int:
    if progress is not None:
        progress("squaring", x, 10)
    return x * x


def _pid() -> int:
    return os.getpid()


def _bad_spec(where: str) -> None:
    raise SpecError(where, [SpecIssue("loan.rate", -1, "a rate of at least 0", line=7)])


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_results_come_back_in_the_order_submitted_from_other_processes() -> None:
    with run_pool(2, 8) as pool:
        assert isinstance(pool, RunPool)
        futures = [pool.submit(_square, x) for x in range(8)]
        pids = {pool.submit(_pid).result() for _ in range(6)}
    assert [f.result() for f in futures] == [x * x for x in range(8)]
    assert os.getpid() not in pids


def test_a_runs_progress_is_called_in_this_process() -> None:
    seen: list[tuple[str, int, int, int]] = []
    done = threading.Event()

    def progress(phase: str, n: int, total: int) -> None:
        seen.append((phase, n, total, threading.get_ident()))
        done.set()

    with run_pool(2, 2) as pool:
        assert pool.submit(_square, 3, progress=progress).result() == 9
        assert done.wait(30.0)  # the relay thread reads it soon after; 30 s: far above
    assert [s[:3] for s in seen] == [("squaring", 3, 10)]


def test_an_error_in_a_worker_is_raised_here_as_itself() -> None:
    with run_pool(2, 2) as pool:
        future = pool.submit(_bad_spec, "deal.yaml")
        with pytest.raises(SpecError) as raised:
            future.result()
    error = raised.value
    assert str(error.path) == "deal.yaml"
    assert error.issues[0].line == 7
    assert "field 'loan.rate' (line 7): got -1" in str(error)


def test_an_interrupt_ends_the_workers_at_once() -> None:
    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt), run_pool(2, 4) as pool:
        assert isinstance(pool, RunPool)
        workers = list(pool._executor._processes.values())  # type: ignore[attr-defined]
        pool.submit(_sleep, 60.0)
        pool.submit(_sleep, 60.0)
        raise KeyboardInterrupt
    assert time.perf_counter() - started < 30.0  # not the 60 s the runs would take
    assert all(w.exitcode is not None for w in workers)


@pytest.mark.parametrize(("processes", "runs"), [(1, 5), (4, 1)])
def test_one_core_or_one_run_runs_here(processes: int, runs: int) -> None:
    calls: list[Any] = []
    with run_pool(processes, runs) as pool:
        assert isinstance(pool, InlinePool)
        future = pool.submit(_square, 4, progress=lambda *a: calls.append(a))
        failed = pool.submit(_bad_spec, "x.yaml")
    assert future.result() == 16 and calls == [("squaring", 4, 10)]
    with pytest.raises(SpecError):
        failed.result()


def test_a_deal_run_on_a_worker_equals_the_run_here() -> None:
    """Pickled there and back, a result carries the same bits (seed, paths, parameters)."""
    (path,) = [p for p in shipped_deals() if p.name == "macquarie_gpu_facility.yaml"][:1]
    spec = load_deal(path)
    options: dict[str, Any] = {
        "n_paths": 300,
        "seed": 5,
        "keep_paths": 20,
        "calibration": SOURCED,
    }
    here = simulate(spec, **options)
    with run_pool(2, 2) as pool:
        there = pool.submit(simulate, spec, **options).result()
    assert here.summary().equals(there.summary())  # every figure, to the bit
    assert here.paths.equals(there.paths)  # every kept path, to the bit (not the time stamp)
    stamp = "created_utc"
    assert {k: v for k, v in here.provenance.items() if k != stamp} == {
        k: v for k, v in there.provenance.items() if k != stamp
    }
    assert here.metrics.fair_spread_bps == there.metrics.fair_spread_bps
