"""Reports: tables and JSON documents built from results."""

from gpucredit.reports.tables import (
    collateral_record,
    collateral_table,
    facility_record,
    run_document,
    summary_table,
)

__all__ = [
    "collateral_record",
    "collateral_table",
    "facility_record",
    "run_document",
    "summary_table",
]
