"""Compiled kernels against their plain NumPy references (STYLE.md 6).

Each hot recursion of the Monte Carlo pass runs as a numba kernel and keeps a plain NumPy
version: the OU recursion and the regime chain (``factors.processes``), the fused scenario
builder (``scenarios.scenario``), the fleet projection (``assets.fleet``), the histogram
binning (``stats``). They must agree
exactly: the kernels perform the same floating-point operations in the same order.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import lfilter
from scipy.special import ndtr

import gpucredit
from gpucredit.assets.fleet import (
    _annuity_tables,
    _gpu_value_one,
    _log_skip_thresholds,
    gpu_value_usd,
    project,
    project_reference,
)
from gpucredit.assets.miner import _option_margin_pv
from gpucredit.config.spec import DealSpec
from gpucredit.factors.params import RegimeParams
from gpucredit.factors.processes import (
    markov_regimes,
    markov_regimes_reference,
    ou_coefficients,
    ou_exact,
    ou_exact_reference,
)
from gpucredit.pipeline import DealModel, _inputs, build_model
from gpucredit.scenarios import MonteCarloShocks, StressPath
from gpucredit.scenarios.scenario import (
    n_factors,
    simulate_scenarios,
    simulate_scenarios_reference,
)
from gpucredit.stats import (
    Histogram,
    MonthlyHistogram,
    bin_indices,
    bin_indices_reference,
)
from tests.conftest import load_example_data, make_deal

N_PATHS = 600  # three granules of random streams and a partial one


def _rich_fleet(data: dict[str, Any], *, with_a100: bool) -> DealSpec:
    """Several generations and cohorts, contracts of both kinds, tenants that default."""
    fleet = [
        {
            "name": "h100",
            "generation": "H100",
            "units": 10000,
            "purchase_date": "2025-06-30",
            "unit_cost_usd": 23500,
        },
        {
            "name": "b200",
            "generation": "B200",
            "units": 4000,
            "purchase_date": "2026-03-31",
            "unit_cost_usd": 42000,
        },
    ]
    contracts: list[dict[str, Any]] = [
        {
            "tenant": "Lab (CCC)",
            "rating": "CCC",
            "cohort": "h100",
            "units": 6000,
            "rate_usd_per_gpu_hour": 2.1,
            "start": "2026-01-01",
            "end": "2028-12-31",
            "take_or_pay": True,
        },
        {
            "tenant": "Startup",
            "annual_pd_pct": 25.0,
            "cohort": "b200",
            "units": 3000,
            "rate_usd_per_gpu_hour": 3.2,
            "start": "2026-08-01",
            "end": "2029-06-30",
            "take_or_pay": False,
        },
    ]
    if with_a100:  # retires inside the horizon
        fleet.insert(
            0,
            {
                "name": "a100",
                "generation": "A100",
                "units": 3000,
                "purchase_date": "2020-11-30",
                "unit_cost_usd": 15000,
            },
        )
        contracts.append(
            {
                "tenant": "Lab (CCC)",
                "rating": "CCC",
                "cohort": "a100",
                "units": 1000,
                "rate_usd_per_gpu_hour": 0.9,
                "start": "2026-05-01",
                "end": "2027-04-30",
                "take_or_pay": True,
            }
        )
    return make_deal(data, fleet=fleet, contracts=contracts, re_lease_downtime_months=3)


def _deals() -> dict[str, DealSpec]:
    out = {
        stem: make_deal(load_example_data(stem))
        for stem in ("merchant_h100", "ddtl_ig_contracted", "b200_ai_lab")
    }
    # a growing borrower: contracts whose rate is the path's rent at signing
    out["growing_parent"] = make_deal(load_example_data("coreweave/growing_parent"))
    base = load_example_data("merchant_h100")
    out["two_cohorts"] = _rich_fleet(base, with_a100=False)
    out["three_generations"] = _rich_fleet(base, with_a100=True)
    return out


DEALS = _deals()
MODELS: dict[str, DealModel] = {}


def _model(name: str) -> DealModel:
    if name not in MODELS:
        MODELS[name] = build_model(DEALS[name])
    return MODELS[name]


def _assert_same(fast: Any, reference: Any, what: str) -> None:
    for f in dataclasses.fields(fast):
        a, b = getattr(fast, f.name), getattr(reference, f.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape, f"{what}: {f.name}"
            assert np.array_equal(a, b), f"{what}: {f.name}"
        else:
            assert a == b, f"{what}: {f.name}"


# --- factor processes -------------------------------------------------------------------


@given(
    kappa=st.floats(0.05, 20.0),
    x0=st.floats(-3.0, 3.0),
    seed=st.integers(0, 2**32 - 1),
    n_months=st.integers(1, 90),
)
@settings(max_examples=40, deadline=None)
def test_ou_kernel_equals_reference_and_lfilter(
    kappa: float, x0: float, seed: int, n_months: int
) -> None:
    rng = np.random.default_rng(seed)
    shape = (37, n_months)
    z = rng.standard_normal(shape)
    mean = rng.normal(0.0, 0.5, shape)
    sigma = rng.uniform(0.0, 0.8, shape)
    dt_years = 1.0 / 12.0
    fast = ou_exact(x0, mean, sigma, kappa, dt_years, z)
    ref = ou_exact_reference(x0, mean, sigma, kappa, dt_years, z)
    assert np.array_equal(fast, ref)
    # the reference is the recursion scipy.signal.lfilter ran in the first version
    a, one_minus_a, scale = ou_coefficients(kappa, dt_years)
    drive = one_minus_a * mean + scale * sigma * z
    zi = np.full((shape[0], 1), a * x0)
    assert np.array_equal(lfilter([1.0], [1.0, -a], drive, axis=1, zi=zi)[0], ref)


def test_ou_kernel_takes_strided_and_broadcast_inputs() -> None:
    rng = np.random.default_rng(1)
    z = rng.standard_normal((50, 24, 3))[:, :, 1]  # a strided view, as the first version got
    args = (0.02, np.full(24, 0.035), 0.01, 0.5, 1.0 / 12.0, z)
    assert np.array_equal(ou_exact(*args), ou_exact_reference(*args))


@pytest.mark.parametrize("initial", [0, 1])
@pytest.mark.parametrize("probs", [(0.05, 0.2), (0.0, 1.0), (1.0, 0.0), (0.5, 0.5)])
def test_regime_chain_equals_reference(initial: int, probs: tuple[float, float]) -> None:
    params = RegimeParams(probs[0], probs[1], initial)
    u = np.random.default_rng(2).random((300, 60))
    u[0, :5] = probs[0]  # u == p does not switch
    fast, ref = markov_regimes(params, u), markov_regimes_reference(params, u)
    assert fast.dtype == ref.dtype == np.int8
    assert np.array_equal(fast, ref)


# --- scenarios and fleet cash flows ----------------------------------------------------


@pytest.mark.parametrize("name", list(DEALS))
@pytest.mark.parametrize("source", ["monte_carlo", "stress_glut", "stress_path"])
def test_scenarios_and_projection_equal_reference(name: str, source: str) -> None:
    model = _model(name)
    shocks = {
        "monte_carlo": MonteCarloShocks(11),
        "stress_glut": StressPath((1,)),
        "stress_path": StressPath((0, 1, 1, 0, 1)),
    }[source]
    drawn = shocks.draw(
        0,
        N_PATHS,
        model.grid.n_months,
        n_factors(model.params),
        model.plan.n_tenants,
        model.plan.n_parent_draws,  # growing_parent's CoreWeave, as pipeline.inputs draws it
    )
    fast = simulate_scenarios(model.params, model.grid, drawn)
    ref = simulate_scenarios_reference(model.params, model.grid, drawn)
    # Bit-identical where NumPy's exp is the C library's; NumPy's own AVX-512 exp may differ
    # from it by a few ulp, so rents are held to 1e-14 and everything else exactly.
    np.testing.assert_allclose(fast.rent, ref.rent, rtol=1e-14, atol=0.0)
    for field in ("regime", "utilisation", "sofr", "tenant_uniforms"):
        a, b = getattr(fast, field), getattr(ref, field)
        assert a.dtype == b.dtype and np.array_equal(a, b), field

    # the projection, on the same scenario paths
    kw = {"buyer_decay_per_year": model.buyer_decay_per_year}
    _assert_same(project(model.plan, fast, **kw), project_reference(model.plan, fast, **kw), name)


def test_rich_deals_exercise_every_branch_of_the_projection() -> None:
    model = _model("three_generations")
    inputs = _inputs(model, MonteCarloShocks(11), 0, N_PATHS)
    tau = inputs.cash.tenant_default_month
    assert (tau <= model.grid.n_months).any(), "some tenant must default inside the horizon"
    assert model.plan.contract_take_or_pay.any() and not model.plan.contract_take_or_pay.all()
    assert (model.plan.cohort_in_service == 0.0).any(), "a cohort must retire"
    assert len(model.plan.cohort_names) == 3


# --- the income-approach value -----------------------------------------------------------


@given(
    rent=st.one_of(st.floats(0.0, 5000.0), st.sampled_from([0.0, 100.0, 100.0 + 1e-9])),
    cost=st.one_of(st.just(0.0), st.just(100.0), st.floats(1e-3, 2000.0)),
    remaining=st.one_of(st.floats(0.0, 120.0), st.integers(0, 120).map(float)),
    decay=st.one_of(st.just(0.0), st.just(-0.01), st.floats(1e-6, 0.05)),
    discount=st.floats(1e-4, 0.03),
)
@settings(max_examples=300, deadline=None)
def test_compiled_gpu_value_equals_numpy(
    rent: float, cost: float, remaining: float, decay: float, discount: float
) -> None:
    expected = gpu_value_usd(np.array([rent]), cost, remaining, decay, discount)[0]
    k_max = math.floor(remaining)
    s_rent, s_cost = _annuity_tables(k_max, decay, discount)
    above = _log_skip_thresholds(np.array([remaining]), cost, decay)[0]
    got = _gpu_value_one(rent, cost, remaining, decay, s_rent[None, :], s_cost[None, :], 0, above)
    assert got == expected


def test_log_skip_threshold_is_exact_at_its_boundary() -> None:
    """Rents on and around the point where the logarithm's cap starts to bind."""
    cost, decay, discount = 276.0, 0.0175, 0.0117
    remaining = np.arange(0.0, 85.0)
    thresholds = _log_skip_thresholds(remaining, cost, decay)
    s_rent, s_cost = _annuity_tables(84, decay, discount)
    for f, thr in zip(remaining, thresholds, strict=True):
        cap_binds_from = cost * math.exp(f * decay)  # rent at which floor(log / d) == f
        for rent in (
            thr,
            np.nextafter(thr, 0.0),
            np.nextafter(thr, np.inf),
            cap_binds_from,
            np.nextafter(cap_binds_from, 0.0),
            np.nextafter(cap_binds_from, np.inf),
        ):
            expected = gpu_value_usd(np.array([rent]), cost, f, decay, discount)[0]
            got = _gpu_value_one(rent, cost, f, decay, s_rent[None, :], s_cost[None, :], 0, thr)
            assert got == expected, (f, rent)


