"""The self-contained HTML report and the notebooks' ``_repr_html_`` summaries.

``render_report`` returns ONE HTML document that loads nothing: charts are inline SVG drawn by
``reports.charts``, the CSS is inline, there is no script and no URL is fetched (a source URL is
shown as text, never linked to a resource). It reads on a phone (tables scroll sideways, charts
scale to the screen) and in print (``@media print``: no scrolling, no chart cut across pages).
Writing it to disk goes through ``gpucredit.io`` (``write_run(extra_files=...)`` or
``write_report_html``), all or nothing like every output. docs/report.md describes the report.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from gpucredit.credit.metrics import FacilityMetrics
from gpucredit.pipeline import SimulationResult
from gpucredit.pipeline.book import BookResult
from gpucredit.pipeline.results import MinerResult
from gpucredit.reports.charts import (
    Tornado,
    collateral_chart,
    dscr_fan_chart,
    figure_svg,
    loss_chart,
    pd_term_chart,
    shapley_chart,
    spread_gap_chart,
    tornado_chart,
)

__all__ = ["REPORT_CSS", "render_report", "section_charts", "summary_html"]

#: The report's style sheet (inline): readable on a phone and in print, in black and white.
REPORT_CSS = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  margin: 0 auto; padding: 0.8rem; max-width: 72rem; color: #111; background: #fff; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.25rem; border-bottom: 1px solid #999; }
h3 { font-size: 1.05rem; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: 0.5rem 0 1rem; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border: 1px solid #bbb; padding: 0.25rem 0.45rem; text-align: right;
  white-space: nowrap; vertical-align: top; }
th { background: #eee; } td.text, th.text { text-align: left; white-space: normal; }
figure { margin: 0.5rem 0 1.2rem; } figcaption { font-size: 0.8rem; color: #333; }
figure svg { max-width: 100%; height: auto; display: block; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(22rem, 100%), 1fr));
  gap: 0.8rem; }
.charts figure.wide { grid-column: 1 / -1; }
.unknown { font-style: italic; color: #555; }
.note { font-size: 0.85rem; color: #333; }
dl.prov { display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 0.8rem; }
dl.prov dt { font-weight: 600; } dl.prov dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 40rem) { body { font-size: 14px; padding: 0.4rem; }
  .charts { grid-template-columns: 1fr; } .charts figure.wide { grid-column: auto; } }
@media print { body { max-width: none; font-size: 10pt; }
  .scroll { overflow: visible; } th, td { white-space: normal; }
  figure, table { break-inside: avoid; page-break-inside: avoid; }
  h2 { break-after: avoid; page-break-after: avoid; } }
"""

