"""Recovery by liquidation: the lender sells every pool's repossessed hardware into its
secondary market (``SecondaryMarketRecovery``), and ``MemoisedRecovery`` remembers the sales
already priced."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from gpucredit._typing import BoolArray, Float64Array, Int64Array
from gpucredit.credit.liquidation.impact import gpu_market_params, vintage_factor
from gpucredit.credit.liquidation.market import SecondaryMarket
from gpucredit.credit.liquidation.params import (
    Condition,
    LiquidationMethod,
    LiquidationSpeed,
    MarketParams,
    ReferenceBasis,
)
from gpucredit.credit.liquidation.schedule import Liquidation, _as_paths
from gpucredit.credit.recovery import DefaultState, RecoveryResult
from gpucredit.errors import ModelError
from gpucredit.market.shipments import ASIC_POOL, market_pool

__all__ = [
    "ASIC_GENERATION",
    "CohortCollateral",
    "MarketDefaultState",
    "MemoisedRecovery",
    "RecoveryLiquidation",
    "SaleSummary",
    "SecondaryMarketRecovery",
]


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

    def summarise(
        self, state: DefaultState, *, other_units: Mapping[str, Float64Array] | None = None
    ) -> SaleSummary:
        """The liquidation of ``state`` reduced to what recovery needs (per defaulted path);
        ``other_units`` as in ``liquidate`` (other sellers in the same markets)."""
        return self.summary_of(self.liquidate(state, other_units=other_units))

    @staticmethod
    def summary_of(liq: RecoveryLiquidation) -> SaleSummary:
        """A liquidation (``liquidate``) reduced to what recovery needs, per defaulted path."""
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
        width = keys_matrix.shape[1] * keys_matrix.itemsize
        blob = keys_matrix.tobytes()  # row i's key: its bytes, as ``keys_matrix[i].tobytes()``
        keys = [blob[start : start + width] for start in range(0, n * width, width)]
        memo = self._memo
        hits = [memo.get(k) for k in keys]
        missing = np.array([i for i, h in enumerate(hits) if h is None], dtype=np.int64)
        table = np.empty((n, len(_SALE_FIELDS)), dtype=np.float64)
        if missing.size:
            fresh = self.model.summarise(_take_state(state, missing, rate))
            rows = np.column_stack([getattr(fresh, f) for f in _SALE_FIELDS])
            table[missing] = rows  # a sale's numbers do not depend on the others priced with it
            if len(memo) < self.max_entries:
                for i, row in zip(missing.tolist(), rows.tolist(), strict=True):
                    memo[keys[i]] = tuple(row)
        if missing.size < n:
            found = np.array([i for i, h in enumerate(hits) if h is not None], dtype=np.int64)
            table[found] = np.array([hits[i] for i in found.tolist()], dtype=np.float64)
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
