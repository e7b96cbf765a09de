"""Calibrated market stores shared by a test session: each calibration fitted once, not once
per test worker and per test that starts from a fresh store.

A calibration (``run_calibration``: the factor fits and the bitcoin jump-diffusion fit) takes
15-20 s on one core. The CLI fits one in an empty store on the first run of each as-of date, so
every xdist worker used to fit the same few for its private store (``tests/conftest.py``), and
every test with a store of its own fitted one again. Here each date is fitted once per test
session, by the real ``run_calibration`` into a store of its own (a template), under a file lock
that the xdist workers share; a test then copies the template, and the session's private store
takes the same calibrations through ``MarketStore.save_calibration`` (the id hashes the as-of
date, data and parameters, so it is the calibration the CLI would have fitted).

Tests of calibrating itself (``gpucredit calibrate``, a run on an empty store, imported series)
keep their empty stores and fit as before.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import shutil
from pathlib import Path

import pytest

from gpucredit.factors.parameter_source import default_calibration_as_of, run_calibration
from gpucredit.market.store import MarketStore

#: The as-of dates the CLI fits for the examples and the shipped book (``resolve``: a deal's
#: as-of date, capped at the last data day, unless a calibration at most 92 days older and not
#: after it is stored): the book's 2024-12-31, 2025-12-11 (2025-12-31 reuses it), 2026-04-30
#: and 2026-05-31 deals, and the last data day (the 2026-07-31 deals and examples).
BOOK_DATES = (
    dt.date(2024, 12, 31),
    dt.date(2025, 12, 11),
    dt.date(2026, 4, 30),
    dt.date(2026, 5, 31),
    default_calibration_as_of(),
)


def shared_folder(factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this test session sees (the session's base folder)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def template(folder: Path, as_of: dt.date) -> Path:
    """A store holding one calibration as of ``as_of``, fitted by the first worker to ask."""
    path = folder / f"calibrated-{as_of.isoformat()}.duckdb"
    with (folder / f"calibrated-{as_of.isoformat()}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not path.exists():
            building = folder / f"building-{os.getpid()}-{as_of.isoformat()}.duckdb"
            with MarketStore(building) as store:
                run_calibration(store, as_of)
            building.rename(path)  # whole, or not there: a reader never sees half a store
    return path


def copy_template(factory: pytest.TempPathFactory, as_of: dt.date, to: Path) -> Path:
    """A fresh store at ``to`` that already holds the calibration a run as of ``as_of`` fits."""
    shutil.copyfile(template(shared_folder(factory), as_of), to)
    return to


def seed(factory: pytest.TempPathFactory, db: Path, dates: tuple[dt.date, ...]) -> None:
    """Store in ``db`` the calibration of each of ``dates``; the two xdist workers start at
    opposite ends of the list, so each fits about half of the dates the other then reads."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    order = dates if int(worker.removeprefix("gw") or 0) % 2 == 0 else dates[::-1]
    for as_of in order:
        with MarketStore(template(shared_folder(factory), as_of), read_only=True) as source:
            found = source.load_calibration()
        with MarketStore(db) as store:
            store.save_calibration(
                found.as_of, found.params, found.diagnostics, data_hash=found.data_hash
            )
