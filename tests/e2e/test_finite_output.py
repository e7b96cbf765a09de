"""Every accepted input gives finite output: the inputs that used to crash or report nonsense
(issue 10), each run through the real engine, JSON record, CSV summary and tables.

Specs are changed with ``model_copy`` (no re-validation) so that the engine is shown safe even
for values the spec's bounds may come to reject.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from tests.conftest import EXAMPLES, load_example_data

import gpucredit
from gpucredit.config.spec import DealSpec
from gpucredit.pipeline import SimulationResult
from gpucredit.reports.tables import (
    collateral_table,
    duration_table,
    run_document,
    summary_table,
)

QUICK: dict[str, Any] = {"n_paths": 256, "seed": 3, "keep_paths": 0, "n_workers": 1}


def _b200() -> DealSpec:
    return gpucredit.load_deal(EXAMPLES / "b200_ai_lab.yaml")


def _with_loan(deal: DealSpec, **changes: Any) -> DealSpec:
    assert deal.loan is not None
    return deal.model_copy(update={"loan": deal.loan.model_copy(update=changes)})


def _finite_everywhere(result: SimulationResult, tmp_path: Path) -> dict[str, Any]:
    """The JSON record (no NaN or inf: ``allow_nan=False``), the CSV summary (no inf or NaN
    text) and both tables (rendered); returns the facility's record."""
    document = run_document([result], 3, 256)
    json.dumps(document, allow_nan=False)
    csv = tmp_path / "summary.csv"
    result.summary().to_csv(csv)
    # the cells, not the header ("default_kind_covenant" holds "nan")
    text = csv.read_text(encoding="utf-8").lower().split("\n", 1)[1]
    assert "inf" not in text and "nan" not in text  # an undefined figure is an empty cell
    console = Console(file=io.StringIO(), width=250)
    console.print(summary_table([result]))
    console.print(collateral_table([result]))
    console.print(duration_table([result]))
    record = document["facilities"][0]
    assert isinstance(record, dict)
    return record


def test_a_principal_of_1e19_gives_a_positive_expected_loss(tmp_path: Path) -> None:
    result = gpucredit.simulate(_with_loan(_b200(), principal_usd=1e19), **QUICK)
    m = result.metrics
    assert 0.0 < m.expected_loss_usd <= 1e19 * (1 + 1e-9)  # loss at most the principal
    assert math.isfinite(m.el_se_usd)
    _finite_everywhere(result, tmp_path)


def test_an_issue_price_near_zero_is_priced(tmp_path: Path) -> None:
    result = gpucredit.simulate(_with_loan(_b200(), issue_price_pct=0.01), **QUICK)
    record = _finite_everywhere(result, tmp_path)
    assert record["market_spread_bps"] is not None
    assert record["fair_spread_bps"] is not None or "fair_spread_bps" in record["notes"]


def test_the_largest_margin_the_spec_allows_is_priced(tmp_path: Path) -> None:
    # 10,000 bp: the riskless add-on is about -100% a year, outside the old +-50% bracket
    deal = _b200()
    assert deal.loan is not None
    rate = deal.loan.rate.model_copy(update={"margin_bps": 10_000.0})
    result = gpucredit.simulate(_with_loan(deal, rate=rate), **QUICK)
    record = _finite_everywhere(result, tmp_path)
    assert record["market_spread_bps"] > 9_000.0
    assert record["fair_spread_bps"] is not None and record["fair_spread_se_bps"] is not None


def test_a_price_no_coupon_repays_gives_no_fair_spread_and_the_reason(tmp_path: Path) -> None:
    # 2bn USD lent against a ~340m USD fleet at 150% of par, no DSRA: no coupon gets it back
    deal = _with_loan(_b200(), issue_price_pct=150.0, principal_usd=2e9, dsra_months=0.0)
    result = gpucredit.simulate(deal, **QUICK)
    record = _finite_everywhere(result, tmp_path)
    assert record["fair_spread_bps"] is None and record["fair_spread_se_bps"] is None
    assert record["notes"]["fair_spread_bps"].startswith("no fair spread exists")
    assert record["market_spread_bps"] is not None
    console = Console(file=io.StringIO(), width=250)
    console.print(summary_table([result]))
    assert "n/a" in console.file.getvalue()  # type: ignore[attr-defined]


def test_a_cure_period_beyond_int64_runs_on_both_backends(tmp_path: Path) -> None:
    deal = _b200()
    assert deal.loan is not None
    covenants = [c.model_copy(update={"cure_period_months": 10**19}) for c in deal.loan.covenants]
    deal = _with_loan(deal, covenants=covenants)
    numba = gpucredit.simulate(deal, backend="numba", solve_fair_spread=False, **QUICK)
    numpy = gpucredit.simulate(deal, backend="numpy", solve_fair_spread=False, **QUICK)
    assert numba.metrics.pd == numpy.metrics.pd
    _finite_everywhere(numba, tmp_path)


