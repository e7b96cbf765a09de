"""Shipped presets and the market-data readers."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from gpucredit.config.presets import generation_presets
from gpucredit.errors import DataError
from gpucredit.market import rent_anchor, sofr_on
from tests.conftest import ROOT


def test_presets_yaml_is_what_the_build_script_makes() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_presets.py"), "--check"], check=False
    )
    assert run.returncode == 0, "run scripts/build_presets.py and commit the YAML"


def test_generation_table() -> None:
    presets = generation_presets()
    assert list(presets)[:4] == ["A100", "H100", "H200", "B200"]
    h100 = presets["H100"]
    assert h100.tdp_w == 700.0  # Epoch AI chip dataset, NVIDIA H100 SXM5 80GB
    assert h100.volume_date == dt.date(2022, 9, 20)  # AnandTech, full production
    assert presets["B200"].tdp_w == 1000.0
    assert presets["RUBIN"].successor is None


def test_sofr_reads_the_last_fred_value() -> None:
    # FRED SOFR: 3.65% on 2026-07-30, the last value in the shipped file
    obs = sofr_on(dt.date(2026, 7, 31))
    assert obs.value == pytest.approx(0.0365)
    assert obs.date == dt.date(2026, 7, 30)
    with pytest.raises(DataError, match="SOFR"):
        sofr_on(dt.date(2017, 1, 1))


def test_rent_anchor_is_a_median_with_its_evidence() -> None:
    obs = rent_anchor("H100", dt.date(2026, 7, 31))
    assert 2.0 < obs.value < 3.5  # shipped 2026 scrape: H100 SXM on-demand medians 2.6-3.0
    assert obs.n_obs > 100
    with pytest.raises(DataError, match="B200"):
        rent_anchor("B200", dt.date(2020, 1, 1))
