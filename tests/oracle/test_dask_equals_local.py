"""A real Monte Carlo block (a shipped example's asset side and its loan's compiled waterfall)
run on this process's threads and on a 2-worker LocalCluster on loopback gives the same
numbers to the bit: the executor only moves the same block function and its results.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from gpucredit.engine import DaskExecutor, ThreadExecutor, block_ranges, executor
from gpucredit.pipeline.inputs import block_inputs
from gpucredit.pipeline.model import DealModel, build_model
from gpucredit.pipeline.outcomes import loan_waterfall
from gpucredit.scenarios import MonteCarloShocks
from tests.conftest import load_example_data, make_deal

pytestmark = pytest.mark.slow  # a LocalCluster of 2 processes and the kernels' first calls

SEED = 20260731
N_PATHS = 120
BLOCK = 25  # 5 blocks, the last one short


def _asset_and_loan_sums(model: DealModel, seed: int, start: int, stop: int) -> dict[str, object]:
    """One block reduced as a book's block would be: sums over its paths by month (USD), and
    per path the loan's default month and loss (compiled kernel)."""
    inputs = block_inputs(model, MonteCarloShocks(seed), start, stop)
    cash, scen = inputs.cash, inputs.scenarios
    ledger = loan_waterfall(
        model.terms, cash.cfads_usd, cash.collateral_value_usd, scen.sofr, "numba"
    )
    return {
        "cfads_usd": cash.cfads_usd.sum(axis=0),
        "collateral_value_usd": cash.collateral_value_usd.sum(axis=0),
        "default_month": ledger.default_month,
        "paths": stop - start,
        "total_cfads_usd": float(cash.cfads_usd.sum()),
    }


def _run(ex: DaskExecutor | ThreadExecutor, model: DealModel) -> list[dict[str, object]]:
    fn = functools.partial(_asset_and_loan_sums, model, SEED)
    return list(ex.map_blocks(fn, block_ranges(N_PATHS, BLOCK)))


def test_local_cluster_equals_local_threads_to_the_bit() -> None:
    model = build_model(make_deal(load_example_data("coreweave/ddtl4_spv")))
    local = _run(ThreadExecutor(2), model)
    sequential = _run(ThreadExecutor(1), model)
    with executor(workers=2) as ex:
        assert isinstance(ex, DaskExecutor)
        remote = _run(ex, model)
    assert len(remote) == len(local) == len(sequential) == 5
    for mine, theirs, alone in zip(local, remote, sequential, strict=True):
        assert mine.keys() == theirs.keys()
        for key, value in mine.items():
            if isinstance(value, np.ndarray):
                other = theirs[key]
                assert isinstance(other, np.ndarray)
                assert value.dtype == other.dtype, key
                assert np.array_equal(value, other), key  # bit-identical, not allclose
                assert np.array_equal(value, alone[key]), key
            else:
                assert value == theirs[key] == alone[key], key
    assert any(float(np.sum(r["cfads_usd"])) != 0.0 for r in local)  # type: ignore[arg-type]
