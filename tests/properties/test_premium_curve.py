"""Properties of the double-leverage premium curve: its point at the miner's own stress
correlation is the premium of the single run, and the premium grows with the correlation for
a miner whose GPU leg and mining leg fail together in stress."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest
import yaml

from gpucredit.config.miner import MinerSpec, parse_miner
from gpucredit.factors.defaults import default_factor_params
from gpucredit.factors.params import GLUT, RegimeParams
from gpucredit.miners import MINER_GPU_GENERATION, simulate_miner
from tests.conftest import load_example_data


def test_the_curve_at_the_miners_own_correlation_is_the_single_premium_run() -> None:
    data: dict[str, Any] = load_example_data("iren_style_miner")
    data["convergence"]["stress_correlation"] = 0.3
    data["premium_curve"] = {"correlations": [0.3], "paths": 10_000}
    spec = parse_miner(yaml.safe_dump(data, sort_keys=False))
    params = default_factor_params((MINER_GPU_GENERATION,), spec.as_of)
    result = simulate_miner(
        spec, n_paths=128, seed=2, n_workers=1, attribution=False, params=params
    )
    assert result.premium is not None and result.premium_curve is not None
    assert result.premium_curve["paths"] == 128  # min(paths, the run's paths)
    (point,) = result.premium_curve["points"]
    assert point["stress_correlation"] == 0.3
    for name, single in result.premium.items():
        curve = point[name]
        assert curve["pd"] == single["pd"]  # counts of defaults over the same paths
        # EL: the same losses summed per path here, per run there: a few ulps of ~1e8 USD
        assert curve["expected_loss_usd"] == pytest.approx(single["expected_loss_usd"], abs=1e-3)
        assert curve["fair_spread_bps"] == single["fair_spread_bps"]
        assert curve["pd_se"] >= 0.0 and curve["el_se_usd"] >= 0.0


def _two_legged_miner() -> MinerSpec:
    """A miner whose notes are paid by mining and a merchant H100 fleet together: forced into
    the glut regime, it defaults more often when bitcoin and GPU rents fall together."""
    data: dict[str, Any] = load_example_data("miner_hosting_pivot")
    for key in ("margin_loan", "borrower", "hosting"):
        data.pop(key)
    data["treasury"] = {"btc_held": 0, "cash_usd": 0}
    data["gpu_fleet"] = {
        "fleet": [
            {
                "name": "h100",
                "generation": "H100",
                "units": 6000,
                "purchase_date": "2025-01-01",
                "unit_cost_usd": 25000,
            }
        ],
        "opex": {"power_price_usd_per_mwh": 40, "pue": 1.2, "colocation_usd_per_kw_month": 25},
    }
    data["facilities"] = [
        {
            "name": "notes",
            "kind": "notes",
            "rate": {"kind": "fixed", "coupon_pct": 8.0},
            "principal_usd": 100e6,
            "tenor_months": 48,
            "coupon_frequency": "monthly",
            "amortisation": {"kind": "level_payment"},
        }
    ]
    data["premium_curve"] = {"correlations": [0.0, 0.3, 0.6, 0.9]}
    return parse_miner(yaml.safe_dump(data, sort_keys=False))


def test_the_premium_pd_does_not_fall_as_the_stress_correlation_rises() -> None:
    spec = _two_legged_miner()
    base = default_factor_params((MINER_GPU_GENERATION,), spec.as_of)
    stress = dataclasses.replace(base, regime=RegimeParams(0.0, 0.0, initial=GLUT))
    result = simulate_miner(
        spec,
        n_paths=600,
        seed=3,
        n_workers=1,
        solve_fair_spread=False,
        premium=False,
        attribution=False,
        params=stress,
    )
    assert result.premium_curve is not None  # on by default: the miner has a GPU fleet
    points = [p["borrower"] for p in result.premium_curve["points"]]
    assert points[0]["pd"] == 0.0  # 0 is the calm BTC-rent correlation: convergence is off
    for lo, hi in itertools.pairwise(points):
        # k = 3 standard errors of the two points (each paired with the same off run)
        k_se = 3.0 * (lo["pd_se"] ** 2 + hi["pd_se"] ** 2) ** 0.5
        assert hi["pd"] >= lo["pd"] - k_se, points
        assert (
            hi["expected_loss_usd"]
            >= lo["expected_loss_usd"] - 3.0 * (lo["el_se_usd"] ** 2 + hi["el_se_usd"] ** 2) ** 0.5
        )
    assert points[-1]["pd"] > points[0]["pd"] + 2.0 * points[-1]["pd_se"]


def test_the_curve_does_not_depend_on_the_block_split() -> None:
    data: dict[str, Any] = load_example_data("iren_style_miner")
    data["premium_curve"] = {"correlations": [0.45, 0.9], "paths": 64}
    spec = parse_miner(yaml.safe_dump(data, sort_keys=False))
    params = default_factor_params((MINER_GPU_GENERATION,), spec.as_of)
    curves = [
        simulate_miner(
            spec,
            n_paths=128,
            seed=6,
            block_size=block,
            n_workers=workers,
            premium=False,
            attribution=False,
            params=params,
        ).premium_curve
        for block, workers in ((128, 1), (32, 2))
    ]
    assert curves[0] == curves[1]
    assert curves[0] is not None and curves[0]["paths"] == 64


def test_a_correlation_the_stress_matrix_cannot_hold_is_a_noted_point() -> None:
    data: dict[str, Any] = load_example_data("iren_style_miner")
    data["premium_curve"] = {"correlations": [0.3, 0.99]}
    spec = parse_miner(yaml.safe_dump(data, sort_keys=False))
    params = default_factor_params((MINER_GPU_GENERATION,), spec.as_of)
    result = simulate_miner(
        spec,
        n_paths=32,
        seed=1,
        n_workers=1,
        solve_fair_spread=False,
        premium=False,
        attribution=False,
        params=params,
    )
    assert result.premium_curve is not None
    ok, bad = result.premium_curve["points"]
    assert "borrower" in ok and "borrower" not in bad
    assert bad["stress_correlation"] == 0.99 and "positive definite" in bad["note"]
