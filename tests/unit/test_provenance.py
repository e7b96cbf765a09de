"""Provenance of a spec's fields (``config.provenance``): key syntax, each refusal, coverage,
and the public terms of a facility (unknown market spread, agency rating) in the results."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

import gpucredit
from gpucredit.config.book import rename_companies
from gpucredit.config.loading import parse_deal
from gpucredit.config.miner import parse_miner
from gpucredit.config.provenance import (
    check_provenance,
    parse_key,
    resolve_key,
    uncovered_fields,
)
from gpucredit.errors import SpecError
from gpucredit.reports.tables import credit_record, summary_table
from tests.conftest import deal_refusal, hand_deal_data, load_example_data

REASON = "mid-point of the public 9-11m range per MW"


def _facility_deal(**facility: Any) -> dict[str, Any]:
    """The hand deal with its loan written as one named term-loan facility."""
    data = hand_deal_data()
    loan = data.pop("loan")
    data["facilities"] = [
        {
            "name": "tl-7.5-2027",
            "kind": "term_loan",
            "principal_usd": loan["principal_usd"],
            "rate": loan["rate"],
            "tenor_months": loan["tenor_months"],
            "amortisation": loan["amortisation"],
            **facility,
        }
    ]
    return data


# --- key syntax ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "parts"),
    [
        ("opex", ["opex"]),
        ("opex.pue", ["opex", "pue"]),
        ("fleet[0].units", ["fleet", ("0",), "units"]),
        (
            "facilities[cipher-7.125-2030].rate.coupon_pct",
            ["facilities", ("cipher-7.125-2030",), "rate", "coupon_pct"],
        ),
        ("a[b][1]", ["a", ("b",), ("1",)]),
    ],
)
def test_a_key_splits_into_mapping_keys_and_list_selectors(
    key: str, parts: list[str | tuple[str]]
) -> None:
    assert parse_key(key) == parts


@pytest.mark.parametrize(
    "key", ["", ".", "opex.", ".opex", "opex..pue", "fleet[]", "fleet[0", "fleet]", "[0]", "a.[0]"]
)
def test_a_malformed_key_is_none(key: str) -> None:
    assert parse_key(key) is None


def test_list_items_resolve_by_name_by_unique_tenant_and_by_index() -> None:
    data = _facility_deal()
    assert resolve_key(data, "facilities[tl-7.5-2027].rate.coupon_pct") == (
        "facilities",
        0,
        "rate",
        "coupon_pct",
    )
    assert resolve_key(data, "contracts[T].units") == ("contracts", 0, "units")
    assert resolve_key(data, "fleet[0]") == ("fleet", 0)
    assert resolve_key(data, "fleet[1]") is None  # out of range
    assert resolve_key(data, "fleet[c2]") is None
    assert resolve_key(data, "opex.pue.x") is None  # a scalar has no fields
    assert resolve_key(data, "sources") is None  # provenance never covers itself


# --- refusals: file, field, line, value, expectation -----------------------------------


def test_a_key_that_resolves_to_nothing_is_refused_with_its_line() -> None:
    data = _facility_deal()
    data["sources"] = {"facilities[tl-7.5-2027].rate.margin_bps": "https://www.sec.gov/x"}
    message = deal_refusal(data)
    assert message.startswith("deal.yaml")
    assert "field 'sources.facilities[tl-7.5-2027].rate.margin_bps' (line " in message
    assert "that exists" in message


def test_a_malformed_key_is_refused() -> None:
    data = _facility_deal()
    data["assumptions"] = {"opex..pue": REASON}
    assert "field 'assumptions.opex..pue'" in deal_refusal(data)


@pytest.mark.parametrize(
    "source",
    [
        "ftp://example.com/x",
        "www.sec.gov/x",
        "https://",
        "https://exa mple.com",
        "deals.csv#NO-SUCH-ROW",
        "deals.csv#",
        "see the 10-Q",
    ],
)
def test_a_source_that_is_neither_a_url_nor_a_deals_row_is_refused(source: str) -> None:
    data = _facility_deal()
    data["sources"] = {"opex.pue": source}
    message = deal_refusal(data)
    assert "field 'sources.opex.pue'" in message
    assert "expected an http(s) URL or 'deals.csv#ID'" in message


def test_a_deals_row_and_a_url_are_accepted_as_sources() -> None:
    data = _facility_deal()
    data["sources"] = {
        "facilities[tl-7.5-2027]": "deals.csv#CRWV-SN2030",
        "opex.pue": "https://www.sec.gov/Archives/edgar/data/1769628/x.htm",
    }
    spec = parse_deal(yaml.safe_dump(data), source="deal.yaml")
    assert spec.sources["opex.pue"].startswith("https://www.sec.gov/")


def test_a_short_reasoning_is_refused() -> None:
    data = _facility_deal()
    data["assumptions"] = {"opex": "ASSUMPTION: a guess"}  # 19 characters
    message = deal_refusal(data)
    assert "field 'assumptions.opex'" in message
    assert "a reasoning of at least 20 characters" in message


def test_a_field_both_public_and_assumed_is_refused_however_it_is_named() -> None:
    data = _facility_deal()
    data["sources"] = {"fleet[c1].units": "https://www.sec.gov/x"}
    data["assumptions"] = {"fleet[0].units": REASON}
    message = deal_refusal(data)
    assert "field 'assumptions.fleet[0].units'" in message
    assert "not both (also sources 'fleet[c1].units')" in message


def test_a_section_assumed_with_one_field_sourced_is_accepted() -> None:
    data = _facility_deal()
    data["sources"] = {"opex.pue": "https://www.sec.gov/x"}
    data["assumptions"] = {"opex": REASON}
    check_provenance(data)
    assert not any(leaf.startswith("opex") for leaf in uncovered_fields(data))


def test_a_miner_checks_its_provenance_too() -> None:
    data = load_example_data("iren_style_miner")
    data["sources"] = {"mining.no_such_field": "https://iren.com/x"}
    with pytest.raises(SpecError, match=r"field 'sources.mining.no_such_field'"):
        parse_miner(yaml.safe_dump(data), source="miner.yaml")


# --- coverage -----------------------------------------------------------------------------


def test_every_scalar_leaf_is_listed_until_a_key_covers_it() -> None:
    data = _facility_deal()
    leaves = uncovered_fields(data)
    assert "fleet[c1].units" in leaves
    assert "contracts[T].rate_usd_per_gpu_hour" in leaves
    assert "facilities[tl-7.5-2027].rate.coupon_pct" in leaves
    assert not any(leaf.endswith((".name", ".kind")) or leaf == "name" for leaf in leaves)
    covered = copy.deepcopy(data)
    covered["sources"] = {"facilities[tl-7.5-2027]": "deals.csv#CRWV-SN2030"}
    covered["assumptions"] = {
        key: REASON for key in ("as_of", "borrower", "fleet", "contracts", "opex")
    }
    assert uncovered_fields(covered) == []
    del covered["assumptions"]["fleet"]
    assert uncovered_fields(covered) == [
        "fleet[c1].generation",
        "fleet[c1].units",
        "fleet[c1].purchase_date",
        "fleet[c1].unit_cost_usd",
        "fleet[c1].power_kw_per_gpu",
    ]


# --- public terms in the results ----------------------------------------------------------


@pytest.mark.parametrize("rating", ["bb-", "B+", "CCC"])
def test_a_public_rating_keeps_its_notch(rating: str) -> None:
    data = _facility_deal(public_rating=rating, public_rating_agency="Fitch")
    spec = parse_deal(yaml.safe_dump(data), source="d.yaml")
    facility = spec.facilities[0]
    assert facility.public_rating == rating.upper()
    assert facility.pricing_public is True


def test_a_public_rating_that_is_no_rating_and_an_agency_alone_are_refused() -> None:
    assert "field 'facilities[0].public_rating'" in deal_refusal(_facility_deal(public_rating="Q+"))
    message = deal_refusal(_facility_deal(public_rating_agency="Fitch"))
    assert "field 'facilities[0].public_rating_agency'" in message


@pytest.mark.slow  # ~8 s alone: the process's first simulate loads the compiled kernels
def test_unpublished_pricing_reports_the_market_spread_as_unknown() -> None:
    data = _facility_deal(pricing_public=False, public_rating="BB-", public_rating_agency="Fitch")
    spec = parse_deal(yaml.safe_dump(data), source="d.yaml")
    result = gpucredit.simulate(spec, n_paths=100, seed=0, n_workers=1)
    m = result.all_facilities[0]
    assert m.market_spread_bps > 0.0  # the model still prices the coupon it is given
    assert m.reported_market_spread_bps is None
    assert m.reported_spread_gap_bps is None
    record = json.loads(json.dumps(credit_record(m)))
    assert record["market_spread_bps"] is None
    assert record["spread_gap_bps"] is None
    assert (record["public_rating"], record["public_rating_agency"]) == ("BB-", "Fitch")
    row = result.summary().iloc[0]
    assert row["market_spread_bps"] is None
    table = summary_table([result])
    headers = [str(c.header) for c in table.columns]
    assert headers.index("Public rating") == headers.index("Rating EL") + 1
    cells = {str(c.header): str(next(iter(c.cells))) for c in table.columns}
    assert cells["Market bp"] == "unknown"
    assert cells["Gap bp"] == "unknown"
    assert cells["Public rating"] == "BB- (Fitch)"


def test_public_pricing_keeps_the_market_spread_and_no_rating_column() -> None:
    spec = parse_deal(yaml.safe_dump(_facility_deal()), source="d.yaml")
    result = gpucredit.simulate(spec, n_paths=100, seed=0, n_workers=1)
    m = result.all_facilities[0]
    assert m.reported_market_spread_bps == m.market_spread_bps
    assert credit_record(m)["public_rating"] is None
    headers = [str(c.header) for c in summary_table([result]).columns]
    assert "Public rating" not in headers


def test_keys_follow_a_books_renamed_tenants() -> None:
    data = _facility_deal()
    data["contracts"][0]["tenant"] = "Meta Platforms (AA-)"
    data["assumptions"] = {
        "contracts[Meta Platforms (AA-)].units": REASON,
        "contracts[0].rate_usd_per_gpu_hour": REASON,
        "opex": REASON,
    }
    deal = parse_deal(yaml.safe_dump(data), source="d.yaml")
    renamed = rename_companies(deal, {"Meta Platforms (AA-)": "Meta"})
    assert renamed.contracts[0].tenant == "Meta"
    assert set(renamed.assumptions) == {
        "contracts[Meta].units",
        "contracts[0].rate_usd_per_gpu_hour",  # an index still names the same item
        "opex",
    }
    assert rename_companies(deal, {"Nobody": "Meta"}) is deal
