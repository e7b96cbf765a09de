"""The collateral illusion: LTV three ways, recovery distribution and wrong-way risk.

* **Book LTV**: principal over the borrower's book value (straight line over its stated
  useful life) on the as-of date.
* **Appraised LTV**: principal over the income-approach value (what a buyer earns renting the
  GPUs over their remaining economic life at today's market), no sale discount.
* **Realisable LTV**: principal over what the lender would net, in present value, selling the
  whole fleet now into its secondary market with the deal's sale strategy: price impact
  against the market's absorption, carry while it waits, costs.

Realisable value never exceeds appraised value (impact multipliers are at most one and costs
are not negative), so the realisable LTV is never below the appraised LTV; the gaps between
the three are the collateral illusion. Across paths, the recovery rate, the time to recover,
the appraised LTV at default and the correlation between default rate and LGD across market
scenarios (wrong-way risk) are accumulated with exact merges like every other statistic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from gpucredit._typing import Float64Array, Int64Array
from gpucredit.config.spec import DealSpec
from gpucredit.credit.outcomes import CreditOutcomes
from gpucredit.stats import ExactSum, Histogram

__all__ = [
    "MARKET_LEVEL_EDGES",
    "CollateralAccumulator",
    "CollateralReport",
    "book_value_usd",
    "summarise_collateral",
]

#: Market scenarios for wrong-way risk: paths grouped by the mean log rent of the deal's main
#: generation over the loan's life relative to today (0.1-wide buckets from -3 to +1).
MARKET_LEVEL_EDGES = np.linspace(-3.0, 1.0, 41)
RATE_EDGES = np.linspace(0.0, 1.0, 1001)
TIME_EDGES = np.linspace(0.0, 36.0, 721)
LTV_AT_DEFAULT_EDGES = np.linspace(0.0, 20.0, 8001)
_LGD_SCALE = 1e9  # LGD summed per bucket in units of 1e-9 (exact integer merges)


def book_value_usd(deal: DealSpec, on: dt.date) -> float:
    """Book value of the fleet on ``on``: cost x (1 - age / useful life), floored at 0; a
    cohort delivered after ``on`` is not owned yet (0)."""
    total = 0.0
    for c in deal.fleet:
        if c.purchase_date > on:
            continue
        age_years = (on - c.purchase_date).days / 365.25
        share = min(max(1.0 - age_years / c.book_useful_life_years, 0.0), 1.0)
        total += c.units * c.unit_cost_usd * share
    return total


@dataclass(slots=True)
class CollateralAccumulator:
    """Streaming recovery and wrong-way-risk statistics of one facility."""

    recovery_rate: Histogram = field(default_factory=lambda: Histogram(RATE_EDGES))
    recovery_rate_sum: ExactSum = field(default_factory=lambda: ExactSum(1e-12))
    time_to_recover: Histogram = field(default_factory=lambda: Histogram(TIME_EDGES))
    time_to_recover_sum: ExactSum = field(default_factory=lambda: ExactSum(1e-12))
    ltv_at_default: Histogram = field(default_factory=lambda: Histogram(LTV_AT_DEFAULT_EDGES))
    bucket_paths: Int64Array = field(
        default_factory=lambda: np.zeros(MARKET_LEVEL_EDGES.size + 1, dtype=np.int64)
    )
    bucket_defaults: Int64Array = field(
        default_factory=lambda: np.zeros(MARKET_LEVEL_EDGES.size + 1, dtype=np.int64)
    )
    bucket_lgd: Int64Array = field(
        default_factory=lambda: np.zeros(MARKET_LEVEL_EDGES.size + 1, dtype=np.int64)
    )

    def add(self, outcomes: CreditOutcomes, market_level: Float64Array) -> None:
        """Add one block; ``market_level`` (path,) is each path's mean log rent vs today."""
        d = outcomes.defaulted
        with np.errstate(divide="ignore", invalid="ignore"):
            ead = outcomes.ead_usd
            rate = np.where(d & (ead > 0), outcomes.recovery_usd / np.where(ead > 0, ead, 1.0), 0.0)
            ltv = np.where(
                d & (outcomes.appraised_value_usd > 0),
                ead / np.where(outcomes.appraised_value_usd > 0, outcomes.appraised_value_usd, 1.0),
                np.inf,
            )
        self.recovery_rate.add(rate, d)
        self.recovery_rate_sum.add(rate, d)
        self.time_to_recover.add(outcomes.time_to_recover_months, d)
        self.time_to_recover_sum.add(outcomes.time_to_recover_months, d)
        self.ltv_at_default.add(np.minimum(ltv, 1e6), d)
        if np.isnan(market_level).any():
            raise FloatingPointError("market level of a path is NaN")
        bucket = np.searchsorted(MARKET_LEVEL_EDGES, market_level, side="right")
        size = MARKET_LEVEL_EDGES.size + 1
        self.bucket_paths += np.bincount(bucket, minlength=size)
        self.bucket_defaults += np.bincount(bucket[d], minlength=size)
        scaled = np.rint(outcomes.lgd[d] * _LGD_SCALE).astype(np.int64)
        self.bucket_lgd += _sum_by(bucket[d], scaled, size)

    def merge(self, other: CollateralAccumulator) -> None:
        self.recovery_rate.merge(other.recovery_rate)
        self.recovery_rate_sum.merge(other.recovery_rate_sum)
        self.time_to_recover.merge(other.time_to_recover)
        self.time_to_recover_sum.merge(other.time_to_recover_sum)
        self.ltv_at_default.merge(other.ltv_at_default)
        self.bucket_paths += other.bucket_paths
        self.bucket_defaults += other.bucket_defaults
        self.bucket_lgd += other.bucket_lgd


