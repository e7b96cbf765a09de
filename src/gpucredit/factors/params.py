"""Factor-model parameters: calibrated or sourced numbers, never fitted state (STYLE.md 2).

Time is in years, rates are decimals, rents are USD per GPU-hour. The regime is shared by
every factor: state 0 = *tight* (calm), state 1 = *glut* (stress).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from gpucredit._typing import Float64Array

__all__ = [
    "GLUT",
    "OPEN",
    "SHUT",
    "TIGHT",
    "CorrelationParams",
    "CreditWindowParams",
    "FactorParams",
    "RegimeParams",
    "RentParams",
    "SofrParams",
    "SuccessorStep",
    "UtilisationParams",
]

TIGHT = 0
GLUT = 1
#: States of the credit market's refinancing window.
OPEN = 0
SHUT = 1


@dataclass(frozen=True, slots=True)
class RegimeParams:
    """Two-state Markov chain, monthly switching probabilities."""

    p_tight_to_glut: float
    p_glut_to_tight: float
    initial: int = TIGHT

    def __post_init__(self) -> None:
        for name in ("p_tight_to_glut", "p_glut_to_tight"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"RegimeParams.{name} = {value}: expected a probability in [0, 1]")
        if self.initial not in (TIGHT, GLUT):
            raise ValueError(
                f"RegimeParams.initial = {self.initial}: expected 0 (tight) or 1 (glut)"
            )


@dataclass(frozen=True, slots=True)
class CreditWindowParams:
    """The credit market's refinancing window: a two-state monthly chain (0 open, 1 shut).

    Its own driver, not the GPU regime: refinancing fails only while it is shut. It leans on
    the GPU regime through the chance of shutting: ``p_open_to_shut`` is the average over the
    GPU chain's stationary distribution, split so that a month in a GPU glut is
    ``glut_multiplier`` times as likely to shut the window as a month in a tight market
    (:meth:`p_open_to_shut_by_regime`). ``glut_multiplier = 1``: independent of the GPU regime.
    """

    p_open_to_shut: float
    p_shut_to_open: float
    initial: int = OPEN
    glut_multiplier: float = 1.0

    def __post_init__(self) -> None:
        for name in ("p_open_to_shut", "p_shut_to_open"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"CreditWindowParams.{name} = {value}: expected a probability in [0, 1]"
                )
        if self.initial not in (OPEN, SHUT):
            raise ValueError(
                f"CreditWindowParams.initial = {self.initial}: expected 0 (open) or 1 (shut)"
            )
        if not self.glut_multiplier >= 1.0:
            raise ValueError(
                f"CreditWindowParams.glut_multiplier = {self.glut_multiplier}: expected >= 1"
            )

    def p_open_to_shut_by_regime(self, regime: RegimeParams) -> tuple[float, float]:
        """Monthly chance that an open window shuts, ``(in a tight month, in a glut month)``.

        ``pi_tight * p_tight + pi_glut * p_glut = p_open_to_shut`` over the GPU chain's
        stationary distribution, with ``p_glut = glut_multiplier * p_tight`` (each capped at 1).
        """
        total = regime.p_tight_to_glut + regime.p_glut_to_tight
        pi_glut = regime.p_tight_to_glut / total if total > 0.0 else 0.0
        p_tight = self.p_open_to_shut / (1.0 - pi_glut + self.glut_multiplier * pi_glut)
        return min(p_tight, 1.0), min(self.glut_multiplier * p_tight, 1.0)


@dataclass(frozen=True, slots=True)
class SuccessorStep:
    """A successor generation's ramp: the trend steps down by ``log_step`` over ``ramp_months``."""

    generation: str
    volume_date: dt.date
    log_step: float
    ramp_months: int


