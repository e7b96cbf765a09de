"""What the command line prints: ``--quiet``, ``--format table|json|csv``, tables that fit 80
columns, and names from a spec that are neither Rich markup nor terminal commands.

Every run is the real CLI in a process of its own, its output captured (not a terminal), with a
few hundred paths.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests._calibrated import copy_template
from tests.e2e.conftest import (
    _TERMINAL_ENV,
    RunCli,
    cli_with_env,
    example_file,
    shipped_example_files,
)

from gpucredit.cli.app import load_spec
from gpucredit.config.miner import MinerSpec
from gpucredit.factors.parameter_source import default_calibration_as_of

EXIT_INPUT = 2
FEW = ("--paths", "200", "--workers", "1", "--seed", "5")
StdoutJson = Callable[[subprocess.CompletedProcess[str]], dict[str, Any]]
WriteYaml = Callable[[Path, dict[str, Any]], Path]
RAW_CONTROL = ("\x1b", "\x07", "\x9b")


def _cli_env(*args: str | Path, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m gpucredit ARGS`` on a pipe, with ``COLUMNS`` set when given."""
    env = {k: v for k, v in os.environ.items() if k not in (*_TERMINAL_ENV, "COLUMNS")}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return cli_with_env(env, *args)


def _names(paths: list[Path]) -> list[tuple[str, str]]:
    """(deal or miner, facility) of every facility the files describe."""
    pairs = []
    for path in paths:
        spec = load_spec(path)
        pairs += [(spec.name, name) for name in spec.facility_names]
    return pairs


