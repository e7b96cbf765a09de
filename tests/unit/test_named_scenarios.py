"""The named stress scenarios: the registry, its error on an unknown name, each transform's
change to the run's inputs, and ``base`` equal to no scenario bit for bit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pytest
import xarray as xr

import gpucredit
from gpucredit.config.loading import read_document, validate_document
from gpucredit.config.miner import MinerSpec
from gpucredit.config.spec import DefaultModelSpec
from gpucredit.errors import SpecError
from gpucredit.factors.defaults import default_factor_params
from gpucredit.factors.miner_params import miner_market_params
from gpucredit.factors.params import GLUT, SHUT, SuccessorStep
from gpucredit.factors.processes import log_rent_trend
from gpucredit.miners import simulate_miner
from gpucredit.pipeline import simulate
from gpucredit.pipeline.miner_model import build_miner_model
from gpucredit.pipeline.model import build_model
from gpucredit.pipeline.named import (
    largest_lease_tenant,
    largest_tenant,
    with_scenario_miner_model,
    with_scenario_model,
)
from gpucredit.scenarios.grid import TimeGrid
from gpucredit.scenarios.named import (
    FORCED_DEFAULT_HAZARD,
    RATE_SHOCK,
    SCENARIOS,
    get_scenario,
    next_generation,
    replay_figures,
    scenario_names,
)
from tests.conftest import EXAMPLES

NAMES = (
    "base",
    "gpu-glut",
    "crypto-winter",
    "correlation-convergence",
    "next-gen-step-down",
    "rate-shock",
    "largest-tenant-default",
    "credit-window-shut",
    "credit-cycle-first",
)


def _assert_same(a: object, b: object) -> None:
    """Equal bit for bit, arrays and NaN included."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, np.ndarray | float) or isinstance(b, np.ndarray | float):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


@pytest.fixture(scope="module")
def merchant() -> gpucredit.DealSpec:
    return gpucredit.load_deal(EXAMPLES / "merchant_h100.yaml")


@pytest.fixture(scope="module")
def miner() -> MinerSpec:
    path = EXAMPLES / "miner_hosting_pivot.yaml"
    return validate_document(MinerSpec, read_document(path, what="miner"), what="miner")


def test_the_registry_holds_the_nine_scenarios_in_order_each_defined_in_numbers() -> None:
    assert scenario_names() == NAMES
    for s in SCENARIOS:
        assert get_scenario(s.name) is s
        assert s.title and len(s.definition) > 150
        assert "{" not in s.definition  # every figure filled in
        assert s.name == "base" or any(ch.isdigit() for ch in s.definition)


def test_an_unknown_name_is_one_spec_error_naming_the_option_the_value_and_the_list() -> None:
    with pytest.raises(SpecError) as caught:
        get_scenario("gpu-gulp")
    message = str(caught.value)
    assert "--scenario" in message and "gpu-gulp" in message
    assert all(name in message for name in NAMES)


def test_an_unknown_name_fails_simulate_before_any_work(merchant: gpucredit.DealSpec) -> None:
    with pytest.raises(SpecError, match="--scenario"):
        simulate(merchant, n_paths=1, calibration="sourced", scenario="nope")


def test_the_replays_figures_come_from_the_shipped_data() -> None:
    fig = replay_figures()
    # the H100 index: 2023 peak 7.38 (Oct 2023, Oracle's 10.00 among the Epoch rows), glut low
    # 2.69 (Oct 2025, the marketplace file); docs/rent_index.md prints the same monthly values
    assert (fig.glut_peak_month, fig.glut_low_month) == ("2023-10", "2025-10")
    assert fig.glut_log_fall == pytest.approx(math.log(7.38 / 2.69), abs=1e-12)  # exact ratio
    assert fig.glut_months == 24
    assert 0.0 < fig.step_log_fall < fig.glut_log_fall
    # 2022: bitcoin fell about 64% (46.3k to 16.5k), hashprice about 76% (Coin Metrics)
    assert fig.btc_log_change == pytest.approx(-1.03, abs=0.01)  # two decimals of the source
    assert fig.hashprice_log_change == pytest.approx(-1.41, abs=0.01)  # two decimals
    assert fig.hashrate_log_change > 0.0  # the network kept growing through 2022


