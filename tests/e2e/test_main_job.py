"""The main job: ``gpucredit run`` with no file runs the shipped book, prints the
real-credit-spread table with its stressed columns, writes report.html and report.xlsx to a
new folder under ./gpucredit-reports and records the run with its files (issue 15)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import openpyxl
import pytest
from tests.e2e.conftest import cli, example_file

from gpucredit.cli.app import load_spec
from gpucredit.cli.main_job import default_report_dir
from gpucredit.config.growth import expand_growth
from gpucredit.config.miner import MinerSpec
from gpucredit.config.spec import DealSpec
from gpucredit.deals import NOT_IN_MAIN_JOB, main_job_deals, shipped_deals
from gpucredit.io.outputs import file_digests
from gpucredit.market.store import MarketStore
from gpucredit.reports.xlsx import SUMMARY_SHEET

pytestmark = pytest.mark.slow  # the whole book, twice (base and one stress), at 48 paths


@pytest.fixture(scope="module")
def main_job(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    cwd = tmp_path_factory.mktemp("main-job")
    proc = cli(
        "run", "--paths", "48", "--stress", "credit-cycle-first", "--tornado-paths", "0", cwd=cwd
    )
    return cwd, proc


def test_the_main_job_runs_the_book_less_the_files_it_names(
    main_job: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, proc = main_job
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "real credit spreads" in proc.stdout
    assert "credit-cycle-first" in proc.stdout  # its stressed column
    left_out = {f"{p.parent.name}/{p.name}" for p in shipped_deals()} - {
        f"{p.parent.name}/{p.name}" for p in main_job_deals()
    }
    assert left_out == set(NOT_IN_MAIN_JOB)  # every name of the list is a shipped file
    for name in NOT_IN_MAIN_JOB:
        assert name in " ".join(proc.stdout.split())  # the table says what it left out


def test_the_main_job_writes_both_reports_and_records_the_run(
    main_job: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    cwd, proc = main_job
    assert proc.returncode == 0, proc.stderr
    (folder,) = (cwd / "gpucredit-reports").iterdir()
    document = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    specs = [load_spec(p) for p in main_job_deals()]
    expected = [
        (d.name, n)
        for d in specs
        if isinstance(d, DealSpec)
        for n in expand_growth(d).facility_names
    ]
    assert [(f["deal"], f["name"]) for f in document["facilities"]] == expected
    stressed = document["stressed"]["credit-cycle-first"]
    miner_rows = [(m["deal"], f["name"]) for m in document["miners"] for f in m["facilities"]]
    assert miner_rows  # the deals' facilities, then the miners', each under the stress
    assert [(f["deal"], f["name"]) for f in stressed] == expected + miner_rows
    assert not list(folder.glob("*/paths.nc"))  # the main job keeps no cube on disk
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "Real credit spreads" in html and "credit-cycle-first" in html
    book = openpyxl.load_workbook(folder / "report.xlsx", read_only=True)
    assert book.sheetnames[0] == SUMMARY_SHEET
    with MarketStore() as store:  # tests' private store (tests/conftest.py: GPUCREDIT_DB)
        records = [r for r in store.list_run_records() if "report.xlsx" in r.outputs]
    record = records[0]
    assert record.outputs == file_digests(folder)  # the files on disk are the ones recorded
    assert set(record.scenarios) == {"base", "credit-cycle-first"}
    assert record.n_paths == 48 and record.command_line.startswith("gpucredit run")
    # one run per deal and one per miner (the miners' convertibles of Cipher, Core Scientific
    # and TeraWulf, reported under "miners")
    assert len(record.run_ids) == len(specs)
    miners = [d.name for d in specs if isinstance(d, MinerSpec)]
    assert miners and [m["deal"] for m in document["miners"]] == miners


def test_a_main_job_never_replaces_an_earlier_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    first = default_report_dir(now)
    assert first == Path("gpucredit-reports/20260101-000000")
    first.mkdir(parents=True)  # an earlier run's folder, same second
    assert default_report_dir(now) == Path("gpucredit-reports/20260101-000000-2")


def test_out_writes_both_reports_with_stresses_and_tornados_for_named_files(
    tmp_path: Path,
) -> None:
    deal = example_file("merchant_h100")
    out = tmp_path / "o"
    proc = cli(
        "run", deal, "--paths", "64", "--stress", "gpu-glut", "--stress-paths", "32",
        "--tornado-paths", "16", "--out", out, "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    document = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    (stressed,) = document["stressed"]["gpu-glut"]
    assert stressed["n_paths"] == 32 and stressed["name"] == document["facilities"][0]["name"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "-tornado" in html and "(16 paths a run)" in html
    assert (out / "report.xlsx").stat().st_size > 0
    assert list(out.glob("*/paths.nc"))  # --out keeps the cubes


def test_bad_stress_options_exit_2_naming_the_option(tmp_path: Path) -> None:
    deal = example_file("merchant_h100")
    for args, field in (
        (("--stress", "no-such"), "--stress"),
        (("--stress-paths", "0"), "--stress-paths"),
        (("--tornado-paths", "-1"), "--tornado-paths"),
    ):
        proc = cli("run", deal, "--paths", "8", *args, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and field in proc.stderr
    assert not list(tmp_path.iterdir())  # nothing written
