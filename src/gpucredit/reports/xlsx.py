"""The Excel report (``report.xlsx``): a ``Summary`` sheet holding the JSON output's facility
figures, and per facility a monthly cash-flow schedule laid out as an analyst's
project-finance model, with the cover ratios as live Excel formulas.

Layout (``docs/report_xlsx.md``):

- ``Summary``: the run's provenance (seed, paths, calibration id, data hash, version, spec
  hash, how the paths were chosen), then one row per facility whose columns are the keys of
  the JSON document's facility records (nested keys joined with ``.``, list items as
  ``[i]``), with the same numbers at full precision; a figure that is unknown (``null``) is a
  blank cell.
- One sheet per facility of the GPU deals: months across the columns, and three blocks (the
  base case, the median path and the 5th-percentile path, ``pipeline.cash_schedule``) of
  rows revenue, opex, CFADS, interest, principal, debt service, DSRA balance, closing balance
  and collateral value, followed by DSCR = CFADS / debt service and LTV = closing balance /
  collateral value as formulas on the cells above.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from gpucredit._terminal import printable
from gpucredit.factors.parameter_source import ParameterSource
from gpucredit.factors.parameter_source import resolve as resolve_parameters
from gpucredit.factors.params import FactorParams
from gpucredit.miners import MinerResult
from gpucredit.pipeline import SimulationResult
from gpucredit.pipeline.cash_schedule import (
    PATH_RULE,
    CashSchedule,
    base_case_schedules,
    kept_path_schedules,
    representative_paths,
)
from gpucredit.reports.tables import run_document

__all__ = [
    "SCHEDULE_ROWS",
    "SUMMARY_SHEET",
    "flat_record",
    "sheet_label",
    "sheet_names",
    "write_report_xlsx",
]

#: The name of the summary sheet.
SUMMARY_SHEET = "Summary"
#: Excel's longest sheet name, characters.
_MAX_SHEET = 31
#: Characters Excel refuses in a sheet name.
_BAD_SHEET_CHARS = frozenset("[]:*?/\\")
#: Keys of a facility record left out of the Summary: the deal's entities (a list of
#: companies, not figures of the facility; the JSON document holds them).
_SKIPPED_KEYS = frozenset({"entities"})
#: The Summary's first columns, where a record has them; the rest follow in record order.
_LEADING_KEYS = (
    "deal",
    "name",
    "pd",
    "pd_se",
    "lgd",
    "expected_loss_usd",
    "actuarial_spread_bps",
    "fair_spread_bps",
    "fair_spread_se_bps",
    "market_spread_bps",
    "spread_gap_bps",
    "implied_rating",
    "public_rating",
    "public_rating_agency",
)
#: The schedule's data rows: (label, units, CashSchedule attribute).
SCHEDULE_ROWS = (
    ("Revenue", "USD", "revenue_usd"),
    ("Opex", "USD", "opex_usd"),
    ("CFADS", "USD", "cfads_usd"),
    ("Interest paid", "USD", "interest_usd"),
    ("Principal paid", "USD", "principal_usd"),
    ("Debt service (scheduled)", "USD", "debt_service_usd"),
    ("DSRA balance", "USD", "dsra_usd"),
    ("Closing balance", "USD", "balance_usd"),
    ("Collateral value", "USD", "collateral_value_usd"),
)
_USD_FORMAT = "#,##0;[Red]-#,##0"
_RATIO_FORMAT = '0.00"x"'
_PCT_FORMAT = "0.0%"
_FIRST_MONTH_COLUMN = 3  # C: A holds the labels, B the units
_HEADER_ROW = 4
_BOLD = Font(bold=True)
_BLOCK_FILL = PatternFill("solid", fgColor="DDEBF7")


def flat_record(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A facility record's figures as one flat mapping: nested keys joined with ``.``, list
    items as ``key[i]``; the deal's ``entities`` are left out.

    Parameters
    ----------
    record : mapping
        A facility record of the JSON document (``reports.tables.facility_record``).
    prefix : str
        Prepended to every key (used by the recursion).

    Returns
    -------
    dict
        Key -> scalar (str, int, float, bool or None).
    """
    out: dict[str, Any] = {}
    for key, value in record.items():
        if not prefix and key in _SKIPPED_KEYS:
            continue
        _flatten_into(out, f"{prefix}{key}", value)
    return out


