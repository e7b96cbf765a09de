"""Reports: tables and JSON documents built from results."""

from gpucredit.reports.backtests import (
    BtcBacktest,
    FanBacktest,
    backtest_btc,
    backtest_h100_rent,
)
from gpucredit.reports.tables import (
    collateral_record,
    collateral_table,
    facility_record,
    run_document,
    summary_table,
)

__all__ = [
    "BtcBacktest",
    "FanBacktest",
    "backtest_btc",
    "backtest_h100_rent",
    "collateral_record",
    "collateral_table",
    "facility_record",
    "run_document",
    "summary_table",
]
