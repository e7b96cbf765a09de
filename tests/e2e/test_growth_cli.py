"""A growing borrower end to end: the CLI's JSON shows the growth facility beside the notes,
and a bad growth plan is one message naming its field (exit code 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import load_example_data
from tests.e2e.conftest import assert_rejected, deal_file
from typer.testing import CliRunner

from gpucredit.cli.app import app


def _before_as_of(data: dict[str, Any]) -> list[str]:
    data["growth"]["capex_plan"][0]["date"] = "2025-06-30"
    return ["growth.capex_plan[0].date", "2025-06-30", "a date after as_of (2025-12-11)"]


def _after_maturity(data: dict[str, Any]) -> list[str]:
    data["growth"]["capex_plan"][-1]["date"] = "2031-06-30"
    return ["growth.capex_plan[7].date", "before the last maturity (2031-02-11"]


def _debt_share(data: dict[str, Any]) -> list[str]:
    data["growth"]["funding"]["debt_share_pct"] = 150
    return ["growth.funding.debt_share_pct", "got 150", "less than or equal to 100"]


def _win_rate(data: dict[str, Any]) -> list[str]:
    data["growth"]["new_contracts"]["win_rate_pct"] = -5
    return ["growth.new_contracts.win_rate_pct", "got -5", "greater than or equal to 0"]


def _generation(data: dict[str, Any]) -> list[str]:
    data["growth"]["capex_plan"][2]["generation"] = "H900"
    return ["growth.capex_plan[2].generation", "H900", "a GPU generation in the shipped table"]


def _liquidity_ratio(data: dict[str, Any]) -> list[str]:
    data["growth"]["covenants"].append({"kind": "min_liquidity", "threshold": 1.5})
    return ["growth.covenants[1].threshold_usd", "a cash floor in USD for min_liquidity"]


def _market_escalator(data: dict[str, Any]) -> list[str]:
    data["contracts"][0].update(rate_vs_market_pct=5, escalator_pct_per_year=3)
    return ["contracts[0].escalator_pct_per_year", "0 on a contract whose rate is set"]


def _loan_leverage(data: dict[str, Any]) -> list[str]:
    merchant = load_example_data("merchant_h100")
    data.clear()
    data.update(merchant)
    data["loan"]["covenants"] = [{"kind": "max_leverage", "threshold": 5}]
    return ["loan.covenants[0].kind", "min_dscr or max_ltv on a single loan"]


@pytest.mark.parametrize(
    "case",
    [
        _before_as_of,
        _after_maturity,
        _debt_share,
        _win_rate,
        _generation,
        _liquidity_ratio,
        _market_escalator,
        _loan_leverage,
    ],
    ids=[
        "before-as-of",
        "after-maturity",
        "debt-share",
        "win-rate",
        "generation",
        "liquidity",
        "market-escalator",
        "loan-leverage",
    ],
)
def test_bad_growth_input_is_one_message(case: Any, tmp_path: Path) -> None:
    data = load_example_data("coreweave/growing_parent")
    fragments = case(data)
    path = tmp_path / "deal.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(path), "--paths", "64"])
    assert_rejected(result.exit_code, result.stdout, result.stderr, [str(path), *fragments])


@pytest.mark.slow  # two CLI runs of 64 paths with their fair-spread solves
def test_going_concern_and_run_off_in_the_json(tmp_path: Path) -> None:
    """The going concern adds the growth DDTL beside the notes; run-off is the deal as written."""
    path = deal_file("coreweave/growing_parent")
    result = CliRunner().invoke(app, ["run", str(path), "--paths", "64", "--format", "json"])
    assert result.exit_code == 0, result.output
    names = [f["name"] for f in json.loads(result.stdout)["facilities"]]
    written = ["spv-ddtl", "oem-financing", "senior-notes-9.25-2030", "senior-notes-9.00-2031"]
    assert names == [*written, "growth-ddtl"]
    data = load_example_data("coreweave/growing_parent")
    data["growth"]["mode"] = "run_off"
    run_off = tmp_path / "run_off.yaml"
    run_off.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(run_off), "--paths", "64", "--format", "json"])
    assert result.exit_code == 0, result.output
    names = [f["name"] for f in json.loads(result.stdout)["facilities"]]
    assert names == written