def _flatten_into(out: dict[str, Any], name: str, value: Any) -> None:
    """Put ``value`` into ``out`` under ``name``: a mapping's items as ``name.key``, a list's
    (or a list of lists') items as ``name[i]``, a scalar as is."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten_into(out, f"{name}.{key}", item)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _flatten_into(out, f"{name}[{i}]", item)
    else:
        out[name] = value


def sheet_names(labels: Sequence[str], taken: Iterable[str] = (SUMMARY_SHEET,)) -> list[str]:
    """One Excel sheet name per label: the characters Excel refuses (``[]:*?/\\``) become
    ``_``, at most 31 characters, unique ignoring case (``~2``, ``~3``, ... appended).

    Parameters
    ----------
    labels : sequence of str
        The wanted names, in order.
    taken : iterable of str
        Names already used in the workbook.

    Returns
    -------
    list of str
        The sheet names, in the order of ``labels``.
    """
    used = {t.lower() for t in taken}
    names: list[str] = []
    for label in labels:
        base = "".join(
            "_" if ch in _BAD_SHEET_CHARS or not ch.isprintable() else ch for ch in label
        )
        base = base.strip("'")[:_MAX_SHEET].strip() or "sheet"
        name, n = base, 2
        while name.lower() in used:
            suffix = f"~{n}"
            name, n = base[: _MAX_SHEET - len(suffix)] + suffix, n + 1
        used.add(name.lower())
        names.append(name)
    return names


def sheet_label(deal: str, facility: str) -> str:
    """The wanted name of a facility's sheet: ``<deal> <facility>``, the deal's name cut first
    so that the facility's stays whole within Excel's 31 characters (the facility's alone
    when fewer than 8 characters of the deal's would fit)."""
    room = _MAX_SHEET - len(facility) - 1
    if room >= len(deal):
        return f"{deal} {facility}"
    if room >= 8:
        return f"{deal[:room].rstrip()} {facility}"
    return facility


def _cell_value(value: Any) -> Any:
    """A JSON value as a cell value: a non-finite float (none reaches the JSON) or None is a
    blank cell; text has its control characters written as visible escapes (a name from the
    user's spec: XML, so a worksheet, cannot hold them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return printable(value, keep_newlines=True)
    return value


def _summary_sheet(
    ws: Worksheet,
    document: Mapping[str, Any],
    n_schedule_sheets: int,
    has_miners: bool,
    scenarios: Sequence[str] = (),
) -> None:
    run = dict(document.get("run", {}))
    run.setdefault("scenario", ", ".join(scenarios) or "base")
    ws["A1"] = "gpucredit: facility credit metrics (the JSON output's facility figures)"
    ws["A1"].font = Font(bold=True, size=13)
    info: list[tuple[str, Any]] = [
        ("seed", run.get("seed")),
        ("n_paths", run.get("n_paths")),
        ("calibration_id", run.get("calibration_id")),
        ("data_hash", run.get("data_hash")),
        ("version", run.get("version")),
        ("spec_hash", run.get("spec_hash")),
        ("scenario", run.get("scenario")),
        ("schedule paths", PATH_RULE),
        (
            "spreads",
            "actuarial_spread_bps: fair spread under the real-world measure P; "
            "fair_spread_bps: under the pricing measure Q; spread_gap_bps = market - Q; "
            "a blank market spread is unknown (pricing not public)",
        ),
    ]
    if has_miners:
        info.append(("miners", "miner facilities have no schedule sheet (no path cube kept)"))
    info.append(("schedule sheets", n_schedule_sheets))
    for i, (key, value) in enumerate(info, start=2):
        ws.cell(row=i, column=1, value=key).font = _BOLD
        ws.cell(row=i, column=2, value=_cell_value(value))
    records = [flat_record(r) for r in document.get("facilities", [])]
    for miner in document.get("miners", []):
        records += [flat_record(f) for f in miner.get("facilities", [])]
    keys = [k for k in _LEADING_KEYS if any(k in r for r in records)]
    for r in records:
        keys += [k for k in r if k not in keys]
    header = len(info) + 3
    for j, key in enumerate(keys, start=1):
        cell = ws.cell(row=header, column=j, value=key)
        cell.font = _BOLD
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, record in enumerate(records, start=header + 1):
        for j, key in enumerate(keys, start=1):
            value = _cell_value(record.get(key))
            cell = ws.cell(row=i, column=j, value=value)
            if isinstance(value, float):
                cell.number_format = _summary_format(key)
    ws.freeze_panes = ws.cell(row=header + 1, column=3)
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 24
    for j in range(3, len(keys) + 1):
        ws.column_dimensions[get_column_letter(j)].width = 14


def _summary_format(key: str) -> str:
    """The display format of a Summary figure (the cell holds the full value)."""
    if key.endswith("_usd"):
        return "#,##0.00"
    if key.endswith("_bps"):
        return "#,##0.0"
    return "0.000000"


def _schedule_sheet(
    ws: Worksheet, deal: str, facility: str, blocks: Sequence[CashSchedule], rule: str
) -> None:
    n_months = len(blocks[0].dates)
    ws["A1"] = _cell_value(f"{deal} / {facility}: monthly cash-flow schedule")
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = (
        "USD per month (balances at month end). DSCR = CFADS / scheduled debt service; "
        "LTV = closing balance / collateral value (income approach): live formulas. "
        f"Paths: {rule}."
    )
    ws.cell(row=_HEADER_ROW, column=1, value="Row").font = _BOLD
    ws.cell(row=_HEADER_ROW, column=2, value="Units").font = _BOLD
    ws.cell(row=_HEADER_ROW + 1, column=1, value="Month end").font = _BOLD
    for k, date in enumerate(blocks[0].dates):
        col = _FIRST_MONTH_COLUMN + k
        ws.cell(row=_HEADER_ROW, column=col, value=f"M{k + 1}").font = _BOLD
        cell = ws.cell(row=_HEADER_ROW + 1, column=col, value=date)
        cell.number_format = "yyyy-mm-dd"
    row = _HEADER_ROW + 3
    for block in blocks:
        title = block.label + ("" if block.path is None else f" (kept path {block.path})")
        for col in range(1, _FIRST_MONTH_COLUMN + n_months):
            ws.cell(row=row, column=col).fill = _BLOCK_FILL
        ws.cell(row=row, column=1, value=_cell_value(title)).font = _BOLD
        row += 1
        at: dict[str, int] = {}
        for label, units, attr in SCHEDULE_ROWS:
            at[attr] = row
            ws.cell(row=row, column=1, value=label)
            ws.cell(row=row, column=2, value=units)
            values = getattr(block, attr)
            for k in range(n_months):
                value = float(values[k])
                cell = ws.cell(
                    row=row,
                    column=_FIRST_MONTH_COLUMN + k,
                    value=value if math.isfinite(value) else None,
                )
                cell.number_format = _USD_FORMAT
            row += 1
        for label, units, top, bottom, number_format in (
            ("DSCR", "x", "cfads_usd", "debt_service_usd", _RATIO_FORMAT),
            ("LTV", "%", "balance_usd", "collateral_value_usd", _PCT_FORMAT),
        ):
            ws.cell(row=row, column=1, value=label).font = _BOLD
            ws.cell(row=row, column=2, value=units)
            for k in range(n_months):
                col = get_column_letter(_FIRST_MONTH_COLUMN + k)
                num, den = f"{col}{at[top]}", f"{col}{at[bottom]}"
                cell = ws.cell(
                    row=row,
                    column=_FIRST_MONTH_COLUMN + k,
                    value=f'=IF({den}=0,"",{num}/{den})',
                )
                cell.number_format = number_format
            row += 1
        row += 1
    ws.freeze_panes = ws.cell(row=_HEADER_ROW + 2, column=_FIRST_MONTH_COLUMN)
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 7
    for k in range(n_months):
        ws.column_dimensions[get_column_letter(_FIRST_MONTH_COLUMN + k)].width = 14


def write_report_xlsx(
    path: Path | str,
    results: Sequence[SimulationResult],
    miners: Sequence[MinerResult] = (),
    document: Mapping[str, Any] | None = None,
    *,
    params: FactorParams | None = None,
    db: Path | str | None = None,
) -> Path:
    """Write the Excel report to ``path`` (replaced in one step: never half-written).

    Parameters
    ----------
    path : Path or str
        The ``.xlsx`` file to write.
    results : sequence of SimulationResult
        The GPU deals' results; each facility gets a schedule sheet.
    miners : sequence of MinerResult
        The miners' results (their facilities are rows of the Summary).
    document : mapping, optional
        The run's JSON document (``reports.tables.run_document``) whose facility figures the
        Summary holds; default: built from ``results`` and ``miners`` with the first result's
        seed and paths.
    params : FactorParams, optional
        The factor parameters, for results simulated with explicit ``params`` (the base case
        is run again on them); default: the calibration each result names.
    db : Path or str, optional
        The market store holding the results' calibration (default ``$GPUCREDIT_DB``).

    Returns
    -------
    Path
        The file written.
    """
    target = Path(path)
    if document is None:
        first = results[0].provenance if results else (miners[0].provenance if miners else {})
        document = run_document(
            list(results),
            int(first.get("seed", 0)),
            int(first.get("n_paths", 0)),
            list(miners),
        )
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = SUMMARY_SHEET
    sheets: list[tuple[str, str, list[CashSchedule]]] = []
    resolved: dict[tuple[str, dt.date], ParameterSource] = {}
    for r in results:
        per_path = [base_case_schedules(r, params=_base_params(r, params, db, resolved), db=db)]
        per_path += [
            kept_path_schedules(r, label, i) for label, i in representative_paths(r).items()
        ]
        for k, m in enumerate(r.all_facilities):
            sheets.append((r.deal.name, m.name, [p[k] for p in per_path]))
    names = sheet_names([sheet_label(deal, facility) for deal, facility, _ in sheets])
    for name, (deal, facility, blocks) in zip(names, sheets, strict=True):
        rule = PATH_RULE if len(blocks) > 1 else "no paths were kept (keep_paths = 0)"
        _schedule_sheet(wb.create_sheet(name), deal, facility, blocks, rule)
    named = [
        p.get("scenario")
        for p in [*(r.provenance for r in results), *(m.provenance for m in miners)]
    ]
    scenarios = list(dict.fromkeys(str(x) for x in named if x))
    _summary_sheet(summary, document, len(sheets), bool(miners), scenarios)
    staging = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        wb.save(staging)
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return target


def _base_params(
    result: SimulationResult,
    params: FactorParams | None,
    db: Path | str | None,
    resolved: dict[tuple[str, dt.date], ParameterSource],
) -> FactorParams | None:
    """The factor parameters of ``result``'s base case: ``params`` when given, else those of
    the calibration the result names as of its deal's date, each calibration resolved once
    per workbook into ``resolved`` (a book's deals share a few: resolving opens the store);
    None for a result simulated with explicit parameters (``base_case_schedules`` says so).
    """
    calibration = str(result.provenance.get("calibration_id", "sourced"))
    if params is not None or calibration == "explicit params":
        return params
    key = (calibration, result.deal.as_of)
    if key not in resolved:
        resolved[key] = resolve_parameters(calibration, db, result.deal.as_of)
    return resolved[key].params_for(result.deal)
