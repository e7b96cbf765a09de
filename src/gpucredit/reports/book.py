"""A book's tables and JSON record (issue 14), built from a ``BookResult`` (no credit
computation here).

Money is in USD (millions in the tables); every figure the result has a Monte Carlo error for
is shown with it. The JSON never holds NaN or infinity: an undefined figure is ``null``.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from rich.table import Table

from gpucredit.book.losses import LossSummary, TailFigure
from gpucredit.pipeline.book import FIRE_SALE_MAX_ROUNDS, BookResult
from gpucredit.reports.tables import _add_row, _bps, _pct, _usd_m

__all__ = [
    "CHAINS_SHOWN",
    "book_abs_table",
    "book_chains_table",
    "book_concentration_table",
    "book_fire_sale_line",
    "book_headline_table",
    "book_losses_frame",
    "book_positions_table",
    "book_record",
]

#: Transmission chains shown in the table (the JSON and ``--out`` hold them all).
CHAINS_SHOWN = 15
#: Group shares shown per grouping in the concentration table.
_SHARES_SHOWN = 4
#: The book's tail levels (``pipeline.book.BOOK_LEVELS``) as the record's key suffixes.
_LEVELS = ((0.99, "99"), (0.999, "999"))


def _finite(value: float | None) -> float | None:
    """``value`` as a float, unrounded (the JSON's EL equals the Python API's to the bit);
    None when undefined."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _var_record(tail: TailFigure) -> dict[str, float | None]:
    return {
        "value_usd": _finite(tail.var_usd),
        "se_usd": _finite(tail.var_se_usd),
        "low_usd": _finite(tail.var_low_usd),
        "high_usd": _finite(tail.var_high_usd),
    }


def _es_record(tail: TailFigure) -> dict[str, float | None]:
    return {"value_usd": _finite(tail.es_usd), "se_usd": _finite(tail.es_se_usd)}


def _summary_record(summary: LossSummary) -> dict[str, Any]:
    """EL with its error, and VaR (with its 95% interval) and ES at 99% and 99.9% (USD)."""
    record: dict[str, Any] = {
        "el_usd": _finite(summary.el_usd),
        "el_se_usd": _finite(summary.el_se_usd),
    }
    for level, key in _LEVELS:
        tail = summary.tail(level)
        record[f"var_{key}"] = _var_record(tail)
        record[f"es_{key}"] = _es_record(tail)
    return record


def book_record(result: BookResult) -> dict[str, Any]:
    """The JSON object of one book: ``{"book": {...}}`` (``gpucredit run --json`` lists one per
    book under ``books``; ``--out`` writes it as ``book_<slug>_summary.json``).

    Parameters
    ----------
    result : BookResult
        A simulated book.

    Returns
    -------
    dict
        Amounts in USD, probabilities and shares as decimals, spreads in bp, WAL in years;
        None where a figure is undefined.
    """
    tail = result.summary.tail(0.999)
    es = tail.es_usd
    premium = result.premium
    record: dict[str, Any] = {
        "name": result.name,
        "n_paths": result.n_paths,
        "seed": result.seed,
        "n_months": result.n_months,
        "exposure_usd": _finite(result.exposure_usd),
        **_summary_record(result.summary),
        "one_year": _summary_record(result.summary_1y),
        "one_year_without_contagion": None
        if result.summary_1y_alone is None
        else _summary_record(result.summary_1y_alone),
        "without_contagion": _summary_record(result.summary_alone),
        "contagion_premium": {
            "el_usd": _finite(premium.el_usd),
            "el_se_usd": _finite(premium.el_se_usd),
            "var_999_usd": _finite(premium.var_usd),
            "var_999_se_usd": _finite(premium.var_se_usd),
        },
        "contributions": [
            {
                "name": p.name,
                "borrower": p.borrower,
                "held_usd": _finite(p.held_usd),
                "pd": _finite(p.pd),
                "pd_se": _finite(p.pd_se),
                "el_usd": _finite(p.el_usd),
                "el_alone_usd": _finite(p.el_alone_usd),
                "es_999_contribution_usd": _finite(p.es_999_contribution_usd),
                "es_999_share": _finite(p.es_999_contribution_usd / es) if es > 0.0 else None,
            }
            for p in result.positions
        ],
        "chains": [
            {"first": c.first, "later": c.later, "paths": c.paths, "share": _finite(c.share)}
            for c in result.chains
        ],
        "concentration": {
            group: {
                "hhi": _finite(c.hhi),
                "shares": {name: _finite(share) for name, share in c.shares.items()},
            }
            for group, c in result.concentration.items()
        },
        "tranches": [
            {
                "name": t.name,
                "attachment": _finite(t.attachment),
                "detachment": _finite(t.detachment),
                "pd": _finite(t.pd),
                "el": _finite(t.el),
                "wal_years": _finite(t.wal_years),
                "fair_spread_bps": _bps_value(t.fair_spread),
                "fair_spread_se_bps": _bps_value(t.fair_spread_se),
                "fair_spread_q_bps": _bps_value(t.fair_spread_q),
                "fair_spread_q_se_bps": _bps_value(t.fair_spread_q_se),
                "implied_rating": t.implied_rating,
            }
            for t in result.tranches
        ],
        "tranche_paths": result.tranche_paths,
        "fire_sale": {
            "rounds_max": result.fire_sale_rounds_max,
            "rounds_limit": FIRE_SALE_MAX_ROUNDS,
            "unconverged_paths": result.fire_sale_unconverged_paths,
        },
        "transmission": result.transmission,
        "fire_sale_on": result.fire_sale,
        "provenance": {k: _plain_value(v) for k, v in result.provenance.items()},
    }
    return {"book": record}


