"""The parent's fleet in the same market (``credit.parent_fleet``): more of the parent's units
never raise the deal's recovery, and the co-sold recovery is never above the sale alone, on
the same default states (common random numbers)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.credit.liquidation import MarketDefaultState, SecondaryMarketRecovery
from gpucredit.credit.parent_fleet import CoSoldRecovery
from gpucredit.credit.recovery import RecoveryResult
from tests.properties.test_block_invariance import _check, _deal_records

MARKET = SecondaryMarketRecovery.for_cohorts(
    ["B200", "H100"],
    [25_000.0, 8_000.0],
    [330.0, 250.0],
    [0.02, 0.0175],
    dt.date(2026, 7, 31),
    grid_steps=12,
)


def _pv(result: RecoveryResult, rate: np.ndarray) -> np.ndarray:
    """Present value of the proceeds at the lender's rate (the lag is defined to give it)."""
    return np.asarray(result.proceeds_usd * (1.0 + rate) ** (-result.lag_months))


@given(
    seed=st.integers(0, 2**31 - 1),
    small=st.floats(0.0, 2e5),
    extra=st.floats(0.0, 5e5),
    sale_months=st.integers(1, 12),
)
@settings(max_examples=25, deadline=None)
def test_more_parent_units_never_raise_the_recovery(
    seed: int, small: float, extra: float, sale_months: int
) -> None:
    rng = np.random.default_rng(seed)
    n = 16
    month = rng.integers(1, 48, size=n)
    rate = rng.uniform(0.001, 0.01, n)
    state = MarketDefaultState(
        month=month,
        ead_usd=np.full(n, np.inf),
        pledged_cash_usd=np.zeros(n),
        cohort_value_usd=rng.uniform(1e7, 1.2e9, (n, 2)),
        monthly_discount=rate,
    )
    t_p = np.maximum(month - rng.integers(0, 6, size=n), 1)
    alone = _pv(MARKET.recover(state), rate)
    pvs = [alone]
    for units in (small, small + extra):
        fleet = (("B200", units), ("H100", 2.0 * units))
        pvs.append(
            _pv(CoSoldRecovery(MARKET, MARKET, fleet, sale_months, t_p).recover(state), rate)
        )
    # 1e-9 relative: the PV is rebuilt from proceeds and lag (a log and a power)
    for more, fewer in zip(pvs[1:], pvs[:-1], strict=True):
        assert np.all(more <= fewer * (1.0 + 1e-9) + 1e-6)


@pytest.mark.slow  # two runs of 130 paths with their spread searches, ~9 s measured
def test_a_co_sold_structure_is_bit_identical_for_any_block_size_and_workers() -> None:
    records = _deal_records("coreweave/ddtl4_spv", 130, ((64, 2), (4096, 1)))
    _check(records)
    parent = records[0][1]["parent"]
    assert (
        parent["fleet_sold_on_default"]
        and parent["facilities"]["ddtl4-floating"]["share_defaults_co_sold"] > 0.0
    )
