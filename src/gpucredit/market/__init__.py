"""Market data shipped with the package (``gpucredit/data``) and readers over it."""

from gpucredit.market.history import Observation, rent_anchor, rent_observations, sofr_on
from gpucredit.market.ratings import (
    RATING_TABLE_SOURCE,
    annual_default_rate,
    cumulative_default_table,
)

__all__ = [
    "RATING_TABLE_SOURCE",
    "Observation",
    "annual_default_rate",
    "cumulative_default_table",
    "rent_anchor",
    "rent_observations",
    "sofr_on",
]
