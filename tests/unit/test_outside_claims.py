"""Claims outside the deal that rank with a facility (``pari_passu_outside_usd``): they share
the general estate pro rata with the facility's rank and take their part out of the deal.

The hand case: a secured facility owed 100 on a fleet sold for 120, unsecured notes owed 50,
and 10 of deal cash. The secured facility takes 100 of the sale; the 20 left and the 10 of cash
are the general estate, 30. Alone, the notes take all 30. Beside 150 of outside claims of
their rank they take ``30 x 50 / 200 = 7.5``, the outside claims ``22.5``; 100 + 7.5 + 22.5 is
the 130 the estate had.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import yaml

from gpucredit.config.loading import parse_deal
from gpucredit.credit.allocation import allocate_recovery
from gpucredit.debt.capital import structure_terms
from gpucredit.debt.facilities import FacilityTerms, StructureTerms, default_steps
from gpucredit.errors import SpecError
from gpucredit.scenarios.grid import TimeGrid
from tests.conftest import load_example_data, plain_loan_terms

# sums of a few hundred USD: float rounding only
REL = 1e-12


def _structure(outside_usd: float, outside_on_senior: float = 0.0) -> StructureTerms:
    secured = FacilityTerms(
        loan=plain_loan_terms("ddtl", 100.0, 12, 0.06),
        kind="ddtl",
        seniority=1,
        pool=(0,),
        pari_passu_outside_usd=outside_on_senior,
    )
    notes = FacilityTerms(
        loan=plain_loan_terms("notes", 50.0, 12, 0.09),
        kind="notes",
        seniority=2,
        secured=False,
        pari_passu_outside_usd=outside_usd,
    )
    return StructureTerms((secured, notes), default_steps((secured, notes)))


def _allocate(
    structure: StructureTerms,
    sale: list[float],
    cash: list[float],
    took: np.ndarray | None = None,
    refinanced: list[float] | None = None,
) -> list[np.ndarray]:
    n = len(sale)
    return allocate_recovery(
        structure,
        [np.full(n, 100.0), np.full(n, 50.0)],
        [np.zeros(n), np.zeros(n)],
        np.array(sale)[:, None],
        np.array(cash),
        np.zeros(n) if refinanced is None else np.array(refinanced),
        outside_took=took,
    )


def test_an_outside_claim_dilutes_its_rank_pro_rata() -> None:
    took = np.zeros(1)
    got = _allocate(_structure(150.0), [120.0], [10.0], took)
    assert got[0][0] == pytest.approx(100.0, rel=REL)
    assert got[1][0] == pytest.approx(7.5, rel=REL)
    assert took[0] == pytest.approx(22.5, rel=REL)
    alone = _allocate(_structure(0.0), [120.0], [10.0])
    assert alone[1][0] == pytest.approx(30.0, rel=REL)


@pytest.mark.parametrize("outside", [1.0, 150.0, 1e6])
def test_cash_is_conserved_when_the_estate_is_short(outside: float) -> None:
    """What the facilities got and the outside claims took is what the estate had (the sale
    and the deal cash) on every path where the claims (151 USD and more) exceed it."""
    sale, cash = [0.0, 60.0, 120.0, 140.0], [0.0, 5.0, 10.0, 9.0]
    took = np.zeros(len(sale))
    got = _allocate(_structure(outside), sale, cash, took)
    had = np.array(sale) + np.array(cash)
    np.testing.assert_allclose(got[0] + got[1] + took, had, rtol=REL)
    # pro rata within the rank: the notes and the outside claims get one share of their claims
    np.testing.assert_allclose(got[1] / 50.0, took / outside, rtol=REL)
    # recording what the outside claims took changes nothing the facilities get
    unrecorded = _allocate(_structure(outside), sale, cash)
    assert all(np.array_equal(x, y) for x, y in zip(got, unrecorded, strict=True))


def test_an_estate_that_covers_the_rank_pays_it_in_full_and_keeps_the_rest() -> None:
    took = np.zeros(1)
    got = _allocate(_structure(20.0), [200.0], [0.0], took)
    assert got[1][0] == pytest.approx(50.0, rel=REL)
    assert took[0] == pytest.approx(20.0, rel=REL)


def test_zero_gives_the_old_allocation_to_the_bit() -> None:
    rng = np.random.default_rng(7)
    sale, cash = rng.uniform(0.0, 200.0, 64).tolist(), rng.uniform(0.0, 20.0, 64).tolist()
    base = _structure(0.0)
    old = allocate_recovery(
        base,
        [np.full(64, 100.0), np.full(64, 50.0)],
        [np.zeros(64), np.zeros(64)],
        np.array(sale)[:, None],
        np.array(cash),
        np.full(64, 30.0),
    )
    took = np.zeros(64)
    new = _allocate(base, sale, cash, took, [30.0] * 64)
    assert all(np.array_equal(a, b) for a, b in zip(old, new, strict=True))
    assert not took.any()


def test_the_outside_claims_of_a_rank_are_summed_over_its_facilities() -> None:
    """Split over two facilities of one rank, the same claim dilutes it the same."""
    one = _structure(150.0)
    a, b = one.facilities
    second = replace(b, loan=plain_loan_terms("notes-b", 50.0, 12, 0.09))
    split = StructureTerms(
        (
            a,
            replace(b, pari_passu_outside_usd=100.0),
            replace(second, pari_passu_outside_usd=50.0),
        ),
        one.steps,
    )
    whole = StructureTerms((a, b, replace(second, pari_passu_outside_usd=0.0)), one.steps)
    args: tuple[Any, ...] = (
        [np.full(1, 100.0), np.full(1, 50.0), np.full(1, 50.0)],
        [np.zeros(1)] * 3,
        np.array([[120.0]]),
        np.array([10.0]),
        np.zeros(1),
    )
    got_split = allocate_recovery(split, *args)
    got_whole = allocate_recovery(whole, *args)
    assert all(np.array_equal(x, y) for x, y in zip(got_split, got_whole, strict=True))
    assert got_split[1][0] == pytest.approx(30.0 * 50.0 / 250.0, rel=REL)


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf")], ids=["neg", "nan", "inf"])
def test_a_negative_or_non_finite_outside_claim_is_a_spec_error(value: float) -> None:
    data = load_example_data("parent_unsecured_notes")
    k = len(data["facilities"]) - 1
    data["facilities"][k]["pari_passu_outside_usd"] = value
    with pytest.raises(SpecError) as info:
        parse_deal(yaml.safe_dump(data, sort_keys=False), source="deal.yaml")
    (issue,) = info.value.issues
    assert issue.field == f"facilities[{k}].pari_passu_outside_usd"
    assert "pari_passu_outside_usd" in str(info.value)


def test_the_field_reaches_the_facility_terms() -> None:
    data = load_example_data("parent_unsecured_notes")
    k = len(data["facilities"]) - 1
    data["facilities"][k]["pari_passu_outside_usd"] = 1.5e8
    deal = parse_deal(yaml.safe_dump(data, sort_keys=False), source="deal.yaml")
    assert deal.facilities[k].pari_passu_outside_usd == 1.5e8
    terms = structure_terms(deal, TimeGrid(deal.as_of, 120))
    assert [f.pari_passu_outside_usd for f in terms.facilities][-1] == 1.5e8
    assert not any(f.pari_passu_outside_usd for f in terms.facilities[:-1])
