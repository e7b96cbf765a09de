"""``gpucredit data list|show|import|export`` against a store in a temporary folder.

GPUCREDIT_DB points every command at tmp_path, so the user's data directory is never touched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gpucredit.cli.app import app
from gpucredit.market.store import DB_ENV_VAR, MarketStore

EXIT_INPUT = 2
RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "market.duckdb"
    MarketStore(path).close()
    return path


@pytest.fixture
def db(built_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "market.duckdb"
    shutil.copy(built_db, path)
    monkeypatch.setenv(DB_ENV_VAR, str(path))
    monkeypatch.setenv("COLUMNS", "200")
    return path


runner = CliRunner()


def test_list_shows_series_and_licences(db: Path) -> None:
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 0, result.output
    for text in ("SOFR", "btc_hashprice", "gpu_rent/H100/on_demand", "CC BY-NC 4.0", "2,079"):
        assert text in result.output


def test_db_option_overrides_the_env_var(db: Path, tmp_path: Path) -> None:
    other = tmp_path / "other" / "m.duckdb"
    result = runner.invoke(app, ["data", "list", "--db", str(other)])
    assert result.exit_code == 0, result.output
    assert other.is_file()


def test_show_gpu_rent_and_plot(db: Path, tmp_path: Path) -> None:
    png = tmp_path / "x.png"
    args = ["data", "show", "gpu_rent/H100/on_demand", "--from", "2026-06-01", "--plot", str(png)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2026-06-01" in result.output and "n_obs" in result.output
    assert "2026-05-31" not in result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_show_range(db: Path) -> None:
    result = runner.invoke(
        app, ["data", "show", "SOFR", "--from", "2026-07-30", "--to", "2026-07-30"]
    )
    assert result.exit_code == 0, result.output
    assert "3.65" in result.output and "1 rows" in result.output


def test_import_then_export(db: Path, tmp_path: Path) -> None:
    source = tmp_path / "idx.csv"
    source.write_text("date,value,unit\n2026-01-01,2.5,USD/GPU-hour\n2026-01-02,2.4,USD/GPU-hour\n")
    result = runner.invoke(app, ["data", "import", "sd_h100", str(source)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["data", "export", "sd_h100", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == source.read_text()
    listing = runner.invoke(app, ["data", "list"])
    assert "sd_h100" in listing.output and "imported" in listing.output


@pytest.mark.parametrize(
    "args",
    [
        ["data", "show", "NOPE"],
        ["data", "show", "SOFR", "--from", "2026-13-01"],
        ["data", "show", "SOFR", "--plot", "x.svg"],
        ["data", "export", "NOPE", "x.csv"],
    ],
)
def test_bad_arguments_exit_2(db: Path, args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == EXIT_INPUT
    assert "error:" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_bad_import_exits_2_without_traceback(db: Path, tmp_path: Path, run_cli: RunCli) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("date,value\n2026-01-01,2.5\n2026-01-02,-3\n")
    before = MarketStore(db)
    counts = before.table_counts()
    before.close()
    proc = run_cli("data", "import", "sd_h100", bad)
    assert proc.returncode == EXIT_INPUT
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    message = proc.stderr
    assert str(bad) in message.replace("\n", "") and "line 3" in message and "'value'" in message
    with MarketStore(db) as store:
        assert store.table_counts() == counts


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_read_commands_leave_the_store_untouched(db: Path, tmp_path: Path) -> None:
    before = _sha256(db)
    for args in (
        ["data", "list"],
        ["data", "show", "SOFR", "--plot", str(tmp_path / "s.png")],
        ["data", "export", "SOFR", str(tmp_path / "s.csv")],
        ["calibrations", "list"],
        ["runs", "list"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert _sha256(db) == before


def test_plot_draws_whatever_import_accepted(db: Path, tmp_path: Path) -> None:
    """The issue's crash: 1e308 or 9999-12-31 were accepted, then `--plot` raised."""
    near = dt.date.today() + dt.timedelta(days=300)
    source = tmp_path / "edge.csv"
    source.write_text(f"date,value\n1900-01-01,-1e9\n2000-01-01,1e9\n{near},0\n")
    result = runner.invoke(app, ["data", "import", "edge", str(source), "--allow-negative"])
    assert result.exit_code == 0, result.output
    for extra in ([], ["--from", "2100-01-01"]):  # all rows, and none
        png = tmp_path / f"edge{len(extra)}.png"
        result = runner.invoke(app, ["data", "show", "edge", "--plot", str(png), *extra])
        assert result.exit_code == 0, result.output
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = tmp_path / "bad.csv"
    bad.write_text("date,value\n9999-12-31,1e308\n")
    result = runner.invoke(app, ["data", "import", "bad", str(bad)])
    assert result.exit_code == EXIT_INPUT
    assert "9999-12-31" in result.output and "1,000,000,000" in result.output


def _fill(db: Path) -> tuple[str, list[str]]:
    store = MarketStore(db)
    cal = store.save_calibration(dt.date(2026, 6, 30), {"a": 1}, {}, rent_series="sd_h100")
    ids = [
        store.record_run(
            spec_hash=f"{i:016x}",
            seed=i,
            n_paths=500,
            calibration_id=cal.id if i else None,
            version="9.9",
            # a name with Rich markup and a terminal escape: shown as text, never obeyed
            summary={"deal": f"d{i} [/x]\x1b[31m", "pd": 0.25, "pd_by_year": [0.1, 0.25]},
        )
        for i in range(2)
    ]
    return cal.id, ids


def test_calibrations_and_runs_listed(db: Path) -> None:
    cal_id, ids = _fill(db)
    result = runner.invoke(app, ["calibrations", "list"])
    assert result.exit_code == 0, result.output
    assert cal_id in result.output and "2026-06-30" in result.output
    assert "sd_h100" in result.output
    listed = json.loads(runner.invoke(app, ["calibrations", "list", "--json"]).output)
    assert [(c["id"], c["n_runs"], c["rent_series"]) for c in listed] == [(cal_id, 1, "sd_h100")]
    result = runner.invoke(app, ["runs", "list"])
    assert result.exit_code == 0, result.output
    for text in (*ids, "d0 [/x]", "default (sourced)", cal_id, "9.9", "500"):
        assert text in result.output, text
    assert "\x1b" not in result.output and "\\x1b" in result.output
    runs = json.loads(runner.invoke(app, ["runs", "list", "--json", "--limit", "1"]).output)
    assert len(runs) == 1 and runs[0]["id"] in ids
    result = runner.invoke(app, ["runs", "show", ids[1]])
    assert result.exit_code == 0, result.output
    assert "summary.pd_by_year" in result.output and "0.1, 0.25" in result.output
    shown = json.loads(runner.invoke(app, ["runs", "show", ids[1], "--json"]).output)
    assert shown["summary"]["pd"] == 0.25 and shown["calibration_id"] == cal_id
    assert shown["seed"] == 1 and shown["n_paths"] == 500


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["runs", "show", "run-nope"], "no run has that id"),
        (["runs", "list", "--limit", "-1"], "--limit"),
    ],
)
def test_listing_errors_exit_2(db: Path, args: list[str], expected: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == EXIT_INPUT
    assert expected in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_empty_listings(db: Path) -> None:
    assert "no calibration stored" in runner.invoke(app, ["calibrations", "list"]).output
    assert "no run recorded" in runner.invoke(app, ["runs", "list"]).output
    assert runner.invoke(app, ["runs", "list", "--json"]).output.strip() == "[]"
