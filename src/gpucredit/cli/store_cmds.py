"""Command line: ``gpucredit calibrations list`` and ``gpucredit runs list|show``.

What the market store remembers: the calibrations fitted, and every run recorded with its
seed, paths, calibration and summary. These commands only read: they open the store
read-only, so they run beside a ``gpucredit run`` or a notebook using the same store.
"""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from gpucredit._terminal import markup_safe
from gpucredit.cli.output import (
    DbOption,
    FormatOption,
    OutputFormat,
    fail,
    print_csv,
    print_json,
    show,
    wide_console,
)
from gpucredit.errors import GpuCreditError, SpecError, SpecIssue
from gpucredit.market.store import MarketStore, RunInfo, RunRecord

__all__ = ["calibrations_app", "register_store_commands", "runs_app"]


calibrations_app = typer.Typer(
    name="calibrations",
    help="The calibrations stored in the market store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
runs_app = typer.Typer(
    name="runs",
    help="The runs recorded in the market store: list them, show one.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def register_store_commands(app: typer.Typer) -> None:
    """Add ``calibrations`` and ``runs`` to the ``gpucredit`` command."""
    app.add_typer(calibrations_app, name="calibrations")
    app.add_typer(runs_app, name="runs")


JsonOption = Annotated[bool, typer.Option("--json", help="Same as --format json.")]


def _format(as_json: bool, output_format: OutputFormat) -> OutputFormat:
    """``--json`` is ``--format json``; with another ``--format`` it is an input error."""
    if as_json and output_format is OutputFormat.CSV:
        issue = SpecIssue("--json", f"--format {output_format}", "--json or --format alone")
        raise SpecError("command line", [issue])
    return OutputFormat.JSON if as_json else output_format


def _cell(value: object) -> str:
    """A table cell: a value from the store is text, never Rich markup or a terminal code."""
    if value is None:
        return ""
    if isinstance(value, float):
        # money and other large figures in full (5,252,980.12), ratios to 6 significant digits
        return f"{value:,.2f}" if abs(value) >= 1e4 else f"{value:.6g}"
    return markup_safe(value)


def _console() -> Console:
    """The terminal, or 170 columns for a pipe or file unless ``COLUMNS`` says."""
    return wide_console(highlight=False)


def _table(title: str, columns: tuple[str, ...], right: tuple[str, ...] = ()) -> Table:
    table = Table(title=markup_safe(title), title_justify="left")
    for column in columns:
        # fold: a narrow terminal wraps an id or a hash instead of cutting it
        table.add_column(column, justify="right" if column in right else "left", overflow="fold")
    return table


@calibrations_app.command("list")
def calibrations_list(
    db: DbOption = None,
    as_json: JsonOption = False,
    output_format: FormatOption = OutputFormat.TABLE,
) -> None:
    """List the stored calibrations, latest first: as-of date, data hash, runs using each."""
    try:
        fmt = _format(as_json, output_format)
        store = MarketStore(db, read_only=True)
        rows = store.list_calibrations()
    except GpuCreditError as exc:
        raise fail(str(exc)) from None
    records = [
        {
            "id": c.id,
            "as_of": c.as_of.isoformat(),
            "created_utc": c.created_utc,
            "data_hash": c.data_hash,
            "rent_series": c.rent_series,
            "n_runs": c.n_runs,
        }
        for c in rows
    ]
    if fmt is not OutputFormat.TABLE:
        _print_records(
            fmt, records, ["id", "as_of", "created_utc", "data_hash", "rent_series", "n_runs"]
        )
        return
    console = _console()
    if not rows:
        console.print(
            f"no calibration stored in {_cell(store.path)} yet: `gpucredit calibrate` fits one "
            "(`gpucredit run` does on first use)"
        )
        return
    table = _table(
        f"Calibrations in {store.path} (latest first; `run` uses the first)",
        ("id", "as of", "created (UTC)", "data hash", "rent series", "runs"),
        right=("runs",),
    )
    for c in rows:
        table.add_row(
            _cell(c.id),
            c.as_of.isoformat(),
            _cell(c.created_utc),
            _cell(c.data_hash[:12]),
            _cell(c.rent_series) if c.rent_series else "[dim]not recorded[/dim]",
            f"{c.n_runs:,}",
        )
    show(console, table)


def _print_records(fmt: OutputFormat, records: list[dict[str, Any]], columns: list[str]) -> None:
    """``--format json``: the records as a JSON list; ``csv``: one row each."""
    if fmt is OutputFormat.JSON:
        print_json(records)
    else:
        print_csv(pd.DataFrame(records, columns=columns), index=False)


_RUN_COLUMNS = [
    "id",
    "created_utc",
    "deal",
    "spec_hash",
    "seed",
    "n_paths",
    "calibration_id",
    "data_hash",
    "version",
]


def _run_record(info: RunInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "created_utc": info.created_utc,
        "deal": info.deal,
        "spec_hash": info.spec_hash,
        "seed": info.seed,
        "n_paths": info.n_paths,
        "calibration_id": info.calibration_id,
        "data_hash": info.data_hash,
        "version": info.version,
    }


@runs_app.command("list")
def runs_list(
    limit: Annotated[int, typer.Option("--limit", help="Show the newest N runs (0: all).")] = 20,
    db: DbOption = None,
    as_json: JsonOption = False,
    output_format: FormatOption = OutputFormat.TABLE,
) -> None:
    """List the recorded runs, newest first: deal, seed, paths, calibration, version."""
    try:
        fmt = _format(as_json, output_format)
        if limit < 0:
            raise SpecError(
                "command line", [SpecIssue("--limit", limit, "an integer of at least 0")]
            )
        store = MarketStore(db, read_only=True)
        rows = store.list_runs(limit or None)
    except GpuCreditError as exc:
        raise fail(str(exc)) from None
    if fmt is not OutputFormat.TABLE:
        records = [_run_record(r) for r in rows]
        _print_records(fmt, records, _RUN_COLUMNS)
        return
    console = _console()
    if not rows:
        console.print(f"no run recorded in {_cell(store.path)} yet (`gpucredit run` records one)")
        return
    table = _table(
        f"Runs in {store.path} (newest first)",
        ("id", "created (UTC)", "deal", "spec hash", "seed", "paths", "calibration", "version"),
        right=("seed", "paths"),
    )
    for r in rows:
        table.add_row(
            _cell(r.id),
            _cell(r.created_utc),
            _cell(r.deal),
            _cell(r.spec_hash[:12]),
            str(r.seed),
            f"{r.n_paths:,}",
            _cell(r.calibration_id or "default (sourced)"),
            _cell(r.version),
        )
    show(console, table)
    console.print("[dim]`gpucredit runs show ID` prints a run's stored summary.[/dim]")


def _flatten(value: object, prefix: str = "") -> list[tuple[str, object]]:
    """Nested dicts and lists of dicts as (dotted key, scalar or short list) rows."""
    if isinstance(value, dict):
        rows: list[tuple[str, object]] = []
        for key, item in value.items():
            rows += _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        rows = []
        for i, item in enumerate(value):
            rows += _flatten(item, f"{prefix}[{i}]")
        return rows
    return [(prefix, value)]


def _summary_cell(value: object) -> str:
    return markup_safe(_summary_text(value))


def _summary_text(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(_summary_text(v) for v in value)
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1e4 else f"{value:.6g}"
    return str(value)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="The run id (run-...), or a unique prefix of it.")],
    db: DbOption = None,
    as_json: JsonOption = False,
    output_format: FormatOption = OutputFormat.TABLE,
) -> None:
    """Print one recorded run: its provenance and the summary stored with it."""
    try:
        fmt = _format(as_json, output_format)
        stored = MarketStore(db, read_only=True).load_run(run_id)
    except GpuCreditError as exc:
        raise fail(str(exc)) from None
    record = _run_record(stored.info)
    if fmt is OutputFormat.JSON:
        print_json(record | {"summary": stored.summary})
        return
    if fmt is OutputFormat.CSV:  # one (field, value) row each, the summary flattened
        fields = list(record.items()) + [(f"summary.{k}", v) for k, v in _flatten(stored.summary)]
        print_csv(pd.DataFrame(fields, columns=["field", "value"]), index=False)
        return
    console = _console()
    table = _table(f"Run {stored.info.id}", ("field", "value"))
    for key, value in record.items():
        table.add_row(key, _summary_cell(value if value is not None else "default (sourced)"))
    for key, value in _flatten(stored.summary):
        table.add_row(_cell(f"summary.{key}"), _summary_cell(value))
    show(console, table)


