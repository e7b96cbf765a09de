"""Bitcoin-miner cash flows and collateral: self-mining, hosting leases, treasury, ASIC value.

``plan_miner`` turns a ``MinerSpec`` into fixed arrays on a ``TimeGrid`` once per run;
``project_miner`` applies a block of scenario paths (plain arrays of BTC price and hashprice,
shape (path, month), and the month each hosting lease fails) to the plan. Both are pure.

Conventions (documented assumptions):

* **Monthly granularity.** Hashprice is the month's value on the path; the whole month mines or
  the whole month is switched off. With ``curtailment`` on, a month runs only if the hashprice
  net of the pool fee exceeds the power cost of a TH/s-day (``efficiency x PUE x 24 h x power
  price``); intra-month curtailment (hourly power prices, demand response) is not modelled.
  Mined BTC is sold in the month it is mined (no accumulation into the treasury).
* **Fleet.** The hash rate is constant until the fleet's economic life ends (then it is retired:
  no revenue, no power). No fleet growth, no maintenance capex: CFADS is pre-tax and pre-capex.
* **Hosting.** Each lease pays ``kW x rate x escalator`` for the share of each month it runs
  (take-or-pay). From the month its tenant (and guarantor, if any: the caller combines them into
  ``lease_failure_month``) fails it pays nothing; after ``re_lease_downtime_months`` idle the
  capacity is re-let at ``re_lease_rate_pct_of_contract`` of the escalated contract rate until
  the lease's end (an assumption, see ``config/miner.py``). Hosting opex per kW runs over every
  lease's term whether or not its tenant pays (the hall's fixed costs). The conversion capex is
  spent evenly over the months that start before the first lease starts.
* **ASIC value (income approach, an ASIC price-index analogue).** A buyer values one TH/s at
  month ``t`` as the present value of its monthly mining margin over the fleet's remaining life:
  the buyer projects hashprice ``F_k = h_t x exp(-g k) x ((1 + f) / 2)^(halvings in k months)``
  (network growth ``g`` and the halving schedule, BTC price held flat, fees a constant share
  ``f`` of revenue so a halving cuts revenue to ``(1 + f) / 2``), and since it can switch the
  rig off, each month's margin is a call on hashprice struck at the power cost ``c``:
  ``E[max(H_k - c, 0)] = F_k N(d1) - c N(d2)`` with lognormal volatility ``sigma sqrt(k)``
  (Black's formula). ``g`` is the hash-rate drift fitted on the shipped data, ``f`` the median
  fee share of the last year, the halving dates come from the shipped block counts, ``sigma``
  is the volatility of monthly log changes of the shipped hashprice (months spanning a halving
  left out); the discount rate defaults to 15% a year (the GPU buyer's rate, inside the 12-18%
  yield of GPU sale-leasebacks, REFERENCES.md: no published ASIC figure; an assumption). The
  buyer's parameters are those of ``as_of`` on every path and month.
* **Treasury value** = BTC held x price. **Lease value** = present value, at the lease discount
  rate, of the remaining contracted payments while the tenant survives (zero once it fails).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numba
import numba.experimental.function_type  # registers the type of _Ndtr below
import numpy as np
import pandas as pd
from numba.extending import get_cython_function_address
from scipy import special

from gpucredit._typing import BoolArray, Float64Array, Int64Array
from gpucredit.config.miner import MinerSpec
from gpucredit.errors import DataError
from gpucredit.factors.bitcoin import fee_share_median, fit_hashrate
from gpucredit.market.bitcoin import (
    HALVING_INTERVAL_BLOCKS,
    btc_halvings,
    hashprice_series,
    next_halving_estimate,
)
from gpucredit.market.ratings import party_annual_pd
from gpucredit.scenarios.grid import TimeGrid

__all__ = [
    "AsicBuyerParams",
    "MinerCashflows",
    "MinerPlan",
    "asic_value_usd_per_th",
    "calibrate_asic_buyer",
    "plan_miner",
    "power_cost_usd_per_th_day",
    "project_miner",
]

DAYS_PER_MONTH = 365.25 / 12.0
TH_PER_EH = 1e6
_HALVINGS_AHEAD = 8  # ~32 years of halvings: longer than any fleet life


@dataclass(frozen=True, slots=True)
class AsicBuyerParams:
    """How a buyer of used ASICs projects hashprice, as seen on ``as_of``.

    Attributes
    ----------
    as_of : datetime.date
    hashrate_drift_per_month : float
        Network hash-rate growth ``g``, log per month; hashprice decays at ``g`` between
        halvings.
    fee_share : float
        Fees / (subsidy + fees), ratio in [0, 1).
    halving_months : tuple of float
        Months from ``as_of`` to each coming halving.
    hashprice_vol_per_sqrt_month : float
        Volatility of the log hashprice, per square-root month.
    discount_rate : float
        Buyer's annual discount rate, decimal.
    """

    as_of: dt.date
    hashrate_drift_per_month: float
    fee_share: float
    halving_months: tuple[float, ...]
    hashprice_vol_per_sqrt_month: float
    discount_rate: float = 0.15

    def __post_init__(self) -> None:
        if not 0.0 <= self.fee_share < 1.0:
            raise ValueError(f"AsicBuyerParams.fee_share = {self.fee_share}: expected [0, 1)")
        if self.hashprice_vol_per_sqrt_month < 0.0 or self.discount_rate <= -1.0:
            raise ValueError("AsicBuyerParams: volatility must be >= 0 and discount rate > -1")

    def decay(self, start_month: float, n: int) -> Float64Array:
        """Projected hashprice ``k = 1..n`` months after ``start_month`` (months from
        ``as_of``) relative to the hashprice at ``start_month``, shape (n,)."""
        k = np.arange(1, n + 1, dtype=np.float64)
        out = np.exp(-self.hashrate_drift_per_month * k)
        cut = (1.0 + self.fee_share) / 2.0
        for h in self.halving_months:
            out = np.where((h > start_month) & (h <= start_month + k), out * cut, out)
        return np.asarray(out, dtype=np.float64)


def calibrate_asic_buyer(
    as_of: dt.date, *, discount_rate_pct: float = 15.0, window_years: float = 4.0
) -> AsicBuyerParams:
    """The ASIC buyer's projection from the shipped data up to ``as_of``.

    Parameters
    ----------
    as_of : datetime.date
        Only data on or before it is used.
    discount_rate_pct : float
        Annual discount rate, percent (default 15: an assumption, module docstring).
    window_years : float
        Window of the hash-rate drift and hashprice volatility fits, years.

    Returns
    -------
    AsicBuyerParams
        ``g`` from ``factors.bitcoin.fit_hashrate``, ``f`` from ``fee_share_median``, the
        halving dates from ``market.bitcoin.next_halving_estimate`` (every 210,000 blocks at
        the recent block rate after the next), ``sigma`` from monthly mean hashprice.
    """
    drift = fit_hashrate(as_of, window_years).params.drift
    est = next_halving_estimate(as_of)
    first = (est.date - as_of).days / DAYS_PER_MONTH
    every = HALVING_INTERVAL_BLOCKS / est.blocks_per_day / DAYS_PER_MONTH
    halvings = tuple(first + j * every for j in range(_HALVINGS_AHEAD))
    return AsicBuyerParams(
        as_of=as_of,
        hashrate_drift_per_month=drift,
        fee_share=fee_share_median(as_of),
        halving_months=halvings,
        hashprice_vol_per_sqrt_month=_hashprice_monthly_vol(as_of, window_years),
        discount_rate=discount_rate_pct / 100.0,
    )


def _hashprice_monthly_vol(as_of: dt.date, window_years: float) -> float:
    """Std of monthly log changes of the monthly mean hashprice, complete months in the window,
    changes whose two months straddle a halving left out (a known step, not a shock)."""
    series = hashprice_series()
    end = pd.Timestamp(as_of)
    series = series[(series.index > end - pd.Timedelta(days=round(365.25 * window_years)))]
    series = series[series.index <= end]
    days = pd.DatetimeIndex(series.index)
    monthly = series.groupby(days.to_period("M")).agg(["mean", "count"])
    periods = pd.PeriodIndex(monthly.index)
    monthly = monthly[monthly["count"].to_numpy() == periods.days_in_month.to_numpy()]
    starts = pd.PeriodIndex(monthly.index).to_timestamp()
    logs = np.log(monthly["mean"].to_numpy(dtype=np.float64))
    halving_days = [pd.Timestamp(h.date) for h in btc_halvings() if h.date is not None]
    keep = []
    for i in range(1, len(starts)):
        lo, hi = starts[i - 1], starts[i] + pd.offsets.MonthEnd(0)
        consecutive = starts[i] == starts[i - 1] + pd.offsets.MonthBegin(1)
        spans = any(lo <= d <= hi for d in halving_days)
        keep.append(consecutive and not spans)
    changes = np.diff(logs)[np.array(keep, dtype=bool)] if keep else np.array([])
    if changes.size < 12:
        raise DataError(
            f"missing series btc_hashprice: fewer than 12 monthly hashprice changes to {as_of} "
            "to fit a volatility (btc_hashprice_daily.csv starts 2010-07-18)"
        )
    return float(np.std(changes, ddof=1))


def power_cost_usd_per_th_day(
    efficiency_j_per_th: float, pue: float, power_price_usd_per_mwh: float
) -> float:
    """Power cost of one TH/s for a day, USD: ``J/TH x PUE x 24 h x USD/MWh / 1e6``
    (J/TH = W per TH/s; W x h = Wh; 1e6 Wh = 1 MWh)."""
    return efficiency_j_per_th * pue * 24.0 * power_price_usd_per_mwh / 1e6


def asic_value_usd_per_th(
    hashprice_usd_per_ph_day: Float64Array | float,
    *,
    power_cost_usd_per_th_day: float,
    pool_fee: float,
    remaining_life_months: float,
    buyer: AsicBuyerParams,
    start_month: float = 0.0,
) -> Float64Array:
    """Income-approach value of one TH/s of rigs (module docstring), USD per TH/s.

    Parameters
    ----------
    hashprice_usd_per_ph_day : float or ndarray, shape (path,)
        Current hashprice, USD per PH/s per day.
    power_cost_usd_per_th_day : float
        Power cost of one TH/s-day, USD (``power_cost_usd_per_th_day()``).
    pool_fee : float
        Pool fee, decimal.
    remaining_life_months : float
        Whole months of life left (fractions dropped).
    buyer : AsicBuyerParams
    start_month : float
        Months from ``buyer.as_of`` at which the value is taken (places the halvings).

    Returns
    -------
    ndarray, shape of ``hashprice_usd_per_ph_day``
    """
    hp = np.atleast_1d(np.asarray(hashprice_usd_per_ph_day, dtype=np.float64))
    n = math.floor(remaining_life_months + 1e-9)
    if n <= 0:
        return np.zeros_like(hp)
    weights, sig = _buyer_weights(buyer, n)
    decay = buyer.decay(start_month, n)
    net = hp / 1000.0 * (1.0 - pool_fee)
    value = _option_margin_pv(net, decay, weights, sig, power_cost_usd_per_th_day)
    return value.reshape(np.shape(hashprice_usd_per_ph_day))


def _buyer_weights(buyer: AsicBuyerParams, n: int) -> tuple[Float64Array, Float64Array]:
    k = np.arange(1, n + 1, dtype=np.float64)
    weights = (1.0 + buyer.discount_rate) ** (-k / 12.0) * DAYS_PER_MONTH
    sig = buyer.hashprice_vol_per_sqrt_month * np.sqrt(k)
    return weights, sig


class _Ndtr(numba.types.WrapperAddressProtocol):
    """SciPy's own ``ndtr`` (the C function of ``scipy.special.cython_special``) as a
    first-class function a compiled kernel calls: the same bits as the ``scipy.special.ndtr``
    ufunc (the oracle test holds them equal), inside one fused pass over (path, K) instead of
    the eight array passes and temporaries of the NumPy expression."""

    def __init__(self) -> None:
        self._address = int(
            get_cython_function_address("scipy.special.cython_special", "__pyx_fuse_1ndtr")
        )

    def __wrapper_address__(self) -> int:
        return self._address

    def signature(self) -> Any:
        return numba.float64(numba.float64, numba.int32)

    def __call__(self, x: float, skip_dispatch: np.int32) -> float:
        """Called from Python: ``scipy.special.ndtr`` itself."""
        return float(special.ndtr(x))


_NDTR = _Ndtr()


@numba.njit(cache=True, nogil=True)
def _call_margin_kernel(
    ndtr: _Ndtr,
    forward: Float64Array,
    d1: Float64Array,
    s: Float64Array,
    cost: float,
) -> None:
    """``max(F N(d1) - c N(d1 - s), 0)`` into ``d1`` (path, K), element by element in the
    order the NumPy expression evaluates it (no fused multiply-add: the same bits)."""
    no_dispatch = np.int32(0)
    for p in range(d1.shape[0]):
        for k in range(d1.shape[1]):
            x = d1[p, k]
            m = forward[p, k] * ndtr(x, no_dispatch) - cost * ndtr(x - s[k], no_dispatch)
            if m < 0.0:  # np.maximum(m, 0): keeps NaN and -0.0
                m = 0.0
            d1[p, k] = m


def _option_margin_pv(
    net_usd_per_th_day: Float64Array,
    decay: Float64Array,
    weights: Float64Array,
    sig: Float64Array,
    cost: float,
) -> Float64Array:
    """``sum_k w_k E[max(h d_k X_k - c, 0)]``, ``X_k`` lognormal with mean 1, shape (path,).

    Black's call ``F N(d1) - c N(d1 - s)``, ``d1 = (log(F / c) + s^2 / 2) / s``: the log and
    ``d1`` in NumPy, the two normal CDFs and the margin in ``_call_margin_kernel``.
    """
    forward = net_usd_per_th_day[:, None] * decay[None, :]
    if cost <= 0.0:
        return np.asarray(forward @ weights, dtype=np.float64)
    s = np.maximum(sig, 1e-12)
    d1 = np.divide(forward, cost)
    with np.errstate(divide="ignore"):
        np.log(d1, out=d1)
    d1 += 0.5 * s * s
    d1 /= s
    _call_margin_kernel(_NDTR, forward, d1, np.ascontiguousarray(s), float(cost))
    return np.asarray(d1 @ weights, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class MinerPlan:
    """Deterministic arrays of one miner on one grid (L hosting leases, K = longest life left).

    Attributes
    ----------
    n_months : int
    month_days : ndarray, shape (month,)
        Days in each grid month.
    hashrate_th_s : float
        Fleet hash rate, TH/s.
    in_service : ndarray of bool, shape (month,)
        The fleet is inside its economic life at the month's end.
    remaining_life_months : ndarray, shape (month,)
        Economic life left at each month's end, months, >= 0.
    pool_fee : float
        Decimal.
    power_cost_usd_per_th_day : float
        USD per TH/s-day.
    curtailment : bool
    other_opex_usd_per_month : float
    btc_held : float
        Treasury BTC on ``as_of``.
    asic_decay : ndarray, shape (month, K)
        Buyer's projected hashprice ``k`` months after each month's end over its hashprice.
    asic_weight : ndarray, shape (month, K)
        Discount factor x days in a month, zero beyond the life left.
    asic_sigma : ndarray, shape (K,)
        ``sigma sqrt(k)``.
    lease_tenants : tuple of str, length L
    lease_tenant_annual_pd, lease_guarantor_annual_pd : ndarray, shape (L,)
        One-year default probabilities for the caller's default model (NaN: no guarantor).
    lease_payment_usd : ndarray, shape (L, month)
        Contracted payment in each month if the tenant survives, USD.
    lease_value_usd : ndarray, shape (L, month)
        PV at each month's end of the contracted payments after it, USD (to the lease's end,
        beyond the grid if need be).
    hosting_opex_usd : ndarray, shape (month,)
    conversion_capex_usd : ndarray, shape (month,)
    re_lease_share : float
        Re-let rate over the contract rate, decimal.
    re_lease_downtime_months : int
    """

    n_months: int
    month_days: Float64Array
    hashrate_th_s: float
    in_service: BoolArray
    remaining_life_months: Float64Array
    pool_fee: float
    power_cost_usd_per_th_day: float
    curtailment: bool
    other_opex_usd_per_month: float
    btc_held: float
    asic_decay: Float64Array
    asic_weight: Float64Array
    asic_sigma: Float64Array
    lease_tenants: tuple[str, ...]
    lease_tenant_annual_pd: Float64Array
    lease_guarantor_annual_pd: Float64Array
    lease_payment_usd: Float64Array
    lease_value_usd: Float64Array
    hosting_opex_usd: Float64Array
    conversion_capex_usd: Float64Array
    re_lease_share: float
    re_lease_downtime_months: int

    @property
    def n_leases(self) -> int:
        return len(self.lease_tenants)


def plan_miner(spec: MinerSpec, grid: TimeGrid, buyer: AsicBuyerParams | None = None) -> MinerPlan:
    """Fixed per-miner arrays on ``grid`` (``grid.as_of`` must be ``spec.as_of``).

    ``buyer`` defaults to ``calibrate_asic_buyer(spec.as_of)`` (shipped data).
    """
    if grid.as_of != spec.as_of:
        raise ValueError(f"plan_miner: grid.as_of {grid.as_of} is not the spec's {spec.as_of}")
    if buyer is None:
        buyer = calibrate_asic_buyer(spec.as_of)
    n = grid.n_months
    mining = spec.mining
    months = np.arange(1, n + 1, dtype=np.float64)
    life = mining.economic_life_years * 12.0
    age = mining.fleet_age_years * 12.0 + months
    remaining = np.maximum(life - age, 0.0)
    cost = power_cost_usd_per_th_day(
        mining.efficiency_j_per_th, mining.pue, mining.power_price_usd_per_mwh
    )
    k_max = max(math.floor(float(remaining[0]) + 1e-9), 1)
    decay = np.zeros((n, k_max))
    weight = np.zeros((n, k_max))
    w_all, sig = _buyer_weights(buyer, k_max)
    for m in range(n):
        k = math.floor(float(remaining[m]) + 1e-9)
        if k > 0:
            decay[m, :k] = buyer.decay(float(m + 1), k)
            weight[m, :k] = w_all[:k]

    leases = spec.hosting.leases if spec.hosting is not None else []
    pay, value = _lease_schedules(spec, grid)
    opex = np.zeros(n)
    capex = np.zeros(n)
    share, downtime = 0.0, 0
    if spec.hosting is not None:
        hosting = spec.hosting
        for lease in leases:
            opex += (
                lease.it_kw
                * hosting.conversion.opex_usd_per_kw_month
                * grid.active_fraction(lease.start, lease.end)
            )
        first = min(lease.start for lease in leases)
        before = np.array([grid.start(m) < first for m in range(1, n + 1)])
        if hosting.conversion.capex_usd > 0.0:
            # spread over every month before the first lease, even those past the grid's end
            months_needed = _months_starting_before(grid.as_of, first)
            capex = np.where(before, hosting.conversion.capex_usd / months_needed, 0.0)
        share = hosting.re_lease_rate_pct_of_contract / 100.0
        downtime = hosting.re_lease_downtime_months
    return MinerPlan(
        n_months=n,
        month_days=np.array(
            [(grid.end(m) - grid.start(m)).days for m in range(1, n + 1)], dtype=np.float64
        ),
        hashrate_th_s=mining.hashrate_eh_s * TH_PER_EH,
        in_service=age <= life + 1e-9,
        remaining_life_months=remaining,
        pool_fee=mining.pool_fee,
        power_cost_usd_per_th_day=cost,
        curtailment=mining.curtailment,
        other_opex_usd_per_month=mining.other_opex_usd_per_month,
        btc_held=spec.treasury.btc_held,
        asic_decay=decay,
        asic_weight=weight,
        asic_sigma=sig,
        lease_tenants=tuple(lease.tenant for lease in leases),
        lease_tenant_annual_pd=np.array(
            [party_annual_pd(lease.rating, lease.annual_pd_pct) for lease in leases],
            dtype=np.float64,
        ),
        lease_guarantor_annual_pd=np.array(
            [
                party_annual_pd(lease.guarantor.rating, lease.guarantor.annual_pd_pct)
                if lease.guarantor
                else np.nan
                for lease in leases
            ],
            dtype=np.float64,
        ),
        lease_payment_usd=pay,
        lease_value_usd=value,
        hosting_opex_usd=opex,
        conversion_capex_usd=capex,
        re_lease_share=share,
        re_lease_downtime_months=downtime,
    )


def _months_starting_before(as_of: dt.date, first: dt.date) -> int:
    """Number of months after ``as_of`` whose start is before ``first`` (>= 1 when used)."""
    count = 0
    while TimeGrid(as_of, count + 1).start(count + 1) < first:
        count += 1
    return max(count, 1)


def _anniversaries(start: dt.date, day: dt.date) -> int:
    """Whole years from ``start`` to ``day`` (anniversaries passed), >= 0."""
    years = day.year - start.year - ((day.month, day.day) < (start.month, start.day))
    return max(years, 0)


def _lease_schedules(spec: MinerSpec, grid: TimeGrid) -> tuple[Float64Array, Float64Array]:
    """Contracted payments and their remaining PV, both (lease, month), on ``grid``."""
    n = grid.n_months
    if spec.hosting is None:
        return np.zeros((0, n)), np.zeros((0, n))
    hosting = spec.hosting
    last = max(lease.end for lease in hosting.leases)
    n_ext = n
    while TimeGrid(grid.as_of, n_ext).end(n_ext) < last:
        n_ext += 1
    ext = TimeGrid(grid.as_of, n_ext)
    disc = (1.0 + hosting.lease_discount_rate_pct / 100.0) ** (-1.0 / 12.0)
    pays, values = [], []
    for lease in hosting.leases:
        active = ext.active_fraction(lease.start, lease.end)
        years = np.array([_anniversaries(lease.start, ext.start(m)) for m in range(1, n_ext + 1)])
        escalator = (1.0 + lease.escalator_pct_per_year / 100.0) ** years
        pay = lease.it_kw * lease.rate_usd_per_kw_month * escalator * active
        value = np.zeros(n_ext)
        ahead = 0.0
        for m in range(n_ext - 1, -1, -1):
            value[m] = ahead  # PV at the end of month m+1 of the payments after it
            ahead = disc * (pay[m] + ahead)
        pays.append(pay[:n])
        values.append(value[:n])
    return np.array(pays, dtype=np.float64), np.array(values, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class MinerCashflows:
    """Miner results of one block, shape (path, month), USD per month unless noted.

    Attributes
    ----------
    mining_on : ndarray of bool
        The fleet mined this month (in service and, with curtailment, profitable).
    mining_revenue_usd, power_cost_usd : ndarray
        Hash rate x hashprice x days x (1 - pool fee); hash rate x power cost per TH-day x days.
    hosting_revenue_usd, hosting_opex_usd, other_opex_usd : ndarray
    conversion_capex_usd : ndarray
        Capex of the conversion to hosting, USD (positive; subtracted in ``net_cash_usd``).
    cfads_usd : ndarray
        Mining revenue - power + hosting revenue - hosting opex - other opex.
    net_cash_usd : ndarray
        CFADS - conversion capex.
    asic_value_usd_per_th : ndarray
        Income-approach value of one TH/s of the fleet at the month's end, USD per TH/s.
    asic_value_usd : ndarray
        Fleet value, USD.
    treasury_value_usd : ndarray
        BTC held on ``as_of`` x month-end price, USD.
    lease_value_usd : ndarray
        PV of the remaining contracted lease payments of surviving tenants, USD.
    """

    mining_on: BoolArray
    mining_revenue_usd: Float64Array
    power_cost_usd: Float64Array
    hosting_revenue_usd: Float64Array
    hosting_opex_usd: Float64Array
    other_opex_usd: Float64Array
    conversion_capex_usd: Float64Array
    cfads_usd: Float64Array
    net_cash_usd: Float64Array
    asic_value_usd_per_th: Float64Array
    asic_value_usd: Float64Array
    treasury_value_usd: Float64Array
    lease_value_usd: Float64Array


def project_miner(
    plan: MinerPlan,
    btc_usd: Float64Array,
    hashprice_usd_per_ph_day: Float64Array,
    lease_failure_month: Int64Array | None = None,
) -> MinerCashflows:
    """Miner cash flows and collateral values on a block of paths (loop over months only).

    Parameters
    ----------
    plan : MinerPlan
    btc_usd : ndarray, shape (path, month)
        Month-end BTC price, USD per BTC.
    hashprice_usd_per_ph_day : ndarray, shape (path, month)
        The month's hashprice, USD per PH/s per day, > 0.
    lease_failure_month : ndarray of int, shape (path, lease), optional
        1-based month from which each lease stops paying (its tenant, and guarantor if any,
        has failed); ``n_months + 1`` or more: never. None: no lease fails.

    Returns
    -------
    MinerCashflows
    """
    btc = np.asarray(btc_usd, dtype=np.float64)
    hp = np.asarray(hashprice_usd_per_ph_day, dtype=np.float64)
    n = plan.n_months
    if btc.ndim != 2 or btc.shape[1] != n or hp.shape != btc.shape:
        raise ValueError(
            f"project_miner: btc_usd and hashprice_usd_per_ph_day must both have shape "
            f"(path, {n}), got {btc.shape} and {hp.shape}"
        )
    if not np.all(hp > 0.0):
        raise ValueError("project_miner: hashprice_usd_per_ph_day must be > 0 everywhere")
    n_paths = btc.shape[0]
    if lease_failure_month is None:
        fail = np.full((n_paths, plan.n_leases), n + 1, dtype=np.int64)
    else:
        fail = np.asarray(lease_failure_month, dtype=np.int64)
        if fail.shape != (n_paths, plan.n_leases):
            raise ValueError(
                f"project_miner: lease_failure_month must have shape ({n_paths}, "
                f"{plan.n_leases}), got {fail.shape}"
            )

    net_th_day = hp / 1000.0 * (1.0 - plan.pool_fee)
    cost = plan.power_cost_usd_per_th_day
    on = np.broadcast_to(plan.in_service[None, :], hp.shape)
    if plan.curtailment:
        on = on & (net_th_day > cost)
    th_days = plan.hashrate_th_s * plan.month_days[None, :]
    mining_revenue = np.where(on, th_days * net_th_day, 0.0)
    power = np.where(on, th_days * cost, 0.0)

    month = np.arange(1, n + 1, dtype=np.int64)[None, None, :]
    f = fail[:, :, None]
    share = np.where(
        month < f,
        1.0,
        np.where(month >= f + plan.re_lease_downtime_months, plan.re_lease_share, 0.0),
    )
    hosting_revenue = np.einsum("plm,lm->pm", share, plan.lease_payment_usd)
    lease_value = np.einsum("plm,lm->pm", (month < f).astype(np.float64), plan.lease_value_usd)

    per_th = np.zeros_like(hp)
    for m in range(n):
        k = int(np.count_nonzero(plan.asic_weight[m]))
        if k == 0:
            continue
        per_th[:, m] = _option_margin_pv(
            net_th_day[:, m],
            plan.asic_decay[m, :k],
            plan.asic_weight[m, :k],
            plan.asic_sigma[:k],
            cost,
        )

    shape = hp.shape
    hosting_opex = np.broadcast_to(plan.hosting_opex_usd[None, :], shape).copy()
    other = np.full(shape, plan.other_opex_usd_per_month)
    capex = np.broadcast_to(plan.conversion_capex_usd[None, :], shape).copy()
    cfads = mining_revenue - power + hosting_revenue - hosting_opex - other
    return MinerCashflows(
        mining_on=np.asarray(on, dtype=bool).copy(),
        mining_revenue_usd=mining_revenue,
        power_cost_usd=power,
        hosting_revenue_usd=np.asarray(hosting_revenue, dtype=np.float64),
        hosting_opex_usd=hosting_opex,
        other_opex_usd=other,
        conversion_capex_usd=capex,
        cfads_usd=cfads,
        net_cash_usd=cfads - capex,
        asic_value_usd_per_th=per_th,
        asic_value_usd=per_th * plan.hashrate_th_s,
        treasury_value_usd=plan.btc_held * btc,
        lease_value_usd=np.asarray(lease_value, dtype=np.float64),
    )
