"""Pictures of results: one pure function per chart, each returning a matplotlib ``Figure``.

Every chart reads figures the engine computed (``SimulationResult``, ``MinerResult``,
``BookResult``); the only numbers made here are the ones a picture needs and says it shows:
the binomial band of a cumulative PD, the quantile of the kept paths' losses (labelled with the
paths it is read from) and, in ``tornado_inputs``, the differences of whole re-runs of
``simulate``. Figures are made with ``matplotlib.figure.Figure`` directly (never pyplot, so no
GUI backend and no global figure registry); lines differ by style and bars by hatch, so a chart
reads in black-and-white print. docs/report.md describes each chart.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.text import Text

from gpucredit._terminal import printable
from gpucredit.config.spec import DealSpec, evolve
from gpucredit.credit.metrics import FacilityMetrics
from gpucredit.engine.runner import run_blocks
from gpucredit.factors.parameter_source import DEFAULT_CALIBRATION
from gpucredit.factors.parameter_source import resolve as resolve_parameters
from gpucredit.pipeline import SimulationResult, simulate
from gpucredit.pipeline.book import BookResult
from gpucredit.pipeline.model import RunOutputs
from gpucredit.pipeline.results import MinerResult

__all__ = [
    "BOOK_KINDS",
    "DEAL_KINDS",
    "MINER_KINDS",
    "TORNADO_SHOCKS",
    "Tornado",
    "collateral_chart",
    "dscr_fan_chart",
    "figure_svg",
    "loss_chart",
    "pd_term_chart",
    "plot_result",
    "shapley_chart",
    "shocked_deal",
    "spread_gap_chart",
    "tornado_chart",
    "tornado_inputs",
]

#: The charts ``result.plot(kind)`` draws for a deal, a miner and a book.
DEAL_KINDS = ("dscr_fan", "pd_term", "loss", "collateral", "spread_gap")
MINER_KINDS = ("pd_term", "spread_gap", "shapley")
BOOK_KINDS = ("loss",)

#: Greys and line styles that stay distinct in black-and-white print.
_INK = "#000000"
_GREY = "#808080"
_LIGHT = "#d0d0d0"
_STYLES = ("-", "--", ":", "-.")
_HATCHES = ("", "//", "xx", "..", "\\\\")
#: Standard errors either side of an estimate in the error bands (about a 95% interval).
_BAND_SE = 2.0
#: Tail level of the VaR line drawn on a deal's loss histogram (the book draws its own levels).
_DEAL_VAR_LEVEL = 0.99
_USD_M = 1e6


def _axes(ax: Axes | None, size: tuple[float, float] = (7.0, 4.0)) -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new figure with one axes of ``size`` inches."""
    if ax is not None:
        return ax.get_figure(root=True), ax  # type: ignore[return-value]
    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.add_subplot()


def _empty(ax: Axes, title: str, why: str) -> None:
    """A chart with nothing to draw: its title and why, in the middle of the axes."""
    ax.set_title(title)
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _note(ax: Axes, text: str, at: tuple[float, float], offset: tuple[float, float]) -> None:
    """A small note beside a data point, ``offset`` points from it (a row with no value)."""
    ax.annotate(text, at, xytext=offset, textcoords="offset points", va="center", fontsize="small")


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


# -- deals ------------------------------------------------------------------------------------


