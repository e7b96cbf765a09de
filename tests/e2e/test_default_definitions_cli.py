"""The default definitions and the default-model options through the real CLI: the JSON
reports both PDs, the kinds and the S&P-style rating; a bad option is one message, exit 2."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

RunCli = Callable[..., subprocess.CompletedProcess[str]]
EXIT_INPUT = 2


def test_json_reports_both_pds_the_kinds_and_the_rating(
    merchant_json_run: subprocess.CompletedProcess[str],
    stdout_json: Callable[[subprocess.CompletedProcess[str]], dict[str, Any]],
) -> None:
    document = stdout_json(merchant_json_run)
    for f in document["facilities"]:
        kinds = f["default_kinds"]
        assert set(kinds) == {
            "payment",
            "covenant",
            "maturity",
            "borrowing_base",
            "cross_default",
            "margin_liquidation",
        }
        # each figure is rounded to 1e-6 before printing: six of them add up within 6e-6
        assert sum(kinds.values()) == pytest.approx(f["pd"], abs=6e-6)
        assert 0.0 <= f["pd_payment"] <= f["pd_payment_upper"] <= f["pd"]
        low, high = f["pd_payment_ci"]
        assert low <= f["pd_payment"] <= high
        assert f["pd_payment_se"] >= 0.0
        assert f["implied_rating_sp"] == f["implied_rating"]
        assert f["implied_rating_sp"] in f["implied_rating_sp_range"]
        assert 0.0 <= f["waiver_probability"] <= 1.0


@pytest.mark.parametrize(
    ("section", "field", "value", "expected"),
    [
        ("default_model", "stress_hazard_multiplier", 0.5, "greater than or equal to 1"),
        ("default_model", "asset_correlation", 1.2, "less than or equal to 0.99"),
        ("regime", "initial", "boom", "'tight' or 'glut'"),
    ],
)
def test_an_out_of_bounds_option_is_one_message(
    section: str,
    field: str,
    value: object,
    expected: str,
    tmp_path: Path,
    merchant_data: dict[str, Any],
    write_yaml: Callable[[Path, dict[str, Any]], Path],
    run_cli: RunCli,
) -> None:
    merchant_data[section] = {field: value}
    path = write_yaml(tmp_path / "deal.yaml", merchant_data)
    out = tmp_path / "out"
    proc = run_cli("run", path, "--paths", "200", "--json", "--out", out)
    assert proc.returncode == EXIT_INPUT
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert str(path) in proc.stderr
    assert f"field '{section}.{field}'" in proc.stderr
    assert f"got {value!r}" in proc.stderr or f"got {value}" in proc.stderr
    assert expected in proc.stderr
    assert not out.exists()
