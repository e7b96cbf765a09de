"""Real-estate collateral by hand: one building, one facility.

The building: 20 MW of IT capacity re-let at 130 USD per kW-month at a 6.5% cap rate is worth
``130 x 12 x 20,000 / 0.065 = 480m USD``; with 10m USD of land and a 40% haircut on the
building it fetches ``10 + 0.6 x 480 = 298m USD``, 12 months after the default. At 0.5% a month
and a fleet sale 3 months after the default, valued at the fleet sale's date that is
``298m x 1.005^(3 - 12)``.

The allocation: a facility owed 100 with a fleet sale of 30 and 5 of deal cash takes the sale,
then 50 from the building, then the estate: 85, of which 50 (59%) from real estate. With 90
from the building it is paid in full (70 from the building; the 20 left joins the estate).
"""

from __future__ import annotations

import numpy as np
import pytest

from gpucredit.credit.allocation import allocate_recovery
from gpucredit.credit.real_estate import RealEstateTerms, stabilised_value_usd
from gpucredit.debt.facilities import FacilityTerms, StructureTerms, default_steps
from tests.conftest import plain_loan_terms

# sums of a few USD 100m: float rounding only
REL = 1e-12


def _one_facility() -> StructureTerms:
    loan = plain_loan_terms("notes", 100.0, 12, 0.08)
    facility = FacilityTerms(loan=loan, kind="notes", pool=(0,), secured=True)
    return StructureTerms((facility,), default_steps((facility,)))


def test_a_building_is_valued_as_a_relettable_data_hall() -> None:
    stabilised = stabilised_value_usd(20.0, 130.0, 0.065)
    assert stabilised == pytest.approx(480e6, rel=REL)
    item = RealEstateTerms("hall", stabilised, 10e6, 0.4, 12, (0,))
    assert item.liquidation_value_usd == pytest.approx(298e6, rel=REL)
    got = item.proceeds_usd(np.array([0.005]), np.array([3.0]))
    assert got[0] == pytest.approx(298e6 * 1.005**-9, rel=REL)
    moodys = RealEstateTerms("hall", stabilised, 10e6, 1.0, 12, (0,))
    assert moodys.liquidation_value_usd == 10e6  # buildings count for nothing


@pytest.mark.parametrize(
    ("building", "total", "from_building"), [(50.0, 85.0, 50.0), (90.0, 100.0, 70.0)]
)
def test_the_building_pays_before_the_deficiency_claim(
    building: float, total: float, from_building: float
) -> None:
    took = [np.zeros(1)]
    got = allocate_recovery(
        _one_facility(),
        [np.array([100.0])],
        [np.zeros(1)],
        np.array([[30.0]]),
        np.array([5.0]),
        np.zeros(1),
        [(np.array([building]), (0,))],
        took,
    )
    assert got[0][0] == pytest.approx(total, rel=REL)
    assert took[0][0] == pytest.approx(from_building, rel=REL)
    without = allocate_recovery(
        _one_facility(),
        [np.array([100.0])],
        [np.zeros(1)],
        np.array([[30.0]]),
        np.array([5.0]),
        np.zeros(1),
    )
    assert without[0][0] == pytest.approx(35.0, rel=REL)
