"""A miner's GPU fleet of zero units is no GPU fleet, bit for bit; and a GPU fleet leaves
every other draw of the miner unchanged (its tenants have a random stream of their own)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import yaml

from gpucredit.config.miner import MinerSpec, parse_miner
from gpucredit.factors.defaults import default_factor_params
from gpucredit.miners import MINER_GPU_GENERATION, simulate_miner
from gpucredit.pipeline.inputs import miner_inputs
from gpucredit.pipeline.miner_model import build_miner_model
from tests.conftest import load_example_data


def _without_fleet() -> MinerSpec:
    data: dict[str, Any] = load_example_data("iren_style_miner")
    data.pop("gpu_fleet")
    return parse_miner(yaml.safe_dump(data, sort_keys=False))


def _zero_unit_fleet() -> MinerSpec:
    """The example's GPU fleet with no GPU in it: zero units (the spec refuses zero, so it is
    set after validation), no contract and no fixed cost."""
    spec = parse_miner(yaml.safe_dump(load_example_data("iren_style_miner"), sort_keys=False))
    fleet = spec.gpu_fleet
    assert fleet is not None
    empty = fleet.model_copy(
        update={
            "fleet": [c.model_copy(update={"units": 0}) for c in fleet.fleet],
            "contracts": [],
            "opex": fleet.opex.model_copy(update={"other_fixed_usd_per_month": 0.0}),
        }
    )
    return spec.model_copy(update={"gpu_fleet": empty})


def _same(a: object, b: object) -> bool:
    """Equal, NaN equal to NaN (a figure undefined in both runs)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_a_gpu_fleet_of_zero_units_equals_no_gpu_fleet_bit_for_bit() -> None:
    none, zero = _without_fleet(), _zero_unit_fleet()
    params = default_factor_params((MINER_GPU_GENERATION,), none.as_of)
    kw: dict[str, Any] = {
        "n_paths": 256,
        "seed": 5,
        "n_workers": 1,
        "premium": False,
        "attribution": False,
        "premium_curve": False,
        "params": params,
    }
    a, b = simulate_miner(none, **kw), simulate_miner(zero, **kw)
    assert a.borrower_pd == b.borrower_pd and a.borrower_el_usd == b.borrower_el_usd
    assert a.borrower_pd > 0.0  # the comparison covers defaults and recoveries
    for fa, fb in zip(a.facilities, b.facilities, strict=True):
        assert _same(dataclasses.asdict(fa), dataclasses.asdict(fb)), fa.name


def test_a_gpu_fleet_leaves_the_mining_cash_and_the_market_unchanged() -> None:
    with_fleet = parse_miner(yaml.safe_dump(load_example_data("iren_style_miner"), sort_keys=False))
    params = default_factor_params((MINER_GPU_GENERATION,), with_fleet.as_of)
    x = miner_inputs(build_miner_model(with_fleet, params), 11, 0, 64)
    y = miner_inputs(build_miner_model(_without_fleet(), params), 11, 0, 64)
    assert x.fleet is not None and y.fleet is None
    assert np.array_equal(x.market.btc_usd, y.market.btc_usd)
    assert np.array_equal(x.cash.net_cash_usd, y.cash.net_cash_usd)
    assert np.array_equal(y.net_cash_usd, y.cash.net_cash_usd)
    assert np.array_equal(x.net_cash_usd, x.cash.net_cash_usd + x.fleet.cfads_usd)
    # the contracted tenant can default: its default month is drawn on some path
    assert (x.fleet.tenant_default_month <= with_fleet.horizon_months).any()
