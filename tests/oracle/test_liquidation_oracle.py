"""The optimal sale schedule against brute force, and the vectorised kernel against loops."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.integrate import quad

from gpucredit.credit.liquidation import (
    DAYS_PER_MONTH,
    DEFAULT_WINDOWS_DAYS,
    MarketParams,
    gpu_market_params,
    liquidate,
    optimal_schedule,
)


def _naive_multiplier(x: float, params: MarketParams) -> float:
    c = params.impact_coefficient
    if params.impact_kind == "isoelastic":
        m = 1.0 if x <= 1.0 else x**-c
    elif params.impact_kind == "sqrt":
        m = 1.0 - c * math.sqrt(x)
    else:
        m = math.exp(-c * x)
    return min(1.0, max(params.min_price_fraction, m))


def _naive_pv(
    schedule: tuple[float, ...],
    windows: tuple[float, ...],
    *,
    price: float,
    drift: float,
    carry: float,
    rate: float,
    absorption: float,
    others: tuple[float, ...],
    params: MarketParams,
) -> float:
    """PV of a schedule straight from the documented equation, carry integrated by quadrature."""
    costs = params.costs
    one_off = costs.deracking_usd_per_unit + costs.logistics_usd_per_unit
    one_off += costs.refurbishment_usd_per_unit
    ins = costs.insurance_share_per_year / 12.0
    total = 0.0
    for k, (q, w) in enumerate(zip(schedule, windows, strict=True), start=1):
        if q == 0.0:
            continue
        t = k - 1 + w / DAYS_PER_MONTH
        x = q / (absorption * w / DAYS_PER_MONTH) + others[k - 1] / absorption
        price_t = price * math.exp(-drift * t)
        gross = q * price_t * _naive_multiplier(x, params)
        cash_at_sale = gross * (1.0 - costs.transaction_share_of_gross) - q * one_off
        held, _ = quad(
            lambda u: (carry + ins * price * math.exp(-drift * u)) * (1.0 + rate) ** -u,
            0.0,
            t,
            epsabs=1e-13,
            epsrel=1e-13,
        )
        total += cash_at_sale * (1.0 + rate) ** -t - q * held
    return total


def _brute_force(
    units: float, steps: int, horizon: int, **market: object
) -> tuple[float, tuple[float, ...]]:
    best = (-math.inf, ())
    for cut in itertools.combinations_with_replacement(range(steps + 1), horizon - 1):
        bounds = (0, *cut, steps)
        split = tuple(units * (b - a) / steps for a, b in itertools.pairwise(bounds))
        for windows in itertools.product(DEFAULT_WINDOWS_DAYS, repeat=horizon):
            pv = _naive_pv(split, windows, **market)  # type: ignore[arg-type]
            if pv > best[0]:
                best = (pv, split)
    return best


CASES = [
    # (seed, impact kind): inputs drawn so that impact, drift and carry all bind somewhere
    (1, "isoelastic"),
    (2, "isoelastic"),
    (3, "isoelastic"),
    (4, "sqrt"),
    (5, "exponential"),
    (6, "isoelastic"),
]


@pytest.mark.parametrize(("seed", "kind"), CASES)
def test_optimal_schedule_equals_brute_force_on_a_small_grid(seed: int, kind: str) -> None:
    rng = np.random.default_rng(seed)
    params = gpu_market_params(kind)  # type: ignore[arg-type]
    units = float(rng.uniform(500.0, 5000.0))
    market = {
        "price": float(rng.uniform(5000.0, 30000.0)),
        "drift": float(rng.uniform(0.0, 0.05)),
        "carry": float(rng.uniform(0.0, 800.0)),
        "rate": float(rng.uniform(0.0, 0.02)),
        "absorption": units / float(rng.uniform(0.5, 4.0)),
        "others": tuple(float(v) for v in rng.uniform(0.0, 1.0, 3) * units * (seed % 2)),
        "params": params,
    }
    pv, split = _brute_force(units, 6, 3, **market)
    sale = optimal_schedule(
        np.array([units]),
        np.array([market["price"]]),
        market["drift"],  # type: ignore[arg-type]
        market["carry"],  # type: ignore[arg-type]
        market["rate"],  # type: ignore[arg-type]
        np.array([market["absorption"]]),
        3,
        params,
        other_units=np.array([market["others"]]),
        grid_steps=6,
    )
    # closed-form annuities vs adaptive quadrature: agree to ~1e-10 relative
    assert sale.pv_usd[0] == pytest.approx(pv, rel=1e-9)
    np.testing.assert_allclose(sale.units_sold[0], split, rtol=1e-12)


def test_kernel_pv_equals_the_naive_equation_on_its_own_schedule() -> None:
    params = gpu_market_params()
    rng = np.random.default_rng(11)
    n = 5
    units = rng.uniform(100.0, 8000.0, n)
    price = rng.uniform(1000.0, 30000.0, n)
    drift = rng.uniform(-0.01, 0.04, n)
    carry = rng.uniform(0.0, 600.0, n)
    rate = rng.uniform(0.0, 0.015, n)
    absorption = units / rng.uniform(0.3, 5.0, n)
    for speed in ("distressed", "auction", "broker", "orderly", "optimal"):
        sale = liquidate(
            speed,  # type: ignore[arg-type]
            units,
            price,
            drift,
            carry,
            rate,
            absorption,
            params,
            horizon_months=9,
            grid_steps=18,
        )
        h = sale.units_sold.shape[1]
        for i in range(n):
            naive = _naive_pv(
                tuple(sale.units_sold[i]),
                tuple(np.where(sale.window_days[i] > 0, sale.window_days[i], DAYS_PER_MONTH)),
                price=float(price[i]),
                drift=float(drift[i]),
                carry=float(carry[i]),
                rate=float(rate[i]),
                absorption=float(absorption[i]),
                others=(0.0,) * h,
                params=params,
            )
            # closed forms vs quadrature
            assert sale.pv_usd[i] == pytest.approx(naive, rel=1e-9, abs=1e-6)


def test_vectorised_over_paths_equals_one_path_at_a_time() -> None:
    params = gpu_market_params()
    rng = np.random.default_rng(5)
    n = 40
    args = (
        rng.uniform(100.0, 8000.0, n),
        rng.uniform(1000.0, 30000.0, n),
        rng.uniform(0.0, 0.04, n),
        rng.uniform(0.0, 600.0, n),
        rng.uniform(0.0, 0.015, n),
        rng.uniform(200.0, 6000.0, n),
    )
    together = optimal_schedule(*args, 10, params, grid_steps=30)
    chunked = liquidate("optimal", *args, params, horizon_months=10, grid_steps=30, chunk_paths=7)
    np.testing.assert_array_equal(together.units_sold, chunked.units_sold)
    np.testing.assert_array_equal(together.pv_usd, chunked.pv_usd)
    for i in range(0, n, 9):
        one = optimal_schedule(*(a[i : i + 1] for a in args), 10, params, grid_steps=30)
        np.testing.assert_array_equal(one.units_sold[0], together.units_sold[i])
        assert one.pv_usd[0] == together.pv_usd[i]
