"""The Vasicek large-homogeneous-pool formulas against published Basel II IRB risk weights and
against their own identities.

Source of the reference numbers: Basel Committee on Banking Supervision, "International
Convergence of Capital Measurement and Capital Standards" (June 2006), Annex 5,
"Illustrative IRB risk weights for UL", corporate exposures, LGD 45%, maturity 2.5 years
(the table printed to two decimals of a percent; a public copy:
http://www.bankersacademy.com/regulations/basel2-annex5.php). The risk weight is
``12.5 * LGD * (p_999 - PD) * MA`` with ``p_999`` the ASRF conditional PD at 99.9% (BIS, "An
Explanatory Note on the Basel II IRB Risk Weight Functions", 2005) and the maturity
adjustment ``MA = (1 + (M - 2.5) b) / (1 - 1.5 b)``, ``b = (0.11852 - 0.05478 ln PD)^2``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from gpucredit.book.vasicek import (
    conditional_pd,
    lhp_expected_loss,
    lhp_expected_shortfall,
    lhp_loss_cdf,
    lhp_loss_quantile,
)

#: (PD, risk weight %) from the Basel II Annex 5 table, corporate, LGD 45%, M = 2.5 years.
BASEL_II_ANNEX_5 = [
    (0.0003, 14.44),
    (0.0010, 29.65),
    (0.0100, 92.32),
    (0.0200, 114.86),
    (0.0300, 128.44),
]


def _corporate_correlation(pd: float) -> float:
    """Basel II corporate asset correlation (framework para. 272)."""
    e = (1.0 - math.exp(-50.0 * pd)) / (1.0 - math.exp(-50.0))
    return 0.12 * e + 0.24 * (1.0 - e)


@pytest.mark.parametrize(("pd", "risk_weight_pct"), BASEL_II_ANNEX_5, ids=lambda v: str(v))
def test_basel_ii_risk_weights(pd: float, risk_weight_pct: float) -> None:
    r = _corporate_correlation(pd)
    p999 = conditional_pd(pd, r, 0.999)
    assert isinstance(p999, float)
    b = (0.11852 - 0.05478 * math.log(pd)) ** 2
    maturity_adjustment = 1.0 / (1.0 - 1.5 * b)  # M = 2.5: the (M - 2.5) b term is zero
    rw = 12.5 * 0.45 * (p999 - pd) * maturity_adjustment * 100.0
    # The table prints two decimals of a percent, and its 2% row sits 0.006 above the exact
    # formula (rounded intermediates in the published computation): one unit of the last place.
    assert rw == pytest.approx(risk_weight_pct, abs=0.01)


def test_quantile_and_cdf_are_inverse() -> None:
    q = np.array([0.5, 0.9, 0.99, 0.999])
    x = lhp_loss_quantile(q, 0.02, 0.15, lgd=0.6)
    back = lhp_loss_cdf(x, 0.02, 0.15, lgd=0.6)
    # Round trip through Phi and Phi^-1: a few ulps of double precision.
    np.testing.assert_allclose(back, q, rtol=1e-12)


def test_cdf_bounds_and_mean() -> None:
    assert lhp_loss_cdf(0.0, 0.02, 0.15, lgd=0.6) == 0.0
    assert lhp_loss_cdf(0.6, 0.02, 0.15, lgd=0.6) == 1.0
    assert lhp_loss_cdf(0.9, 0.02, 0.15, lgd=0.6) == 1.0
    # The mean of the loss fraction integrates the survival function over [0, lgd].
    grid = np.linspace(0.0, 0.6, 200_001)
    survival = 1.0 - np.asarray(lhp_loss_cdf(grid, 0.02, 0.15, lgd=0.6))
    mean = float(np.sum((survival[1:] + survival[:-1]) * 0.5 * np.diff(grid)))
    # Trapezoid rule on 200,000 steps of a smooth survival function: error ~1e-9.
    assert mean == pytest.approx(lhp_expected_loss(0.02, 0.6), abs=1e-7)


@pytest.mark.parametrize(
    ("pd", "rho", "lgd"), [(0.0, 0.1, 0.5), (0.1, 1.0, 0.5), (0.1, 0.1, 0.0), (1.0, 0.2, 1.0)]
)
def test_rejects_parameters_outside_the_model(pd: float, rho: float, lgd: float) -> None:
    with pytest.raises(ValueError, match="Vasicek LHP"):
        lhp_loss_quantile(0.99, pd, rho, lgd)


@pytest.mark.parametrize("level", [0.99, 0.999])
def test_expected_shortfall_is_the_mean_quantile_beyond_the_level(level: float) -> None:
    # ES_q = (1 / (1 - q)) * integral over u in (q, 1) of the u-quantile: Gauss-Legendre in
    # the variable t = Phi^-1(u), where the integrand is smooth.
    nodes, weights = np.polynomial.legendre.leggauss(200)
    lo, hi = norm.ppf(level), 8.0  # beyond t = 8 the normal weight is ~1e-15
    t = 0.5 * (hi - lo) * nodes + 0.5 * (hi + lo)
    u = norm.cdf(t)
    quantiles = np.asarray(lhp_loss_quantile(u, 0.02, 0.15, 0.6))
    integral = 0.5 * (hi - lo) * float(np.sum(weights * quantiles * norm.pdf(t)))
    # Quadrature on 200 nodes of a smooth integrand, and the bivariate normal CDF's own
    # accuracy (scipy's Genz algorithm, ~1e-8 absolute on the joint probability).
    assert integral / (1.0 - level) == pytest.approx(
        lhp_expected_shortfall(level, 0.02, 0.15, 0.6), rel=1e-5
    )
