"""An embedded DuckDB market-data store: the shipped series plus the user's own imports.

The store is one DuckDB file. It is created on first use from the files shipped in
``gpucredit/data`` and versioned by a content hash of those files (``meta.data_hash``): when
the shipped files change, the shipped tables are rebuilt and series the user imported are
kept. Every write runs in one transaction, so a failed build or a bad import leaves the store
as it was.

Several processes share one store. A ``MarketStore`` holds no connection: each operation opens
the file (read-only when it only reads), does its work in one short transaction and closes it,
so a notebook holding a ``MarketStore`` never locks the command line out. DuckDB lets one
process write a file at a time: an operation that finds the file locked by another process
waits and tries again, for up to ``$GPUCREDIT_DB_LOCK_TIMEOUT`` seconds (default 30), then
raises a ``DataError`` that says what to do. A damaged file raises a ``DataError`` that names
the command moving it away and rebuilding the store.

Location: the ``path`` argument, else the environment variable ``GPUCREDIT_DB``, else
``<user data dir>/gpucredit/market.duckdb`` (platformdirs). See ``docs/market_store.md``.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import hashlib
import json
import math
import os
import random
import re
import shlex
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pandas as pd
import platformdirs

from gpucredit.errors import DataError, SpecError, SpecIssue

__all__ = [
    "DB_ENV_VAR",
    "GPU_RENT_PREFIX",
    "LOCK_TIMEOUT_ENV_VAR",
    "MAX_ABS_VALUE",
    "CalibrationInfo",
    "MarketStore",
    "RunInfo",
    "RunRecord",
    "SeriesInfo",
    "StoredCalibration",
    "StoredRun",
    "default_db_path",
    "lock_timeout_s",
    "shipped_data_hash",
]

#: Environment variable that overrides the default location of the store.
DB_ENV_VAR = "GPUCREDIT_DB"
#: Environment variable: seconds an operation waits for another process's lock (default 30).
LOCK_TIMEOUT_ENV_VAR = "GPUCREDIT_DB_LOCK_TIMEOUT"
_DEFAULT_LOCK_TIMEOUT_S = 30.0
#: Largest magnitude of an imported value, in the series' unit: far above any price or rate
#: the models read (BTC in USD, hashrate in TH/s are below 1e9), far below float overflow.
MAX_ABS_VALUE = 1e9
#: Earliest date of an imported row; the latest is 2100-12-31 or one year after today.
_FIRST_IMPORT_DATE = dt.date(1900, 1, 1)
_LAST_IMPORT_DATE = dt.date(2100, 12, 31)
_FUTURE_MARGIN = dt.timedelta(days=366)
#: DuckDB's file header: three 4 KiB blocks before the data blocks (DuckDB storage format).
_DUCKDB_HEADER_BYTES = 3 * 4096

#: GPU rental series are named ``gpu_rent/<generation>/<rental_type>``.
GPU_RENT_PREFIX = "gpu_rent/"
#: Bump when the schema or the build below changes: it is part of the data hash.
SCHEMA_VERSION = "1"

_COIN_METRICS = "CC BY-NC 4.0 (Coin Metrics; non-commercial, attribute Coin Metrics)"
_SOFR_TERMS = "public data; attribute the Federal Reserve Bank of New York (SOFR terms of use)"
_TREASURY = "public domain (US Treasury H.15 via FRED)"


@dataclass(frozen=True, slots=True)
class _Shipped:
    name: str
    file: str
    column: str
    unit: str
    source: str
    licence: str


#: The shipped daily series, each one column of a shipped file (units per data/README.md).
_DAILY: tuple[_Shipped, ...] = (
    _Shipped(
        "btc_price",
        "btc_daily.csv",
        "PriceUSD",
        "USD/BTC",
        "Coin Metrics Community data, PriceUSD (data/btc_daily.csv)",
        _COIN_METRICS,
    ),
    _Shipped(
        "btc_hashrate",
        "btc_daily.csv",
        "HashRate",
        "TH/s",
        "Coin Metrics Community data, HashRate (data/btc_daily.csv)",
        _COIN_METRICS,
    ),
    _Shipped(
        "btc_fees",
        "btc_daily.csv",
        "FeeTotNtv",
        "BTC/day",
        "Coin Metrics Community data, FeeTotNtv (data/btc_daily.csv)",
        _COIN_METRICS,
    ),
    _Shipped(
        "btc_hashprice",
        "btc_hashprice_daily.csv",
        "hashprice_usd_per_ph_day",
        "USD/PH/day",
        "derived from Coin Metrics: revenue / hashrate (data/btc_hashprice_daily.csv)",
        _COIN_METRICS,
    ),
    _Shipped("SOFR", "rates_daily.csv", "SOFR", "%", "FRED SOFR (FRBNY)", _SOFR_TERMS),
    _Shipped("DGS10", "rates_daily.csv", "DGS10", "%", "FRED DGS10", _TREASURY),
    _Shipped("T10Y2Y", "rates_daily.csv", "T10Y2Y", "pp", "FRED T10Y2Y", _TREASURY),
    _Shipped("T10Y3M", "rates_daily.csv", "T10Y3M", "pp", "FRED T10Y3M", _TREASURY),
)

#: Source file of GPU rental observations -> (description, licence), per data/README.md.
_GPU_SOURCES: dict[str, tuple[str, str]] = {
    "gpu_prices_epoch.csv": ("Epoch AI hardware prices", "Apache-2.0 (attribute Epoch AI)"),
    "gpu_rental_marketplace_2025.csv": (
        "Prime Intellect marketplace via gpu-price-tracker",
        "MIT",
    ),
    "gpu_rental_observations_2026.csv": (
        "gpu-pricing-tracker daily provider scrape",
        "none stated (factual price observations; check before redistributing)",
    ),
}

_REFERENCE_TABLES = {
    "generations": "gpu_generations.csv",
    "useful_life_policies": "useful_life_policies.csv",
    "halvings": "btc_halvings.csv",
}

_SHIPPED_FILES = tuple(
    sorted({s.file for s in _DAILY} | set(_GPU_SOURCES) | set(_REFERENCE_TABLES.values()))
)

#: A GPU model name -> generation key: the first family token found, else the cleaned name.
_GENERATION_RE = r"(GB300|GB200|GH200|B300|B200|H200|H100|H800|A100|A800|MI355X|MI325X|MI300X|V100)"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS series (
    name VARCHAR PRIMARY KEY,
    table_name VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    licence VARCHAR NOT NULL,
    origin VARCHAR NOT NULL,
    n_rows BIGINT NOT NULL,
    first_date DATE,
    last_date DATE
);
CREATE TABLE IF NOT EXISTS daily (
    series VARCHAR NOT NULL, date DATE NOT NULL, value DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS gpu_rental_observations (
    date DATE NOT NULL,
    source VARCHAR NOT NULL,
    provider VARCHAR,
    generation VARCHAR NOT NULL,
    gpu_model VARCHAR NOT NULL,
    rental_type VARCHAR NOT NULL,
    usd_per_gpu_hour DOUBLE NOT NULL,
    n_offers BIGINT
);
CREATE TABLE IF NOT EXISTS deals (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    created_utc TIMESTAMP NOT NULL,
    spec_hash VARCHAR NOT NULL,
    spec_json VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS calibrations (
    id VARCHAR PRIMARY KEY,
    created_utc TIMESTAMP NOT NULL,
    as_of DATE NOT NULL,
    data_hash VARCHAR NOT NULL,
    params_json VARCHAR NOT NULL,
    diagnostics_json VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id VARCHAR PRIMARY KEY,
    created_utc TIMESTAMP NOT NULL,
    spec_hash VARCHAR NOT NULL,
    seed BIGINT NOT NULL,
    n_paths BIGINT NOT NULL,
    calibration_id VARCHAR,
    data_hash VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    summary_json VARCHAR NOT NULL
);
"""

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAX_ISSUES = 10
#: Largest CSV file imported: 64 MiB is a million daily rows, 27 centuries of days.
_MAX_IMPORT_BYTES = 64 * 2**20


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """One row of the catalogue (table ``series``)."""

    name: str
    table_name: str
    unit: str
    source: str
    licence: str
    origin: str  # "shipped" or "imported"
    n_rows: int  # points in the series (for gpu_rent/*: days with an observation)
    first_date: dt.date | None
    last_date: dt.date | None


