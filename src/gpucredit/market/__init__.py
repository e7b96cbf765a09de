"""Market data shipped with the package (``gpucredit/data``) and readers over it."""

from gpucredit.market.bitcoin import (
    Halving,
    HalvingEstimate,
    block_subsidy_btc,
    btc_halvings,
    hashprice_series,
    hashprice_usd_per_ph_day,
    next_halving_estimate,
    shipped_hashprice,
)
from gpucredit.market.history import Observation, rent_anchor, rent_observations, sofr_on
from gpucredit.market.ratings import (
    RATING_TABLE_SOURCE,
    annual_default_rate,
    cumulative_default_table,
)
from gpucredit.market.rent_index import (
    monthly_rent_index,
    rent_index,
    rent_index_table,
    rental_observations,
)

__all__ = [
    "RATING_TABLE_SOURCE",
    "Halving",
    "HalvingEstimate",
    "Observation",
    "annual_default_rate",
    "block_subsidy_btc",
    "btc_halvings",
    "cumulative_default_table",
    "hashprice_series",
    "hashprice_usd_per_ph_day",
    "monthly_rent_index",
    "next_halving_estimate",
    "rent_anchor",
    "rent_index",
    "rent_index_table",
    "rent_observations",
    "rental_observations",
    "shipped_hashprice",
    "sofr_on",
]
