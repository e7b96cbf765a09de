"""Bitcoin protocol constants and miner economics against published numbers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from gpucredit.errors import DataError
from gpucredit.market import (
    block_subsidy_btc,
    btc_halvings,
    hashprice_series,
    hashprice_usd_per_ph_day,
    next_halving_estimate,
    shipped_hashprice,
)


# Bitcoin protocol rule (Bitcoin Core GetBlockSubsidy): 50 BTC, halved every 210,000 blocks.
@pytest.mark.parametrize(
    ("height", "subsidy_btc"),
    [
        pytest.param(0, 50.0, id="genesis-50"),
        pytest.param(209_999, 50.0, id="last-block-before-first-halving"),
        pytest.param(210_000, 25.0, id="halving1-25"),
        pytest.param(420_000, 12.5, id="halving2-12.5"),
        pytest.param(630_000, 6.25, id="halving3-6.25"),
        pytest.param(840_000, 3.125, id="halving4-3.125"),
        pytest.param(1_050_000, 1.5625, id="halving5-1.5625"),
        pytest.param(64 * 210_000, 0.0, id="after-64-halvings-zero"),
    ],
)
def test_block_subsidy_follows_the_protocol(height: int, subsidy_btc: float) -> None:
    assert block_subsidy_btc(height) == subsidy_btc  # exact: satoshi arithmetic


def test_block_subsidy_rejects_negative_height() -> None:
    with pytest.raises(ValueError, match="height"):
        block_subsidy_btc(-1)


def test_halving_file_heights_dates_and_subsidies() -> None:
    # Dates: data/README.md (checked against Coin Metrics IssTotNtv/BlkCnt and btc-cycles 0.5.0,
    # which dates block 840,000 to 2024-04-20; Coin Metrics' 2024-04-19 row already holds a few
    # post-halving blocks).
    expected = {
        210_000: dt.date(2012, 11, 28),
        420_000: dt.date(2016, 7, 9),
        630_000: dt.date(2020, 5, 11),
        840_000: dt.date(2024, 4, 20),
    }
    halvings = {h.height: h for h in btc_halvings()}
    for height, date in expected.items():
        assert halvings[height].date == date
        assert halvings[height].subsidy_after_btc == block_subsidy_btc(height)
        assert halvings[height].subsidy_before_btc == block_subsidy_btc(height - 1)
    assert halvings[1_050_000].date is None  # not yet known
    assert halvings[0].date == dt.date(2009, 1, 3)  # genesis block


def test_block_count_reaches_each_halving_height_on_its_day() -> None:
    # The chain height used by next_halving_estimate (running sum of BlkCnt) must cross each
    # halving height on the day the file gives (2024-04-19 for 840,000: see data/README.md).
    days = {
        210_000: dt.date(2012, 11, 28),
        420_000: dt.date(2016, 7, 9),
        630_000: dt.date(2020, 5, 11),
        840_000: dt.date(2024, 4, 19),
    }
    for height, day in days.items():
        before = next_halving_estimate(day - dt.timedelta(days=1))
        on = next_halving_estimate(day)
        assert before.height == height
        assert on.height_as_of >= height
        assert on.height == height + 210_000


@pytest.mark.parametrize(
    ("date", "usd_per_ph_day"),
    [
        # data/README.md spot checks, and REFERENCES.md (Bitcoin miners): ~55.4 on 2022-11-21
        pytest.param(dt.date(2022, 11, 21), 55.4, id="2022-11-21-55.4"),
        pytest.param(dt.date(2025, 1, 1), 54.7, id="2025-01-01-54.7"),
    ],
)
def test_hashprice_spot_checks(date: dt.date, usd_per_ph_day: float) -> None:
    # 0.05: the published figures are rounded to one decimal
    assert hashprice_usd_per_ph_day(date) == pytest.approx(usd_per_ph_day, abs=0.05)


def test_recomputed_hashprice_equals_the_shipped_derived_file() -> None:
    recomputed = hashprice_series()
    shipped = shipped_hashprice()["hashprice_usd_per_ph_day"]
    assert recomputed.index.equals(pd.DatetimeIndex(shipped.index))  # same 5,798 days
    # rtol 1e-9: the shipped CSV prints 10 significant digits
    np.testing.assert_allclose(recomputed.to_numpy(), shipped.to_numpy(), rtol=1e-9)
    for date in (dt.date(2013, 4, 1), dt.date(2017, 12, 17), dt.date(2021, 4, 14)):
        row = float(shipped.loc[pd.Timestamp(date)])
        assert hashprice_usd_per_ph_day(date) == pytest.approx(row, rel=1e-9)


def test_hashprice_outside_the_data_is_an_error() -> None:
    with pytest.raises(DataError, match="hashprice"):
        hashprice_usd_per_ph_day(dt.date(2009, 6, 1))


def test_next_halving_is_estimated_in_2028() -> None:
    # Block 1,050,000 (protocol); ~108k blocks to go at ~144 a day from mid-2026 is ~2 years.
    estimate = next_halving_estimate(dt.date(2026, 6, 1))
    assert estimate.height == 1_050_000
    assert estimate.date.year == 2028
    assert 130.0 < estimate.blocks_per_day < 160.0  # near the 10-minute target of 144 a day


def test_next_halving_before_any_block_count_uses_the_target_rate() -> None:
    estimate = next_halving_estimate(dt.date(2008, 12, 1))
    assert estimate.blocks_per_day == 144.0
    assert estimate.height == 210_000
