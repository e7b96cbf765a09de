"""The secondary market of one pool: its absorption (units a month the market takes at the
reference price) and ``SecondaryMarket``, shared by every seller in the pool."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from gpucredit._typing import Float64Array, Int64Array
from gpucredit.credit.liquidation.impact import (
    asic_market_params,
    gpu_market_params,
    named_schedule,
    price_impact,
)
from gpucredit.credit.liquidation.params import (
    DAYS_PER_MONTH,
    S21_RIG_HASHRATE_TH_S,
    Condition,
    LiquidationMethod,
    LiquidationSpeed,
    MarketParams,
)
from gpucredit.credit.liquidation.schedule import Liquidation, liquidate
from gpucredit.market.shipments import (
    ASIC_POOL,
    asic_installed_base,
    installed_base,
    market_pool,
)

__all__ = [
    "SecondaryMarket",
    "absorption_units_per_month",
]


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
