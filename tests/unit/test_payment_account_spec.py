"""The payment-account step and real estate in the spec: errors name the field and the value;
the default waterfall adds the step to facilities paid less often than monthly."""

from __future__ import annotations

import pytest

from gpucredit.pipeline import build_model
from tests.conftest import deal_refusal, load_example_data, load_shipped_data, make_deal


def test_a_payment_account_for_monthly_coupons_is_refused() -> None:
    data = load_example_data("hosting_secured_notes_backstop")
    data["facilities"][0]["coupon_frequency"] = "monthly"
    message = deal_refusal(data)
    assert "waterfall[2].facility" in message and "senior-secured-notes-7.75" in message
    assert "quarterly or semi-annually" in message


def test_a_payment_account_given_twice_is_refused() -> None:
    data = load_example_data("hosting_secured_notes_backstop")
    data["waterfall"].insert(3, dict(data["waterfall"][2]))
    message = deal_refusal(data)
    assert "waterfall[3]" in message and "payment_account" in message


def test_real_estate_naming_a_facility_twice_is_refused() -> None:
    data = load_shipped_data("applied_digital/computeco_notes_2030")
    name = data["facilities"][0]["name"]
    data["real_estate"][0]["secures"] = [name, name]
    message = deal_refusal(data)
    assert "real_estate[0].secures[1]" in message and "each facility named once" in message


def test_the_default_waterfall_adds_the_payment_account() -> None:
    model = build_model(make_deal(load_shipped_data("applied_digital/computeco_notes_2030")))
    assert model.structure is not None
    assert [s.kind for s in model.structure.steps] == [
        "interest",
        "principal",
        "payment_account",
        "reserve",
        "distribute",
    ]
    # the hall at its stabilised value joins the notes' pool: 156 x 12 x 250,000 / 7%
    value = model.structure.facilities[0].real_estate_value_usd
    assert value == pytest.approx(156.0 * 12.0 * 250_000.0 / 0.07, rel=1e-12)  # float rounding
    (item,) = model.real_estate
    assert item.liquidation_value_usd == 375e6  # Moody's default haircut: the land only
