"""Properties of refinancing against the market enterprise value (``refinancing.value:
enterprise``): on common random numbers, a higher enterprise value never makes a path
default, and both engines agree."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.debt.engine import run_structure_compiled
from gpucredit.debt.facilities import (
    StructureTerms,
)
from gpucredit.debt.structure import run_structure
from tests.conftest import convertible_pair
from tests.oracle.test_compiled_structure import assert_same_ledger

N_PATHS, N_MONTHS = 8, 18


def _structure(tenors: tuple[int, int], conversion: float, window: int) -> StructureTerms:
    return convertible_pair(
        tenors,
        coupon=0.01,
        conversion_price_usd=conversion,
        max_ltv=0.7,
        enterprise=True,
        window=window,
        shares=5.0,
    )


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    rise=st.floats(0.0, 3.0),
    tenors=st.tuples(st.integers(2, N_MONTHS), st.integers(2, N_MONTHS)),
    conversion=st.floats(5.0, 60.0),
    window=st.integers(0, 6),
)
def test_a_higher_enterprise_value_never_makes_a_path_default(
    seed: int, rise: float, tenors: tuple[int, int], conversion: float, window: int
) -> None:
    # the same cash, collateral, rates and credit window (common random numbers); the share
    # price, and with it the enterprise value (the shares' value plus the debt), scaled up by
    # 1 + rise: a path that survives at the lower value survives at the higher, since
    # conversion and the refinancing test only get easier
    rng = np.random.default_rng(seed)
    cfads = rng.normal(2.0, 3.0, (N_PATHS, N_MONTHS))
    value = rng.uniform(10.0, 120.0, (N_PATHS, N_MONTHS, 1))
    sofr = rng.uniform(0.0, 0.06, (N_PATHS, N_MONTHS))
    regime = (rng.uniform(size=(N_PATHS, N_MONTHS)) < 0.3).astype(np.int64)
    share = rng.lognormal(np.log(10.0), 0.8, (N_PATHS, N_MONTHS))
    structure = _structure(tenors, conversion, window)
    defaulted = []
    for scale in (1.0, 1.0 + rise):
        ledger = run_structure_compiled(
            structure, cfads, value, sofr, regime, share_price_usd=share * scale
        )
        oracle = run_structure(structure, cfads, value, sofr, regime, share_price_usd=share * scale)
        assert_same_ledger(oracle, ledger)
        defaulted.append(ledger.default_month > 0)
    assert not np.any(defaulted[1] & ~defaulted[0])
