"""The charts (``reports.charts``), ``result.plot`` and ``_repr_html_`` on small real runs: each
chart has the artists it promises, units in its labels, and draws without a warning (warnings
are errors in this suite)."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import matplotlib as mpl
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from gpucredit.config.loading import load_deal
from gpucredit.config.miner import load_miner
from gpucredit.credit.attribution import attribute
from gpucredit.pipeline import SimulationResult, simulate
from gpucredit.pipeline.book import BookResult
from gpucredit.pipeline.miner import simulate_miner
from gpucredit.pipeline.results import MinerResult
from gpucredit.reports.charts import (
    DEAL_KINDS,
    MINER_KINDS,
    TORNADO_SHOCKS,
    collateral_chart,
    dscr_fan_chart,
    figure_svg,
    loss_chart,
    pd_term_chart,
    shapley_chart,
    shocked_deal,
    spread_gap_chart,
    tornado_chart,
    tornado_inputs,
)
from tests.unit.test_book_report import result as book_result  # noqa: F401 (a fixture)

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "gpucredit" / "examples"
#: Few paths: the charts' shapes and artists are under test, not the numbers.
PATHS = 64


@pytest.fixture(scope="module")
def loan() -> SimulationResult:
    deal = load_deal(EXAMPLES / "merchant_h100.yaml")
    return simulate(deal, PATHS, 1, 32, keep_paths=PATHS, calibration="sourced")


@pytest.fixture(scope="module")
def structure() -> SimulationResult:
    deal = load_deal(EXAMPLES / "ddtl2_tiered_structure.yaml")
    return simulate(deal, PATHS, 1, 32, keep_paths=PATHS, calibration="sourced")


@pytest.fixture(scope="module")
def miner() -> MinerResult:
    spec = load_miner(EXAMPLES / "iren_style_miner.yaml")
    # no spread solve (3 s): the miner's spread-gap row then shows "no fair spread"
    result = simulate_miner(
        spec,
        PATHS,
        1,
        32,
        premium=False,
        attribution=False,
        calibration="sourced",
        solve_fair_spread=False,
    )
    # a real Shapley attribution of a known game (v = sum of the active groups' weights,
    # so each group's value is its weight) in place of 16 more runs of the miner
    weights = {"bitcoin": 3e6, "network": 1e6, "gpu_rent": 2e6, "rates": 0.5e6}
    attr = attribute(
        tuple(weights),
        lambda active: {
            "expected_loss_usd": sum(weights[g] for g in active),
            "pd": sum(weights[g] for g in active) / 1e8,
        },
    )
    return dataclasses.replace(result, attribution=attr)


def _one_axes(figure: Figure) -> mpl.axes.Axes:
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 1
    return figure.axes[0]


def test_dscr_fan_draws_p5_p50_p95_and_the_one_times_line(loan: SimulationResult) -> None:
    ax = _one_axes(dscr_fan_chart(loan))
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:3] == ["p50", "p5", "p95"]
    assert any(label.startswith("1.0x") for label in labels)
    assert any(isinstance(c, PolyCollection) for c in ax.collections)  # the p5-p95 band
    assert "DSCR" in ax.get_ylabel() and "month" in ax.get_xlabel()
    assert len(ax.get_lines()[0].get_xdata()) == loan.metrics.tenor_months


def test_dscr_fan_of_a_structure_is_the_deal_dscr(structure: SimulationResult) -> None:
    ax = _one_axes(dscr_fan_chart(structure))
    assert len(ax.get_lines()[0].get_xdata()) == len(structure.dscr_fan())


def test_pd_term_structure_one_line_and_band_per_facility(structure: SimulationResult) -> None:
    ax = _one_axes(pd_term_chart(structure))
    names = [m.name for m in structure.all_facilities]
    assert [line.get_label() for line in ax.get_lines()] == names
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == len(names)
    assert "%" in ax.get_ylabel() and "year" in ax.get_xlabel()
    first = structure.all_facilities[0]
    ys = ax.get_lines()[0].get_ydata()
    assert list(ys) == pytest.approx([100 * p for p in first.pd_by_year], abs=1e-12)  # exact copy


def test_loss_histogram_of_a_deal_has_el_and_var_lines(loan: SimulationResult) -> None:
    assert loan.paths["loss"].dims == ("path",)
    ax = _one_axes(loss_chart(loan))
    assert sum(isinstance(p, Rectangle) for p in ax.patches) > 0  # histogram bars
    labels = [line.get_label() for line in ax.get_lines()]
    assert any(label.startswith("EL") for label in labels)
    assert any(label.startswith("VaR 99%") for label in labels)
    assert "USD m" in ax.get_xlabel()


def test_loss_of_a_structure_sums_its_facilities(structure: SimulationResult) -> None:
    loss = structure.paths["loss"]
    assert loss.dims == ("path", "facility")
    assert loss.sizes["facility"] == len(structure.all_facilities)
    _one_axes(loss_chart(structure))


def test_loss_histogram_of_a_book_has_its_tail_levels(book_result: BookResult) -> None:  # noqa: F811
    ax = _one_axes(loss_chart(book_result))
    labels = [line.get_label() for line in ax.get_lines()]
    assert len(labels) == 1 + len(book_result.summary.tails)
    assert book_result.plot().axes  # plot() of a book: its loss chart


def test_collateral_bars_book_appraised_realisable(loan: SimulationResult) -> None:
    ax = _one_axes(collateral_chart(loan))
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 3
    c = loan.collateral
    heights = [b.get_height() for b in bars]
    assert heights == pytest.approx(
        [100 * c.ltv_book, 100 * c.ltv_appraised, 100 * c.ltv_realisable]
    )
    assert len({b.get_hatch() for b in bars}) == 3  # told apart in black and white
    assert "LTV" in ax.get_ylabel() and "%" in ax.get_ylabel()


def test_spread_gap_marks_an_unknown_market_spread(
    loan: SimulationResult, structure: SimulationResult
) -> None:
    ax = _one_axes(spread_gap_chart([loan, structure]))
    rows = len(loan.all_facilities) + len(structure.all_facilities)
    assert len(ax.get_yticks()) == rows
    assert sum(isinstance(c, ErrorbarContainer) for c in ax.containers) >= 1
    texts = [t.get_text() for t in ax.texts]
    assert "market: unknown" not in texts
    hidden = dataclasses.replace(loan.metrics, market_spread_bps=math.nan, spread_gap_bps=None)
    unknown = dataclasses.replace(loan, metrics=hidden)
    texts = [t.get_text() for t in _one_axes(spread_gap_chart(unknown)).texts]
    assert "market: unknown" in texts
    assert "bp" in ax.get_xlabel()


@pytest.mark.slow  # the miner's run: about 8 s under pytest on 2 cores
def test_shapley_bars_one_per_group_for_el_and_pd(miner: MinerResult) -> None:
    figure = shapley_chart(miner)
    assert len(figure.axes) == 2
    assert miner.attribution is not None
    el_ax = figure.axes[0]
    widths = [p.get_width() for p in el_ax.patches if isinstance(p, Rectangle)]
    # the known game: each group's Shapley value is its weight (USD m on the axis)
    assert widths == pytest.approx([3.0, 1.0, 2.0, 0.5])
    assert "USD m" in el_ax.get_xlabel()


def test_tornado_chart_sorts_bars_and_marks_unknowns() -> None:
    pd_rows = [("small", -0.1, 0.2), ("large", -5.0, 4.0), ("unknown", None, 1.0)]
    figure = tornado_chart(pd_rows, [("small", -3.0, 2.0)], title="t")
    assert len(figure.axes) == 2
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "large"  # the largest on top
    assert "n/a" in [t.get_text() for t in ax.texts]
    assert "percentage points" in ax.get_xlabel()


def test_shocked_deal_moves_one_input_each(loan: SimulationResult) -> None:
    deal = loan.deal
    rent = shocked_deal(deal, "rent", 0.2, (0.8, 0.6))
    assert rent.merchant.price_factor == pytest.approx(1.2 * deal.merchant.price_factor)
    util = shocked_deal(deal, "utilisation", -0.1, (0.8, 0.6))
    assert util.merchant.utilisation_tight == pytest.approx(
        (deal.merchant.utilisation_tight or 0.8) - 0.1
    )
    opex = shocked_deal(deal, "opex", -0.2, (0.8, 0.6))
    assert opex.opex.power_price_usd_per_mwh == pytest.approx(
        0.8 * deal.opex.power_price_usd_per_mwh
    )
    rate = shocked_deal(deal, "rate", 100.0, (0.8, 0.6))
    assert deal.loan is not None and rate.loan is not None
    assert rate.loan.rate.model_dump() != deal.loan.rate.model_dump()
    with pytest.raises(ValueError, match="unknown shock"):
        shocked_deal(deal, "hashprice", 0.1, (0.8, 0.6))


def test_tornado_inputs_rerun_the_engine_for_every_shock(loan: SimulationResult) -> None:
    tornado = tornado_inputs(loan.deal, n_paths=32, calibration="sourced")
    assert [r[0] for r in tornado.pd_rows] == list(TORNADO_SHOCKS)
    assert [r[0] for r in tornado.spread_rows] == list(TORNADO_SHOCKS)
    rent = tornado.pd_rows[0]
    assert rent[1] is not None and rent[2] is not None
    assert rent[1] >= rent[2]  # same paths: more rent never raises the PD
    assert len(tornado_chart(tornado.pd_rows, tornado.spread_rows).axes) == 2


@pytest.mark.parametrize("kind", DEAL_KINDS)
def test_plot_each_kind_of_a_deal(loan: SimulationResult, kind: str) -> None:
    figure = loan.plot(kind)
    assert isinstance(figure, Figure) and figure.axes


@pytest.mark.slow  # the miner's run: about 8 s under pytest on 2 cores
@pytest.mark.parametrize("kind", MINER_KINDS)
def test_plot_each_kind_of_a_miner(miner: MinerResult, kind: str) -> None:
    assert miner.plot(kind).axes


@pytest.mark.slow  # the miner's run: about 8 s under pytest on 2 cores
def test_spread_gap_says_when_no_fair_spread_was_solved(miner: MinerResult) -> None:
    texts = [t.get_text() for t in _one_axes(spread_gap_chart(miner)).texts]
    assert texts.count("no fair spread") == len(miner.facilities)


def test_plot_default_grid_and_bad_kind(loan: SimulationResult) -> None:
    figure = loan.plot()
    assert sum(ax.axison for ax in figure.axes) == len(DEAL_KINDS)
    fig2 = Figure()
    ax = fig2.add_subplot()
    assert loan.plot("collateral", ax=ax) is fig2
    with pytest.raises(ValueError, match="shapley"):
        loan.plot("shapley")
    with pytest.raises(ValueError, match="kind"):
        loan.plot(ax=ax)


@pytest.mark.slow  # the miner's run: about 8 s under pytest on 2 cores
def test_repr_html_has_the_headline_figures_with_their_se(
    loan: SimulationResult,
    miner: MinerResult,
    book_result: BookResult,  # noqa: F811
) -> None:
    for result in (loan, miner, book_result):
        text = result._repr_html_()
        assert text.startswith("<p>") and "<table>" in text and "±" in text
        assert "http" not in text and "<script" not in text
    text = loan._repr_html_()
    for head in ("PD ±SE", "LGD ±SE", "Fair Q bp ±SE", "Market bp", "Gap bp", "Implied rating"):
        assert head in text


def test_figure_svg_is_inline_and_ids_are_keyed(loan: SimulationResult) -> None:
    svg = figure_svg(dscr_fan_chart(loan), key="k7")
    assert svg.startswith("<svg") and "<?xml" not in svg and "<metadata" not in svg
    assert 'id="k7-' in svg and 'id="figure_1"' not in svg
    assert "url(#k7-" in svg  # clip paths refer to the keyed ids
    assert "https://" not in svg


def test_figure_svg_writes_words_as_escaped_text(loan: SimulationResult) -> None:
    """The words are ``<text>`` (searchable, no glyph outlines), escaped for the page: a name
    with markup, an id or a reference in it, and a control character, reads as written."""
    name = 'a<b>&c id="x" url(#y)\x1b'
    deal = loan.deal.model_copy(update={"name": name})  # a label only: no re-validation needed
    svg = figure_svg(collateral_chart(dataclasses.replace(loan, deal=deal)), key="k3")
    words = re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)
    assert 'collateral illusion: a&lt;b&gt;&amp;c id="x" url(#y)\\x1b' in words
    assert "LTV at close (%)" in words and "100%: debt = value" in words
    assert "\x1b" not in svg and "<b>" not in svg
    assert "DejaVuSans" not in svg  # no glyph drawn as a path: the font is named, not embedded
    assert 'id="k3-' in svg and "url(#k3-" in svg  # the chart's own ids are still keyed


def test_a_tick_label_of_two_lines_is_drawn_on_two_lines(loan: SimulationResult) -> None:
    labels = [t.get_text() for t in collateral_chart(loan).axes[0].get_xticklabels()]
    assert labels[1] == "appraised\n(income approach)"  # a line break, not a written "\x0a"