def _bps_value(decimal: float | None) -> float | None:
    """A decimal a year as basis points; None where undefined."""
    return None if decimal is None else _finite(decimal * 1e4)


def _plain_value(value: object) -> object:
    """A provenance value JSON can hold as it is (numbers, text, flags), else its text."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return _finite(value)
    return str(value)


def book_losses_frame(result: BookResult) -> pd.DataFrame:
    """One row per path: the book's loss to maturity, in the first year, and to maturity
    without contagion (USD, P), the ``--out`` file ``book_<slug>_losses.csv``."""
    return pd.DataFrame(
        {
            "path": range(result.n_paths),
            "loss_usd": result.path_losses_usd,
            "loss_one_year_usd": result.path_losses_1y_usd,
            "loss_without_contagion_usd": result.path_losses_alone_usd,
        }
    )


def _var_text(tail: TailFigure) -> str:
    """VaR with its standard error and 95% interval, USD m ("201.83 ±24.12 [179.70, 274.24]")."""
    low, high = tail.var_low_usd, tail.var_high_usd
    interval = (
        f" [{low / 1e6:,.2f}, {high / 1e6:,.2f}]"
        if math.isfinite(low) and math.isfinite(high)
        else ""
    )
    return _usd_m(tail.var_usd, tail.var_se_usd) + interval


def book_headline_table(result: BookResult) -> Table:
    """The book's loss distribution: EL, VaR (with its 95% interval) and ES at 99% and 99.9%,
    to maturity and in one year, with and without contagion, and the contagion premium."""
    table = Table(
        title=f"book {result.name}: loss distribution, USD m (real-world measure P)",
        title_justify="left",
        caption=(
            "±: Monte Carlo standard error; [ ]: the VaR's 95% interval. Without contagion: "
            "no transmission of a borrower's default and no shared fire sales. Premium: with "
            "minus without on the same paths (the VaR's error is a conservative bound)."
        ),
        caption_justify="left",
    )
    summaries = [result.summary, result.summary_alone, result.summary_1y]
    columns = ["Figure", "To maturity", "Without contagion", "One year"]
    if result.summary_1y_alone is not None:
        summaries.append(result.summary_1y_alone)
        columns.append("One year, without")
    for name in (*columns, "Premium"):
        table.add_column(name, justify="left" if name == "Figure" else "right", overflow="fold")
    exposure = _usd_m(result.exposure_usd)
    _add_row(table, "Exposure held", *([exposure] * len(summaries)), "")
    premium = result.premium
    _add_row(
        table,
        "EL",
        *(_usd_m(s.el_usd, s.el_se_usd) for s in summaries),
        _usd_m(premium.el_usd, premium.el_se_usd),
    )
    for level, _ in _LEVELS:
        label = f"{100 * level:g}%"
        tails = [s.tail(level) for s in summaries]
        added = _usd_m(premium.var_usd, premium.var_se_usd) if level == premium.level else ""
        _add_row(table, f"VaR {label}", *(_var_text(t) for t in tails), added)
        _add_row(table, f"ES {label}", *(_usd_m(t.es_usd, t.es_se_usd) for t in tails), "")
    return table


def book_positions_table(result: BookResult) -> Table:
    """Per position: face held, PD, EL with and without contagion, and the Euler contribution
    to the 99.9% ES with its share."""
    es = result.summary.tail(0.999).es_usd
    table = Table(
        title=f"book {result.name}: positions (USD m)",
        title_justify="left",
        caption="ES 99.9% share: the position's mean loss on the worst 0.1% of paths over "
        "the book's ES (Euler allocation; the shares add up to 100%).",
        caption_justify="left",
    )
    for name in (
        "Position",
        "Borrower",
        "Held",
        "PD",
        "EL",
        "EL without contagion",
        "ES 99.9% contribution",
        "ES 99.9% share",
    ):
        justify = "left" if name in ("Position", "Borrower") else "right"
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for p in result.positions:
        share = p.es_999_contribution_usd / es if es > 0.0 else None
        _add_row(
            table,
            p.name,
            p.borrower,
            _usd_m(p.held_usd),
            _pct(p.pd, se=p.pd_se),
            _usd_m(p.el_usd),
            _usd_m(p.el_alone_usd),
            _usd_m(p.es_999_contribution_usd),
            _pct(share),
        )
    return table


def book_chains_table(result: BookResult) -> Table | None:
    """The most frequent transmission chains (first default -> later default); None when no
    default led to another."""
    if not result.chains:
        return None
    shown = result.chains[:CHAINS_SHOWN]
    table = Table(
        title=f"book {result.name}: transmission chains (top {len(shown)} of {len(result.chains)})",
        title_justify="left",
        caption="Paths on which the first default led to the later one along the company "
        "graph (tenant, guarantor, parent or servicer links); share: of all paths.",
        caption_justify="left",
    )
    for name in ("First default", "Later default", "Paths", "Share"):
        justify = "right" if name in ("Paths", "Share") else "left"
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for c in shown:
        _add_row(table, c.first, c.later, f"{c.paths:,}", _pct(c.share))
    return table


def book_concentration_table(result: BookResult) -> Table:
    """HHI of the held face by borrower, GPU generation and tenant, and the largest shares."""
    table = Table(
        title=f"book {result.name}: concentration of the face held",
        title_justify="left",
        caption="HHI: the sum of squared shares (1 = one group). Tenants: a position's face "
        "split by its deal's contracted units; the rest is (merchant).",
        caption_justify="left",
    )
    table.add_column("By", justify="left")
    table.add_column("HHI", justify="right")
    table.add_column("Largest shares", justify="left", overflow="fold")
    for group, c in result.concentration.items():
        top = list(c.shares.items())[:_SHARES_SHOWN]
        shares = "; ".join(f"{name} {_pct(share)}" for name, share in top)
        _add_row(table, group, f"{c.hhi:.3f}" if math.isfinite(c.hhi) else "n/a", shares)
    return table


def book_abs_table(result: BookResult) -> Table | None:
    """The ABS classes: attachment, detachment, PD, EL, WAL, fair spreads under P and Q with
    their errors, and the implied rating; None when the book has no ABS."""
    if not result.tranches:
        return None
    table = Table(
        title=f"book {result.name}: ABS classes ({result.tranche_paths:,} paths)",
        title_justify="left",
        caption="Attachment and detachment: pool loss fractions. PD: a missed senior "
        "interest payment, or a loss or unpaid interest at legal final. EL: per unit of the "
        "class's balance. P bp / Q bp: fair spread under the real-world and pricing measures "
        "(±: standard error; to 0.1 bp, as a senior class's is often under 1 bp). Rating: "
        "by EL over the WAL.",
        caption_justify="left",
    )
    for name in ("Class", "Attach", "Detach", "PD", "EL", "WAL y", "P bp", "Q bp", "Rating"):
        table.add_column(name, justify="left" if name == "Class" else "right")
    for t in result.tranches:
        _add_row(
            table,
            t.name,
            _pct(t.attachment),
            _pct(t.detachment),
            _pct(t.pd),
            _pct(t.el, 2),
            f"{t.wal_years:.1f}" if math.isfinite(t.wal_years) else "n/a",
            _bps(_bps_value(t.fair_spread), _bps_value(t.fair_spread_se), 1),
            _bps(_bps_value(t.fair_spread_q), _bps_value(t.fair_spread_q_se), 1),
            t.implied_rating,
        )
    return table


def book_fire_sale_line(result: BookResult) -> str:
    """One plain sentence on the fire-sale fixed point: off, converged, or not converged on
    how many paths."""
    if not result.fire_sale:
        return f"book {result.name}: fire sales off (each deal sells into its own market)."
    rounds = result.fire_sale_rounds_max
    unconverged = result.fire_sale_unconverged_paths
    if unconverged == 0:
        return (
            f"book {result.name}: fire sales converged on every path "
            f"(at most {rounds} rounds of {FIRE_SALE_MAX_ROUNDS})."
        )
    return (
        f"book {result.name}: fire sales NOT converged on {unconverged:,} of "
        f"{result.n_paths:,} paths after {FIRE_SALE_MAX_ROUNDS} rounds; their losses use the "
        "last round's sales."
    )