def dscr_fan_chart(result: SimulationResult, *, ax: Axes | None = None) -> Figure:
    """The DSCR fan: p5, p50 and p95 of the monthly DSCR by month, with the 1.0x line.

    Parameters
    ----------
    result : SimulationResult
        A deal's result (a capital structure's fan is the deal DSCR over all service).
    ax : matplotlib Axes, optional
        Draw into it instead of a new figure.

    Returns
    -------
    Figure
        x: months from the as-of date; y: DSCR (ratio), over the paths alive that month.
    """
    figure, axes = _axes(ax)
    fan = result.dscr_fan()
    months = fan.index.to_numpy()
    p5, p50, p95 = (fan[c].to_numpy(dtype=float) for c in ("dscr_p5", "dscr_p50", "dscr_p95"))
    title = f"DSCR fan: {result.deal.name}"
    if not np.isfinite(p50).any():
        _empty(axes, title, "no month with debt service on a live path")
        return figure
    axes.fill_between(months, p5, p95, color=_LIGHT, label="p5 to p95", linewidth=0)
    axes.plot(months, p50, color=_INK, linestyle="-", label="p50")
    axes.plot(months, p5, color=_GREY, linestyle="--", linewidth=0.8, label="p5")
    axes.plot(months, p95, color=_GREY, linestyle=":", linewidth=0.8, label="p95")
    axes.axhline(1.0, color=_INK, linestyle="-.", linewidth=0.8, label="1.0x (cash covers service)")
    high = float(np.nanmax(p95)) if np.isfinite(p95).any() else float(np.nanmax(p50))
    axes.set_ylim(0.0, max(2.0, min(high * 1.05, 10.0)))  # a near-paid loan's DSCR explodes
    axes.set_xlabel("month from as-of date")
    axes.set_ylabel("DSCR (x, CFADS / debt service)")
    axes.set_title(title)
    axes.legend(loc="best", fontsize="small")
    axes.grid(alpha=0.3)
    return figure


def _facilities(result: SimulationResult | MinerResult) -> tuple[FacilityMetrics, ...]:
    return result.all_facilities if isinstance(result, SimulationResult) else result.facilities


def _name(result: SimulationResult | MinerResult) -> str:
    return result.deal.name if isinstance(result, SimulationResult) else result.spec.name


def pd_term_chart(result: SimulationResult | MinerResult, *, ax: Axes | None = None) -> Figure:
    """Cumulative PD by loan year of each facility, with a band of ±2 binomial standard errors.

    The standard error of a cumulative PD ``p`` over ``n`` paths is ``sqrt(p (1 - p) / n)``
    (the same binomial error as ``FacilityMetrics.pd_se``); the band is clipped to [0, 100%].

    Returns
    -------
    Figure
        x: year from the as-of date (the last point at maturity); y: cumulative PD, percent.
    """
    figure, axes = _axes(ax)
    for k, m in enumerate(_facilities(result)):
        cum = np.asarray(m.pd_by_year, dtype=float)
        years = np.arange(1, cum.size + 1, dtype=float)
        if cum.size and m.tenor_months % 12:  # the last point is maturity, inside a year
            years[-1] = m.tenor_months / 12.0
        se = np.sqrt(np.clip(cum * (1.0 - cum), 0.0, None) / max(m.n_paths, 1))
        low = np.clip(cum - _BAND_SE * se, 0.0, 1.0)
        high = np.clip(cum + _BAND_SE * se, 0.0, 1.0)
        style = _STYLES[k % len(_STYLES)]
        axes.fill_between(years, 100 * low, 100 * high, color=_LIGHT, alpha=0.6, linewidth=0)
        axes.plot(years, 100 * cum, color=_INK, linestyle=style, marker="o", label=m.name)
    axes.set_xlabel("year from as-of date")
    axes.set_ylabel("cumulative PD (%)")
    axes.set_ylim(bottom=0.0)
    axes.set_title(f"PD term structure: {_name(result)} (band: ±2 SE)")
    axes.legend(loc="upper left", fontsize="small")
    axes.grid(alpha=0.3)
    return figure


def _deal_losses(result: SimulationResult) -> np.ndarray | None:
    """Each kept path's loss summed over the deal's facilities (USD), or None without a cube."""
    if "loss" not in result.paths:
        return None
    loss = result.paths["loss"].to_numpy().astype(float)
    return loss if loss.ndim == 1 else loss.sum(axis=1)


