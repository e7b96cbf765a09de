"""Secondary market for repossessed collateral, and the lender's liquidation strategy.

At default the lender takes the GPUs (or mining rigs) and sells them into a market that can
absorb only so many used units a month. This package prices that sale; ``docs/liquidation.md``
states the equations, every parameter and its source.

Market (one per pool of interchangeable hardware, shared by every seller in it):

* **Reference price** ``P``, USD per unit: what a buyer can earn with the unit (the engine's
  income-approach value per unit on the path), times a condition factor; optionally capped by
  the SpotWire vintage curve x purchase price. It decays at the buyer's trend decline ``d``
  (log per month) while the lender waits: ``P_t = P exp(-d t)``.
* **Absorption** ``A``, units per month: the installed base of the pool
  (``gpucredit.market.shipments``) x a monthly turnover share (ASSUMPTION, see
  ``GPU_MONTHLY_TURNOVER``). It is the pace the market takes at the reference price.
* **Participation** of a sale of ``q`` units over a window of ``w`` days while other sellers
  offer ``O`` units in that month: ``x = q / (A w / D) + O / A`` (``D`` = 30.4375 days; others'
  units are spread evenly over the month). All sellers in a month get the same clearing price.
* **Price impact** ``m(x)`` in ``(0, 1]``, non-increasing in ``x``, floored at
  ``min_price_fraction``:

  - ``isoelastic`` (default): ``m = min(1, x^-gamma)``: buyers take ``A`` units a month at the
    reference price; beyond that pace the price falls along a constant-elasticity demand curve
    (elasticity ``1/gamma``). In log price this is the logarithmic impact law that fits trade
    data better than the square root over five decades of size (Zarinelli, Treccani, Farmer
    and Lillo 2015, "Beyond the square root").
  - ``sqrt``: ``m = 1 - Y sigma sqrt(x)`` (Toth et al. 2011, "Anomalous price impact and the
    critical nature of liquidity"); the coefficient is ``Y sigma``.
  - ``exponential``: ``m = exp(-beta x)`` (Oxford INET fire-sale stress test, where ``beta`` is
    set so that selling 10% of the market lowers the price 10%: ``inet_exponential_coefficient``
    turns that into units of ``x``).

  Each coefficient is fitted by least squares (``calibrate_impact``) so that selling a
  reference lot at the documented sale speeds reproduces the SpotWire liquidation factors
  (orderly 180 d 1.00, broker 90 d 0.85, auction 30 d 0.65, distressed 7 d 0.45). The
  reference lot is six months of absorption, so an orderly sale of it goes at the absorption
  pace. Only the isoelastic law reproduces all four (within 0.005: the published factors fall
  almost exactly as ``(days / 180)^0.24``); the best square-root and exponential fits miss by
  0.11 and 0.14, and are kept as alternatives.

Strategy: the lender chooses how many units to sell each month (and, in each month, a sale
window of 7 days, 30 days or the whole month) to maximise the present value of net proceeds,

``PV = sum_k q_k [ (P e^{-d t_k} m(x_k)(1 - s) - o) v^{t_k} - c a(rho, t_k)
- i P a(rho + d, t_k) ]``

with ``t_k = k - 1 + w_k / D`` the sale time in months, ``v = 1 / (1 + r)`` the lender's
monthly discount factor (``rho = ln(1 + r)``), ``s`` the transaction share (legal, broker or
auction fees), ``o`` the one-off cost per unit (de-racking, logistics, refurbishment), ``c`` the
monthly carry per unit (power and space, from the engine), ``i`` the monthly insurance share of
the price, and ``a(r, t) = (1 - e^{-r t}) / r`` the continuously accrued annuity. Every unit is
sold within the horizon. The objective is a sum of one term per month, so dynamic programming
over the units left, on a grid of ``L / G`` units, gives the exact optimum over schedules on the
grid (``optimal_schedule``); the named speeds (distressed, auction, broker, orderly) are points
of that grid when ``G`` is a multiple of six, so the optimum is never below any of them. Where
the best PV of a lot is not positive the lender abandons it (``SecondaryMarketRecovery``).
Nothing here is random: results are a deterministic function of the inputs.

One idea a file: ``params`` (names, sourced constants, assumptions, costs, ``MarketParams``),
``impact`` (price impact, vintage curve, named speeds, calibration), ``market`` (absorption,
``SecondaryMarket``), ``schedule`` (a schedule's cash flows and the optimal schedule in NumPy:
the oracle), ``schedule_kernel`` (the same compiled with numba: what the engine runs) and
``recovery`` (``SecondaryMarketRecovery``, ``MemoisedRecovery``). Import from the package.
"""

from gpucredit.credit.liquidation.impact import (
    ImpactCalibration,
    asic_market_params,
    calibrate_impact,
    gpu_market_params,
    inet_exponential_coefficient,
    named_schedule,
    price_impact,
    speed_factor,
    vintage_factor,
)
from gpucredit.credit.liquidation.market import SecondaryMarket, absorption_units_per_month
from gpucredit.credit.liquidation.params import (
    ASA_FORCED_TO_ORDERLY,
    ASIC_2022_MONTHLY_DRIFT,
    ASIC_MONTHLY_TURNOVER,
    CORE_SCIENTIFIC_NYDIG,
    DAYS_PER_MONTH,
    DEFAULT_WINDOWS_DAYS,
    GPU_MONTHLY_TURNOVER,
    INET_BETA_PER_MARKET_SHARE,
    S21_RIG_HASHRATE_TH_S,
    SPOTWIRE_VINTAGE_FACTORS,
    LiquidationCosts,
    LiquidationMethod,
    MarketParams,
)
from gpucredit.credit.liquidation.recovery import (
    ASIC_GENERATION,
    CohortCollateral,
    MarketDefaultState,
    MemoisedRecovery,
    RecoveryLiquidation,
    SecondaryMarketRecovery,
)
from gpucredit.credit.liquidation.schedule import Liquidation, liquidate, optimal_schedule

__all__ = [
    "ASA_FORCED_TO_ORDERLY",
    "ASIC_2022_MONTHLY_DRIFT",
    "ASIC_GENERATION",
    "ASIC_MONTHLY_TURNOVER",
    "CORE_SCIENTIFIC_NYDIG",
    "DAYS_PER_MONTH",
    "DEFAULT_WINDOWS_DAYS",
    "GPU_MONTHLY_TURNOVER",
    "INET_BETA_PER_MARKET_SHARE",
    "S21_RIG_HASHRATE_TH_S",
    "SPOTWIRE_VINTAGE_FACTORS",
    "CohortCollateral",
    "ImpactCalibration",
    "Liquidation",
    "LiquidationCosts",
    "LiquidationMethod",
    "MarketDefaultState",
    "MarketParams",
    "MemoisedRecovery",
    "RecoveryLiquidation",
    "SecondaryMarket",
    "SecondaryMarketRecovery",
    "absorption_units_per_month",
    "asic_market_params",
    "calibrate_impact",
    "gpu_market_params",
    "inet_exponential_coefficient",
    "liquidate",
    "named_schedule",
    "optimal_schedule",
    "price_impact",
    "speed_factor",
    "vintage_factor",
]
