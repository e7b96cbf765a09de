"""Named stress scenarios: each a pure transform of a run's inputs, run by the Monte Carlo code.

A named scenario changes what a run starts from (the calibrated ``FactorParams``, the miner
market's ``MinerMarketParams``, the deal or miner spec, or the miner's ``ConvergenceParams``)
and nothing else: the paths are drawn, projected, paid and defaulted by the same code as the
base case, with the same seed, so a scenario's PD minus the base PD is a difference on common
random numbers (STYLE.md 5: stresses go through the Monte Carlo code). One part acts on the
built model and lives in the pipeline: the largest tenant's default
(``pipeline.named.with_scenario_model``, ``with_scenario_miner_model``); a scenario only says
it wants it.

Every number a definition quotes is computed here from the shipped data (``data/``) or is a
sourced default of ``factors``; the two labelled ASSUMPTION say why. ``docs/scenarios.md``
lists the definitions and their effect on three example deals.

Usage::

    from gpucredit.scenarios.named import SCENARIOS, get_scenario
    get_scenario("gpu-glut").definition
    simulate(deal, scenario="gpu-glut")          # gpucredit run DEAL.yaml --scenario gpu-glut
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

import pandas as pd

from gpucredit.config.miner import MinerSpec
from gpucredit.config.presets import generation_presets
from gpucredit.config.spec import DealSpec, DefaultModelSpec, RegimeSpec
from gpucredit.errors import SpecError, SpecIssue
from gpucredit.factors.credit_window import SHUT_QUANTILE
from gpucredit.factors.defaults import RHO_RENT_RENT, RHO_RENT_UTIL
from gpucredit.factors.miner_params import (
    DEFAULT_STRESS_CORRELATION,
    ConvergenceParams,
    MinerMarketParams,
)
from gpucredit.factors.params import (
    GLUT,
    SHUT,
    TIGHT,
    CorrelationParams,
    CreditWindowParams,
    FactorParams,
    RentParams,
    SofrParams,
    SuccessorStep,
)
from gpucredit.market.files import data_path
from gpucredit.market.ratings import DEFAULT_ASSET_CORRELATION
from gpucredit.market.rent_index import rent_index

__all__ = [
    "BASE",
    "CONVERGED_GLUT_MULTIPLIER",
    "CREDIT_LEAD_MONTHS",
    "FORCED_DEFAULT_HAZARD",
    "GLUT_WINDOW",
    "RATE_SHOCK",
    "SCENARIOS",
    "NamedScenario",
    "ReplayFigures",
    "get_scenario",
    "replay_figures",
    "scenario_names",
]

Spec = TypeVar("Spec", DealSpec, MinerSpec)

BASE = "base"

#: The 2024-25 glut replayed by ``gpu-glut``: first and last month of the window (the glut of
#: ``factors.defaults``: 2024-Q1 to 2025-Q4, cycle low Oct 2025, SemiAnalysis via compux.net).
GLUT_WINDOW = (dt.date(2024, 1, 1), dt.date(2025, 12, 1))
#: The rate shock: SOFR +300 bp (the issue's definition), decimal per year.
RATE_SHOCK = 0.03
#: Months the credit cycle leads the technology cycle in ``credit-cycle-first``. ASSUMPTION:
#: one year, shorter than the 22 months between the Fed's first 2022 hike (FOMC statement,
#: 2022-03-16) and the start of the 2024-25 GPU glut (2024-01, ``factors.defaults``), so that
#: the glut lands inside a three-year loan; the seed article gives the order, not the lag.
CREDIT_LEAD_MONTHS = 12
#: Monthly hazard that makes a tenant default in month 1 (``largest-tenant-default``): it
#: survives the month with probability exp(-50), about 2e-22, whatever its copula draw.
FORCED_DEFAULT_HAZARD = 50.0
#: ``correlation-convergence``: the credit window's glut multiplier (``CreditWindowParams``).
#: ASSUMPTION: 1,000, the comonotone end of the chains' link: an open window then shuts
#: almost only in a GPU glut (p_tight ~ 0), at the same long-run rate of shutting.
CONVERGED_GLUT_MULTIPLIER = 1000.0
#: B200's ramp as gpu_generations.csv writes it: "shipping to hyperscalers late 2024; wider
#: cloud availability through 2025": the H100 rent is compared over the 12 months before the
#: volume date and the 12 months after it.
STEP_WINDOW_MONTHS = 12
#: Nvidia's cadence, one generation a year since 2024 (REFERENCES.md), for a run whose as-of
#: date is past the last volume date of the shipped table.
CADENCE_MONTHS = 12


# --- the figures the replays impose, computed from the shipped data ----------------------------


@dataclass(frozen=True, slots=True)
class ReplayFigures:
    """What the replays impose, each computed from the shipped data.

    Attributes
    ----------
    glut_peak_usd, glut_low_usd : float
        H100 on-demand rent index (USD per GPU-hour): the highest month of 2023 (the peak
        before the glut) and the lowest month of the glut window ``GLUT_WINDOW``.
    glut_peak_month, glut_low_month : str
        Their months (ISO ``YYYY-MM``).
    glut_log_fall : float
        ``ln(peak / low)``, natural-log units.
    glut_months : int
        Months of the window (24), over which the fall is spread.
    step_before_usd, step_after_usd : float
        Median H100 rent index over the 12 months before B200's volume date and the 12
        months from it (USD per GPU-hour).
    step_log_fall : float
        ``ln(before / after)``, natural-log units (0 if the rent rose).
    btc_start_usd, btc_end_usd : float
        Bitcoin's last price on or before 2021-12-31 and 2022-12-31 (Coin Metrics PriceUSD,
        ``data/btc_daily.csv``), USD.
    btc_log_change : float
        ``ln(end / start)``.
    hashprice_start, hashprice_end : float
        Hashprice on the same days (``data/btc_hashprice_daily.csv``), USD per PH/s per day.
    hashprice_log_change : float
        ``ln(end / start)``.
    """

    glut_peak_usd: float
    glut_peak_month: str
    glut_low_usd: float
    glut_low_month: str
    glut_log_fall: float
    glut_months: int
    step_before_usd: float
    step_after_usd: float
    step_log_fall: float
    btc_start_usd: float
    btc_end_usd: float
    btc_log_change: float
    hashprice_start: float
    hashprice_end: float
    hashprice_log_change: float

    @property
    def hashrate_log_change(self) -> float:
        """The hash rate's log growth that, with the price's, gives hashprice's (fees and
        subsidy as modelled): ``btc - hashprice`` log change."""
        return self.btc_log_change - self.hashprice_log_change

    def as_text(self) -> dict[str, str]:
        """The figures as the definitions quote them."""
        return {
            "peak": f"{self.glut_peak_usd:.2f}",
            "peak_month": self.glut_peak_month,
            "low": f"{self.glut_low_usd:.2f}",
            "low_month": self.glut_low_month,
            "glut_fall": f"{self.glut_log_fall:.3f}",
            "glut_months": str(self.glut_months),
            "glut_per_month": f"{self.glut_log_fall / self.glut_months:.4f}",
            "before": f"{self.step_before_usd:.2f}",
            "after": f"{self.step_after_usd:.2f}",
            "step_fall": f"{self.step_log_fall:.3f}",
            "btc_start": f"{self.btc_start_usd:,.0f}",
            "btc_end": f"{self.btc_end_usd:,.0f}",
            "btc_change": f"{self.btc_log_change:.3f}",
            "hp_start": f"{self.hashprice_start:.1f}",
            "hp_end": f"{self.hashprice_end:.1f}",
            "hp_change": f"{self.hashprice_log_change:.3f}",
            "hr_change": f"{self.hashrate_log_change:.3f}",
        }


def _month(stamp: Any) -> str:
    return pd.Timestamp(stamp).strftime("%Y-%m")


def _last_on_or_before(series: pd.Series, day: dt.date) -> float:
    return float(series.loc[: pd.Timestamp(day)].dropna().iloc[-1])


@cache
def replay_figures() -> ReplayFigures:
    """The replays' figures from the shipped data (cached; see :class:`ReplayFigures`)."""
    h100 = rent_index("H100").dropna()
    first, last = (pd.Timestamp(d) for d in GLUT_WINDOW)
    before = h100[(h100.index >= first - pd.DateOffset(months=12)) & (h100.index < first)]
    within = h100[(h100.index >= first) & (h100.index <= last)]
    peak_at, low_at = before.idxmax(), within.idxmin()
    peak, low = float(before.max()), float(within.min())
    n_months = (last.year - first.year) * 12 + last.month - first.month + 1

    volume = pd.Timestamp(generation_presets()["B200"].volume_date)
    window = pd.DateOffset(months=STEP_WINDOW_MONTHS)
    ahead = h100[(h100.index >= volume - window) & (h100.index < volume)]
    after = h100[(h100.index >= volume) & (h100.index < volume + window)]
    step_before, step_after = float(ahead.median()), float(after.median())

    btc = pd.read_csv(
        data_path("btc_daily.csv"), usecols=["date", "PriceUSD"], parse_dates=["date"]
    ).set_index("date")["PriceUSD"]
    hashprice = pd.read_csv(
        data_path("btc_hashprice_daily.csv"),
        usecols=["date", "hashprice_usd_per_ph_day"],
        parse_dates=["date"],
    ).set_index("date")["hashprice_usd_per_ph_day"]
    start, end = dt.date(2021, 12, 31), dt.date(2022, 12, 31)
    b0, b1 = _last_on_or_before(btc, start), _last_on_or_before(btc, end)
    h0, h1 = _last_on_or_before(hashprice, start), _last_on_or_before(hashprice, end)
    return ReplayFigures(
        glut_peak_usd=peak,
        glut_peak_month=_month(peak_at),
        glut_low_usd=low,
        glut_low_month=_month(low_at),
        glut_log_fall=max(math.log(peak / low), 0.0),
        glut_months=n_months,
        step_before_usd=step_before,
        step_after_usd=step_after,
        step_log_fall=max(math.log(step_before / step_after), 0.0),
        btc_start_usd=b0,
        btc_end_usd=b1,
        btc_log_change=math.log(b1 / b0),
        hashprice_start=h0,
        hashprice_end=h1,
        hashprice_log_change=math.log(h1 / h0),
    )


