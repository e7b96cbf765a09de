"""Price impact of a sale, the vintage curve, the named sale speeds, and the least-squares fit
of the impact coefficient to published liquidation factors (``docs/liquidation.md``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

import numpy as np
from scipy.optimize import least_squares

from gpucredit._typing import Float64Array
from gpucredit.credit.liquidation.params import (
    AS_IS_FACTOR,
    ASA_FORCED_TO_ORDERLY,
    ASIC_COSTS,
    ASIC_MONTHLY_TURNOVER,
    DAYS_PER_MONTH,
    GPU_COSTS,
    GPU_MONTHLY_TURNOVER,
    INET_BETA_PER_MARKET_SHARE,
    MIN_PRICE_FRACTION,
    NAMED_SPEEDS,
    SPOTWIRE_VINTAGE_FACTORS,
    ImpactKind,
    MarketParams,
    NamedSpeed,
)
from gpucredit.credit.recovery import LIQUIDATION_FACTORS

__all__ = [
    "ASA_TARGETS",
    "SPOTWIRE_SOURCE",
    "SPOTWIRE_TARGETS",
    "ImpactCalibration",
    "asic_market_params",
    "calibrate_impact",
    "gpu_market_params",
    "inet_exponential_coefficient",
    "named_schedule",
    "price_impact",
    "speed_factor",
    "vintage_factor",
]


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
