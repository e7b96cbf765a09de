"""Merchant revenue with one definition: realised price x utilisation, calibrated.

A merchant (uncontracted) GPU earns, per GPU-hour of the month,

    realised revenue per GPU-hour = R_g,t x price_factor x utilisation_t

with ``R_g,t`` the simulated on-demand rent index (USD per GPU-hour), ``price_factor`` the
*realised price per rented hour* relative to that index, and ``utilisation_t`` the share of
hours rented (the factor model's regime-dependent utilisation). The two carry different
discounts: the price factor what a rented hour sells for below the on-demand median (volume
discounts, marketplace and spot sales), utilisation the hours that do not sell. A term-contract
price is neither: it is paid for every hour, so it must not be multiplied by utilisation.

Calibration (:func:`calibrate_merchant`). The product ``price_factor x utilisation`` is the
realised revenue per installed GPU-hour over the index, a figure a listed neo-cloud reports:
CoreWeave's revenue over the H100-equivalent GPU-hours of its fleet (Epoch AI's estimate of
its quarterly additions). In 2024, a glut year in the regime dating of
:mod:`gpucredit.factors.defaults`, the fleet earned 1.78 USD per H100-equivalent hour while the
shipped on-demand H100 index had a median of 3.49 USD/h; at the glut utilisation (0.60) the
realised price per rented hour is ``1.78 / (3.49 x 0.60) = 0.85`` of the index. Two cross-checks
from the shipped rental data bracket it: the spot-to-on-demand ratio of the 2026 scrape (a
rented hour sold at spot) below, the on-demand index itself (a rented hour sold at list) above;
and the rented share of the H100 SXM configurations listed on Prime Intellect's marketplace in
the 2025 glut months is close to the glut utilisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gpucredit.factors.defaults import UTIL_GLUT
from gpucredit.market.files import data_path
from gpucredit.market.rent_index import monthly_rent_index, rental_observations

__all__ = [
    "COREWEAVE_REVENUE_USD",
    "MerchantCalibration",
    "calibrate_merchant",
    "coreweave_fleet_hours",
    "merchant_calibration",
]

COREWEAVE_REVENUE_USD: dict[int, float] = {
    # CoreWeave, Inc., revenue for the year ended 31 December 2024: 1,915.4 million USD
    # (Form S-1, consolidated statements of operations, filed March 2025; SEC EDGAR, CIK 1769628:
    # https://www.sec.gov/cgi-bin/browse-edgar?action=getcompany&CIK=0001769628&type=S-1).
    2024: 1_915.4e6,
}
"""Reported annual revenue of CoreWeave, USD, by calendar year."""

HOURS_PER_DAY = 24.0
_H100E = "Compute estimate in H100e (median)"


@dataclass(frozen=True, slots=True)
class MerchantCalibration:
    """The merchant price factor and the figures behind it.

    Attributes
    ----------
    year : int
        Calendar year of the reported revenue.
    revenue_usd : float
        The neo-cloud's reported revenue that year, USD.
    fleet_gpu_hours : float
        H100-equivalent GPU-hours of its fleet that year (mean of each quarter's opening and
        closing fleet x the quarter's hours), GPU-hours.
    revenue_per_gpu_hour_usd : float
        ``revenue_usd / fleet_gpu_hours``, USD per GPU-hour.
    index_usd_per_gpu_hour : float
        Median of the monthly on-demand H100 rent index over the year, USD per GPU-hour.
    utilisation : float
        The factor model's utilisation in the year's regime (glut), share of hours rented.
    price_factor : float
        ``revenue_per_gpu_hour_usd / (index_usd_per_gpu_hour x utilisation)``: realised price
        per rented hour over the index, ratio.
    spot_to_on_demand : float
        Cross-check (lower bracket): median over the 2026 months of the H100 spot index over the
        on-demand index, ratio.
    marketplace_rented_share : float
        Cross-check of the glut utilisation: median over the 2025 marketplace snapshots of the
        share of listed H100 SXM configurations not available (rented), in [0, 1].
    """

    year: int
    revenue_usd: float
    fleet_gpu_hours: float
    revenue_per_gpu_hour_usd: float
    index_usd_per_gpu_hour: float
    utilisation: float
    price_factor: float
    spot_to_on_demand: float
    marketplace_rented_share: float


def coreweave_fleet_hours(additions: pd.DataFrame, year: int) -> float:
    """H100-equivalent GPU-hours of the fleet over a calendar year.

    Parameters
    ----------
    additions : pandas.DataFrame
        Epoch AI's quarterly additions (``coreweave_gpu_additions_quarterly_epoch.csv``):
        ``Start date``, ``End date`` (datetime64) and ``Compute estimate in H100e (median)``
        (GPUs added in the quarter, H100 equivalents). The fleet is the running sum of the
        additions (retirements are not in the file).
    year : int
        Calendar year.

    Returns
    -------
    float
        Sum over the year's quarters of ``(fleet at open + fleet at close) / 2 x hours``,
        GPU-hours.
    """
    by_quarter = additions.groupby(["Start date", "End date"], sort=True)[_H100E].sum()
    fleet = by_quarter.cumsum().to_numpy(dtype=np.float64)
    opening = np.concatenate([[0.0], fleet[:-1]])
    hours = 0.0
    for k, (start, end) in enumerate(by_quarter.index):
        if start.year != year:
            continue
        days = (end - start).days + 1
        hours += 0.5 * (opening[k] + fleet[k]) * days * HOURS_PER_DAY
    if hours <= 0.0:
        raise ValueError(f"no fleet in the additions for {year}")
    return float(hours)


def calibrate_merchant(
    index: pd.DataFrame,
    additions: pd.DataFrame,
    marketplace: pd.DataFrame,
    *,
    revenue_usd: float,
    year: int,
    utilisation: float,
) -> MerchantCalibration:
    """Realised merchant price factor from a neo-cloud's reported revenue (pure).

    Parameters
    ----------
    index : pandas.DataFrame
        Monthly rent index (:func:`gpucredit.market.rent_index.monthly_rent_index`).
    additions : pandas.DataFrame
        Quarterly fleet additions (see :func:`coreweave_fleet_hours`).
    marketplace : pandas.DataFrame
        Marketplace snapshots (``gpu_rental_marketplace_2025.csv``): ``series``,
        ``n_configs`` and ``n_available``.
    revenue_usd : float
        Reported revenue in ``year``, USD.
    year : int
        Calendar year of the revenue.
    utilisation : float
        Utilisation of the regime the market was in that year, share of hours rented.

    Returns
    -------
    MerchantCalibration
    """
    hours = coreweave_fleet_hours(additions, year)
    per_hour = float(revenue_usd / hours)
    h100 = index[(index["generation"] == "H100")]
    on_demand = h100[h100["rental_type"] == "on_demand"].set_index("month")["usd_per_gpu_hour"]
    spot = h100[h100["rental_type"] == "spot"].set_index("month")["usd_per_gpu_hour"]
    in_year = on_demand[pd.DatetimeIndex(on_demand.index).year == year].dropna()
    if in_year.empty:
        raise ValueError(f"no on-demand H100 index month in {year}")
    level = float(in_year.median())
    ratio = (spot / on_demand).dropna()
    sxm = marketplace[marketplace["series"] == "H100_80GB_SXM5"]
    rented = 1.0 - sxm["n_available"] / sxm["n_configs"]
    return MerchantCalibration(
        year=year,
        revenue_usd=revenue_usd,
        fleet_gpu_hours=hours,
        revenue_per_gpu_hour_usd=per_hour,
        index_usd_per_gpu_hour=level,
        utilisation=utilisation,
        price_factor=per_hour / (level * utilisation),
        spot_to_on_demand=float(ratio.median()),
        marketplace_rented_share=float(rented.median()),
    )


def merchant_calibration(year: int = 2024) -> MerchantCalibration:
    """:func:`calibrate_merchant` on the shipped data: CoreWeave's revenue and fleet, the
    shipped rent index and marketplace, and the glut utilisation of the factor defaults.

    ``MerchantSpec.price_factor``'s default is this ``price_factor`` rounded to two decimals
    (a test recomputes it).
    """
    additions = pd.read_csv(
        data_path("coreweave_gpu_additions_quarterly_epoch.csv"),
        parse_dates=["Start date", "End date"],
        date_format="%m/%d/%Y",
    )
    marketplace = pd.read_csv(data_path("gpu_rental_marketplace_2025.csv"))
    index = monthly_rent_index(rental_observations())
    return calibrate_merchant(
        index,
        additions,
        marketplace,
        revenue_usd=COREWEAVE_REVENUE_USD[year],
        year=year,
        utilisation=UTIL_GLUT,
    )
