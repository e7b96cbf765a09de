"""A single loan through the compiled structure engine against its NumPy oracle (STYLE.md 6).

A single loan runs as a structure of one facility (``debt.engine.run_loan``): compiled by
numba on the default backend, through ``debt.structure.run_structure`` on the NumPy one. The
two must agree exactly on every ledger field, on deal variants that exercise every covenant
consequence, waivers, a refinanced bullet and payment defaults (``VARIANTS``, also the cases of
``test_structure_vs_single_loan``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from gpucredit.config.spec import DealSpec
from gpucredit.debt import run_loan
from gpucredit.pipeline import _inputs, build_model
from gpucredit.scenarios import MonteCarloShocks
from tests.conftest import load_example_data, make_deal

N_PATHS = 200


def _variants() -> dict[str, DealSpec]:
    out: dict[str, DealSpec] = {}
    for stem in ("merchant_h100", "ddtl_ig_contracted", "b200_ai_lab"):
        out[stem] = make_deal(load_example_data(stem))
    base = load_example_data("merchant_h100")
    loan: dict[str, Any] = dict(base["loan"])
    # every covenant consequence, a tight trigger so they fire, and a bullet with refinancing
    out["lockup_sweep_bullet"] = make_deal(
        base,
        loan=dict(
            loan,
            amortisation={"kind": "bullet"},
            covenants=[
                {
                    "kind": "min_dscr",
                    "threshold": 2.5,
                    "window_months": 3,
                    "consequence": "lock_up",
                },
                {"kind": "max_ltv", "threshold": 0.4, "consequence": "cash_sweep"},
            ],
        ),
    )
    out["schedule_eod"] = make_deal(
        base,
        loan=dict(
            loan,
            amortisation={"kind": "schedule", "principal_pct_by_month": [1.0] * 35 + [65.0]},
            rate={"kind": "fixed", "coupon_pct": 11.0},
            covenants=[
                {"kind": "max_ltv", "threshold": 0.5, "cure_period_months": 1},
                {"kind": "min_dscr", "threshold": 1.8, "window_months": 6},
            ],
        ),
    )
    # covenant waivers: a tight DSCR covenant that triggers, waived (several times, with an LTV
    # covenant waived in the same months at another fee: the larger fee and step-up apply)
    tight_dscr = {"kind": "min_dscr", "threshold": 1.6, "window_months": 3}
    out["waiver_heavy"] = make_deal(
        base,
        loan=dict(
            loan,
            covenants=[
                dict(
                    tight_dscr,
                    waiver={
                        "max_ltv": 1.0,
                        "fee_bps": 40.0,
                        "margin_step_up_bps": 150.0,
                        "max_waivers": 4,
                    },
                ),
                {"kind": "max_ltv", "threshold": 0.5, "cure_period_months": 1},
            ],
        ),
    )
    out["waivers_exhausted"] = make_deal(
        base,
        loan=dict(loan, covenants=[dict(tight_dscr, waiver={"max_ltv": 1.0, "max_waivers": 1})]),
    )
    out["waiver_null"] = make_deal(base, loan=dict(loan, covenants=[dict(tight_dscr, waiver=None)]))
    return out


VARIANTS = _variants()
#: Variants whose covenants must grant waivers (and, where exhausted, then default).
WAIVING = ("waiver_heavy", "waivers_exhausted")


@pytest.mark.parametrize("name", list(VARIANTS))
def test_compiled_loan_equals_numpy_loan(name: str) -> None:
    model = build_model(VARIANTS[name])
    inputs = _inputs(model, MonteCarloShocks(5), 0, N_PATHS)
    args = (
        model.terms,
        inputs.cash.cfads_usd,
        inputs.cash.collateral_value_usd,
        inputs.scenarios.sofr,
    )
    vectorised = run_loan(*args, compiled=False)
    compiled = run_loan(*args, compiled=True)
    defaults = int((vectorised.default_month > 0).sum())
    for field in dataclasses.fields(vectorised):
        a, b = getattr(vectorised, field.name), getattr(compiled, field.name)
        assert (a is None and b is None) or np.array_equal(a, b), f"{name}: {field.name}"
    if name in ("lockup_sweep_bullet", "schedule_eod"):
        assert defaults > 0 or vectorised.breach.any(), "the variant must exercise covenants"
    if name in WAIVING:
        assert vectorised.waivers.sum() > 0, "the variant must grant waivers"
    if name == "waiver_heavy":
        assert vectorised.waivers.max() >= 2, "waivers repeat on a path"
    if name == "waivers_exhausted":
        # a breach that triggers again after the one waiver allowed is an event of default
        assert vectorised.waivers.max() == 1
        assert np.any((vectorised.waivers == 1) & (vectorised.default_kind == 2))
    if name == "waiver_null":
        assert vectorised.waivers.sum() == 0 and np.any(vectorised.default_kind == 2)
