"""The borrower's share price as a diffusion (a convertible's equity option).

Month-end share price ``S_t`` (USD) of paths ``[start, stop)``:

    log S_t = log S_0 + sum_{u <= t} [(r_u - sigma^2 / 2) dt + sigma sqrt(dt) (z_u + rho lambda)],
    z_u = rho eta_u + sqrt(1 - rho^2) eps_u,

with ``dt = 1/12``, ``r_u`` the path's SOFR (decimal a year), ``sigma`` the annual equity
volatility, ``eta_u`` the fleet's rent shock of month ``u`` (``FACTOR_NORMALS``, the systematic
part of the fleet value's log-change) and ``eps_u`` the share's own shock, drawn from its own
stream (``Component.EQUITY_NORMALS``), so no existing stream changes and path ``i`` sees the
same numbers whatever the block split. ``lambda`` is the rent shock's monthly price of risk
(``scenarios.measure``: under Q the rent normals have mean ``-lambda``): the share's
systematic risk earns that premium under P, and under Q its discounted price is a martingale
(the drift is the riskless rate), as the market values a convertible's option;
docs/capital_structures.md, "The convertible's equity option".
"""

from __future__ import annotations

import numpy as np

from gpucredit._typing import Float64Array
from gpucredit.random import Component, draw_paths

__all__ = ["equity_normals", "share_price_paths"]


def equity_normals(seed: int, start: int, stop: int, n_months: int) -> Float64Array:
    """The share's own N(0, 1) shocks of paths ``[start, stop)``, shape (path, month)."""
    return draw_paths(
        seed,
        Component.EQUITY_NORMALS,
        start,
        stop,
        lambda rng, n: rng.standard_normal((n, n_months)),
    )


def share_price_paths(
    share_price_usd: float,
    vol: float,
    rho_fleet: float,
    sofr: Float64Array,
    fleet_normals: Float64Array,
    own_normals: Float64Array,
    rent_price_of_risk: float = 0.0,
) -> Float64Array:
    """Month-end share prices, USD, shape (path, month).

    Parameters
    ----------
    share_price_usd : float
        The share price on the as-of date, USD, > 0.
    vol : float
        Annual volatility of the log share price, decimal, >= 0.
    rho_fleet : float
        Correlation of the share's monthly shock with the fleet's rent shock, in [-1, 1].
    sofr : ndarray, shape (path, month)
        The path's SOFR, decimal a year (the drift).
    fleet_normals, own_normals : ndarray, shape (path, month)
        The fleet's rent shocks and the share's own shocks, N(0, 1) under P.
    rent_price_of_risk : float
        The rent shock's price of risk per month (``MarketPricesOfRisk.lambda_rent``).
    """
    dt = 1.0 / 12.0
    z = rho_fleet * fleet_normals + np.sqrt(max(1.0 - rho_fleet * rho_fleet, 0.0)) * own_normals
    premium = rho_fleet * rent_price_of_risk
    step = (sofr - 0.5 * vol * vol) * dt + vol * np.sqrt(dt) * (z + premium)
    return np.asarray(share_price_usd * np.exp(np.cumsum(step, axis=1)), dtype=np.float64)