@dataclass(frozen=True, slots=True)
class RentParams:
    """Log rent of one generation: trend + regime-switching Ornstein-Uhlenbeck deviation.

    ``log R_t = log trend_t + y_t`` where the trend falls at ``decay_per_year`` (continuous
    part) and steps down by each successor's ``log_step``, and
    ``dy = kappa (level[s_t] - y) dt + sigma[s_t] dW``. The trend is anchored so that the
    anchor price equals the trend times ``exp(level[initial regime])`` on ``anchor_date``.
    """

    generation: str
    anchor_usd_per_gpu_hour: float
    anchor_date: dt.date
    decay_per_year: float
    kappa_per_year: float
    level_tight: float
    level_glut: float
    sigma_tight: float
    sigma_glut: float
    successors: tuple[SuccessorStep, ...] = ()
    #: Extra trend steps a named stress scenario imposes (``scenarios.named``): applied by
    #: ``log_rent_trend`` exactly as ``successors``, but no part of what a buyer extrapolates
    #: (``buyer_decay_per_year``): a stress is a market path, not a belief. Empty: no stress.
    stress_steps: tuple[SuccessorStep, ...] = ()

    def __post_init__(self) -> None:
        if self.anchor_usd_per_gpu_hour <= 0:
            raise ValueError(f"RentParams({self.generation}).anchor must be > 0")
        if self.kappa_per_year <= 0 or self.sigma_tight < 0 or self.sigma_glut < 0:
            raise ValueError(f"RentParams({self.generation}): kappa > 0 and sigmas >= 0 expected")

    @property
    def buyer_decay_per_year(self) -> float:
        """Average log decline a buyer extrapolates: continuous decay plus one successor step
        a year (Nvidia's annual cadence, data/gpu_generations.csv)."""
        steps = [s.log_step for s in self.successors]
        return self.decay_per_year + (float(np.mean(steps)) if steps else 0.0)


@dataclass(frozen=True, slots=True)
class UtilisationParams:
    """Merchant utilisation: OU around a regime mean, clipped to [0, 1]."""

    mean_tight: float
    mean_glut: float
    kappa_per_year: float
    sigma: float


@dataclass(frozen=True, slots=True)
class SofrParams:
    """SOFR as a Vasicek (OU) short rate, floored at zero, decimals per year."""

    initial: float
    initial_date: dt.date
    long_run: float
    kappa_per_year: float
    sigma: float


@dataclass(frozen=True, slots=True)
class CorrelationParams:
    """Shock correlations by regime. Factor order: rents (one per generation), util, SOFR."""

    rent_rent: tuple[float, float]
    rent_util: tuple[float, float]
    rent_sofr: tuple[float, float]
    util_sofr: tuple[float, float]

    def matrix(self, n_generations: int, regime: int) -> Float64Array:
        """The correlation matrix of the shocks in ``regime``, shape (n_gen + 2, n_gen + 2)."""
        n = n_generations + 2
        corr = np.eye(n)
        g = slice(0, n_generations)
        u, r = n_generations, n_generations + 1
        corr[g, g] = self.rent_rent[regime]
        np.fill_diagonal(corr, 1.0)
        corr[g, u] = corr[u, g] = self.rent_util[regime]
        corr[g, r] = corr[r, g] = self.rent_sofr[regime]
        corr[u, r] = corr[r, u] = self.util_sofr[regime]
        return corr

    def cholesky(self, n_generations: int, regime: int) -> Float64Array:
        corr = self.matrix(n_generations, regime)
        try:
            return np.asarray(np.linalg.cholesky(corr), dtype=np.float64)
        except np.linalg.LinAlgError:
            raise ValueError(
                f"correlation matrix of regime {regime} is not positive definite: {corr.tolist()}"
            ) from None


@dataclass(frozen=True, slots=True)
class FactorParams:
    """Everything the factor models need for one deal's generations."""

    regime: RegimeParams
    rents: tuple[RentParams, ...]
    utilisation: UtilisationParams
    sofr: SofrParams
    correlation: CorrelationParams
    sources: dict[str, str] = field(default_factory=dict)
    #: The refinancing window; always open when omitted (no credit-market risk).
    credit_window: CreditWindowParams = field(default_factory=lambda: CreditWindowParams(0.0, 1.0))

    @property
    def generations(self) -> tuple[str, ...]:
        return tuple(r.generation for r in self.rents)

    def rent(self, generation: str) -> RentParams:
        for r in self.rents:
            if r.generation == generation:
                return r
        raise KeyError(generation)
