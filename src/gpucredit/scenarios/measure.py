"""The pricing measure Q: a change of measure on the systematic drivers of the same paths.

The paths are simulated once, under the real-world measure P. A price (a fair spread) is an
expectation under Q, reached by weighting each path by its likelihood ratio ``dQ/dP``
(``docs/pricing.md``); the paths themselves never change. Each driver gets a market price of
risk (``MarketPricesOfRisk``):

* the entities' copula factor ``Z`` (``Shocks.entity_factor``): under Q, ``Z ~ N(-lambda_Z, 1)``;
  weight ``exp(-lambda_Z Z - lambda_Z^2 / 2)``;
* the regime chain: under Q the chain is tilted towards glut by ``theta``,
  ``p_tg^Q = p_tg e^theta`` and ``p_gt^Q = p_gt e^-theta`` (capped at ``MAX_Q_SWITCH``, 0.99);
  weight the product over the
  path's months of ``Q / P`` transition probabilities of its realised regimes;
* the GPU rent: the independent monthly normal ``u`` that drives the first generation's rent
  (raw normal 0 of ``Shocks.normals``; the other generations, utilisation and SOFR follow it
  through their correlation) has mean ``-lambda_rent`` under Q; weight
  ``prod_t exp(-lambda_rent u_t - lambda_rent^2 / 2)``;
* for miners, the bitcoin return's own normal likewise with ``lambda_btc``
  (``log_weight_normal``).

Q expectations are self-normalised, ``E_Q[X] = sum_i w_i X_i / sum_i w_i``: with every price
of risk zero, every weight is exactly 1 and Q is P bit for bit. The log-weight of a path
depends only on that path's shocks, so it is the same whatever the block split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gpucredit._typing import Float64Array, Int8Array
from gpucredit.factors.params import GLUT, RegimeParams

__all__ = [
    "MAX_PRICE_OF_RISK",
    "MAX_Q_SWITCH",
    "MAX_REGIME_TILT",
    "MONTHLY_SHARPE",
    "SHARPE_RATIO_SOURCE",
    "MarketPricesOfRisk",
    "log_weight_normal",
    "pricing_log_weights",
    "q_regime",
]

SHARPE_RATIO_SOURCE = (
    "Berg and Kaserer (2007), 'Credit risk premia and a link to the equity premium': a market "
    "Sharpe ratio of about 0.4 a year implied by CDS spreads; 0.4 / sqrt(12) per monthly normal"
)
#: Largest switching probability of the Q chain: a tilt is capped here, so a path that stays
#: in its regime keeps a positive Q probability (its weight is never 0).
MAX_Q_SWITCH = 0.99
#: Largest regime tilt accepted, in absolute value (``e^2.5`` = 12 times the switching odds).
MAX_REGIME_TILT = 2.5
#: Largest other price of risk accepted, in absolute value (standard deviations).
MAX_PRICE_OF_RISK = 10.0

#: Market price of risk of one monthly normal shock, from an annual Sharpe ratio of 0.4
#: (Berg and Kaserer 2007): the Sharpe ratio of a month is the year's over sqrt(12).
MONTHLY_SHARPE = 0.4 / math.sqrt(12.0)


@dataclass(frozen=True, slots=True)
class MarketPricesOfRisk:
    """Market prices of risk of the systematic drivers (the change of measure to Q).

    Attributes
    ----------
    lambda_entity : float
        Shift of the entities' copula factor, standard deviations (Q mean ``-lambda_entity``).
    regime_tilt : float
        ``theta``, log factor on the tight-to-glut switching probability (and its inverse on
        glut-to-tight).
    lambda_rent : float
        Shift of the rent's monthly normal, standard deviations per month.
    lambda_btc : float
        Shift of the bitcoin return's monthly normal, standard deviations per month.
    """

    lambda_entity: float = 0.0
    regime_tilt: float = 0.0
    lambda_rent: float = 0.0
    lambda_btc: float = 0.0

    def __post_init__(self) -> None:
        for name in ("lambda_entity", "regime_tilt", "lambda_rent", "lambda_btc"):
            value = getattr(self, name)
            bound = MAX_REGIME_TILT if name == "regime_tilt" else MAX_PRICE_OF_RISK
            if not math.isfinite(value) or abs(value) > bound:
                raise ValueError(
                    f"MarketPricesOfRisk.{name} = {value!r}: expected within +-{bound:g}"
                )

    @property
    def is_zero(self) -> bool:
        """Whether Q is P (every price of risk zero)."""
        return (
            self.lambda_entity == 0.0
            and self.regime_tilt == 0.0
            and self.lambda_rent == 0.0
            and self.lambda_btc == 0.0
        )


def q_regime(regime: RegimeParams, theta: float) -> RegimeParams:
    """The chain under Q: ``p_tg e^theta`` and ``p_gt e^-theta``, each capped at
    ``MAX_Q_SWITCH`` (or left at P's where P's is above it), so that every path the P chain
    can realise keeps a positive Q probability and the weights are a change of measure."""

    def tilted(p: float, factor: float) -> float:
        return p if p >= MAX_Q_SWITCH else min(p * factor, MAX_Q_SWITCH)

    return RegimeParams(
        tilted(regime.p_tight_to_glut, math.exp(theta)),
        tilted(regime.p_glut_to_tight, math.exp(-theta)),
        initial=regime.initial,
    )


def log_weight_normal(normals: Float64Array, price_of_risk: float) -> Float64Array:
    """``sum_t (-lambda u_t - lambda^2 / 2)`` over the months of each path, shape (path,):
    the log likelihood ratio of a mean shift ``-lambda`` of independent N(0, 1) draws
    ``normals`` (path, month)."""
    u = np.asarray(normals, dtype=np.float64)
    if price_of_risk == 0.0:
        return np.zeros(u.shape[0])
    lam = price_of_risk
    terms = np.multiply(u, -lam)  # in place below: one (path, month) temporary
    terms -= 0.5 * lam * lam
    return np.asarray(terms.sum(axis=1), dtype=np.float64)


def _log_regime_ratio(regime_params: RegimeParams, theta: float, regime: Int8Array) -> Float64Array:
    """Log of the product over months of the Q / P transition probabilities, shape (path,).

    A month's ratio depends only on the state before it and whether the chain switched, so the
    four log ratios are computed once and each month looks its own up (row ``glut before``,
    column ``switched``); the sum over months is the same NumPy sum as over computed logs.
    """
    q = q_regime(regime_params, theta)
    path = np.asarray(regime, dtype=np.int8)
    prev = np.concatenate(
        [np.full((path.shape[0], 1), regime_params.initial, dtype=np.int8), path[:, :-1]], axis=1
    )
    p_switch = np.array([regime_params.p_tight_to_glut, regime_params.p_glut_to_tight])
    q_switch = np.array([q.p_tight_to_glut, q.p_glut_to_tight])
    p_prob = np.stack([1.0 - p_switch, p_switch], axis=1)  # (state before, switched)
    q_prob = np.stack([1.0 - q_switch, q_switch], axis=1)
    # a realised path has P probability > 0 in every month (the ratio is only read there);
    # Q's is > 0 there by q_regime's cap
    ratio = np.divide(q_prob, p_prob, out=np.ones_like(p_prob), where=p_prob > 0.0)
    log_ratio = np.log(ratio).reshape(-1)
    case = (prev == GLUT).astype(np.intp) * 2 + (path != prev)
    return np.asarray(log_ratio[case].sum(axis=1), dtype=np.float64)


def pricing_log_weights(
    prices: MarketPricesOfRisk,
    regime_params: RegimeParams,
    *,
    regime: Int8Array,
    rent_normals: Float64Array,
    entity_factor: Float64Array | None,
    has_entities: bool,
) -> Float64Array:
    """Each path's ``log dQ/dP`` from the GPU drivers, shape (path,).

    Parameters
    ----------
    prices : MarketPricesOfRisk
    regime_params : RegimeParams
        The P chain the regimes were drawn from (its ``initial`` state precedes month 1).
    regime : ndarray of int8, shape (path, month)
        The realised regimes (0 tight, 1 glut).
    rent_normals : ndarray, shape (path, month)
        The raw normal driving the first generation's rent (``Shocks.normals[:, :, 0]``).
    entity_factor : ndarray, shape (path,), optional
        The copula factor; ``None`` or ``has_entities`` False: no entity term (no company's
        default is drawn, so the factor moves nothing).
    """
    n = int(np.asarray(regime).shape[0])
    out = np.zeros(n)
    if has_entities and entity_factor is not None and prices.lambda_entity != 0.0:
        lam = prices.lambda_entity
        out = out + (-lam * np.asarray(entity_factor, dtype=np.float64) - 0.5 * lam * lam)
    if prices.regime_tilt != 0.0:
        out = out + _log_regime_ratio(regime_params, prices.regime_tilt, regime)
    if prices.lambda_rent != 0.0:
        out = out + log_weight_normal(rent_normals, prices.lambda_rent)
    return np.asarray(out, dtype=np.float64)
