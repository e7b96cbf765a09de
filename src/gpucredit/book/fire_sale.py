"""The fire-sale fixed point of a book: every lender's sales of one GPU generation in a month
share that generation's absorption capacity, and the clearing price they make is the mark
every deal uses (appraisals, borrowing bases, LTV covenants, recoveries).

The sales depend on the mark (a lower mark breaks more LTV covenants and borrowing bases, so
more collateral is sold) and the mark on the sales (the price impact of the existing
liquidation model, ``credit.liquidation.price_impact``: the same law and calibration as a
single deal's sale, not a second one). With ``S(m)`` the units all lenders offer at mark
multiplier ``m`` and ``I(q)`` the clearing multiplier of ``q`` units offered against the
generation's absorption, the month's mark solves

    m = I(S(m)).

``S`` is non-increasing in ``m`` and ``I`` non-increasing in ``q``, so ``m -> I(S(m))`` is
non-decreasing: iterating it from ``m = 1`` (no impact) gives a non-increasing sequence,
bounded below by the impact law's floor, that converges to the greatest fixed point (Tarski;
the clearing mechanism of Cifuentes, Shin and Ferrucci, "Liquidity risk and contagion",
JEEA 2005, and the INET fire-sale stress test of REFERENCES.md). The iteration stops on a
path once no generation's multiplier moves by more than ``tolerance``; a path still moving
after ``max_iterations`` is reported as not converged (its last multiplier is kept, an upper
bound of the fixed point).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from gpucredit._typing import BoolArray, Float64Array, Int64Array
from gpucredit.credit.liquidation import MarketParams, SecondaryMarketRecovery, price_impact
from gpucredit.credit.recovery import DefaultState, RecoveryResult

__all__ = [
    "DEFAULT_MAX_ITERATIONS",
    "DEFAULT_TOLERANCE",
    "FireSaleResult",
    "SharedMarketRecovery",
    "fire_sale_fixed_point",
]

#: Convergence of the price multiplier (decimal of the reference price). ASSUMPTION: 1e-10,
#: far below any mark that matters (a 1e-10 move of a 1bn USD fleet's mark is 0.1 USD).
DEFAULT_TOLERANCE = 1e-10
#: Bound on the iterations. ASSUMPTION: 200; a monotone iteration that contracts by 0.8 a step
#: reaches 1e-10 in about 100; more means the sales feed back on the price almost one for one.
DEFAULT_MAX_ITERATIONS = 200


@dataclass(frozen=True, slots=True)
class FireSaleResult:
    """The month's marks after the fire sale.

    Attributes
    ----------
    multiplier : ndarray, shape (path, generation)
        Clearing price as a fraction of the reference price, in ``[floor, 1]``: on a converged
        path the mark its sales were evaluated at (``I`` of them is within ``tolerance`` of
        it), elsewhere the last iterate.
    units_offered : ndarray, shape (path, generation)
        Units all lenders offer at ``multiplier`` on a converged path (at the last iterate's
        predecessor elsewhere).
    iterations : ndarray of int, shape (path,)
        Iterations each path took (``max_iterations`` where it did not converge).
    converged : ndarray of bool, shape (path,)
        Whether the path's multipliers stopped moving within ``tolerance``.
    """

    multiplier: Float64Array
    units_offered: Float64Array
    iterations: Int64Array
    converged: BoolArray

    @property
    def note(self) -> str | None:
        """Why a figure is uncertain: the share of paths that did not converge, or None."""
        missed = int(np.sum(~self.converged))
        if missed == 0:
            return None
        return (
            f"the fire-sale fixed point did not converge on {missed} of {self.converged.size} "
            "paths (their marks are upper bounds)"
        )


def fire_sale_fixed_point(
    units_sold: Callable[[Float64Array], Float64Array],
    absorption_units: Float64Array,
    market: MarketParams,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> FireSaleResult:
    """Solve ``m = I(S(m))`` on every path and generation at once.

    Parameters
    ----------
    units_sold : callable
        ``S``: the mark multipliers, shape (path, generation), to the units all lenders offer
        at them, the same shape, units >= 0; non-increasing in the mark.
    absorption_units : ndarray, shape (path, generation)
        What each generation's market absorbs in the month at the reference price, units.
    market : MarketParams
        The impact law and its floor (``credit.liquidation.gpu_market_params()``).
    tolerance : float
        Largest move of a multiplier between iterations at which a path has converged.
    max_iterations : int
        Bound on the iterations.

    Returns
    -------
    FireSaleResult
        The multipliers, the units offered at them and the convergence report.
    """
    if not tolerance > 0.0 or max_iterations < 1:
        raise ValueError("tolerance must be positive and max_iterations at least 1")
    absorption = np.asarray(absorption_units, dtype=np.float64)
    if absorption.ndim != 2 or not np.all(np.isfinite(absorption)) or np.any(absorption < 0.0):
        raise ValueError("absorption_units must be finite units >= 0 of shape (path, generation)")
    m: Float64Array = np.ones_like(absorption)
    offered: Float64Array = np.zeros_like(absorption)
    n = int(absorption.shape[0])
    done = np.zeros(n, dtype=np.bool_)
    iterations = np.full(n, max_iterations, dtype=np.int64)
    for k in range(1, max_iterations + 1):
        offered_now = _offered(units_sold, m)
        nxt = price_impact(offered_now, absorption, market)
        moved = np.max(np.abs(nxt - m), axis=1)
        live = ~done
        newly = live & (moved <= tolerance)
        # A path that converges keeps the marks its sales were evaluated at (within
        # ``tolerance`` of the next iterate), so that evaluating ``S`` there again gives the
        # same sales: its figures do not depend on how long the other paths take.
        m = np.where((live & ~newly)[:, None], nxt, m)
        offered = np.where(live[:, None], offered_now, offered)
        iterations[newly] = k
        done |= newly
        if done.all():
            break
    return FireSaleResult(
        multiplier=np.asarray(m, dtype=np.float64),
        units_offered=np.asarray(offered, dtype=np.float64),
        iterations=iterations,
        converged=done,
    )


def _offered(units_sold: Callable[[Float64Array], Float64Array], m: Float64Array) -> Float64Array:
    q = np.asarray(units_sold(m), dtype=np.float64)
    if q.shape != m.shape or not np.all(np.isfinite(q)) or np.any(q < 0.0):
        raise ValueError(f"units_sold must return finite units >= 0 of the marks' shape {m.shape}")
    return q


@dataclass(frozen=True, slots=True)
class SharedMarketRecovery:
    """A deal's recovery when the book's other lenders sell into the same markets (implements
    ``credit.recovery.RecoveryModel`` for one block's defaulted paths).

    Each defaulted path's lot is sold by ``market`` as the lender's best response to
    ``others_by_pool``, the units every other lender of the book offers in each calendar
    month (``SecondaryMarketRecovery.liquidate``'s ``other_units``: the same market, its
    absorption shared). The units this lender then offers are written to ``offered`` in
    calendar months, for the book's next round of the fixed point (``pipeline.book``). A sale
    starting in month ``t`` (the state's month) offers its ``k``-th month (0-based) in calendar
    month ``t + k``; months past the book's horizon see no other seller and are not recorded.

    Attributes
    ----------
    market : SecondaryMarketRecovery
        The deal's secondary markets.
    others_by_pool : mapping of str to ndarray, shape (path, month)
        Units the other lenders offer per pool and calendar month, on every path of the block.
    rows : ndarray of int, shape (n,)
        The block path of each defaulted row, in the order of the state's rows.
    offered : dict of str to ndarray, shape (path, month)
        Filled by ``recover``: the units this lender offers per pool and calendar month. A later
        call replaces its rows (a stayed sale prices the sale twice; the second is the one made).
    """

    market: SecondaryMarketRecovery
    others_by_pool: Mapping[str, Float64Array]
    rows: Int64Array
    offered: dict[str, Float64Array] = field(default_factory=dict)

    def recover(self, state: DefaultState) -> RecoveryResult:
        month = np.asarray(state.month, dtype=np.int64)
        if month.shape != self.rows.shape:
            raise ValueError(
                f"SharedMarketRecovery: {month.shape[0]} defaulted paths, {self.rows.size} rows"
            )
        shape = next(iter(self.others_by_pool.values())).shape
        n_cal = int(shape[1])
        h = self.market.horizon_months
        cal = month[:, None] - 1 + np.arange(h, dtype=np.int64)[None, :]
        inside = cal < n_cal
        at = np.minimum(cal, n_cal - 1)
        row = self.rows[:, None]
        others = {
            pool: np.where(inside, np.asarray(units)[row, at], 0.0)
            for pool, units in self.others_by_pool.items()
            if pool in self.market.pools
        }
        liq = self.market.liquidate(state, other_units=others)
        for pool in self.market.pools:
            mine = self.offered.setdefault(pool, np.zeros(shape))
            mine[self.rows] = 0.0
            np.add.at(
                mine,
                (np.broadcast_to(row, at.shape), at),
                np.where(inside, liq.units_offered(pool), 0.0),
            )
        return self.market.finish(self.market.summary_of(liq), state)
