"""A sale schedule and what it realises: the named speeds, and the PV-maximising schedule by
dynamic programming over the units left (``docs/liquidation.md``).

The NumPy programme here (``_optimal_chunk``, ``_evaluate``) is the readable oracle; the
engine runs its compiled twin, ``schedule_kernel`` (``liquidate(method="compiled")``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpucredit._typing import Float64Array
from gpucredit.credit.liquidation.impact import _multiplier, named_schedule
from gpucredit.credit.liquidation.params import (
    DAYS_PER_MONTH,
    DEFAULT_WINDOWS_DAYS,
    Condition,
    LiquidationMethod,
    LiquidationSpeed,
    MarketParams,
)
from gpucredit.credit.liquidation.schedule_kernel import (
    IMPACT_CODES,
    evaluate_schedules,
    optimal_schedules,
)

__all__ = [
    "Liquidation",
    "liquidate",
    "optimal_schedule",
]


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
        ``"compiled"``: the numba loops of ``credit.liquidation.schedule_kernel`` (fast, the
        engine's); ``"numpy"``: the vectorised dynamic programme kept as the readable oracle.

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
