"""Tables that fit the terminal: the wide table where there is room, one block per row where not.

A wide table cut to 80 columns loses the ends of its cells ("merchant_h…"). :func:`fit` keeps
the table as built when its natural width fits; otherwise it prints the table's title once and
then one small two-column table (field, value) per row, titled by the row's key cells (deal
and facility), whose values fold rather than cut.
"""

from __future__ import annotations

import io

from rich.console import Console, Group, RenderableType
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
    """``table`` itself when it fits ``width`` columns, else :func:`transpose` of it.

    Parameters
    ----------
    table : rich.table.Table
        A table built by ``reports.tables`` (cells as Rich ``Text`` or plain strings).
    width : int
        Columns available (the console's width).
    keys : int
        Leading columns that name a row (``Deal``, ``Facility``): the title of its block.
    """
    if natural_width(table) <= width:
        return table
    return transpose(table, keys)


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
