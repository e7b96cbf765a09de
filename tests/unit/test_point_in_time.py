"""Point in time: a calibration or a run as of a date uses no data dated after it, and a model
with no data for its date takes its documented fallback or names the missing series."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest

import gpucredit
from gpucredit.errors import DataError, SpecError
from gpucredit.factors import parameter_source
from gpucredit.factors.bitcoin import BtcFit
from gpucredit.factors.defaults import PRIOR_RENT_USD_PER_GPU_HOUR, default_factor_params
from gpucredit.factors.parameter_source import check_as_of, resolve, run_calibration
from gpucredit.market.store import MarketStore
from tests.conftest import hand_deal_data, make_deal

AS_OF = dt.date(2021, 12, 31)

#: The bitcoin jump-diffusion fit of each as-of date, made once in this module by the real
#: ``fit_btc_jump_diffusion``: it reads only the shipped price file up to its date (never the
#: store), and it is about 15 s of a calibration's 17 s. Every calibration below still fits
#: all its models on its own store; the same date's bitcoin fit is the same either way.
_BTC_FITS: dict[dt.date, BtcFit] = {}


@pytest.fixture(autouse=True)
def _one_bitcoin_fit_per_date(monkeypatch: pytest.MonkeyPatch) -> None:
    fit = parameter_source.fit_btc_jump_diffusion

    def once(as_of: dt.date) -> BtcFit:
        if as_of not in _BTC_FITS:
            _BTC_FITS[as_of] = fit(as_of)
        return _BTC_FITS[as_of]

    monkeypatch.setattr(parameter_source, "fit_btc_jump_diffusion", once)


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    out, day = [], first
    while day <= last:
        out.append(day)
        day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 15)
    return out


def _write(path: Path, rows: list[tuple[dt.date, float]]) -> Path:
    text = "date,value\n" + "".join(f"{d.isoformat()},{v!r}\n" for d, v in rows)
    path.write_text(text, encoding="utf-8")
    return path


def _history() -> list[tuple[dt.date, float]]:
    """A plausible H100-like index, 2020-01 to 2021-12 (monthly, USD per GPU-hour)."""
    days = _months(dt.date(2020, 1, 15), dt.date(2021, 12, 15))
    return [(d, 3.0 * (0.99**i) * (1.05 if i % 5 == 0 else 1.0)) for i, d in enumerate(days)]


def test_a_calibration_as_of_2021_uses_no_later_data(tmp_path: Path) -> None:
    history = _history()
    absurd = [
        (d, 1.0e4 * (1 + i))
        for i, d in enumerate(_months(dt.date(2022, 1, 15), dt.date(2023, 12, 15)))
    ]
    with MarketStore(tmp_path / "store.duckdb") as store:
        store.import_series("index_h100", _write(tmp_path / "a.csv", history + absurd))
        store.import_series("cut_h100", _write(tmp_path / "b.csv", history))
        with_later = run_calibration(store, AS_OF, rent_series="index_h100")
        without = run_calibration(store, AS_OF, rent_series="cut_h100")
    assert with_later.params["rent"] is not None  # 24 months: a real fit
    # the absurd values after the as-of date change nothing that was fitted
    for model in ("rent", "sofr", "regime", "bitcoin"):
        assert with_later.params[model] == without.params[model], model
    assert with_later.as_of == without.as_of == AS_OF
    # the bitcoin fits read the shipped files: their samples end on the as-of date
    btc = with_later.params["bitcoin"]
    assert btc["price"]["end"] <= AS_OF.isoformat()
    assert btc["hashrate"]["h0_month"] <= AS_OF.isoformat()
    assert btc["hashprice"]["as_of"] == AS_OF.isoformat()


def test_the_data_hash_follows_the_data_used(tmp_path: Path) -> None:
    history = _history()
    moved = [(d, v * 1.1) if i == 3 else (d, v) for i, (d, v) in enumerate(history)]
    with MarketStore(tmp_path / "store.duckdb") as store:
        shipped = run_calibration(store, AS_OF)
        store.import_series("index_h100", _write(tmp_path / "a.csv", history))
        first = run_calibration(store, AS_OF, rent_series="index_h100")
        store.import_series("index_h100", _write(tmp_path / "b.csv", moved))
        second = run_calibration(store, AS_OF, rent_series="index_h100")
        assert shipped.data_hash == store.data_hash
    assert len({shipped.data_hash, first.data_hash, second.data_hash}) == 3
    assert len({shipped.id, first.id, second.id}) == 3


def test_latest_never_picks_a_later_calibration(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    with MarketStore(db) as store:
        later = run_calibration(store, dt.date(2026, 6, 30))
    early = resolve("latest", db, dt.date(2021, 6, 30))
    assert early.calibration is not None
    assert early.calibration.as_of <= dt.date(2021, 6, 30)
    assert early.calibration_id != later.id
    # within MAX_CALIBRATION_AGE_DAYS it is reused, not fitted again
    assert resolve("latest", db, dt.date(2021, 8, 31)).calibration_id == early.calibration_id
    # a deal after it gets it back, and an explicit later id is refused for an early deal
    assert resolve("latest", db, dt.date(2026, 7, 31)).calibration_id == later.id
    with pytest.raises(DataError, match="after the run's as_of"):
        resolve(later.id, db, dt.date(2021, 6, 30))


def test_sourced_and_its_alias_touch_no_store(tmp_path: Path) -> None:
    db = tmp_path / "never.duckdb"
    assert resolve("sourced", db).calibration_id == "sourced"
    assert resolve("default", db).calibration_id == "sourced"
    with pytest.raises(SpecError, match="'latest', 'sourced'"):
        resolve("newest", db)
    assert not db.exists()


def test_rent_before_the_index_falls_back_to_the_epoch_history() -> None:
    params = default_factor_params(("A100",), dt.date(2021, 6, 30))
    assert "Epoch" in params.sources["rent.A100.anchor"]
    # Epoch A100 on-demand list prices of spring 2021: 3.40 (Azure) and 4.10 (AWS) USD/h
    assert 3.40 <= params.rents[0].anchor_usd_per_gpu_hour <= 4.10


def test_no_rent_data_names_the_missing_series_unless_a_prior_may_stand() -> None:
    with pytest.raises(DataError, match="gpu_rent/H100/on_demand"):
        default_factor_params(("H100",), dt.date(2021, 6, 30))
    params = default_factor_params(("H100",), dt.date(2021, 6, 30), rent_prior=True)
    assert params.rents[0].anchor_usd_per_gpu_hour == PRIOR_RENT_USD_PER_GPU_HOUR
    assert "ASSUMPTION" in params.sources["rent.H100.anchor"]


def test_sofr_before_2018_is_the_labelled_treasury_proxy() -> None:
    params = default_factor_params(("A100",), dt.date(2022, 1, 31))
    assert "SOFR" in params.sources["sofr.initial"]
    early = default_factor_params((), dt.date(2015, 6, 30))
    assert "proxy" in early.sources["sofr.initial"]
    # 3-month bill in mid-2015: 0.01-0.03% (FRED DTB3); the proxy is near zero
    assert 0.0 <= early.sofr.initial <= 0.005


@pytest.mark.parametrize("as_of", [dt.date(2010, 1, 1), dt.date(2031, 1, 1)])
def test_an_as_of_outside_the_span_names_file_and_field(as_of: dt.date) -> None:
    with pytest.raises(SpecError) as caught:
        check_as_of(as_of, "deal.yaml")
    message = str(caught.value)
    assert "deal.yaml" in message and "as_of" in message and "2010-07" in message


def test_a_2021_gpu_deal_runs_on_the_epoch_fallback_or_names_the_missing_series() -> None:
    data = copy.deepcopy(hand_deal_data())
    data["as_of"] = "2021-06-30"
    data["fleet"][0].update(generation="A100", purchase_date="2021-06-30")
    data["contracts"][0].update(start="2021-06-30", end="2022-06-30")
    result = gpucredit.simulate(
        make_deal(data), n_paths=200, seed=0, calibration="sourced", solve_fair_spread=False
    )
    assert "Epoch" in result.provenance["factor_sources"]["rent.A100.anchor"]
    assert result.provenance["calibration_id"] == "sourced"
    data["fleet"][0]["generation"] = "H100"  # no H100 rent anywhere before 2022
    with pytest.raises(DataError, match="gpu_rent/H100/on_demand"):
        gpucredit.simulate(make_deal(data), n_paths=200, seed=0, calibration="sourced")