# --- the ASIC buyer's option margin ------------------------------------------------------


def _option_margin_numpy(
    net: np.ndarray, decay: np.ndarray, weights: np.ndarray, sig: np.ndarray, cost: float
) -> np.ndarray:
    """The readable NumPy form of ``assets.miner._option_margin_pv`` (its oracle)."""
    forward = net[:, None] * decay[None, :]
    s = np.maximum(sig, 1e-12)[None, :]
    with np.errstate(divide="ignore"):
        d1 = (np.log(forward / cost) + 0.5 * s * s) / s
    margin = forward * ndtr(d1) - cost * ndtr(d1 - s)
    return np.asarray(np.maximum(margin, 0.0) @ weights, dtype=np.float64)


@pytest.mark.parametrize("seed", range(6))
def test_compiled_option_margin_equals_numpy_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 70))
    net = np.exp(rng.normal(-3.0, 2.0, 300))
    net[:5] = [0.0, 5e-324, 1e-300, 1e300, 0.05]  # log of zero, subnormal, huge, at the cost
    decay = np.exp(-rng.uniform(0.0, 0.05) * np.arange(1, k + 1))
    sig = rng.uniform(0.0, 0.3) * np.sqrt(np.arange(1, k + 1))
    sig[0] = 0.0  # floored at 1e-12
    weights = rng.random(k)
    got = _option_margin_pv(net, decay, weights, sig, 0.05)
    assert np.array_equal(got, _option_margin_numpy(net, decay, weights, sig, 0.05))
    # strided inputs, as project_miner passes one month's column
    wide = np.repeat(net[:, None], 3, axis=1)[:, 1]
    assert np.array_equal(_option_margin_pv(wide, decay, weights, sig, 0.05), got)


