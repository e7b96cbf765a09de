"""What a typed PD means: a company's monthly default hazard in each market regime.

A tenant's or guarantor's ``rating`` or ``annual_pd_pct`` is a one-year default probability
``p``. The engine makes companies default more often in a glut: the hazard in a glut month is
``m`` times the hazard in a tight month (``market.ratings.stress_hazard_multiplier``, 3.24).
Taken naively, the typed PD becomes the tight-regime hazard and every glut month adds to it,
so a company whose path spends half its months in a glut defaults about twice as often as
typed. Two readings of the input are offered (``RatedSpec.pd_basis``):

* ``through_the_cycle`` (the default, as the agencies' ratings and long-run default tables
  are): the hazards are scaled by one factor ``c`` so that, averaged over the regime chain
  started from its stationary distribution, the cumulative default probability over the
  deal's horizon of ``n`` months equals the typed one: ``1 - (1 - p)^(n / 12)``.
* ``point_in_time``: the typed PD is the hazard of the regime the market is in at ``as_of``
  (``RegimeParams.initial``); the other regime's hazard is ``m`` times (or ``1 / m`` of) it.

The survival of a company whose monthly hazard is ``lambda_s = c h w_s`` in regime ``s``
(``w_tight = 1``, ``w_glut = m``, ``h = -log(1 - p) / 12``) over months ``1..n`` of a
two-state chain with transition matrix ``P`` and month-1 distribution ``pi`` is

    S(n) = pi' D (P D)^(n - 1) 1,    D = diag(exp(-lambda_s))

(the regime of each month is drawn before the month's hazard applies, as in
``factors.processes.markov_regimes``). ``S`` falls strictly in ``c``; with ``m >= 1`` the root
lies in ``[1 / m, 1]`` (every hazard at most, or at least, ``h``), found by Brent's method.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy.optimize import brentq

from gpucredit.factors.params import GLUT, RegimeParams

__all__ = [
    "PdBasis",
    "regime_survival",
    "stationary_glut_share",
    "through_the_cycle_scale",
    "tight_regime_hazard",
]

PdBasis = Literal["through_the_cycle", "point_in_time"]


def stationary_glut_share(regime: RegimeParams) -> float:
    """Long-run share of glut months ``p_tg / (p_tg + p_gt)``; a chain that never switches
    stays where it starts (the share is 1 or 0 by ``regime.initial``)."""
    total = regime.p_tight_to_glut + regime.p_glut_to_tight
    if total <= 0.0:
        return 1.0 if regime.initial == GLUT else 0.0
    return regime.p_tight_to_glut / total


def regime_survival(
    tight_hazard: float, multiplier: float, regime: RegimeParams, n_months: int
) -> float:
    """Probability of surviving months ``1..n`` with monthly hazard ``tight_hazard`` in tight
    months and ``multiplier`` times it in glut months, the chain started from its stationary
    distribution (``S(n)`` of the module docstring)."""
    if n_months <= 0:
        return 1.0
    g = stationary_glut_share(regime)
    pi = np.array([1.0 - g, g])
    p = np.array(
        [
            [1.0 - regime.p_tight_to_glut, regime.p_tight_to_glut],
            [regime.p_glut_to_tight, 1.0 - regime.p_glut_to_tight],
        ]
    )
    d = np.exp(-tight_hazard * np.array([1.0, multiplier]))
    v = d.copy()  # D 1: survival of the last month from each state
    for _ in range(n_months - 1):
        v = d * (p @ v)
    return float(pi @ v)


def through_the_cycle_scale(
    annual_pd: float, multiplier: float, regime: RegimeParams, n_months: int
) -> float:
    """The factor ``c`` on the typed hazard that makes the chain-averaged cumulative PD over
    ``n_months`` equal ``1 - (1 - annual_pd)^(n_months / 12)``; 1 when nothing can differ
    (no hazard, no stress multiplier, no months)."""
    if annual_pd <= 0.0 or multiplier == 1.0 or n_months <= 0:
        return 1.0
    h = -math.log1p(-annual_pd) / 12.0
    target = n_months / 12.0 * math.log1p(-annual_pd)  # log of the target survival

    def gap(c: float) -> float:
        return math.log(regime_survival(c * h, multiplier, regime, n_months)) - target

    lo, hi = sorted((1.0, 1.0 / multiplier))
    if gap(lo) * gap(hi) > 0.0:  # the chain never leaves the state of the bracket's end
        return lo if abs(gap(lo)) < abs(gap(hi)) else hi
    return float(brentq(gap, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps))


def tight_regime_hazard(
    annual_pd: float,
    basis: PdBasis,
    *,
    multiplier: float,
    regime: RegimeParams,
    n_months: int,
) -> float:
    """The monthly hazard of a company in tight months (glut months: ``multiplier`` times it),
    from its typed one-year PD read on ``basis``.

    Parameters
    ----------
    annual_pd : float
        The typed one-year default probability, decimal in [0, 1).
    basis : {'through_the_cycle', 'point_in_time'}
    multiplier : float
        Glut over tight hazard, > 0.
    regime : RegimeParams
        The market's regime chain (switching probabilities and the regime at ``as_of``).
    n_months : int
        The deal's horizon, months: the span the through-the-cycle PD is matched over.
    """
    if not 0.0 <= annual_pd < 1.0:
        raise ValueError(f"annual PD {annual_pd!r}: expected a decimal in [0, 1)")
    h = -math.log1p(-annual_pd) / 12.0
    if basis == "point_in_time":
        return h / multiplier if regime.initial == GLUT else h
    return h * through_the_cycle_scale(annual_pd, multiplier, regime, n_months)
