"""Growing borrowers: more equity in the capex (less growth debt) never raises the notes' PD
on the same paths (issue 13 item 8)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gpucredit.debt.engine import run_structure_compiled
from gpucredit.pipeline import _inputs, build_model
from gpucredit.scenarios import MonteCarloShocks
from tests.reference.test_growth import growing_deal

N_PATHS = 200
SHARES = (0.0, 30.0, 60.0, 90.0, 100.0)


def _notes_defaults(debt_share_pct: float, seed: int) -> np.ndarray:
    """The notes' default flags on each path, the plan funded ``debt_share_pct`` by debt."""
    deal = growing_deal(
        capex_plan=[
            {"date": "2026-03-31", "generation": "B200", "units": 2000, "unit_cost_usd": 45000},
            {"date": "2026-09-30", "generation": "B200", "units": 2000, "unit_cost_usd": 45000},
        ],
        funding={"debt_share_pct": debt_share_pct},
        debt={"draw_tenor_months": 24},
    )
    model = build_model(deal)
    assert model.structure is not None
    x = _inputs(model, MonteCarloShocks(seed), 0, N_PATHS)
    ledger = run_structure_compiled(
        model.structure,
        x.cash.cfads_usd,
        x.cash.cohort_value_usd,
        x.scenarios.sofr,
        x.scenarios.credit_window(),
    )
    return np.asarray(ledger.facilities[0].default_month > 0)


@pytest.mark.parametrize("seed", [1, 2])
def test_more_equity_never_raises_the_notes_pd(seed: int) -> None:
    # the same paths for every share: the plan's cohorts, contracts and tenant do not depend
    # on it, only the growth DDTL's size (and whether there is one)
    flags = [_notes_defaults(share, seed) for share in SHARES]
    pds = [float(f.mean()) for f in flags]
    assert pds == sorted(pds), pds
    for less, more in itertools.pairwise(flags):
        assert not (less & ~more).any()  # a path that defaults with less debt does with more
    assert pds[-1] > pds[0]  # the debt matters on these paths: the test is not vacuous
