"""Published numbers behind the secondary-market model: impact laws, liquidation factors,
vintage curve, shipments, and the 2022 ASIC bust."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pytest

from gpucredit.credit.liquidation import (
    ASA_FORCED_TO_ORDERLY,
    ASIC_2022_MONTHLY_DRIFT,
    CORE_SCIENTIFIC_NYDIG,
    INET_BETA_PER_MARKET_SHARE,
    SPOTWIRE_VINTAGE_FACTORS,
    absorption_units_per_month,
    asic_market_params,
    calibrate_impact,
    gpu_market_params,
    inet_exponential_coefficient,
    price_impact,
    speed_factor,
    vintage_factor,
)
from gpucredit.market.shipments import installed_base

# SpotWire valuator dataset, methodology v0.6 (CC-BY-4.0, 2026-06), after the ASA orderly vs
# forced liquidation value framework: factor and sale time by speed.
SPOTWIRE = [("orderly", 1.00), ("broker", 0.85), ("auction", 0.65), ("distressed", 0.45)]


def test_square_root_impact_on_a_hand_case() -> None:
    # Toth et al. (2011), Phys. Rev. X 1, 021006: impact = Y sigma sqrt(Q / V). With
    # Y sigma = 0.1, Q = 400 units into V = 100: 1 - 0.1 x sqrt(4) = 0.8.
    params = dataclasses.replace(gpu_market_params("sqrt"), impact_coefficient=0.1)
    assert price_impact(400.0, 100.0, params) == pytest.approx(0.8, abs=1e-15)
    # 25 units: 1 - 0.1 x 0.5 = 0.95; the floor (5%) binds for Q / V >= (0.95 / 0.1)^2 = 90.25
    assert price_impact(25.0, 100.0, params) == pytest.approx(0.95, abs=1e-15)
    assert price_impact(1e4, 100.0, params) == params.min_price_fraction


def test_exponential_impact_inet_calibration() -> None:
    # Oxford INET fire-sale stress test (REFERENCES.md): selling 10% of the market lowers the
    # price 10%, p' = p exp(-beta Q / M). Here M = installed base = absorption / turnover.
    assert math.exp(-INET_BETA_PER_MARKET_SHARE * 0.10) == pytest.approx(0.90, abs=1e-15)
    turnover = 0.005
    params = dataclasses.replace(
        gpu_market_params("exponential"),
        impact_coefficient=inet_exponential_coefficient(turnover),
        monthly_turnover=turnover,
    )
    market_size = 1_000_000.0
    absorption = market_size * turnover
    assert price_impact(0.10 * market_size, absorption, params) == pytest.approx(0.90, abs=1e-12)


@pytest.mark.parametrize(("speed", "factor"), SPOTWIRE)
def test_spotwire_liquidation_factors_are_reproduced(speed: str, factor: float) -> None:
    params = gpu_market_params()  # isoelastic law, coefficient fitted by calibrate_impact
    fitted = speed_factor(speed, 6.0, "isoelastic", params.impact_coefficient)  # type: ignore[arg-type]
    # SpotWire publishes two decimals: a reproduction inside their rounding (0.005) is exact
    assert fitted == pytest.approx(factor, abs=0.005)


def test_calibration_is_the_default_and_reports_residuals() -> None:
    cal = calibrate_impact()
    assert cal.coefficient == gpu_market_params().impact_coefficient
    assert cal.speeds == ("orderly", "broker", "auction", "distressed")
    assert cal.reference_lot_months == 6.0
    np.testing.assert_allclose(
        np.array(cal.fitted_factors) - np.array(cal.target_factors), cal.residuals
    )
    # the fitted elasticity and its residuals, as docs/liquidation.md states them
    assert cal.coefficient == pytest.approx(0.2417, abs=5e-5)
    assert cal.max_abs_residual < 0.005
    assert cal.residuals[0] == pytest.approx(0.0, abs=1e-12)  # orderly goes at absorption pace


@pytest.mark.parametrize(
    ("kind", "coefficient", "worst"), [("sqrt", 0.1104, 0.110), ("exponential", 0.0383, 0.142)]
)
def test_square_root_and_exponential_cannot_reproduce_spotwire(
    kind: str, coefficient: float, worst: float
) -> None:
    # documented in docs/liquidation.md: the best one-coefficient fit misses by ~0.11-0.14,
    # because the published factors fall linearly in log(sale time)
    cal = calibrate_impact(kind)  # type: ignore[arg-type]
    assert cal.coefficient == pytest.approx(coefficient, abs=5e-4)
    assert cal.max_abs_residual == pytest.approx(worst, abs=2e-3)


def test_asic_impact_reproduces_the_asa_forced_to_orderly_ratio() -> None:
    # ASA framework as cited by SpotWire v0.6: forced ~70-80% of orderly; midpoint 75% at the
    # 30-day auction speed, orderly at the absorption pace
    params = asic_market_params()
    auction = speed_factor("auction", 6.0, "isoelastic", params.impact_coefficient)
    orderly = speed_factor("orderly", 6.0, "isoelastic", params.impact_coefficient)
    assert auction / orderly == pytest.approx(ASA_FORCED_TO_ORDERLY, abs=1e-6)
    # gamma = ln(1 / 0.75) / ln(6 x 30.4375 / 30)
    assert params.impact_coefficient == pytest.approx(
        math.log(1 / 0.75) / math.log(6 * 30.4375 / 30), rel=1e-6
    )


@pytest.mark.parametrize(("age", "factor"), list(enumerate(SPOTWIRE_VINTAGE_FACTORS)))
def test_spotwire_vintage_curve(age: int, factor: float) -> None:
    # SpotWire valuator dataset v0.6: 1.00 / 0.78 / 0.60 / 0.46 / 0.35 at ages 0-4 years
    assert vintage_factor(float(age), SPOTWIRE_VINTAGE_FACTORS) == pytest.approx(factor)


def test_hopper_installed_base_is_epochs_cumulative_shipments() -> None:
    # Epoch AI, data/nvidia_shipments_quarterly_epoch.csv, median units: "H100" (the
    # H100/H200 series) 2022-Q3..2025-Q4 plus H800 2023-Q1..Q4
    h100 = [6119, 32481, 56640, 151413, 260088, 423514, 552252, 650874, 794383, 681105]
    h100 += [329018, 228707, 127307, 23384]
    h800 = [7342, 31916, 56333, 19838]
    base = installed_base("H100", dt.date(2026, 7, 31))
    assert base.units == sum(h100) + sum(h800) == 4_432_714
    # B300 2025-Q2..2026-Q1: 215,192 + 541,775 + 743,724 + 213,381 (2026-Q1 partial)
    assert installed_base("B300", dt.date(2026, 7, 31)).units == 1_714_072


def test_asic_2022_bust_drift() -> None:
    # Luxor / Hashrate Index ASIC price index: rig prices fell ~85% in a year (2022)
    assert math.exp(-12 * ASIC_2022_MONTHLY_DRIFT) == pytest.approx(0.15, abs=1e-12)


def test_core_scientific_nydig_lot() -> None:
    # CoinDesk, 2023-02-03: 27,403 machines to NYDIG to extinguish $38.6m; Core said it could
    # buy them for ~$25m
    lot = CORE_SCIENTIFIC_NYDIG
    assert lot["buyback_value_usd"] / lot["machines"] == pytest.approx(912.3, abs=0.1)
    assert lot["debt_extinguished_usd"] / lot["machines"] == pytest.approx(1408.6, abs=0.1)
    assert lot["buyback_value_usd"] / lot["debt_extinguished_usd"] == pytest.approx(0.648, abs=1e-3)
    # With S19j Pro-class rigs (104 TH/s, Bitmain spec; an assumption for that fleet), the
    # network on 2023-02-03 (Coin Metrics, ~275 EH/s 30-day mean) ran ~2.6m rigs; at 1% a month
    # the lot is about one month of absorption: an orderly sale moves no price, so the 35% gap
    # came from the price level (the 2022 drift), not from the size of the lot.
    absorption = absorption_units_per_month(
        "ASIC", dt.date(2023, 2, 3), asic_market_params(), rig_hashrate_th_s=104.0
    )
    assert lot["machines"] / absorption == pytest.approx(1.04, abs=0.01)
