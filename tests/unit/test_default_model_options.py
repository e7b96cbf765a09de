"""The default model's inputs are options (issue 11, item 3): ``default_model`` (the glut
hazard multiplier, the companies' asset correlation) and ``regime`` (the chain's switching
probabilities and the regime on the as-of date), in the spec and in the API."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

import gpucredit
from gpucredit.assets.fleet import tenant_default_months
from gpucredit.config.miner import MinerSpec
from gpucredit.config.spec import DefaultModelSpec, RegimeSpec
from gpucredit.factors.defaults import default_factor_params
from gpucredit.factors.options import default_model, with_options, with_regime
from gpucredit.factors.params import GLUT, TIGHT
from gpucredit.market.ratings import DEFAULT_ASSET_CORRELATION, stress_hazard_multiplier
from gpucredit.miners import build_miner_model
from gpucredit.pipeline import build_model
from tests.conftest import EXAMPLES, hand_deal_data, make_deal
from tests.oracle.test_closed_forms import tenant_only_deal

OPTIONS = {"stress_hazard_multiplier": 2.0, "asset_correlation": 0.5}
REGIME = {"p_tight_to_glut": 0.1, "p_glut_to_tight": 0.2, "initial": "glut"}


def _risky_hand_deal(**changes: Any) -> gpucredit.DealSpec:
    data = hand_deal_data()
    data["contracts"][0] = dict(data["contracts"][0], annual_pd_pct=5.0)
    return make_deal(data, **changes)


def test_no_section_keeps_the_calibrated_model() -> None:
    model = build_model(_risky_hand_deal())
    assert model.plan.stress_hazard_multiplier == stress_hazard_multiplier()
    assert model.plan.asset_correlation == DEFAULT_ASSET_CORRELATION
    base = default_factor_params(("H100",), model.deal.as_of)
    assert model.params.regime == base.regime
    assert default_model(None).stress_hazard_multiplier == pytest.approx(3.24, abs=0.005)


def test_the_sections_reach_the_plan_and_the_scenario_parameters() -> None:
    model = build_model(_risky_hand_deal(default_model=OPTIONS, regime=REGIME))
    assert model.plan.stress_hazard_multiplier == 2.0
    assert model.plan.asset_correlation == 0.5
    regime = model.params.regime
    assert (regime.p_tight_to_glut, regime.p_glut_to_tight, regime.initial) == (0.1, 0.2, GLUT)


def test_a_field_left_out_keeps_its_calibrated_value() -> None:
    params = default_factor_params(("H100",), hand_deal_data()["as_of"])
    only = with_regime(params, RegimeSpec(initial="glut"))
    assert only.regime == dataclasses.replace(params.regime, initial=GLUT)
    assert with_regime(params, RegimeSpec()) is params
    model = default_model(DefaultModelSpec(asset_correlation=0.1))
    assert model.asset_correlation == 0.1
    assert model.stress_hazard_multiplier == stress_hazard_multiplier()


def test_a_multiplier_of_one_makes_the_regime_irrelevant_to_tenant_defaults() -> None:
    rng = np.random.default_rng(7)
    uniforms = rng.uniform(size=(2_000, 1))
    for multiplier, irrelevant in ((1.0, True), (None, False)):
        options = None if multiplier is None else {"stress_hazard_multiplier": multiplier}
        plan = build_model(_risky_hand_deal(default_model=options)).plan
        n = plan.n_months
        tight = np.full((2_000, n), TIGHT, dtype=np.int8)
        glut = np.full((2_000, n), GLUT, dtype=np.int8)
        same = np.array_equal(
            tenant_default_months(plan, uniforms, tight),
            tenant_default_months(plan, uniforms, glut),
        )
        assert same is irrelevant


def test_a_multiplier_of_one_gives_the_same_tenant_defaults_in_any_regime_chain() -> None:
    """Through the engine: the tenant-only loan's payment defaults (its tenant's) are the same
    paths whether the chain stays in glut or in tight, once gluts do not scale hazards."""
    deal = tenant_only_deal()
    shares = []
    for regime in (
        {"p_tight_to_glut": 0.5, "p_glut_to_tight": 0.01, "initial": "glut"},
        {"p_tight_to_glut": 0.01, "p_glut_to_tight": 0.5, "initial": "tight"},
    ):
        m = gpucredit.simulate(
            deal,
            n_paths=256,
            seed=4,
            keep_paths=0,
            n_workers=1,
            solve_fair_spread=False,
            default_model={"stress_hazard_multiplier": 1.0},
            regime=regime,
        ).metrics
        shares.append(m.default_kind_share["payment"])
    assert shares[0] == shares[1] > 0.0


def test_the_spec_option_equals_the_api_option_bit_for_bit() -> None:
    deal = tenant_only_deal()
    in_spec = gpucredit.evolve(deal, default_model=OPTIONS, regime=REGIME)
    run = {"n_paths": 256, "seed": 5, "keep_paths": 0, "n_workers": 1}
    a = gpucredit.simulate(in_spec, **run)
    b = gpucredit.simulate(
        deal, **run, default_model=DefaultModelSpec(**OPTIONS), regime=RegimeSpec(**REGIME)
    )
    c = gpucredit.simulate(deal, **run)
    assert a.provenance["spec_hash"] == b.provenance["spec_hash"] != c.provenance["spec_hash"]
    for name in ("pd", "pd_payment", "expected_loss_usd", "fair_spread_bps", "pd_by_year"):
        assert getattr(a.metrics, name) == getattr(b.metrics, name), name
    assert a.metrics.pd != c.metrics.pd  # the options changed the numbers
    assert a.provenance["default_model"] == {
        "stress_hazard_multiplier": 2.0,
        "asset_correlation": 0.5,
        "regime": {"p_tight_to_glut": 0.1, "p_glut_to_tight": 0.2, "initial": "glut"},
    }
    assert c.provenance["default_model"]["stress_hazard_multiplier"] == stress_hazard_multiplier()


def test_the_api_option_replaces_the_spec_section() -> None:
    deal = _risky_hand_deal(default_model=OPTIONS)
    changed = with_options(deal, default_model={"asset_correlation": 0.3})
    assert changed.default_model == DefaultModelSpec(asset_correlation=0.3)
    assert with_options(deal) is deal


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("default_model", "stress_hazard_multiplier", 0.5),
        ("default_model", "stress_hazard_multiplier", 25.0),
        ("default_model", "asset_correlation", 1.0),
        ("default_model", "asset_correlation", -0.1),
        ("regime", "p_tight_to_glut", 0.0),
        ("regime", "p_glut_to_tight", 1.5),
        ("regime", "initial", "boom"),
        ("default_model", "multiplier", 2.0),
    ],
)
def test_out_of_bounds_options_are_rejected(section: str, field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        _risky_hand_deal(**{section: {field: value}})


def test_a_miner_takes_the_same_sections() -> None:
    spec = gpucredit.load_miner(EXAMPLES / "miner_hosting_pivot.yaml")
    assert isinstance(spec, MinerSpec)
    model = build_miner_model(with_options(spec, OPTIONS, REGIME))
    assert model.entities.stress_hazard_multiplier == 2.0
    assert model.entities.asset_correlation == 0.5
    assert model.params.regime.initial == GLUT
    assert model.params.regime.p_tight_to_glut == 0.1
