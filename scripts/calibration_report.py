"""Draw the calibration diagnostics figures into ``docs/figures/``.

Writes, for an as-of date (default 2026-07-31):

* ``calibration_rent_fit.png``: monthly on-demand rent index of A100, H100, H200 and B200
  (points sized by the month's observation count) against the engine's trend times
  ``exp(regime level)`` in each month's known regime, parameters from ``Calibration.to_params``.
* ``calibration_qq_btc.png``: historical against simulated monthly BTC log-return quantiles
  (1..99%) of the jump-diffusion fit.
* ``calibration_rent_residuals_qq.png``: normal QQ plot of the rent fit's standardised
  Kalman innovations.
* ``calibration_sofr_fan.png``: monthly SOFR since 2018 and a 5-50-95% fan of 36 months from
  the as-of date with the engine's SOFR parameters (exact Vasicek recursion floored at 0).

Run ``python scripts/calibration_report.py [--as-of YYYY-MM-DD]``; prints the paths written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from gpucredit.factors.bitcoin import fit_btc_jump_diffusion, monthly_return_quantile_check
from gpucredit.factors.calibrate import Calibration, calibrate_factors
from gpucredit.factors.params import GLUT, SofrParams
from gpucredit.factors.processes import log_rent_trend
from gpucredit.market.history import _rates
from gpucredit.market.rent_index import rent_index_table

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures"
GENERATIONS = ("A100", "H100", "H200", "B200")
DAYS_PER_YEAR = 365.25
FAN_MONTHS = 36
FAN_PATHS = 10_000
QUANTILES = tuple(round(0.01 * k, 2) for k in range(1, 100))


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def rent_fit_figure(cal: Calibration, as_of: dt.date, path: Path) -> Path:
    """Index points against the engine's trend x exp(level of each month's known regime)."""
    params = cal.to_params(GENERATIONS, as_of)
    regimes = {dt.date.fromisoformat(m): s for m, s in cal.rent.regime_path}
    table = rent_index_table()
    table = table[(table["rental_type"] == "on_demand") & table["usd_per_gpu_hour"].notna()]
    table = table[pd.to_datetime(table["month"]) <= pd.Timestamp(as_of)]
    months = [m for m in sorted(regimes) if m >= dt.date(2023, 1, 1)]
    mids = [m + dt.timedelta(days=14) for m in months]
    t_years = np.array([(d - as_of).days / DAYS_PER_YEAR for d in mids])
    glut = np.array([regimes[m] == GLUT for m in months])
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    for ax, gen in zip(axes.flat, GENERATIONS, strict=True):
        rent = params.rent(gen)
        trend = np.exp(log_rent_trend(rent, as_of, t_years, params.regime.initial))
        level = np.where(glut, rent.level_glut, rent.level_tight)
        x = pd.to_datetime(months)
        ax.plot(x, trend, color="tab:gray", lw=1.0, ls="--", label="trend")
        ax.plot(x, trend * np.exp(level), color="tab:blue", lw=1.6, label="trend x exp(level)")
        for i in np.flatnonzero(glut):
            ax.axvspan(
                x[int(i)],
                x[int(i)] + pd.offsets.MonthBegin(1),
                color="tab:orange",
                alpha=0.06,
                lw=0,
            )
        rows = table[table["generation"] == gen]
        if not rows.empty:
            n_obs = rows["n_obs"].to_numpy(dtype=np.float64)
            ax.scatter(
                pd.to_datetime(rows["month"]),
                rows["usd_per_gpu_hour"],
                s=12.0 + 8.0 * np.sqrt(n_obs),
                color="black",
                alpha=0.6,
                zorder=3,
                label="index (size ~ sqrt n_obs)",
            )
        ax.set_yscale("log")
        ax.set_xlim(pd.Timestamp("2023-01-01"), pd.Timestamp(as_of) + pd.Timedelta(days=31))
        ax.xaxis.set_major_locator(mdates.YearLocator())  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))  # type: ignore[no-untyped-call]
        ax.set_title(f"{gen} on-demand (n = {len(rows)} months to {as_of:%Y-%m})")
        ax.set_ylabel("USD per GPU-hour")
        ax.grid(alpha=0.3, which="both")
    axes.flat[0].legend(fontsize=7, loc="best")
    fig.suptitle(
        f"Rent index vs engine trend, to_params as of {as_of} (glut months shaded)", fontsize=11
    )
    return _save(fig, path)


def btc_qq_figure(as_of: dt.date, path: Path) -> Path:
    """Historical against simulated monthly BTC log-return quantiles."""
    fit = fit_btc_jump_diffusion(as_of)
    qq = monthly_return_quantile_check(fit, quantiles=QUANTILES)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.scatter(qq["simulated"], qq["historical"], s=14, color="tab:blue", label="1..99%")
    for p in (0.01, 0.05, 0.5, 0.95, 0.99):
        row = qq.loc[p]
        ax.annotate(
            f"{p:.0%}",
            (row["simulated"], row["historical"]),
            fontsize=7,
            xytext=(4, -8),
            textcoords="offset points",
        )
    lo = float(min(qq.min()))
    hi = float(max(qq.max()))
    ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, label="45-degree line")
    ax.set_xlabel("simulated monthly log return (jump-diffusion)")
    ax.set_ylabel("historical monthly log return")
    ax.set_title(f"BTC monthly log returns, fit {fit.start}..{fit.end}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def rent_residuals_qq_figure(cal: Calibration, path: Path) -> Path:
    """Normal QQ plot of the rent fit's standardised innovations."""
    z = np.sort(np.asarray(cal.rent.residuals, dtype=np.float64))
    n = z.size
    theo = stats.norm.ppf((np.arange(1, n + 1) - 0.5) / n)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.scatter(theo, z, s=14, color="tab:blue")
    lim = float(max(np.abs(theo).max(), np.abs(z).max())) * 1.05
    ax.plot([-lim, lim], [-lim, lim], color="black", lw=0.8, label="N(0, 1)")
    ax.set_xlabel("standard normal quantile")
    ax.set_ylabel("standardised innovation")
    ax.set_title(f"Rent fit innovations (n = {n}, sd = {float(np.std(z)):.2f})")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def simulate_sofr(sofr: SofrParams, n_months: int, n_paths: int) -> np.ndarray:
    """Exact monthly Vasicek recursion floored at zero, shape (path, month + 1)."""
    rng = np.random.default_rng(0)
    dt_m = 1.0 / 12.0
    a = math.exp(-sofr.kappa_per_year * dt_m)
    sd = sofr.sigma * math.sqrt((1.0 - a * a) / (2.0 * sofr.kappa_per_year))
    out = np.empty((n_paths, n_months + 1))
    out[:, 0] = sofr.initial
    for t in range(1, n_months + 1):
        step = a * out[:, t - 1] + (1.0 - a) * sofr.long_run + sd * rng.standard_normal(n_paths)
        out[:, t] = np.maximum(step, 0.0)
    return out


