"""Command line: ``gpucredit sweep DEAL.yaml --set PATH=V1,V2 ...``.

Runs the deal over every combination of the values given (``pipeline.sweep``), all with the
same seed, and prints one row per facility per combination: a table, CSV or one JSON object;
``--out FILE.csv`` also writes the CSV (replaced in one step, never over a file it did not
write unless ``--force``).
"""

from __future__ import annotations

import math
import os
import secrets
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
import yaml
from rich.console import Console
from rich.table import Table

from gpucredit._terminal import markup_safe
from gpucredit.cli.output import (
    DbOption,
    FormatOption,
    OutputFormat,
    QuietOption,
    fail,
    print_csv,
    print_json,
    show,
    wide_console,
)
from gpucredit.errors import GpuCreditError, SpecError, SpecIssue
from gpucredit.factors.parameter_source import DEFAULT_CALIBRATION
from gpucredit.pipeline.sweep import DEFAULT_SWEEP_PATHS, SET_OPTION, sweep

__all__ = ["parse_set_options", "register_sweep_command", "sweep_command"]

_SOURCE = "command line"
#: The summary columns the sweep table shows: (column, header, kind).
_TABLE_COLUMNS = (
    ("pd", "PD (life)", "pct"),
    ("lgd", "LGD", "pct"),
    ("expected_loss_usd", "EL USD m", "usd_m"),
    ("actuarial_spread_bps", "P bp", "bps"),
    ("fair_spread_bps", "Q bp", "bps"),
    ("market_spread_bps", "Market bp", "bps"),
    ("spread_gap_bps", "Gap bp", "bps"),
    ("implied_rating", "Rating", "text"),
    ("min_dscr_p50", "min DSCR p50", "ratio"),
)


def parse_set_options(options: list[str]) -> dict[str, list[Any]]:
    """``PATH=V1,V2,...`` options as ``{PATH: [V1, V2, ...]}``; each value is read as a YAML
    scalar (``650`` a number, ``true`` a bool, ``2027-01-31`` a date, other text as is).

    Raises
    ------
    SpecError
        An option without ``=``, an empty path or value, or a path given twice.
    """
    settings: dict[str, list[Any]] = {}
    for option in options:
        path, eq, text = option.partition("=")
        path = path.strip()
        if not eq or not path:
            raise SpecError(
                _SOURCE,
                [
                    SpecIssue(
                        SET_OPTION, option, "PATH=V1,V2,... (e.g. merchant.price_factor=0.6,0.79)"
                    )
                ],
            )
        if path in settings:
            raise SpecError(_SOURCE, [SpecIssue(f"{SET_OPTION} {path}", option, "each path once")])
        values: list[Any] = []
        for item in text.split(","):
            item = item.strip()
            if not item:
                raise SpecError(
                    _SOURCE,
                    [SpecIssue(f"{SET_OPTION} {path}", text, "values separated by commas")],
                )
            try:
                value = yaml.safe_load(item)
            except yaml.YAMLError:
                value = item
            values.append(item if isinstance(value, dict | list) or value is None else value)
        settings[path] = values
    return settings