def test_base_leaves_every_input_as_it_is(merchant: gpucredit.DealSpec) -> None:
    params = default_factor_params(("H100",), merchant.as_of)
    deal, out = get_scenario("base").deal_inputs(merchant, params)
    assert deal is merchant and out is params


def test_the_glut_starts_in_the_glut_and_lowers_every_trend_by_the_observed_fall(
    merchant: gpucredit.DealSpec,
) -> None:
    params = default_factor_params(("H100", "B200"), merchant.as_of)
    deal, out = get_scenario("gpu-glut").deal_inputs(merchant, params)
    assert deal.regime is not None and deal.regime.initial == "glut"
    grid = TimeGrid(merchant.as_of, 36)
    fall = replay_figures().glut_log_fall
    for before, after in zip(params.rents, out.rents, strict=True):
        base = log_rent_trend(before, grid.as_of, grid.t_years, 0)
        stressed = log_rent_trend(after, grid.as_of, grid.t_years, GLUT)
        assert stressed[0] > base[0] - 1e-12  # month 1: only 1/24 of the fall, plus the regap
        # from month 24 on the trend stands exactly the observed fall below the base's
        np.testing.assert_allclose(stressed[24:] - base[24:], -fall, atol=1e-12)  # rounding
        assert after.buyer_decay_per_year == before.buyer_decay_per_year  # beliefs unchanged


def test_the_glut_start_keeps_every_other_section_of_any_example(
    example_deal: gpucredit.DealSpec,
) -> None:
    deal = get_scenario("gpu-glut").spec(example_deal)
    assert deal.regime is not None and deal.regime.initial == "glut"
    assert deal.model_copy(update={"regime": example_deal.regime}) == example_deal


def test_the_step_down_hits_the_older_generations_at_the_next_volume_date(
    merchant: gpucredit.DealSpec,
) -> None:
    params = default_factor_params(("H100", "B200"), merchant.as_of)
    _, out = get_scenario("next-gen-step-down").deal_inputs(merchant, params)
    name, volume = next_generation(merchant.as_of)
    assert (name, volume) == ("RUBIN", dt.date(2026, 10, 1))
    for rent in out.rents:
        (step,) = rent.stress_steps
        assert step == SuccessorStep("RUBIN-step-down", volume, replay_figures().step_log_fall, 1)
    assert next_generation(dt.date(2027, 1, 31))[1] == dt.date(2027, 10, 1)  # the cadence


def test_the_rate_shock_the_credit_window_and_the_convergence_change_their_parameters(
    merchant: gpucredit.DealSpec,
) -> None:
    params = default_factor_params(("H100",), merchant.as_of)
    _, shocked = get_scenario("rate-shock").deal_inputs(merchant, params)
    assert shocked.sofr.initial == pytest.approx(params.sofr.initial + RATE_SHOCK, abs=1e-15)
    assert shocked.sofr.long_run == pytest.approx(params.sofr.long_run + RATE_SHOCK, abs=1e-15)
    _, shut = get_scenario("credit-window-shut").deal_inputs(merchant, params)
    assert shut.credit_window.initial == SHUT and shut.credit_window.p_shut_to_open == 0.0
    _, conv = get_scenario("correlation-convergence").deal_inputs(merchant, params)
    for pair in ("rent_rent", "rent_util", "rent_sofr", "util_sofr"):
        tight, glut = getattr(conv.correlation, pair)
        assert tight == glut == max(getattr(params.correlation, pair), key=abs)
    raised, _ = get_scenario("correlation-convergence").deal_inputs(
        merchant.model_copy(update={"default_model": DefaultModelSpec(asset_correlation=0.1)}),
        params,
    )
    assert raised.default_model is not None and raised.default_model.asset_correlation == 0.24
    assert get_scenario("correlation-convergence").spec(merchant) == merchant  # at 0.24
    _, cycle = get_scenario("credit-cycle-first").deal_inputs(merchant, params)
    assert cycle.credit_window.initial == SHUT and cycle.sofr == shocked.sofr
    assert [s.volume_date for s in cycle.rents[0].stress_steps] == [
        dt.date(2027, 7, 1),  # the glut a year after the as-of month
        dt.date(2026, 10, 1),  # Rubin's step at its volume date
    ]