def test_merchant_utilisation_zero_gives_a_null_ltv_with_its_reason(tmp_path: Path) -> None:
    deal = _b200()
    merchant = deal.merchant.model_copy(update={"utilisation_tight": 0.0, "utilisation_glut": 0.0})
    result = gpucredit.simulate(deal.model_copy(update={"merchant": merchant}), **QUICK)
    record = _finite_everywhere(result, tmp_path)
    assert record["ltv_appraised"] is None
    assert "collateral worth nothing" in record["notes"]["ltv_appraised"]


def test_a_fully_depreciated_fleet_that_still_earns(tmp_path: Path) -> None:
    deal = _b200()
    old = deal.fleet[0].model_copy(
        update={"purchase_date": dt.date(2019, 3, 31), "book_useful_life_years": 1.0}
    )
    result = gpucredit.simulate(deal.model_copy(update={"fleet": [old]}), **QUICK)
    record = _finite_everywhere(result, tmp_path)
    assert record["ltv_book"] is None and "fully depreciated" in record["notes"]["ltv_book"]
    console = Console(file=io.StringIO(), width=250)
    console.print(collateral_table([result]))
    assert "n/a" in console.file.getvalue()  # type: ignore[attr-defined]


def test_errors_appear_in_the_record_and_the_table(tmp_path: Path) -> None:
    result = gpucredit.simulate(_b200(), **QUICK)
    record = _finite_everywhere(result, tmp_path)
    m = result.metrics
    assert record["pd_ci"] == [round(m.pd_ci_low, 6), round(m.pd_ci_high, 6)]
    assert record["pd_ci"][0] <= record["pd"] <= record["pd_ci"][1]
    for key in ("pd_se", "el_se", "lgd_se", "fair_spread_se_bps"):
        assert record[key] is not None and record[key] > 0.0, key
    # the point rating lies between the two ends of the range on the rating scale (with few
    # paths the PD interval can span more than two categories)
    scale = ["AAA", "AA", "A", "BBB", "BB", "B", "CCC/C"]
    text = record["implied_rating_range"]
    if text in scale:
        ends = [text]
    elif " to " in text:
        ends = text.split(" to ")
    else:
        ends = text.split("/")
    lo, hi = scale.index(ends[0]), scale.index(ends[-1])
    assert lo <= scale.index(record["implied_rating"]) <= hi
    console = Console(file=io.StringIO(), width=250)
    console.print(summary_table([result]))
    assert f"±{m.fair_spread_se_bps:,.0f}" in console.file.getvalue()  # type: ignore[attr-defined]
    row = result.summary().iloc[0]
    assert row["fair_spread_se_bps"] == m.fair_spread_se_bps


@pytest.mark.slow
def test_a_target_se_run_equals_a_single_run_with_its_paths() -> None:
    # a deal that defaults on some of 256 paths, so its fair spread has an error to aim at
    deal = gpucredit.load_deal(EXAMPLES / "merchant_h100.yaml")
    base = {"seed": 5, "keep_paths": 0, "n_workers": 1}
    first = gpucredit.simulate(deal, n_paths=256, **base)
    assert first.metrics.fair_spread_se_bps is not None
    target = first.metrics.fair_spread_se_bps * 0.8  # needs about 1.6x the paths
    aimed = gpucredit.simulate(deal, n_paths=256, target_se_bps=target, **base)
    used = aimed.provenance["n_paths"]
    assert used > 256 and used % 256 == 0
    assert aimed.provenance["target_se"]["paths_tried"][0] == 256
    single = gpucredit.simulate(deal, n_paths=used, **base)
    assert aimed.metrics.fair_spread_bps == single.metrics.fair_spread_bps
    assert aimed.metrics.fair_spread_se_bps == single.metrics.fair_spread_se_bps
    met = aimed.provenance["target_se"]["met"]
    assert met == (aimed.metrics.fair_spread_se_bps < target)


@pytest.mark.slow
def test_miner_facilities_carry_their_errors() -> None:
    spec = gpucredit.load_miner(EXAMPLES / "miner_hosting_pivot.yaml")
    result = gpucredit.simulate_miner(
        spec, n_paths=256, seed=1, n_workers=1, attribution=False, premium=False
    )
    document = run_document([], 1, 256, [result])
    json.dumps(document, allow_nan=False)
    for m, record in zip(result.facilities, document["miners"][0]["facilities"], strict=True):
        assert record["pd_ci"] == [round(m.pd_ci_low, 6), round(m.pd_ci_high, 6)]
        assert record["fair_spread_se_bps"] is not None or "fair_spread_se_bps" in record["notes"]
    summary = result.summary()
    assert {"pd_se", "pd_ci_low", "pd_ci_high", "el_se_usd", "fair_spread_se_bps"} <= set(
        summary.columns
    )


def test_a_ddtl_shorter_than_the_deal_pays_its_commitment_fee_only_while_it_lives(
    tmp_path: Path,
) -> None:
    # found by the fuzz suite: the commitment-fee schedule ends with the facility's tenor,
    # and the structure engine indexed it past that on the deal's longer grid
    data = load_example_data("ddtl2_tiered_structure")
    data["facilities"][0]["tenor_months"] = 14
    result = gpucredit.simulate(DealSpec.model_validate(data), **QUICK)
    json.dumps(run_document([result], 3, 256), allow_nan=False)
    assert all(math.isfinite(m.pd) for m in result.all_facilities)
