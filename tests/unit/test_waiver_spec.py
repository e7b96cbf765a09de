"""The covenant waiver rule in the spec and the engine terms."""

from __future__ import annotations

import pytest
import yaml

from gpucredit.config import evolve
from gpucredit.config.loading import parse_deal
from gpucredit.config.spec import CovenantSpec, WaiverSpec
from gpucredit.debt import loan_terms
from gpucredit.debt.terms import WaiverTerms
from gpucredit.errors import SpecError
from tests.conftest import load_example_data, make_deal


def test_an_event_of_default_is_waivable_by_default() -> None:
    cov = CovenantSpec.model_validate({"kind": "min_dscr", "threshold": 1.2})
    assert cov.waiver == WaiverSpec()
    assert (cov.waiver.max_ltv, cov.waiver.fee_bps) == (0.65, 50.0)
    assert (cov.waiver.margin_step_up_bps, cov.waiver.max_waivers) == (100.0, 2)


def test_null_waiver_and_sweeps_have_none() -> None:
    never = CovenantSpec.model_validate({"kind": "min_dscr", "threshold": 1.2, "waiver": None})
    assert never.waiver is None
    sweep = CovenantSpec.model_validate(
        {"kind": "max_ltv", "threshold": 0.8, "consequence": "cash_sweep"}
    )
    assert sweep.waiver is None
    assert evolve(never, threshold=1.3).waiver is None
    assert evolve(sweep, threshold=0.7).waiver is None


def test_terms_carry_the_rule_in_decimals() -> None:
    data = load_example_data("merchant_h100")
    terms = loan_terms(make_deal(data).loan)
    dscr, ltv = terms.covenants
    assert dscr.waiver == WaiverTerms(max_ltv=0.65, fee=0.005, step_up=0.01, max_waivers=2)
    assert ltv.consequence == "cash_sweep" and ltv.waiver is None


def test_waiver_on_a_sweep_is_a_spec_error() -> None:
    data = load_example_data("merchant_h100")
    data["loan"]["covenants"][1]["waiver"] = {"fee_bps": 25}
    with pytest.raises(SpecError) as info:
        parse_deal(yaml.safe_dump(data, sort_keys=False), source="deal.yaml")
    message = str(info.value)
    assert message.startswith("deal.yaml: ")
    assert "covenants[1].waiver" in message and "only event_of_default" in message


def test_waiver_bounds_are_checked() -> None:
    data = load_example_data("merchant_h100")
    data["loan"]["covenants"][0]["waiver"] = {"max_ltv": 1.5}
    with pytest.raises(SpecError) as info:
        parse_deal(yaml.safe_dump(data, sort_keys=False), source="deal.yaml")
    assert "waiver.max_ltv" in str(info.value)
