"""Shapley attribution: a hand-computed game, the report container, errors, and its use with
the miner-market freezing."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from gpucredit.credit.attribution import MAX_GROUPS, attribute, shapley
from gpucredit.factors.miner_params import credit_btc_params
from gpucredit.scenarios.grid import TimeGrid
from gpucredit.scenarios.miner import freeze_gpu_normals, simulate_miner_market
from tests.unit.test_miner_market import AS_OF, gpu_block, hand_convergence, hand_params

# v(empty) = 1, v(A) = 3, v(B) = 2, v(AB) = 7. By hand: phi_A = ((3 - 1) + (7 - 2)) / 2 = 3.5,
# phi_B = ((2 - 1) + (7 - 3)) / 2 = 2.5; stand-alone 2 and 1; joint 7 - 1 - 3 = 3.
GAME = {frozenset(): 1.0, frozenset("A"): 3.0, frozenset("B"): 2.0, frozenset("AB"): 7.0}


def test_two_player_game_by_hand() -> None:
    assert shapley(["A", "B"], GAME.__getitem__) == {"A": 3.5, "B": 2.5}


def test_attribution_container_and_memoisation() -> None:
    calls: list[frozenset[str]] = []

    def evaluate(active: frozenset[str]) -> dict[str, float]:
        calls.append(active)
        return {"pd": GAME[active], "el_usd": 10.0 * GAME[active]}

    result = attribute(("A", "B"), evaluate)
    assert len(calls) == 4 and len(set(calls)) == 4  # each subset simulated once
    pd_ = result["pd"]
    assert (pd_.baseline, pd_.total) == (1.0, 7.0)
    assert pd_.shapley == {"A": 3.5, "B": 2.5}
    assert pd_.standalone == {"A": 2.0, "B": 1.0}
    assert pd_.joint == 3.0
    assert result["el_usd"].shapley == {"A": 35.0, "B": 25.0}
    data = result.to_dict()
    assert data["groups"] == ["A", "B"]
    assert data["metrics"]["pd"]["joint"] == 3.0
    json.dumps(data)  # JSON-ready


def test_attribution_errors() -> None:
    with pytest.raises(ValueError, match="distinct"):
        shapley(["A", "A"], lambda s: 0.0)
    with pytest.raises(ValueError, match="1 to"):
        shapley([f"g{i}" for i in range(MAX_GROUPS + 1)], lambda s: 0.0)
    with pytest.raises(ValueError, match="finite"):
        shapley(["A"], lambda s: math.nan)
    with pytest.raises(ValueError, match="same metrics"):
        attribute(["A"], lambda s: {"pd": 0.1} if not s else {"el": 1.0})


def test_a_btc_only_loan_owes_nothing_to_the_gpu_legs() -> None:
    # Freezing as documented: GPU groups on the GPU normals, miner groups in the simulator,
    # which always gets the unfrozen GPU normals. A loan that depends on BTC alone then gets a
    # zero Shapley value for gpu_rent and rates (dummy players), even with convergence on.
    base = hand_params()
    params = dataclasses.replace(base, btc=credit_btc_params(base.btc, "zero"))
    grid = TimeGrid(AS_OF, 12)
    conv = hand_convergence(stress_correlation=0.8)
    scen, normals = gpu_block(21, 0, 2_000, 12, regime=1)

    def evaluate(active: frozenset[str]) -> dict[str, float]:
        frozen = {"bitcoin", "network", "gpu_rent", "rates"} - active
        gpu = freeze_gpu_normals(normals, frozen, 1)
        paths = simulate_miner_market(
            params, conv, grid, scen, normals, 21, 0, 2_000, frozen=frozen
        )
        btc_default = np.min(paths.btc_usd, axis=1) < 0.6 * params.btc_spot_usd
        rent_default = np.min(np.cumsum(gpu[:, :, 0], axis=1), axis=1) < -3.0
        return {
            "pd_btc": float(np.mean(btc_default)),
            "pd_both": float(np.mean(btc_default | rent_default)),
        }

    result = attribute(("bitcoin", "network", "gpu_rent", "rates"), evaluate)
    btc = result["pd_btc"]
    assert btc.shapley["gpu_rent"] == 0.0 and btc.shapley["rates"] == 0.0
    assert btc.shapley["network"] == 0.0
    assert btc.shapley["bitcoin"] == pytest.approx(btc.total - btc.baseline)
    assert btc.baseline == 0.0  # the median path (flat price) never defaults
    both = result["pd_both"]
    assert both.shapley["gpu_rent"] > 0.0 and both.shapley["bitcoin"] > 0.0
    # efficiency
    assert both.baseline + sum(both.shapley.values()) == pytest.approx(both.total, abs=1e-12)
    # a union of defaults: the legs substitute, so the joint part is negative
    assert both.joint < 0.0
