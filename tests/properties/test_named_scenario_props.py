"""Each named stress moves the PD the way its definition says, on a shipped example, beyond
Monte Carlo error: same seed and paths as the base case (common random numbers), so the PD
difference's standard error is the paired one, ``std(d_i) / sqrt(n)`` over paths ``i``."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gpucredit
from gpucredit.config.loading import read_document, validate_document
from gpucredit.config.miner import MinerSpec
from gpucredit.miners import simulate_miner
from gpucredit.pipeline import SimulationResult, simulate
from tests.conftest import EXAMPLES, spec_path

#: Standard errors the PD rise must clear: 3 (a one-sided 0.13% chance of a false pass).
K_SE = 3.0
N_PATHS = 1_000


def _run(stem: str, scenario: str, n_paths: int = N_PATHS) -> SimulationResult:
    deal = gpucredit.load_deal(spec_path(stem))
    return simulate(
        deal,
        n_paths=n_paths,
        seed=0,
        keep_paths=n_paths,
        calibration="sourced",
        solve_fair_spread=False,
        scenario=scenario,
    )


def _defaulted(result: SimulationResult) -> np.ndarray:
    """Each path's default indicator over the horizon (the first facility), shape (path,)."""
    flags = result.paths["defaulted"].to_numpy()
    if flags.ndim == 3:
        flags = flags[:, :, 0]
    return np.asarray(flags.any(axis=1), dtype=np.float64)


def _assert_raises_pd(stem: str, scenario: str, n_paths: int = N_PATHS) -> None:
    base, stressed = _run(stem, "base", n_paths), _run(stem, scenario, n_paths)
    d_base, d_stress = _defaulted(base), _defaulted(stressed)
    assert d_base.mean() == pytest.approx(base.metrics.pd, abs=1e-12)  # the cube is the run
    diff = d_stress - d_base
    se = float(diff.std(ddof=1) / math.sqrt(diff.size))
    assert diff.mean() > K_SE * se, (scenario, base.metrics.pd, stressed.metrics.pd, se)


@pytest.mark.parametrize(
    "scenario", ["gpu-glut", "next-gen-step-down", "credit-cycle-first", "rate-shock"]
)
def test_the_gpu_stresses_raise_the_merchant_deals_pd(scenario: str) -> None:
    # merchant_h100 is merchant-only and floating-rate: rents and SOFR reach its cash flows
    _assert_raises_pd("merchant_h100", scenario, 2_000 if scenario == "rate-shock" else N_PATHS)


def test_the_largest_tenant_defaulting_raises_the_contracted_deals_pd() -> None:
    _assert_raises_pd("ddtl_ig_contracted", "largest-tenant-default")


def test_a_shut_credit_window_raises_the_pd_of_notes_that_refinance_a_balloon() -> None:
    # merchant_h100's level-payment loan never refinances, so the window cannot reach it;
    # the Cipher notes need an open market to refinance at maturity
    _assert_raises_pd("cipher/cipher_compute_notes_2030", "credit-window-shut", 500)


def test_the_crypto_winter_leaves_a_gpu_deal_as_it_is() -> None:
    base, winter = _run("merchant_h100", "base", 256), _run("merchant_h100", "crypto-winter", 256)
    assert winter.metrics.pd == base.metrics.pd
    assert winter.metrics.expected_loss_usd == base.metrics.expected_loss_usd


@pytest.mark.slow  # two miner runs and the bitcoin fit on first use
def test_the_crypto_winter_raises_a_miners_pd() -> None:
    path = EXAMPLES / "miner_hosting_pivot.yaml"
    spec = validate_document(MinerSpec, read_document(path, what="miner"), what="miner")
    runs = [
        simulate_miner(
            spec,
            n_paths=N_PATHS,
            seed=0,
            premium=False,
            attribution=False,
            premium_curve=False,
            solve_fair_spread=False,
            calibration="sourced",
            scenario=name,
        )
        for name in ("base", "crypto-winter")
    ]
    base, winter = (r.facilities[0] for r in runs)
    # no path cube for a miner: the two standard errors combined as if independent, an upper
    # bound on the paired one (common random numbers correlate the runs positively)
    se = math.hypot(base.pd_se, winter.pd_se)
    assert winter.pd - base.pd > K_SE * se, (base.pd, winter.pd, se)
