"""Properties of the miner model: convergence never helps, and the numbers do not depend on how
paths are split into blocks."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import yaml

from gpucredit.config.miner import MinerSpec, parse_miner
from gpucredit.config.spec import evolve
from gpucredit.factors.defaults import default_factor_params
from gpucredit.factors.params import GLUT, RegimeParams
from gpucredit.miners import MINER_GPU_GENERATION, simulate_miner
from tests.conftest import load_example_data


def _double_leveraged_miner() -> MinerSpec:
    """A miner that needs both legs: mining alone or the hosting lease alone covers its notes,
    so it defaults when hashprice and the hosting tenant fail together (the diversification
    that convergence takes away)."""
    data: dict[str, Any] = load_example_data("miner_hosting_pivot")
    data.pop("margin_loan")
    data.pop("borrower")
    data["treasury"] = {"btc_held": 0, "cash_usd": 0}
    data["hosting"]["leases"] = [
        {
            "tenant": "Neo-cloud X",
            "rating": "B",
            "it_mw": 60,
            "rate_usd_per_kw_month": 150,
            "start": "2026-06-01",
            "end": "2031-05-31",
        }
    ]
    data["facilities"] = [
        {
            "name": "notes",
            "kind": "notes",
            "rate": {"kind": "fixed", "coupon_pct": 8.0},
            "principal_usd": 150e6,
            "tenor_months": 48,
            "coupon_frequency": "monthly",
            "amortisation": {"kind": "level_payment"},
        }
    ]
    return parse_miner(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.slow
def test_raising_the_stress_correlation_never_lowers_the_miners_pd() -> None:
    spec = _double_leveraged_miner()
    base = default_factor_params((MINER_GPU_GENERATION,), spec.as_of)
    stress = dataclasses.replace(base, regime=RegimeParams(0.0, 0.0, initial=GLUT))
    pds, els = [], []
    for rho in (0.0, 0.3, 0.6, 0.9):
        conv = evolve(spec.convergence, stress_correlation=rho)
        result = simulate_miner(
            evolve(spec, convergence=conv.model_dump()),
            n_paths=4000,
            seed=3,
            solve_fair_spread=False,
            premium=False,
            attribution=False,
            params=stress,
        )
        pds.append(result.borrower_pd)
        els.append(result.borrower_el_usd)
    assert pds == sorted(pds), pds
    assert els == sorted(els), els
    assert pds[-1] > pds[0]


def test_miner_numbers_do_not_depend_on_the_block_split() -> None:
    spec = parse_miner(yaml.safe_dump(load_example_data("miner_hosting_pivot"), sort_keys=False))
    runs = [
        simulate_miner(
            spec,
            n_paths=600,
            seed=5,
            block_size=block,
            n_workers=workers,
            solve_fair_spread=False,
            premium=False,
            attribution=False,
        )
        for block, workers in ((600, 1), (256, 2))
    ]
    a, b = (r.facilities for r in runs)
    for x, y in zip(a, b, strict=True):
        assert x.pd == y.pd
        assert x.expected_loss_usd == y.expected_loss_usd
        assert x.lgd == y.lgd