def loss_chart(result: SimulationResult | BookResult, *, ax: Axes | None = None) -> Figure:
    """The loss distribution: a histogram of the paths' losses with the EL and VaR lines.

    For a deal the histogram is of the kept paths' losses (``result.paths["loss"]``, summed
    over facilities) and the VaR line their 99% quantile; the EL line is the engine's over every
    path. For a book the histogram is of ``path_losses_usd`` and the lines are the summary's EL
    and VaR at each level it computed. Paths without loss are counted in the title, not drawn
    (they would hide the tail).

    Returns
    -------
    Figure
        x: loss on a path, USD m; y: number of paths.
    """
    figure, axes = _axes(ax)
    lines: list[tuple[str, float]] = []
    if isinstance(result, BookResult):
        losses = np.asarray(result.path_losses_usd, dtype=float)
        name = f"book {result.name}"
        lines.append(("EL", result.summary.el_usd))
        lines += [(f"VaR {100 * t.level:g}%", t.var_usd) for t in result.summary.tails]
    else:
        kept = _deal_losses(result)
        name = result.deal.name
        if kept is None or kept.size == 0:
            _empty(axes, f"loss distribution: {name}", "no path kept (keep_paths = 0)")
            return figure
        losses = kept
        el = math.fsum(m.expected_loss_usd for m in result.all_facilities)
        lines.append(("EL (all paths)", el))
        var = float(np.quantile(losses, _DEAL_VAR_LEVEL))
        lines.append((f"VaR {100 * _DEAL_VAR_LEVEL:g}% ({losses.size:,} kept paths)", var))
    hit = losses[losses > 0.0]
    share = 1.0 - hit.size / max(losses.size, 1)
    title = f"loss distribution: {name} ({100 * share:.1f}% of paths lose nothing)"
    if hit.size:
        axes.hist(hit / _USD_M, bins=min(40, max(5, hit.size // 5)), color=_LIGHT, edgecolor=_INK)
    else:  # the lines (at zero) still say what EL and VaR are
        axes.text(0.5, 0.5, "no path lost anything", ha="center", transform=axes.transAxes)
    for k, (label, value) in enumerate(lines):
        if _finite(value):
            axes.axvline(
                value / _USD_M,
                color=_INK,
                linestyle=_STYLES[(k + 1) % len(_STYLES)],
                label=f"{label}: {value / _USD_M:,.1f} m",
            )
    axes.set_xlabel("loss on a path (USD m)")
    axes.set_ylabel("paths")
    axes.set_title(title)
    axes.legend(loc="upper right", fontsize="small")
    axes.grid(alpha=0.3)
    return figure


def collateral_chart(result: SimulationResult, *, ax: Axes | None = None) -> Figure:
    """The collateral illusion: LTV at close on book value, appraised and realisable value.

    Bars of ``CollateralReport.ltv_book``, ``ltv_appraised`` and ``ltv_realisable`` (principal
    over straight-line book value, over the income-approach value, and over what a fire sale
    at the deal's sale speed realises); an LTV that is undefined (collateral worth nothing) is
    labelled "n/a" instead of drawn.

    Returns
    -------
    Figure
        y: LTV, percent, with the 100% line (the debt equals the value).
    """
    figure, axes = _axes(ax, (6.0, 4.0))
    c = result.collateral
    bars = [
        ("book value", c.ltv_book),
        ("appraised\n(income approach)", c.ltv_appraised),
        (f"realisable\n({c.sale_speed} sale)", c.ltv_realisable),
    ]
    for k, (_label, ltv) in enumerate(bars):
        height = 100 * ltv if _finite(ltv) else 0.0
        axes.bar(
            k,
            height,
            color=_LIGHT if k < 2 else _GREY,
            edgecolor=_INK,
            hatch=_HATCHES[k],
            width=0.6,
        )
        text = f"{100 * ltv:.0f}%" if _finite(ltv) else "n/a"
        axes.annotate(
            text, (k, height), ha="center", va="bottom", xytext=(0, 2), textcoords="offset points"
        )
    axes.axhline(100.0, color=_INK, linestyle="--", linewidth=0.8, label="100%: debt = value")
    axes.set_xticks(range(len(bars)), _shown(b[0] for b in bars))
    axes.set_ylabel("LTV at close (%)")
    axes.set_title(f"collateral illusion: {result.deal.name}")
    axes.legend(loc="upper left", fontsize="small")
    axes.grid(alpha=0.3, axis="y")
    return figure


def _spread_rows(
    results: Sequence[SimulationResult | MinerResult],
) -> list[tuple[str, FacilityMetrics]]:
    return [(f"{_name(r)}: {m.name}", m) for r in results for m in _facilities(r)]


def spread_gap_chart(
    results: Sequence[SimulationResult | MinerResult] | SimulationResult | MinerResult,
    *,
    ax: Axes | None = None,
) -> Figure:
    """The spread gap: each facility's fair Q spread ±2 SE against its market spread.

    A market spread that is not public (None or not finite: the facility's pricing is not
    public) is drawn as a hollow marker at the fair spread, labelled "market: unknown"; a fair
    spread that does not exist (no spread prices the loan at its issue price) is labelled
    "no fair spread".

    Returns
    -------
    Figure
        One row per facility; x: spread over the risk-free rate, bp.
    """
    many = [results] if isinstance(results, SimulationResult | MinerResult) else list(results)
    rows = _spread_rows(many)
    figure, axes = _axes(ax, (7.0, max(2.5, 0.45 * len(rows) + 1.5)))
    if not rows:
        _empty(axes, "spread gap", "no facility")
        return figure
    for k, (_label, m) in enumerate(rows):
        y = len(rows) - 1 - k
        fair, se = m.fair_spread_bps, m.fair_spread_se_bps
        market = m.reported_market_spread_bps  # None where the pricing is not public
        known = _finite(market)
        if _finite(fair):
            assert fair is not None
            err = _BAND_SE * se if se is not None and _finite(se) else 0.0
            axes.errorbar(
                fair,
                y,
                xerr=err,
                fmt="o",
                color=_INK,
                capsize=3,
                label="fair spread Q ±2 SE" if k == 0 else None,
            )
        else:
            _note(axes, "no fair spread", (0, y), (3, 0))
        if known and market is not None:
            axes.plot(
                market,
                y,
                marker="D",
                color=_GREY,
                linestyle="none",
                label="market spread" if k == 0 else None,
            )
        elif fair is not None and _finite(fair):
            axes.plot(fair, y, marker="D", markerfacecolor="none", color=_INK, linestyle="none")
            axes.annotate(
                "market: unknown",
                (fair, y),
                xytext=(8, 6),
                textcoords="offset points",
                fontsize="small",
            )
    axes.plot(
        [],
        [],
        marker="D",
        markerfacecolor="none",
        color=_INK,
        linestyle="none",
        label="market spread unknown (not public)",
    )
    axes.set_yticks(range(len(rows)), _shown(r[0] for r in reversed(rows)), fontsize="small")
    axes.axvline(0.0, color=_GREY, linewidth=0.6)
    axes.set_xlabel("spread over the risk-free rate (bp)")
    axes.set_title("spread gap: market against fair spread (Q)")
    # below the axes: inside, it would hide a facility's markers
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize="small")
    axes.grid(alpha=0.3, axis="x")
    return figure


# -- miners -----------------------------------------------------------------------------------

#: Attribution metrics drawn by ``shapley_chart``, with their axis labels and scale.
_SHAPLEY_METRICS = {
    "expected_loss_usd": ("expected loss (USD m)", 1.0 / _USD_M),
    "pd": ("PD (percentage points)", 100.0),
}


def shapley_chart(result: MinerResult, *, ax: Axes | None = None) -> Figure:
    """Shapley bars: which factor group's randomness makes the miner's EL and PD.

    One horizontal bar per factor group (``MinerResult.attribution``); the title says the
    baseline (every group frozen at its median path) and the total (every group random): the
    bars add up to total minus baseline.

    Returns
    -------
    Figure
        One panel per metric (EL in USD m, PD in percentage points), or one if ``ax`` is given
        (the EL).
    """
    attr = result.attribution
    if ax is not None or attr is None:
        figure, first = _axes(ax)
        panels = [first]
    else:
        figure = Figure(figsize=(9.0, 3.8), layout="constrained")
        panels = list(figure.subplots(1, 2))
    if attr is None:
        _empty(panels[0], f"Shapley attribution: {result.spec.name}", "attribution not run")
        return figure
    for axes, metric in zip(
        panels, [m for m in _SHAPLEY_METRICS if m in attr.metrics], strict=False
    ):
        label, scale = _SHAPLEY_METRICS[metric]
        part = attr[metric]
        groups = list(attr.groups)
        values = [scale * part.shapley[g] for g in groups]
        for k, value in enumerate(values):
            axes.barh(k, value, color=_LIGHT, edgecolor=_INK, hatch=_HATCHES[k % len(_HATCHES)])
        axes.set_yticks(range(len(groups)), _shown(groups))
        axes.axvline(0.0, color=_INK, linewidth=0.8)
        axes.set_xlabel(f"Shapley value: {label}")
        axes.set_title(
            f"{result.spec.name}: {metric}\nbaseline {scale * part.baseline:,.2f}, "
            f"total {scale * part.total:,.2f}",
            fontsize="medium",
        )
        axes.grid(alpha=0.3, axis="x")
    return figure


# -- sensitivity ------------------------------------------------------------------------------

TornadoRow = tuple[str, float | None, float | None]

#: The documented shocks of ``tornado_inputs``: label -> (what moves, down, up).
TORNADO_SHOCKS: dict[str, tuple[str, float, float]] = {
    # ASSUMPTION: ±20% spans the H100 index's moves within a year in data/ (3.49 to about
    # 2.35 USD/h, docs/model.md); a symmetric round shock for a sensitivity, not a scenario
    "rent level ±20%": ("rent", -0.20, 0.20),
    # ASSUMPTION: ±10 points is half the tight-glut utilisation gap of the factor model
    "utilisation ±10 pt": ("utilisation", -0.10, 0.10),
    # ASSUMPTION: ±20% of opex spans power prices from a cheap to a dear US grid region
    "opex ±20%": ("opex", -0.20, 0.20),
    # ASSUMPTION: ±100 bp on the coupon or margin: one rating notch's spread many times over
    "rate ±100 bp": ("rate", -100.0, 100.0),
}


@dataclass(frozen=True, slots=True)
class Tornado:
    """The sensitivity of one facility to the ``TORNADO_SHOCKS``, from re-runs of ``simulate``.

    Attributes
    ----------
    deal, facility : str
    base_pd : float
        The unshocked run's PD, decimal.
    base_spread_bps : float or None
        Its fair spread (Q), bp (None when none exists).
    pd_rows : list of (label, low, high)
        The PD change, percentage points, with the input moved down and up.
    spread_rows : list of (label, low, high)
        The fair spread change, bp (None where either run has no fair spread).
    n_paths : int
        Paths of each run.
    """

    deal: str
    facility: str
    base_pd: float
    base_spread_bps: float | None
    pd_rows: list[TornadoRow]
    spread_rows: list[TornadoRow]
    n_paths: int


def _scaled(value: float, factor: float, cap: float) -> float:
    return min(max(value * factor, 0.0), cap)


def _shocked_rate(rate: Any, bps: float) -> dict[str, Any]:
    data: dict[str, Any] = rate.model_dump()
    if data["kind"] == "fixed":
        data["coupon_pct"] = min(max(data["coupon_pct"] + bps / 100.0, 0.0), 100.0)
    else:
        data["margin_bps"] = min(max(data["margin_bps"] + bps, -1000.0), 10000.0)
    return data


def shocked_deal(
    spec: DealSpec, what: str, move: float, utilisation: tuple[float, float]
) -> DealSpec:
    """``spec`` with one input moved (a ``TORNADO_SHOCKS`` entry), validated again.

    ``rent``: every contract rate and the merchant price factor times ``1 + move``;
    ``utilisation``: the merchant utilisation of both regimes plus ``move`` (from
    ``utilisation``, the tight and glut means in force, when the deal does not set them);
    ``opex``: power price, colocation, SG&A share and fixed costs times ``1 + move``;
    ``rate``: every coupon (percent) or margin (bp) plus ``move`` bp. Values are kept inside
    the spec's bounds.
    """
    f = 1.0 + move
    if what == "rent":
        contracts = [
            {
                **c.model_dump(by_alias=True),
                "rate_usd_per_gpu_hour": _scaled(c.rate_usd_per_gpu_hour, f, 100.0),
            }
            for c in spec.contracts
        ]
        merchant = {
            **spec.merchant.model_dump(by_alias=True),
            "price_factor": _scaled(spec.merchant.price_factor, f, 5.0),
        }
        return evolve(spec, contracts=contracts, merchant=merchant)
    if what == "utilisation":
        tight = spec.merchant.utilisation_tight
        glut = spec.merchant.utilisation_glut
        merchant = {
            **spec.merchant.model_dump(by_alias=True),
            "utilisation_tight": min(
                max((utilisation[0] if tight is None else tight) + move, 0.0), 1.0
            ),
            "utilisation_glut": min(
                max((utilisation[1] if glut is None else glut) + move, 0.0), 1.0
            ),
        }
        return evolve(spec, merchant=merchant)
    if what == "opex":
        o = spec.opex
        opex = {
            **o.model_dump(by_alias=True),
            "power_price_usd_per_mwh": _scaled(o.power_price_usd_per_mwh, f, 5000.0),
            "colocation_usd_per_kw_month": _scaled(o.colocation_usd_per_kw_month, f, 1000.0),
            "sga_share_of_revenue": _scaled(o.sga_share_of_revenue, f, 1.0),
            "other_fixed_usd_per_month": _scaled(o.other_fixed_usd_per_month, f, math.inf),
        }
        return evolve(spec, opex=opex)
    if what == "rate":
        changes: dict[str, Any] = {}
        if spec.loan is not None:
            changes["loan"] = {
                **spec.loan.model_dump(by_alias=True),
                "rate": _shocked_rate(spec.loan.rate, move),
            }
        if spec.facilities:
            changes["facilities"] = [
                {**f_.model_dump(by_alias=True), "rate": _shocked_rate(f_.rate, move)}
                for f_ in spec.facilities
            ]
        return evolve(spec, **changes)
    raise ValueError(f"unknown shock {what!r}: expected one of rent, utilisation, opex, rate")


def _pick(result: SimulationResult, facility: str | None) -> FacilityMetrics:
    for m in result.all_facilities:
        if facility is None or m.name == facility:
            return m
    names = ", ".join(m.name for m in result.all_facilities)
    raise ValueError(f"facility {facility!r} is not in deal {result.deal.name!r} ({names})")


def _change(a: float | None, b: float | None, scale: float) -> float | None:
    return scale * (a - b) if _finite(a) and _finite(b) else None  # type: ignore[operator]


def tornado_inputs(
    spec: DealSpec,
    *,
    facility: str | None = None,
    n_paths: int = 1024,
    seed: int = 0,
    calibration: str = DEFAULT_CALIBRATION,
    db: Path | str | None = None,
    workers: int = 1,
    **simulate_options: Any,
) -> Tornado:
    """The tornado's numbers: PD and fair-spread changes of one facility under each shock.

    Runs ``simulate`` once unshocked and twice per ``TORNADO_SHOCKS`` entry (down, up), every
    run with the same seed, paths and factor parameters (common random numbers, so the
    differences are not swamped by Monte Carlo noise), and ``keep_paths=0``. Each run solves
    the fair spreads of the one facility only and skips the deterministic extras
    (``pipeline.model.RunOutputs``): the PD and spread it reads are those of a full run.

    Parameters
    ----------
    spec : DealSpec
    facility : str, optional
        The facility whose figures move (default: the first).
    n_paths : int
        Paths of each run (few: nine runs are made).
    seed : int
    calibration, db
        As for ``simulate``; the parameters are resolved once for all runs.
    workers : int
        Threads running the eight shocked runs side by side (after the unshocked one), each
        run on one thread: the numbers are the same for any count.
    **simulate_options
        Passed on to ``simulate`` (e.g. ``backend``).

    Returns
    -------
    Tornado
        PD changes in percentage points, spread changes in bp.
    """
    params = simulate_options.pop("params", None)
    if params is None:
        params = resolve_parameters(calibration, db, spec.as_of).params_for(spec)
    util = (params.utilisation.mean_tight, params.utilisation.mean_glut)
    options = {"n_workers": 1, **simulate_options}  # one thread a run; the runs side by side

    def run(deal: DealSpec, name: str | None) -> FacilityMetrics:
        asked = RunOutputs(spreads_of=None if name is None else (name,), extras=False)
        result = simulate(
            deal, n_paths, seed, keep_paths=0, params=params, outputs=asked, **options
        )
        return _pick(result, name)

    base = run(spec, facility)
    shocked = [
        shocked_deal(spec, what, move, util)
        for what, down, up in TORNADO_SHOCKS.values()
        for move in (down, up)
    ]
    moved = list(
        run_blocks(
            lambda k, _: run(shocked[k], base.name),
            [(k, k + 1) for k in range(len(shocked))],
            n_workers=workers,
        )
    )
    pd_rows: list[TornadoRow] = []
    spread_rows: list[TornadoRow] = []
    for k, label in enumerate(TORNADO_SHOCKS):
        low, high = moved[2 * k], moved[2 * k + 1]
        pd_rows.append((label, _change(low.pd, base.pd, 100.0), _change(high.pd, base.pd, 100.0)))
        spread_rows.append(
            (
                label,
                _change(low.fair_spread_bps, base.fair_spread_bps, 1.0),
                _change(high.fair_spread_bps, base.fair_spread_bps, 1.0),
            )
        )
    return Tornado(
        deal=spec.name,
        facility=base.name,
        base_pd=base.pd,
        base_spread_bps=base.fair_spread_bps if _finite(base.fair_spread_bps) else None,
        pd_rows=pd_rows,
        spread_rows=spread_rows,
        n_paths=n_paths,
    )


def _tornado_panel(axes: Axes, rows: Sequence[TornadoRow], xlabel: str, title: str) -> None:
    if not rows:
        _empty(axes, title, "no sensitivity computed")
        return
    order = sorted(
        rows, key=lambda r: max(abs(r[1] or 0.0), abs(r[2] or 0.0))
    )  # the largest on top
    for k, (_label, low, high) in enumerate(order):
        for value, hatch, name in ((low, "//", "input down"), (high, "", "input up")):
            if value is not None and _finite(value):
                axes.barh(
                    k,
                    value,
                    color=_LIGHT if hatch else _GREY,
                    edgecolor=_INK,
                    hatch=hatch,
                    label=name if k == 0 else None,
                )
        if not (_finite(low) and _finite(high)):
            _note(axes, "n/a", (0, k), (3, 0))
    axes.set_yticks(range(len(order)), _shown(r[0] for r in order))
    axes.axvline(0.0, color=_INK, linewidth=0.8)
    axes.set_xlabel(xlabel)
    axes.set_title(title, fontsize="medium")
    axes.grid(alpha=0.3, axis="x")
    axes.legend(loc="lower right", fontsize="small")


def tornado_chart(
    pd_rows: Sequence[TornadoRow],
    spread_rows: Sequence[TornadoRow] = (),
    *,
    title: str = "sensitivity",
) -> Figure:
    """A sensitivity tornado: the change of PD (and of the fair spread) per moved input.

    Parameters
    ----------
    pd_rows : sequence of (label, low, high)
        PD change, percentage points, with the input moved down and up (None: not known).
    spread_rows : sequence of (label, low, high), optional
        Fair spread change, bp; a second panel when given.
    title : str

    Returns
    -------
    Figure
        Bars sorted by size, the largest on top; hatched: input down, solid: input up.
    """
    panels = 2 if spread_rows else 1
    figure = Figure(figsize=(4.8 * panels + 1.0, 3.6), layout="constrained")
    axes = figure.subplots(1, panels, squeeze=False)[0]
    _tornado_panel(axes[0], pd_rows, "change of PD (percentage points)", "PD")
    if spread_rows:
        _tornado_panel(axes[1], spread_rows, "change of fair spread Q (bp)", "fair spread (Q)")
    figure.suptitle(title)
    return figure


# -- result.plot and SVG ----------------------------------------------------------------------


def plot_result(
    result: SimulationResult | MinerResult | BookResult,
    kind: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """``result.plot``: one chart by ``kind``, or (None) every chart that applies, in a grid.

    Parameters
    ----------
    result : SimulationResult, MinerResult or BookResult
    kind : str, optional
        A deal: one of ``DEAL_KINDS``; a miner: ``MINER_KINDS``; a book: ``BOOK_KINDS``.
    ax : matplotlib Axes, optional
        Draw the one chart into it (only with ``kind``).

    Returns
    -------
    Figure

    Raises
    ------
    ValueError
        When ``kind`` does not apply to the result, or ``ax`` is given without ``kind``.
    """
    kinds = (
        BOOK_KINDS
        if isinstance(result, BookResult)
        else MINER_KINDS
        if isinstance(result, MinerResult)
        else DEAL_KINDS
    )
    if kind is not None and kind not in kinds:
        raise ValueError(f"plot kind {kind!r}: expected one of {', '.join(kinds)} or None")
    draw: dict[str, Callable[..., Figure]] = {
        "dscr_fan": dscr_fan_chart,
        "pd_term": pd_term_chart,
        "loss": loss_chart,
        "collateral": collateral_chart,
        "spread_gap": spread_gap_chart,
        "shapley": shapley_chart,
    }
    if kind is not None:
        return visible_text(draw[kind](result, ax=ax))
    if ax is not None:
        raise ValueError("plot(ax=...) draws one chart: give its kind too")
    cols = 2 if len(kinds) > 1 else 1
    rows = -(-len(kinds) // cols)
    figure = Figure(figsize=(7.0 * cols, 4.2 * rows), layout="constrained")
    grid = figure.subplots(rows, cols, squeeze=False).ravel()
    for axes, name in zip(grid, kinds, strict=False):
        draw[name](result, ax=axes)
    for axes in grid[len(kinds) :]:
        axes.set_axis_off()
    return visible_text(figure)


_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_ID = re.compile(r'(\bid=)"([^"]*)"')
_REF = re.compile(r'(url\(|xlink:href="|\bhref=")#([^")]*)')


def visible_text(figure: Figure) -> Figure:
    """``figure`` with every text's control characters written as visible escapes (names
    come from the user's spec: ``evil\x1b[31m`` has no glyph in any font); returns it."""
    for text in _texts(figure):
        if _hidden(text.get_text()):
            text.set_text(printable(text.get_text(), keep_newlines=True))
    return figure  # tick labels are drawn anew from their formatter: see _shown


def _texts(artist: Artist) -> Iterator[Text]:
    """Every ``Text`` under ``artist`` but the ticks' labels: an axis yields its label and
    offset text only (asking an axis for its ticks makes them, and a tick's label is drawn
    anew from its formatter anyway: see ``_shown``)."""
    for child in artist.get_children():
        if isinstance(child, Axis):
            yield child.label
            yield child.offsetText
            continue
        if isinstance(child, Text):
            yield child
        yield from _texts(child)


def _shown(labels: Iterable[str]) -> list[str]:
    """Tick labels with their control characters written as visible escapes (a tick's text
    is made from its formatter at each draw, so ``visible_text`` cannot reach it); a line
    break stays one (the collateral chart's labels have two lines)."""
    return [printable(t, keep_newlines=True) if _hidden(t) else t for t in labels]


def _hidden(text: str) -> bool:
    """Whether ``text`` has a control character (C0, DEL or C1) a font cannot draw."""
    return any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in text)


def figure_svg(figure: Figure, *, key: str = "0") -> str:
    """``figure`` as an inline ``<svg>`` element (no XML prolog, no external reference).

    Parameters
    ----------
    figure : Figure
    key : str
        Prefix of the SVG's element ids (and salt of their hashes): give each figure of one
        HTML page its own, so no two share an id (a clip path or marker found by id).

    Returns
    -------
    str
        The SVG markup, with a ``viewBox`` so CSS can scale it. Its words are ``<text>``
        elements (``svg.fonttype: none``: searchable and copyable, less than half the size of
        glyphs drawn as paths and faster to write) in the first installed font of matplotlib's
        sans-serif list (DejaVu Sans, then the browser's own sans-serif): no font is fetched.
    """
    buffer = io.StringIO()
    visible_text(figure)
    with mpl.rc_context({"svg.fonttype": _SVG_FONTTYPE, "svg.hashsalt": f"gpucredit-{key}"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.find("<svg") :]  # no XML prolog or DOCTYPE inside HTML
    text = _METADATA.sub("", text)  # the creator's URL and RDF namespaces: nothing to show
    # ids unique within a page: every id and every reference to one gets the key (inside
    # tags only: a chart's words, now text, may read id="x" or url(#x) and stay as they are)
    return _TAG.sub(lambda m: _keyed(m.group(0), key), text)


#: matplotlib's ``svg.fonttype`` of ``figure_svg``: words as ``<text>``, not glyph paths.
_SVG_FONTTYPE = "none"
#: A tag holding an id or a reference to one (text content never holds ``<`` or ``>``: the
#: SVG writer escapes them).
_TAG = re.compile(r"<[^<>]*(?:\bid=|#)[^<>]*>")


def _keyed(tag: str, key: str) -> str:
    """``tag`` with its ids and its references to ids prefixed by ``key``."""
    tag = _ID.sub(lambda m: f'{m.group(1)}"{key}-{m.group(2)}"', tag)
    return _REF.sub(lambda m: f"{m.group(1)}#{key}-{m.group(2)}", tag)
