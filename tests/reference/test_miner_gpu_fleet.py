"""A miner with its own GPU fleet on a deterministic path: the debt program's cash is the
mining cash plus the fleet's CFADS, the fleet's CFADS computed here by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import yaml

from gpucredit.config.miner import parse_miner
from gpucredit.config.spec import add_months
from gpucredit.factors.defaults import default_factor_params
from gpucredit.miners import MINER_GPU_GENERATION
from gpucredit.pipeline.inputs import miner_inputs
from gpucredit.pipeline.miner_model import FACTOR_GROUPS, build_miner_model
from gpucredit.units import HOURS_PER_MONTH
from tests.conftest import load_example_data

UNITS = 2000
KW = 1.0  # IT load per GPU, kW (given, so the power bill is hand-computable)
POWER, PUE, COLO, SGA, FIXED = 40.0, 1.2, 25.0, 0.05, 500_000.0


def _merchant_miner() -> Any:
    """The IREN-style example with one merchant H100 cohort (no contract) bought before as_of."""
    data = load_example_data("iren_style_miner")
    data["gpu_fleet"] = {
        "fleet": [
            {
                "name": "h100",
                "generation": "H100",
                "units": UNITS,
                "purchase_date": "2025-01-01",
                "unit_cost_usd": 25000,
                "power_kw_per_gpu": KW,
            }
        ],
        "opex": {
            "power_price_usd_per_mwh": POWER,
            "pue": PUE,
            "colocation_usd_per_kw_month": COLO,
            "sga_share_of_revenue": SGA,
            "other_fixed_usd_per_month": FIXED,
        },
    }
    return parse_miner(yaml.safe_dump(data, sort_keys=False))


def test_the_debt_program_cash_is_mining_plus_the_fleets_cfads_on_the_median_path() -> None:
    spec = _merchant_miner()
    params = default_factor_params((MINER_GPU_GENERATION,), spec.as_of)
    model = build_miner_model(spec, params)
    x = miner_inputs(model, 7, 0, 3, frozenset(FACTOR_GROUPS))  # every group at its median
    assert x.fleet is not None
    rent = x.scen.rent_of("H100") * spec.gpu_fleet.merchant.price_factor
    revenue = UNITS * rent * x.scen.utilisation * HOURS_PER_MONTH
    per_gpu = KW * PUE * HOURS_PER_MONTH * POWER / 1000.0 + KW * COLO
    # bought 2025-01-01 with a 7-year economic life: retired (no revenue, no GPU cost) in the
    # months ending after 2032-01-01; the fixed cost runs on
    n = model.grid.n_months
    life_end = dt.date(2032, 1, 1)
    on = np.array([add_months(spec.as_of, m) <= life_end for m in range(1, n + 1)], dtype=float)
    hand = (revenue - UNITS * per_gpu - SGA * revenue) * on - FIXED
    assert 0 < on.sum() < n  # the path crosses the end of life
    # the fleet model adds the same terms in another order: a few ulps on ~1e7 USD
    np.testing.assert_allclose(x.fleet.cfads_usd, hand, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(x.net_cash_usd, x.cash.net_cash_usd + hand, rtol=1e-12, atol=1e-6)
    # and exactly the sum the engine is given
    assert np.array_equal(x.net_cash_usd, x.cash.net_cash_usd + x.fleet.cfads_usd)
    # the frozen path is one path: every path of the block holds it
    assert np.array_equal(x.net_cash_usd[0], x.net_cash_usd[2])
