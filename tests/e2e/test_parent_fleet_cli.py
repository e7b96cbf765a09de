"""The parent's fleet in the same market end to end: the JSON's co-sale figures and the bad
input of ``parent.fleet_units`` (one message, exit code 2)."""

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


@pytest.mark.slow  # two CLI runs of 64 paths with their fair-spread solves, ~17 s measured
def test_the_co_sale_shows_in_the_table_and_the_json() -> None:
    path = str(deal_file("coreweave/ddtl5_spv"))
    table = CliRunner().invoke(app, ["run", path, "--paths", "64", "-q"])
    assert table.exit_code == 0, table.output
    assert "the parent's fleet sold into the same market" in table.stdout
    assert "B200 103,360" in table.stdout
    result = CliRunner().invoke(app, ["run", path, "--paths", "64", "--format", "json"])
    assert result.exit_code == 0, result.output
    parent = json.loads(result.stdout)["facilities"][0]["structure"]["parent"]
    assert parent["fleet_sold_on_default"] is True
    assert parent["fleet_units_by_pool"] == {"B200": 103360.0}  # Epoch, to 2025Q4
    assert parent["fleet_sale_months"] == 3
    figures = parent["facilities"]["ddtl5-floating"]
    assert figures["lgd_co_sold"] >= figures["lgd_alone"] >= 0.0
    assert 0.0 <= figures["share_defaults_co_sold"] <= 1.0
    assert figures["pv_cost_per_par_co_sold"] >= 0.0


def _negative_units(data: dict[str, Any]) -> list[str]:
    data["parent"]["fleet_units"] = {"B200": -5}
    return ["parent.fleet_units.B200", "got -5", "greater than or equal to 0"]


def _unknown_generation(data: dict[str, Any]) -> list[str]:
    data["parent"]["fleet_units"] = {"B9000": 1000}
    return ["parent.fleet_units", "B9000", "generations in the shipped table"]


def _true_units(data: dict[str, Any]) -> list[str]:
    data["parent"]["fleet_units"] = {"B200": True}
    return ["parent.fleet_units.B200", "not true or false"]


def _no_fleet(data: dict[str, Any]) -> list[str]:
    data["parent"]["name"] = "Oracle"  # in the registry, no shipped fleet
    data["parent"]["fleet_sold_on_default"] = True
    return ["parent.fleet_sold_on_default", "a known fleet to sell", "CoreWeave"]


def _zero_sale_months(data: dict[str, Any]) -> list[str]:
    data["parent"]["fleet_sale_months"] = 0
    return ["parent.fleet_sale_months", "got 0", "greater than or equal to 1"]


@pytest.mark.parametrize(
    "case",
    [_negative_units, _unknown_generation, _true_units, _no_fleet, _zero_sale_months],
    ids=["negative", "generation", "true", "no-fleet", "months"],
)
def test_bad_parent_fleet_input_is_one_message(case: Any, tmp_path: Path) -> None:
    data = load_example_data("coreweave/ddtl5_spv")
    fragments = case(data)
    path = tmp_path / "deal.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(path), "--paths", "64"])
    assert_rejected(result.exit_code, result.stdout, result.stderr, fragments)
