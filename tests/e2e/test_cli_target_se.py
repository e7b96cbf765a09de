"""``gpucredit run --target-se``: more paths until the fair spread's standard error is small
enough, reported in the JSON; a bad target is refused with exit 2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.conftest import RunCli, example_file

QUICK = ("--paths", "256", "--seed", "2", "--workers", "1", "--keep-paths", "0")


@pytest.mark.slow
def test_target_se_adds_paths_and_says_so(
    run_cli: RunCli, stdout_json: Callable[[Any], dict[str, Any]]
) -> None:
    deal = example_file("merchant_h100")
    target = 30.0  # bp: the Q spread's error is about 55 bp at 256 paths, so ~900 paths or more
    doc = stdout_json(run_cli("run", deal, *QUICK, "--target-se", str(target), "--json"))
    (facility,) = doc["facilities"]
    (run,) = doc["run"]["target_se"]["deals"]
    assert doc["run"]["target_se"]["target_bps"] == target
    assert run["n_paths"] == facility["n_paths"] > 256
    assert run["met"] is True and facility["fair_spread_se_bps"] < target
    assert facility["pd_ci"][0] <= facility["pd"] <= facility["pd_ci"][1]


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--target-se", "0", "a positive number of bp"),
        ("--target-se", "nan", "a positive number of bp"),
        ("--max-paths", "10", "at least --paths"),
    ],
)
def test_a_bad_target_is_refused_before_simulating(
    run_cli: RunCli, option: str, value: str, expected: str, tmp_path: Path
) -> None:
    proc = run_cli("run", example_file("b200_ai_lab"), *QUICK, option, value, "--json")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert option in proc.stderr and expected in proc.stderr
    assert proc.stdout == ""