# --- the transforms ---------------------------------------------------------------------------


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _effective_initial(params: FactorParams, spec: DealSpec | MinerSpec) -> int:
    """The regime a run starts in: the spec's ``regime.initial`` over the parameters'."""
    initial = spec.regime.initial if spec.regime is not None else None
    if initial is None:
        return params.regime.initial
    return GLUT if initial == "glut" else TIGHT


def _with_glut_start(spec: Spec) -> Spec:
    """``spec`` with its ``regime`` section starting in the glut (the rest kept).

    The new section is validated on its own (``RegimeSpec``) and set with ``model_copy``: the
    rest of the spec is the validated one as it stands (a dump and re-validation of the whole
    spec, as ``evolve`` does, does not round-trip every section's aliases)."""
    regime = spec.regime.model_dump() if spec.regime is not None else {}
    section = RegimeSpec.model_validate({**regime, "initial": "glut"})
    return spec.model_copy(update={"regime": section})


def _with_steps(
    params: FactorParams, steps: Callable[[RentParams], tuple[SuccessorStep, ...]]
) -> FactorParams:
    """``params`` with ``steps(rent)`` added to each generation's stress steps."""
    return dataclasses.replace(
        params,
        rents=tuple(
            dataclasses.replace(r, stress_steps=r.stress_steps + steps(r)) for r in params.rents
        ),
    )


