"""The merchant price factor is recomputed from the shipped data and CoreWeave's filing."""

from __future__ import annotations

import pandas as pd
import pytest

from gpucredit.config.spec import MerchantSpec
from gpucredit.factors.merchant import (
    calibrate_merchant,
    coreweave_fleet_hours,
    merchant_calibration,
)


def test_shipped_default_is_the_calibration() -> None:
    cal = merchant_calibration()
    # the spec default is the calibrated factor rounded to two decimals
    assert MerchantSpec().price_factor == round(cal.price_factor, 2)
    # CoreWeave FY2024 revenue 1,915.4m USD (Form S-1) over 1.074bn H100-equivalent hours
    assert cal.revenue_per_gpu_hour_usd == pytest.approx(1.784, abs=5e-4)  # 3 decimals quoted
    assert cal.index_usd_per_gpu_hour == pytest.approx(3.49)  # median of 2024 index months


def test_one_discount_each_and_bracketed_by_the_rental_data() -> None:
    cal = merchant_calibration()
    # a rented hour realises more than a spot hour and no more than the on-demand list price
    assert cal.spot_to_on_demand < cal.price_factor <= 1.0
    # the marketplace's rented share in the 2025 glut is within 10 points of the glut utilisation
    # (10 points: one snapshot month against a regime mean)
    assert abs(cal.marketplace_rented_share - cal.utilisation) < 0.10
    # no double haircut: price x utilisation reproduces the reported revenue per GPU-hour
    implied = cal.index_usd_per_gpu_hour * cal.price_factor * cal.utilisation
    assert implied == pytest.approx(cal.revenue_per_gpu_hour_usd, rel=1e-12)  # float rounding


def test_fleet_hours_hand_case() -> None:
    # one quarter of 90 days, 100 GPUs added: the mean fleet is 50 GPUs
    additions = pd.DataFrame(
        {
            "Start date": pd.to_datetime(["2024-01-01"]),
            "End date": pd.to_datetime(["2024-03-30"]),
            "Compute estimate in H100e (median)": [100.0],
        }
    )
    assert coreweave_fleet_hours(additions, 2024) == pytest.approx(50 * 90 * 24)  # exact sum
    index = pd.DataFrame(
        {
            "month": pd.to_datetime(["2024-02-01", "2024-02-01"]),
            "generation": ["H100", "H100"],
            "rental_type": ["on_demand", "spot"],
            "usd_per_gpu_hour": [4.0, 2.0],
        }
    )
    market = pd.DataFrame({"series": ["H100_80GB_SXM5"], "n_configs": [10], "n_available": [4]})
    cal = calibrate_merchant(
        index, additions, market, revenue_usd=50 * 90 * 24 * 2.0, year=2024, utilisation=0.5
    )
    # 2 USD per GPU-hour over a 4 USD index at half utilisation: every rented hour at list
    assert cal.price_factor == pytest.approx(1.0)  # exact arithmetic up to rounding
    assert cal.spot_to_on_demand == pytest.approx(0.5)
    assert cal.marketplace_rented_share == pytest.approx(0.6)
