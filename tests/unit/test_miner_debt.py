"""The miner's debt: spec checks, and the margin lender when another facility defaults first."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import yaml

from gpucredit.config.miner import parse_miner
from gpucredit.config.spec import FixedRateSpec
from gpucredit.debt.margin_loan import margin_loan_terms, run_margin_loan
from gpucredit.errors import SpecError
from gpucredit.miners import _margin_lender
from tests.conftest import load_example_data


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as info:
        parse_miner(yaml.safe_dump(data, sort_keys=False), source="miner.yaml")
    return str(info.value)


def test_a_facility_secured_by_an_unknown_pool() -> None:
    data = load_example_data("miner_hosting_pivot")
    data["facilities"][0]["secured_by"] = ["gpus"]
    message = _error(data)
    assert "facilities[0].secured_by[0]" in message and "'gpus'" in message
    assert "asics, hosting" in message


def test_a_miner_needs_debt_to_assess() -> None:
    data = load_example_data("miner_hosting_pivot")
    data.pop("margin_loan")
    data["facilities"] = []
    assert "a margin_loan or at least one facility" in _error(data)


def test_a_convertible_needs_the_share_price() -> None:
    data = load_example_data("miner_hosting_pivot")
    data.pop("borrower")
    assert "borrower.share_price_usd" in _error(data)


def test_margin_lender_accelerated_by_another_default_sells_the_pledge() -> None:
    # 50m lent at a fixed 0% against 1,200 BTC; BTC 73,600 -> 70,000 -> 60,000: LTV 56.6%,
    # 59.5%, 69.4%: no call. The borrower defaults on another facility in month 2: the lender
    # sells the pledge then, 1,200 x 70,000 / 1.0438 = 80.47m, and takes its 50m: no loss.
    spec = parse_miner(yaml.safe_dump(load_example_data("miner_hosting_pivot"), sort_keys=False))
    assert spec.margin_loan is not None
    zero = FixedRateSpec(kind="fixed", coupon_pct=0.0)
    terms = margin_loan_terms(spec.margin_loan.model_copy(update={"rate": zero}))
    btc = np.array([[73_600.0, 70_000.0, 60_000.0]])
    sofr = np.zeros((1, 3))
    ledger = run_margin_loan(terms, btc, np.array([300.0]), np.zeros((1, 3)), sofr)
    out, debt = _margin_lender(terms, ledger, btc, sofr, np.array([2]), riskless=False)
    assert int(out.default_month[0]) == 2 and int(debt.default_kind[0]) == 5
    assert out.ead_usd[0] == pytest.approx(50e6)
    assert out.recovery_usd[0] == pytest.approx(50e6)
    assert out.loss_usd[0] == pytest.approx(0.0)
    # BTC at 40,000 in month 2: LTV 104% >= 86%, the ladder itself liquidates in month 2 (its
    # own default, not an acceleration): 1,200 BTC fetch 48m, the penalty takes
    # 48m x 0.0438 / 1.0438 = 2.01m, the lender recovers 45.99m and loses 4.01m.
    crash = np.array([[73_600.0, 40_000.0, 40_000.0]])
    ledger = run_margin_loan(terms, crash, np.array([0.0]), np.zeros((1, 3)), sofr)
    out, debt = _margin_lender(terms, ledger, crash, sofr, np.array([2]), riskless=False)
    assert int(out.default_month[0]) == 2 and int(debt.default_kind[0]) == 6
    recovered = 48e6 - 48e6 * 0.0438 / 1.0438
    assert out.recovery_usd[0] == pytest.approx(recovered)
    assert out.loss_usd[0] == pytest.approx(50e6 - recovered)