def sofr_fan_figure(cal: Calibration, as_of: dt.date, path: Path) -> Path:
    """Monthly SOFR history and a 36-month 5-50-95% fan from the as-of date."""
    sofr = cal.to_params(("H100",), as_of).sofr
    rates = _rates()
    rates = rates[rates["SOFR"].notna() & (rates["date"] <= pd.Timestamp(as_of))]
    monthly = rates.groupby(rates["date"].dt.to_period("M"))["SOFR"].mean() / 100.0
    hist_x = pd.PeriodIndex(monthly.index).to_timestamp()
    paths = simulate_sofr(sofr, FAN_MONTHS, FAN_PATHS)
    start = pd.Timestamp(sofr.initial_date)
    fan_x = pd.date_range(start, periods=FAN_MONTHS + 1, freq=pd.DateOffset(months=1))
    q05, q50, q95 = np.quantile(paths, [0.05, 0.5, 0.95], axis=0)
    fig, ax = plt.subplots(figsize=(10, 4.8))
    ax.plot(hist_x, 100 * monthly.to_numpy(), color="black", lw=1.2, label="SOFR, monthly mean")
    ax.fill_between(fan_x, 100 * q05, 100 * q95, color="tab:blue", alpha=0.2, label="5-95%")
    ax.plot(fan_x, 100 * q50, color="tab:blue", lw=1.5, label="median")
    ax.axhline(100 * sofr.long_run, color="tab:gray", ls=":", lw=1, label="long-run mean")
    ax.set_ylabel("percent")
    ax.set_title(
        f"SOFR: Vasicek fan from {sofr.initial_date} ({FAN_PATHS:,} paths), "
        f"mu {sofr.long_run:.3f}, kappa {sofr.kappa_per_year:.3f}/yr, sigma {sofr.sigma:.4f}"
    )
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def main() -> None:
    """Parse ``--as-of``, calibrate, draw the four figures and print their paths."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 7, 31))
    args = parser.parse_args()
    as_of: dt.date = args.as_of
    cal = calibrate_factors(as_of)
    written = [
        rent_fit_figure(cal, as_of, FIGURES / "calibration_rent_fit.png"),
        btc_qq_figure(as_of, FIGURES / "calibration_qq_btc.png"),
        rent_residuals_qq_figure(cal, FIGURES / "calibration_rent_residuals_qq.png"),
        sofr_fan_figure(cal, as_of, FIGURES / "calibration_sofr_fan.png"),
    ]
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
