"""Oracle: a homogeneous one-factor Gaussian-copula book drawn with numpy has the Vasicek LHP
loss quantiles and expected shortfalls, within Monte Carlo error, through
``book.losses.summarise_losses``.

The book: 10 positions of 2,000 obligors each (20,000 obligors), PD 2%, asset correlation
15%, LGD 60%, 1 USD of exposure per obligor. Given the factor ``Z`` the obligors default
independently with the conditional PD ``p(Z)``, so a position's default count is
``Binomial(2,000, p(Z))``: the same law as drawing each obligor's latent variable.

Granularity: the finite pool's 99.9% quantile differs from the LHP one by O(1 / 20,000)
(Gordy's granularity adjustment); the second test computes the finite pool's exact quantile
and checks the bias is under 0.5% of it, a quarter of the 99.9% VaR's standard error (~2%).
k = 4 standard errors: a fixed seed, and a tolerance wide enough that a correct estimator
fails with probability ~6e-5 on a fresh seed, narrow enough (a few percent of the quantile)
to catch a wrong level or a wrong LGD.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom, norm

from gpucredit.book.losses import summarise_losses
from gpucredit.book.vasicek import (
    lhp_expected_loss,
    lhp_expected_shortfall,
    lhp_loss_quantile,
)

PD, RHO, LGD = 0.02, 0.15, 0.6
POSITIONS, OBLIGORS = 10, 2_000
PATHS = 40_000
K = 4.0


def _book(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(PATHS)
    p = norm.cdf((norm.ppf(PD) - np.sqrt(RHO) * z) / np.sqrt(1.0 - RHO))
    counts = rng.binomial(OBLIGORS, np.repeat(p[:, None], POSITIONS, axis=1))
    return np.asarray(LGD * counts, dtype=np.float64)  # USD: 1 USD per obligor


@pytest.mark.parametrize("level", [0.99, 0.999])
def test_var_converges_to_the_vasicek_quantile(level: float) -> None:
    summary = summarise_losses(_book(20261206), levels=(level,))
    exposure = float(POSITIONS * OBLIGORS)
    lhp = float(lhp_loss_quantile(level, PD, RHO, LGD)) * exposure
    tail = summary.tail(level)
    assert tail.var_se_usd > 0.0
    assert abs(tail.var_usd - lhp) <= K * tail.var_se_usd
    assert tail.var_low_usd <= tail.var_usd <= tail.var_high_usd
    # ES against the closed form, with the Manistre-Hancock standard error, same k.
    lhp_es = lhp_expected_shortfall(level, PD, RHO, LGD) * exposure
    assert abs(tail.es_usd - lhp_es) <= K * tail.es_se_usd
    # EL: the mean's own standard error, same k.
    assert abs(summary.el_usd - lhp_expected_loss(PD, LGD) * exposure) <= K * summary.el_se_usd


def test_granularity_bias_is_small_against_the_tolerance() -> None:
    # The finite pool's exact 99.9% quantile (defaults ~ Binomial(20,000, p(Z)) given Z,
    # integrated over Z by the trapezoid rule) against the LHP one: the bias the oracle above
    # ignores must be a small part of its tolerance (k standard errors, ~2% each).
    n = POSITIONS * OBLIGORS
    z = np.linspace(-8.0, 8.0, 8_001)
    p = norm.cdf((norm.ppf(PD) - np.sqrt(RHO) * z) / np.sqrt(1.0 - RHO))
    lhp_count = float(lhp_loss_quantile(0.999, PD, RHO, 1.0)) * n
    k = np.arange(int(lhp_count * 0.9), int(lhp_count * 1.1))
    cdf = np.trapezoid(binom.cdf(k[:, None], n, p[None, :]) * norm.pdf(z)[None, :], z, axis=1)
    finite_count = float(k[np.searchsorted(cdf, 0.999)])
    bias = abs(finite_count - lhp_count) / lhp_count
    assert bias < 0.005  # under a quarter of one standard error of the 99.9% VaR
