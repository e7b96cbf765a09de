"""Scenario sets: the factor paths of a block, (path, month[, generation])."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from gpucredit._typing import Float64Array, Int8Array
from gpucredit.factors.params import GLUT, FactorParams
from gpucredit.factors.processes import (
    initial_level,
    log_rent_trend,
    markov_regimes,
    ou_exact,
    regime_levels,
)
from gpucredit.scenarios.grid import TimeGrid
from gpucredit.scenarios.shocks import Shocks

__all__ = ["ScenarioSet", "n_factors", "simulate_scenarios"]


@dataclass(frozen=True, slots=True)
class ScenarioSet:
    """Market paths of one block.

    Attributes
    ----------
    generations : tuple of str
        Order of the last axis of ``rent``.
    regime : ndarray of int8, shape (path, month)
        0 tight, 1 glut.
    rent : ndarray, shape (path, month, generation)
        Market rent index, USD per GPU-hour.
    utilisation : ndarray, shape (path, month)
        Merchant utilisation, share of hours rented, in [0, 1].
    sofr : ndarray, shape (path, month)
        SOFR, decimal per year, >= 0.
    tenant_uniforms : ndarray, shape (path, tenant)
        Uniform draws behind each tenant's default time.
    """

    generations: tuple[str, ...]
    regime: Int8Array
    rent: Float64Array
    utilisation: Float64Array
    sofr: Float64Array
    tenant_uniforms: Float64Array

    @property
    def n_paths(self) -> int:
        return int(self.regime.shape[0])

    @property
    def n_months(self) -> int:
        return int(self.regime.shape[1])

    def rent_of(self, generation: str) -> Float64Array:
        """Rent index of one generation, shape (path, month)."""
        return self.rent[:, :, self.generations.index(generation)]

    def with_flat_rent(self, usd_per_gpu_hour: dict[str, float]) -> ScenarioSet:
        """The same scenario with each generation's rent held flat at the given level."""
        rent = np.empty_like(self.rent)
        for i, gen in enumerate(self.generations):
            rent[:, :, i] = usd_per_gpu_hour[gen]
        return dataclasses.replace(self, rent=rent)


def _correlate(normals: Float64Array, chol: Float64Array) -> Float64Array:
    """``normals @ chol.T`` by explicit multiply-adds in a fixed order.

    BLAS may sum in a different order for different block sizes; this keeps every path's
    numbers bit-identical however the paths are split into blocks.
    """
    out = np.zeros_like(normals)
    n = chol.shape[0]
    for k in range(n):
        acc = out[:, :, k]
        for j in range(k + 1):
            if chol[k, j] != 0.0:
                acc += chol[k, j] * normals[:, :, j]
    return out


def n_factors(params: FactorParams) -> int:
    """Shock dimension: one rent shock per generation, utilisation, SOFR."""
    return len(params.rents) + 2


def simulate_scenarios(params: FactorParams, grid: TimeGrid, shocks: Shocks) -> ScenarioSet:
    """Turn one block of shocks into factor paths.

    The regime chain runs first; the independent normals are then correlated with the
    Cholesky factor of the regime each path is in that month, so correlations converge in a
    glut; each factor's OU recursion runs with the regime's mean and volatility.
    """
    n_paths = shocks.n_paths
    n_gen = len(params.rents)
    if shocks.normals.shape[1:] != (grid.n_months, n_gen + 2):
        raise ValueError(
            f"shocks have shape {shocks.normals.shape}, expected (path, {grid.n_months}, "
            f"{n_gen + 2})"
        )
    if shocks.regime is not None:
        regime = np.broadcast_to(shocks.regime, (n_paths, grid.n_months)).astype(np.int8)
    else:
        regime = markov_regimes(params.regime, shocks.regime_uniforms)

    chol_tight = params.correlation.cholesky(n_gen, 0)
    chol_glut = params.correlation.cholesky(n_gen, 1)
    z = np.where(
        (regime == GLUT)[:, :, None],
        _correlate(shocks.normals, chol_glut),
        _correlate(shocks.normals, chol_tight),
    )

    t_years = grid.t_years
    rent = np.empty((n_paths, grid.n_months, n_gen))
    for i, rp in enumerate(params.rents):
        mean, sigma = regime_levels(rp, regime)
        y0 = initial_level(rp, params.regime.initial)
        deviation = ou_exact(y0, mean, sigma, rp.kappa_per_year, grid.dt_years, z[:, :, i])
        trend = log_rent_trend(rp, grid.as_of, t_years, params.regime.initial)
        rent[:, :, i] = np.exp(trend[None, :] + deviation)

    up = params.utilisation
    u_mean = np.where(regime == GLUT, up.mean_glut, up.mean_tight)
    u0 = up.mean_glut if params.regime.initial == GLUT else up.mean_tight
    u_sigma = np.full(regime.shape, up.sigma)
    util = ou_exact(u0, u_mean, u_sigma, up.kappa_per_year, grid.dt_years, z[:, :, n_gen])
    util = np.clip(util, 0.0, 1.0)

    sp = params.sofr
    s_mean = np.full(regime.shape, sp.long_run)
    s_sigma = np.full(regime.shape, sp.sigma)
    sofr = ou_exact(
        sp.initial, s_mean, s_sigma, sp.kappa_per_year, grid.dt_years, z[:, :, n_gen + 1]
    )
    sofr = np.maximum(sofr, 0.0)

    return ScenarioSet(
        generations=params.generations,
        regime=regime,
        rent=rent,
        utilisation=util,
        sofr=sofr,
        tenant_uniforms=shocks.tenant_uniforms,
    )