def _cell(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "unknown" if kind == "bps" else "n/a"
    if kind == "pct":
        return f"{100 * float(value):.2f}%"
    if kind == "usd_m":
        return f"{float(value) / 1e6:,.2f}"
    if kind == "bps":
        return f"{float(value):,.0f}"
    if kind == "ratio":
        return f"{float(value):.2f}"
    return str(value)


def _table(frame: pd.DataFrame, paths: list[str], n_paths: int, seed: int) -> Table:
    table = Table(
        title=f"gpucredit sweep: {n_paths:,} paths per combination, seed {seed} (common random "
        "numbers)",
        title_justify="left",
        caption="P bp: fair spread under the real-world measure; Q bp: under the pricing "
        "measure; Gap bp = market - Q; unknown: pricing not public",
        caption_justify="left",
    )
    for path in paths:
        table.add_column(markup_safe(path), justify="right", overflow="fold")
    table.add_column("Deal", overflow="fold")
    table.add_column("Facility", overflow="fold")
    for _, header, _ in _TABLE_COLUMNS:
        table.add_column(header, justify="right")
    records = frame.to_dict(orient="records")
    for row in records:
        table.add_row(
            *[markup_safe(str(row[p])) for p in paths],
            markup_safe(str(row["deal"])),
            markup_safe(str(row["facility"])),
            *[_cell(row.get(col), kind) for col, _, kind in _TABLE_COLUMNS],
        )
    return table


def _json_value(value: Any) -> Any:
    """A frame cell as JSON: NaN (a missing figure) as null, numpy scalars as Python's."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _check_csv_target(out: Path, force: bool) -> None:
    """Refuse ``--out`` before any run: not a .csv name, a directory, or (without force) an
    existing file."""
    given = str(out)
    if out.suffix.lower() != ".csv":
        raise SpecError(_SOURCE, [SpecIssue("--out", given, "a file name ending in .csv")])
    if out.exists() and (out.is_dir() or not force):
        expected = "a new file (it exists: add --force to replace it)"
        if out.is_dir():
            expected = "a file, not a directory"
        raise SpecError(_SOURCE, [SpecIssue("--out", given, expected)])


def _write_csv(frame: pd.DataFrame, out: Path, force: bool) -> None:
    """The frame as CSV at ``out``, replaced in one step; an existing file only with force."""
    _check_csv_target(out, force)  # again: the file may have appeared during the run
    given = str(out)
    staging = out.with_name(f".{out.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        frame.to_csv(staging, index=False)
        os.replace(staging, out)
    except OSError as exc:
        raise SpecError(
            _SOURCE, [SpecIssue("--out", given, f"a file that can be written ({exc.strerror})")]
        ) from None
    finally:
        staging.unlink(missing_ok=True)


def _progress_line(done: int, total: int) -> None:
    """One line on standard error per combination run (stdout holds only the result)."""
    Console(stderr=True, highlight=False).print(f"[dim]sweep: {done}/{total} combinations[/dim]")


def sweep_command(
    deal: Annotated[Path, typer.Argument(help="The deal YAML file.", show_default=False)],
    settings: Annotated[
        list[str],
        typer.Option(
            "--set",
            help="PATH=V1,V2,...: a field of the deal (loan.rate.margin_bps, "
            "merchant.price_factor, facilities[NAME].rate.margin_bps, "
            "contracts[0].rate_usd_per_gpu_hour) and its values; repeat for more fields.",
            show_default=False,
        ),
    ],
    paths: Annotated[
        int, typer.Option("--paths", help="Monte Carlo paths per combination.")
    ] = DEFAULT_SWEEP_PATHS,
    seed: Annotated[int, typer.Option("--seed", help="The seed of every combination.")] = 0,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario", help="A named stress scenario (gpucredit scenarios).", show_default=False
        ),
    ] = None,
    output_format: FormatOption = OutputFormat.TABLE,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Also write the rows to this CSV file.", show_default=False),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Let --out replace a file.")] = False,
    calibration: Annotated[
        str,
        typer.Option(
            "--calibration", help="Factor parameters: 'latest', a stored id or 'sourced'."
        ),
    ] = DEFAULT_CALIBRATION,
    db: DbOption = None,
    quiet: QuietOption = False,
) -> None:
    """Run a deal over every combination of field values with the same seed: one row per
    facility per combination (PD, LGD, EL, fair spreads P and Q, market spread, gap)."""
    try:
        if paths < 1:
            raise SpecError(_SOURCE, [SpecIssue("--paths", paths, "an integer of at least 1")])
        if not 0 <= seed < 2**63:
            raise SpecError(_SOURCE, [SpecIssue("--seed", seed, "an integer from 0 to 2**63-1")])
        parsed = parse_set_options(settings)
        if out is not None:
            _check_csv_target(out, force)
        frame = sweep(
            deal,
            parsed,
            n_paths=paths,
            seed=seed,
            scenario=scenario,
            calibration=calibration,
            db=db,
            progress=None if quiet else _progress_line,
        )
        if out is not None:
            _write_csv(frame, out, force)
    except GpuCreditError as exc:
        raise fail(str(exc)) from None
    if output_format is OutputFormat.JSON:
        rows = [
            {str(k): _json_value(v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")
        ]
        print_json(
            {
                "run": {"seed": seed, "n_paths": paths, "scenario": scenario, "settings": parsed},
                "rows": rows,
            }
        )
        return
    if output_format is OutputFormat.CSV:
        print_csv(frame, index=False)
        return
    show(wide_console(), _table(frame, list(parsed), paths, seed), keys=len(parsed) + 2)
    if out is not None and not quiet:
        Console(highlight=False).print(f"rows written to {markup_safe(str(out))}")


def register_sweep_command(app: typer.Typer) -> None:
    """Add ``gpucredit sweep`` to ``app``."""
    app.command("sweep")(sweep_command)
