"""A group of runs on a pool (``cli.runs.RunSet``): results in the order submitted, whichever
worker finished first, and one progress row per group that has runs."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from gpucredit._progress import ProgressBar
from gpucredit.cli.runs import RunSet
from gpucredit.engine.processes import InlinePool, run_pool


def _late(x: int, *, progress: object = None) -> int:
    """``x`` squared, the first runs finishing last."""
    time.sleep(0.05 * (4 - x))
    return x * x


@pytest.mark.parametrize("processes", [1, 2])
def test_results_in_the_order_submitted_and_a_row_per_group_with_runs(processes: int) -> None:
    log = io.StringIO()
    pipe = Console(file=io.StringIO(), force_terminal=False)
    with run_pool(processes, 4) as pool, ProgressBar(pipe, lines=True, stream=log) as bar:
        assert isinstance(pool, InlinePool) == (processes == 1)
        squares: RunSet[int] = RunSet(pool, bar, "squares")
        RunSet(pool, bar, "nothing")  # a group with no run shows no row
        for x in range(4):
            squares.submit(f"run {x}", _late, x)
        assert squares.results() == [0, 1, 4, 9]
    lines = log.getvalue().splitlines()  # a bar on a pipe ends each row with "LABEL: done"
    assert any(line.startswith("squares: done") for line in lines), lines
    assert not any(line.startswith("nothing") for line in lines), lines
