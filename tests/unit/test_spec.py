"""Deal spec validation: units in names, frozen models, evolve re-validates."""

from __future__ import annotations

import pydantic
import pytest
import yaml

from gpucredit.config import evolve
from gpucredit.config.spec import CohortSpec, ContractSpec
from gpucredit.errors import SpecError
from tests.conftest import hand_deal_data, load_example_data, make_deal


def test_hand_deal_is_valid() -> None:
    deal = make_deal(hand_deal_data())
    assert deal.fleet[0].it_power_kw == 1.0
    assert deal.loan.rate.kind == "fixed"


def test_specs_are_frozen() -> None:
    deal = make_deal(hand_deal_data())
    with pytest.raises(pydantic.ValidationError):
        deal.name = "other"  # type: ignore[misc]


def test_evolve_revalidates() -> None:
    cohort = make_deal(hand_deal_data()).fleet[0]
    assert evolve(cohort, units=5).units == 5
    with pytest.raises(pydantic.ValidationError):
        evolve(cohort, units=-5)


def test_generation_is_normalised_and_checked() -> None:
    data = hand_deal_data()["fleet"][0] | {"generation": "h100"}
    assert CohortSpec.model_validate(data).generation == "H100"
    with pytest.raises(pydantic.ValidationError, match="GPU generation"):
        CohortSpec.model_validate(data | {"generation": "H900"})


def test_preset_power_used_when_not_given() -> None:
    data = hand_deal_data()["fleet"][0]
    del data["power_kw_per_gpu"]
    # 700 W TDP x 10.2 kW / (8 x 0.7 kW) DGX H100 overhead = 1.275 kW
    assert CohortSpec.model_validate(data).it_power_kw == pytest.approx(1.275)


@pytest.mark.parametrize(
    ("rating", "category"), [("BBB-", "BBB"), ("bb+", "BB"), ("AAA", "AAA"), ("C", "CCC")]
)
def test_rating_modifiers_map_to_categories(rating: str, category: str) -> None:
    data = hand_deal_data()["contracts"][0]
    del data["annual_pd_pct"]
    assert ContractSpec.model_validate(data | {"rating": rating}).rating == category


def test_contract_needs_exactly_one_risk_measure() -> None:
    data = hand_deal_data()["contracts"][0] | {"rating": "BBB"}
    with pytest.raises(pydantic.ValidationError, match="exactly one"):
        ContractSpec.model_validate(data)


def test_overbooked_cohort_is_rejected() -> None:
    data = hand_deal_data()
    extra = dict(data["contracts"][0], tenant="U", units=1)
    with pytest.raises(pydantic.ValidationError, match="at most the cohort's 100 units"):
        make_deal(data, contracts=[*data["contracts"], extra])


def test_contract_must_name_a_cohort() -> None:
    data = hand_deal_data()
    bad = dict(data["contracts"][0], cohort="nope")
    with pytest.raises(pydantic.ValidationError, match="name of a fleet cohort"):
        make_deal(data, contracts=[bad])


def test_schedule_must_sum_to_100_and_match_tenor() -> None:
    data = hand_deal_data()
    loan = dict(data["loan"], amortisation={"kind": "schedule", "principal_pct_by_month": [50, 40]})
    with pytest.raises(pydantic.ValidationError, match="sum of 100"):
        make_deal(data, loan=loan)
    loan["amortisation"] = {"kind": "schedule", "principal_pct_by_month": [50, 50]}
    with pytest.raises(pydantic.ValidationError, match="one entry per month"):
        make_deal(data, loan=loan)


def test_spec_error_lists_every_issue() -> None:
    from gpucredit.config.loading import parse_deal

    text = "name: x\nas_of: 2026-07-31\nborrower: {name: b}\nfleet: []\nopex: {}\n"
    with pytest.raises(SpecError) as info:
        parse_deal(text, source="deal.yaml")
    message = str(info.value)
    assert message.startswith("deal.yaml: ")
    assert "fleet" in message and "power_price_usd_per_mwh" in message
    assert "colocation_usd_per_kw_month" in message  # every field problem, not the first only


def test_deal_needs_a_loan_or_facilities() -> None:
    from gpucredit.config.loading import parse_deal

    data = load_example_data("merchant_h100")
    data.pop("loan")
    with pytest.raises(SpecError) as info:
        parse_deal(yaml.safe_dump(data, sort_keys=False), source="deal.yaml")
    assert "exactly one of 'loan' (one term loan) or 'facilities'" in str(info.value)
