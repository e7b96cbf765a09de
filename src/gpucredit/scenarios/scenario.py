"""Scenario sets: the factor paths of a block, (path, month[, generation]).

``simulate_scenarios`` runs the regime chain, the correlation of the shocks and every
factor's OU recursion in one compiled pass over paths and months (``nogil``: blocks run on
every core); ``simulate_scenarios_reference`` composes the NumPy reference kernels of
``factors.processes`` and is what the oracle tests hold the fast one to (STYLE.md 6).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numba
import numpy as np

from gpucredit._typing import Float64Array, Int8Array
from gpucredit.factors.credit_window import credit_window_paths, credit_window_paths_reference
from gpucredit.factors.params import GLUT, TIGHT, FactorParams
from gpucredit.factors.processes import (
    initial_level,
    log_rent_trend,
    markov_regimes,
    markov_regimes_reference,
    ou_coefficients,
    ou_exact_reference,
    ou_step,
    regime_levels,
)
from gpucredit.scenarios.grid import TimeGrid
from gpucredit.scenarios.shocks import Shocks

__all__ = ["ScenarioSet", "n_factors", "simulate_scenarios", "simulate_scenarios_reference"]


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
    tenant_uniforms : ndarray, shape (path, entity)
        Idiosyncratic uniform draws behind each entity's (tenant's, then guarantor's) default
        time (``Shocks.tenant_uniforms``).
    entity_factor : ndarray, shape (path,), optional
        The systematic normal factor of the entities' default copula; ``None``: independent.
    credit_shut : ndarray of int8, shape (path, month), optional
        The credit market's refinancing window: 0 open, 1 shut
        (``factors.credit_window``); ``None``: open throughout.
    """

    generations: tuple[str, ...]
    regime: Int8Array
    rent: Float64Array
    utilisation: Float64Array
    sofr: Float64Array
    tenant_uniforms: Float64Array
    entity_factor: Float64Array | None = None
    credit_shut: Int8Array | None = None

    @property
    def n_paths(self) -> int:
        return int(self.regime.shape[0])

    @property
    def n_months(self) -> int:
        return int(self.regime.shape[1])

    def credit_window(self) -> Int8Array:
        """The refinancing window, shape (path, month): 0 open, 1 shut (zeros when absent)."""
        if self.credit_shut is None:
            return np.zeros(self.regime.shape, dtype=np.int8)
        return self.credit_shut

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


def _check_shape(params: FactorParams, grid: TimeGrid, shocks: Shocks) -> None:
    n_gen = len(params.rents)
    if shocks.normals.shape[1:] != (grid.n_months, n_gen + 2):
        raise ValueError(
            f"shocks have shape {shocks.normals.shape}, expected (path, {grid.n_months}, "
            f"{n_gen + 2})"
        )


def _regimes(params: FactorParams, grid: TimeGrid, shocks: Shocks, *, reference: bool) -> Int8Array:
    if shocks.regime is not None:
        return np.broadcast_to(shocks.regime, (shocks.n_paths, grid.n_months)).astype(np.int8)
    if reference:
        return markov_regimes_reference(params.regime, shocks.regime_uniforms)
    return markov_regimes(params.regime, shocks.regime_uniforms)


@numba.njit(cache=True, nogil=True)
def _scenario_kernel(
    regime: Int8Array,
    normals: Float64Array,
    chol: tuple[float, ...],
    drift: tuple[float, ...],
    vol: tuple[float, ...],
    a: tuple[float, ...],
    x0: tuple[float, ...],
    trend: Float64Array,
    rent: Float64Array,
    util: Float64Array,
    sofr: Float64Array,
) -> None:
    """Fill ``rent``, ``util``, ``sofr`` path by path, month by month.

    Factor order: rents, utilisation, SOFR (F factors). ``chol[(r F + k) F + j]`` is the
    Cholesky factor of regime ``r``; ``drift[2 k + r] = (1 - a_k) mean_k[r]``,
    ``vol[2 k + r] = scale_k sigma_k[r]``; ``a``, ``x0`` per factor; ``trend`` (generation,
    month), log USD/h. The constants come as tuples so that numba compiles one kernel per
    factor count with the factor loops unrolled. Every product and sum is the reference's.
    """
    n_paths, n_months = regime.shape
    n_f = len(x0)
    n_gen = n_f - 2
    state = np.empty(n_f)
    for p in range(n_paths):
        for k in range(n_f):
            state[k] = x0[k]
        for t in range(n_months):
            r = 1 if regime[p, t] == GLUT else 0
            for k in range(n_f):
                # shock k correlated as _correlate does: zero entries skipped, j in order
                z = 0.0
                row = (r * n_f + k) * n_f
                for j in range(k + 1):
                    c = chol[row + j]
                    if c != 0.0:
                        z += c * normals[p, t, j]
                x = ou_step(state[k], drift[2 * k + r], vol[2 * k + r], z, a[k])
                state[k] = x
                if k < n_gen:
                    rent[p, t, k] = math.exp(trend[k, t] + x)
                elif k == n_gen:
                    util[p, t] = min(max(x, 0.0), 1.0)
                else:
                    sofr[p, t] = max(x, 0.0)