def _glut_steps(params: FactorParams, start: dt.date, regap: bool) -> FactorParams:
    """Every generation's trend lowered by the glut's log fall, linearly over its months from
    ``start``; ``regap``: also by the tight-glut level gap, which a start in the glut adds to
    the trend (``log_rent_trend`` anchors today's rent at the initial regime's level)."""
    fig = replay_figures()

    def steps(rent: RentParams) -> tuple[SuccessorStep, ...]:
        gap = max(rent.level_tight - rent.level_glut, 0.0) if regap else 0.0
        return (SuccessorStep("glut-replay", start, fig.glut_log_fall + gap, fig.glut_months),)

    return _with_steps(params, steps)


def next_generation(as_of: dt.date) -> tuple[str, dt.date]:
    """The first generation of the shipped table whose volume date is after ``as_of``, and
    that date; past the table, one more a year after its last (Nvidia's cadence)."""
    presets = sorted(generation_presets().values(), key=lambda p: p.volume_date)
    for preset in presets:
        if preset.volume_date > as_of:
            return preset.name, preset.volume_date
    day = presets[-1].volume_date
    while day <= as_of:
        day = _add_months(day, CADENCE_MONTHS)
    return "next", day


def _step_down(params: FactorParams, as_of: dt.date) -> FactorParams:
    """The older generations' trend stepped down by the B200-era fall in the month the next
    generation reaches volume, on top of the model's own successor ramp."""
    name, volume = next_generation(as_of)
    presets = generation_presets()
    fall = replay_figures().step_log_fall

    def steps(rent: RentParams) -> tuple[SuccessorStep, ...]:
        own = presets.get(rent.generation)
        if rent.generation == name or (own is not None and own.volume_date >= volume):
            return ()
        return (SuccessorStep(f"{name}-step-down", volume, fall, 1),)

    return _with_steps(params, steps)


