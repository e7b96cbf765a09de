"""What a secondary market is made of: the names of its choices, its sourced constants and
labelled assumptions, the costs of a sale, and ``MarketParams`` (``docs/liquidation.md``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = [
    "ASA_FORCED_TO_ORDERLY",
    "ASIC_2022_MONTHLY_DRIFT",
    "ASIC_COSTS",
    "ASIC_MONTHLY_TURNOVER",
    "AS_IS_FACTOR",
    "CORE_SCIENTIFIC_NYDIG",
    "DAYS_PER_MONTH",
    "DEFAULT_WINDOWS_DAYS",
    "GPU_COSTS",
    "GPU_MONTHLY_TURNOVER",
    "INET_BETA_PER_MARKET_SHARE",
    "MIN_PRICE_FRACTION",
    "NAMED_SPEEDS",
    "S21_RIG_HASHRATE_TH_S",
    "SPOTWIRE_VINTAGE_FACTORS",
    "AssetClass",
    "Condition",
    "ImpactKind",
    "LiquidationCosts",
    "LiquidationMethod",
    "LiquidationSpeed",
    "MarketParams",
    "NamedSpeed",
    "ReferenceBasis",
]


ImpactKind = Literal["isoelastic", "sqrt", "exponential"]
AssetClass = Literal["gpu", "asic"]
NamedSpeed = Literal["distressed", "auction", "broker", "orderly"]
LiquidationSpeed = Literal["distressed", "auction", "broker", "orderly", "optimal"]
Condition = Literal["refurbished", "as_is"]
ReferenceBasis = Literal["income", "lower_of_income_and_vintage"]
#: How the optimiser and the evaluation run: the compiled per-path loops
#: (``credit.liquidation.schedule_kernel``, the engine's) or the NumPy dynamic programme
#: (the oracle).
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
