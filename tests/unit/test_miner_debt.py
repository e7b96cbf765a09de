"""The miner's debt: spec checks, and the margin lender when another facility defaults first."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from gpucredit.config.miner import parse_miner
from gpucredit.config.spec import FixedRateSpec
from gpucredit.debt.facilities import FacilityTerms, StructureTerms, default_steps, with_margin
from gpucredit.debt.margin_loan import MarginLoanTerms, margin_loan_terms
from gpucredit.debt.structure import StructureLedger, run_structure
from tests.conftest import load_example_data, miner_refusal, plain_loan_terms


def test_a_facility_secured_by_an_unknown_pool() -> None:
    data = load_example_data("miner_hosting_pivot")
    data["facilities"][0]["secured_by"] = ["rigs"]
    message = miner_refusal(data)
    assert "facilities[0].secured_by[0]" in message and "'rigs'" in message
    assert "asics, hosting, gpus" in message


def test_a_facility_secured_by_gpus_needs_a_gpu_fleet() -> None:
    data = load_example_data("miner_hosting_pivot")
    data["facilities"][0]["secured_by"] = ["gpus"]
    message = miner_refusal(data)
    assert "facilities[0].secured_by[0]" in message and "a gpu_fleet section" in message


def test_a_miner_needs_debt_to_assess() -> None:
    data = load_example_data("miner_hosting_pivot")
    data.pop("margin_loan")
    data["facilities"] = []
    assert "a margin_loan or at least one facility" in miner_refusal(data)


def test_a_convertible_needs_the_share_price() -> None:
    data = load_example_data("miner_hosting_pivot")
    data.pop("borrower")
    assert "borrower.share_price_usd" in miner_refusal(data)


def _margin_program(
    terms: MarginLoanTerms, btc: np.ndarray, free: float, outside_default: int
) -> StructureLedger:
    """The margin loan first, then a plain 10m term loan that the borrower defaults on in month
    ``outside_default`` (an outside default accelerates it: kind 5)."""
    loan = FacilityTerms(loan=plain_loan_terms("other", 10e6, 3, 0.0))
    program = with_margin(StructureTerms((loan,), default_steps((loan,))), terms)
    n = btc.shape[1]
    return run_structure(
        program,
        np.full((1, n), 1e9),  # cash enough for the term loan, none taken by the margin loan
        np.full((1, n, 1), 1e9),
        np.zeros((1, n)),
        external_default_month=np.array([outside_default]),
        btc_usd=btc,
        free_btc=np.array([free]),
    )


def test_margin_lender_accelerated_by_another_default_sells_the_pledge() -> None:
    # 50m lent at a fixed 0% against 1,200 BTC; BTC 73,600 -> 70,000 -> 60,000: LTV 56.6%,
    # 59.5%, 69.4%: no call. The borrower defaults on another facility in month 2: the lender
    # sells the pledge then, 1,200 x 70,000 / 1.0438 = 80.47m, and takes its 50m: no loss.
    spec = parse_miner(yaml.safe_dump(load_example_data("miner_hosting_pivot"), sort_keys=False))
    assert spec.margin_loan is not None
    zero = FixedRateSpec(kind="fixed", coupon_pct=0.0)
    terms = margin_loan_terms(spec.margin_loan.model_copy(update={"rate": zero}))
    btc = np.array([[73_600.0, 70_000.0, 60_000.0]])
    out = _margin_program(terms, btc, 300.0, 2)
    debt, ml = out.margin_facility, out.margin
    assert debt is not None and ml is not None
    assert int(debt.default_month[0]) == 2 and int(debt.default_kind[0]) == 5
    assert int(out.facilities[0].default_kind[0]) == 5  # the term loan: the outside default
    assert debt.ead[0] == pytest.approx(50e6)
    assert ml.recovery_usd[0] == pytest.approx(50e6)
    assert ml.received_usd[0].tolist() == [0.0, 0.0, 0.0]
    assert debt.alive[0].tolist() == [True, True, False]
    # BTC at 40,000 in month 2: LTV 104% >= 86%, the ladder itself liquidates in month 2 (its
    # own default, not an acceleration): 1,200 BTC fetch 48m, the penalty takes
    # 48m x 0.0438 / 1.0438 = 2.01m, the lender recovers 45.99m and loses 4.01m; the term loan
    # is accelerated by it (cross-default) in the same month.
    crash = np.array([[73_600.0, 40_000.0, 40_000.0]])
    out = _margin_program(terms, crash, 0.0, 0)
    debt, ml = out.margin_facility, out.margin
    assert debt is not None and ml is not None
    assert int(debt.default_month[0]) == 2 and int(debt.default_kind[0]) == 6
    assert int(out.default_month[0]) == 2 and int(out.facilities[0].default_kind[0]) == 5
    recovered = 48e6 - 48e6 * 0.0438 / 1.0438
    assert ml.recovery_usd[0] == pytest.approx(recovered)
    assert debt.ead[0] - ml.recovery_usd[0] == pytest.approx(50e6 - recovered)


def test_a_margin_ladder_step_must_come_first() -> None:
    loan = FacilityTerms(loan=plain_loan_terms("other", 10e6, 3, 0.0))
    terms = MarginLoanTerms("m", 1e6, 3, 100.0, False, 0.05, 0.0, 0.0, 0.6, 0.75, 0.86, 0.0438)
    program = with_margin(StructureTerms((loan,), default_steps((loan,))), terms)
    ladder, *waterfall = program.steps
    with pytest.raises(ValueError, match="first"):
        StructureTerms(program.facilities, (*waterfall[:-1], ladder, waterfall[-1]), margin=terms)
    with pytest.raises(ValueError, match="needs the structure's margin loan"):
        StructureTerms(program.facilities, program.steps)
    with pytest.raises(ValueError, match="btc_usd and free_btc"):
        run_structure(program, np.ones((1, 3)), np.ones((1, 3, 1)), np.zeros((1, 3)))
