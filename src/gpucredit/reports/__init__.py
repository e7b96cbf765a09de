"""Reports: tables and JSON documents built from results."""

from gpucredit.reports.tables import facility_record, run_document, summary_table

__all__ = ["facility_record", "run_document", "summary_table"]
