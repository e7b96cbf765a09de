"""Backtests run on small path counts and return well-formed results."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from gpucredit.reports.backtests import (
    FanBacktest,
    backtest_btc,
    backtest_h100_rent,
    backtest_regime_rent,
    fan_backtest,
)


def _check(result: FanBacktest) -> None:
    assert 0.0 <= result.coverage_5_95 <= 1.0
    assert result.n_realised > 0
    assert result.realised["percentile"].between(0.0, 100.0).all()
    assert result.realised.index.isin(result.fan.index).all()
    assert not result.realised["value"].isna().any()
    fan = result.fan.to_numpy()
    assert np.all(np.diff(fan, axis=1) >= 0.0)  # quantiles ordered


def test_h100_backtest_small() -> None:
    result = backtest_h100_rent(n_paths=200, n_months=36)
    _check(result)
    assert len(result.fan) == 36
    # every observed month of the index in the window gets a percentile
    assert result.n_realised == 17


def test_btc_backtest_small() -> None:
    result = backtest_btc(n_paths=200)
    for fan in (result.price, result.hashprice):
        _check(fan)
        assert fan.n_realised == 12
    assert result.btc_fit.end == dt.date(2021, 12, 31)


def test_fan_backtest_percentiles_by_hand() -> None:
    months = pd.date_range("2024-01-01", periods=2, freq="MS")
    paths = np.tile(np.arange(1.0, 101.0)[:, None], (1, 2))
    realised = pd.Series([50.0, 200.0], index=months)
    result = fan_backtest("x", "u", dt.date(2023, 12, 31), months, paths, realised)
    assert result.realised["percentile"].tolist() == [50.0, 100.0]
    assert result.realised["inside_5_95"].tolist() == [True, False]
    assert result.coverage_5_95 == pytest.approx(0.5)


def test_regime_backtest_fits_point_in_time_and_compares_declines() -> None:
    result = backtest_regime_rent(dt.date(2024, 8, 31), n_months=22, n_paths=300)
    assert result.calibrated.as_of == dt.date(2024, 8, 31)
    _check(result.calibrated)
    assert result.calibrated.n_realised == result.prior_decay.n_realised > 5
    # realised months all lie after the as-of date (nothing later entered the fit)
    assert (result.calibrated.realised.index > pd.Timestamp("2024-08-31")).all()
    for slope in (result.slope_calibrated, result.slope_prior, result.slope_realised):
        assert np.isfinite(slope)
    # the hand-set decay differs from the fitted one, so the two fans differ
    assert result.decay_calibrated != result.decay_prior
    assert not result.calibrated.fan.equals(result.prior_decay.fan)
    # as of 2024-08 the index spans one successor ramp: the sourced step, and it says why;
    # the hindsight model (step and decay fitted to 2026-07) is a different, labelled fan
    assert result.step_calibrated == 0.10
    assert "fewer than" in result.step_source
    assert result.hindsight_as_of > result.calibrated.as_of
    assert result.step_hindsight >= 0.0 and np.isfinite(result.slope_hindsight)
    assert not result.hindsight.fan.equals(result.calibrated.fan)
