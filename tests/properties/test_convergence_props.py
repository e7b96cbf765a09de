"""Properties of correlation convergence: monotone in the stress correlation, block-invariant."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit._typing import Float64Array
from gpucredit.scenarios.grid import TimeGrid
from gpucredit.scenarios.miner import MinerMarketPaths, simulate_miner_market
from tests.oracle.test_convergence import _barrier_loans
from tests.unit.test_miner_market import AS_OF, gpu_block, hand_convergence, hand_params


@settings(max_examples=12)
@given(
    low=st.floats(0.0, 0.75),
    step=st.floats(0.15, 0.9),
    copula=st.sampled_from(["gaussian", "student_t"]),
)
def test_raising_the_stress_correlation_never_lowers_the_joint_default(
    low: float, step: float, copula: str
) -> None:
    # Slepian's inequality: an orthant probability of an elliptical vector rises with the
    # correlation. At a fixed seed the two runs share every random number; with 4,096 paths a
    # step of 0.15 moves the joint PD by several standard errors of the paired difference.
    high = min(low + step, 0.95)
    conv = hand_convergence(copula=copula)
    joint = []
    for level in (low, high):
        a, b, _ = _barrier_loans(
            dataclasses.replace(conv, stress_correlation=level), 4_096, 24, regime=1
        )
        joint.append(float(np.mean(a & b)))
    assert joint[1] >= joint[0]


FIELDS = ("btc_usd", "hashrate_eh_s", "fees_btc_per_block", "hashprice_usd_per_ph_day")


def _run_in_blocks(copula: str, bounds: list[int], n_months: int = 7) -> dict[str, Float64Array]:
    params, grid = hand_params(), TimeGrid(AS_OF, n_months)
    conv = hand_convergence(stress_correlation=0.7, copula=copula)
    parts: list[MinerMarketPaths] = []
    for start, stop in itertools.pairwise(bounds):
        scen, normals = gpu_block(5, start, stop, n_months)  # random regimes
        parts.append(simulate_miner_market(params, conv, grid, scen, normals, 5, start, stop))
    return {f: np.concatenate([getattr(p, f) for p in parts]) for f in FIELDS}


@pytest.mark.parametrize("copula", ["gaussian", "student_t"])
def test_paths_are_identical_whatever_the_block_split(copula: str) -> None:
    by_100 = _run_in_blocks(copula, [0, 100, 200, 293])
    by_256 = _run_in_blocks(copula, [0, 256, 293])
    for field in FIELDS:
        np.testing.assert_array_equal(by_100[field], by_256[field])
