"""The HTML report (``reports.html.render_report``) and its file (``io.outputs``): every section,
the stressed columns, unknown market spreads, the assumptions and the provenance; nothing that
loads from a network; written all at once and listed in the output's manifest."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import pytest

from gpucredit.io.outputs import MANIFEST_NAME, REPORT_NAME, check_file_name, write_report_html
from gpucredit.pipeline import SimulationResult
from gpucredit.pipeline.book import BookResult
from gpucredit.reports.charts import tornado_chart
from gpucredit.reports.html import render_report
from tests.unit.test_book_report import result as book_result  # noqa: F401 (a fixture)
from tests.unit.test_charts import loan, structure  # noqa: F401 (fixtures)

#: Attributes and CSS that would make a browser fetch something.
LOADS = re.compile(
    r"""(?:\b(?:src|href|srcset|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|url\(\s*["']?\s*(?:https?:)?//|@import""",
    re.IGNORECASE,
)


def _report(loan: SimulationResult, structure: SimulationResult, **kw: object) -> str:  # noqa: F811
    return render_report([loan, structure], **kw)  # type: ignore[arg-type]


def test_report_has_every_section_and_loads_nothing(
    loan: SimulationResult,  # noqa: F811
    structure: SimulationResult,  # noqa: F811
    book_result: BookResult,  # noqa: F811
) -> None:
    text = render_report(
        [loan, structure],
        books=[book_result],
        run_info={"seed": 1, "data_hash": "abc123"},
    )
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    for heading in (
        "Real credit spreads",
        loan.deal.name,
        structure.deal.name,
        "Breakevens and the glut stress",
        f"Book {book_result.name}",
        "Assumptions and data sources",
        "Provenance",
    ):
        assert f">{heading}" in text, heading
    assert "<script" not in text.lower() and not LOADS.search(text)
    assert '<meta name="viewport"' in text and "@media print" in text
    assert "abc123" in text  # run_info is shown
    # every deal: fan, PD term structure, collateral bars, loss distribution
    for key in ("d0", "d1"):
        for chart in ("fan", "pd", "ltv", "loss"):
            assert f'id="chart-{key}-{chart}"' in text
    assert 'id="chart-spread-gap"' in text and 'id="chart-b0-loss"' in text
    assert text.count("Sensitivity tornado: not computed") == 2
    assert len(set(re.findall(r'\bid="([^"]+)"', text))) == len(re.findall(r'\bid="', text))


def test_spread_table_stressed_columns_and_unknown_market(
    loan: SimulationResult,  # noqa: F811
    structure: SimulationResult,  # noqa: F811
) -> None:
    hidden = dataclasses.replace(loan.metrics, market_spread_bps=math.nan, spread_gap_bps=None)
    text = render_report(
        [dataclasses.replace(loan, metrics=hidden), structure],
        stressed={"GPU glut": [loan]},
        assumptions={loan.deal.name: {"opex": "ASSUMPTION: a hand-set opex for the test deal"}},
    )
    assert "GPU glut: PD" in text and "GPU glut: Q bp" in text
    assert text.count('<span class="unknown">unknown</span>') >= 2  # market and gap
    assert "ASSUMPTION: a hand-set opex for the test deal" in text
    pd_text = f"{100 * loan.metrics.pd:.1f}% ±{100 * loan.metrics.pd_se:.1f}"
    assert text.count(pd_text) >= 3  # base column, stressed column, the deal's summary


def test_report_draws_a_given_tornado(
    loan: SimulationResult,  # noqa: F811
    structure: SimulationResult,  # noqa: F811
) -> None:
    from gpucredit.reports.charts import Tornado

    rows = [("rent level ±20%", 5.0, -4.0)]
    tornado = Tornado(loan.deal.name, loan.metrics.name, 0.1, 500.0, rows, rows, 32)
    text = render_report([loan, structure], tornados={loan.deal.name: tornado})
    assert 'id="chart-d0-tornado"' in text
    assert text.count("Sensitivity tornado: not computed") == 1
    assert tornado_chart(rows).axes


def test_report_file_is_written_with_the_run_and_listed(
    tmp_path: Path,
    loan: SimulationResult,  # noqa: F811
) -> None:
    out = tmp_path / "out"
    text = render_report([loan])
    written = write_report_html(out, text, [loan], {"deals": []})
    assert (written / REPORT_NAME).read_text(encoding="utf-8") == text
    manifest = json.loads((written / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert REPORT_NAME in manifest["files"] and "summary.json" in manifest["files"]
    for bad in ("../report.html", ".hidden", "a/b", MANIFEST_NAME, ""):
        with pytest.raises(ValueError, match="plain file name"):
            check_file_name(bad)


def test_charts_drawn_on_their_own_thread_make_the_same_report(
    loan: SimulationResult,  # noqa: F811
    structure: SimulationResult,  # noqa: F811
) -> None:
    from gpucredit.cli.main_job import start_section_charts

    drawn = start_section_charts([loan, structure], [])  # the main job's thread
    text = render_report([loan, structure], charts=drawn.result())
    assert sorted(drawn.result()) == ["d0", "d1"]
    assert text == render_report([loan, structure])  # the same bytes as drawn in place