@pytest.mark.slow  # fits the bitcoin jump-diffusion on first use (~6 s)
def test_the_crypto_winter_changes_a_miners_market_only(miner: MinerSpec) -> None:
    market = miner_market_params(miner.as_of)
    params = default_factor_params(("H100",), miner.as_of, rent_prior=True)
    spec, gpu, out = get_scenario("crypto-winter").miner_inputs(miner, params, market)
    assert spec is miner and gpu is params
    fig = replay_figures()
    assert len(out.btc_log_shift) == len(out.hashrate_log_shift) == 12
    assert sum(out.btc_log_shift) == pytest.approx(fig.btc_log_change, abs=1e-12)  # 12 parts
    assert sum(out.hashrate_log_shift) == pytest.approx(fig.hashrate_log_change, abs=1e-12)


def test_the_largest_tenant_is_the_one_with_the_most_contracted_revenue() -> None:
    deal = gpucredit.load_deal(EXAMPLES / "ddtl_ig_contracted.yaml")
    params = default_factor_params(("H100",), deal.as_of)
    model = build_model(deal, params)
    name = largest_tenant(model.plan)
    assert name == deal.contracts[0].tenant
    forced = with_scenario_model(model, get_scenario("largest-tenant-default"))
    j = model.plan.entity_names.index(name)
    assert forced.plan.entity_monthly_hazard[j] == FORCED_DEFAULT_HAZARD
    assert with_scenario_model(model, get_scenario("gpu-glut")) is model


def test_base_is_bit_identical_to_no_scenario(merchant: gpucredit.DealSpec) -> None:
    runs = [
        simulate(merchant, n_paths=256, seed=3, keep_paths=64, calibration="sourced", scenario=s)
        for s in (None, "base")
    ]
    plain, base = runs
    _assert_same(dataclasses.asdict(plain.metrics), dataclasses.asdict(base.metrics))
    xr.testing.assert_identical(plain.paths.drop_attrs(), base.paths.drop_attrs())
    assert "scenario" not in plain.provenance and base.provenance["scenario"] == "base"


@pytest.mark.slow  # a miner run, with the bitcoin fit on first use
def test_a_miners_base_is_bit_identical_to_no_scenario(miner: MinerSpec) -> None:
    runs = [
        simulate_miner(
            miner,
            n_paths=128,
            seed=2,
            premium=False,
            attribution=False,
            premium_curve=False,
            calibration="sourced",
            scenario=s,
        )
        for s in (None, "base")
    ]
    plain, base = runs
    for a, b in zip(plain.facilities, base.facilities, strict=True):
        _assert_same(dataclasses.asdict(a), dataclasses.asdict(b))
    assert base.provenance["scenario"] == "base"


@pytest.mark.slow  # builds a miner (the bitcoin fit on first use)
def test_a_miners_largest_hosting_tenant_defaults_on_every_lease_it_holds(
    miner: MinerSpec,
) -> None:
    params = default_factor_params(("H100",), miner.as_of, rent_prior=True)
    model = build_miner_model(miner, params, miner_market_params(miner.as_of))
    name = largest_lease_tenant(model)
    assert miner.hosting is not None and name in {lease.tenant for lease in miner.hosting.leases}
    forced = with_scenario_miner_model(model, get_scenario("largest-tenant-default"))
    for lease, (t, g) in zip(miner.hosting.leases, model.lease_entities, strict=True):
        expected = FORCED_DEFAULT_HAZARD if lease.tenant == name else None
        got = forced.entities.entity_monthly_hazard[t]
        assert got == (expected or model.entities.entity_monthly_hazard[t])
        if g >= 0:  # the backstop keeps its own risk
            assert (
                forced.entities.entity_monthly_hazard[g] == model.entities.entity_monthly_hazard[g]
            )
    converged = with_scenario_miner_model(model, get_scenario("correlation-convergence"))
    assert converged.convergence.btc_rent == converged.convergence.stress_correlation >= 0.36


def test_docs_quote_every_definition_as_the_registry_writes_it() -> None:
    text = (EXAMPLES.parents[2] / "docs" / "scenarios.md").read_text(encoding="utf-8")
    for s in SCENARIOS:
        assert f"### `{s.name}`: {s.title}\n\n{s.definition}\n" in text, s.name