def test_quiet_prints_only_the_tables(run_cli: RunCli, merchant_path: Path) -> None:
    proc = run_cli("run", merchant_path, *FEW, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "facility credit metrics" in proc.stdout and "merchant-h100" in proc.stdout
    assert "paths per deal" not in proc.stdout  # the footnote


def test_the_run_ends_with_its_wall_time_on_stderr(
    merchant_json_run: subprocess.CompletedProcess[str], stdout_json: StdoutJson
) -> None:
    stdout_json(merchant_json_run)  # stdout is the JSON document alone
    last = merchant_json_run.stderr.strip().splitlines()[-1]
    words = last.split()
    assert words[:2] == ["done", "in"] and words[3] == "s", last
    assert float(words[2]) > 0.0


def test_format_json_is_what_json_prints(
    run_cli: RunCli,
    merchant_path: Path,
    merchant_json_run: subprocess.CompletedProcess[str],
    stdout_json: StdoutJson,
) -> None:
    proc = run_cli(
        "run", merchant_path, "--paths", "600", "--seed", "7", "--workers", "1", "--format", "json"
    )
    assert stdout_json(proc) == stdout_json(merchant_json_run)


def test_format_csv_prints_one_summary_row_per_facility(run_cli: RunCli) -> None:
    files = [example_file("merchant_h100"), example_file("ddtl2_tiered_structure")]
    proc = run_cli("run", *files, *FEW, "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(io.StringIO(proc.stdout))  # the whole stdout is the CSV
    assert list(zip(frame["deal"], frame["facility"], strict=True)) == _names(files)
    assert frame["pd"].between(0.0, 1.0).all()
    assert {"fair_spread_bps", "expected_loss_usd", "implied_rating"} <= set(frame.columns)


def test_json_and_another_format_together_is_an_input_error(
    run_cli: RunCli, merchant_path: Path
) -> None:
    proc = run_cli("run", merchant_path, *FEW, "--json", "--format", "csv")
    assert proc.returncode == EXIT_INPUT
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert "--json" in proc.stderr


@pytest.mark.slow
def test_every_table_is_readable_at_80_columns() -> None:
    files = shipped_example_files()
    proc = _cli_env("run", *files, *FEW, "--attribution-paths", "100", columns=80)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in proc.stdout  # no cell is cut
    for deal, facility in _names(files):
        assert deal in proc.stdout and facility in proc.stdout
    for title in ("facility credit metrics", "collateral", "capital structures", "bitcoin miners"):
        assert title in proc.stdout
    assert any(isinstance(load_spec(f), MinerSpec) for f in files)


def test_a_pipe_keeps_the_wide_table(merchant_path: Path) -> None:
    proc = _cli_env("run", merchant_path, *FEW, "--quiet")  # no COLUMNS: 170 wide
    lines = proc.stdout.splitlines()
    # columns side by side: the first and a late header share the bottom header line
    assert any("Deal" in line and "Breach" in line for line in lines)


def test_names_with_markup_and_terminal_escapes_print_as_text(
    run_cli: RunCli, merchant_data: dict[str, Any], write_yaml: WriteYaml, tmp_path: Path
) -> None:
    markup = dict(merchant_data, name="[/x] deal [bold]")
    escapes = dict(merchant_data, name="evil\x1b[31mred\x07bell\x9b2J")
    files = [
        write_yaml(tmp_path / "markup.yaml", markup),
        write_yaml(tmp_path / "esc.yaml", escapes),
    ]
    out = tmp_path / "results"
    proc = run_cli("run", *files, *FEW, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "[/x] deal [bold]" in proc.stdout
    assert "evil\\x1b[31mred\\x07bell\\x9b2J" in proc.stdout
    for char in RAW_CONTROL:
        assert char not in proc.stdout and char not in proc.stderr
    narrow = _cli_env("run", *files, *FEW, "--quiet", columns=80)
    assert narrow.returncode == 0, narrow.stderr
    assert "[/x]" in narrow.stdout and "[bold]" in narrow.stdout
    assert not any(char in narrow.stdout for char in RAW_CONTROL)


def test_an_error_message_shows_control_characters_as_escapes(
    run_cli: RunCli, merchant_data: dict[str, Any], write_yaml: WriteYaml, tmp_path: Path
) -> None:
    merchant_data["fleet"][0]["generation"] = "H1\x1b[2J\x07"
    path = write_yaml(tmp_path / "deal.yaml", merchant_data)
    proc = run_cli("run", path, *FEW)
    assert proc.returncode == EXIT_INPUT
    assert "\\x1b[2J\\x07" in proc.stderr
    assert not any(char in proc.stderr for char in RAW_CONTROL)
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_data_commands_print_json_and_csv(fmt: str, tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    listed = _cli_env("data", "list", "--db", db, "--format", fmt)
    shown = _cli_env("data", "show", "SOFR", "--from", "2026-07-01", "--db", db, "--format", fmt)
    for proc in (listed, shown):
        assert proc.returncode == 0, proc.stderr
    if fmt == "json":
        catalogue = json.loads(listed.stdout)["series"]
        rows = json.loads(shown.stdout)["rows"]
    else:
        catalogue = pd.read_csv(io.StringIO(listed.stdout)).to_dict(orient="records")
        rows = pd.read_csv(io.StringIO(shown.stdout)).to_dict(orient="records")
    assert "SOFR" in [c["series"] for c in catalogue]
    assert rows[0]["date"] == "2026-07-01" and rows[0]["value"] > 0.0


def test_calibrate_prints_json_and_csv(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    as_json = _cli_env("calibrate", "--as-of", "2026-06-30", "--db", db, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["id"].startswith("cal-") and document["as_of"] == "2026-06-30"
    as_csv = _cli_env("calibrate", "--as-of", "2026-06-30", "--db", db, "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    frame = pd.read_csv(io.StringIO(as_csv.stdout))
    assert list(frame.columns) == ["model", "parameter", "estimate", "std_error", "engine_uses"]
    assert len(frame) == len(document["parameters"]) > 0
    quiet = _cli_env("calibrate", "--as-of", "2026-06-30", "--db", db, "--quiet", columns=80)
    assert quiet.returncode == 0, quiet.stderr
    assert "stored as" not in quiet.stdout and "…" not in quiet.stdout
    assert max(len(line) for line in quiet.stdout.splitlines()) <= 80


def test_store_commands_print_csv_and_escape_names(
    merchant_data: dict[str, Any],
    write_yaml: WriteYaml,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # a store of its own that holds only the calibration the run uses (fitted once a session)
    db = copy_template(tmp_path_factory, default_calibration_as_of(), tmp_path / "store.duckdb")
    deal = write_yaml(tmp_path / "deal.yaml", dict(merchant_data, name="evil\x1b[2J[/x]"))
    done = _cli_env("run", deal, *FEW, "--db", db, "--quiet")
    assert done.returncode == 0, done.stderr
    runs = _cli_env("runs", "list", "--db", db, "--format", "csv")
    assert runs.returncode == 0, runs.stderr
    (run,) = pd.read_csv(io.StringIO(runs.stdout)).to_dict(orient="records")
    assert run["deal"] == "evil\x1b[2J[/x]"  # CSV to a pipe keeps the exact name
    shown = _cli_env("runs", "show", run["id"], "--db", db, "--format", "csv")
    fields = dict(pd.read_csv(io.StringIO(shown.stdout)).itertuples(index=False))
    assert fields["seed"] == "5" and fields["summary.pd"] is not None
    calibrations = _cli_env("calibrations", "list", "--db", db, "--format", "csv")
    assert list(pd.read_csv(io.StringIO(calibrations.stdout))["id"]) == [run["calibration_id"]]
    table = _cli_env("runs", "list", "--db", db, columns=80)
    assert table.returncode == 0, table.stderr
    assert "evil\\x1b[2J[/x]" in table.stdout and "\x1b" not in table.stdout
