"""Shock sources: Monte Carlo draws and deterministic stress paths go through the same code.

A source hands the scenario builder one block of shocks; the builder never knows which kind
it got (STYLE.md 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from gpucredit._typing import Float64Array, Int8Array
from gpucredit.random import Component, draw_paths

__all__ = ["MonteCarloShocks", "ShockSource", "Shocks", "StressPath"]


@dataclass(frozen=True, slots=True)
class Shocks:
    """Shocks of one block of paths.

    Attributes
    ----------
    normals : ndarray, shape (path, month, factor)
        Independent standard normals; the scenario builder correlates them by regime.
    regime_uniforms : ndarray, shape (path, month)
        U(0, 1) draws for the regime chain (ignored when ``regime`` is given).
    tenant_uniforms : ndarray, shape (path, entity)
        U(0, 1] draws, one per entity (the deal's tenants, then its guarantors): each
        entity's own (idiosyncratic) part of its default time; 1.0 means it never defaults.
    regime : ndarray of int8, shape (month,), optional
        A forced regime path (stress scenarios).
    entity_factor : ndarray, shape (path,), optional
        Standard normal systematic factor shared by every entity of a path (the one-factor
        copula of ``assets.fleet.tenant_default_months``); ``None``: entities independent.
    credit_uniforms : ndarray, shape (path, month), optional
        U(0, 1) draws for the credit market's refinancing-window chain; ``None``: the window
        keeps its initial state.
    """

    normals: Float64Array
    regime_uniforms: Float64Array
    tenant_uniforms: Float64Array
    regime: Int8Array | None = None
    entity_factor: Float64Array | None = None
    credit_uniforms: Float64Array | None = None

    @property
    def n_paths(self) -> int:
        return int(self.normals.shape[0])


class ShockSource(Protocol):
    def draw(
        self,
        start: int,
        stop: int,
        n_months: int,
        n_factors: int,
        n_tenants: int,
        n_parents: int = 0,
    ) -> Shocks:
        """Shocks for paths ``[start, stop)``; ``n_tenants`` counts every entity whose default
        is drawn (tenants and guarantors, ``FleetPlan.n_tenants``); ``n_parents`` the parents
        that are neither (``FleetPlan.n_parent_draws``), whose uniforms follow the tenants'."""
        ...


@dataclass(frozen=True, slots=True)
class MonteCarloShocks:
    """Pseudo-random shocks; path ``i`` gets the same numbers whatever the block split.

    The entities' idiosyncratic uniforms come from ``Component.TENANT_UNIFORMS`` and their
    common factor from ``Component.ENTITY_FACTOR``, the credit window's uniforms from
    ``Component.CREDIT_WINDOW``, each stream granule by granule.
    """

    seed: int

    def draw(
        self,
        start: int,
        stop: int,
        n_months: int,
        n_factors: int,
        n_tenants: int,
        n_parents: int = 0,
    ) -> Shocks:
        normals = draw_paths(
            self.seed,
            Component.FACTOR_NORMALS,
            start,
            stop,
            lambda rng, n: rng.standard_normal((n, n_months, n_factors)),
        )
        regime_u = draw_paths(
            self.seed,
            Component.REGIME_UNIFORMS,
            start,
            stop,
            lambda rng, n: rng.random((n, n_months)),
        )
        if n_tenants:
            # 1 - U in (0, 1], so that -log() below is finite
            tenant_u = draw_paths(
                self.seed,
                Component.TENANT_UNIFORMS,
                start,
                stop,
                lambda rng, n: 1.0 - rng.random((n, n_tenants)),
            )
            factor = draw_paths(
                self.seed,
                Component.ENTITY_FACTOR,
                start,
                stop,
                lambda rng, n: rng.standard_normal(n),
            )
        else:
            tenant_u = np.ones((stop - start, 0))
            factor = np.zeros(stop - start)
        if n_parents:  # the parent's uniforms: a stream of their own, the tenants' unchanged
            if not n_tenants:
                factor = draw_paths(
                    self.seed,
                    Component.ENTITY_FACTOR,
                    start,
                    stop,
                    lambda rng, n: rng.standard_normal(n),
                )
            parent_u = draw_paths(
                self.seed,
                Component.PARENT_UNIFORMS,
                start,
                stop,
                lambda rng, n: 1.0 - rng.random((n, n_parents)),
            )
            tenant_u = np.concatenate([tenant_u, parent_u], axis=1)
        credit_u = draw_paths(
            self.seed,
            Component.CREDIT_WINDOW,
            start,
            stop,
            lambda rng, n: rng.random((n, n_months)),
        )
        return Shocks(normals, regime_u, tenant_u, entity_factor=factor, credit_uniforms=credit_u)


@dataclass(frozen=True, slots=True)
class StressPath:
    """One deterministic path: zero shocks, a forced regime, no tenant or guarantor default.

    The credit window keeps its initial state (no credit uniforms).

    ``regime`` gives the regime of each month (0 tight, 1 glut); a shorter list is extended
    with its last value. ``None`` keeps the initial regime throughout.
    """

    regime: tuple[int, ...] | None = None

    def draw(
        self,
        start: int,
        stop: int,
        n_months: int,
        n_factors: int,
        n_tenants: int,
        n_parents: int = 0,
    ) -> Shocks:
        n = stop - start
        regime: Int8Array | None = None
        if self.regime is not None:
            path = list(self.regime)[:n_months]
            path += [path[-1]] * (n_months - len(path))
            regime = np.asarray(path, dtype=np.int8)
        return Shocks(
            normals=np.zeros((n, n_months, n_factors)),
            regime_uniforms=np.ones((n, n_months)),
            tenant_uniforms=np.ones((n, n_tenants + n_parents)),
            regime=regime,
            entity_factor=np.zeros(n),
        )
