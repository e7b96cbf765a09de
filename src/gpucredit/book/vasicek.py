"""The Vasicek large-homogeneous-pool (LHP) loss distribution: the analytic oracle of a book.

Model (one-factor Gaussian copula): obligor ``i`` defaults when
``sqrt(rho) Z + sqrt(1 - rho) e_i < Phi^-1(PD)``, with ``Z`` and ``e_i`` independent standard
normals. Given the factor, defaults are independent with the conditional PD

    p(Z) = Phi((Phi^-1(PD) - sqrt(rho) Z) / sqrt(1 - rho)),

and in a pool of infinitely many equal obligors the default fraction equals ``p(Z)``. Its
``q``-quantile is the Basel ASRF formula (BIS, "An Explanatory Note on the Basel II IRB Risk
Weight Functions", 2005, eq. (1); ``REFERENCES.md``, "Credit-risk reference formulas")

    p_q = Phi((Phi^-1(PD) + sqrt(rho) Phi^-1(q)) / sqrt(1 - rho)),

its expected shortfall (the mean of the loss fraction beyond its ``q``-quantile)

    ES_q = LGD Phi_2(Phi^-1(PD), Phi^-1(1 - q); sqrt(rho)) / (1 - q),

because ``p(Z)`` exceeds ``p_q`` exactly when ``Z < Phi^-1(1 - q)`` and
``E[p(Z) 1{Z < z}] = P(sqrt(rho) Z + sqrt(1 - rho) e < Phi^-1(PD), Z < z)`` (a bivariate
normal probability with correlation ``sqrt(rho)``), its CDF

    P(p(Z) <= y) = Phi((sqrt(1 - rho) Phi^-1(y) - Phi^-1(PD)) / sqrt(rho))

(Vasicek, "The distribution of loan portfolio value", Risk, 2002), and its mean ``PD``.
With a constant loss given default ``LGD`` the pool loss fraction is ``L = LGD p(Z)``.

All probabilities and fractions are decimals; these are real-world (P) quantities when the PD
is a real-world PD.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import multivariate_normal, norm

from gpucredit._typing import Float64Array

__all__ = [
    "conditional_pd",
    "lhp_expected_loss",
    "lhp_expected_shortfall",
    "lhp_loss_cdf",
    "lhp_loss_quantile",
]


def _check(pd: float, correlation: float, lgd: float) -> None:
    if not 0.0 < pd < 1.0:
        raise ValueError(f"Vasicek LHP: pd must be in (0, 1), got {pd!r}")
    if not 0.0 < correlation < 1.0:
        raise ValueError(f"Vasicek LHP: correlation must be in (0, 1), got {correlation!r}")
    if not 0.0 < lgd <= 1.0:
        raise ValueError(f"Vasicek LHP: lgd must be in (0, 1], got {lgd!r}")


def conditional_pd(
    pd: float, correlation: float, quantile: float | Float64Array
) -> float | Float64Array:
    """The default rate of a large pool at the ``quantile`` of the systematic factor (the
    Basel ASRF conditional PD).

    ``p_q = Phi((Phi^-1(pd) + sqrt(rho) Phi^-1(q)) / sqrt(1 - rho))``.

    Parameters
    ----------
    pd : float
        Unconditional probability of default over the horizon, decimal in (0, 1).
    correlation : float
        Asset correlation ``rho`` with the single factor, decimal in (0, 1).
    quantile : float or ndarray
        Confidence level ``q`` of the pool's default rate, decimal in (0, 1).

    Returns
    -------
    float or ndarray
        The pool default rate, decimal; the shape of ``quantile``.
    """
    _check(pd, correlation, 1.0)
    q = np.asarray(quantile, dtype=np.float64)
    if np.any((q <= 0.0) | (q >= 1.0)):
        raise ValueError(f"Vasicek LHP: quantile must be in (0, 1), got {quantile!r}")
    z = (norm.ppf(pd) + math.sqrt(correlation) * norm.ppf(q)) / math.sqrt(1.0 - correlation)
    out = np.asarray(norm.cdf(z), dtype=np.float64)
    return float(out) if out.ndim == 0 else out


def lhp_loss_quantile(
    quantile: float | Float64Array, pd: float, correlation: float, lgd: float = 1.0
) -> float | Float64Array:
    """The ``quantile`` of the large pool's loss fraction ``L = lgd p(Z)``, decimal of the pool's
    exposure: ``lgd * conditional_pd(pd, correlation, quantile)``.

    Parameters
    ----------
    quantile : float or ndarray
        Confidence level, decimal in (0, 1) (0.999 for the 99.9% VaR).
    pd, correlation : float
        As in ``conditional_pd``.
    lgd : float
        Loss given default, decimal of exposure in (0, 1].
    """
    _check(pd, correlation, lgd)
    rate = conditional_pd(pd, correlation, quantile)
    if isinstance(rate, float):
        return lgd * rate
    return np.asarray(lgd * rate, dtype=np.float64)


def lhp_loss_cdf(
    loss_fraction: float | Float64Array, pd: float, correlation: float, lgd: float = 1.0
) -> float | Float64Array:
    """``P(L <= x)`` for the large pool's loss fraction ``L = lgd p(Z)``.

    ``P(L <= x) = Phi((sqrt(1 - rho) Phi^-1(x / lgd) - Phi^-1(pd)) / sqrt(rho))`` for
    ``0 < x < lgd``; 0 at and below 0 and 1 at and above ``lgd``.

    Parameters
    ----------
    loss_fraction : float or ndarray
        Loss ``x`` as a decimal of the pool's exposure.
    pd, correlation, lgd : float
        As in ``lhp_loss_quantile``.
    """
    _check(pd, correlation, lgd)
    x = np.asarray(loss_fraction, dtype=np.float64)
    y = np.clip(x / lgd, 0.0, 1.0)
    inside = (y > 0.0) & (y < 1.0)
    z = np.where(inside, y, 0.5)
    core = norm.cdf(
        (math.sqrt(1.0 - correlation) * norm.ppf(z) - norm.ppf(pd)) / math.sqrt(correlation)
    )
    out = np.asarray(np.where(inside, core, np.where(y >= 1.0, 1.0, 0.0)), dtype=np.float64)
    return float(out) if out.ndim == 0 else out


def lhp_expected_loss(pd: float, lgd: float = 1.0) -> float:
    """Mean loss fraction of the large pool, decimal of exposure: ``pd * lgd`` (the factor
    averages out: ``E[p(Z)] = pd``)."""
    _check(pd, 0.5, lgd)
    return pd * lgd


def lhp_expected_shortfall(
    quantile: float, pd: float, correlation: float, lgd: float = 1.0
) -> float:
    """Expected shortfall of the large pool's loss fraction at ``quantile``, decimal of the pool's
    exposure: ``lgd Phi_2(Phi^-1(pd), Phi^-1(1 - q); sqrt(rho)) / (1 - q)``.

    Parameters
    ----------
    quantile : float
        Confidence level ``q``, decimal in (0, 1).
    pd, correlation, lgd : float
        As in ``lhp_loss_quantile``.
    """
    _check(pd, correlation, lgd)
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"Vasicek LHP: quantile must be in (0, 1), got {quantile!r}")
    r = math.sqrt(correlation)
    joint = multivariate_normal(mean=[0.0, 0.0], cov=[[1.0, r], [r, 1.0]]).cdf(
        [norm.ppf(pd), norm.ppf(1.0 - quantile)]
    )
    return lgd * float(joint) / (1.0 - quantile)