def default_db_path() -> Path:
    """``$GPUCREDIT_DB`` when set, else ``<user data dir>/gpucredit/market.duckdb``."""
    env = os.environ.get(DB_ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    return platformdirs.user_data_path("gpucredit", appauthor=False) / "market.duckdb"


@cache
def shipped_data_hash() -> str:
    """SHA-256 of the schema version and every shipped file the store is built from."""
    digest = hashlib.sha256(f"schema {SCHEMA_VERSION}\n".encode())
    for name in _SHIPPED_FILES:
        digest.update(f"{name}\n".encode())
        digest.update(_data_file(name).read_bytes())
    return digest.hexdigest()


def _data_file(name: str) -> Path:
    return Path(str(resources.files("gpucredit").joinpath(f"data/{name}")))


def _sql_path(name: str) -> str:
    return "'" + str(_data_file(name)).replace("'", "''") + "'"


def _read(name: str) -> str:
    """A shipped CSV as a DuckDB table expression, every column as text."""
    return f"read_csv({_sql_path(name)}, header = true, all_varchar = true)"


@dataclass(frozen=True, slots=True)
class StoredCalibration:
    """A calibrated parameter set as stored: JSON parameters and diagnostics, with provenance."""

    id: str
    created_utc: str
    as_of: dt.date
    data_hash: str
    params: dict[str, Any]
    diagnostics: dict[str, Any]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True, slots=True)
