"""The hashprice identity of ``factors.bitcoin`` reproduces the shipped daily hashprice."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from gpucredit.factors.bitcoin import hashprice_usd_per_ph_day_from
from gpucredit.market import block_subsidy_btc, shipped_hashprice
from gpucredit.market.files import data_path


# 2022-11-21: ~55.4 USD/PH/day (REFERENCES.md); 2024-06-01: after the fourth halving (3.125).
@pytest.mark.parametrize("day", [dt.date(2022, 11, 21), dt.date(2024, 6, 1)])
def test_hashprice_identity_on_known_date(day: dt.date) -> None:
    daily = pd.read_csv(data_path("btc_daily.csv"), parse_dates=["date"]).set_index("date")
    height = int(daily.loc[: pd.Timestamp(day), "BlkCnt"].sum())  # chain height at day end
    row = daily.loc[pd.Timestamp(day)]
    shipped = shipped_hashprice().loc[pd.Timestamp(day)]
    value = float(
        hashprice_usd_per_ph_day_from(
            price_usd=float(row["PriceUSD"]),
            subsidy_btc=block_subsidy_btc(height),
            fee_share=float(shipped["fee_share"]),
            blocks_per_day=float(row["BlkCnt"]),
            hashrate_th_s=float(row["HashRate"]),
        )
    )
    assert value == pytest.approx(float(shipped["hashprice_usd_per_ph_day"]), rel=1e-6)
    if day == dt.date(2022, 11, 21):
        assert value == pytest.approx(55.4, abs=0.1)
