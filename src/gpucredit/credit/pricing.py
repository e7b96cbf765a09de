"""Calibration of the pricing measure Q to the market's credit spreads by rating, and the
P and Q spread figures of a facility (``docs/pricing.md``).

**Generic rated borrower.** One company whose one-year PD is its rating's (S&P long-run
average, ``market.ratings``, read through the cycle), with the engine's regime-dependent
hazard (``assets.hazards``: ``m`` times the tight hazard in glut months), the engine's
one-factor Gaussian copula of asset correlation ``R``, a 5-year bullet paying monthly, 40%
recovery of par at default (an assumption: the agencies' long-run senior unsecured bond
recovery is near 40%), discounted at a flat risk-free rate.

Given the number ``G(t)`` of glut months among ``1..t``, the company defaults by month ``t``
exactly when its copula variable ``X = sqrt(R) Z + sqrt(1 - R) eps`` is below
``Phi^-1(PD(t | G))``, ``PD(t | G) = 1 - exp(-c h (t + (m - 1) G))``. Under Q, ``Z`` has mean
``-lambda_Z``, so ``X ~ N(-sqrt(R) lambda_Z, 1)`` and

    PD_Q(t) = sum_g Q(G(t) = g) Phi(Phi^-1(PD(t | g)) + sqrt(R) lambda_Z),

the law of ``G(t)`` coming from the chain tilted by ``theta`` (``scenarios.measure.q_regime``),
by exact dynamic programming over (regime, glut months). The spread is the par add-on over the
riskless par coupon, as the engine's fair spread is.

**Calibration.** ``lambda_Z`` and ``theta`` minimise the squared log ratio of model to market
spread over the ratings whose model spread is positive (``scipy.optimize.least_squares``),
using only quotes dated on or before ``as_of``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
from scipy.optimize import least_squares
from scipy.special import ndtr, ndtri

from gpucredit._typing import Float64Array
from gpucredit.assets.hazards import through_the_cycle_scale
from gpucredit.credit.metrics import FacilityMetrics
from gpucredit.credit.ratings import RATING_EL_RECOVERY
from gpucredit.credit.spread import SpreadSolution
from gpucredit.factors.defaults import P_GLUT_TO_TIGHT, P_TIGHT_TO_GLUT
from gpucredit.factors.params import GLUT, TIGHT, RegimeParams
from gpucredit.market.ratings import (
    DEFAULT_ASSET_CORRELATION,
    annual_default_rate,
    stress_hazard_multiplier,
)
from gpucredit.scenarios.measure import (
    MAX_Q_SWITCH,
    MAX_REGIME_TILT,
    MONTHLY_SHARPE,
    MarketPricesOfRisk,
    q_regime,
)

__all__ = [
    "GENERIC_RECOVERY",
    "GENERIC_TENOR_MONTHS",
    "PricingCalibration",
    "SpreadQuote",
    "calibrate_prices_of_risk",
    "default_prices_of_risk",
    "generic_pd_curve",
    "generic_spread",
    "market_spread_curve",
    "with_pricing_measure",
]

#: Recovery of par of the generic borrower's bond: the assumption behind the expected-loss
#: rating scale (``credit.ratings.RATING_EL_RECOVERY``, 40%), one figure for both.
GENERIC_RECOVERY = RATING_EL_RECOVERY
#: The generic bond: a 5-year bullet (the tenor of the ICE BofA indices is near 5-7 years).
GENERIC_TENOR_MONTHS = 60
#: Flat risk-free rate of the generic bond, decimal a year (an assumption near SOFR in 2025;
#: the par add-on moves by well under 1 bp for a point of rate).
GENERIC_RISK_FREE = 0.04


@dataclass(frozen=True, slots=True)
class SpreadQuote:
    """One market spread: ICE BofA option-adjusted spread of a rating index, decimal a year."""

    rating: str
    date: dt.date
    spread: float
    series: str


def market_spread_curve(as_of: dt.date) -> tuple[SpreadQuote, ...]:
    """The shipped spread-by-rating quotes dated on or before ``as_of`` (the latest of each
    rating), best rating first (``data/credit_spreads_by_rating.csv``)."""
    text = (
        resources.files("gpucredit")
        .joinpath("data/credit_spreads_by_rating.csv")
        .read_text(encoding="utf-8")
    )
    latest: dict[str, SpreadQuote] = {}
    for row in csv.DictReader(text.splitlines()):
        date = dt.date.fromisoformat(row["date"])
        if date > as_of:
            continue
        quote = SpreadQuote(row["rating"], date, float(row["oas_pct"]) / 100.0, row["series"])
        if row["rating"] not in latest or latest[row["rating"]].date < date:
            latest[row["rating"]] = quote
    order = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC")
    return tuple(latest[r] for r in order if r in latest)


def _glut_count_law(regime: RegimeParams, n_months: int) -> Float64Array:
    """``law[t - 1, g]`` = probability of ``g`` glut months among ``1..t``, shape
    (month, month + 1); the regime of each month drawn from the previous one's, as
    ``factors.processes.markov_regimes`` does, from ``regime.initial``."""
    p_tg, p_gt = regime.p_tight_to_glut, regime.p_glut_to_tight
    state = np.zeros((2, n_months + 1))
    state[regime.initial, 0] = 1.0
    law = np.zeros((n_months, n_months + 1))
    for t in range(n_months):
        new = np.zeros_like(state)
        to_tight = state[TIGHT] * (1.0 - p_tg) + state[GLUT] * p_gt
        to_glut = state[TIGHT] * p_tg + state[GLUT] * (1.0 - p_gt)
        new[TIGHT] = to_tight
        new[GLUT, 1:] = to_glut[:-1]
        state = new
        law[t] = state.sum(axis=0)
    return law


def generic_pd_curve(
    annual_pd: float,
    prices: MarketPricesOfRisk,
    *,
    regime: RegimeParams,
    multiplier: float,
    correlation: float,
    n_months: int = GENERIC_TENOR_MONTHS,
) -> Float64Array:
    """Cumulative default probability of the generic borrower by month ``1..n``, shape
    (month,), under the measure of ``prices`` (zero prices: P). The typed PD is read through
    the cycle over ``n_months`` (``assets.hazards``)."""
    if annual_pd <= 0.0:
        return np.zeros(n_months)
    h = -math.log1p(-annual_pd) / 12.0
    hazard = h * through_the_cycle_scale(annual_pd, multiplier, regime, n_months)
    law = _glut_count_law(q_regime(regime, prices.regime_tilt), n_months)
    t = np.arange(1, n_months + 1, dtype=np.float64)[:, None]
    g = np.arange(n_months + 1, dtype=np.float64)[None, :]
    cum_hazard = hazard * (t + (multiplier - 1.0) * g)
    pd = -np.expm1(-cum_hazard)
    shift = math.sqrt(correlation) * prices.lambda_entity
    with np.errstate(divide="ignore"):
        conditional = ndtr(ndtri(pd) + shift) if shift != 0.0 else pd
    return np.asarray((law * conditional).sum(axis=1), dtype=np.float64)


def generic_spread(
    pd_curve: Float64Array,
    recovery: float = GENERIC_RECOVERY,
    risk_free: float = GENERIC_RISK_FREE,
) -> float:
    """Par spread (decimal a year) of a bullet paying monthly, with cumulative PD
    ``pd_curve`` by month and ``recovery`` of par paid in the default month: the add-on ``s``
    over the riskless par coupon ``y`` with
    ``sum_t (y + s) / 12 D_t S_t + D_T S_T + recovery sum_t D_t (S_(t-1) - S_t) = 1``."""
    n = pd_curve.shape[0]
    t = np.arange(1, n + 1, dtype=np.float64)
    discount = (1.0 + risk_free / 12.0) ** -t
    survival = 1.0 - pd_curve
    annuity_riskless = float(discount.sum()) / 12.0
    y = (1.0 - float(discount[-1])) / annuity_riskless
    default_in = -np.diff(np.concatenate([[1.0], survival]))
    recovered = recovery * float((discount * default_in).sum())
    annuity = float((discount * survival).sum()) / 12.0
    return (1.0 - float(discount[-1] * survival[-1]) - recovered) / annuity - y


@dataclass(frozen=True, slots=True)
class PricingCalibration:
    """The fitted market prices of risk and the fit.

    ``rows``: (rating, market spread, model Q spread, model P spread), decimals a year, for
    every quoted rating (those with no model spread are left out of the fit);
    ``rms_log_error``: root mean square of ``log(model / market)`` over the fitted ratings;
    ``lambda_entity_se``, ``regime_tilt_se``: standard errors from the fit's Jacobian.
    """

    prices: MarketPricesOfRisk
    rows: tuple[tuple[str, float, float, float], ...]
    rms_log_error: float
    lambda_entity_se: float
    regime_tilt_se: float
    as_of: dt.date


def _generic(
    rating: str,
    prices: MarketPricesOfRisk,
    regime: RegimeParams,
    multiplier: float,
    correlation: float,
) -> float:
    curve = generic_pd_curve(
        annual_default_rate(rating),
        prices,
        regime=regime,
        multiplier=multiplier,
        correlation=correlation,
    )
    return generic_spread(curve)


def calibrate_prices_of_risk(
    as_of: dt.date,
    regime: RegimeParams | None = None,
    multiplier: float | None = None,
    correlation: float | None = None,
) -> PricingCalibration:
    """Fit ``lambda_entity`` and ``regime_tilt`` to the shipped spreads quoted by ``as_of``;
    ``lambda_rent`` and ``lambda_btc`` are the market Sharpe ratio per month
    (``scenarios.measure.MONTHLY_SHARPE``). The generic borrowers default as the run's
    companies do: ``regime`` is the P chain (default: the shipped one, ``factors.defaults``),
    ``multiplier`` the glut hazard multiplier (default
    ``market.ratings.stress_hazard_multiplier()``), ``correlation`` the copula's asset
    correlation (default ``market.ratings.DEFAULT_ASSET_CORRELATION``)."""
    chain = regime or RegimeParams(P_TIGHT_TO_GLUT, P_GLUT_TO_TIGHT, initial=TIGHT)
    m = stress_hazard_multiplier() if multiplier is None else multiplier
    rho = DEFAULT_ASSET_CORRELATION if correlation is None else correlation
    quotes = market_spread_curve(as_of)
    zero = MarketPricesOfRisk()
    p_spread = {q.rating: _generic(q.rating, zero, chain, m, rho) for q in quotes}
    fitted = [q for q in quotes if p_spread[q.rating] > 0.0]
    if len(fitted) < 2:  # no market curve by as_of: only the Sharpe-ratio prices of risk
        sharpe_only = MarketPricesOfRisk(0.0, 0.0, MONTHLY_SHARPE, MONTHLY_SHARPE)
        return PricingCalibration(sharpe_only, (), 0.0, 0.0, 0.0, as_of)
    # the tilt stays below the cap of the Q switching probability (``q_regime``) and within
    # the spec's range, and it is not negative: a market averse to risk does not price the
    # bad regime as less likely
    theta_max = min(math.log(MAX_Q_SWITCH / max(chain.p_tight_to_glut, 1e-12)), MAX_REGIME_TILT)

    def residuals(x: Float64Array) -> Float64Array:
        prices = MarketPricesOfRisk(lambda_entity=float(x[0]), regime_tilt=float(x[1]))
        return np.array(
            [math.log(_generic(q.rating, prices, chain, m, rho) / q.spread) for q in fitted]
        )

    fit = least_squares(residuals, np.array([0.5, 0.1]), bounds=([0.0, 0.0], [5.0, theta_max]))
    lam, theta = float(fit.x[0]), float(fit.x[1])
    resid = np.asarray(fit.fun, dtype=np.float64)
    dof = max(len(fitted) - 2, 1)
    sigma2 = float(resid @ resid) / dof
    try:
        cov = np.linalg.inv(fit.jac.T @ fit.jac) * sigma2
        se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    except np.linalg.LinAlgError:
        se = np.array([math.inf, math.inf])
    prices = MarketPricesOfRisk(lam, theta, MONTHLY_SHARPE, MONTHLY_SHARPE)
    q_prices = MarketPricesOfRisk(lam, theta)
    rows = tuple(
        (q.rating, q.spread, _generic(q.rating, q_prices, chain, m, rho), p_spread[q.rating])
        for q in quotes
    )
    rms = math.sqrt(float(resid @ resid) / len(resid))
    se_lam = float(se[0]) if math.isfinite(float(se[0])) else 0.0
    se_theta = float(se[1]) if math.isfinite(float(se[1])) else 0.0
    return PricingCalibration(prices, rows, rms, se_lam, se_theta, as_of)


@cache
def default_prices_of_risk(
    as_of: dt.date,
    regime: RegimeParams | None = None,
    multiplier: float | None = None,
    correlation: float | None = None,
) -> MarketPricesOfRisk:
    """The calibrated market prices of risk on ``as_of`` for the run's P chain and default
    model (``calibrate_prices_of_risk``; computed once per date and model)."""
    return calibrate_prices_of_risk(as_of, regime, multiplier, correlation).prices


def with_pricing_measure(
    metrics: FacilityMetrics,
    actuarial: SpreadSolution | None,
    priced: SpreadSolution | None,
) -> FacilityMetrics:
    """``metrics`` (solved under P) with the Q figures: ``fair_spread_bps`` and its standard
    error become Q's, ``actuarial_spread_bps`` keeps P's, ``spread_gap_bps`` is market - Q
    fair, ``risk_premium_bps`` is Q - P. With no Q solution the figures stay P's."""
    p_bps = metrics.fair_spread_bps
    p_se = metrics.fair_spread_se_bps
    if priced is None or actuarial is None:
        return dataclasses.replace(
            metrics, actuarial_spread_bps=p_bps, actuarial_spread_se_bps=p_se
        )
    notes = dict(metrics.notes)
    q_bps = None if priced.fair_spread is None else priced.fair_spread * 1e4
    q_se = (
        None
        if priced.fair_spread is None or priced.fair_spread_se is None
        else priced.fair_spread_se * 1e4
    )
    if q_bps is None:
        reason = priced.note or "fair spread not solved"
        for key in ("fair_spread_bps", "fair_spread_se_bps", "spread_gap_bps", "risk_premium_bps"):
            notes[key] = reason
    elif q_se is None:
        notes["fair_spread_se_bps"] = priced.note or "standard error not estimated"
    elif "fair_spread_se_bps" in notes and metrics.fair_spread_bps is not None:
        del notes["fair_spread_se_bps"]
    if p_bps is None:
        notes["actuarial_spread_bps"] = metrics.notes.get("fair_spread_bps", "not solved")
        notes.setdefault("risk_premium_bps", notes["actuarial_spread_bps"])
    market = metrics.market_spread_bps
    return dataclasses.replace(
        metrics,
        actuarial_spread_bps=p_bps,
        actuarial_spread_se_bps=p_se,
        fair_spread_bps=q_bps,
        fair_spread_se_bps=q_se,
        spread_gap_bps=None if q_bps is None else market - q_bps,
        risk_premium_bps=None if q_bps is None or p_bps is None else q_bps - p_bps,
        notes=notes,
    )
