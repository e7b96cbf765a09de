"""Run the out-of-sample backtests and write their figures and ``docs/backtests.md``.

Writes ``docs/figures/backtest_h100_2023.png``, ``docs/figures/backtest_btc_2022.png``,
``docs/figures/backtest_hashprice_2022.png`` (fan charts: 5-95% and 25-75% bands, median, the
realised months overlaid) and ``docs/backtests.md`` (coverage, method, fitted parameters and a
reading). Run ``python scripts/run_backtests.py`` after changing the factor models or the data.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from gpucredit.factors.bitcoin import BtcFit, fit_btc_jump_diffusion, fit_hashrate
from gpucredit.reports.backtests import (
    FanBacktest,
    RegimeBacktest,
    backtest_btc,
    backtest_h100_rent,
    backtest_regime_rent,
)

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures"
DOC = ROOT / "docs" / "backtests.md"
N_PATHS = 5_000


def fan_chart(result: FanBacktest, path: Path, *, log_scale: bool = False) -> None:
    """Draw one fan chart with the realised months overlaid."""
    fan = result.fan
    x = fan.index
    fig, ax = plt.subplots(figsize=(9, 4.8))
    ax.fill_between(x, fan[0.05], fan[0.95], color="tab:blue", alpha=0.18, label="5-95%")
    ax.fill_between(x, fan[0.25], fan[0.75], color="tab:blue", alpha=0.35, label="25-75%")
    ax.plot(x, fan[0.50], color="tab:blue", lw=1.5, label="simulated median")
    real = result.realised
    inside = real[real["inside_5_95"]]
    outside = real[~real["inside_5_95"]]
    ax.plot(real.index, real["value"], color="black", lw=0.8, alpha=0.6)
    ax.scatter(inside.index, inside["value"], color="black", s=18, zorder=3, label="realised")
    ax.scatter(
        outside.index, outside["value"], color="tab:red", s=24, zorder=3, label="outside 5-95%"
    )
    if log_scale:
        ax.set_yscale("log")
    ax.set_ylabel(result.unit)
    ax.set_title(
        f"{result.name}: fan from {result.as_of} ({result.n_paths:,} paths); "
        f"5-95% coverage {result.coverage_5_95:.0%} of {result.n_realised} months"
    )
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def realised_table(result: FanBacktest, fmt: str) -> str:
    """Markdown table of realised months, value, percentile and band membership."""
    lines = ["| month | realised | percentile | inside 5-95% |", "|---|---:|---:|:---:|"]
    for month, row in result.realised.iterrows():
        value = format(row["value"], fmt)
        inside = "yes" if row["inside_5_95"] else "**no**"
        lines.append(f"| {month:%Y-%m} | {value} | {row['percentile']:.1f} | {inside} |")
    return "\n".join(lines)


def params_table(fits: list[BtcFit]) -> str:
    """Markdown table of jump-diffusion estimates with standard errors."""
    lines = [
        "| as of | window | mu /day | sigma /sqrt(day) | lambda jumps/day | jump mean | "
        "jump vol | total vol /yr | log-lik |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in fits:
        p, s = f.params, f.std_errors
        cells = [
            f"{p.mu:.5f} ({s.mu:.5f})",
            f"{p.sigma:.4f} ({s.sigma:.4f})",
            f"{p.jump_intensity:.3f} ({s.jump_intensity:.3f})",
            f"{p.jump_mean:.5f} ({s.jump_mean:.5f})",
            f"{p.jump_vol:.4f} ({s.jump_vol:.4f})",
            f"{p.annual_vol:.2f}",
            f"{f.log_likelihood:.1f}",
        ]
        lines.append(f"| {f.end} | {f.start} to {f.end} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Run both backtests, draw the figures and write the page."""
    h100 = backtest_h100_rent(n_paths=N_PATHS)
    btc = backtest_btc(n_paths=N_PATHS)
    fan_chart(h100, FIGURES / "backtest_h100_2023.png")
    fan_chart(btc.price, FIGURES / "backtest_btc_2022.png", log_scale=True)
    fan_chart(btc.hashprice, FIGURES / "backtest_hashprice_2022.png", log_scale=True)
    fit_now = fit_btc_jump_diffusion(dt.date(2026, 6, 1))
    hr_then, hr_now = btc.hashrate_fit, fit_hashrate(dt.date(2026, 6, 1))
    h100_out = h100.realised[~h100.realised["inside_5_95"]]
    high = int((h100_out["percentile"] > 95).sum())
    page = TEMPLATE.format(
        n_paths=N_PATHS,
        h100_cov=h100.coverage_5_95,
        h100_n=h100.n_realised,
        h100_out=len(h100_out),
        h100_high=high,
        h100_table=realised_table(h100, ".2f"),
        btc_cov=btc.price.coverage_5_95,
        btc_n=btc.price.n_realised,
        hp_cov=btc.hashprice.coverage_5_95,
        hp_n=btc.hashprice.n_realised,
        btc_table=realised_table(btc.price, ",.0f"),
        hp_table=realised_table(btc.hashprice, ".1f"),
        params=params_table([btc.btc_fit, fit_now]),
        hr_then=f"{hr_then.params.drift:.4f} ({hr_then.drift_se:.4f}) and "
        f"{hr_then.params.vol:.4f} ({hr_then.vol_se:.4f})",
        hr_now=f"{hr_now.params.drift:.4f} ({hr_now.drift_se:.4f}) and "
        f"{hr_now.params.vol:.4f} ({hr_now.vol_se:.4f})",
    )
    page += regime_section(
        3, backtest_regime_rent(n_paths=N_PATHS), "backtest_regime_h100_2024", READING_2024
    )
    page += regime_section(
        4,
        backtest_regime_rent(dt.date(2025, 6, 30), n_months=12, n_paths=N_PATHS, seed=20250630),
        "backtest_regime_h100_2025",
        READING_2025,
    )
    DOC.write_text(page)
    print(page)