_UNKNOWN = '<span class="unknown">unknown</span>'
_NA = "n/a"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _ok(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _pct(value: float | None, se: float | None = None, digits: int = 1) -> str:
    if not _ok(value):
        return _NA
    assert value is not None
    text = f"{100 * value:.{digits}f}%"
    return text if not _ok(se) else f"{text} ±{100 * se:.{digits}f}"  # type: ignore[operator]


def _bps(value: float | None, se: float | None = None) -> str:
    if not _ok(value):
        return _NA
    assert value is not None
    return f"{value:,.0f}" if not _ok(se) else f"{value:,.0f} ±{se:,.0f}"


def _usd_m(value: float | None, se: float | None = None) -> str:
    if not _ok(value):
        return _NA
    assert value is not None
    text = f"{value / 1e6:,.2f}"
    return text if not _ok(se) else f"{text} ±{se / 1e6:,.2f}"  # type: ignore[operator]


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], text_cols: int = 1) -> str:
    """A table in a sideways-scrolling box; cells are HTML already (escape before)."""

    def cell(tag: str, k: int, content: str) -> str:
        cls = ' class="text"' if k < text_cols else ""
        return f"<{tag}{cls}>{content}</{tag}>"

    header = "".join(cell("th", k, _e(h)) for k, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(cell("td", k, c) for k, c in enumerate(row)) + "</tr>" for row in rows
    )
    return (
        f'<div class="scroll"><table><thead><tr>{header}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


# -- facility facts from the spec (fields the deals slice adds are optional here) ---------------


def _market_cells(m: FacilityMetrics) -> list[str]:
    """Market spread and gap, or "unknown" where the pricing is not public."""
    if not _ok(m.reported_market_spread_bps):
        return [_UNKNOWN, _UNKNOWN]
    return [_bps(m.reported_market_spread_bps), _bps(m.reported_spread_gap_bps)]


def _deal_name(result: SimulationResult | MinerResult) -> str:
    return result.deal.name if isinstance(result, SimulationResult) else result.spec.name


# -- notebooks --------------------------------------------------------------------------------

_SUMMARY_HEAD = (
    "Facility",
    "PD ±SE",
    "LGD ±SE",
    "EL USD m ±SE",
    "Fair P bp ±SE",
    "Fair Q bp ±SE",
    "Market bp",
    "Gap bp",
    "Implied rating",
)


def _summary_row(result: SimulationResult | MinerResult, m: FacilityMetrics) -> list[str]:
    return [
        _e(m.name),
        _pct(m.pd, m.pd_se),
        _pct(m.lgd, m.lgd_se),
        _usd_m(m.expected_loss_usd, m.el_se_usd),
        _bps(m.actuarial_spread_bps, m.actuarial_spread_se_bps),
        _bps(m.fair_spread_bps, m.fair_spread_se_bps),
        *_market_cells(m),
        _e(m.implied_rating_range),
    ]


def summary_html(result: SimulationResult | MinerResult | BookResult) -> str:
    """A compact HTML table of a result's headline figures with their standard errors.

    A deal or miner: per facility PD, LGD, EL (USD m), fair spread under P and Q (bp), market
    spread (or unknown), gap and implied rating; a book: EL and each tail level's VaR and ES
    (USD m). No external resource; ``_repr_html_`` of every result.
    """
    if isinstance(result, BookResult):
        s = result.summary
        rows = [["EL", _usd_m(s.el_usd, s.el_se_usd)]]
        for t in s.tails:
            rows.append([f"VaR {100 * t.level:g}%", _usd_m(t.var_usd, t.var_se_usd)])
            rows.append([f"ES {100 * t.level:g}%", _usd_m(t.es_usd, t.es_se_usd)])
        caption = f"book {_e(result.name)}: {result.n_paths:,} paths, USD m (P measure)"
        return f"<p><b>{caption}</b></p>" + _table(("Figure", "USD m ±SE"), rows)
    name = _deal_name(result)
    n = result.all_facilities[0].n_paths if result.all_facilities else 0
    rows2 = [_summary_row(result, m) for m in result.all_facilities]
    return f"<p><b>{_e(name)}</b>: {n:,} paths</p>" + _table(_SUMMARY_HEAD, rows2)


# -- the report -------------------------------------------------------------------------------


def _svg(figure: Figure, key: str, caption: str, *, wide: bool = False) -> str:
    cls = ' class="wide"' if wide else ""
    return (
        f'<figure id="chart-{_e(key)}"{cls}>{figure_svg(figure, key=key)}'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _stressed_metrics(
    stressed: Mapping[str, Sequence[SimulationResult | MinerResult]], deal: str, facility: str
) -> dict[str, FacilityMetrics | None]:
    out: dict[str, FacilityMetrics | None] = {}
    for scenario, results in stressed.items():
        found = [m for r in results if _deal_name(r) == deal for m in r.all_facilities]
        out[scenario] = next((m for m in found if m.name == facility), None)
    return out


def _spread_table(
    rows: Sequence[SimulationResult | MinerResult],
    stressed: Mapping[str, Sequence[SimulationResult | MinerResult]],
) -> str:
    head = [
        "Deal",
        "Instrument",
        "Market bp",
        "Fair P bp ±SE",
        "Fair Q bp ±SE",
        "Gap bp (market - Q)",
        "PD ±SE",
        "LGD ±SE",
        "Implied rating",
        "Public rating",
    ]
    for scenario in stressed:
        head += [f"{scenario}: PD", f"{scenario}: Q bp"]
    body: list[list[str]] = []
    for r in rows:
        for m in r.all_facilities:
            public = m.public_rating_label
            line = [
                _e(_deal_name(r)),
                _e(m.name),
                _market_cells(m)[0],
                _bps(m.actuarial_spread_bps, m.actuarial_spread_se_bps),
                _bps(m.fair_spread_bps, m.fair_spread_se_bps),
                _market_cells(m)[1],
                _pct(m.pd, m.pd_se),
                _pct(m.lgd, m.lgd_se),
                _e(m.implied_rating_range),
                _e(public) if public else '<span class="unknown">none public</span>',
            ]
            for sm in _stressed_metrics(stressed, _deal_name(r), m.name).values():
                line += (
                    [_NA, _NA]
                    if sm is None
                    else [_pct(sm.pd, sm.pd_se), _bps(sm.fair_spread_bps, sm.fair_spread_se_bps)]
                )
            body.append(line)
    return _table(head, body, text_cols=2)


def _breakeven_table(result: SimulationResult) -> str:
    head = (
        "Facility",
        "Breakeven rent USD/GPU-h",
        "Generation",
        "min DSCR p50",
        "Covenant breach",
        "Glut stress min DSCR",
        "Glut stress default month",
    )
    rows = []
    for m in result.all_facilities:
        be = m.breakeven_rent_usd_per_gpu_hour
        month = result.stress.default_month
        rows.append(
            [
                _e(m.name),
                _NA if not _ok(be) else f"{be:.2f}",
                _e(m.breakeven_generation),
                f"{m.min_dscr_p50:.2f}x" if _ok(m.min_dscr_p50) else _NA,
                _pct(m.breach_probability),
                f"{result.stress.min_dscr:.2f}x" if _ok(result.stress.min_dscr) else _NA,
                "none" if not month else _e(month),
            ]
        )
    return _table(head, rows)


def section_charts(
    results: Sequence[SimulationResult], miners: Sequence[MinerResult] = ()
) -> dict[str, list[str]]:
    """The charts of the deals' and miners' sections that their base results alone decide
    (every chart but the tornado), drawn: section key (``d0``, ``d1``, ... ``m0``, ...) ->
    its figures' HTML, in order. ``render_report(charts=...)`` takes them as drawn, so they
    can be drawn while other runs go on."""
    drawn = {f"d{k}": _deal_charts(r, f"d{k}") for k, r in enumerate(results)}
    drawn.update({f"m{k}": _miner_charts(m, f"m{k}") for k, m in enumerate(miners)})
    return drawn


def _deal_charts(result: SimulationResult, key: str) -> list[str]:
    return [
        _svg(dscr_fan_chart(result), f"{key}-fan", "DSCR p5/p50/p95 by month (paths alive)."),
        _svg(
            pd_term_chart(result),
            f"{key}-pd",
            "Cumulative PD by year, band ±2 binomial standard errors.",
        ),
        _svg(
            collateral_chart(result),
            f"{key}-ltv",
            "LTV at close on book, appraised (income approach) and realisable (fire sale) value.",
        ),
        _svg(
            loss_chart(result),
            f"{key}-loss",
            "Losses of the kept paths; EL over all paths; VaR 99% of the kept paths.",
        ),
    ]


def _deal_section(
    result: SimulationResult, k: int, tornado: Tornado | None, drawn: list[str] | None
) -> str:
    name = result.deal.name
    key = f"d{k}"
    charts = list(drawn) if drawn is not None else _deal_charts(result, key)
    if tornado is not None:
        charts.append(
            _svg(
                tornado_chart(
                    tornado.pd_rows,
                    tornado.spread_rows,
                    title=f"sensitivity: {tornado.facility} ({tornado.n_paths:,} paths a run)",
                ),
                f"{key}-tornado",
                "Change of PD and fair spread with each input moved down (hatched) and up.",
                wide=True,
            )
        )
        note = ""
    else:
        note = '<p class="note">Sensitivity tornado: not computed for this run.</p>'
    return (
        f'<section id="deal-{k}"><h2>{_e(name)}</h2>'
        + summary_html(result)
        + f'<div class="charts">{"".join(charts)}</div>{note}'
        + "<h3>Breakevens and the glut stress</h3>"
        + _breakeven_table(result)
        + "</section>"
    )


def _miner_section(result: MinerResult, k: int, drawn: list[str] | None) -> str:
    charts = drawn if drawn is not None else _miner_charts(result, f"m{k}")
    return (
        f'<section id="miner-{k}"><h2>{_e(result.spec.name)} (miner)</h2>'
        + summary_html(result)
        + f'<div class="charts">{"".join(charts)}</div></section>'
    )


def _miner_charts(result: MinerResult, key: str) -> list[str]:
    return [
        _svg(pd_term_chart(result), f"{key}-pd", "Cumulative PD by year, band ±2 SE."),
        _svg(
            shapley_chart(result),
            f"{key}-shapley",
            "Shapley attribution of the miner's EL and PD to the factor groups.",
        ),
    ]


def _book_section(book: BookResult, k: int) -> str:
    chart = _svg(
        loss_chart(book),
        f"b{k}-loss",
        "Book loss per path (contagion and fire sales on), EL and VaR lines.",
    )
    return (
        f'<section id="book-{k}"><h2>Book {_e(book.name)}</h2>'
        + summary_html(book)
        + chart
        + "</section>"
    )


def _mapping_rows(mapping: Mapping[str, Any]) -> list[list[str]]:
    return [[_e(key), _e(value)] for key, value in mapping.items()]


def _assumption_section(
    results: Sequence[SimulationResult],
    miners: Sequence[MinerResult],
    assumptions: Mapping[str, Mapping[str, str]] | None,
) -> str:
    parts = ["<section id='assumptions'><h2>Assumptions and data sources</h2>"]
    specs: list[tuple[str, Any]] = [(r.deal.name, r.deal) for r in results]
    specs += [(m.spec.name, m.spec) for m in miners]
    for name, spec in specs:
        given = (assumptions or {}).get(name)
        assumed = dict(given) if given is not None else dict(getattr(spec, "assumptions", {}) or {})
        sources = dict(getattr(spec, "sources", {}) or {})
        parts.append(f"<h3>{_e(name)}</h3>")
        if assumed:
            parts.append("<p>Assumptions (filled without a public figure):</p>")
            parts.append(_table(("Field", "Reasoning"), _mapping_rows(assumed), text_cols=2))
        else:
            parts.append('<p class="note">No assumption listed for this deal.</p>')
        if sources:
            parts.append("<p>Public figures and where they are published:</p>")
            parts.append(_table(("Field", "Source"), _mapping_rows(sources), text_cols=2))
    factor_sources: dict[str, Any] = {}
    for r in results:
        factor_sources.update(r.provenance.get("factor_sources", {}) or {})
    if factor_sources:
        parts.append("<h3>Factor parameters and their sources</h3>")
        parts.append(_table(("Parameter", "Source"), _mapping_rows(factor_sources), text_cols=2))
    parts.append("</section>")
    return "".join(parts)


#: Provenance entries shown first, in this order (``run_info`` or the first result's).
_PROVENANCE_KEYS = (
    "seed",
    "n_paths",
    "calibration_id",
    "data_hash",
    "version",
    "as_of",
    "backend",
    "created_utc",
)


def _provenance_section(
    results: Sequence[SimulationResult],
    miners: Sequence[MinerResult],
    books: Sequence[BookResult],
    run_info: Mapping[str, Any] | None,
) -> str:
    first: Mapping[str, Any] = {}
    for prov in [r.provenance for r in results] + [m.provenance for m in miners]:
        first = prov
        break
    if not first and books:
        first = books[0].provenance
    info: dict[str, Any] = {k: first[k] for k in _PROVENANCE_KEYS if k in first}
    info.update(run_info or {})
    items = "".join(
        f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in info.items() if not isinstance(v, Mapping)
    )
    hashes = [[_e(r.deal.name), _e(r.provenance.get("spec_hash", _NA))] for r in results]
    hashes += [[_e(m.spec.name), _e(m.provenance.get("spec_hash", _NA))] for m in miners]
    return (
        "<section id='provenance'><h2>Provenance</h2>"
        f'<dl class="prov">{items}</dl>'
        + (_table(("Deal", "Spec hash"), hashes, text_cols=2) if hashes else "")
        + "</section>"
    )


def render_report(
    results: Sequence[SimulationResult],
    miners: Sequence[MinerResult] = (),
    books: Sequence[BookResult] = (),
    stressed: Mapping[str, Sequence[SimulationResult | MinerResult]] | None = None,
    assumptions: Mapping[str, Mapping[str, str]] | None = None,
    run_info: Mapping[str, Any] | None = None,
    tornados: Mapping[str, Tornado] | None = None,
    *,
    title: str = "gpucredit: real credit spreads",
    charts: Mapping[str, list[str]] | None = None,
) -> str:
    """The run's report: one self-contained, offline HTML document.

    Parameters
    ----------
    results : sequence of SimulationResult
        The deals (base case).
    miners : sequence of MinerResult
    books : sequence of BookResult
    stressed : mapping of str to sequence of SimulationResult or MinerResult, optional
        Scenario name -> the deals' and miners' results under it; each adds PD and Q spread
        columns to the spread table (facilities matched by deal and facility name; "n/a"
        where missing).
    assumptions : mapping of str to mapping of str to str, optional
        Deal name -> {field: reasoning}; default each spec's own ``assumptions`` (if any).
    run_info : mapping, optional
        The run's provenance (seed, paths, calibration id, data hash, version); default the
        first result's.
    tornados : mapping of str to Tornado, optional
        Deal name -> its sensitivities (``charts.tornado_inputs``); a deal without one says so.
    title : str
    charts : mapping of str to list of str, optional
        The sections' charts as ``section_charts`` drew them from these results; default:
        drawn here.

    Returns
    -------
    str
        The HTML document (UTF-8 text): inline SVG and CSS, no script, nothing fetched.
    """
    stressed = stressed or {}
    priced: list[SimulationResult | MinerResult] = [*results, *miners]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{REPORT_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1>",
        '<p class="note">Spreads in bp over the risk-free rate. P: actuarial fair spread '
        "(real-world measure); Q: fair spread under the pricing measure (the market's prices "
        "of risk). Gap = market - Q. ± is one Monte Carlo standard error. Market spreads that "
        'are not public are shown as "unknown". Implied ratings: S&amp;P-style by PD; '
        '"A/BBB" when the 95% interval straddles a boundary.</p></header>',
        "<section id='spreads'><h2>Real credit spreads</h2>",
        _spread_table(priced, stressed),
    ]
    if priced:
        parts.append(
            _svg(
                spread_gap_chart(priced),
                "spread-gap",
                "Fair Q spread ±2 SE against the market spread; hollow: market unknown.",
            )
        )
    parts.append("</section>")
    drawn = charts or {}
    parts += [
        _deal_section(r, k, (tornados or {}).get(r.deal.name), drawn.get(f"d{k}"))
        for k, r in enumerate(results)
    ]
    parts += [_miner_section(m, k, drawn.get(f"m{k}")) for k, m in enumerate(miners)]
    parts += [_book_section(b, k) for k, b in enumerate(books)]
    parts.append(_assumption_section(results, miners, assumptions))
    parts.append(_provenance_section(results, miners, books, run_info))
    parts.append("</body></html>\n")
    return "\n".join(parts)
