"""``gpucredit scenarios`` and ``gpucredit run --scenario`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.e2e.conftest import EXIT_INPUT, RunCli, example_file

from gpucredit.scenarios.named import scenario_names


@pytest.mark.slow  # two command-line runs, each reading the shipped data its figures quote
def test_scenarios_lists_all_nine_with_their_definitions(run_cli: RunCli) -> None:
    table = run_cli("scenarios")
    assert table.returncode == 0, table.stderr
    for name in scenario_names():
        assert name in table.stdout
    assert "ln(7.38/2.69)" in table.stdout  # a definition's computed figure
    as_json = run_cli("scenarios", "--json")
    assert as_json.returncode == 0, as_json.stderr
    records = json.loads(as_json.stdout)["scenarios"]
    assert [r["name"] for r in records] == list(scenario_names())
    assert len(records) == 9 and all(r["title"] and r["definition"] for r in records)


def test_an_unknown_scenario_is_one_error_line_and_exit_2(run_cli: RunCli) -> None:
    proc = run_cli("run", example_file("merchant_h100"), "--scenario", "glut")
    assert proc.returncode == EXIT_INPUT
    assert "Traceback" not in proc.stderr
    assert "--scenario" in proc.stderr and "'glut'" in proc.stderr
    assert "gpu-glut" in proc.stderr and "credit-cycle-first" in proc.stderr


@pytest.mark.slow  # one simulation from the command line
def test_run_takes_a_scenario_and_records_it_in_the_run(run_cli: RunCli, tmp_path: Path) -> None:
    path = example_file("merchant_h100")
    common = ("--paths", "300", "--workers", "1", "--json", "--calibration", "sourced")
    base = run_cli("run", path, *common)
    glut = run_cli("run", path, *common, "--scenario", "gpu-glut", "--out", tmp_path / "out")
    assert base.returncode == 0 and glut.returncode == 0, glut.stderr
    pd_base = json.loads(base.stdout)["facilities"][0]["pd"]
    pd_glut = json.loads(glut.stdout)["facilities"][0]["pd"]
    assert pd_glut > pd_base
    manifest = json.loads((tmp_path / "out" / "merchant-h100" / "manifest.json").read_text())
    assert manifest["provenance"]["scenario"] == "gpu-glut"