def simulate_scenarios(params: FactorParams, grid: TimeGrid, shocks: Shocks) -> ScenarioSet:
    """Turn one block of shocks into factor paths.

    The regime chain runs first; the independent normals are then correlated with the
    Cholesky factor of the regime each path is in that month, so correlations converge in a
    glut; each factor's OU recursion runs with the regime's mean and volatility. One compiled
    pass; bit-identical to ``simulate_scenarios_reference`` where NumPy's ``exp`` is the C
    library's (it is unless NumPy uses its AVX-512 kernels).
    """
    _check_shape(params, grid, shocks)
    regime = np.ascontiguousarray(_regimes(params, grid, shocks, reference=False))
    n_paths, n_months = shocks.n_paths, grid.n_months
    n_gen = len(params.rents)
    up, sp = params.utilisation, params.sofr
    initial = params.regime.initial
    chol = np.stack([params.correlation.cholesky(n_gen, r) for r in (TIGHT, GLUT)])
    # per factor: (mean tight, mean glut), (sigma tight, sigma glut), kappa, initial value
    factors = [
        (
            (rp.level_tight, rp.level_glut),
            (rp.sigma_tight, rp.sigma_glut),
            rp.kappa_per_year,
            initial_level(rp, initial),
        )
        for rp in params.rents
    ]
    u0 = up.mean_glut if initial == GLUT else up.mean_tight
    factors.append(((up.mean_tight, up.mean_glut), (up.sigma, up.sigma), up.kappa_per_year, u0))
    factors.append(
        ((sp.long_run, sp.long_run), (sp.sigma, sp.sigma), sp.kappa_per_year, sp.initial)
    )
    drift: list[float] = []
    vol: list[float] = []
    a_list: list[float] = []
    for mean, sigma, kappa, _ in factors:
        a, one_minus_a, scale = ou_coefficients(kappa, grid.dt_years)
        a_list.append(a)
        drift += [one_minus_a * float(m) for m in mean]
        vol += [scale * float(s) for s in sigma]
    trend = np.array(
        [log_rent_trend(rp, grid.as_of, grid.t_years, initial) for rp in params.rents],
        dtype=np.float64,
    ).reshape(n_gen, n_months)
    rent = np.empty((n_paths, n_months, n_gen))
    util = np.empty((n_paths, n_months))
    sofr = np.empty((n_paths, n_months))
    _scenario_kernel(
        regime,
        np.ascontiguousarray(shocks.normals, dtype=np.float64),
        tuple(float(c) for c in chol.reshape(-1)),
        tuple(drift),
        tuple(vol),
        tuple(a_list),
        tuple(float(f[3]) for f in factors),
        trend,
        rent,
        util,
        sofr,
    )
    return ScenarioSet(
        generations=params.generations,
        regime=regime,
        rent=rent,
        utilisation=util,
        sofr=sofr,
        tenant_uniforms=shocks.tenant_uniforms,
        entity_factor=shocks.entity_factor,
        credit_shut=credit_window_paths(
            params.credit_window, params.regime, regime, shocks.credit_uniforms
        ),
    )


def simulate_scenarios_reference(
    params: FactorParams, grid: TimeGrid, shocks: Shocks
) -> ScenarioSet:
    """``simulate_scenarios`` composed of the plain NumPy reference kernels (for tests)."""
    _check_shape(params, grid, shocks)
    regime = _regimes(params, grid, shocks, reference=True)
    n_paths = shocks.n_paths
    n_gen = len(params.rents)

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
        deviation = ou_exact_reference(
            y0, mean, sigma, rp.kappa_per_year, grid.dt_years, z[:, :, i]
        )
        trend = log_rent_trend(rp, grid.as_of, t_years, params.regime.initial)
        rent[:, :, i] = np.exp(trend[None, :] + deviation)

    up = params.utilisation
    u_mean = np.where(regime == GLUT, up.mean_glut, up.mean_tight)
    u0 = up.mean_glut if params.regime.initial == GLUT else up.mean_tight
    u_sigma = np.full(regime.shape, up.sigma)
    util = ou_exact_reference(u0, u_mean, u_sigma, up.kappa_per_year, grid.dt_years, z[:, :, n_gen])
    util = np.clip(util, 0.0, 1.0)

    sp = params.sofr
    s_mean = np.full(regime.shape, sp.long_run)
    s_sigma = np.full(regime.shape, sp.sigma)
    sofr = ou_exact_reference(
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
        entity_factor=shocks.entity_factor,
        credit_shut=credit_window_paths_reference(
            params.credit_window, params.regime, regime, shocks.credit_uniforms
        ),
    )
