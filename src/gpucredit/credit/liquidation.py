"""Secondary market for repossessed collateral, and the lender's liquidation strategy.

At default the lender takes the GPUs (or mining rigs) and sells them into a market that can
absorb only so many used units a month. This module prices that sale; ``docs/liquidation.md``
states the equations, every parameter and its source.

Market (one per pool of interchangeable hardware, shared by every seller in it):

* **Reference price** ``P``, USD per unit: what a buyer can earn with the unit (the engine's
  income-approach value per unit on the path), times a condition factor; optionally capped by
  the SpotWire vintage curve x purchase price. It decays at the buyer's trend decline ``d``
  (log per month) while the lender waits: ``P_t = P exp(-d t)``.
* **Absorption** ``A``, units per month: the installed base of the pool
  (``gpucredit.market.shipments``) x a monthly turnover share (ASSUMPTION, see
  ``GPU_MONTHLY_TURNOVER``). It is the pace the market takes at the reference price.
* **Participation** of a sale of ``q`` units over a window of ``w`` days while other sellers
  offer ``O`` units in that month: ``x = q / (A w / D) + O / A`` (``D`` = 30.4375 days; others'
  units are spread evenly over the month). All sellers in a month get the same clearing price.
* **Price impact** ``m(x)`` in ``(0, 1]``, non-increasing in ``x``, floored at
  ``min_price_fraction``:

  - ``isoelastic`` (default): ``m = min(1, x^-gamma)``: buyers take ``A`` units a month at the
    reference price; beyond that pace the price falls along a constant-elasticity demand curve
    (elasticity ``1/gamma``). In log price this is the logarithmic impact law that fits trade
    data better than the square root over five decades of size (Zarinelli, Treccani, Farmer
    and Lillo 2015, "Beyond the square root").
  - ``sqrt``: ``m = 1 - Y sigma sqrt(x)`` (Toth et al. 2011, "Anomalous price impact and the
    critical nature of liquidity"); the coefficient is ``Y sigma``.
  - ``exponential``: ``m = exp(-beta x)`` (Oxford INET fire-sale stress test, where ``beta`` is
    set so that selling 10% of the market lowers the price 10%: ``inet_exponential_coefficient``
    turns that into units of ``x``).

  Each coefficient is fitted by least squares (``calibrate_impact``) so that selling a
  reference lot at the documented sale speeds reproduces the SpotWire liquidation factors
  (orderly 180 d 1.00, broker 90 d 0.85, auction 30 d 0.65, distressed 7 d 0.45). The
  reference lot is six months of absorption, so an orderly sale of it goes at the absorption
  pace. Only the isoelastic law reproduces all four (within 0.005: the published factors fall
  almost exactly as ``(days / 180)^0.24``); the best square-root and exponential fits miss by
  0.11 and 0.14, and are kept as alternatives.

Strategy: the lender chooses how many units to sell each month (and, in each month, a sale
window of 7 days, 30 days or the whole month) to maximise the present value of net proceeds,

``PV = sum_k q_k [ (P e^{-d t_k} m(x_k)(1 - s) - o) v^{t_k} - c a(rho, t_k)
- i P a(rho + d, t_k) ]``

with ``t_k = k - 1 + w_k / D`` the sale time in months, ``v = 1 / (1 + r)`` the lender's
monthly discount factor (``rho = ln(1 + r)``), ``s`` the transaction share (legal, broker or
auction fees), ``o`` the one-off cost per unit (de-racking, logistics, refurbishment), ``c`` the
monthly carry per unit (power and space, from the engine), ``i`` the monthly insurance share of
the price, and ``a(r, t) = (1 - e^{-r t}) / r`` the continuously accrued annuity. Every unit is
sold within the horizon. The objective is a sum of one term per month, so dynamic programming
over the units left, on a grid of ``L / G`` units, gives the exact optimum over schedules on the
grid (``optimal_schedule``); the named speeds (distressed, auction, broker, orderly) are points
of that grid when ``G`` is a multiple of six, so the optimum is never below any of them. Where
the best PV of a lot is not positive the lender abandons it (``SecondaryMarketRecovery``).
Nothing here is random: results are a deterministic function of the inputs.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Literal

import numpy as np
from scipy.optimize import least_squares

from gpucredit._typing import BoolArray, Float64Array, Int64Array
from gpucredit.credit.liquidation_kernel import (
    IMPACT_CODES,
    evaluate_schedules,
    optimal_schedules,
)
from gpucredit.credit.recovery import LIQUIDATION_FACTORS, DefaultState, RecoveryResult
from gpucredit.errors import ModelError
from gpucredit.market.shipments import (
    ASIC_POOL,
    asic_installed_base,
    installed_base,
    market_pool,
)

__all__ = [
    "ASA_FORCED_TO_ORDERLY",
    "ASIC_2022_MONTHLY_DRIFT",
    "ASIC_GENERATION",
    "ASIC_MONTHLY_TURNOVER",
    "CORE_SCIENTIFIC_NYDIG",
    "DAYS_PER_MONTH",
    "DEFAULT_WINDOWS_DAYS",
    "GPU_MONTHLY_TURNOVER",
    "INET_BETA_PER_MARKET_SHARE",
    "S21_RIG_HASHRATE_TH_S",
    "SPOTWIRE_VINTAGE_FACTORS",
    "CohortCollateral",
    "ImpactCalibration",
    "Liquidation",
    "LiquidationCosts",
    "MarketDefaultState",
    "MarketParams",
    "RecoveryLiquidation",
    "SecondaryMarket",
    "SecondaryMarketRecovery",
    "absorption_units_per_month",
    "asic_market_params",
    "calibrate_impact",
    "gpu_market_params",
    "inet_exponential_coefficient",
    "liquidate",
    "named_schedule",
    "optimal_schedule",
    "price_impact",
    "speed_factor",
    "vintage_factor",
]

ImpactKind = Literal["isoelastic", "sqrt", "exponential"]
AssetClass = Literal["gpu", "asic"]
NamedSpeed = Literal["distressed", "auction", "broker", "orderly"]
LiquidationSpeed = Literal["distressed", "auction", "broker", "orderly", "optimal"]
Condition = Literal["refurbished", "as_is"]
ReferenceBasis = Literal["income", "lower_of_income_and_vintage"]
#: How the optimiser and the evaluation run: the compiled per-path loops
#: (``credit.liquidation_kernel``, the engine's) or the NumPy dynamic programme (the oracle).
LiquidationMethod = Literal["compiled", "numpy"]

#: Days in a month (365.25 / 12), as in ``gpucredit.assets.fleet``.
DAYS_PER_MONTH = 30.4375
#: Sale windows the optimiser may use in a month: the distressed and auction windows of the
#: SpotWire methodology, and the whole month.
DEFAULT_WINDOWS_DAYS: tuple[float, ...] = (7.0, 30.0, DAYS_PER_MONTH)
NAMED_SPEEDS: tuple[NamedSpeed, ...] = ("distressed", "auction", "broker", "orderly")

# --- Sourced constants ---------------------------------------------------------------------
#: SpotWire valuator dataset (CC-BY-4.0, methodology v0.6, 2026-06): price of a used GPU as a
#: share of new, by age in whole years 0..4 (REFERENCES.md, "GPU purchase, resale").
SPOTWIRE_VINTAGE_FACTORS: tuple[float, ...] = (1.00, 0.78, 0.60, 0.46, 0.35)
#: American Society of Appraisers' framework as cited by SpotWire v0.6: forced liquidation
#: value ~70-80% of orderly liquidation value; the midpoint, read at the 30-day auction speed.
ASA_FORCED_TO_ORDERLY = 0.75
#: Oxford INET fire-sale stress test: ``p' = p exp(-beta sold / market size)`` with beta set so
#: that selling 10% of the market lowers the price 10% (REFERENCES.md, credit-risk formulas).
INET_BETA_PER_MARKET_SHARE = -math.log(0.9) / 0.1
#: Refurbished GPUs sell 15-25 points above used as-is units (computeforecast.com, secondary
#: market long read, REFERENCES.md); midpoint +20%, so an as-is unit fetches 1 / 1.2.
AS_IS_FACTOR = 1.0 / 1.20
#: 2022 ASIC bust: rig prices fell ~85% in a year (Luxor / Hashrate Index ASIC price index,
#: REFERENCES.md). As a log decline per month: ln(1 / 0.15) / 12 = 0.158.
ASIC_2022_MONTHLY_DRIFT = math.log(1.0 / 0.15) / 12.0
#: Core Scientific (Chapter 11, Dec 2022) handed 27,403 machines to NYDIG to extinguish
#: $38.6m and said it could buy them for ~$25m (CoinDesk, 2023-02-03; REFERENCES.md).
CORE_SCIENTIFIC_NYDIG: Mapping[str, float] = MappingProxyType(
    {"machines": 27_403.0, "debt_extinguished_usd": 38.6e6, "buyback_value_usd": 25.0e6}
)
#: Bitmain Antminer S21: 200 TH/s at 17.5 J/TH, the specification Bitmain gave at launch in
#: 2023 (BTCWire review, HackerNoon, 2024-03-11). The representative rig for counting rigs
#: from the network hash rate; older rigs hash less, so this undercounts rigs (a thinner
#: market, the cautious side).
S21_RIG_HASHRATE_TH_S = 200.0

# --- Assumptions (no public series; labelled, with the reasoning) ---------------------------
#: ASSUMPTION: share of a GPU pool's installed base that the used market absorbs a month at the
#: reference price. Half the units changing hands once over a seven-year economic life gives
#: 0.5 / 84 = 0.6% a month; used commercial jets, a thin real-asset market, trade at a few
#: percent of the fleet a year (Cirium: 1,107 single- and twin-aisle jets in secondary
#: transactions in 2019, against a fleet of ~26,000 jets in April 2020). 0.5% a month = 6% a
#: year of the base.
GPU_MONTHLY_TURNOVER = 0.005
#: ASSUMPTION: mining rigs trade more than GPUs (active brokers and hosting desks, three to
#: four year lives, a standard product): 1% of the rigs hashing a month.
ASIC_MONTHLY_TURNOVER = 0.01
#: ASSUMPTION: floor of the price multiplier (parts and scrap buyers of last resort); with the
#: default coefficients it binds only for lots hundreds of months of absorption large.
MIN_PRICE_FRACTION = 0.05


@dataclass(frozen=True, slots=True)
class LiquidationCosts:
    """Costs of repossessing and selling one unit, beyond the carry the engine passes.

    Attributes
    ----------
    insurance_share_per_year : float
        Property insurance while held, decimal of the unit's current price per year.
    deracking_usd_per_unit, logistics_usd_per_unit, refurbishment_usd_per_unit : float
        One-off costs at sale, USD per unit (refurbishment only for a refurbished sale).
    transaction_share_of_gross : float
        Legal (repossession, sale notices) and broker or auction fees, decimal of gross proceeds.
    """

    insurance_share_per_year: float
    deracking_usd_per_unit: float
    logistics_usd_per_unit: float
    refurbishment_usd_per_unit: float
    transaction_share_of_gross: float

    def __post_init__(self) -> None:
        for name in (
            "insurance_share_per_year",
            "deracking_usd_per_unit",
            "logistics_usd_per_unit",
            "refurbishment_usd_per_unit",
        ):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f"LiquidationCosts.{name} = {getattr(self, name)}: expected >= 0")
        if not 0.0 <= self.transaction_share_of_gross < 1.0:
            raise ValueError(
                "LiquidationCosts.transaction_share_of_gross = "
                f"{self.transaction_share_of_gross}: expected a decimal in [0, 1)"
            )

    def one_off_usd_per_unit(self, condition: Condition) -> float:
        """De-racking + logistics (+ refurbishment for a refurbished sale), USD per unit."""
        refurb = self.refurbishment_usd_per_unit if condition == "refurbished" else 0.0
        return self.deracking_usd_per_unit + self.logistics_usd_per_unit + refurb


#: ASSUMPTION, GPUs: sized so that the one-off costs of a used H100 at ~$21.5k (midpoint of the
#: used 15-28k range, REFERENCES.md) are ~5% of its price, the first version's liquidation-cost
#: assumption (RecoverySpec.liquidation_cost_pct): de-racking $100 (an 8-GPU server ~$800 to
#: de-cable, de-rack and pack), crated insured freight $150, burn-in test and part replacement
#: $300, legal and broker fees 2.5% of gross; insurance 0.5% of value a year.
GPU_COSTS = LiquidationCosts(
    insurance_share_per_year=0.005,
    deracking_usd_per_unit=100.0,
    logistics_usd_per_unit=150.0,
    refurbishment_usd_per_unit=300.0,
    transaction_share_of_gross=0.025,
)
#: ASSUMPTION, mining rigs (~15 kg air-cooled units): de-racking $10, freight $40, hashboard
#: test and repair $50 a rig, fees 2.5% of gross, insurance 0.5% of value a year.
ASIC_COSTS = LiquidationCosts(
    insurance_share_per_year=0.005,
    deracking_usd_per_unit=10.0,
    logistics_usd_per_unit=40.0,
    refurbishment_usd_per_unit=50.0,
    transaction_share_of_gross=0.025,
)


@dataclass(frozen=True, slots=True)
class MarketParams:
    """Parameters of one asset class's secondary market (calibrated or sourced, never fitted
    state).

    Attributes
    ----------
    asset_class : {"gpu", "asic"}
    impact_kind : {"isoelastic", "sqrt", "exponential"}
    impact_coefficient : float
        ``gamma`` (isoelastic), ``Y sigma`` (sqrt) or ``beta`` (exponential), per unit of
        participation ``x`` (units offered / absorption over the sale window).
    min_price_fraction : float
        Floor of the price multiplier, in (0, 1).
    monthly_turnover : float
        Share of the installed base the market absorbs a month at the reference price.
    costs : LiquidationCosts
    as_is_factor : float
        Price of an as-is (untested) unit relative to a refurbished one, in (0, 1].
    vintage_factors : tuple of float
        Price relative to new by age in whole years from 0 (empty: no vintage curve).
    sources : tuple of (str, str)
        Parameter name and its source or ASSUMPTION label.
    """

    asset_class: AssetClass
    impact_kind: ImpactKind
    impact_coefficient: float
    min_price_fraction: float
    monthly_turnover: float
    costs: LiquidationCosts
    as_is_factor: float = AS_IS_FACTOR
    vintage_factors: tuple[float, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.impact_kind not in ("isoelastic", "sqrt", "exponential"):
            raise ValueError(
                f"MarketParams.impact_kind = {self.impact_kind!r}: expected 'isoelastic', "
                "'sqrt' or 'exponential'"
            )
        if not self.impact_coefficient >= 0.0:
            raise ValueError(
                f"MarketParams.impact_coefficient = {self.impact_coefficient}: expected >= 0"
            )
        if not 0.0 < self.min_price_fraction < 1.0:
            raise ValueError(
                f"MarketParams.min_price_fraction = {self.min_price_fraction}: expected (0, 1)"
            )
        if not self.monthly_turnover > 0.0:
            raise ValueError(
                f"MarketParams.monthly_turnover = {self.monthly_turnover}: expected > 0"
            )
        if not 0.0 < self.as_is_factor <= 1.0:
            raise ValueError(f"MarketParams.as_is_factor = {self.as_is_factor}: expected (0, 1]")

    def condition_factor(self, condition: Condition) -> float:
        """Price multiplier of the unit's condition (refurbished = 1)."""
        return 1.0 if condition == "refurbished" else self.as_is_factor


