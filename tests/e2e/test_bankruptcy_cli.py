"""Operator bankruptcy end to end: the stay, its cost and the terminated contracts in the JSON,
and their bad input (one message naming the field, exit code 2)."""

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


@pytest.mark.slow  # one CLI run of 64 paths with its fair-spread solves, ~8 s measured
def test_the_stay_and_the_terminations_show_in_the_json() -> None:
    path = str(deal_file("coreweave/ddtl4_spv"))
    result = CliRunner().invoke(app, ["run", path, "--paths", "64", "--format", "json"])
    assert result.exit_code == 0, result.output
    parent = json.loads(result.stdout)["facilities"][0]["structure"]["parent"]
    assert parent["stay_months"] == 11
    assert parent["bankruptcy_cost_pct"] == 2.0
    assert parent["contracts_terminated_on_servicer_default"] == ["contracts[0]"]


def _negative_stay(data: dict[str, Any]) -> list[str]:
    data["parent"]["stay_months"] = -3
    return ["parent.stay_months", "got -3", "greater than or equal to 0"]


def _cost_over_100(data: dict[str, Any]) -> list[str]:
    data["parent"]["bankruptcy_cost_pct"] = 120
    return ["parent.bankruptcy_cost_pct", "got 120", "less than or equal to 100"]


def _no_servicer(data: dict[str, Any]) -> list[str]:
    data["parent"].pop("servicer")
    data["contracts"][0]["terminates_on_servicer_default"] = True
    return ["contracts[0].terminates_on_servicer_default", "parent.servicer"]


def _not_a_flag(data: dict[str, Any]) -> list[str]:
    data["contracts"][0]["terminates_on_servicer_default"] = 150
    return ["contracts[0].terminates_on_servicer_default", "150"]


@pytest.mark.parametrize(
    "case",
    [_negative_stay, _cost_over_100, _no_servicer, _not_a_flag],
    ids=["negative-stay", "cost-over-100", "no-servicer", "not-a-flag"],
)
def test_bad_bankruptcy_input_is_one_message(case: Any, tmp_path: Path) -> None:
    data = load_example_data("coreweave/ddtl4_spv")
    fragments = case(data)
    path = tmp_path / "deal.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(path), "--paths", "64"])
    assert_rejected(result.exit_code, result.stdout, result.stderr, fragments)
