"""A deal with a parent and registry names end to end: the CLI's table and JSON, and its bad
input (one message, exit code 2)."""

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


@pytest.mark.slow  # two CLI runs of 64 paths with their fair-spread solves, ~12 s warm
def test_a_parent_shows_in_the_table_and_the_json() -> None:
    path = str(deal_file("coreweave/ddtl4_spv"))
    table = CliRunner().invoke(app, ["run", path, "--paths", "64", "-q"])
    assert table.exit_code == 0, table.output
    assert "parents, sponsors and servicers" in table.stdout
    assert "CoreWeave" in table.stdout and "registry (B+)" in table.stdout
    assert "companies named from the registry" in table.stdout
    result = CliRunner().invoke(app, ["run", path, "--paths", "64", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    structure = document["facilities"][0]["structure"]
    parent = structure["parent"]
    assert parent["name"] == "CoreWeave" and parent["pd_source"] == "registry"
    assert parent["annual_pd_p"] == pytest.approx(0.0293, rel=1e-9)  # S&P B one-year rate
    assert parent["q_hazard_per_year"] == pytest.approx(0.107167, abs=1e-6)  # rounded to 1e-6
    assert parent["servicer"] == {"downtime_months": 3, "replacement_cost_pct_of_revenue": 5.0}
    assert 0.0 <= parent["facilities"]["ddtl4-floating"]["pd_after_parent_default"] <= 1.0
    names = [e["name"] for e in document["facilities"][0]["entities"]]
    assert names == ["Meta", "CoreWeave"]


def _unknown(data: dict[str, Any]) -> list[str]:
    data["contracts"][0]["tenant"] = "Core Weave Inc"
    return ["contracts[0].rating", "not a company of the entity registry", "CoreWeave"]


def _cycle(data: dict[str, Any]) -> list[str]:
    data["entities"] = [
        {"name": "Holdco A", "parent": "Holdco B"},
        {"name": "Holdco B", "parent": "Holdco A"},
    ]
    return ["entities[0].parent", "Holdco A -> Holdco B -> Holdco A"]


def _negative_cap(data: dict[str, Any]) -> list[str]:
    data["parent"].update(recourse="guarantee", guarantee_cap_usd=-5)
    return ["parent.guarantee_cap_usd", "got -5", "greater than or equal to 0"]


@pytest.mark.parametrize("case", [_unknown, _cycle, _negative_cap], ids=["unknown", "cycle", "cap"])
def test_bad_parent_input_is_one_message(case: Any, tmp_path: Path) -> None:
    data = load_example_data("coreweave/ddtl4_spv")
    fragments = case(data)
    path = tmp_path / "deal.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(path), "--paths", "64"])
    assert_rejected(result.exit_code, result.stdout, result.stderr, fragments)
