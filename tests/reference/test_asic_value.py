"""The ASIC income value against the 2022 rig-price bust, and its option formula against MC.

Published: rig prices fell ~85% in a year over 2022 (Luxor / Hashrate Index ASIC price index,
USD per TH by efficiency tier; REFERENCES.md "Bitcoin miners").

Model: the same rig valued at the end of December 2021 (new, 5-year life left) and a year later
(4 years left), each time with the buyer calibrated on the shipped data up to that day
(hash-rate drift, fee share, halving dates, hashprice volatility) and the December mean of the
shipped hashprice (267.4 and 61.9 USD/PH/day). The rig: 32 J/TH, the middle of the index's
25-38 J/TH tier (Hashrate Index, tiers from October 2022; the S19 family); power 50 USD/MWh at a
PUE of 1.0 (an assumption: a contracted US mining power price), pool fee 2.5% (spec default).
The model's fall is 92.5% (82.3 -> 6.2 USD per TH/s).

Tolerance: 10 percentage points either way. The published "~85%" is a rounded figure for an
index that averages many models and ages within a tier and is read off a chart; the model
values one rig at one power price (40-60 USD/MWh and 30-34 J/TH move its fall between 90% and
95%). The model overshoots because its buyer extrapolates the 2018-2021 hash-rate growth
(4.9% a month) with a flat BTC price, more pessimistic than the market was in late 2022.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from gpucredit.assets.miner import (
    AsicBuyerParams,
    _option_margin_pv,
    asic_value_usd_per_th,
    calibrate_asic_buyer,
    power_cost_usd_per_th_day,
)
from gpucredit.market.bitcoin import shipped_hashprice

PUBLISHED_FALL = 0.85  # Luxor / Hashrate Index ASIC price index, 2022
TOLERANCE = 0.10  # see the module docstring


def _december_mean(year: int) -> float:
    series = shipped_hashprice()["hashprice_usd_per_ph_day"]
    return float(series[f"{year}-12-01" : f"{year}-12-31"].mean())


def _fall(efficiency_j_per_th: float, power_usd_per_mwh: float) -> tuple[float, float]:
    cost = power_cost_usd_per_th_day(efficiency_j_per_th, 1.0, power_usd_per_mwh)
    start = asic_value_usd_per_th(
        _december_mean(2021),
        power_cost_usd_per_th_day=cost,
        pool_fee=0.025,
        remaining_life_months=60,
        buyer=calibrate_asic_buyer(dt.date(2021, 12, 31)),
    )
    end = asic_value_usd_per_th(
        _december_mean(2022),
        power_cost_usd_per_th_day=cost,
        pool_fee=0.025,
        remaining_life_months=48,
        buyer=calibrate_asic_buyer(dt.date(2022, 12, 31)),
    )
    return float(start), float(end)


def test_2022_rig_price_fall() -> None:
    start, end = _fall(32.0, 50.0)
    fall = 1.0 - end / start
    assert fall == pytest.approx(PUBLISHED_FALL, abs=TOLERANCE), f"model fall {fall:.1%}"
    assert fall == pytest.approx(0.925, abs=0.005)  # the figure quoted in docs/model.md


def test_fall_is_deeper_for_costlier_power() -> None:
    falls = [1.0 - end / start for start, end in (_fall(32.0, p) for p in (40.0, 50.0, 60.0))]
    assert falls[0] < falls[1] < falls[2]


def test_option_margin_matches_monte_carlo() -> None:
    """Oracle: Black's formula per month against 400,000 lognormal draws of the buyer's
    hashprice, within 4 standard errors (a false alarm about once in 16,000 runs)."""
    buyer = AsicBuyerParams(dt.date(2026, 1, 1), 0.02, 0.1, (5.0,), 0.25, 0.15)
    n_months = 12
    decay = buyer.decay(0.0, n_months)
    k = np.arange(1, n_months + 1)
    weights = 1.15 ** (-k / 12.0) * 365.25 / 12.0
    sig = 0.25 * np.sqrt(k)
    h, cost = 0.05, 0.04
    closed = _option_margin_pv(np.array([h]), decay, weights, sig, cost)[0]

    rng = np.random.default_rng(20260601)
    z = rng.standard_normal((400_000, n_months))
    paths = h * decay * np.exp(sig * z - 0.5 * sig**2)
    draws = np.maximum(paths - cost, 0.0) @ weights
    se = draws.std(ddof=1) / np.sqrt(draws.size)
    assert abs(draws.mean() - closed) < 4.0 * se
