"""A project-finance deal end to end: sculpted on its base case, its base-case LLCR at close is
the target DSCR (REFERENCES.md: constant sculpting makes LLCR equal DSCR)."""

from __future__ import annotations

from typing import Any

import pytest

from gpucredit.pipeline import build_model, simulate
from tests.conftest import load_example_data, make_deal


def _pf_deal_data(project_cost_usd: float | None = None) -> dict[str, Any]:
    data = load_example_data("hosting_secured_notes_backstop")
    data["name"] = "pf-sculpted"
    data.pop("real_estate", None)  # it secures the example's notes, replaced here
    data["facilities"] = [
        {
            "name": "pf-senior",
            "kind": "project_finance",
            "rate": {"kind": "fixed", "coupon_pct": 8.0},
            "tenor_months": 48,
            "target_dscr": 1.40,
            "max_gearing_pct": 90,
            "project_cost_usd": project_cost_usd,
            "dsra_months": 6,
            "covenants": [
                {
                    "kind": "min_dscr",
                    "threshold": 1.10,
                    "window_months": 6,
                    "consequence": "lock_up",
                }
            ],
        }
    ]
    data["waterfall"] = [
        {"step": "interest", "facility": "pf-senior"},
        {"step": "principal", "facility": "pf-senior"},
        {"step": "reserve", "facility": "pf-senior"},
        {"step": "maintenance_reserve", "usd_per_month": 250000, "target_usd": 3000000},
        {"step": "sweep", "facility": "pf-senior", "share_pct": 25},
        {"step": "distribute"},
    ]
    return data


# 100m USD: 90% of it is below the debt the example's 45 MW hall supports at 1.40x (~150m USD),
# so the gearing cap binds; 2bn USD: it does not.
@pytest.mark.parametrize(
    ("cost", "capped"), [(1e8, True), (2e9, False)], ids=["gearing-capped", "sculpted-at-target"]
)
def test_sculpted_project_finance_llcr_at_close_is_the_target_dscr(
    cost: float, capped: bool
) -> None:
    deal = make_deal(_pf_deal_data(cost))
    model = build_model(deal)
    assert model.structure is not None
    sized = model.structure.facilities[0].loan.principal_usd
    assert sized > 0.0
    result = simulate(deal, n_paths=200, seed=2, solve_fair_spread=False)
    assert result.structure is not None
    debt, dscr = result.structure.sculpted["pf-senior"]
    assert debt == pytest.approx(sized)
    assert (dscr == pytest.approx(1.40)) == (not capped)
    if not capped:  # the gearing cap does not bind
        assert result.structure.llcr_at_close == pytest.approx(1.40, rel=1e-9)
    else:  # capped: every month's service scaled down alike, LLCR = the higher DSCR
        assert result.structure.llcr_at_close == pytest.approx(dscr, rel=1e-9)
    assert 0.0 <= result.facilities[0].pd <= 1.0
