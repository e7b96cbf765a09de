"""First-version factor parameters, each with its source.

Numbers read from the shipped data are computed here at run time (rent anchors, SOFR). The
rest are hand-set from the public sources named beside them; where no public series pins a
number down it is marked ASSUMPTION, with the reasoning. Calibration from data replaces the
hand-set numbers in a later stage without changing this interface.
"""

from __future__ import annotations

import datetime as dt
import math

from gpucredit.config.presets import generation_presets
from gpucredit.errors import DataError
from gpucredit.factors.credit_window import GLUT_MULTIPLIER, calibrate_credit_window
from gpucredit.factors.params import (
    TIGHT,
    CorrelationParams,
    FactorParams,
    RegimeParams,
    RentParams,
    SofrParams,
    SuccessorStep,
    UtilisationParams,
)
from gpucredit.market.history import Observation, epoch_rent_anchor, rent_anchor, short_rate_on

__all__ = ["PRIOR_RENT_USD_PER_GPU_HOUR", "default_factor_params", "rent_anchor_with_fallback"]

# --- Rent before the data ----------------------------------------------------------------------
# ASSUMPTION (a stated prior, not data): the anchor of a generation's rent when neither the rent
# index nor the Epoch price history has a price in the year before the as-of date (an H100 in
# 2021). 2.00 USD per GPU-hour sits in the 1.70-2.35 range of the 2024-26 H100 market
# (REFERENCES.md). Used only where no cash flow depends on the level: a miner's GPU factor,
# whose rent shocks and regime (not its level) drive the hosting tenants' defaults.
PRIOR_RENT_USD_PER_GPU_HOUR = 2.0

# --- GPU rent trend --------------------------------------------------------------------------
# Total log decline of H100 rent between two tight markets: ~4.70 USD/h in the 2023 launch era
# (Eugene Cheah, "$2 H100s: how the GPU bubble burst", 2024) to the 2026 median of the shipped
# scrape (~2.67, data/gpu_rental_observations_2026.csv) over ~2.75 years:
# ln(4.70 / 2.67) / 2.75 = 0.21 a year; the seed article's 20-40% a year fall in unit inference
# cost (Epoch AI / SemiAnalysis) brackets it.
TOTAL_DECAY_PER_YEAR = 0.21
# Part of that decline comes in steps when a successor ramps (AWS cut P5/H100 on-demand ~44% in
# June 2025 as Blackwell reached volume, REFERENCES.md). ASSUMPTION: half the annual decline is a
# step at each yearly successor ramp, spread over RAMP_MONTHS; the other half is continuous.
SUCCESSOR_LOG_STEP = 0.10
CONTINUOUS_DECAY_PER_YEAR = TOTAL_DECAY_PER_YEAR - SUCCESSOR_LOG_STEP
RAMP_MONTHS = 6  # ASSUMPTION: volume ramps over about two quarters

# --- Regimes ----------------------------------------------------------------------------------
# Tight 2023 (~12 months to the early-2024 price cuts), glut 2024-Q1 to 2025-Q4 (~20 months,
# cycle low 1.70 in Oct 2025, SemiAnalysis via compux.net), tight again from early 2026
# ("The great GPU shortage", SemiAnalysis, March 2026). Mean durations 15 and 20 months give
# monthly exit probabilities 1/15 and 1/20. As of 2026 the market is tight.
P_TIGHT_TO_GLUT = 1.0 / 15.0
P_GLUT_TO_TIGHT = 1.0 / 20.0
# Regime levels of the log deviation: glut low 1.70 vs the 2026 rebound 2.35 (+40%,
# SemiAnalysis) is a log gap of ln(2.35 / 1.70) = 0.32, split symmetrically.
LEVEL_GAP = math.log(2.35 / 1.70)
# Speed and size of rent shocks. Oct 2024: on-demand H100 fell ~30% in two months (SemiAnalysis).
# ASSUMPTION: deviations halve in ~8 months (kappa = ln 2 / 0.67); annual log volatility 0.25
# when tight and 0.40 in a glut, so a two-month 30% fall is a ~2-sigma glut move.
RENT_KAPPA_PER_YEAR = math.log(2.0) / (8.0 / 12.0)
RENT_SIGMA_TIGHT = 0.25
RENT_SIGMA_GLUT = 0.40

# --- Merchant utilisation --------------------------------------------------------------------
# ASSUMPTION: no public utilisation series ships with the project. 85% when tight, 60% in a
# glut; the 2025 marketplace data (data/gpu_rental_marketplace_2025.csv, a glut month) shows
# ~45% of H100 SXM offers in stock, an upper bound on idle capacity listed for rent.
UTIL_TIGHT = 0.85
UTIL_GLUT = 0.60
UTIL_KAPPA_PER_YEAR = math.log(2.0) / (4.0 / 12.0)  # ASSUMPTION: half-life 4 months
UTIL_SIGMA = 0.10  # ASSUMPTION: annual volatility of 10 points

# --- SOFR --------------------------------------------------------------------------------------
# Starts from the last SOFR in data/rates_daily.csv on or before the as-of date. Long-run level
# 3.0%: the FOMC Summary of Economic Projections longer-run median federal funds rate
# (September 2025). ASSUMPTION: half-life ~2.8 years (kappa 0.25) and 1.0% normal volatility a
# year, the order of 1y SOFR swaption normal vols in 2023-2025.
SOFR_LONG_RUN = 0.030
SOFR_KAPPA_PER_YEAR = 0.25
SOFR_SIGMA = 0.010