def _run_set_record(rec: RunRecord) -> dict[str, Any]:
    """A whole-run record (``runs records``) as JSON: its provenance and its files."""
    return {
        "id": rec.id,
        "created_utc": rec.created_utc,
        "command_line": rec.command_line,
        "seed": rec.seed,
        "n_paths": rec.n_paths,
        "calibration_ids": list(rec.calibration_ids),
        "data_hash": rec.data_hash,
        "version": rec.version,
        "spec_hashes": list(rec.spec_hashes),
        "scenarios": list(rec.scenarios),
        "outputs": rec.outputs,
        "run_ids": list(rec.run_ids),
    }


@runs_app.command("records")
def runs_records(
    limit: Annotated[int, typer.Option("--limit", help="Show the newest N records (0: all).")] = 20,
    db: DbOption = None,
    as_json: JsonOption = False,
    output_format: FormatOption = OutputFormat.TABLE,
) -> None:
    """List the whole-run records of runs that wrote reports, newest first: the command line,
    seed, paths, calibrations, scenarios and the files written (with their SHA-256 in JSON)."""
    try:
        fmt = _format(as_json, output_format)
        if limit < 0:
            raise SpecError(
                "command line", [SpecIssue("--limit", limit, "an integer of at least 0")]
            )
        store = MarketStore(db, read_only=True)
        rows = store.list_run_records(limit or None)
    except GpuCreditError as exc:
        raise fail(str(exc)) from None
    records = [_run_set_record(r) for r in rows]
    if fmt is OutputFormat.JSON:
        print_json(records)
        return
    if fmt is OutputFormat.CSV:  # one row per file written
        flat = [
            {"id": r["id"], "command_line": r["command_line"], "file": f, "sha256": h}
            for r in records
            for f, h in r["outputs"].items()
        ]
        print_csv(pd.DataFrame(flat, columns=["id", "command_line", "file", "sha256"]), index=False)
        return
    console = _console()
    if not rows:
        console.print(f"no run with reports recorded in {_cell(store.path)} yet")
        return
    table = _table(
        f"Runs with reports in {store.path} (newest first)",
        ("id", "created (UTC)", "command", "seed", "paths", "calibration", "scenarios", "files"),
        right=("seed", "paths", "files"),
    )
    for r in rows:
        table.add_row(
            _cell(r.id),
            _cell(r.created_utc),
            _cell(r.command_line),
            str(r.seed),
            f"{r.n_paths:,}",
            _cell(", ".join(str(c) for c in r.calibration_ids)),
            _cell(", ".join(r.scenarios)),
            f"{len(r.outputs):,}",
        )
    show(console, table)
