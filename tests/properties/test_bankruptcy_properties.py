"""Operator bankruptcy's properties: a longer stay never lowers the LGD (never raises the
recovery) while the GPUs' value does not rise, a higher legal cost never raises it, and a
contract terminated on the servicer's default never raises the recovery (its lease fails no
later, so the contracts assigned with the GPUs are worth no more)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.credit.contracts import assigned_contract_uplift
from gpucredit.credit.recovery import (
    DefaultState,
    IncomeApproachRecovery,
    StayedRecovery,
    stay_inputs,
)
from gpucredit.pipeline import build_model
from tests.conftest import load_example_data, make_deal

H = 24


def _recovered(
    k: int, cost: float, t: np.ndarray, t_p: np.ndarray, cfads: np.ndarray, value: np.ndarray
) -> np.ndarray:
    ead = np.full(t.size, 80.0)
    state = DefaultState(
        month=t,
        ead_usd=ead,
        pledged_cash_usd=np.full(t.size, 3.0),
        cohort_value_usd=value[np.arange(t.size), t - 1, :],
    )
    later, later_value, deficits = stay_inputs(t, cfads, value, k)
    stayed = StayedRecovery(IncomeApproachRecovery(), k, cost, t_p, later, later_value, deficits, H)
    rec = stayed.recover(state)
    return 1.0 - rec.proceeds_usd / ead  # the LGD


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    k1=st.integers(0, 30),
    extra=st.integers(0, 30),
    c1=st.floats(0.0, 1.0),
    c_extra=st.floats(0.0, 1.0),
)
def test_a_longer_stay_or_a_higher_cost_never_lowers_the_lgd(
    seed: int, k1: int, extra: int, c1: float, c_extra: float
) -> None:
    rng = np.random.default_rng(seed)
    n = 32
    # a fleet whose value does not rise (GPUs age): a falling cumulative path, two cohorts
    drops = rng.uniform(0.0, 8.0, (n, H, 2))
    value = np.maximum(60.0 - np.cumsum(drops, axis=1), 0.0)
    cfads = rng.normal(0.0, 3.0, (n, H))
    t = rng.integers(1, H + 1, n)
    t_p = rng.integers(1, H + 3, n)  # some parents default after the deal, or never
    c2 = min(c1 + c_extra, 1.0)
    short = _recovered(k1, c1, t, t_p, cfads, value)
    longer = _recovered(k1 + extra, c1, t, t_p, cfads, value)
    dearer = _recovered(k1, c2, t, t_p, cfads, value)
    # 1e-12: the same operations on a smaller sale, rounding only
    assert np.all(longer >= short - 1e-12)
    assert np.all(dearer >= short - 1e-12)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_termination_never_raises_the_assigned_contracts_value(seed: int) -> None:
    data = load_example_data("coreweave/ddtl5_spv")
    plain = build_model(make_deal(data)).plan
    for c in data["contracts"]:
        c["terminates_on_servicer_default"] = True
    terminated = build_model(make_deal(data)).plan
    rng = np.random.default_rng(seed)
    n = 64
    tau = rng.integers(1, plain.n_months + 2, (n, plain.n_entities)).astype(np.int64)
    month = rng.integers(1, plain.n_months + 1, n).astype(np.int64)
    values = rng.uniform(1e8, 1e9, (n, len(plain.cohort_names)))
    rate = np.full(n, 0.004)
    drift = np.full(len(plain.cohort_names), 0.02)
    kept = assigned_contract_uplift(plain, tau, month, values, rate, drift)
    cut = assigned_contract_uplift(terminated, tau, month, values, rate, drift)
    assert np.all(cut <= kept)
    assert np.all(cut[tau[:, plain.parent_entity] <= month] == 0.0)