def _rate_shock(params: FactorParams) -> FactorParams:
    s = params.sofr
    sofr = SofrParams(
        s.initial + RATE_SHOCK, s.initial_date, s.long_run + RATE_SHOCK, s.kappa_per_year, s.sigma
    )
    return dataclasses.replace(params, sofr=sofr)


def _credit_shut(params: FactorParams) -> FactorParams:
    w = params.credit_window
    window = CreditWindowParams(
        w.p_open_to_shut, 0.0, initial=SHUT, glut_multiplier=w.glut_multiplier
    )
    return dataclasses.replace(params, credit_window=window)


def _with_stressed_asset_correlation(spec: Spec) -> Spec:
    """``spec`` with its companies' copula correlation at least the Basel corporate maximum
    (``default_model.asset_correlation``; the section validated on its own, as the regime's)."""
    section = spec.default_model.model_dump() if spec.default_model is not None else {}
    current = section.get("asset_correlation")
    if current is None or current >= DEFAULT_ASSET_CORRELATION:  # None: the default, 0.24
        return spec
    model = DefaultModelSpec.model_validate(
        {**section, "asset_correlation": DEFAULT_ASSET_CORRELATION}
    )
    return spec.model_copy(update={"default_model": model})


def _converged(params: FactorParams) -> FactorParams:
    c = params.correlation

    def both(pair: tuple[float, float]) -> tuple[float, float]:
        top = max(pair, key=abs)
        return (top, top)

    correlation = CorrelationParams(
        both(c.rent_rent), both(c.rent_util), both(c.rent_sofr), both(c.util_sofr)
    )
    window = dataclasses.replace(params.credit_window, glut_multiplier=CONVERGED_GLUT_MULTIPLIER)
    return dataclasses.replace(params, correlation=correlation, credit_window=window)


