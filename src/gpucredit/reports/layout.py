"""Tables that fit the terminal: the wide table where there is room, one block per row where not.

A wide table cut to 80 columns loses the ends of its cells ("merchant_h…"). :func:`fit` keeps
the table as built when its natural width fits; otherwise it prints the table's title once and
then one small two-column table (field, value) per row, titled by the row's key cells (deal
and facility), whose values fold rather than cut.
"""

from __future__ import annotations

import copy
import dataclasses
import io

from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from gpucredit._terminal import plain

__all__ = ["fit", "natural_width", "transpose"]

#: Width the natural width is measured in: wider than any table we build.
_UNBOUNDED = 10_000


def natural_width(table: Table) -> int:
    """Columns ``table`` takes when no cell is wrapped or cut (borders and padding included)."""
    console = Console(width=_UNBOUNDED, file=io.StringIO(), color_system=None)
    return console.measure(table).maximum


def fit(table: Table, width: int, keys: int = 1) -> RenderableType:
    """``table`` as it fits ``width`` columns, never with a cell cut.

    In order: the table itself when its natural width fits; the table with its longer cells
    wrapped at spaces, when every column still holds its longest word; else
    :func:`transpose` of it.

    Parameters
    ----------
    table : rich.table.Table
        A table built by ``reports.tables`` (cells as Rich ``Text`` or plain strings).
    width : int
        Columns available (the console's width).
    keys : int
        Leading columns that name a row (``Deal``, ``Facility``): the title of its block.
    """
    natural = natural_width(table)
    if natural <= width:
        return table
    widths = _wrapped_widths(table, width, natural)
    if widths is None:
        return transpose(table, keys)
    wrapped = copy.copy(table)
    wrapped.columns = [
        dataclasses.replace(column, width=w)
        for column, w in zip(table.columns, widths, strict=True)
    ]
    return wrapped


def _wrapped_widths(table: Table, width: int, natural: int) -> list[int] | None:
    """Content widths of the columns that make ``table`` fit ``width`` by wrapping cells at
    spaces, taken from the columns with the most room to give; None if even every column
    at its longest word is too wide."""
    console = Console(width=_UNBOUNDED, file=io.StringIO(), color_system=None)
    ranges = []
    for column in table.columns:
        cells = [
            Measurement.get(console, console.options, c) for c in (column.header, *column.cells)
        ]
        ranges.append((max(m.minimum for m in cells), max(m.maximum for m in cells)))
    widths = [hi for _, hi in ranges]
    overhead = natural - sum(widths)  # borders and padding
    excess = sum(widths) + overhead - width
    if sum(lo for lo, _ in ranges) + overhead > width:
        return None
    while excess > 0:
        k = max(range(len(widths)), key=lambda i: widths[i] - ranges[i][0])
        widths[k] -= 1
        excess -= 1
    return widths


def _text(cell: RenderableType) -> Text:
    return cell if isinstance(cell, Text) else plain(cell)


def _rows(table: Table) -> list[list[RenderableType]]:
    columns = [list(column.cells) for column in table.columns]
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


def transpose(table: Table, keys: int = 1) -> Group:
    """One two-column table (field, value) per row of ``table``, under its title.

    Parameters
    ----------
    table : rich.table.Table
        The wide table.
    keys : int
        Leading columns whose cells, joined by " / ", title each row's block; the other
        columns become its fields.

    Returns
    -------
    rich.console.Group
        The title, then the blocks in row order.
    """
    headers = [_text(column.header) for column in table.columns]
    parts: list[RenderableType] = []
    if table.title:
        parts.append(Text.assemble(_text(table.title), style="italic"))
    for row in _rows(table):
        # the name on a line of its own, as wide as the console, so that it is not wrapped
        name = Text(" / ").join(_text(cell) for cell in row[:keys])
        name.stylize("bold")
        parts += [Text(""), name]
        block = Table(box=None, show_header=False, padding=(0, 1, 0, 2), expand=False)
        block.add_column("field", style="dim", no_wrap=True)
        block.add_column("value", overflow="fold")
        for header, cell in zip(headers[keys:], row[keys:], strict=True):
            block.add_row(header, _text(cell))
        parts.append(block)
    return Group(*parts)
