"""Bad capital-structure input: clear errors naming the field, the value and the expectation."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from gpucredit.config.loading import parse_deal
from gpucredit.errors import SpecError
from tests.conftest import deal_refusal, load_example_data


def test_waterfall_step_naming_an_unknown_facility() -> None:
    data = load_example_data("hosting_secured_notes_backstop")
    data["waterfall"][0]["facility"] = "no-such-notes"
    message = deal_refusal(data)
    assert "waterfall[0].facility" in message and "no-such-notes" in message
    assert "one of the deal's facilities" in message


def test_draw_after_the_availability_period() -> None:
    data = load_example_data("ddtl2_tiered_structure")
    data["facilities"][0]["draws"][0]["date"] = "2027-06-30"
    message = deal_refusal(data)
    assert "facilities[0].draws[0].date" in message and "2027-06-30" in message
    assert "availability period" in message


def test_advance_rate_above_one() -> None:
    data = load_example_data("ddtl2_tiered_structure")
    data["facilities"].append(
        {
            "name": "abl",
            "kind": "abl",
            "rate": {"kind": "fixed", "coupon_pct": 9.0},
            "principal_usd": 1e8,
            "tenor_months": 24,
            "advance_rate_pct": 120,
        }
    )
    message = deal_refusal(data)
    assert "facilities[3].advance_rate_pct" in message and "120" in message
    assert "at most 100" in message


def test_every_facility_needs_its_interest_and_principal_step() -> None:
    data = load_example_data("hosting_secured_notes_backstop")
    data["waterfall"] = [s for s in data["waterfall"] if s["step"] != "principal"]
    assert "a principal step for every facility" in deal_refusal(data)


def test_the_examples_load_with_their_structures() -> None:
    for stem in (
        "ddtl2_tiered_structure",
        "hosting_secured_notes_backstop",
        "parent_unsecured_notes",
    ):
        deal = parse_deal(yaml.safe_dump(load_example_data(stem), sort_keys=False))
        assert deal.loan is None and len(deal.facilities) >= 1


def _issue(text: str) -> Any:
    with pytest.raises(SpecError) as info:
        parse_deal(text, source="deal.yaml")
    (issue,) = info.value.issues
    return issue


@pytest.mark.parametrize(
    ("stem", "edit", "field", "on_line"),
    [
        (
            "ddtl2_tiered_structure",
            lambda d: d["facilities"][0]["draws"][0].update(date="2027-06-30"),
            "facilities[0].draws[0].date",
            "2027-06-30",
        ),
        (
            "ddtl2_tiered_structure",
            lambda d: d["facilities"][2].update(principal_usd=-1),
            "facilities[2].principal_usd",
            "principal_usd: -1",
        ),
        (
            "ddtl2_tiered_structure",
            lambda d: d["facilities"][1]["rate"].update(margin_bps=99999),
            "facilities[1].rate.margin_bps",
            "margin_bps: 99999",
        ),
        (
            "hosting_secured_notes_backstop",
            lambda d: d["waterfall"][4].update(share_pct=150),
            "waterfall[4].share_pct",
            "share_pct: 150",
        ),
        (
            "hosting_secured_notes_backstop",
            lambda d: d["facilities"][0]["amortisation"].update(principal_pct_by_month=[50, 40]),
            "facilities[0].amortisation.principal_pct_by_month",
            "principal_pct_by_month",
        ),
    ],
    ids=["ddtl-draw", "vendor", "facility-rate", "sweep-step", "notes-schedule"],
)
def test_union_tags_are_not_in_the_field_path_and_the_line_is_the_field(
    stem: str, edit: Any, field: str, on_line: str
) -> None:
    """A facility, a rate, an amortisation and a waterfall step are tagged unions: the error
    names the field as written (no ``.ddtl.``, ``.floating.``, ``.sweep.``) and its line."""
    data = load_example_data(stem)
    edit(data)
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    issue = _issue(text)
    assert issue.field == field
    assert issue.line is not None and on_line in text.splitlines()[issue.line - 1]


def test_a_facility_schedule_has_one_entry_per_month_of_its_tenor() -> None:
    data = load_example_data("hosting_secured_notes_backstop")
    data["facilities"][0]["amortisation"]["principal_pct_by_month"] = [50, 50]
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    issue = _issue(text)
    assert issue.field == "facilities[0].amortisation.principal_pct_by_month"
    assert issue.value == "a list of 2 entries"
    assert "one entry per month of tenor_months=51" in issue.expected
    assert issue.line is not None
    assert "principal_pct_by_month" in text.splitlines()[issue.line - 1]
