"""The compiled structure engine against its NumPy oracle on the examples of written
guarantees and contract pools (a pools deal gives the engines lot values on their collateral
axis), bit for bit."""

from __future__ import annotations

import pytest

from gpucredit.debt.engine import run_structure_compiled
from gpucredit.debt.structure import run_structure
from gpucredit.pipeline import _inputs, build_model
from gpucredit.scenarios import MonteCarloShocks
from tests.conftest import load_shipped_data, make_deal
from tests.oracle.test_compiled_structure import assert_same_ledger

N_PATHS = 150


@pytest.mark.parametrize("default_free", [False, True])
@pytest.mark.parametrize(
    "stem", ["cipher/cipher_compute_notes_2030", "coreweave/ddtl2_contract_pools"]
)
def test_compiled_equals_numpy(stem: str, default_free: bool) -> None:
    model = build_model(make_deal(load_shipped_data(stem)))
    assert model.structure is not None
    inputs = _inputs(model, MonteCarloShocks(7), 0, N_PATHS)
    values = model.collateral_values(inputs.cash.cohort_value_usd)
    if stem == "coreweave/ddtl2_contract_pools":
        assert model.lots is not None and values.shape[2] == 4  # three contract lots, the rest
    args = (
        model.structure,
        inputs.cash.cfads_usd,
        values,
        inputs.scenarios.sofr,
        inputs.scenarios.credit_window(),
    )
    a = run_structure(*args, default_free=default_free)
    b = run_structure_compiled(*args, default_free=default_free)
    assert_same_ledger(a, b)
