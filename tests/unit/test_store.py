"""The DuckDB market store: build, idempotence, reference values, imports and exports."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from gpucredit.errors import DataError, SpecError
from gpucredit.market.store import DB_ENV_VAR, MarketStore, SeriesInfo, default_db_path


@pytest.fixture(scope="module")
def built_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store built from the shipped files; tests copy it rather than build again."""
    path = tmp_path_factory.mktemp("store") / "market.duckdb"
    MarketStore(path).close()
    return path


@pytest.fixture
def db(built_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "market.duckdb"
    shutil.copy(built_db, path)
    return path


def _state(path: Path) -> tuple[dict[str, int], list[SeriesInfo], str]:
    with MarketStore(path) as store:
        return store.table_counts(), store.catalogue(), store.data_hash


def test_opening_twice_changes_nothing(built_db: Path) -> None:
    first = _state(built_db)
    second = _state(built_db)
    assert first == second
    counts = first[0]
    assert counts["daily"] > 60_000
    assert counts["gpu_rental_observations"] > 20_000
    for table in ("deals", "calibrations", "runs"):
        assert counts[table] == 0
    assert counts["generations"] == 7  # data/README.md: gpu_generations.csv, 7 rows
    assert counts["halvings"] == 6
    assert counts["useful_life_policies"] == 10


def test_catalogue_lists_shipped_series_with_licences(built_db: Path) -> None:
    with MarketStore(built_db) as store:
        infos = {info.name: info for info in store.catalogue()}
    for name in ("btc_price", "btc_hashrate", "btc_fees", "btc_hashprice"):
        assert infos[name].licence.startswith("CC BY-NC 4.0")
        assert infos[name].origin == "shipped"
    assert infos["btc_hashprice"].unit == "USD/PH/day"
    assert infos["SOFR"].unit == "%"
    assert infos["T10Y2Y"].unit == "pp"
    # data/README.md: btc_hashprice_daily.csv has 5,798 rows from 2010-07-18 to 2026-06-01
    assert infos["btc_hashprice"].n_rows == 5_798
    assert infos["btc_hashprice"].first_date == dt.date(2010, 7, 18)
    h100 = infos["gpu_rent/H100/on_demand"]
    assert h100.table_name == "gpu_rental_observations"
    assert h100.unit == "USD/GPU-hour"
    assert "Apache-2.0" in h100.licence and "MIT" in h100.licence
    assert "gpu_rent/H100/committed_1y" in infos
    assert "gpu_rent/H100/spot" in infos


def test_reference_values(built_db: Path) -> None:
    day = dt.date(2022, 11, 21)
    with MarketStore(built_db) as store:
        hashprice = store.read_series("btc_hashprice", day, day)
        sofr = store.read_series("SOFR", dt.date(2026, 7, 30), dt.date(2026, 7, 30))
    # data/README.md spot check: 2022-11-21 gives $55.4/PH/day (rounded to 0.1)
    assert hashprice["value"].iloc[0] == pytest.approx(55.4, abs=0.05)
    # rates_daily.csv, FRED SOFR on 2026-07-30
    assert sofr["value"].tolist() == [3.65]


def test_gpu_rent_is_the_daily_median(built_db: Path) -> None:
    with MarketStore(built_db) as store:
        frame = store.read_series("gpu_rent/H100/on_demand", dt.date(2026, 6, 1))
        raw = store.query(
            "SELECT median(usd_per_gpu_hour) AS m, count(*) AS n FROM gpu_rental_observations "
            "WHERE generation = 'H100' AND rental_type = 'on_demand' AND date = ?",
            [dt.date(2026, 6, 1)],
        )
    assert frame["date"].iloc[0] == dt.date(2026, 6, 1)
    assert frame["value"].iloc[0] == pytest.approx(raw["m"].iloc[0])
    assert frame["n_obs"].iloc[0] == raw["n"].iloc[0] > 1


def test_env_var_sets_the_default_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DB_ENV_VAR, str(tmp_path / "x.duckdb"))
    assert default_db_path() == tmp_path / "x.duckdb"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


GOOD = "date,value\n2026-01-01,2.5\n2026-01-02,2.625\n2026-01-05,2.75\n"