def regime_table(result: RegimeBacktest) -> str:
    """Markdown table of the realised months in the point-in-time and the hindsight fans."""
    cal, late = result.calibrated.realised, result.hindsight.realised
    lines = [
        "| month | realised | percentile | inside 5-95% | percentile, hindsight | inside |",
        "|---|---:|---:|:---:|---:|:---:|",
    ]
    for month, row in cal.iterrows():
        other = late.loc[month]
        cells = [
            f"{month:%Y-%m}",
            f"{row['value']:.2f}",
            f"{row['percentile']:.1f}",
            "yes" if row["inside_5_95"] else "**no**",
            f"{other['percentile']:.1f}",
            "yes" if other["inside_5_95"] else "**no**",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def regime_section(number: int, result: RegimeBacktest, figure: str, reading: str) -> str:
    """A section of the page (and its two figures): the calibrated regime model's rent fan."""
    fan_chart(result.calibrated, FIGURES / f"{figure}.png")
    fan_chart(result.hindsight, FIGURES / f"{figure}_hindsight.png")
    cal, prior, late = result.calibrated, result.prior_decay, result.hindsight
    fields = {
        "number": number,
        "figure": figure,
        "as_of": cal.as_of,
        "n": cal.n_realised,
        "n_paths": cal.n_paths,
        "start": "glut" if result.initial_regime == 1 else "tight",
        "anchor": result.anchor_usd_per_gpu_hour,
        "decay": result.decay_calibrated,
        "decay_prior": result.decay_prior,
        "decay_late": result.decay_hindsight,
        "step": result.step_calibrated,
        "step_late": result.step_hindsight,
        "step_source": result.step_source,
        "step_source_late": result.step_source_hindsight,
        "late_as_of": result.hindsight_as_of,
        "cov": cal.coverage_5_95,
        "cov_prior": prior.coverage_5_95,
        "cov_late": late.coverage_5_95,
        "n_out": int((~cal.realised["inside_5_95"]).sum()),
        "n_out_late": int((~late.realised["inside_5_95"]).sum()),
        "slope": result.slope_calibrated,
        "slope_prior": result.slope_prior,
        "slope_late": result.slope_hindsight,
        "slope_real": result.slope_realised,
    }
    fields["table"] = regime_table(result)
    fields["reading"] = reading.format(**fields)
    return REGIME_TEMPLATE.format(**fields)


REGIME_TEMPLATE = """
## {number}. H100 rent with the calibrated regime model, from {as_of} ({n} realised months)

`calibrate_factors({as_of}).to_params(("H100",), {as_of})`: the tight/glut chain fitted by
Markov switching on the pooled rent index to that date (`docs/calibration.md`), the start
regime from its filtered probability (**{start}**), the successor-step size fitted jointly with
the trend and the regime means where the data identify it ({step:.2f} log per ramp), the
continuous decay net of that step ({decay:.3f} a year), regime levels centred on the trend.
Anchor {anchor:.2f} USD/h. {n_paths:,} paths, fixed seed. The step as of {as_of}:
{step_source}.

![H100 rent fan, calibrated regime model](figures/{figure}.png)

**Coverage of the 5-95% band: {cov:.0%} ({n_out} of {n} months outside).** The same shocks with
the hand-set decay ({decay_prior:.3f} a year, read off the total decline of 2023-26, glut
included) cover {cov_prior:.0%}. With the step and the decay of the joint fit on all the data to
{late_as_of} (step {step_late:.2f}, decay {decay_late:.3f} a year; **hindsight, not point in
time**) they cover {cov_late:.0%} ({n_out_late} of {n} months outside).

![H100 rent fan, step and decay fitted to the latest data](figures/{figure}_hindsight.png)

| mean decline of log rent over the realised months | per year |
|---|---:|
| calibrated model as of {as_of} (mean of the paths) | {slope:+.3f} |
| same, hand-set decay | {slope_prior:+.3f} |
| same, step and decay fitted to {late_as_of} (hindsight) | {slope_late:+.3f} |
| realised H100 index (least squares) | {slope_real:+.3f} |

{table}

{reading}
"""

READING_2024 = """\
Reading: a common shift of the two regime levels changes no simulated rent (the trend is
anchored on the price at `as_of` in the start regime), so centring the levels is a statement
about the trend, not a change of path. The fall the model counted twice was the step: as of
2024-08 the index spans a single successor ramp (H100's, in the A100 prices of 2022-23;
H200's ends in 2024-11), too few to tell a step from the trend or a regime switch, so the
sourced 0.10 stands and this point-in-time fan is unchanged. Its mean decline is about three
times the realised one: 0.10 for each of the three ramps in the window (B200 and GB200 in
2024-10, B300 in 2025-10) on top of a decay fitted on 2022-24 data that still carried the 2023
peak. Fitted on the data to {late_as_of} (five ramps spanned), the joint fit says rents did not
fall at the ramps beyond their trend (the step is {step_source_late}): the trend
alone carries the decline, {decay_late:.3f} a year: one fall, counted once. With that split the
same shocks give a mean decline of {slope_late:+.3f} a year against {slope_real:+.3f} realised,
and cover {cov_late:.0%}. The months still outside are 2024-09 (2.99 USD/h, a quarter below the
3.95 of 2024-08: the autumn-2024 price cuts, far below a fan that starts tight at
{anchor:.2f}) and 2025-03 (7.01 USD/h, an Epoch month of hyperscaler list prices: a panel change,
not a market move). What limits the estimate: 27 of the 52 index months are interpolated, the
ramps come about once a year so a step and a steady decline are close to collinear, and the
B200 and GB200 ramps share a volume date."""

READING_2025 = """\
Reading: from 2025-06-30 the index spans two successor ramps (H100's and H200's) and the
step is fitted point in time; the data already reject a fall at the ramps beyond the trend,
so the step is 0. The joint fit's decay has a t below 2, so the hand-set decay ({decay:.3f})
is kept and the fan declines by {slope:+.3f} a year while the realised index rose
({slope_real:+.3f}: the 2026 shortage, "The great GPU shortage", SemiAnalysis, March 2026). The
band holds {cov:.0%} of the {n} realised months (2025-10 to 2026-06; the index has no values
for 2025-07 to 2025-09 and 2025-12 to 2026-01), the first two near its bottom: {n} months of
one path are a weak test."""


TEMPLATE = """# Backtests: realised markets in the simulated fans

Generated by `scripts/run_backtests.py` (code: `gpucredit.reports.backtests`,
`gpucredit.factors.bitcoin`). Each backtest simulates {n_paths:,} paths from an as-of date
using only what was known then, and places every later realised month in the simulated
distribution of that month. The **percentile** of a month is the share of paths at or below the
realised value; the **coverage** is the share of realised months inside the 5-95% band. A
calibrated fan covers about 90% of months, but the months of one realised path are strongly
dependent (one bad year moves them all), so a single backtest is one draw, not 12 or 17
independent tests.

## 1. H100 rent, from 2023-06-30 (36 months)

Engine factor model (`default_factor_params(("H100",), 2023-06-30)`, `simulate_scenarios`,
fixed seed) against the realised H100 SXM on-demand monthly index
(`gpucredit.market.rent_index.rent_index("H100")`, months with observations only).

![H100 rent fan](figures/backtest_h100_2023.png)

**Coverage of the 5-95% band: {h100_cov:.0%} ({h100_n} realised months, {h100_out} outside,
{h100_high} of them above the 95th percentile).**

{h100_table}

Reading:

* The outliers are on the **upside**. Two of them (2023-10 at 7.38 and 2025-03 at 7.01 USD/h)
  are panel changes rather than market moves: those months of the Epoch price table are
  dominated by hyperscaler list prices, which sit at 2-3x the neocloud prices of the
  neighbouring months. A percentile near 100 for them says the index mixes panels, not that the
  rent model is wrong.
* The 2026 months (2.99-3.19 USD/h, scraped provider pages) sit at the 97th-99th percentile.
  The fan's median falls from the 4.40 USD/h anchor to about 1.8 USD/h by mid-2026: the
  trend decay (0.11 a year continuous plus a 0.10 log step for each of the four successor
  ramps in the window: H200, B200, GB200, B300) compounds to a ~60% fall in three years,
  while realised on-demand H100 rents fell about 30-35% from the 2023 anchor and rebounded
  in the 2026 shortage. Realised rents were therefore stickier than the model's trend: the
  decay and successor steps as set are too steep for on-demand H100 (or the tight regime is
  too short-lived), and the model is conservative for a lender on the rent path. A
  calibration on the rent index should lower the total decay (closer to 0.10-0.15 a year) or
  the successor step, and should be checked against the same backtest.
* The anchor (4.40 USD/h, median of 5 Epoch observations in the 60 days to 2023-06-22) is above
  the June 2023 index (3.35): the anchor sample is small and list-price heavy, which also
  lifts the early fan.

## 2. Bitcoin price and hashprice, 2022 from 2021-12-31 (12 months)

The jump-diffusion is fitted on daily prices 2014-01-01 to 2021-12-31 and the hash-rate
random walk on complete months of the four years to December 2021; hashprice on each path is
price x (subsidy + fees) x blocks per day / hash rate (subsidy 6.25 BTC throughout 2022,
blocks per day 148.0 from the last 90 days, fee share the 2021 median 3.6%).

![BTC price fan](figures/backtest_btc_2022.png)

![Hashprice fan](figures/backtest_hashprice_2022.png)

**BTC price coverage of the 5-95% band: {btc_cov:.0%} of {btc_n} months. Hashprice coverage:
{hp_cov:.0%} of {hp_n} months.**

BTC month-end price, USD:

{btc_table}

Hashprice, monthly mean of the daily series, USD per PH/s per day:

{hp_table}

Reading:

* 2022 was a left-tail year: BTC fell 64% (46,300 to 16,500 USD) with the Terra/Luna collapse
  in May-June and FTX in November. From June on the realised price sits at the 1st-4th
  percentile, below the 5% line. The model does not rule this path out (it is a 1-in-30 to
  1-in-50 month-end outcome) but puts it in the far tail: the 8-year window is dominated by
  bull markets, so the fitted drift (about +0.17% a day, +60% a year on the median) is strongly
  positive. Drift is the worst-estimated parameter (its standard error is a third of it) and
  for credit use a lender should set it to zero or to a risk-neutral rate rather than use the
  fitted value; with the drift of the log price set to zero (same seed-free check, 20,000
  paths) the June-December 2022 months lie at the 4th-11th percentile, mostly inside the band.
* Hashprice stays inside the band until November (3.9th and 4.7th percentile in Nov-Dec): the
  fitted hash-rate growth (about 4.9% a month) plus the price fall is in line with 2022, and
  the independence of price and hash rate widens the hashprice fan. In reality hash rate
  reacts to price with a lag (miners switch off), which damps hashprice falls; the model
  ignores that, so its hashprice fan is wider than it should be and its coverage flatters it.
* The fitted jump component is not "rare crashes": the MLE puts about 0.87 jumps a day with
  near-zero mean and 3.9% size on a 1.2% diffusion, i.e. a scale mixture of a calm and a
  turbulent day. That captures the fat tails of daily returns (monthly quantile check in
  `monthly_return_quantile_check`) but not volatility clustering: a Markov-switching or GARCH
  variance would put more weight on sustained drawdowns like 2022.

## Fitted bitcoin parameters

Merton jump-diffusion on daily log returns, 8-year windows (standard errors from the
numerical Hessian in brackets):

{params}

Hash rate, monthly log growth drift and volatility (standard errors) on four years of complete
months: to 2021-12: {hr_then}; to 2026-05: {hr_now}.

## Limits

* One realised path per backtest; coverage numbers are descriptive, not a test with a size.
* Realised H100 rents are monthly medians of mixed panels (Epoch list prices, marketplace,
  scraped pages) with gaps; the simulated value is the engine's month-end index.
* Realised hashprice is the monthly mean of the daily series while the simulated one uses the
  month-end price and the month's mean hash rate.
* Price and hash rate are independent in the model; fee share is a constant; the block rate is
  the recent mean, not modelled.
"""


if __name__ == "__main__":
    main()