# --- Price impact --------------------------------------------------------------------------


def _multiplier(x: Float64Array, kind: ImpactKind, coef: float, floor: float) -> Float64Array:
    """Price multiplier at participation ``x`` >= 0 (``inf`` allowed), shape of ``x``."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if kind == "isoelastic":
            m = np.where(x > 1.0, np.power(np.where(x > 1.0, x, 1.0), -coef), 1.0)
        elif kind == "sqrt":
            m = 1.0 - coef * np.sqrt(x)
        else:
            m = np.exp(-coef * x)
    m = np.where(np.isnan(m), floor, m)  # 0 * inf when the coefficient is 0: no impact
    if coef == 0.0:
        m = np.ones_like(x)
    return np.asarray(np.clip(m, floor, 1.0), dtype=np.float64)


def price_impact(
    units_offered: Float64Array | float,
    absorption_units: Float64Array | float,
    params: MarketParams,
) -> Float64Array:
    """Clearing-price multiplier when ``units_offered`` meet ``absorption_units``.

    Parameters
    ----------
    units_offered : ndarray or float, units
        Total units offered in the sale window by all sellers.
    absorption_units : ndarray or float, units
        What the market absorbs at the reference price over the same window
        (``A w / D`` for a window of ``w`` days). Zero absorption with units offered gives the
        floor.
    params : MarketParams

    Returns
    -------
    ndarray, broadcast shape, in ``[min_price_fraction, 1]``
        Non-increasing in ``units_offered``; 1 when nothing is offered.
    """
    q = np.asarray(units_offered, dtype=np.float64)
    a = np.asarray(absorption_units, dtype=np.float64)
    if np.any(q < 0.0) or np.any(a < 0.0):
        raise ValueError("price_impact: units_offered and absorption_units must be >= 0")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = np.where(q > 0.0, np.where(a > 0.0, q / np.where(a > 0.0, a, 1.0), np.inf), 0.0)
    return _multiplier(x, params.impact_kind, params.impact_coefficient, params.min_price_fraction)


def inet_exponential_coefficient(monthly_turnover: float) -> float:
    """The INET exponential ``beta`` per unit of participation ``x = Q / A``.

    INET's law is in shares of the *market size* (the stock, here the installed base ``B``):
    ``exp(-beta Q / B)``. With ``A = turnover x B``, ``Q / B = turnover x Q / A``, so the
    coefficient on ``x`` is ``beta x turnover``.
    """
    return INET_BETA_PER_MARKET_SHARE * monthly_turnover


def vintage_factor(age_years: Float64Array | float, factors: Sequence[float]) -> Float64Array:
    """Used price relative to new at ``age_years``, log-linear between whole years.

    Beyond the last tabulated year the last year's log decline continues (ASSUMPTION); before
    age 0 the factor is the first one.
    """
    table = np.asarray(factors, dtype=np.float64)
    if table.size < 2 or np.any(table <= 0.0):
        raise ValueError("vintage_factor: expected at least two positive factors")
    age = np.maximum(np.asarray(age_years, dtype=np.float64), 0.0)
    logs = np.log(table)
    last_slope = logs[-1] - logs[-2]
    years = np.arange(table.size, dtype=np.float64)
    inside = np.interp(age, years, logs)
    beyond = logs[-1] + last_slope * (age - years[-1])
    return np.asarray(np.exp(np.where(age > years[-1], beyond, inside)), dtype=np.float64)


# --- Named sale speeds and calibration ------------------------------------------------------


def named_schedule(speed: NamedSpeed) -> tuple[Float64Array, Float64Array]:
    """Share of the lot sold in each month and the sale window in days, shape (months,).

    distressed: everything in month 1 within 7 days; auction: everything in month 1 within 30
    days; broker: a third a month over 3 months; orderly: a sixth a month over 6 months (the
    SpotWire sale times 7, 30, 90 and 180 days, with a month of 30.4375 days).
    """
    if speed == "distressed":
        return np.array([1.0]), np.array([7.0])
    if speed == "auction":
        return np.array([1.0]), np.array([30.0])
    if speed == "broker":
        return np.full(3, 1.0 / 3.0), np.full(3, DAYS_PER_MONTH)
    if speed == "orderly":
        return np.full(6, 1.0 / 6.0), np.full(6, DAYS_PER_MONTH)
    raise ValueError(f"named_schedule: speed = {speed!r}; expected one of {NAMED_SPEEDS}")


def speed_factor(
    speed: NamedSpeed,
    lot_months_of_absorption: float,
    kind: ImpactKind,
    coefficient: float,
    min_price_fraction: float = MIN_PRICE_FRACTION,
) -> float:
    """Gross liquidation factor of a named sale: proceeds / (lot x reference price).

    No drift, discounting or costs: the quantity appraisers quote (the ASA liquidation values
    are gross amounts). ``lot_months_of_absorption`` is the lot in months of absorption.
    """
    shares, windows = named_schedule(speed)
    x = lot_months_of_absorption * shares * DAYS_PER_MONTH / windows
    return float(np.sum(shares * _multiplier(x, kind, coefficient, min_price_fraction)))


@dataclass(frozen=True, slots=True)
class ImpactCalibration:
    """A least-squares fit of the impact coefficient to published liquidation factors.

    Attributes
    ----------
    kind : impact law
    coefficient : fitted coefficient
    reference_lot_months : lot of the fit, months of absorption
    speeds : the sale speeds fitted
    target_factors, fitted_factors, residuals : tuple of float, one per speed
        ``residual = fitted - target``.
    rmse : root mean square residual
    source : where the targets come from
    """

    kind: ImpactKind
    coefficient: float
    reference_lot_months: float
    speeds: tuple[NamedSpeed, ...]
    target_factors: tuple[float, ...]
    fitted_factors: tuple[float, ...]
    residuals: tuple[float, ...]
    rmse: float
    source: str

    @property
    def max_abs_residual(self) -> float:
        return float(max(abs(r) for r in self.residuals))


SPOTWIRE_SOURCE = (
    "SpotWire valuator dataset, methodology v0.6 (CC-BY-4.0, 2026-06), after the ASA orderly "
    "vs forced liquidation value framework"
)
SPOTWIRE_TARGETS: Mapping[NamedSpeed, float] = MappingProxyType(
    {
        "orderly": LIQUIDATION_FACTORS["orderly"][0],
        "broker": LIQUIDATION_FACTORS["broker"][0],
        "auction": LIQUIDATION_FACTORS["auction"][0],
        "distressed": LIQUIDATION_FACTORS["distressed"][0],
    }
)
ASA_TARGETS: Mapping[NamedSpeed, float] = MappingProxyType(
    {"orderly": 1.0, "auction": ASA_FORCED_TO_ORDERLY}
)
_COEFFICIENT_UPPER = {"isoelastic": 5.0, "sqrt": 5.0, "exponential": 10.0}


def calibrate_impact(
    kind: ImpactKind = "isoelastic",
    *,
    targets: Mapping[NamedSpeed, float] = SPOTWIRE_TARGETS,
    reference_lot_months: float = 6.0,
    min_price_fraction: float = MIN_PRICE_FRACTION,
    source: str = SPOTWIRE_SOURCE,
) -> ImpactCalibration:
    """Fit the impact coefficient so that the named sales reproduce ``targets``.

    Minimises ``sum_s (speed_factor(s, lot) - target_s)^2`` over the coefficient with SciPy's
    ``least_squares`` (trust-region reflective, bounds ``[0, upper]``), started from the best
    of 401 grid points so the fit is global and deterministic. The reference lot is six months
    of absorption by default: an orderly sale of it goes at the absorption pace.
    """
    speeds = tuple(targets)
    if not speeds:
        raise ValueError("calibrate_impact: no targets")
    target = np.array([targets[s] for s in speeds], dtype=np.float64)
    upper = _COEFFICIENT_UPPER[kind]

    def residuals(theta: Float64Array) -> Float64Array:
        coef = float(theta[0])
        fitted = [
            speed_factor(s, reference_lot_months, kind, coef, min_price_fraction) for s in speeds
        ]
        return np.asarray(np.asarray(fitted, dtype=np.float64) - target, dtype=np.float64)

    grid = np.linspace(0.0, upper, 401)
    sse = [float(np.sum(residuals(np.array([c])) ** 2)) for c in grid]
    start = float(grid[int(np.argmin(sse))])
    fit = least_squares(
        residuals, x0=np.array([start]), bounds=(0.0, upper), method="trf", xtol=1e-14
    )
    coef = float(fit.x[0])
    res = residuals(np.array([coef]))
    return ImpactCalibration(
        kind=kind,
        coefficient=coef,
        reference_lot_months=reference_lot_months,
        speeds=speeds,
        target_factors=tuple(float(t) for t in target),
        fitted_factors=tuple(float(f) for f in res + target),
        residuals=tuple(float(r) for r in res),
        rmse=float(np.sqrt(np.mean(res**2))),
        source=source,
    )


@cache
def gpu_market_params(kind: ImpactKind = "isoelastic") -> MarketParams:
    """Default GPU market: impact fitted to the SpotWire factors, sourced and assumed rest."""
    cal = calibrate_impact(kind)
    return MarketParams(
        asset_class="gpu",
        impact_kind=kind,
        impact_coefficient=cal.coefficient,
        min_price_fraction=MIN_PRICE_FRACTION,
        monthly_turnover=GPU_MONTHLY_TURNOVER,
        costs=GPU_COSTS,
        as_is_factor=AS_IS_FACTOR,
        vintage_factors=SPOTWIRE_VINTAGE_FACTORS,
        sources=(
            (
                "impact_coefficient",
                f"least squares to {SPOTWIRE_SOURCE}, lot = 6 months of absorption "
                f"(max residual {cal.max_abs_residual:.4f})",
            ),
            ("monthly_turnover", "ASSUMPTION: 0.5% of the installed base a month"),
            ("installed_base", "Epoch AI modelled Nvidia shipments (market.shipments)"),
            ("min_price_fraction", "ASSUMPTION: 5% scrap and parts floor"),
            ("costs", "ASSUMPTION: one-off ~5% of a used H100, insurance 0.5%/yr"),
            ("as_is_factor", "computeforecast.com: refurbished +15-25 points, midpoint 20"),
            ("vintage_factors", "SpotWire valuator dataset v0.6 (CC-BY-4.0, 2026-06)"),
        ),
    )


@cache
def asic_market_params(kind: ImpactKind = "isoelastic") -> MarketParams:
    """Default mining-rig market: impact fitted to the ASA forced/orderly ratio at 30 days."""
    cal = calibrate_impact(
        kind, targets=ASA_TARGETS, source="ASA forced ~70-80% of orderly (midpoint 75%)"
    )
    return MarketParams(
        asset_class="asic",
        impact_kind=kind,
        impact_coefficient=cal.coefficient,
        min_price_fraction=MIN_PRICE_FRACTION,
        monthly_turnover=ASIC_MONTHLY_TURNOVER,
        costs=ASIC_COSTS,
        as_is_factor=AS_IS_FACTOR,
        vintage_factors=(),
        sources=(
            (
                "impact_coefficient",
                "least squares to the ASA forced/orderly ratio 0.75 at the 30-day auction "
                "speed, lot = 6 months of absorption",
            ),
            ("monthly_turnover", "ASSUMPTION: 1% of the rigs hashing a month"),
            ("installed_base", "network hash rate (Coin Metrics) / Antminer S21 200 TH/s"),
            ("min_price_fraction", "ASSUMPTION: 5% scrap floor"),
            ("costs", "ASSUMPTION: $100 a rig one-off, fees 2.5%, insurance 0.5%/yr"),
            ("as_is_factor", "ASSUMPTION: as for GPUs"),
            ("stress drift", "2022: rig prices -85% in a year (Luxor / Hashrate Index)"),
        ),
    )


def absorption_units_per_month(
    generation: str,
    as_of: dt.date,
    params: MarketParams,
    *,
    rig_hashrate_th_s: float = S21_RIG_HASHRATE_TH_S,
) -> float:
    """Units a month the secondary market takes at the reference price: base x turnover.

    GPUs: the installed base of the generation's pool from Epoch's shipments
    (``market.shipments.installed_base``). ASICs (``params.asset_class == "asic"``): rigs
    hashing = network hash rate / ``rig_hashrate_th_s``; ``generation`` is ignored.
    """
    if params.asset_class == "asic":
        base = asic_installed_base(as_of, rig_hashrate_th_s).units
    else:
        base = installed_base(generation, as_of).units
    return base * params.monthly_turnover


# --- Liquidation -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Liquidation:
    """A sale schedule on every path and what it realises.

    Times are months after the lender takes the collateral; money is USD, undiscounted unless
    named ``pv``. ``n`` paths, ``H`` months.

    Attributes
    ----------
    speed : str
    units_sold : ndarray, shape (n, H), units
    window_days : ndarray, shape (n, H)
        Sale window used each month (0 where nothing is sold).
    sale_time_months : ndarray, shape (n, H)
        ``k - 1 + window / 30.4375`` (0 where nothing is sold).
    price_multiplier : ndarray, shape (n, H)
        Clearing-price multiplier (1 where nothing is sold).
    unit_price_usd : ndarray, shape (n, H)
        Reference price at the sale time x multiplier, USD per unit.
    gross_usd : ndarray, shape (n, H)
    costs_usd : ndarray, shape (n, H)
        Transaction fees, one-off costs and the carry of the units sold that month (carry and
        insurance accrue while a unit is held and are booked at its sale).
    pv_usd : ndarray, shape (n,)
        Present value at the lender's discount rate of gross minus costs, carry accrued
        continuously.
    """

    speed: str
    units_sold: Float64Array
    window_days: Float64Array
    sale_time_months: Float64Array
    price_multiplier: Float64Array
    unit_price_usd: Float64Array
    gross_usd: Float64Array
    costs_usd: Float64Array
    pv_usd: Float64Array

    @property
    def net_usd(self) -> Float64Array:
        """Gross minus costs by month, shape (n, H)."""
        return np.asarray(self.gross_usd - self.costs_usd, dtype=np.float64)

    @property
    def total_gross_usd(self) -> Float64Array:
        return np.asarray(self.gross_usd.sum(axis=1), dtype=np.float64)

    @property
    def total_net_usd(self) -> Float64Array:
        return np.asarray(self.net_usd.sum(axis=1), dtype=np.float64)

    @property
    def average_multiplier(self) -> Float64Array:
        """Unit-weighted clearing multiplier, shape (n,) (1 where nothing is sold)."""
        units = self.units_sold.sum(axis=1)
        weighted = (self.units_sold * self.price_multiplier).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return np.asarray(np.where(units > 0.0, weighted / units, 1.0), dtype=np.float64)


def _as_paths(value: Float64Array | float, n: int, name: str) -> Float64Array:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{name}: expected a scalar or shape ({n},), got {arr.shape}")
    return arr


def _as_path_months(value: Float64Array | float, n: int, h: int, name: str) -> Float64Array:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full((n, h), float(arr))
    if arr.ndim == 1 and arr.shape == (n,):
        return np.repeat(arr[:, None], h, axis=1)
    if arr.ndim == 2 and arr.shape[0] == n and arr.shape[1] >= h:
        return np.ascontiguousarray(arr[:, :h])
    raise ValueError(f"{name}: expected a scalar, shape ({n},) or ({n}, >= {h}), got {arr.shape}")


def _annuity(rate: Float64Array, t: Float64Array | float) -> Float64Array:
    """``(1 - exp(-rate t)) / rate`` (``t`` where ``rate`` is 0): continuous accrual."""
    r = np.asarray(rate, dtype=np.float64)
    tt = np.asarray(t, dtype=np.float64)
    small = np.abs(r) < 1e-12
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        value = np.where(small, tt, -np.expm1(-r * tt) / np.where(small, 1.0, r))
    return np.asarray(value, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _Lot:
    """Per-path inputs of one liquidation, each shape (n,) or (n, H)."""

    units: Float64Array
    price: Float64Array
    drift: Float64Array
    carry: Float64Array
    rho: Float64Array
    absorption: Float64Array  # (n, H)
    others: Float64Array  # (n, H)
    insurance_per_month: float
    one_off: float
    fee: float
    params: MarketParams

    def terms(
        self, month_index: int, window_days: float | Float64Array
    ) -> tuple[Float64Array, Float64Array, Float64Array]:
        """Sale time ``t`` (n,), price coefficient ``alpha`` and cost ``beta`` per unit (n,):
        PV of one unit sold at multiplier ``m`` is ``alpha m - beta``."""
        t = month_index + np.asarray(window_days, dtype=np.float64) / DAYS_PER_MONTH
        disc = np.exp(-self.rho * t)
        price_t = self.price * np.exp(-self.drift * t)
        alpha = disc * price_t * (1.0 - self.fee)
        carry_pv = self.carry * _annuity(self.rho, t) + (
            self.insurance_per_month * self.price * _annuity(self.rho + self.drift, t)
        )
        beta = disc * self.one_off + carry_pv
        return np.broadcast_to(t, self.units.shape).astype(np.float64), alpha, beta

    def participation(
        self, month_index: int, units: Float64Array, window_days: float | Float64Array
    ) -> Float64Array:
        """``x = q / (A w / D) + O / A`` for ``units`` of shape (n,) or (n, G)."""
        a = self.absorption[:, month_index]
        o = self.others[:, month_index]
        w = np.asarray(window_days, dtype=np.float64)
        q = np.asarray(units, dtype=np.float64)
        if q.ndim == 2:
            a, o = a[:, None], o[:, None]
            if w.ndim == 1:
                w = w[:, None]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            positive = a > 0.0
            safe = np.where(positive, a, 1.0)
            own = np.where(q > 0.0, np.where(positive, q * DAYS_PER_MONTH / (safe * w), np.inf), 0)
            other = np.where(o > 0.0, np.where(positive, o / safe, np.inf), 0.0)
        return np.asarray(own + other, dtype=np.float64)

    def multiplier(self, x: Float64Array) -> Float64Array:
        p = self.params
        return _multiplier(x, p.impact_kind, p.impact_coefficient, p.min_price_fraction)


def _evaluate(
    lot: _Lot, units_sold: Float64Array, window_days: Float64Array, speed: str
) -> Liquidation:
    """Cash flows and PV of a given schedule (n, H) with windows (n, H)."""
    n, h = units_sold.shape
    mult = np.ones((n, h))
    unit_price = np.zeros((n, h))
    times = np.zeros((n, h))
    gross = np.zeros((n, h))
    costs = np.zeros((n, h))
    pv = np.zeros(n)
    for k in range(h):
        q = units_sold[:, k]
        sold = q > 0.0
        w = np.where(sold, window_days[:, k], DAYS_PER_MONTH)
        t, alpha, beta = lot.terms(k, w)
        m = np.where(sold, lot.multiplier(lot.participation(k, q, w)), 1.0)
        price_t = lot.price * np.exp(-lot.drift * t)
        carry_booked = lot.carry * t + lot.insurance_per_month * lot.price * _annuity(lot.drift, t)
        mult[:, k] = m
        unit_price[:, k] = np.where(sold, price_t * m, 0.0)
        times[:, k] = np.where(sold, t, 0.0)
        gross[:, k] = q * price_t * m
        costs[:, k] = q * (price_t * m * lot.fee + lot.one_off + carry_booked)
        pv += q * (alpha * m - beta)
    return Liquidation(
        speed=speed,
        units_sold=units_sold,
        window_days=np.where(units_sold > 0.0, window_days, 0.0),
        sale_time_months=times,
        price_multiplier=mult,
        unit_price_usd=unit_price,
        gross_usd=gross,
        costs_usd=costs,
        pv_usd=pv,
    )


def _optimal_chunk(
    lot: _Lot, horizon: int, grid_steps: int, windows: tuple[float, ...]
) -> tuple[Float64Array, Float64Array]:
    """Dynamic programme over units left; returns the schedule and windows, shape (n, H).

    ``f_k(j) = max_w q_j (alpha_kw m(x_kwj) - beta_kw)`` is the PV of selling ``j`` grid steps
    in month ``k``; ``V_k(r) = max_{j <= r} f_k(j) + V_{k+1}(r - j)`` with ``V_{H+1}(0) = 0``
    and ``-inf`` otherwise (everything is sold within the horizon).
    """
    n = lot.units.shape[0]
    g = grid_steps
    q = lot.units[:, None] * (np.arange(g + 1, dtype=np.float64) / g)[None, :]
    value = np.empty((horizon, n, g + 1))
    best_window = np.zeros((horizon, n, g + 1), dtype=np.int64)
    for k in range(horizon):
        best = np.full((n, g + 1), -np.inf)
        pick = np.zeros((n, g + 1), dtype=np.int64)
        for i, w in enumerate(windows):
            _, alpha, beta = lot.terms(k, w)
            m = lot.multiplier(lot.participation(k, q, w))
            val = q * (alpha[:, None] * m - beta[:, None])
            better = val > best
            best = np.where(better, val, best)
            pick = np.where(better, i, pick)
        value[k] = best
        best_window[k] = pick

    # V_k(r) = max_j f_k(j) + V_{k+1}(r - j), one j at a time over every (path, r >= j): the
    # strict ">" keeps the smallest j among ties.
    future = np.full((n, g + 1), -np.inf)
    future[:, 0] = 0.0
    choice = np.zeros((horizon, n, g + 1), dtype=np.int64)
    for k in range(horizon - 1, -1, -1):
        best = np.full((n, g + 1), -np.inf)
        arg = np.zeros((n, g + 1), dtype=np.int64)
        for j in range(g + 1):
            cand = value[k][:, j : j + 1] + future[:, : g + 1 - j]
            better = cand > best[:, j:]
            np.copyto(best[:, j:], cand, where=better)
            np.copyto(arg[:, j:], j, where=better)
        choice[k] = arg
        future = best

    steps = np.zeros((n, horizon), dtype=np.int64)
    window_idx = np.zeros((n, horizon), dtype=np.int64)
    left = np.full(n, g, dtype=np.int64)
    idx = np.arange(n)
    for k in range(horizon):
        j = choice[k][idx, left]
        steps[:, k] = j
        window_idx[:, k] = best_window[k][idx, j]
        left = left - j
    units_sold = lot.units[:, None] * steps / g
    window_days = np.asarray(windows, dtype=np.float64)[window_idx]
    return units_sold, window_days


def liquidate(
    speed: LiquidationSpeed,
    units: Float64Array | float,
    reference_price_usd: Float64Array | float,
    monthly_drift: Float64Array | float,
    carry_usd_per_unit_month: Float64Array | float,
    monthly_discount: Float64Array | float,
    absorption_units_per_month: Float64Array | float,
    params: MarketParams,
    *,
    horizon_months: int = 12,
    other_units: Float64Array | float = 0.0,
    condition: Condition = "refurbished",
    grid_steps: int = 60,
    windows_days: tuple[float, ...] = DEFAULT_WINDOWS_DAYS,
    chunk_paths: int = 1024,
    method: LiquidationMethod = "compiled",
) -> Liquidation:
    """Sell a lot on every path at a named speed or on the optimal schedule.

    Parameters
    ----------
    speed : {"distressed", "auction", "broker", "orderly", "optimal"}
    units : ndarray, shape (n,), or float, units
        Lot size on each path (>= 0).
    reference_price_usd : ndarray, shape (n,), or float, USD per unit
        Price a buyer pays for one unit in the condition sold, before impact, at the start
        of the liquidation (the income-approach value per unit). ``condition="as_is"``
        multiplies it by ``params.as_is_factor``.
    monthly_drift : ndarray, shape (n,), or float, log decline per month
        The reference price falls as ``exp(-drift t)`` (the buyer's trend decline).
    carry_usd_per_unit_month : ndarray, shape (n,), or float, USD per unit per month
        Power and space while held (the engine's opex per GPU); insurance is added from
        ``params.costs``.
    monthly_discount : ndarray, shape (n,), or float, decimal per month
        The lender's discount rate.
    absorption_units_per_month : ndarray, shape (n,) or (n, >= H), or float, units per month
    params : MarketParams
    horizon_months : int
        Months the optimiser may use (the named speeds use 1, 1, 3 and 6).
    other_units : ndarray, shape (n,) or (n, >= H), or float, units
        Units other sellers offer in the same market each month (a shared market).
    condition : {"refurbished", "as_is"}
    grid_steps : int
        Units grid of the optimiser, ``L / grid_steps``; a positive multiple of 6 so that the
        named speeds are on the grid.
    windows_days : tuple of float
        Sale windows the optimiser may use in a month (each at most a month).
    chunk_paths : int
        Paths per dynamic-programming chunk of the NumPy method (memory ~ 8 x chunk x
        (grid + 1)^2 bytes); the compiled method solves one path at a time.
    method : {"compiled", "numpy"}
        ``"compiled"``: the numba loops of ``credit.liquidation_kernel`` (fast, the engine's);
        ``"numpy"``: the vectorised dynamic programme kept as the readable oracle.

    Returns
    -------
    Liquidation
    """
    units_arr = np.atleast_1d(np.asarray(units, dtype=np.float64))
    if units_arr.ndim != 1:
        raise ValueError(f"units: expected a scalar or shape (n,), got {units_arr.shape}")
    n = units_arr.shape[0]
    if np.any(units_arr < 0.0):
        raise ValueError("liquidate: units must be >= 0")
    if speed == "optimal":
        h = horizon_months
        if h < 1:
            raise ValueError(f"horizon_months = {h}: expected at least 1")
        if grid_steps < 6 or grid_steps % 6:
            raise ValueError(f"grid_steps = {grid_steps}: expected a positive multiple of 6")
        if any(not 0.0 < w <= DAYS_PER_MONTH for w in windows_days):
            raise ValueError(f"windows_days = {windows_days}: expected days in (0, 30.4375]")
    else:
        shares, windows = named_schedule(speed)
        h = shares.shape[0]
    price = _as_paths(reference_price_usd, n, "reference_price_usd") * params.condition_factor(
        condition
    )
    discount = _as_paths(monthly_discount, n, "monthly_discount")
    if np.any(discount <= -1.0):
        raise ValueError("monthly_discount: expected > -1")
    lot = _Lot(
        units=units_arr,
        price=price,
        drift=_as_paths(monthly_drift, n, "monthly_drift"),
        carry=_as_paths(carry_usd_per_unit_month, n, "carry_usd_per_unit_month"),
        rho=np.log1p(discount),
        absorption=_as_path_months(absorption_units_per_month, n, h, "absorption"),
        others=_as_path_months(other_units, n, h, "other_units"),
        insurance_per_month=params.costs.insurance_share_per_year / 12.0,
        one_off=params.costs.one_off_usd_per_unit(condition),
        fee=params.costs.transaction_share_of_gross,
        params=params,
    )
    if np.any(lot.absorption < 0.0) or np.any(lot.others < 0.0):
        raise ValueError("liquidate: absorption and other_units must be >= 0")
    if method == "compiled":
        return _liquidate_compiled(lot, speed, h, grid_steps, windows_days)
    if speed != "optimal":
        schedule = units_arr[:, None] * shares[None, :]
        return _evaluate(lot, schedule, np.broadcast_to(windows, (n, h)).copy(), speed)

    units_sold = np.zeros((n, h))
    window_days = np.zeros((n, h))
    for start in range(0, n, chunk_paths):
        part = slice(start, min(start + chunk_paths, n))
        sub = _Lot(
            units=lot.units[part],
            price=lot.price[part],
            drift=lot.drift[part],
            carry=lot.carry[part],
            rho=lot.rho[part],
            absorption=lot.absorption[part],
            others=lot.others[part],
            insurance_per_month=lot.insurance_per_month,
            one_off=lot.one_off,
            fee=lot.fee,
            params=params,
        )
        units_sold[part], window_days[part] = _optimal_chunk(sub, h, grid_steps, windows_days)
    return _evaluate(lot, units_sold, window_days, "optimal")


def _liquidate_compiled(
    lot: _Lot, speed: LiquidationSpeed, h: int, grid_steps: int, windows_days: tuple[float, ...]
) -> Liquidation:
    """``liquidate`` with the compiled optimiser and evaluation (one path at a time)."""
    p = lot.params
    market = (
        lot.price,
        lot.drift,
        lot.carry,
        lot.rho,
        lot.absorption,
        lot.others,
        lot.insurance_per_month,
        lot.one_off,
        lot.fee,
        IMPACT_CODES[p.impact_kind],
        p.impact_coefficient,
        p.min_price_fraction,
    )
    if speed == "optimal":
        windows = np.asarray(windows_days, dtype=np.float64)
        units_sold, window_days = optimal_schedules(lot.units, *market, windows, grid_steps)
    else:
        shares, named_windows = named_schedule(speed)
        units_sold = lot.units[:, None] * shares[None, :]
        window_days = np.ascontiguousarray(np.broadcast_to(named_windows, units_sold.shape))
    times, mult, unit_price, gross, costs, pv = evaluate_schedules(*market, units_sold, window_days)
    return Liquidation(
        speed=speed,
        units_sold=units_sold,
        window_days=np.where(units_sold > 0.0, window_days, 0.0),
        sale_time_months=times,
        price_multiplier=mult,
        unit_price_usd=unit_price,
        gross_usd=gross,
        costs_usd=costs,
        pv_usd=pv,
    )


def optimal_schedule(
    units: Float64Array | float,
    reference_price_usd: Float64Array | float,
    monthly_drift: Float64Array | float,
    carry_usd_per_unit_month: Float64Array | float,
    monthly_discount: Float64Array | float,
    absorption: Float64Array | float,
    horizon_months: int,
    params: MarketParams,
    *,
    other_units: Float64Array | float = 0.0,
    condition: Condition = "refurbished",
    grid_steps: int = 60,
    windows_days: tuple[float, ...] = DEFAULT_WINDOWS_DAYS,
) -> Liquidation:
    """The PV-maximising sale schedule (``liquidate("optimal", ...)``); see ``liquidate``."""
    return liquidate(
        "optimal",
        units,
        reference_price_usd,
        monthly_drift,
        carry_usd_per_unit_month,
        monthly_discount,
        absorption,
        params,
        horizon_months=horizon_months,
        other_units=other_units,
        condition=condition,
        grid_steps=grid_steps,
        windows_days=windows_days,
    )


# --- A market shared by several sellers ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SecondaryMarket:
    """The secondary market of one pool, shared by every seller in it.

    Holds no state about who sells: in month ``k`` the clearing multiplier depends only on the
    total units offered that month by all sellers, and every seller gets it. A later month may
    have a different absorption (``absorption_by_month``; the last value repeats).

    Attributes
    ----------
    pool : str
    absorption_by_month : tuple of float
        Units a month the market takes at the reference price, month 1, 2, ...
    params : MarketParams
    """

    pool: str
    absorption_by_month: tuple[float, ...]
    params: MarketParams

    def __post_init__(self) -> None:
        if not self.absorption_by_month or any(a < 0.0 for a in self.absorption_by_month):
            raise ValueError(
                f"SecondaryMarket({self.pool}).absorption_by_month = "
                f"{self.absorption_by_month}: expected one or more values >= 0"
            )

    @classmethod
    def for_generation(
        cls, generation: str, as_of: dt.date, params: MarketParams | None = None
    ) -> SecondaryMarket:
        """The GPU market of ``generation``'s pool, absorption from the shipments on ``as_of``."""
        p = params if params is not None else gpu_market_params()
        pool, _ = market_pool(generation)
        return cls(pool, (absorption_units_per_month(generation, as_of, p),), p)

    @classmethod
    def for_asic(
        cls,
        as_of: dt.date,
        params: MarketParams | None = None,
        *,
        rig_hashrate_th_s: float = S21_RIG_HASHRATE_TH_S,
    ) -> SecondaryMarket:
        """The mining-rig market, absorption from the network hash rate on ``as_of``."""
        p = params if params is not None else asic_market_params()
        a = absorption_units_per_month(ASIC_POOL, as_of, p, rig_hashrate_th_s=rig_hashrate_th_s)
        return cls(ASIC_POOL, (a,), p)

    def absorption(self, month: int | Int64Array) -> Float64Array:
        """Absorption (units per month) of 1-based ``month``, shape of ``month``."""
        m = np.asarray(month, dtype=np.int64)
        if np.any(m < 1):
            raise ValueError(f"SecondaryMarket.absorption: month must be >= 1, got {month}")
        table = np.asarray(self.absorption_by_month, dtype=np.float64)
        return np.asarray(table[np.minimum(m, table.size) - 1], dtype=np.float64)

    def absorption_path(self, horizon_months: int) -> Float64Array:
        """Absorption of months 1..H, shape (H,)."""
        return self.absorption(np.arange(1, horizon_months + 1))

    def clear(
        self,
        month: int | Int64Array,
        units_offered_total: Float64Array | float,
        *,
        window_days: float = DAYS_PER_MONTH,
    ) -> Float64Array:
        """Clearing-price multiplier in ``month`` when all sellers offer ``units_offered_total``
        over ``window_days`` (broadcast shape of the arguments)."""
        absorption = self.absorption(month) * window_days / DAYS_PER_MONTH
        return price_impact(units_offered_total, absorption, self.params)

    def clear_offers(self, offers: Float64Array) -> Float64Array:
        """Clearing multipliers for offers of shape (seller, ..., month), months from 1.

        Sums the sellers' units month by month and clears each month; returns shape
        (..., month). Every seller's units sell at these multipliers.
        """
        arr = np.asarray(offers, dtype=np.float64)
        total = arr.sum(axis=0)
        months = np.arange(1, total.shape[-1] + 1)
        return self.clear(months, total)

    def liquidate(
        self,
        speed: LiquidationSpeed,
        units: Float64Array | float,
        reference_price_usd: Float64Array | float,
        monthly_drift: Float64Array | float,
        carry_usd_per_unit_month: Float64Array | float,
        monthly_discount: Float64Array | float,
        *,
        horizon_months: int = 12,
        other_units: Float64Array | float = 0.0,
        condition: Condition = "refurbished",
        grid_steps: int = 60,
        method: LiquidationMethod = "compiled",
    ) -> Liquidation:
        """``liquidate`` in this market: its absorption by month and its parameters.

        With ``other_units`` (units other sellers offer each month, shape (n, H) or
        broadcastable) this is one seller's best response to the others' schedules.
        """
        n = np.atleast_1d(np.asarray(units)).shape[0]
        h = horizon_months if speed == "optimal" else named_schedule(speed)[0].shape[0]
        absorption = np.broadcast_to(self.absorption_path(h), (n, h))
        return liquidate(
            speed,
            units,
            reference_price_usd,
            monthly_drift,
            carry_usd_per_unit_month,
            monthly_discount,
            absorption,
            self.params,
            horizon_months=horizon_months,
            other_units=other_units,
            condition=condition,
            grid_steps=grid_steps,
            method=method,
        )


# --- Recovery model --------------------------------------------------------------------------


#: The collateral "generation" of mining rigs: they sell in the one ASIC market
#: (``SecondaryMarket.for_asic``), not in a GPU pool.
ASIC_GENERATION = ASIC_POOL


@dataclass(frozen=True, slots=True)
class CohortCollateral:
    """What the lender repossesses of one cohort, fixed for the deal.

    Attributes
    ----------
    generation : str
        Engine generation (``H100``, ...); its pool is ``market.shipments.market_pool``.
    units : float
        Units in the cohort.
    carry_usd_per_unit_month : float
        Power and space per unit per month while held (the engine's ``opex_per_gpu_usd``).
    monthly_drift : float
        Buyer's trend decline of the reference price, log per month
        (``buyer_decay_per_year / 12``).
    unit_cost_usd : float or None
        Purchase price per unit (for the vintage cap).
    age_years_at_as_of : float or None
        Age of the units on the deal's as-of date (for the vintage cap).
    """

    generation: str
    units: float
    carry_usd_per_unit_month: float
    monthly_drift: float
    unit_cost_usd: float | None = None
    age_years_at_as_of: float | None = None


@dataclass(frozen=True, slots=True)
class MarketDefaultState(DefaultState):
    """``DefaultState`` plus the lender's discount rate on each defaulted path.

    Attributes
    ----------
    monthly_discount : ndarray, shape (n,), decimal per month
        Pass the path's SOFR in the default month / 12: the same rate ``credit.outcomes``
        discounts the recovery lag at, so the recovery's PV is then exact.
    """

    monthly_discount: Float64Array


@dataclass(frozen=True, slots=True)
class RecoveryLiquidation:
    """The liquidation of every pool on every defaulted path (``n`` paths, ``P`` pools).

    Attributes
    ----------
    pools : tuple of str, length P
    by_pool : tuple of Liquidation, length P
        Each pool's sale (zeroed where the pool is abandoned).
    abandoned : ndarray of bool, shape (n, P)
        The pool's liquidation PV was not positive: the lender leaves it with the estate.
    gross_usd, net_usd, pv_usd : ndarray, shape (n,)
        Sums over pools (undiscounted gross and net; PV at the lender's rate), pledged cash
        excluded.
    """

    pools: tuple[str, ...]
    by_pool: tuple[Liquidation, ...]
    abandoned: BoolArray
    gross_usd: Float64Array
    net_usd: Float64Array
    pv_usd: Float64Array

    def units_offered(self, pool: str) -> Float64Array:
        """Units this lender sells into ``pool`` each month, shape (n, H): what another seller
        in the same market passes as ``other_units``."""
        return self.by_pool[self.pools.index(pool)].units_sold


@dataclass(frozen=True, slots=True)
class SecondaryMarketRecovery:
    """Recovery = liquidation of the repossessed hardware in its secondary markets + pledged
    cash, capped at EAD (implements ``credit.recovery.RecoveryModel``).

    Cohorts in the same pool are sold as one lot, pro rata (each month the same share of every
    cohort): the lot's reference price is the unit-weighted mean of the cohorts' per-unit
    values, its drift the value-weighted mean, its carry the unit-weighted mean.

    Attributes
    ----------
    cohorts : tuple of CohortCollateral
        In the order of ``DefaultState.cohort_value_usd``'s cohort axis.
    markets : tuple of SecondaryMarket
        One per pool; must hold every cohort's pool (a tuple, so the model pickles for
        distributed runs).
    sale_speed : {"optimal", "distressed", "auction", "broker", "orderly"}
    horizon_months : int
        Longest liquidation the optimiser may use.
    annual_discount_rate : float
        The lender's discount rate when the state is a plain ``DefaultState``.
        ASSUMPTION: 10% a year, a lender's cost of capital on a workout.
    condition : {"refurbished", "as_is"}
    reference : {"income", "lower_of_income_and_vintage"}
        Reference price per unit: the income-approach value, or the lower of it and purchase
        price x the vintage curve at the unit's age at default.
    grid_steps : int
    method : {"compiled", "numpy"}
        The optimiser and evaluation used (``liquidate``): the compiled loops, or the NumPy
        oracle (for tests and benchmarks).
    """

    cohorts: tuple[CohortCollateral, ...]
    markets: tuple[SecondaryMarket, ...]
    sale_speed: LiquidationSpeed = "optimal"
    horizon_months: int = 12
    annual_discount_rate: float = 0.10
    condition: Condition = "refurbished"
    reference: ReferenceBasis = "income"
    grid_steps: int = 60
    method: LiquidationMethod = "compiled"
    _pools: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pools = tuple(dict.fromkeys(market_pool(c.generation)[0] for c in self.cohorts))
        have = [m.pool for m in self.markets]
        if len(set(have)) != len(have):
            raise ValueError(f"SecondaryMarketRecovery.markets: pools {have} repeat")
        missing = [p for p in pools if p not in have]
        if missing:
            raise ValueError(f"SecondaryMarketRecovery.markets lacks pools {missing}")
        if self.reference == "lower_of_income_and_vintage":
            for c in self.cohorts:
                if c.unit_cost_usd is None or c.age_years_at_as_of is None:
                    raise ValueError(
                        f"cohort {c.generation}: reference 'lower_of_income_and_vintage' needs "
                        "unit_cost_usd and age_years_at_as_of"
                    )
        object.__setattr__(self, "_pools", pools)

    @classmethod
    def for_cohorts(
        cls,
        generations: Sequence[str],
        units: Sequence[float],
        carry_usd_per_unit_month: Sequence[float],
        monthly_drift: Sequence[float],
        as_of: dt.date,
        *,
        params: MarketParams | None = None,
        unit_cost_usd: Sequence[float] | None = None,
        age_years_at_as_of: Sequence[float] | None = None,
        sale_speed: LiquidationSpeed = "optimal",
        horizon_months: int = 12,
        annual_discount_rate: float = 0.10,
        condition: Condition = "refurbished",
        reference: ReferenceBasis = "income",
        grid_steps: int = 60,
    ) -> SecondaryMarketRecovery:
        """Build the model of a GPU deal: one cohort per entry, markets sized on ``as_of``."""
        p = params if params is not None else gpu_market_params()
        c = len(generations)
        for name, seq in (
            ("units", units),
            ("carry_usd_per_unit_month", carry_usd_per_unit_month),
            ("monthly_drift", monthly_drift),
        ):
            if len(seq) != c:
                raise ValueError(f"{name}: expected {c} values, one per cohort, got {len(seq)}")
        cohorts = tuple(
            CohortCollateral(
                generation=generations[i],
                units=float(units[i]),
                carry_usd_per_unit_month=float(carry_usd_per_unit_month[i]),
                monthly_drift=float(monthly_drift[i]),
                unit_cost_usd=None if unit_cost_usd is None else float(unit_cost_usd[i]),
                age_years_at_as_of=None
                if age_years_at_as_of is None
                else float(age_years_at_as_of[i]),
            )
            for i in range(c)
        )
        markets: dict[str, SecondaryMarket] = {}
        for g in generations:
            pool, _ = market_pool(g)
            if pool not in markets:
                markets[pool] = SecondaryMarket.for_generation(g, as_of, p)
        return cls(
            cohorts=cohorts,
            markets=tuple(markets.values()),
            sale_speed=sale_speed,
            horizon_months=horizon_months,
            annual_discount_rate=annual_discount_rate,
            condition=condition,
            reference=reference,
            grid_steps=grid_steps,
        )

    @property
    def pools(self) -> tuple[str, ...]:
        """Pools sold into, in the order of the cohorts."""
        return self._pools

    def market(self, pool: str) -> SecondaryMarket:
        """The market of ``pool``."""
        for m in self.markets:
            if m.pool == pool:
                return m
        raise KeyError(pool)

    def _reference_prices(self, state: DefaultState) -> Float64Array:
        """Per-unit reference price of each cohort on each path, shape (n, cohort)."""
        value = np.asarray(state.cohort_value_usd, dtype=np.float64)
        n = value.shape[0]
        if value.ndim != 2 or value.shape[1] != len(self.cohorts):
            raise ModelError(
                f"DefaultState.cohort_value_usd has shape {value.shape}; the recovery model "
                f"has {len(self.cohorts)} cohorts"
            )
        units = np.array([c.units for c in self.cohorts], dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            price = np.where(units > 0.0, value / np.where(units > 0.0, units, 1.0), 0.0)
        if self.reference == "lower_of_income_and_vintage":
            month = np.asarray(state.month, dtype=np.float64).reshape(n, 1)
            cost = np.array([c.unit_cost_usd or 0.0 for c in self.cohorts])
            age0 = np.array([c.age_years_at_as_of or 0.0 for c in self.cohorts])
            for j, c in enumerate(self.cohorts):
                factors = self.market(market_pool(c.generation)[0]).params.vintage_factors
                if not factors:
                    raise ModelError(f"market of {c.generation} has no vintage curve")
                cap = cost[j] * vintage_factor(age0[j] + month[:, 0] / 12.0, factors)
                price[:, j] = np.minimum(price[:, j], cap)
        return np.asarray(np.maximum(price, 0.0), dtype=np.float64)

    def _monthly_discount(self, state: DefaultState) -> Float64Array:
        n = np.asarray(state.month).shape[0]
        if isinstance(state, MarketDefaultState):
            return _as_paths(state.monthly_discount, n, "MarketDefaultState.monthly_discount")
        return np.full(n, (1.0 + self.annual_discount_rate) ** (1.0 / 12.0) - 1.0)

    def liquidate(
        self, state: DefaultState, *, other_units: Mapping[str, Float64Array] | None = None
    ) -> RecoveryLiquidation:
        """Sell every pool's lot on every defaulted path.

        ``other_units[pool]``, shape (n, H) or broadcastable, are units other sellers offer in
        the same market and month (several lenders' collateral in one market); the schedule
        chosen is then this lender's best response to them.
        """
        price = self._reference_prices(state)
        rate = self._monthly_discount(state)
        n = price.shape[0]
        units = np.array([c.units for c in self.cohorts], dtype=np.float64)
        drift = np.array([c.monthly_drift for c in self.cohorts], dtype=np.float64)
        carry = np.array([c.carry_usd_per_unit_month for c in self.cohorts], dtype=np.float64)
        by_pool: list[Liquidation] = []
        abandoned = np.zeros((n, len(self._pools)), dtype=np.bool_)
        gross = np.zeros(n)
        net = np.zeros(n)
        pv = np.zeros(n)
        cohort_pool = [market_pool(c.generation)[0] for c in self.cohorts]
        for p, pool in enumerate(self._pools):
            cols = [j for j, cp in enumerate(cohort_pool) if cp == pool]
            lot_units = float(units[cols].sum())
            value = price[:, cols] * units[cols][None, :]
            total_value = value.sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                lot_price = total_value / lot_units if lot_units > 0.0 else np.zeros(n)
                weights = np.where(
                    total_value[:, None] > 0.0,
                    value / np.where(total_value > 0.0, total_value, 1.0)[:, None],
                    units[cols][None, :] / max(lot_units, 1e-300),
                )
            lot_drift = (weights * drift[cols][None, :]).sum(axis=1)
            lot_carry = float((units[cols] * carry[cols]).sum() / lot_units) if lot_units else 0.0
            market = self.market(pool)
            others = None if other_units is None else other_units.get(pool)
            sale = market.liquidate(
                self.sale_speed,
                np.full(n, lot_units),
                lot_price,
                lot_drift,
                lot_carry,
                rate,
                horizon_months=self.horizon_months,
                other_units=0.0 if others is None else others,
                condition=self.condition,
                grid_steps=self.grid_steps,
                method=self.method,
            )
            drop = ~(sale.pv_usd > 0.0)
            abandoned[:, p] = drop
            sale = _zero_paths(sale, drop)
            by_pool.append(sale)
            gross += sale.total_gross_usd
            net += sale.total_net_usd
            pv += sale.pv_usd
        return RecoveryLiquidation(
            pools=self._pools,
            by_pool=tuple(by_pool),
            abandoned=abandoned,
            gross_usd=gross,
            net_usd=net,
            pv_usd=pv,
        )

    def recover(self, state: DefaultState) -> RecoveryResult:
        """Proceeds (net of costs, plus pledged cash, capped at EAD) and their lag.

        ``lag_months`` is the single time ``T`` at which the undiscounted proceeds have the
        liquidation's PV at the lender's rate: ``total (1 + r)^-T = PV``, so discounting the
        proceeds over the lag at the same rate (``credit.outcomes``) gives back the PV. Where
        that is undefined (zero rate, nothing recovered), the sale-weighted mean time.
        """
        return self.finish(self.summarise(state), state)

    def summarise(self, state: DefaultState) -> SaleSummary:
        """The liquidation of ``state`` reduced to what recovery needs (per defaulted path)."""
        liq = self.liquidate(state)
        units = np.zeros(liq.net_usd.shape)
        times = np.zeros(liq.net_usd.shape)
        last = np.zeros(liq.net_usd.shape)
        for sale in liq.by_pool:
            units += sale.units_sold.sum(axis=1)
            times += (sale.units_sold * sale.sale_time_months).sum(axis=1)
            sold = sale.units_sold > 0.0
            last = np.maximum(last, np.where(sold, sale.sale_time_months, 0.0).max(axis=1))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            mean_time = np.where(units > 0.0, times / np.where(units > 0.0, units, 1.0), 0.0)
        horizon = max(s.units_sold.shape[1] for s in liq.by_pool) if liq.by_pool else 0
        return SaleSummary(
            gross_usd=liq.gross_usd,
            net_usd=liq.net_usd,
            pv_usd=liq.pv_usd,
            mean_time_months=np.asarray(mean_time, dtype=np.float64),
            last_sale_months=np.asarray(last, dtype=np.float64),
            horizon_months=np.full(liq.net_usd.shape, float(horizon)),
        )

    def finish(self, sale: SaleSummary, state: DefaultState) -> RecoveryResult:
        """Recovery from a summarised sale: add pledged cash, cap at EAD, find the lag."""
        rate = self._monthly_discount(state)
        cash = np.asarray(state.pledged_cash_usd, dtype=np.float64)
        total = sale.net_usd + cash
        pv = sale.pv_usd + cash
        rho = np.log1p(rate)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            exact = (total > 0.0) & (pv > 0.0) & (rho > 1e-12)
            lag = np.where(
                exact, np.log(np.where(exact, total / pv, 1.0)) / np.where(exact, rho, 1.0), 0.0
            )
        lag = np.where(exact, lag, sale.mean_time_months * (sale.net_usd > 0.0))
        lag = np.clip(lag, 0.0, sale.horizon_months)
        proceeds = np.minimum(np.maximum(total, 0.0), np.asarray(state.ead_usd, dtype=np.float64))
        return RecoveryResult(
            proceeds_usd=np.asarray(proceeds, dtype=np.float64),
            lag_months=np.asarray(lag, dtype=np.float64),
            gross_sale_usd=sale.gross_usd,
            time_to_recover_months=sale.last_sale_months,
        )


@dataclass(frozen=True, slots=True)
class SaleSummary:
    """A liquidation reduced to what recovery needs, per defaulted path (shape (n,)).

    ``last_sale_months`` is the time of the last sale after default: the time to recover.
    """

    gross_usd: Float64Array
    net_usd: Float64Array
    pv_usd: Float64Array
    mean_time_months: Float64Array
    last_sale_months: Float64Array
    horizon_months: Float64Array

    def take(self, index: Int64Array) -> SaleSummary:
        return SaleSummary(*(np.asarray(getattr(self, f))[index] for f in _SALE_FIELDS))


_SALE_FIELDS = (
    "gross_usd",
    "net_usd",
    "pv_usd",
    "mean_time_months",
    "last_sale_months",
    "horizon_months",
)


@dataclass(slots=True)
class MemoisedRecovery:
    """``SecondaryMarketRecovery`` that remembers each sale it has priced.

    A sale depends only on the default month, the cohorts' values then and the lender's rate,
    which are the same on a path however the coupon moves; the fair-spread passes re-run the
    waterfall on the same paths, so most of their defaults are sales already priced. The key is
    the exact bytes of those inputs, so a hit returns exactly what pricing again would.
    Safe to share between threads (a lost race prices a sale twice, with the same result).
    """

    model: SecondaryMarketRecovery
    max_entries: int = 2_000_000
    _memo: dict[bytes, tuple[float, ...]] = field(default_factory=dict)

    def recover(self, state: DefaultState) -> RecoveryResult:
        n = np.asarray(state.month).shape[0]
        if n == 0:
            return self.model.recover(state)
        rate = self.model._monthly_discount(state)
        keys_matrix = np.column_stack(
            [
                np.asarray(state.month, dtype=np.float64),
                np.asarray(state.cohort_value_usd, dtype=np.float64).reshape(n, -1),
                rate,
            ]
        )
        keys = [row.tobytes() for row in keys_matrix]
        missing = np.array([i for i, k in enumerate(keys) if k not in self._memo], dtype=np.int64)
        if missing.size:
            fresh = self.model.summarise(_take_state(state, missing, rate))
            if len(self._memo) < self.max_entries:
                rows = np.column_stack([getattr(fresh, f) for f in _SALE_FIELDS]).tolist()
                for i, row in zip(missing.tolist(), rows, strict=True):
                    self._memo[keys[i]] = tuple(row)
        found = [self._memo.get(k) for k in keys]
        if any(f is None for f in found):  # memo full: price the rest directly
            return self.model.recover(state)
        table = np.array(found, dtype=np.float64)
        sale = SaleSummary(*(table[:, j] for j in range(len(_SALE_FIELDS))))
        return self.model.finish(sale, state)


def _take_state(state: DefaultState, index: Int64Array, rate: Float64Array) -> MarketDefaultState:
    return MarketDefaultState(
        month=np.asarray(state.month)[index],
        ead_usd=np.asarray(state.ead_usd)[index],
        pledged_cash_usd=np.asarray(state.pledged_cash_usd)[index],
        cohort_value_usd=np.asarray(state.cohort_value_usd)[index],
        monthly_discount=rate[index],
    )


def _zero_paths(sale: Liquidation, drop: BoolArray) -> Liquidation:
    """The sale with the paths in ``drop`` (bool, shape (n,)) emptied (abandoned)."""
    if not np.any(drop):
        return sale
    keep = ~drop[:, None]
    return Liquidation(
        speed=sale.speed,
        units_sold=np.where(keep, sale.units_sold, 0.0),
        window_days=np.where(keep, sale.window_days, 0.0),
        sale_time_months=np.where(keep, sale.sale_time_months, 0.0),
        price_multiplier=np.where(keep, sale.price_multiplier, 1.0),
        unit_price_usd=np.where(keep, sale.unit_price_usd, 0.0),
        gross_usd=np.where(keep, sale.gross_usd, 0.0),
        costs_usd=np.where(keep, sale.costs_usd, 0.0),
        pv_usd=np.where(drop, 0.0, sale.pv_usd),
    )
