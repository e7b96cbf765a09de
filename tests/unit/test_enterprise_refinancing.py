"""Refinancing against the market enterprise value (``refinancing.value: enterprise``), the
credit window looked back over ``window_months``, and a miner's earnings-driven enterprise
value (``borrower.enterprise_value: earnings``): hand-computed cases in both engines, and the
spec's errors naming the field."""

from __future__ import annotations

import numpy as np
import pytest

from gpucredit.debt.engine import run_structure_compiled
from gpucredit.debt.facilities import (
    StructureTerms,
)
from gpucredit.debt.structure import StructureLedger, run_structure
from gpucredit.pipeline.miner_debt import trailing_earnings_usd
from tests.conftest import (
    convertible_pair,
    deal_refusal,
    load_example_data,
    load_shipped_data,
    miner_refusal,
)

ENGINES = (run_structure, run_structure_compiled)
N_MONTHS = 12


def _structure(enterprise: bool, window: int = 0) -> StructureTerms:
    # two zero-coupon bullets of 100 at the same rank, due in months 6 and 12; conversion
    # far out of the money (1,000 USD a share), so only the refinancing test matters
    return convertible_pair(
        (6, N_MONTHS),
        coupon=0.0,
        conversion_price_usd=1_000.0,
        max_ltv=0.8,
        enterprise=enterprise,
        window=window,
        shares=1.0,
    )


def _run(
    engine: object,
    structure: StructureTerms,
    share: float,
    regime: np.ndarray | None = None,
    pool: float = 50.0,
    **kw: object,
) -> StructureLedger:
    cfads = np.full((1, N_MONTHS), 5.0)
    value = np.full((1, N_MONTHS, 1), pool)  # the collateral: 50 against 100 owed
    sofr = np.full((1, N_MONTHS), 0.04)
    shares = np.full((1, N_MONTHS), share)
    return engine(  # type: ignore[operator, no-any-return]
        structure, cfads, value, sofr, regime, share_price_usd=shares, **kw
    )


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("share", "refinanced"), [(60.0, True), (40.0, False)])
def test_the_firms_debt_is_tested_against_its_enterprise_value(
    engine: object, share: float, refinanced: bool
) -> None:
    # month 6: the 5 of cash pays 5 of note a's 100, 95 is left. The firm owes b's 100 plus
    # that 95 = 195; its enterprise value is the share (x 1 share) plus the 200 of debt at the
    # month's start. 195 <= 0.8 x (60 + 200) = 208 refinances; 0.8 x (40 + 200) = 192 fails
    ledger = _run(engine, _structure(enterprise=True), share)
    a = ledger.facilities[0]
    if refinanced:
        assert a.refinanced[0, 5] == pytest.approx(95.0, abs=1e-9)  # float sums of 5s
        assert int(ledger.default_month[0]) != 6
    else:
        assert a.refinanced[0, 5] == 0.0
        assert int(ledger.default_month[0]) == 6


@pytest.mark.parametrize("engine", ENGINES)
def test_the_collateral_test_is_todays(engine: object) -> None:
    # the same firm tested on its collateral: 95 > 0.8 x 50 = 40 fails whatever the share
    ledger = _run(engine, _structure(enterprise=False), 60.0)
    assert int(ledger.default_month[0]) == 6
    assert ledger.facilities[0].refinanced[0, 5] == 0.0


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("window", "refinanced"), [(0, False), (3, False), (4, True)])
def test_the_window_may_have_opened_in_the_months_before_maturity(
    engine: object, window: int, refinanced: bool
) -> None:
    # the window is open in months 1-3 and shut from month 4: note a (due in month 6) is
    # refinanced only when its test's window of months up to maturity reaches month 3:
    # 4 months (3, 4, 5, 6); 3 months (4, 5, 6) are all shut
    regime = np.zeros((1, N_MONTHS), dtype=np.int64)
    regime[0, 3:] = 1
    ledger = _run(engine, _structure(enterprise=True, window=window), 60.0, regime)
    assert bool(ledger.facilities[0].refinanced[0, 5] > 0.0) == refinanced
    assert (int(ledger.default_month[0]) == 6) != refinanced


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("enterprise", [True, False])
def test_only_an_enterprise_test_reads_the_enterprise_window(
    engine: object, enterprise: bool
) -> None:
    # the structure's regime open throughout, the enterprise window shut from month 4: the
    # enterprise test of note a fails at month 6; the collateral one never sees that window
    # and refinances against its pool
    shut = np.zeros((1, N_MONTHS), dtype=np.int64)
    shut[0, 3:] = 1
    # (a pool of 150: 95 <= 0.8 x 150 = 120)
    ledger = _run(engine, _structure(enterprise), 60.0, None, 150.0, enterprise_window=shut)
    assert (int(ledger.default_month[0]) == 6) == enterprise


def test_trailing_earnings_by_hand() -> None:
    # 14 months of 1, 2, ..., 14 USD: the first 12 months see the forward year, 1 + ... + 12
    # = 78 a year; month 13 the trailing 2 + ... + 13 = 90, month 14 3 + ... + 14 = 102
    cash = np.arange(1.0, 15.0)[None, :]
    assert trailing_earnings_usd(cash)[0].tolist() == [78.0] * 12 + [90.0, 102.0]
    # a horizon under a year: the whole horizon, annualised (1 + 2 + 3) / 3 x 12 = 24
    assert trailing_earnings_usd(np.array([[1.0, 2.0, 3.0]]))[0].tolist() == [24.0] * 3


def test_an_unknown_refinancing_value_is_refused() -> None:
    data = load_shipped_data("iren/convertibles")
    data["facilities"][2]["refinancing"]["value"] = "market"
    message = miner_refusal(data)
    assert "facilities" in message and "refinancing.value" in message and "market" in message


def test_an_enterprise_test_needs_the_share_count() -> None:
    data = load_example_data("ddtl2_tiered_structure")
    data["borrower"].pop("share_price_usd", None)
    data["facilities"][0].setdefault("refinancing", {})["value"] = "enterprise"
    message = deal_refusal(data)
    assert "facilities[0].refinancing.value" in message and "share_price_usd" in message


def test_a_single_loan_keeps_the_collateral_test() -> None:
    data = load_example_data("merchant_h100")
    data["loan"].setdefault("refinancing", {})["value"] = "enterprise"
    message = deal_refusal(data)
    assert "loan.refinancing.value" in message and "collateral for a single loan" in message


def test_an_earnings_enterprise_value_is_for_miners() -> None:
    data = load_example_data("ddtl2_tiered_structure")
    data["borrower"]["enterprise_value"] = "earnings"
    message = deal_refusal(data)
    assert "borrower.enterprise_value" in message and "miners" in message


def test_a_window_beyond_five_years_is_refused() -> None:
    data = load_shipped_data("iren/convertibles")
    data["facilities"][0]["refinancing"]["window_months"] = 61
    message = miner_refusal(data)
    assert "refinancing.window_months" in message and "61" in message


def test_an_earnings_enterprise_value_needs_the_share_count() -> None:
    data = load_shipped_data("iren/convertibles")
    data["borrower"].pop("shares_outstanding")
    for f in data["facilities"]:
        f["kind"] = "notes"
        for key in ("conversion_price_usd", "soft_call"):
            f.pop(key, None)
        f["refinancing"]["value"] = "collateral"
    message = miner_refusal(data)
    assert "borrower.enterprise_value" in message and "shares_outstanding" in message