# --- histograms --------------------------------------------------------------------------

EDGES = {
    "dscr": np.linspace(-5.0, 20.0, 2501),
    "ltv": np.linspace(0.0, 5.0, 2001),
    "lgd": np.linspace(0.0, 1.0, 1001),
    "two": np.array([0.0, 1.0]),
    "one": np.array([0.5]),
    "empty": np.array([], dtype=np.float64),
    "uneven": np.sort(np.random.default_rng(4).normal(size=300)),
    "ties": np.array([0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 3.5]),
    "geometric": np.geomspace(1e-3, 1e3, 500),
    # an even run then a geometric tail (credit.duration.VALUE_EDGES): guessed, then bisected
    "linear_then_geometric": np.concatenate(
        [np.linspace(0.0, 4.0, 4001), 4.0 * 1.01 ** np.arange(1, 787)]
    ),
    "linear_then_ties": np.array([0.0, 1.0, 2.0, 3.0, 3.0, 3.0, 7.0, 7.5]),
    "infinite_ends": np.array([-np.inf, -1.0, 0.0, 1.0, np.inf]),
}


@pytest.mark.parametrize("name", list(EDGES))
def test_binning_equals_searchsorted_exactly(name: str) -> None:
    edges = EDGES[name]
    rng = np.random.default_rng(5)
    finite = edges[np.isfinite(edges)]
    values = np.concatenate(
        [
            finite,
            np.nextafter(finite, np.inf),
            np.nextafter(finite, -np.inf),
            rng.uniform(-30.0, 30.0, 20_000),
            rng.normal(0.0, 1.0, 5_000),
            np.array([np.inf, -np.inf, 0.0, -0.0, 1e300, -1e300, 5e-324, -5e-324]),
        ]
    )
    assert np.array_equal(bin_indices(edges, values), bin_indices_reference(edges, values))


