"""A run that writes reports is recorded in the store with its provenance: seed, paths,
calibration id, data hash, spec hashes, version, scenarios, the files written with their
SHA-256, and the command line; a store made before the record table existed gains it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import duckdb
import openpyxl
import pytest
from tests.conftest import EXAMPLES
from typer.testing import CliRunner

from gpucredit._version import __version__
from gpucredit.cli.app import app
from gpucredit.config.loading import load_deal
from gpucredit.errors import GpuCreditError
from gpucredit.io.outputs import file_digests, write_run
from gpucredit.io.record import command_line, record_report_run, run_set_recorder
from gpucredit.market.store import MarketStore
from gpucredit.pipeline import simulate
from gpucredit.reports.tables import run_document
from gpucredit.reports.xlsx import SUMMARY_SHEET, write_report_xlsx


@pytest.mark.slow  # ~6 s alone (the store's first build), ~3 s in the suite
def test_a_run_with_reports_records_its_provenance_and_files(tmp_path: Path) -> None:
    db = None  # the session's private store (tests/conftest.py), built once
    result = simulate(
        load_deal(EXAMPLES / "merchant_h100.yaml"),
        n_paths=32,
        seed=7,
        keep_paths=32,
        calibration="sourced",
    )
    document = run_document([result], 7, 32)
    recorded: list[str] = []

    def record(outputs: dict[str, str]) -> None:
        with MarketStore(db) as store:  # a per-deal row, as the CLI writes before publishing
            run_id = store.record_run(
                spec_hash=result.provenance["spec_hash"],
                seed=7,
                n_paths=32,
                calibration_id=None,
                version=__version__,
                summary={"deal": result.deal.name},
            )
        command = command_line(["/usr/bin/gpucredit", "run", "deal file.yaml", "--out", "o"])
        recorded.append(
            record_report_run(db, [result], outputs=outputs, command=command, run_ids=[run_id])
        )

    out = write_run(
        tmp_path / "out",
        [result],
        document,
        extra_files={
            "report.xlsx": lambda path: write_report_xlsx(path, [result], document=document)
        },
        on_files=record,
    )
    assert openpyxl.load_workbook(out / "report.xlsx").sheetnames[0] == SUMMARY_SHEET
    with MarketStore(db) as store:
        rec = store.load_run_record(recorded[0])
        assert rec in store.list_run_records()
        assert rec.run_ids[0] in {r.id for r in store.list_runs()}
        assert rec.data_hash == store.data_hash
    assert rec.command_line == "gpucredit run 'deal file.yaml' --out o"
    assert (rec.seed, rec.n_paths, rec.version) == (7, 32, __version__)
    assert rec.calibration_ids == ("sourced",)
    assert rec.spec_hashes == (result.provenance["spec_hash"],)
    assert rec.scenarios == ("base",)
    assert "report.xlsx" in rec.outputs and "manifest.json" in rec.outputs
    assert rec.outputs == file_digests(out)  # the published files are the ones recorded
    for name, digest in rec.outputs.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest


def test_a_store_made_before_the_record_table_gains_it_and_keeps_its_runs(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.duckdb"
    with MarketStore(db) as store:
        run_id = store.record_run(
            spec_hash="abc",
            seed=1,
            n_paths=2,
            calibration_id=None,
            version="0",
            summary={"deal": "old"},
        )
        assert store.list_run_records() == []  # no table yet: nothing, no error
    con = duckdb.connect(str(db))
    rows = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    tables = {r[0] for r in rows}
    con.close()
    assert "run_records" not in tables  # an old store, as made before this table
    rec = record_report_run(db, [], outputs={}, command="gpucredit run", run_ids=[run_id])
    with MarketStore(db) as store:
        assert [r.id for r in store.list_runs()] == [run_id]
        assert store.load_run_record(rec).run_ids == (run_id,)
    listed = CliRunner().invoke(app, ["runs", "records", "--db", str(db), "--json"])
    assert listed.exit_code == 0, listed.output
    (shown,) = json.loads(listed.stdout)
    assert shown["id"] == rec and shown["run_ids"] == [run_id]
    table = CliRunner().invoke(app, ["runs", "records", "--db", str(db)])
    assert table.exit_code == 0 and rec in table.stdout


def test_the_recorder_skips_sourced_runs_and_hands_a_store_error_over(tmp_path: Path) -> None:
    result = simulate(
        load_deal(EXAMPLES / "merchant_h100.yaml"), n_paths=16, keep_paths=0, calibration="sourced"
    )
    untouched = tmp_path / "untouched.duckdb"
    run_set_recorder(untouched, [result], command="gpucredit run")({"a.csv": "0" * 64})
    assert not untouched.exists()  # sourced parameters: no store is touched, as per deal
    calibrated = dataclasses.replace(
        result, provenance={**result.provenance, "calibration_id": "cal-000000000000"}
    )
    errors: list[Exception] = []
    not_a_store = tmp_path / "folder"
    not_a_store.mkdir()
    recorder = run_set_recorder(
        not_a_store, [calibrated], command="gpucredit run", on_error=errors.append
    )
    recorder({"a.csv": "0" * 64})
    assert len(errors) == 1 and isinstance(errors[0], GpuCreditError | OSError)
