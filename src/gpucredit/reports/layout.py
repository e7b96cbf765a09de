"""Tables that fit the terminal, with no cell cut: wide where there is room, else sideways.

A wide table cut to 80 columns loses the ends of its cells ("merchant_h…"). :func:`fit`
keeps the table as built when its natural width fits, wraps its longer cells at spaces when
that is enough, and otherwise turns it sideways: one row per field, one column per facility,
as many facilities side by side as fit, the next ones below. A facility too wide even alone
is printed as a block of (field, value) lines whose values fold.
"""

from __future__ import annotations

import copy
import dataclasses
import io

from rich import box
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from gpucredit._terminal import plain

__all__ = ["fit", "natural_width", "transpose"]

#: Width the natural width is measured in: wider than any table we build.
_UNBOUNDED = 10_000


def _measuring_console() -> Console:
    return Console(width=_UNBOUNDED, file=io.StringIO(), color_system=None)


def natural_width(table: Table) -> int:
    """Columns ``table`` takes when no cell is wrapped or cut (borders and padding included)."""
    return _measuring_console().measure(table).maximum


def fit(table: Table, width: int, keys: int = 1) -> RenderableType:
    """``table`` laid out to ``width`` columns, never with a cell cut.

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
        Leading columns that name a row (``Deal``, ``Facility``): its heading when sideways.
    """
    fitted = _fitted(table, width)
    return fitted if fitted is not None else transpose(table, width, keys)


def _fitted(table: Table, width: int) -> Table | None:
    """``table`` if it fits, else a copy whose wrapped columns make it fit, else None."""
    natural = natural_width(table)
    if natural <= width:
        return table
    widths = _wrapped_widths(table, width, natural)
    if widths is None:
        return None
    wrapped = copy.copy(table)
    wrapped.columns = [
        dataclasses.replace(column, width=w)
        for column, w in zip(table.columns, widths, strict=True)
    ]
    return wrapped


def _wrapped_widths(table: Table, width: int, natural: int) -> list[int] | None:
    """Content widths of the columns that make ``table`` fit ``width`` by wrapping at spaces:
    headers first (down to the widest cell of their column), then cells (down to their
    longest word), each time from the column with the most room to give; None if even every
    column at its longest word (its longest cell if it does not wrap) is too wide."""
    console = _measuring_console()
    floors: list[tuple[int, int]] = []  # (cells wrapped, only the header wrapped)
    widths = []
    for column in table.columns:
        head = Measurement.get(console, console.options, column.header)
        cells = [Measurement.get(console, console.options, c) for c in column.cells]
        longest = max([head.maximum, *(m.maximum for m in cells)])
        widest_cell = max([head.minimum, *(m.maximum for m in cells)])
        word = max([head.minimum, *(m.minimum for m in cells)])
        if column.no_wrap:
            word = widest_cell = longest
        floors.append((word, widest_cell))
        widths.append(longest)
    overhead = natural - sum(widths)  # borders and padding
    if sum(word for word, _ in floors) + overhead > width:
        return None
    excess = sum(widths) + overhead - width
    for stage in (1, 0):  # 1: wrap headers only; 0: wrap cells too
        while excess > 0:
            k = max(range(len(widths)), key=lambda i: widths[i] - floors[i][stage])
            if widths[k] <= floors[k][stage]:
                break
            widths[k] -= 1
            excess -= 1
    return widths


def transpose(table: Table, width: int, keys: int = 1) -> Group:
    """``table`` sideways: a row per field and a column per row of ``table``, under its title.

    Parameters
    ----------
    table : rich.table.Table
        The wide table.
    width : int
        Columns available: as many of ``table``'s rows go side by side as fit, the rest
        follow in further tables.
    keys : int
        Leading columns whose cells, one per line, head each row's column; the other columns
        become the fields.

    Returns
    -------
    rich.console.Group
        The title, then the sideways tables in row order.
    """
    headers = [_text(column.header) for column in table.columns]
    rows = _rows(table)
    parts: list[RenderableType] = []
    if table.title:
        parts.append(Text.assemble(_text(table.title), style="italic"))
    start = 0
    while start < len(rows):
        best: tuple[int, Table] | None = None
        for stop in range(start + 1, len(rows) + 1):
            fitted = _fitted(_sideways(headers, rows[start:stop], keys), width)
            if fitted is None:
                break
            best = (stop, fitted)
        if best is None:  # this row alone is too wide: its values fold
            parts += _block(headers, rows[start], keys)
            start += 1
        else:
            if start > 0:
                parts.append(Text(""))
            start, sideways = best
            parts.append(sideways)
    return Group(*parts)


def _sideways(headers: list[Text], rows: list[list[RenderableType]], keys: int) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("", style="dim", no_wrap=True)
    for row in rows:
        name = Text("\n").join(_text(cell) for cell in row[:keys])
        name.stylize("bold")
        table.add_column(name, justify="right")
    for k, header in enumerate(headers[keys:], start=keys):
        table.add_row(header, *(_text(row[k]) for row in rows))
    return table


def _block(headers: list[Text], row: list[RenderableType], keys: int) -> list[RenderableType]:
    """A row as a heading line (as wide as the console, so not wrapped) and its fields."""
    name = Text(" / ").join(_text(cell) for cell in row[:keys])
    name.stylize("bold")
    block = Table(box=None, show_header=False, padding=(0, 1, 0, 2), expand=False)
    block.add_column("field", style="dim", no_wrap=True)
    block.add_column("value", overflow="fold")
    for header, cell in zip(headers[keys:], row[keys:], strict=True):
        block.add_row(header, _text(cell))
    return [Text(""), name, block]


def _text(cell: RenderableType) -> Text:
    """A cell as ``Text``, read as Rich reads it in a table: a string is markup (the builders
    hand names over as ``Text`` or escaped), anything else its printable ``str``."""
    if isinstance(cell, Text):
        return cell
    return Text.from_markup(cell) if isinstance(cell, str) else plain(cell)


def _rows(table: Table) -> list[list[RenderableType]]:
    columns = [list(column.cells) for column in table.columns]
    return [list(row) for row in zip(*columns, strict=True)] if columns else []
