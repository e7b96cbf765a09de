"""A typed PD is the PD the engine uses (issue: 'inputs mean what they say').

Through the cycle, the regime chain's hazard multipliers are normalised so that the cumulative
default probability over the horizon, averaged over the chain from its stationary
distribution, equals ``1 - (1 - p)^T``. Checked three ways: the survival formula against a
brute-force sum over every regime path; the normalised hazard through the engine's own
default-time draw (``tenant_default_months``) and regime chain against the target within
Monte Carlo error, for random regime parameters; and the point-in-time reading.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpucredit._typing import Float64Array
from gpucredit.assets.fleet import plan_fleet, tenant_default_months
from gpucredit.assets.hazards import (
    regime_survival,
    stationary_glut_share,
    through_the_cycle_scale,
    tight_regime_hazard,
)
from gpucredit.factors.params import GLUT, TIGHT, RegimeParams
from gpucredit.factors.processes import markov_regimes
from gpucredit.scenarios.grid import TimeGrid
from tests.conftest import hand_deal_data, make_deal


@dataclass(frozen=True, slots=True)
class _Entities:
    """The smallest ``EntityRisk``: one company."""

    n_months: int
    entity_monthly_hazard: Float64Array
    stress_hazard_multiplier: float
    asset_correlation: float = 0.0

    @property
    def n_entities(self) -> int:
        return int(self.entity_monthly_hazard.size)


def _brute_force_survival(h: float, m: float, regime: RegimeParams, n: int) -> float:
    g = stationary_glut_share(regime)
    pi = (1.0 - g, g)
    p = (
        (1.0 - regime.p_tight_to_glut, regime.p_tight_to_glut),
        (regime.p_glut_to_tight, 1.0 - regime.p_glut_to_tight),
    )
    total = 0.0
    for path in itertools.product((TIGHT, GLUT), repeat=n):
        prob = pi[path[0]]
        for a, b in itertools.pairwise(path):
            prob *= p[a][b]
        glut = sum(path)
        total += prob * math.exp(-h * ((n - glut) + m * glut))
    return total


@pytest.mark.parametrize(
    ("p_tg", "p_gt", "m", "n"), [(1 / 15, 1 / 20, 3.24, 8), (0.3, 0.05, 2.0, 6)]
)
def test_survival_formula_equals_a_sum_over_every_regime_path(
    p_tg: float, p_gt: float, m: float, n: int
) -> None:
    regime = RegimeParams(p_tg, p_gt)
    expected = _brute_force_survival(0.01, m, regime, n)
    # 2^n terms summed in another order: a few ulps apart
    assert regime_survival(0.01, m, regime, n) == pytest.approx(expected, rel=1e-13)


@given(
    p_tg=st.floats(0.01, 0.3),
    p_gt=st.floats(0.01, 0.3),
    m=st.floats(1.0, 5.0),
    annual_pd=st.floats(0.001, 0.3),
    years=st.integers(1, 10),
)
def test_normalised_hazard_hits_the_typed_cumulative_pd_exactly(
    p_tg: float, p_gt: float, m: float, annual_pd: float, years: int
) -> None:
    regime = RegimeParams(p_tg, p_gt)
    n = 12 * years
    h = tight_regime_hazard(annual_pd, "through_the_cycle", multiplier=m, regime=regime, n_months=n)
    # Brent's method to ~1e-15 on the scale: the survival matches to rounding
    assert regime_survival(h, m, regime, n) == pytest.approx((1 - annual_pd) ** years, rel=1e-9)
    assert h <= -math.log1p(-annual_pd) / 12.0 + 1e-18  # a glut only ever adds hazard


@pytest.mark.parametrize("seed", range(6))
def test_engine_default_times_reproduce_the_typed_pd_over_the_cycle(seed: int) -> None:
    """Random regime parameters; the chain starts from its stationary distribution; the
    default months come from the engine's draw. The cumulative PD at the horizon must equal
    ``1 - (1 - p)^T`` within 4 binomial standard errors (a 1-in-15,000 false alarm)."""
    rng = np.random.default_rng(seed)
    regime = RegimeParams(float(rng.uniform(0.02, 0.2)), float(rng.uniform(0.02, 0.2)))
    m = float(rng.uniform(1.5, 4.0))
    annual_pd = float(rng.uniform(0.01, 0.1))
    years = int(rng.integers(2, 8))
    n, n_paths = 12 * years, 200_000
    glut_start = rng.uniform(size=n_paths) < stationary_glut_share(regime)
    uniforms = rng.uniform(size=(n_paths, n))
    regimes = np.where(
        glut_start[:, None],
        markov_regimes(
            RegimeParams(regime.p_tight_to_glut, regime.p_glut_to_tight, GLUT), uniforms
        ),
        markov_regimes(regime, uniforms),
    ).astype(np.int8)
    h = tight_regime_hazard(annual_pd, "through_the_cycle", multiplier=m, regime=regime, n_months=n)
    plan = _Entities(n, np.array([h]), m)
    tau = tenant_default_months(plan, rng.uniform(size=(n_paths, 1)), regimes)
    pd_engine = float((tau[:, 0] <= n).mean())
    target = 1.0 - (1.0 - annual_pd) ** years
    se = math.sqrt(target * (1.0 - target) / n_paths)
    assert abs(pd_engine - target) < 4.0 * se


def test_point_in_time_keeps_the_typed_pd_as_the_current_regimes_hazard() -> None:
    h = -math.log1p(-0.02) / 12.0
    tight, glut = RegimeParams(0.1, 0.1, TIGHT), RegimeParams(0.1, 0.1, GLUT)
    kw = {"multiplier": 3.0, "n_months": 60}
    assert tight_regime_hazard(0.02, "point_in_time", regime=tight, **kw) == h
    assert tight_regime_hazard(0.02, "point_in_time", regime=glut, **kw) == h / 3.0


def test_no_stress_multiplier_leaves_the_hazard_as_typed() -> None:
    assert through_the_cycle_scale(0.05, 1.0, RegimeParams(1 / 15, 1 / 20), 60) == 1.0
    assert through_the_cycle_scale(0.0, 3.24, RegimeParams(1 / 15, 1 / 20), 60) == 1.0


def test_plan_reads_each_companys_basis() -> None:
    data = hand_deal_data()
    contract = dict(data["contracts"][0], annual_pd_pct=2.0)
    regime = RegimeParams(1 / 15, 1 / 20)
    grid = TimeGrid(make_deal(data).as_of, 60)
    ttc = plan_fleet(make_deal(data, contracts=[contract]), grid, regime=regime)
    pit = plan_fleet(
        make_deal(data, contracts=[dict(contract, pd_basis="point_in_time")]), grid, regime=regime
    )
    h = -math.log1p(-0.02) / 12.0
    assert pit.entity_monthly_hazard[0] == h
    scale = through_the_cycle_scale(0.02, ttc.stress_hazard_multiplier, regime, 60)
    assert ttc.entity_monthly_hazard[0] == h * scale
    # the shipped chain spends 4/7 of its months in a glut at 3.24x: the scale is near 1/2.28
    assert 0.4 < scale < 0.5
