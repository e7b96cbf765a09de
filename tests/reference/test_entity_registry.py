"""The shipped entity registry and a company's risk under P and Q, by hand
(``config.entities``, ``credit.entity_risk``; docs/capital_structures.md, "Parents, sponsors,
servicers and the entity registry")."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from gpucredit.config.entities import find_parent_cycle, group_risk, load_registry, registry
from gpucredit.credit.entity_risk import (
    entity_record,
    p_pd_from_cds,
    q_hazard_from_cds,
    q_over_p_ratio,
)

AS_OF = dt.date(2026, 7, 31)
HEADER = (
    "name,kind,rating,rating_source,cds_5y_bp,cds_date,cds_source,annual_pd_pct,pd_reasoning,"
    "parent,note\n"
)


def test_coreweave_cds_implies_a_hazard_of_10_7_percent() -> None:
    # REFERENCES.md: 643 bp at 40% recovery -> 6.43% / 0.6 = 10.7167% a year
    assert q_hazard_from_cds(643.0) == pytest.approx(0.0643 / 0.6, rel=1e-15)  # one division
    assert round(q_hazard_from_cds(643.0), 5) == 0.10717


def test_the_registry_carries_the_public_ratings_and_coreweaves_cds() -> None:
    companies = registry()
    ratings = {n: companies[n].rating for n in ("Microsoft", "Alphabet", "Amazon", "Meta")}
    assert ratings == {"Microsoft": "AAA", "Alphabet": "AA+", "Amazon": "AA", "Meta": "AA-"}
    assert companies["Oracle"].rating == "BBB"
    cw = companies["CoreWeave"]
    assert (cw.rating, cw.cds_5y_bp, cw.cds_date) == ("B+", 643.0, dt.date(2025, 12, 5))
    for e in companies.values():  # every company has a rating with its source or a labelled PD
        assert (
            (e.rating is not None and e.rating_source)
            or (e.annual_pd_pct is not None and e.pd_reasoning.startswith("ASSUMPTION"))
            or e.parent is not None
        ), e.name


def test_a_group_member_takes_its_parents_risk() -> None:
    assert group_risk("Google", registry()) == ("AA+", None, ("Google", "Alphabet"))
    assert group_risk("Nobody Inc", registry()) == (None, None, ())


def test_q_over_p_ratio_of_single_b_by_hand() -> None:
    # shipped: B OAS 3.09% (2025-08-11), S&P B one-year default rate 2.93%
    expected = 0.0309 / 0.6 / -math.log(1.0 - 0.0293)
    assert q_over_p_ratio("B", AS_OF) == pytest.approx(expected, rel=1e-12)  # same formula
    assert q_over_p_ratio("B", AS_OF) == pytest.approx(1.732, abs=1e-3)  # printed to 3 dp


def test_a_cds_at_the_category_spread_gives_the_categorys_p_pd() -> None:
    # an unrated company whose CDS equals the single-B index spread is, in P, a single-B
    assert p_pd_from_cds(309.0, "B", AS_OF) == pytest.approx(0.0293, rel=1e-12)  # round trip
    with pytest.raises(ValueError, match="no market spread of rating 'CCC'"):
        q_over_p_ratio("CCC", AS_OF)


def test_the_report_gives_coreweaves_p_pd_q_hazard_and_their_ratio() -> None:
    record = entity_record("CoreWeave", "B", None, AS_OF)  # as the spec holds B+
    assert record["pd_source"] == "registry" and record["rating"] == "B+"
    assert record["annual_pd_p"] == pytest.approx(0.0293, rel=1e-12)  # 2.93 / 100 in floats
    assert record["q_hazard_per_year"] == pytest.approx(0.107167, abs=1e-6)  # rounding shown
    ratio = (0.0643 / 0.6) / -math.log(1.0 - 0.0293)
    assert record["q_over_p_hazard"] == pytest.approx(ratio, rel=1e-12)  # same formula
    typed = entity_record("CoreWeave", "BB", None, AS_OF)  # a typed rating wins
    assert typed["pd_source"] == "typed"
    assert typed["annual_pd_p"] == pytest.approx(0.0056, rel=1e-12)  # 0.56 / 100 in floats
    before = entity_record("CoreWeave", "B", None, dt.date(2025, 6, 30))  # no CDS yet
    assert before["q_hazard_per_year"] is None


def test_a_cycle_of_parents_is_found_and_refused() -> None:
    assert find_parent_cycle({"A": "B", "B": "C", "C": "A", "D": None}) == ["A", "B", "C", "A"]
    assert find_parent_cycle({"A": "B", "B": None}) is None
    text = HEADER + "A,host,,,,,,,,B,\nB,host,,,,,,,,A,\n"
    with pytest.raises(ValueError, match="a cycle of parents A -> B -> A"):
        load_registry(text)
