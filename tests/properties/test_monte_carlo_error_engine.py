"""The engine's Monte Carlo errors: the same for every block split, and the size of the scatter
between seeds (Wilson coverage on a closed-form deal: tests/oracle/test_wilson_coverage.py)."""

from __future__ import annotations

import numpy as np
import pytest

import gpucredit
from gpucredit.config.spec import DealSpec
from gpucredit.credit.metrics import FacilityMetrics
from tests.conftest import EXAMPLES

#: A cheap deal with a PD of about 13%: 8,000 B200 on one B-rated take-or-pay contract.
DEAL = "b200_ai_lab"


@pytest.fixture(scope="module")
def deal() -> DealSpec:
    return gpucredit.load_deal(EXAMPLES / f"{DEAL}.yaml")


def _errors(m: FacilityMetrics) -> tuple[object, ...]:
    return (
        m.pd_se,
        m.pd_ci_low,
        m.pd_ci_high,
        m.el_se_usd,
        m.lgd_se,
        m.fair_spread_se_bps,
        m.implied_rating_range,
    )


def test_standard_errors_are_identical_whatever_the_block_size(deal: DealSpec) -> None:
    common = {"n_paths": 600, "seed": 4, "keep_paths": 0}
    a = gpucredit.simulate(deal, block_size=256, n_workers=1, **common)
    b = gpucredit.simulate(deal, block_size=100, n_workers=2, **common)
    assert a.metrics.fair_spread_se_bps is not None and a.metrics.lgd_se is not None
    assert _errors(a.metrics) == _errors(b.metrics)


@pytest.mark.slow
def test_standard_errors_match_the_scatter_between_seeds(deal: DealSpec) -> None:
    # 16 independent runs of 400 paths: the standard deviation of their estimates should equal
    # the standard error each run reports. Tolerance: a factor of 2 either way; with 15 degrees
    # of freedom the sample SD falls below half the true one with probability 0.2%.
    runs = [
        gpucredit.simulate(deal, n_paths=400, seed=100 + s, keep_paths=0, n_workers=1).metrics
        for s in range(16)
    ]
    for value, error in (
        ("pd", "pd_se"),
        ("expected_loss_usd", "el_se_usd"),
        ("lgd", "lgd_se"),
        ("fair_spread_bps", "fair_spread_se_bps"),
        ("actuarial_spread_bps", "actuarial_spread_se_bps"),
    ):
        estimates = np.array([getattr(m, value) for m in runs], dtype=float)
        reported = np.array([getattr(m, error) for m in runs], dtype=float)
        ratio = float(np.std(estimates, ddof=1) / np.sqrt(np.mean(reported**2)))
        assert 0.5 < ratio < 2.0, f"{value}: scatter / reported standard error = {ratio:.2f}"