BAD_FILES = {
    "bad date": (
        "date,value\n2026-01-01,2.5\n2026-02-30,2.6\n",
        ["line 3", "'date'", "2026-02-30"],
    ),
    "out of order": (
        "date,value\n2026-01-02,2.5\n2026-01-01,2.6\n",
        ["line 3", "'date'", "2026-01-01", "increasing"],
    ),
    "duplicate": ("date,value\n2026-01-01,2.5\n2026-01-01,2.6\n", ["line 3", "'date'"]),
    "not a number": (
        "date,value\n2026-01-01,2.5\n2026-01-02,abc\n",
        ["line 3", "'value'", "'abc'"],
    ),
    "not finite": ("date,value\n2026-01-01,inf\n", ["line 2", "'value'", "finite"]),
    "negative price": ("date,value\n2026-01-01,2.5\n2026-01-02,-1\n", ["line 3", "positive"]),
    "missing column": ("date\n2026-01-01\n", ["line 1", "header", "'value'"]),
    "short row": ("date,value\n2026-01-01,2.5\n2026-01-02\n", ["line 3", "'value'"]),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_import_changes_nothing(db: Path, tmp_path: Path, case: str) -> None:
    text, must_contain = BAD_FILES[case]
    before = _state(db)
    bad = _write(tmp_path / "bad.csv", text)
    with MarketStore(db) as store, pytest.raises(SpecError) as caught:
        store.import_series("my_index", bad)
    message = str(caught.value)
    assert str(bad) in message
    for part in must_contain:
        assert part in message, message
    assert _state(db) == before


def test_bad_replacement_keeps_the_old_series(db: Path, tmp_path: Path) -> None:
    with MarketStore(db) as store:
        store.import_series("my_index", _write(tmp_path / "good.csv", GOOD))
    before = _state(db)
    with MarketStore(db) as store, pytest.raises(SpecError):
        store.import_series("my_index", _write(tmp_path / "bad.csv", "date,value\nx,1\n"))
    assert _state(db) == before


def test_missing_file_and_shipped_name_are_refused(db: Path, tmp_path: Path) -> None:
    with MarketStore(db) as store:
        with pytest.raises(SpecError, match="an existing CSV file"):
            store.import_series("my_index", tmp_path / "nope.csv")
        with pytest.raises(SpecError, match="shipped series cannot be overwritten"):
            store.import_series("SOFR", _write(tmp_path / "good.csv", GOOD))
        with pytest.raises(SpecError, match="series name"):
            store.import_series("gpu_rent/H100/mine", tmp_path / "good.csv")
        with pytest.raises(DataError, match="did you mean SOFR"):
            store.read_series("SOFX")


def test_import_export_round_trip(db: Path, tmp_path: Path) -> None:
    source = _write(tmp_path / "in.csv", GOOD.replace("date,value", "date,value"))
    with MarketStore(db) as store:
        info = store.import_series("my_index", source, unit="USD/GPU-hour")
        assert (info.origin, info.n_rows, info.unit) == ("imported", 3, "USD/GPU-hour")
        assert info.first_date == dt.date(2026, 1, 1)
        assert info.last_date == dt.date(2026, 1, 5)
        assert store.export_series("my_index", tmp_path / "out.csv") == 3
        store.import_series("my_copy", tmp_path / "out.csv")
        a = store.read_series("my_index")
        b = store.read_series("my_copy")
        assert store.series_info("my_copy").unit == "USD/GPU-hour"
    assert a.equals(b)
    assert a["value"].tolist() == [2.5, 2.625, 2.75]


def test_negative_values_allowed_on_request(db: Path, tmp_path: Path) -> None:
    with MarketStore(db) as store:
        info = store.import_series(
            "my_spread", _write(tmp_path / "s.csv", "date,value\n2026-01-01,-0.5\n"), positive=False
        )
    assert info.n_rows == 1


def test_new_shipped_data_rebuilds_and_keeps_imports(db: Path, tmp_path: Path) -> None:
    with MarketStore(db) as store:
        store.import_series("my_index", _write(tmp_path / "good.csv", GOOD))
        fresh_counts = store.table_counts()
        fresh_hash = store.data_hash
        store.query("UPDATE meta SET value = 'older' WHERE key = 'data_hash'")
        store.query("DELETE FROM daily WHERE series = 'SOFR' AND date > '2026-01-01'")
    with MarketStore(db) as store:
        assert store.data_hash == fresh_hash
        assert store.table_counts() == fresh_counts
        assert store.read_series("my_index")["value"].tolist() == [2.5, 2.625, 2.75]
        assert store.series_info("my_index").origin == "imported"