class CalibrationInfo:
    """One row of ``calibrations list``: a stored calibration and how many runs used it."""

    id: str
    as_of: dt.date
    created_utc: str
    data_hash: str
    rent_series: str | None  # the GPU rent series it was fitted on, when recorded
    n_runs: int


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One recorded run (table ``runs``) without its summary."""

    id: str
    created_utc: str
    deal: str  # the deal's or miner's name, from the summary ("" when it has none)
    spec_hash: str
    seed: int
    n_paths: int
    calibration_id: str | None  # None: the sourced default parameters
    data_hash: str
    version: str


@dataclass(frozen=True, slots=True)
class StoredRun:
    """A recorded run: its row and the summary stored with it (the ``--json`` record)."""

    info: RunInfo
    summary: dict[str, Any]


def lock_timeout_s() -> float:
    """Seconds an operation waits for another process's lock: ``$GPUCREDIT_DB_LOCK_TIMEOUT``
    when it is a number >= 0, else 30."""
    text = os.environ.get(LOCK_TIMEOUT_ENV_VAR, "").strip()
    try:
        value = float(text)
    except ValueError:
        return _DEFAULT_LOCK_TIMEOUT_S
    return value if math.isfinite(value) and value >= 0 else _DEFAULT_LOCK_TIMEOUT_S


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _is_config_clash(exc: duckdb.Error) -> bool:
    return "different configuration than existing connections" in str(exc)


def _is_lock_error(exc: duckdb.Error) -> bool:
    return "Could not set lock on file" in str(exc)


class MarketStore:
    """The market-data store in one DuckDB file.

    Parameters
    ----------
    path : Path, str or None
        The database file. None: ``default_db_path()``. Created (with its folder) when missing.
    read_only : bool
        Open the file read-only for every operation: many readers share a file, and reading
        never changes it. Writing methods then raise ``DataError``. A store that does not
        exist yet, or was built from other shipped files, is still built first (one short
        write).
    lock_timeout : float or None
        Seconds an operation waits for another process's lock on the file before it raises
        ``DataError``. None: ``$GPUCREDIT_DB_LOCK_TIMEOUT``, else 30.

    Opening builds or refreshes the shipped tables when the file is new or was built from
    different shipped files; it does nothing else. The object holds no connection: every
    operation opens the file, works in one transaction and closes it, so other processes can
    use the store between two calls. ``close()`` and the context manager are kept for
    symmetry; they release nothing.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        read_only: bool = False,
        lock_timeout: float | None = None,
    ) -> None:
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.read_only = read_only
        if lock_timeout is None or math.isnan(lock_timeout):
            self.lock_timeout = lock_timeout_s()
        else:
            self.lock_timeout = max(float(lock_timeout), 0.0)
        if self.path.is_dir():
            raise DataError(f"{self.path}: is a directory; expected a DuckDB database file")
        self._ensure_built()

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Nothing to release: each operation closes its own connection (kept for the API)."""

    def __enter__(self) -> MarketStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- connections -------------------------------------------------------------------------

    def _open(self, *, write: bool) -> duckdb.DuckDBPyConnection:
        """A new connection, waiting (bounded, with backoff) while another process holds the
        file's lock."""
        if write:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                raise DataError(
                    f"{self.path}: cannot create the folder of the market store ({reason}); "
                    "choose another location with --db PATH or $GPUCREDIT_DB"
                ) from None
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.05
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=not write)
            except duckdb.Error as exc:
                if _is_config_clash(exc):
                    return self._share(write=write)
                left = deadline - time.monotonic()
                if not _is_lock_error(exc):
                    if not self.path.exists():
                        raise DataError(
                            f"{self.path}: cannot create the market store ({_one_line(exc)}); "
                            "choose another location with --db PATH or $GPUCREDIT_DB"
                        ) from None
                    raise self._unusable(exc) from None
                if left <= 0:
                    raise self._locked(exc) from None
            # jitter: two waiting processes do not retry in step (not a model random number)
            time.sleep(min(left, delay * (0.5 + random.random())))
            delay = min(2 * delay, 1.0)

    def _share(self, *, write: bool) -> duckdb.DuckDBPyConnection:
        """A connection when this process already holds one of its own to the file, opened in
        the other mode (DuckDB allows one mode per file and process): reads share a read-write
        one; a write cannot share a read-only one."""
        if not write:
            try:
                return duckdb.connect(str(self.path))  # only reads run on it
            except duckdb.Error:
                pass
        raise DataError(
            f"{self.path}: this Python process holds its own read-only DuckDB connection to the "
            "market store (duckdb.connect(..., read_only=True)), and DuckDB allows one mode per "
            "file and process; close it (con.close()) and try again"
        )

    @contextmanager
    def _connection(
        self, *, write: bool = False, user_sql: bool = False
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """One connection for one operation, closed at the end; DuckDB's errors become
        ``DataError`` (for user SQL only those of a damaged file: a bad query raises as is)."""
        con = self._open(write=write)
        try:
            yield con
        except duckdb.Error as exc:
            if user_sql and not _is_damage(exc):
                raise
            raise self._unusable(exc) from None
        finally:
            try:
                con.close()
            except duckdb.Error as exc:
                raise self._unusable(exc) from None

    @contextmanager
    def _transaction(self, *, build: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A write connection inside ``BEGIN`` ... ``COMMIT`` (``ROLLBACK`` on any error).

        A read-only store writes only to build itself (``build=True``)."""
        if self.read_only and not build:
            raise DataError(
                f"{self.path}: the market store was opened read-only; open it with "
                "MarketStore(path) to write"
            )
        with self._connection(write=True) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _locked(self, exc: duckdb.Error) -> DataError:
        holder = re.search(r"Conflicting lock is held in (.*?\(PID \d+\))", str(exc))
        who = f" ({holder.group(1)})" if holder else ""
        return DataError(
            f"{self.path}: the market store is locked by another process{who}, still after "
            f"{self.lock_timeout:g} s. Wait for that process to finish (a gpucredit command, or "
            "a Python session holding its own DuckDB connection to this file: close it) and "
            f"run the command again; or wait longer with {LOCK_TIMEOUT_ENV_VAR}=SECONDS, or "
            "use another store with --db PATH"
        )

    def _unusable(self, exc: BaseException) -> DataError:
        reason = _one_line(exc)
        quoted = shlex.quote(str(self.path))
        move = f"mv {quoted} {shlex.quote(f'{self.path}.broken')}"
        wal = Path(f"{self.path}.wal")
        if wal.exists():  # DuckDB would replay a stale write-ahead log into the new store
            move += f" && mv {shlex.quote(str(wal))} {shlex.quote(f'{self.path}.broken.wal')}"
        return DataError(
            f"{self.path}: the market store cannot be used ({reason}); the file is damaged, "
            "was written by another DuckDB version, or is not a gpucredit store. Move it "
            f"away and rebuild it from the shipped data: {move} && "
            f"gpucredit data list --db {quoted} (series you imported, calibrations and runs "
            "stay in the moved file)"
        )

    def _ensure_built(self) -> None:
        """Build the shipped tables when the file is new or stale; otherwise only read.

        Two processes may race to build a new store: the loser waits for the lock, then finds
        the store built and writes nothing.
        """
        wanted = shipped_data_hash()
        if self.path.is_file():
            with self._connection() as con:
                _check_size(con, self.path)
                if _built_hash(con) == wanted:
                    return
        with self._transaction(build=True) as con:
            _check_size(con, self.path)
            if _built_hash(con) == wanted:
                return  # another process built it while this one waited
            con.execute(_SCHEMA)
            self._build_shipped(con, wanted)

    # -- build -------------------------------------------------------------------------------

    def _build_shipped(self, con: duckdb.DuckDBPyConnection, data_hash: str) -> None:
        shipped = con.execute("SELECT name FROM series WHERE origin = 'shipped'").fetchall()
        names = [s.name for s in _DAILY] + [str(r[0]) for r in shipped]
        con.execute("DELETE FROM daily WHERE list_contains(?, series)", [names])
        con.execute("DELETE FROM series WHERE origin = 'shipped'")
        con.execute("DELETE FROM gpu_rental_observations")
        for spec in _DAILY:
            con.execute(
                f"""INSERT INTO daily
                SELECT ?, CAST(date AS DATE), TRY_CAST("{spec.column}" AS DOUBLE)
                FROM {_read(spec.file)}
                WHERE TRY_CAST("{spec.column}" AS DOUBLE) IS NOT NULL
                ORDER BY 2""",
                [spec.name],
            )
        self._build_gpu_rent(con)
        for table, file in _REFERENCE_TABLES.items():
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {_read(file)}")
        self._refresh_catalogue(con)
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('data_hash', ?), ('schema_version', ?), "
            "('built_utc', ?)",
            [data_hash, SCHEMA_VERSION, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")],
        )

    def _build_gpu_rent(self, con: duckdb.DuckDBPyConnection) -> None:
        generation = (
            "coalesce(nullif(regexp_extract({m}, '" + _GENERATION_RE + "', 1), ''), "
            "replace(regexp_replace({m}, '^(NVIDIA|Google|AMD) (Tesla |GeForce |Quadro )?', ''),"
            " ' ', '_'))"
        )
        for column, rental_type in (
            ("usd_per_chip_hour_on_demand", "on_demand"),
            ("usd_per_chip_hour_1yr_commit", "committed_1y"),
            ("usd_per_chip_hour_3yr_commit", "committed_3y"),
        ):
            con.execute(
                f"""INSERT INTO gpu_rental_observations
                SELECT CAST(price_date AS DATE), 'gpu_prices_epoch.csv', vendor,
                       {generation.format(m="hardware_model")}, hardware_model, ?,
                       CAST({column} AS DOUBLE), NULL
                FROM {_read("gpu_prices_epoch.csv")}
                WHERE price_date IS NOT NULL AND {column} IS NOT NULL""",
                [rental_type],
            )
        con.execute(
            f"""INSERT INTO gpu_rental_observations
            SELECT CAST(left(timestamp_utc, 10) AS DATE), 'gpu_rental_marketplace_2025.csv',
                   'prime_intellect_marketplace', {generation.format(m="series")}, series,
                   'on_demand', CAST(usd_per_gpu_hr_median AS DOUBLE),
                   CAST(n_configs AS BIGINT)
            FROM {_read("gpu_rental_marketplace_2025.csv")}
            WHERE usd_per_gpu_hr_median IS NOT NULL"""
        )
        con.execute(
            f"""INSERT INTO gpu_rental_observations
            SELECT CAST(date AS DATE), 'gpu_rental_observations_2026.csv', provider,
                   {generation.format(m="gpu_model")}, gpu_model, rental_type,
                   CAST(price_median_usd AS DOUBLE), CAST(n_offers AS BIGINT)
            FROM {_read("gpu_rental_observations_2026.csv")}
            WHERE price_median_usd IS NOT NULL"""
        )

    def _refresh_catalogue(self, con: duckdb.DuckDBPyConnection) -> None:
        """Rewrite the shipped rows of ``series`` and the counts of the imported ones."""
        con.execute("DELETE FROM series WHERE origin = 'shipped'")
        for spec in _DAILY:
            con.execute(
                """INSERT INTO series
                SELECT ?, 'daily', ?, ?, ?, 'shipped', count(*), min(date), max(date)
                FROM daily WHERE series = ?""",
                [spec.name, spec.unit, spec.source, spec.licence, spec.name],
            )
        rows = con.execute(
            """SELECT generation, rental_type, count(DISTINCT date), min(date), max(date),
                      list(DISTINCT source ORDER BY source)
            FROM gpu_rental_observations GROUP BY generation, rental_type
            ORDER BY generation, rental_type"""
        ).fetchall()
        for generation, rental_type, n, first, last, sources in rows:
            described = "; ".join(f"{_GPU_SOURCES[s][0]} ({s})" for s in sources)
            licences = "; ".join(dict.fromkeys(_GPU_SOURCES[s][1] for s in sources))
            con.execute(
                "INSERT INTO series VALUES (?, 'gpu_rental_observations', 'USD/GPU-hour', "
                "?, ?, 'shipped', ?, ?, ?)",
                [
                    f"{GPU_RENT_PREFIX}{generation}/{rental_type}",
                    described,
                    licences,
                    n,
                    first,
                    last,
                ],
            )

    # -- reading -----------------------------------------------------------------------------

    @property
    def data_hash(self) -> str:
        """The content hash of the shipped files this store was built from."""
        with self._connection() as con:
            return _data_hash(con)

    def catalogue(self) -> list[SeriesInfo]:
        """Every series in the store, shipped first, then by name."""
        with self._connection() as con:
            rows = con.execute(
                "SELECT * FROM series ORDER BY origin DESC, table_name, name"
            ).fetchall()
        return [_info(row) for row in rows]

    def series_info(self, name: str) -> SeriesInfo:
        """The catalogue row of one series; ``DataError`` naming close matches when unknown."""
        with self._connection() as con:
            return self._series_info(con, name)

    def _series_info(self, con: duckdb.DuckDBPyConnection, name: str) -> SeriesInfo:
        row = con.execute("SELECT * FROM series WHERE name = ?", [name]).fetchone()
        if row is None:
            names = [str(r[0]) for r in con.execute("SELECT name FROM series").fetchall()]
            close = difflib.get_close_matches(name, names, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise DataError(
                f"{self.path}: no series named {name!r}{hint} "
                "(`gpucredit data list` shows the names)"
            )
        return _info(row)

    def table_counts(self) -> dict[str, int]:
        """Row count of every table of the store, by table name."""
        counts: dict[str, int] = {}
        with self._connection() as con:
            tables = [
                str(r[0])
                for r in con.execute(
                    "SELECT table_name FROM duckdb_tables() "
                    "WHERE database_name = current_database() ORDER BY table_name"
                ).fetchall()
            ]
            for table in tables:
                row = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
                counts[table] = int(row[0]) if row is not None else 0
        return counts

    def read_series(
        self, name: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> pd.DataFrame:
        """The values of one series between ``start`` and ``end`` (inclusive), by date.

        Returns
        -------
        DataFrame
            Columns ``date`` (datetime.date), ``value`` (in the series' unit) and ``n_obs``
            (observations behind the value: 1 for a daily series; for ``gpu_rent/*`` the
            provider-days or snapshots whose median the value is).
        """
        lo = start or dt.date.min
        hi = end or dt.date.max
        with self._connection() as con:
            info = self._series_info(con, name)
            if info.table_name == "gpu_rental_observations":
                _, generation, rental_type = name.split("/", 2)
                rows = con.execute(
                    """SELECT date, median(usd_per_gpu_hour), count(*)
                    FROM gpu_rental_observations
                    WHERE generation = ? AND rental_type = ? AND date BETWEEN ? AND ?
                    GROUP BY date ORDER BY date""",
                    [generation, rental_type, lo, hi],
                ).fetchall()
            else:
                rows = con.execute(
                    """SELECT date, value, 1 FROM daily
                    WHERE series = ? AND date BETWEEN ? AND ? ORDER BY date""",
                    [name, lo, hi],
                ).fetchall()
        frame = pd.DataFrame(rows, columns=["date", "value", "n_obs"])
        return frame.astype({"value": "float64", "n_obs": "int64"})

    # -- calibrations and runs ----------------------------------------------------------------

    def save_calibration(
        self,
        as_of: dt.date,
        params: dict[str, Any],
        diagnostics: dict[str, Any],
        *,
        data_hash: str | None = None,
        rent_series: str | None = None,
    ) -> StoredCalibration:
        """Store a calibrated parameter set; its id is a hash of as-of, data and parameters,
        so saving the same calibration twice keeps one row (also when two processes save it
        at once).

        ``data_hash``: the hash of the data the fit used (default: the shipped data's,
        ``self.data_hash``). ``rent_series``, when given, is recorded in the parameters as
        ``rent_series`` (the GPU rent series the fit used; ``calibrations list`` shows it),
        and so enters the id.
        """
        if rent_series is not None:
            params = {**params, "rent_series": rent_series}
        params_json = json.dumps(params, sort_keys=True, allow_nan=False)
        diagnostics_json = json.dumps(diagnostics, sort_keys=True, allow_nan=False)
        with self._transaction() as con:
            data_hash = data_hash or _data_hash(con)
            digest = hashlib.sha256(
                f"{as_of.isoformat()}|{data_hash}|{params_json}".encode()
            ).hexdigest()
            cal_id = f"cal-{digest[:12]}"
            con.execute(
                """INSERT INTO calibrations VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO NOTHING""",
                [cal_id, _utc_now(), as_of, data_hash, params_json, diagnostics_json],
            )
        return self.load_calibration(cal_id)

    def load_calibration(self, cal_id: str | None = None) -> StoredCalibration:
        """A stored calibration by id, or the latest (by as-of date, then creation) for None.

        Raises ``DataError`` when the id is unknown or the store has none.
        """
        with self._connection() as con:
            if cal_id is None:
                row = con.execute(
                    "SELECT * FROM calibrations ORDER BY as_of DESC, created_utc DESC LIMIT 1"
                ).fetchone()
                if row is None:
                    raise DataError(
                        f"{self.path}: no calibration stored yet (`gpucredit calibrate`)"
                    )
            else:
                row = con.execute("SELECT * FROM calibrations WHERE id = ?", [cal_id]).fetchone()
                if row is None:
                    known = [
                        str(r[0]) for r in con.execute("SELECT id FROM calibrations").fetchall()
                    ]
                    raise DataError(
                        f"{self.path}: no calibration with id {cal_id!r} "
                        f"(stored: {', '.join(known) or 'none'})"
                    )
        return StoredCalibration(
            id=str(row[0]),
            created_utc=str(row[1]),
            as_of=row[2],
            data_hash=str(row[3]),
            params=json.loads(row[4]),
            diagnostics=json.loads(row[5]),
        )

    def has_calibration(self) -> bool:
        """Whether the store holds at least one calibration."""
        with self._connection() as con:
            row = con.execute("SELECT count(*) FROM calibrations").fetchone()
        return bool(row and row[0])

    def list_calibrations(self) -> list[CalibrationInfo]:
        """Every stored calibration, latest first (as ``load_calibration()`` picks them), with
        the number of recorded runs that used it."""
        with self._connection() as con:
            rows = con.execute(
                """SELECT c.id, c.as_of, c.created_utc, c.data_hash,
                       coalesce(json_extract_string(c.params_json, '$.rent_series'),
                                json_extract_string(c.diagnostics_json, '$.rent_series')),
                       (SELECT count(*) FROM runs r WHERE r.calibration_id = c.id)
                FROM calibrations c ORDER BY c.as_of DESC, c.created_utc DESC, c.id"""
            ).fetchall()
        return [
            CalibrationInfo(
                id=str(cid),
                as_of=as_of,
                created_utc=str(created),
                data_hash=str(data_hash),
                rent_series=None if rent is None else str(rent),
                n_runs=int(n_runs),
            )
            for cid, as_of, created, data_hash, rent, n_runs in rows
        ]

    def record_run(
        self,
        *,
        spec_hash: str,
        seed: int,
        n_paths: int,
        calibration_id: str | None,
        version: str,
        summary: dict[str, Any],
    ) -> str:
        """Record one deal's run with its provenance; returns the run id."""
        run_id = f"run-{uuid.uuid4().hex[:16]}"
        summary_json = json.dumps(summary, sort_keys=True, allow_nan=False, default=str)
        with self._transaction() as con:
            con.execute(
                """INSERT INTO runs (id, created_utc, spec_hash, seed, n_paths, calibration_id,
                    data_hash, version, summary_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    run_id,
                    _utc_now(),
                    spec_hash,
                    seed,
                    n_paths,
                    calibration_id,
                    _data_hash(con),
                    version,
                    summary_json,
                ],
            )
        return run_id

    def list_runs(self, limit: int | None = None) -> list[RunInfo]:
        """The recorded runs, newest first (at most ``limit`` of them; None: all)."""
        with self._connection() as con:
            rows = con.execute(
                f"""SELECT {_RUN_COLUMNS} FROM runs
                ORDER BY created_utc DESC, id LIMIT ?""",
                [limit if limit is not None else 2**62],
            ).fetchall()
        return [_run_info(row) for row in rows]

    def load_run(self, run_id: str) -> StoredRun:
        """One recorded run by its id, or by a prefix of it that only one run has.

        Raises ``DataError`` when no run, or more than one, matches.
        """
        pattern = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._connection() as con:
            rows = con.execute(
                f"""SELECT {_RUN_COLUMNS}, summary_json FROM runs
                WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 6""",
                [run_id, pattern],
            ).fetchall()
        exact = [row for row in rows if row[0] == run_id]
        if exact:
            rows = exact
        if len(rows) != 1:
            found = (
                "no run has that id"
                if not rows
                else f"it matches {', '.join(str(r[0]) for r in rows[:5])}"
                + (", ..." if len(rows) > 5 else "")
            )
            raise DataError(
                f"{self.path}: run {run_id!r}: {found} (`gpucredit runs list` shows the ids)"
            )
        return StoredRun(info=_run_info(rows[0][:-1]), summary=json.loads(rows[0][-1]))

    def record_run_set(
        self,
        *,
        command_line: str,
        seed: int,
        n_paths: int,
        calibration_ids: Sequence[str | None],
        spec_hashes: Sequence[str],
        version: str,
        scenarios: Sequence[str] = (),
        outputs: dict[str, str] | None = None,
        run_ids: Sequence[str] = (),
    ) -> str:
        """Record one command's run as a whole (table ``run_records``): what it ran, how, and
        what it wrote; returns the record's id (``rec-...``).

        The table is added to a store made before it existed (``CREATE TABLE IF NOT EXISTS``:
        nothing else is touched).

        Parameters
        ----------
        command_line : str
            The command as typed (or the Python call that made the run).
        seed, n_paths : int
            The run's seed and Monte Carlo paths per deal.
        calibration_ids : sequence of str or None
            The factor parameters each deal used (None: the sourced defaults).
        spec_hashes : sequence of str
            The hash of each validated deal, miner or book spec.
        version : str
            The gpucredit version.
        scenarios : sequence of str
            The named stress scenarios run (empty: the base model only).
        outputs : dict, optional
            Each file written (path relative to the output directory) -> its SHA-256 (hex).
        run_ids : sequence of str
            The per-deal rows of table ``runs`` (``record_run``) this run made.
        """
        record_id = f"rec-{uuid.uuid4().hex[:16]}"
        with self._transaction() as con:
            con.execute(_RUN_RECORDS_TABLE)
            con.execute(
                "INSERT INTO run_records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    record_id,
                    _utc_now(),
                    command_line,
                    seed,
                    n_paths,
                    json.dumps(list(dict.fromkeys(calibration_ids))),
                    _data_hash(con),
                    version,
                    json.dumps(list(spec_hashes)),
                    json.dumps(list(scenarios)),
                    json.dumps(dict(sorted((outputs or {}).items()))),
                    json.dumps(list(run_ids)),
                ],
            )
        return record_id

    def list_run_records(self, limit: int | None = None) -> list[RunRecord]:
        """The whole-run records (``record_run_set``), newest first; empty for a store that
        has none (also one made before the table existed)."""
        with self._connection() as con:
            if not _has_table(con, "run_records"):
                return []
            rows = con.execute(
                "SELECT * FROM run_records ORDER BY created_utc DESC, id LIMIT ?",
                [limit if limit is not None else 2**62],
            ).fetchall()
        return [_run_record(row) for row in rows]

    def load_run_record(self, record_id: str) -> RunRecord:
        """One whole-run record by its id; ``DataError`` when there is none."""
        with self._connection() as con:
            row = (
                con.execute("SELECT * FROM run_records WHERE id = ?", [record_id]).fetchone()
                if _has_table(con, "run_records")
                else None
            )
        if row is None:
            raise DataError(f"{self.path}: no run record with id {record_id!r}")
        return _run_record(row)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run one SQL statement on the store and return its rows (for notebooks and tests).

        On a read-only store the statement may only read. A statement DuckDB rejects raises
        DuckDB's own error; a damaged file raises ``DataError``.
        """
        with self._connection(write=not self.read_only, user_sql=True) as con:
            cursor = con.execute(sql, list(params) if params is not None else None)
            columns = [d[0] for d in cursor.description or []]
            rows = cursor.fetchall()
        return pd.DataFrame(rows, columns=columns)

    # -- import / export ---------------------------------------------------------------------

    def import_series(
        self,
        name: str,
        csv_path: Path | str,
        *,
        unit: str | None = None,
        licence: str | None = None,
        positive: bool = True,
    ) -> SeriesInfo:
        """Import (or replace) a user series from a CSV file, in one transaction.

        The file has the header ``date,value`` and optionally a ``unit`` column (one unit for
        every row). Dates are ISO ``YYYY-MM-DD``, strictly increasing, between 1900-01-01 and
        the earlier of 2100-12-31 and one year after today; values are finite numbers with
        ``|value| <= MAX_ABS_VALUE`` (1e9, in the series' unit), and positive unless
        ``positive=False`` (spreads, returns). A shipped series cannot be replaced. Any problem
        raises ``SpecError`` naming the file, the line, the column, the value and what was
        expected. The whole file is checked before the store is opened for writing, and the
        write is one transaction: a refused import leaves the file byte for byte as it was.
        """
        path = Path(csv_path)
        if not _NAME_RE.match(name):
            raise SpecError(
                path,
                [
                    SpecIssue(
                        "series name",
                        name,
                        "letters, digits, '_', '.' or '-' (at most 80; no '/', which is kept "
                        "for shipped gpu_rent/* series)",
                    )
                ],
            )
        with self._connection() as con:  # read-only: a refused import writes nothing
            row = con.execute("SELECT origin FROM series WHERE name = ?", [name]).fetchone()
        if row is not None and row[0] == "shipped":
            raise SpecError(
                path,
                [
                    SpecIssue(
                        "series name",
                        name,
                        "a name not used by a shipped series (shipped series cannot be "
                        "overwritten; import under another name)",
                    )
                ],
            )
        dates, values, file_unit = _parse_series_csv(path, positive=positive)
        final_unit = unit if unit is not None else file_unit
        frame = pd.DataFrame({"series": name, "date": dates, "value": values})
        with self._transaction() as con:
            con.execute("DELETE FROM daily WHERE series = ?", [name])
            con.execute("DELETE FROM series WHERE name = ?", [name])
            con.register("_gpucredit_incoming", frame)
            try:
                con.execute(
                    "INSERT INTO daily SELECT series, CAST(date AS DATE), value "
                    "FROM _gpucredit_incoming"
                )
            finally:
                con.unregister("_gpucredit_incoming")
            con.execute(
                """INSERT INTO series
                SELECT ?, 'daily', ?, ?, ?, 'imported', count(*), min(date), max(date)
                FROM daily WHERE series = ?""",
                [
                    name,
                    final_unit,
                    f"user import from {path.name}",
                    licence or "user-supplied (check the licence of the source)",
                    name,
                ],
            )
        return self.series_info(name)

    def export_series(
        self,
        name: str,
        csv_path: Path | str,
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> int:
        """Write a series as CSV (``date,value`` and ``unit`` when it has one); rows written.

        The file can be imported again with ``import_series``.
        """
        info = self.series_info(name)
        frame = self.read_series(name, start, end)
        path = Path(csv_path)
        try:
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(["date", "value", "unit"] if info.unit else ["date", "value"])
                for day, value in zip(frame["date"], frame["value"], strict=True):
                    cells = [day.isoformat(), repr(float(value))]
                    writer.writerow([*cells, info.unit] if info.unit else cells)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise SpecError(
                path, [SpecIssue("", str(path), f"a writable file ({reason})")]
            ) from None
        return len(frame)

    def latest_calibration(self, on_or_before: dt.date) -> StoredCalibration | None:
        """The newest stored calibration (by as-of date, then creation) whose as-of date is on
        or before ``on_or_before``; None when there is none (point in time: never a later one)."""
        with self._connection() as con:
            row = con.execute(
                "SELECT id FROM calibrations WHERE as_of <= ? "
                "ORDER BY as_of DESC, created_utc DESC, id LIMIT 1",
                [on_or_before],
            ).fetchone()
        return None if row is None else self.load_calibration(str(row[0]))


def _built_hash(con: duckdb.DuckDBPyConnection) -> str | None:
    """The data hash the store was built from; None for a new (or foreign) DuckDB file."""
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE database_name = current_database() AND table_name = 'meta'"
    ).fetchone()
    if row is None or not row[0]:
        return None
    found = con.execute("SELECT value FROM meta WHERE key = 'data_hash'").fetchone()
    return None if found is None else str(found[0])


def _data_hash(con: duckdb.DuckDBPyConnection) -> str:
    value = _built_hash(con)
    assert value is not None  # written by the build before any other operation can run
    return value


def _check_size(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Raise ``duckdb.IOException`` when the file is too short to hold the blocks its header
    says are in use: a truncated file opens, then fails on the first read of a missing block.

    Each used block has its own place in the file, so a healthy file is never shorter than the
    header plus the used blocks (free blocks at the end are cut off, hence not the total). A
    write-ahead log left by a crash is replayed into memory first; the check is skipped then.
    """
    if Path(f"{path}.wal").exists():
        return
    row = con.execute(
        "SELECT block_size, used_blocks FROM pragma_database_size() "
        "WHERE database_name = current_database()"
    ).fetchone()
    if row is None:
        return
    block_size, used_blocks = int(row[0]), int(row[1])
    needed = _DUCKDB_HEADER_BYTES + block_size * used_blocks if used_blocks else 0
    size = path.stat().st_size
    if size < needed:
        raise duckdb.IOException(
            f"the file is truncated: {size:,} bytes where its blocks in use need {needed:,}"
        )


def _is_damage(exc: duckdb.Error) -> bool:
    """An error of the file rather than of a statement: I/O, corruption, a fatal state."""
    return isinstance(
        exc,
        duckdb.IOException
        | duckdb.SerializationException
        | duckdb.InternalException
        | duckdb.FatalException,
    )


_RUN_COLUMNS = (
    "id, created_utc, coalesce(json_extract_string(summary_json, '$.deal'), ''), spec_hash, "
    "seed, n_paths, calibration_id, data_hash, version"
)


def _run_info(row: Sequence[Any]) -> RunInfo:
    run_id, created, deal, spec_hash, seed, n_paths, calibration_id, data_hash, version = row
    return RunInfo(
        id=str(run_id),
        created_utc=str(created),
        deal=str(deal),
        spec_hash=str(spec_hash),
        seed=int(seed),
        n_paths=int(n_paths),
        calibration_id=None if calibration_id is None else str(calibration_id),
        data_hash=str(data_hash),
        version=str(version),
    )


def _info(row: tuple[Any, ...]) -> SeriesInfo:
    name, table_name, unit, source, licence, origin, n_rows, first, last = row
    return SeriesInfo(
        name=str(name),
        table_name=str(table_name),
        unit=str(unit),
        source=str(source),
        licence=str(licence),
        origin=str(origin),
        n_rows=int(n_rows),
        first_date=first,
        last_date=last,
    )


def _parse_series_csv(path: Path, *, positive: bool) -> tuple[list[dt.date], list[float], str]:
    """Read and check a user series file; every problem found (up to 10) in one SpecError."""
    if not path.is_file():
        raise SpecError(path, [SpecIssue("", str(path), "an existing CSV file")])
    size = path.stat().st_size
    if size > _MAX_IMPORT_BYTES:
        raise SpecError(
            path,
            [SpecIssue("", f"{size:,} bytes", f"a file of at most {_MAX_IMPORT_BYTES:,} bytes")],
        )
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SpecError(
            path, [SpecIssue("", str(path), f"a readable UTF-8 CSV file ({exc})")]
        ) from None
    if not rows:
        raise SpecError(path, [SpecIssue("header", "", "the header 'date,value'", line=1)])
    header = [cell.strip().lower() for cell in rows[0]]
    if header not in (["date", "value"], ["date", "value", "unit"]):
        missing = [c for c in ("date", "value") if c not in header]
        expected = "the header 'date,value' (or 'date,value,unit')"
        if missing:
            expected += f"; missing column {', '.join(repr(c) for c in missing)}"
        raise SpecError(path, [SpecIssue("header", ",".join(rows[0]), expected, line=1)])
    issues: list[SpecIssue] = []
    dates: list[dt.date] = []
    values: list[float] = []
    units: set[str] = set()
    previous: dt.date | None = None
    last_day = min(_LAST_IMPORT_DATE, dt.date.today() + _FUTURE_MARGIN)
    for line, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(cells) != len(header):
            column = header[len(cells)] if len(cells) < len(header) else "(extra)"
            issues.append(
                SpecIssue(
                    column, ",".join(cells), f"{len(header)} cells ({','.join(header)})", line
                )
            )
            continue
        text_date, text_value = cells[0].strip(), cells[1].strip()
        day = _parse_date(text_date)
        if day is None:
            issues.append(SpecIssue("date", text_date, "an ISO date YYYY-MM-DD", line))
        elif not _FIRST_IMPORT_DATE <= day <= last_day:
            issues.append(
                SpecIssue(
                    "date",
                    text_date,
                    f"a date from {_FIRST_IMPORT_DATE.isoformat()} to {last_day.isoformat()} "
                    "(2100-12-31 or one year after today, whichever is earlier)",
                    line,
                )
            )
            day = None
        elif previous is not None and day <= previous:
            what = "a duplicate of" if day == previous else "before"
            issues.append(
                SpecIssue(
                    "date",
                    text_date,
                    f"a date after {previous.isoformat()} (dates strictly increasing; "
                    f"this one is {what} the row above)",
                    line,
                )
            )
        try:
            value = float(text_value)
        except ValueError:
            value = math.nan
            issues.append(SpecIssue("value", text_value, "a number", line))
        else:
            if not math.isfinite(value):
                issues.append(SpecIssue("value", text_value, "a finite number", line))
            elif abs(value) > MAX_ABS_VALUE:
                issues.append(
                    SpecIssue("value", text_value, f"a number within ±{MAX_ABS_VALUE:,.0f}", line)
                )
            elif positive and value <= 0:
                issues.append(
                    SpecIssue(
                        "value",
                        text_value,
                        "a positive number (a price; import with --allow-negative for "
                        "spreads or returns)",
                        line,
                    )
                )
        if len(header) == 3:
            units.add(cells[2].strip())
        if day is not None:
            previous = day if previous is None or day > previous else previous
            dates.append(day)
        values.append(value)
        if len(issues) >= _MAX_ISSUES:
            break
    if not issues and not values:
        issues.append(SpecIssue("value", "", "at least one data row after the header", 2))
    if len(units) > 1:
        issues.append(SpecIssue("unit", sorted(units), "one unit for every row"))
    if issues:
        raise SpecError(path, issues)
    return dates, values, units.pop() if units else ""


def _parse_date(text: str) -> dt.date | None:
    if not _DATE_RE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


#: The whole-run records (``MarketStore.record_run_set``); created on first use, so a store
#: made before it existed gains it without losing anything.
_RUN_RECORDS_TABLE = """
CREATE TABLE IF NOT EXISTS run_records (
    id VARCHAR PRIMARY KEY,
    created_utc TIMESTAMP NOT NULL,
    command_line VARCHAR NOT NULL,
    seed BIGINT NOT NULL,
    n_paths BIGINT NOT NULL,
    calibration_ids_json VARCHAR NOT NULL,
    data_hash VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    spec_hashes_json VARCHAR NOT NULL,
    scenarios_json VARCHAR NOT NULL,
    outputs_json VARCHAR NOT NULL,
    run_ids_json VARCHAR NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One command's run as a whole (table ``run_records``): its provenance and its files.

    Attributes
    ----------
    id, created_utc : the record's id (``rec-...``) and when it was made (UTC).
    command_line : the command as typed.
    seed, n_paths : the seed and Monte Carlo paths per deal.
    calibration_ids : the factor parameters used (None: the sourced defaults), each once.
    data_hash : the shipped data's hash in the store when recorded.
    version : the gpucredit version.
    spec_hashes : the hash of each validated spec run.
    scenarios : the named stress scenarios run.
    outputs : file written (relative path) -> SHA-256 (hex).
    run_ids : the per-deal rows of table ``runs`` made by the same run.
    """

    id: str
    created_utc: str
    command_line: str
    seed: int
    n_paths: int
    calibration_ids: tuple[str | None, ...]
    data_hash: str
    version: str
    spec_hashes: tuple[str, ...]
    scenarios: tuple[str, ...]
    outputs: dict[str, str]
    run_ids: tuple[str, ...]


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(row and row[0])


def _run_record(row: Sequence[Any]) -> RunRecord:
    (rec_id, created, command, seed, n_paths, cals, data_hash, version, specs, scen, out, ids) = row
    return RunRecord(
        id=str(rec_id),
        created_utc=str(created),
        command_line=str(command),
        seed=int(seed),
        n_paths=int(n_paths),
        calibration_ids=tuple(json.loads(cals)),
        data_hash=str(data_hash),
        version=str(version),
        spec_hashes=tuple(json.loads(specs)),
        scenarios=tuple(json.loads(scen)),
        outputs=dict(json.loads(out)),
        run_ids=tuple(json.loads(ids)),
    )