def _converged_miner(conv: ConvergenceParams) -> ConvergenceParams:
    rho = max(conv.stress_correlation, DEFAULT_STRESS_CORRELATION)
    return dataclasses.replace(conv, btc_rent=rho, stress_correlation=rho, enabled=True)


def _crypto_winter(market: MinerMarketParams) -> MinerMarketParams:
    fig = replay_figures()
    return dataclasses.replace(
        market,
        btc_log_shift=(fig.btc_log_change / 12.0,) * 12,
        hashrate_log_shift=(fig.hashrate_log_change / 12.0,) * 12,
    )


# --- the registry -----------------------------------------------------------------------------


def _same(x: Any, *_: Any) -> Any:
    return x


@dataclass(frozen=True, slots=True)
class NamedScenario:
    """One named stress scenario: what it is, and the pure transforms that make it.

    Attributes
    ----------
    name : str
        The name ``--scenario`` takes.
    title : str
        A few words.
    template : str
        The definition, with ``{figure}`` fields filled from :func:`replay_figures`
        (:attr:`definition`).
    params : callable
        ``(FactorParams, spec) -> FactorParams``: the GPU factors (rents, regime chain,
        utilisation, SOFR, correlations, credit window), spec as given to the run.
    spec : callable
        ``(spec) -> spec``: the deal or miner spec (its ``regime`` section).
    market : callable
        ``(MinerMarketParams) -> MinerMarketParams``: the miner market (miners only).
    convergence : callable
        ``(ConvergenceParams) -> ConvergenceParams``: a miner's correlations with bitcoin.
    largest_tenant_default : bool
        The deal's (or miner's hosting) largest tenant by contracted revenue defaults in
        month 1 (``pipeline.named``).
    """

    name: str
    title: str
    template: str
    params: Callable[[FactorParams, DealSpec | MinerSpec], FactorParams] = _same
    spec: Callable[[Any], Any] = _same
    market: Callable[[MinerMarketParams], MinerMarketParams] = _same
    convergence: Callable[[ConvergenceParams], ConvergenceParams] = _same
    largest_tenant_default: bool = False

    @property
    def definition(self) -> str:
        """One paragraph: what the scenario does, in numbers, with their sources."""
        return self.template.format(**replay_figures().as_text())

    def deal_inputs(self, deal: DealSpec, params: FactorParams) -> tuple[DealSpec, FactorParams]:
        """A deal's spec and factor parameters under this scenario."""
        return self.spec(deal), self.params(params, deal)

    def miner_inputs(
        self, spec: MinerSpec, params: FactorParams, market: MinerMarketParams
    ) -> tuple[MinerSpec, FactorParams, MinerMarketParams]:
        """A miner's spec, GPU factor parameters and miner market under this scenario."""
        return self.spec(spec), self.params(params, spec), self.market(market)


def _glut_params(params: FactorParams, spec: DealSpec | MinerSpec) -> FactorParams:
    regap = _effective_initial(params, spec) == TIGHT
    return _glut_steps(params, spec.as_of, regap)


def _cycle_params(params: FactorParams, spec: DealSpec | MinerSpec) -> FactorParams:
    shocked = _rate_shock(_credit_shut(params))
    start = _add_months(spec.as_of, CREDIT_LEAD_MONTHS)
    return _step_down(_glut_steps(shocked, start, regap=False), spec.as_of)


_GLUT_TEXT = (
    "A replay of the 2024-25 GPU rent decline. The GPU market starts in the glut regime "
    "(utilisation, rent volatility, correlations, tenant hazards and the credit window's glut "
    "link at their glut values from month 1, switching out at the calibrated rate) and every "
    "generation's rent trend falls by the H100 rent index's observed log fall, spread evenly "
    "over {glut_months} months ({glut_per_month} a month) on top of the model's noise and "
    "its own decay: from the 2023 peak {peak} USD/GPU-hour ({peak_month}) to the glut low "
    "{low} ({low_month}), ln({peak}/{low}) = {glut_fall} (monthly on-demand index of "
    "data/gpu_prices_epoch.csv, gpu_rental_marketplace_2025.csv and "
    "gpu_rental_observations_2026.csv, docs/rent_index.md; window 2024-01..2025-12, the glut "
    "of factors/defaults.py). Today's rent stays the observed anchor; the trend is moved so "
    "that after {glut_months} months it stands {glut_fall} below the base case's."
)

