"""Real-estate collateral: a data hall, its land and its power contract pledged beside the GPUs.

A data hall's stabilised value is what it is worth let again at market rent: ``annual rent x
IT capacity / cap rate``. In a liquidation Moody's gives the land its value but the buildings
none (REFERENCES.md, "Adjacent rated data-centre deals"), so by default the building's value
takes a 100% haircut and only the land counts; a lower haircut credits the re-lettable hall.
The proceeds arrive ``liquidation_months`` after the default, discounted at the path's SOFR,
and go to the facilities the item secures, by seniority, before their deficiency claims
(``credit.allocation.allocate_recovery``). See docs/capital_structures.md, "Real-estate
collateral".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpucredit._typing import Float64Array

__all__ = ["MOODYS_BUILDING_HAIRCUT", "RealEstateTerms", "stabilised_value_usd"]

#: Default haircut on a building's stabilised value in liquidation, decimal: Moody's gives land
#: value but no value to buildings (REFERENCES.md, "Adjacent rated data-centre deals").
MOODYS_BUILDING_HAIRCUT = 1.0


def stabilised_value_usd(
    it_capacity_mw: float, rent_usd_per_kw_month: float, cap_rate: float
) -> float:
    """A re-lettable data hall's value, USD: ``rent x 12 x capacity (kW) / cap rate``.

    Parameters
    ----------
    it_capacity_mw : float
        Critical IT capacity, MW (> 0).
    rent_usd_per_kw_month : float
        Market rent of the hall, USD per kW of IT capacity a month (>= 0).
    cap_rate : float
        Capitalisation rate, decimal a year (> 0).
    """
    return rent_usd_per_kw_month * 12.0 * it_capacity_mw * 1_000.0 / cap_rate


@dataclass(frozen=True, slots=True)
class RealEstateTerms:
    """One pledged real-estate item in engine units.

    Attributes
    ----------
    name : str
    stabilised_value_usd : float
        The hall let again at market rent (``stabilised_value_usd``), USD.
    land_value_usd : float
        The land (and power contract) in liquidation, USD.
    haircut : float
        Haircut on the stabilised value in liquidation, decimal (1: buildings count for
        nothing, Moody's).
    liquidation_months : int
        Months from the default to the sale.
    secures : tuple of int
        The facilities (structure indices) it secures.
    """

    name: str
    stabilised_value_usd: float
    land_value_usd: float
    haircut: float
    liquidation_months: int
    secures: tuple[int, ...]

    @property
    def liquidation_value_usd(self) -> float:
        """Land plus the building's value after its haircut, USD (undiscounted)."""
        return self.land_value_usd + (1.0 - self.haircut) * self.stabilised_value_usd

    def proceeds_usd(self, monthly_rate: Float64Array, lag_months: Float64Array) -> Float64Array:
        """Net proceeds on each defaulted path, valued at the fleet sale's lag, USD, (n,).

        ``liquidation_value_usd x (1 + r)^(lag - liquidation_months)``, with ``r`` the path's
        SOFR a month at default: the structure's recoveries are all discounted over the fleet
        sale's ``lag_months`` afterwards, so the real estate's own delay is what differs.
        """
        r = np.asarray(monthly_rate, dtype=np.float64)
        lag = np.asarray(lag_months, dtype=np.float64)
        return np.asarray(
            self.liquidation_value_usd * (1.0 + r) ** (lag - self.liquidation_months),
            dtype=np.float64,
        )