# --- Correlations of monthly shocks, (tight, glut) ---------------------------------------------
# ASSUMPTION until calibration: generations are rented as substitutes, so their shocks move
# together, more so in a glut; utilisation follows price; rates are independent of GPU shocks.
# The glut matrix is the "correlation convergence" of the seed article.
RHO_RENT_RENT = (0.70, 0.90)
RHO_RENT_UTIL = (0.30, 0.60)
RHO_RENT_SOFR = (0.0, 0.0)
RHO_UTIL_SOFR = (0.0, 0.0)


def rent_anchor_with_fallback(
    generation: str, as_of: dt.date, *, rent_prior: bool = False
) -> tuple[Observation, str]:
    """The rent anchor of ``generation`` on ``as_of`` and how it was found.

    In order: the rent index (:func:`~gpucredit.market.history.rent_anchor`); before it, the
    Epoch GPU price history of every variant (``epoch_rent_anchor``); before that, when
    ``rent_prior`` is true, the stated prior ``PRIOR_RENT_USD_PER_GPU_HOUR`` (an assumption).
    Otherwise ``DataError`` names the missing series. Only data dated on or before ``as_of``.

    Returns
    -------
    (Observation, str)
        The anchor (USD per GPU-hour, its date) and its source note.
    """
    try:
        anchor = rent_anchor(generation, as_of)
        return anchor, (
            f"median of {anchor.n_obs} on-demand observations in the 60 days to {anchor.date} "
            f"({anchor.source})"
        )
    except DataError as missing:
        try:
            anchor = epoch_rent_anchor(generation, as_of)
        except DataError:
            if not rent_prior:
                raise missing from None
            prior = Observation(PRIOR_RENT_USD_PER_GPU_HOUR, as_of, 0, "stated prior")
            return prior, (
                f"ASSUMPTION: no {generation} rent in the index or the Epoch price history in "
                f"the year before {as_of}; stated prior {PRIOR_RENT_USD_PER_GPU_HOUR:.2f} "
                "USD/GPU-hour (factors/defaults.py; no cash flow of this model uses the level)"
            )
        return anchor, (
            f"fallback before the rent index: median of {anchor.n_obs} Epoch on-demand prices "
            f"in the 60 days to {anchor.date} ({anchor.source})"
        )


def default_factor_params(
    generations: tuple[str, ...], as_of: dt.date, *, rent_prior: bool = False
) -> FactorParams:
    """Factor parameters for the given GPU generations as seen on ``as_of``.

    Rent anchors come from :func:`rent_anchor_with_fallback` (``rent_prior``: whether a stated
    prior may stand in when no rent data precedes ``as_of``); the initial SOFR from
    :func:`~gpucredit.market.history.short_rate_on` (a 3-month Treasury proxy before 2018-04).
    """
    presets = generation_presets()
    level_tight = LEVEL_GAP / 2.0
    level_glut = -LEVEL_GAP / 2.0
    rents: list[RentParams] = []
    sources: dict[str, str] = {}
    for gen in generations:
        anchor, note = rent_anchor_with_fallback(gen, as_of, rent_prior=rent_prior)
        successors: list[SuccessorStep] = []
        nxt = presets[gen].successor
        while nxt is not None:
            preset = presets[nxt]
            if preset.volume_date > anchor.date:
                successors.append(
                    SuccessorStep(nxt, preset.volume_date, SUCCESSOR_LOG_STEP, RAMP_MONTHS)
                )
            nxt = preset.successor
        rents.append(
            RentParams(
                generation=gen,
                anchor_usd_per_gpu_hour=anchor.value,
                anchor_date=anchor.date,
                decay_per_year=CONTINUOUS_DECAY_PER_YEAR,
                kappa_per_year=RENT_KAPPA_PER_YEAR,
                level_tight=level_tight,
                level_glut=level_glut,
                sigma_tight=RENT_SIGMA_TIGHT,
                sigma_glut=RENT_SIGMA_GLUT,
                successors=tuple(successors),
            )
        )
        sources[f"rent.{gen}.anchor"] = note
    sofr = short_rate_on(as_of)
    sources["sofr.initial"] = f"{sofr.source}, {sofr.date}"
    window = calibrate_credit_window(as_of)
    sources["credit_window"] = (
        f"{window.source}; glut multiplier {GLUT_MULTIPLIER:g} (an assumption: no joint history)"
    )
    return FactorParams(
        regime=RegimeParams(P_TIGHT_TO_GLUT, P_GLUT_TO_TIGHT, initial=TIGHT),
        rents=tuple(rents),
        utilisation=UtilisationParams(UTIL_TIGHT, UTIL_GLUT, UTIL_KAPPA_PER_YEAR, UTIL_SIGMA),
        sofr=SofrParams(sofr.value, sofr.date, SOFR_LONG_RUN, SOFR_KAPPA_PER_YEAR, SOFR_SIGMA),
        correlation=CorrelationParams(RHO_RENT_RENT, RHO_RENT_UTIL, RHO_RENT_SOFR, RHO_UTIL_SOFR),
        sources=sources,
        credit_window=window.to_params(),
    )