def _sum_by(index: Int64Array, values: Int64Array, size: int) -> Int64Array:
    """Integer sums of ``values`` by ``index`` (exact, unlike a float-weighted bincount)."""
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, index, values)
    return out


@dataclass(frozen=True, slots=True)
class CollateralReport:
    """The collateral illusion of one facility (decimals; LTVs as ratios).

    ``illusion_gap_vs_book`` and ``illusion_gap_vs_appraised`` are realisable LTV minus book
    and appraised LTV. Recovery statistics are over defaulted paths (None without defaults);
    ``pd_lgd_correlation`` is the path-weighted correlation, across market scenarios (paths
    grouped by their mean rent), of the default rate and the mean LGD: positive is wrong-way
    risk (None when fewer than three scenario groups have defaults).
    """

    sale_speed: str
    book_value_usd: float
    appraised_value_usd: float
    realisable_value_usd: float
    ltv_book: float
    ltv_appraised: float
    ltv_realisable: float
    illusion_gap_vs_book: float
    illusion_gap_vs_appraised: float
    recovery_rate_mean: float | None
    recovery_rate_p5: float | None
    recovery_rate_p50: float | None
    recovery_rate_p95: float | None
    time_to_recover_months_mean: float | None
    time_to_recover_months_p50: float | None
    appraised_ltv_at_default_p50: float | None
    pd_lgd_correlation: float | None


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0.0 else float("inf")


def summarise_collateral(
    acc: CollateralAccumulator,
    *,
    principal_usd: float,
    sale_speed: str,
    book_value: float,
    appraised_value: float,
    realisable_value: float,
) -> CollateralReport:
    """The report of one facility from merged statistics and its origination values."""
    n_def = acc.recovery_rate.total
    ltv_book = _ratio(principal_usd, book_value)
    ltv_appraised = _ratio(principal_usd, appraised_value)
    ltv_realisable = _ratio(principal_usd, realisable_value)
    return CollateralReport(
        sale_speed=sale_speed,
        book_value_usd=book_value,
        appraised_value_usd=appraised_value,
        realisable_value_usd=realisable_value,
        ltv_book=ltv_book,
        ltv_appraised=ltv_appraised,
        ltv_realisable=ltv_realisable,
        illusion_gap_vs_book=ltv_realisable - ltv_book,
        illusion_gap_vs_appraised=ltv_realisable - ltv_appraised,
        recovery_rate_mean=acc.recovery_rate_sum.mean() if n_def else None,
        recovery_rate_p5=acc.recovery_rate.quantile(0.05) if n_def else None,
        recovery_rate_p50=acc.recovery_rate.quantile(0.50) if n_def else None,
        recovery_rate_p95=acc.recovery_rate.quantile(0.95) if n_def else None,
        time_to_recover_months_mean=acc.time_to_recover_sum.mean() if n_def else None,
        time_to_recover_months_p50=acc.time_to_recover.quantile(0.5) if n_def else None,
        appraised_ltv_at_default_p50=acc.ltv_at_default.quantile(0.5) if n_def else None,
        pd_lgd_correlation=pd_lgd_correlation(acc),
    )


def pd_lgd_correlation(acc: CollateralAccumulator) -> float | None:
    """Path-weighted correlation of default rate and mean LGD across market scenarios."""
    has = acc.bucket_defaults > 0
    if int(has.sum()) < 3:
        return None
    n = acc.bucket_paths[has].astype(np.float64)
    pd = acc.bucket_defaults[has] / n
    lgd = acc.bucket_lgd[has] / _LGD_SCALE / acc.bucket_defaults[has]
    w = n / n.sum()
    mp, ml = float((w * pd).sum()), float((w * lgd).sum())
    cov = float((w * (pd - mp) * (lgd - ml)).sum())
    vp = float((w * (pd - mp) ** 2).sum())
    vl = float((w * (lgd - ml) ** 2).sum())
    if vp <= 0.0 or vl <= 0.0:
        return None
    return cov / float(np.sqrt(vp * vl))
