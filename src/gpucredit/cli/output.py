"""What every command prints on stdout: ``--format table|json|csv``, ``--quiet``, and tables
that fit the terminal.

Errors and progress go to stderr; stdout holds only the result, so ``--format json`` is exactly
one JSON object and ``--format csv`` exactly one CSV table.
"""

from __future__ import annotations

import enum
import json
import os
import sys
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console, RenderableType
from rich.table import Table

from gpucredit._terminal import printable
from gpucredit.reports.layout import fit

__all__ = [
    "FormatOption",
    "OutputFormat",
    "QuietOption",
    "print_csv",
    "print_json",
    "show",
    "wide_console",
]

#: Width of tables written to a pipe or a file when ``COLUMNS`` does not say.
PIPE_WIDTH = 170


class OutputFormat(enum.StrEnum):
    """What a command prints on stdout: a table for people, or one JSON object or CSV."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        help="table (for people), json (one JSON object) or csv (the summary rows) on stdout.",
        case_sensitive=False,
    ),
]
QuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="No progress bar and no footnotes: only the result and errors."
    ),
]


def wide_console(*, highlight: bool = True) -> Console:
    """The terminal, or :data:`PIPE_WIDTH` columns for a pipe or file (tables are not folded
    to 80) unless ``COLUMNS`` says how wide; ``highlight=False``: no automatic colouring of
    numbers and strings."""
    console = Console(highlight=highlight)
    if console.is_terminal or "COLUMNS" in os.environ:
        return console
    return Console(width=PIPE_WIDTH, highlight=highlight)


def show(console: Console, table: RenderableType, keys: int = 1) -> None:
    """Print a table so that it fits the console: as built, wrapped, or sideways (``keys``
    leading columns name a row); see ``reports.layout.fit``."""
    console.print(fit(table, console.width, keys) if isinstance(table, Table) else table)


def print_json(document: object) -> None:
    """``document`` as one line of JSON on stdout (no NaN or infinity; a value JSON has no
    type for, such as a timestamp, as its text)."""
    sys.stdout.write(json.dumps(document, allow_nan=False, default=str) + "\n")


def print_csv(frame: pd.DataFrame, index: bool = True) -> None:
    """``frame`` as CSV on stdout; in a terminal, control characters in it are shown as
    escapes (as ``ls`` does), in a pipe or file it is written exactly."""
    text = frame.to_csv(index=index)
    if sys.stdout.isatty():
        text = printable(text, keep_newlines=True)
    sys.stdout.write(text)