def test_histograms_count_as_bincount_of_searchsorted() -> None:
    rng = np.random.default_rng(6)
    edges = EDGES["dscr"]
    values = np.concatenate([rng.normal(1.5, 3.0, (500, 60)), np.full((3, 60), np.inf)])
    values[7, 3] = edges[1234]  # on an edge
    mask = rng.random(values.shape) < 0.7
    monthly = MonthlyHistogram(edges, 60)
    monthly.add(values, mask, clip=(-1e6, 1e6))
    clipped = np.clip(values, -1e6, 1e6)
    idx = bin_indices_reference(edges, clipped)
    for t in range(60):
        expected = np.bincount(idx[:, t][mask[:, t]], minlength=edges.size + 1)
        assert np.array_equal(monthly.counts[t], expected)
    flat = Histogram(edges)
    flat.add(values[:, 0], mask[:, 0])
    assert np.array_equal(flat.counts, monthly.counts[0])


def test_histograms_refuse_nan_and_keep_their_counts() -> None:
    monthly = MonthlyHistogram(EDGES["ltv"], 2)
    monthly.add(np.array([[0.5, 0.7]]), np.array([[True, True]]))
    before = monthly.counts.copy()
    with pytest.raises(FloatingPointError):
        monthly.add(np.array([[0.1, np.nan]]), np.array([[True, True]]))
    assert np.array_equal(monthly.counts, before)
    monthly.add(np.array([[0.1, np.nan]]), np.array([[True, False]]))  # masked NaN is fine
    flat = Histogram(EDGES["lgd"])
    with pytest.raises(FloatingPointError):
        flat.add(np.array([0.1, np.nan]))
    assert flat.total == 0


# --- the credit layer's fields ----------------------------------------------------------


def test_credit_fields_are_all_the_main_pass_needs() -> None:
    """Same statistics with every ledger field kept (kept paths) and with the lean ledger."""
    deal = DEALS["b200_ai_lab"]
    kw: dict[str, Any] = {"n_paths": 900, "seed": 4, "block_size": 300, "n_workers": 1}
    full = gpucredit.simulate(deal, keep_paths=900, **kw)
    lean = gpucredit.simulate(deal, keep_paths=0, **kw)
    for f in dataclasses.fields(full.metrics):
        a, b = getattr(full.metrics, f.name), getattr(lean.metrics, f.name)
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, b, equal_nan=True), f.name
        else:
            assert a == b, f.name
    assert full.spreads == lean.spreads
