"""A capital structure's fair-spread pass records only ``SPREAD_LEDGER_FIELDS`` of the ledger
(``pipeline.outcomes.run_structure_block(fields=...)``) and reads the block's pools computed
once (``block_values=structure_block_values(...)``): every facility's outcomes must equal, bit
for bit, those of the engine recording every field and summing the pools itself, risky and
default-free, at an add-on."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gpucredit.config.growth import expand_growth
from gpucredit.pipeline import _inputs, build_model
from gpucredit.pipeline.inputs import SpreadInputs
from gpucredit.pipeline.outcomes import (
    SPREAD_LEDGER_FIELDS,
    run_recovery,
    run_structure_block,
    structure_block_values,
)
from gpucredit.scenarios import MonteCarloShocks
from tests.conftest import load_example_data, make_deal

N_PATHS = 150


@pytest.mark.parametrize("riskless", [False, True])
@pytest.mark.parametrize(
    "stem",
    [
        "coreweave/convertible_2031",  # conversion value in the lender's cash flows
        "coreweave/ddtl2_contract_pools",  # lots on the collateral axis
        "coreweave/growing_parent",  # five facilities, a parent's cross-default and guarantee
    ],
)
def test_spread_fields_give_the_same_outcomes(stem: str, riskless: bool) -> None:
    model = build_model(expand_growth(make_deal(load_example_data(stem))))
    assert model.structure is not None
    inputs = _inputs(model, MonteCarloShocks(11), 0, N_PATHS)
    x, window = SpreadInputs.of(inputs), inputs.scenarios.credit_window()
    structure = model.structure.with_add_on(len(model.structure.facilities) - 1, 0.004)

    def outcomes(spread_pass: bool) -> list[dict[str, object]]:
        _, outs = run_structure_block(
            model,
            structure,
            x,
            run_recovery(model),
            window,
            riskless,
            fields=SPREAD_LEDGER_FIELDS if spread_pass else None,
            block_values=structure_block_values(model, model.structure, x) if spread_pass else None,
        )
        return [dataclasses.asdict(o) for o in outs]

    full, recorded = outcomes(False), outcomes(True)
    assert len(full) == len(recorded) == len(model.structure.facilities)
    for a, b in zip(full, recorded, strict=True):
        assert a.keys() == b.keys()
        for name, value in a.items():
            if value is None:
                assert b[name] is None, name
            else:
                np.testing.assert_array_equal(np.asarray(b[name]), np.asarray(value), err_msg=name)
