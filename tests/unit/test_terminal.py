"""Names made safe for the terminal, tables fitted to its width, the progress display."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.table import Table

from gpucredit._progress import ProgressBar, block_ticker, progress_reporter
from gpucredit._terminal import markup_safe, plain, printable
from gpucredit.reports.layout import fit, natural_width, transpose

ESC, BEL = "\x1b", "\x07"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("merchant-h100", "merchant-h100"),
        (f"a{ESC}[31mred", "a\\x1b[31mred"),
        (f"bell{BEL}", "bell\\x07"),
        ("csi\x9b2J", "csi\\x9b2J"),  # C1 control: CSI in one code point
        ("del\x7f", "del\\x7f"),
        ("tab\there", "tab\\x09here"),
        ("two\nlines", "two\\x0alines"),
        ("rtl\u202etxt", "rtl\\u202etxt"),  # a bidi override reorders what follows it
        ("[/x] stays text", "[/x] stays text"),
        ("unicode ± é 中", "unicode ± é 中"),
    ],
)
def test_printable_shows_every_control_character_as_an_escape(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_printable_can_keep_line_breaks_of_a_message() -> None:
    assert printable(f"2 problems\n  - {ESC}x", keep_newlines=True) == "2 problems\n  - \\x1bx"


def _render(renderable: object, width: int) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, legacy_windows=False)
    console.print(renderable)
    return out.getvalue()


def test_markup_and_escapes_print_as_text() -> None:
    text = _render(f"[bold]{markup_safe('[/x] ' + ESC + '[31m')}[/]", 80)
    assert "[/x] \\x1b[31m" in text
    assert ESC not in text
    assert _render(plain("[/x]"), 80).strip() == "[/x]"


def _wide_table(names: list[str]) -> Table:
    table = Table(title="facility credit metrics")
    for header in ("Deal", "Facility", *(f"figure {i}" for i in range(12))):
        table.add_column(header)
    for name in names:
        table.add_row(plain(name), plain("term-loan"), *(f"{i},000.00%" for i in range(12)))
    return table


def test_a_table_that_fits_is_kept_wide() -> None:
    table = _wide_table(["merchant-h100"])
    assert fit(table, natural_width(table)) is table


def test_a_table_too_wide_turns_sideways_with_every_cell_whole() -> None:
    names = ["merchant-h100", "ddtl2-tiered-structure-with-a-long-name", "[/x]"]
    table = _wide_table(names)
    assert natural_width(table) > 80
    text = _render(fit(table, 80, keys=2), 80)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    for name in [*names, "term-loan", "figure 11"]:
        assert name in text
    assert text.count("11,000.00%") == len(names)  # each facility once, none lost


def test_a_row_too_wide_even_alone_folds_its_values() -> None:
    name = "a-name-with-no-space-" * 3
    table = _wide_table([name])
    text = _render(transpose(table, 40, keys=1), 40)
    assert "…" not in text and "term-loan" in text
    assert max(len(line) for line in text.splitlines()) <= 40


def test_a_table_whose_long_cells_can_wrap_is_wrapped_not_cut() -> None:
    table = Table(title="calibration")
    for header in ("model", "parameter", "engine uses"):
        table.add_column(header)
    note = "prior 1.04 kept (estimate 10.01, t = 1.2) because the estimate is not significant"
    table.add_row(plain("rent"), plain("kappa_per_year"), plain(note))
    assert natural_width(table) > 60
    fitted = fit(table, 60)
    assert isinstance(fitted, Table)  # still one table: wrapping the note is enough
    text = _render(fitted, 60)
    assert "…" not in text and "kappa_per_year" in text
    assert max(len(line) for line in text.splitlines()) <= 60
    assert " ".join("".join(c for c in text if c not in "│┃").split()).count("significant") == 1


def test_headers_wrap_before_a_figure_is_split_from_its_error() -> None:
    table = Table()
    for header in ("Deal", "probability of default over the life", "expected loss USD m"):
        table.add_column(header)
    table.add_row(plain("merchant-h100"), plain("38.3% ±2.8"), plain("5.44 ±0.73"))
    text = _render(fit(table, 50), 50)
    assert "38.3% ±2.8" in text and "5.44 ±0.73" in text  # each on one line
    assert max(len(line) for line in text.splitlines()) <= 50


def test_transpose_keeps_the_title_and_row_order() -> None:
    text = _render(transpose(_wide_table(["deal-a", "deal-b"]), 80, keys=1), 80)
    assert text.index("facility credit metrics") < text.index("deal-a") < text.index("deal-b")
    assert "Facility" in text  # a non-key column is a field


def test_progress_reporter_passes_a_callable_through_and_ignores_false() -> None:
    seen: list[tuple[str, int, int]] = []

    def record(phase: str, done: int, total: int) -> None:
        seen.append((phase, done, total))

    with progress_reporter(record, "x") as report:
        assert report is record
    with progress_reporter(False, "x") as report:
        assert report is None
    tick = block_ticker(record, 10, "fair spread: pass 1")
    tick(4)
    tick(6)
    assert seen == [("fair spread: pass 1", done, 10) for done in (0, 4, 10)]


def test_progress_bar_draws_in_a_terminal_and_writes_lines_elsewhere() -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=80)
    with ProgressBar(terminal) as bar:
        report = bar.reporter(f"evil{ESC}[2J [/x]")
        report("simulate", 50, 100)
    assert f"{ESC}[2J" not in screen.getvalue()  # the name's escape is shown, not obeyed

    log = io.StringIO()
    pipe = Console(file=io.StringIO(), force_terminal=False, force_jupyter=False)
    with ProgressBar(pipe, lines=True, stream=log) as bar:
        report = bar.reporter("merchant-h100")
        report("simulate", 0, 100)
        report("simulate", 100, 100)
    assert log.getvalue().startswith("merchant-h100: simulate 100/100")
    assert log.getvalue().splitlines()[-1].startswith("merchant-h100: done (")

    quiet = io.StringIO()
    with ProgressBar(pipe, lines=True, stream=quiet, disable=True) as bar:
        bar.reporter("merchant-h100")("simulate", 100, 100)
    assert quiet.getvalue() == ""