SCENARIOS: tuple[NamedScenario, ...] = (
    NamedScenario(
        BASE,
        "the calibrated model",
        "The calibrated model, unchanged: the factor parameters of the run's calibration "
        "(docs/calibration.md) and the spec as written. Every other scenario is this one with "
        "its stated change, on the same seed and paths.",
    ),
    NamedScenario(
        "gpu-glut",
        "GPU glut: the 2024-25 rent decline replayed",
        _GLUT_TEXT,
        params=_glut_params,
        spec=_with_glut_start,
    ),
    NamedScenario(
        "crypto-winter",
        "crypto winter: 2022 bitcoin and hashprice replayed",
        "A replay of 2022 for miners: bitcoin's observed log change over 2022, "
        "ln({btc_end}/{btc_start}) = {btc_change} (Coin Metrics PriceUSD on 2021-12-31 and "
        "2022-12-31, data/btc_daily.csv), and hashprice's, ln({hp_end}/{hp_start}) = "
        "{hp_change} USD/PH/day (data/btc_hashprice_daily.csv), imposed as a drift over the "
        "first 12 months on top of the model's: the price's log return falls by {btc_change}/12 "
        "a month and the network hash rate grows by an extra {hr_change}/12 a month (the growth "
        "that with the price's fall gives hashprice's, fees and subsidy as modelled). "
        "Volatility, jumps and correlations stay the calibrated ones. A GPU deal has no bitcoin "
        "or mining exposure in this model, so for it this scenario changes nothing and equals "
        "the base case.",
        market=_crypto_winter,
    ),
    NamedScenario(
        "correlation-convergence",
        "correlation convergence in every month",
        "Every cross-factor correlation at its stressed level in every month, not only in a "
        "glut: each pair of the GPU shocks at the larger of its two regime values, GPU rent "
        f"with rent {RHO_RENT_RENT[1]:.2f} and rent with utilisation {RHO_RENT_UTIL[1]:.2f} "
        "with the sourced defaults (their glut values, factors/defaults.py: the seed "
        "article's convergence; rates stay uncorrelated, no sourced co-movement), and for a "
        "miner bitcoin with GPU rent at the stress "
        f"correlation, at least {DEFAULT_STRESS_CORRELATION} (IMF Blog 2022-01-11: daily BTC "
        "and S&P 500 moves in 2020-21; the miner's hosting tenants' default factor is that rent "
        "path). The regime chains move together: the credit window's glut multiplier is "
        f"{CONVERGED_GLUT_MULTIPLIER:,.0f} (ASSUMPTION: the comonotone end), so the window "
        "shuts almost only in a GPU glut, at the same long-run rate. The tenants' default "
        "factor: their one-factor copula correlation is at least the Basel II corporate "
        f"maximum {DEFAULT_ASSET_CORRELATION} (BIS 2005, the calibrated default; a deal that "
        "sets a lower one is raised to it).",
        params=lambda p, _s: _converged(p),
        spec=_with_stressed_asset_correlation,
        convergence=_converged_miner,
    ),
    NamedScenario(
        "next-gen-step-down",
        "next-generation step-down: the Rubin ramp",
        "The next generation's ramp (Rubin, volume shipment planned H2 2026, 2026-10-01 in "
        "config/presets/generations.yaml after data/gpu_generations.csv; a year after the "
        "table's last date for a later as-of date, Nvidia's annual cadence, REFERENCES.md) "
        "steps every older generation's rent trend down by {step_fall} in that month, on top "
        "of the model's own successor ramp: the H100 rent index's fall when B200 shipped, the "
        "median over the 12 months before B200's volume date (2024-10-01) {before} "
        "USD/GPU-hour against the 12 months from it {after}, ln({before}/{after}) = "
        "{step_fall} (the ramp 'through 2025' of data/gpu_generations.csv).",
        params=lambda p, s: _step_down(p, s.as_of),
    ),
    NamedScenario(
        "rate-shock",
        "rate shock: SOFR +300 bp",
        f"SOFR {RATE_SHOCK * 1e4:+.0f} bp from month 1: the short-rate model's starting value "
        "and long-run level both rise by 300 bp (the issue's size), so every path's SOFR is "
        "300 bp higher (the floor at zero aside); volatility and mean reversion unchanged. "
        "Floating coupons, the discounting of cash flows and refinancing (priced as SOFR plus "
        "the facility's refinancing spread) rise with it; fixed coupons do not.",
        params=lambda p, _s: _rate_shock(p),
    ),
    NamedScenario(
        "largest-tenant-default",
        "largest tenant defaults in month 1",
        "The deal's largest tenant by contracted revenue (units x contract rate x months "
        "active, summed over its contracts) defaults in month 1 on every path: its monthly "
        f"hazard is set to {FORCED_DEFAULT_HAZARD:g} (it survives the month with probability "
        "exp(-50), about 2e-22). Its guarantor, if any, still pays as the spec's guarantee "
        "is written (share, cap, end date) until it defaults itself; the fleet is re-let at "
        "market after the deal's re-lease downtime. A deal without contracts equals the base "
        "case. For a miner, the hosting tenant with the most contracted lease payments "
        "defaults in month 1 on every lease it holds (its backstop paying as written).",
        largest_tenant_default=True,
    ),
    NamedScenario(
        "credit-window-shut",
        "credit window shut for the whole horizon",
        "The credit market's refinancing window is shut on the as-of date and never reopens: "
        "the window's chain starts shut with a monthly chance of opening of 0 over the whole "
        "horizon (in the calibration a month is shut when the ICE BofA US High Yield OAS, "
        f"data/hy_oas_monthly.csv, is above its {SHUT_QUANTILE * 100:.0f}th percentile, "
        "docs/calibration.md; only the state and the chance of reopening change): every "
        "refinancing that needs an open market fails, so a balloon falls on the borrower's "
        "cash and collateral. A single loan without a refinancing "
        "step is not affected.",
        params=lambda p, _s: _credit_shut(p),
    ),
    NamedScenario(
        "credit-cycle-first",
        "the credit cycle peaks before the technology cycle",
        "The seed article's warning, timed: the credit cycle turns first. From month 1 the "
        "credit window is shut for the whole horizon and SOFR is 300 bp higher "
        "(credit-window-shut and rate-shock); "
        f"{CREDIT_LEAD_MONTHS} months later (ASSUMPTION: a one-year lead, shorter than the 22 "
        "months between the Fed's first 2022 hike, 2022-03-16, and the start of the 2024-25 "
        "glut) the technology cycle turns: every generation's rent trend falls by the glut "
        "replay's {glut_fall} over {glut_months} months (gpu-glut's fall, the regime chain "
        "left to switch on its own), and the next generation's step-down of {step_fall} lands "
        "at its volume date (next-gen-step-down).",
        params=_cycle_params,
    ),
)


def scenario_names() -> tuple[str, ...]:
    """The names of :data:`SCENARIOS`, in order."""
    return tuple(s.name for s in SCENARIOS)


def get_scenario(name: str) -> NamedScenario:
    """The scenario called ``name``.

    Raises
    ------
    SpecError
        An unknown name: the message names ``--scenario``, the value and the names known.
    """
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    issue = SpecIssue("--scenario", name, f"one of {', '.join(scenario_names())}")
    raise SpecError("command line", [issue])
