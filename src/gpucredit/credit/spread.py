"""Fair spread: the coupon add-on at which the lender's expected discounted cash flows equal the
price paid, solved on the same paths (higher coupons raise debt service and so defaults).

Definitions (decimals per year):

* ``x0``: add-on to the coupon or margin at which the *promised* cash flows, discounted on the
  risk-free (SOFR) paths, are worth the issue price: the default-free benchmark.
* ``x*``: add-on at which the *risky* cash flows (with this deal's defaults and recoveries)
  are worth the issue price.
* market spread = ``-x0`` (what the loan as written pays over risk-free, OID and floor
  included); fair spread = ``x* - x0`` (zero without default risk, about PD x LGD a year
  otherwise); spread gap = market - fair = ``-x*``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scipy.optimize import brentq

__all__ = ["SpreadSolution", "solve_spreads"]

#: Search range of the risky add-on above x0; beyond it no coupon repays the price.
MAX_FAIR_SPREAD = 0.30
#: Tolerance of the solved add-ons: 1e-7 = 0.001 bp.
XTOL = 1e-7


@dataclass(frozen=True, slots=True)
class SpreadSolution:
    riskless_add_on: float
    risky_add_on: float | None
    market_spread: float
    fair_spread: float | None
    spread_gap: float | None
    evaluations: int


def solve_spreads(
    pv_riskless: Callable[[float], float],
    pv_risky: Callable[[float], float],
    price: float,
) -> SpreadSolution:
    """Solve both add-ons; ``pv_*(x)`` is the mean discounted value per unit of par."""
    calls = 0

    def f0(x: float) -> float:
        nonlocal calls
        calls += 1
        return pv_riskless(x) - price

    def f1(x: float) -> float:
        nonlocal calls
        calls += 1
        return pv_risky(x) - price

    lo, hi = -0.5, 0.5
    x0 = float(brentq(f0, lo, hi, xtol=XTOL))
    at_x0 = f1(x0)
    if at_x0 >= 0.0:
        # No expected loss at the benchmark coupon: no default risk to pay for.
        return SpreadSolution(x0, x0, -x0, 0.0, -x0, calls)
    top = x0 + MAX_FAIR_SPREAD
    if f1(top) < 0.0:
        return SpreadSolution(x0, None, -x0, None, None, calls)
    x1 = float(brentq(f1, x0, top, xtol=XTOL))
    return SpreadSolution(x0, x1, -x0, x1 - x0, -x1, calls)
