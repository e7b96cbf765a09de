"""Tiers secured by distinct contract pools (issue 13 item 9): the lots and the split of the
recovery by hand."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import yaml

from gpucredit.config.loading import parse_deal
from gpucredit.config.spec import DealSpec
from gpucredit.credit.allocation import allocate_recovery
from gpucredit.credit.lots import collateral_lots, with_lots
from gpucredit.debt.capital import structure_terms
from gpucredit.errors import SpecError
from gpucredit.scenarios import TimeGrid
from tests.conftest import hand_deal_data, make_deal


def _deal(**changes: Any) -> DealSpec:
    """100 GPUs: contract A (40, A-rated) pledged to tier-a, B (40, B-rated) to tier-b, 20 free."""
    data = hand_deal_data()
    base: dict[str, Any] = copy.deepcopy(data["contracts"][0])
    base.pop("annual_pd_pct")
    contracts = [
        dict(base, name="A", tenant="Alpha", rating="A", units=40),
        dict(base, name="B", tenant="Beta", rating="B", units=40),
    ]
    loan = data.pop("loan")
    tier = {
        "kind": "term_loan",
        "rate": loan["rate"],
        "tenor_months": 3,
        "amortisation": {"kind": "straight_line"},
    }
    facilities = [
        dict(tier, name="tier-a", principal_usd=100_000.0, secured_by_contracts=["A"]),
        dict(tier, name="tier-b", principal_usd=100_000.0, secured_by_contracts=["B"]),
    ]
    return make_deal(data, contracts=contracts, facilities=facilities, **changes)


def test_lots_split_each_cohort_by_its_pledged_contracts() -> None:
    deal = _deal()
    lots = collateral_lots(deal)
    assert lots is not None
    assert lots.names == ("c1/A", "c1/B", "c1")
    assert lots.cohort.tolist() == [0, 0, 0]
    assert lots.fraction.tolist() == [0.4, 0.4, 0.2]
    assert lots.lot_of_contract.tolist() == [0, 1]
    structure = with_lots(structure_terms(deal, TimeGrid(deal.as_of, 3)), deal, lots)
    assert [f.pool for f in structure.facilities] == [(0,), (1,)]
    assert all(f.secured for f in structure.facilities)
    # lot values: the cohort's value times each lot's share of its units
    values = np.array([[[1000.0]]])
    np.testing.assert_array_equal(lots.values(values), [[[400.0, 400.0, 200.0]]])


def test_recovery_of_two_tiers_by_hand() -> None:
    # Net proceeds 1,100: 1,000 for the hardware (400 / 400 / 200 by lot) and 100 for
    # contract A's assignment, which goes to A's lot: lots 500 / 400 / 200.
    # tier-a's claim 900 takes its lot's 500; tier-b's 300 takes 300 of its 400.
    # The estate is the free lot's 200 and the 100 left in B's lot: it pays tier-a's
    # deficiency of 400 with 300. Recoveries 800 and 300 add up to the 1,100.
    deal = _deal()
    lots = collateral_lots(deal)
    assert lots is not None
    structure = with_lots(structure_terms(deal, TimeGrid(deal.as_of, 3)), deal, lots)
    split = lots.split(
        np.array([1100.0]), np.array([100.0]), np.array([[1.0]]), np.array([[100.0, 0.0, 0.0]])
    )
    np.testing.assert_array_equal(split, [[500.0, 400.0, 200.0]])
    got = allocate_recovery(
        structure,
        [np.array([900.0]), np.array([300.0])],
        [np.zeros(1), np.zeros(1)],
        split,
        np.zeros(1),
        np.zeros(1),
    )
    assert [g.tolist() for g in got] == [[800.0], [300.0]]


def test_no_pledged_contracts_means_no_lots() -> None:
    data = hand_deal_data()
    assert collateral_lots(make_deal(data)) is None


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"secured_by_contracts": ["Z"]}, "facilities[1].secured_by_contracts[0]", "A, B"),
        ({"secured_by_contracts": ["A"]}, "facilities[1].secured_by_contracts[0]", "one facility"),
        ({"secured_by": ["c1"]}, "facilities[1].secured_by", "no secured_by beside"),
    ],
)
def test_bad_contract_pools_are_refused_with_their_field(
    change: dict[str, Any], field: str, words: str
) -> None:
    deal = _deal()
    data = deal.model_dump(mode="json", exclude_none=True)
    data["facilities"][1].update(change)
    with pytest.raises(SpecError) as info:
        parse_deal(yaml.safe_dump(data), source="deal.yaml")
    issue = info.value.issues[0]
    assert issue.field == field
    assert words in issue.expected
