"""The pricing measure Q (docs/pricing.md): unit weights give P exactly, weights do not depend
on the block split, and the calibrated generic rated borrowers match the shipped curve."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pytest

import gpucredit
from gpucredit.credit.pricing import (
    GENERIC_RECOVERY,
    GENERIC_RISK_FREE,
    GENERIC_TENOR_MONTHS,
    calibrate_prices_of_risk,
    generic_pd_curve,
    generic_spread,
    market_spread_curve,
)
from gpucredit.credit.recovery import DefaultState, RecoveryResult
from gpucredit.credit.spread import (
    SpreadSolution,
    WeightedMean,
    fair_spread_terms,
    weighted_fair_spread_terms,
)
from gpucredit.factors.defaults import default_factor_params
from gpucredit.factors.params import FactorParams, RegimeParams
from gpucredit.market.ratings import (
    DEFAULT_ASSET_CORRELATION,
    annual_default_rate,
    stress_hazard_multiplier,
)
from gpucredit.scenarios.measure import MarketPricesOfRisk, pricing_log_weights, q_regime
from gpucredit.scenarios.shocks import MonteCarloShocks
from gpucredit.stats import ExactSum
from tests.conftest import hand_deal_data, make_deal

AS_OF = dt.date(2026, 1, 1)
PRICES = MarketPricesOfRisk(lambda_entity=0.8, regime_tilt=0.3, lambda_rent=0.12)
CHAIN = RegimeParams(1.0 / 15.0, 1.0 / 20.0)


def test_unit_weights_give_the_unweighted_mean_and_terms_bit_for_bit() -> None:
    rng = np.random.default_rng(4)
    values = rng.random(1000) * 1.1
    plain = ExactSum(1e-12)
    plain.add(values)
    weighted = WeightedMean(1e-12)
    weighted.add(values[:300], np.ones(300))
    weighted.add(values[300:], np.ones(700))
    assert weighted.mean() == plain.mean()
    sol = SpreadSolution(0.01, 0.02, -0.01, 0.01, -0.02, 5, 3.9, 3.7)
    risky, riskless = rng.random(50), rng.random(50)
    unweighted = fair_spread_terms(sol, risky, riskless)
    same = weighted_fair_spread_terms(sol, risky, riskless, np.ones(50), 1.0, 0.98)
    assert np.array_equal(same, unweighted)


def _log_weights(start: int, stop: int) -> np.ndarray:
    shocks = MonteCarloShocks(7).draw(start, stop, 48, 3, 2)
    regime = (shocks.regime_uniforms < 0.3).astype(np.int8)  # any realised regime path
    return pricing_log_weights(
        PRICES,
        CHAIN,
        regime=regime,
        rent_normals=shocks.normals[:, :, 0],
        entity_factor=shocks.entity_factor,
        has_entities=True,
    )


def test_log_weights_do_not_depend_on_the_block_split() -> None:
    whole = _log_weights(0, 700)
    parts = np.concatenate([_log_weights(0, 256), _log_weights(256, 300), _log_weights(300, 700)])
    assert np.array_equal(whole, parts)
    assert np.all(np.isfinite(whole)) and np.ptp(whole) > 0.0


def test_regime_log_ratio_is_the_month_by_month_product_of_transition_ratios() -> None:
    """The looked-up log ratios against log(Q / P) of each month's transition, summed in a
    Python loop: tolerance 1e-12 absolute, the two sums add the same 48 terms in other orders."""
    regime = (MonteCarloShocks(9).draw(0, 200, 48, 3, 2).regime_uniforms < 0.3).astype(np.int8)
    q = q_regime(CHAIN, PRICES.regime_tilt)
    got = pricing_log_weights(
        MarketPricesOfRisk(regime_tilt=PRICES.regime_tilt),
        CHAIN,
        regime=regime,
        rent_normals=np.zeros(regime.shape),
        entity_factor=None,
        has_entities=False,
    )
    for p, path in enumerate(regime):
        total, before = 0.0, CHAIN.initial
        for state in path:
            glut = before == 1
            p_sw = CHAIN.p_glut_to_tight if glut else CHAIN.p_tight_to_glut
            q_sw = q.p_glut_to_tight if glut else q.p_tight_to_glut
            switched = state != before
            total += math.log(
                (q_sw if switched else 1.0 - q_sw) / (p_sw if switched else 1.0 - p_sw)
            )
            before = state
        assert got[p] == pytest.approx(total, rel=0.0, abs=1e-12)


def test_log_weights_are_a_change_of_measure() -> None:
    """E_P[dQ/dP] = 1: tolerance 4 standard errors of the mean weight over 20,000 paths."""
    # the regime term of _log_weights weights paths not drawn from the chain: test the two
    # normal terms, whose P law is exact
    shocks = MonteCarloShocks(7).draw(0, 20_000, 48, 3, 2)
    zero_regime = np.zeros((20_000, 48), dtype=np.int8)
    normal_only = MarketPricesOfRisk(lambda_entity=0.8, lambda_rent=0.12)
    w = np.exp(
        pricing_log_weights(
            normal_only,
            CHAIN,
            regime=zero_regime,
            rent_normals=shocks.normals[:, :, 0],
            entity_factor=shocks.entity_factor,
            has_entities=True,
        )
    )
    assert abs(w.mean() - 1.0) < 4.0 * w.std() / math.sqrt(w.size)


def test_regime_tilt_moves_switching_towards_glut() -> None:
    q = q_regime(CHAIN, 0.3)
    assert q.p_tight_to_glut == pytest.approx(CHAIN.p_tight_to_glut * math.exp(0.3))
    assert q.p_glut_to_tight == pytest.approx(CHAIN.p_glut_to_tight * math.exp(-0.3))
    capped = q_regime(CHAIN, 2.5)  # e^2.5 / 15 = 0.81: below the cap
    assert capped.p_tight_to_glut < 0.99
    assert q_regime(RegimeParams(0.5, 0.5), 2.0).p_tight_to_glut == 0.99  # capped
    with pytest.raises(ValueError, match="regime_tilt"):
        MarketPricesOfRisk(regime_tilt=3.0)


def test_generic_rated_borrowers_match_the_shipped_curve() -> None:
    """ICE BofA OAS by rating (data/credit_spreads_by_rating.csv). Two prices of risk cannot
    fit every rating: tolerance a factor of 2.1 per rating and an rms log error under 0.5,
    the fit's own misfit on 2025-08-11 (docs/pricing.md, fit table)."""
    cal = calibrate_prices_of_risk(AS_OF)
    assert cal.prices.lambda_entity > 0.0
    assert cal.rms_log_error < 0.5
    fitted = [row for row in cal.rows if row[3] > 0.0]
    assert {r[0] for r in fitted} >= {"BBB", "BB", "B"}
    for rating, market, q_spread, p_spread in fitted:
        assert abs(math.log(q_spread / market)) < math.log(2.1), rating
        assert q_spread > p_spread  # a positive price of risk raises every spread


def test_market_curve_uses_only_quotes_dated_by_as_of() -> None:
    assert market_spread_curve(dt.date(2025, 8, 10)) == ()
    assert {q.rating for q in market_spread_curve(AS_OF)} == {"AAA", "BBB", "BB", "B"}


@pytest.mark.slow
def test_zero_prices_of_risk_give_q_equal_to_p_exactly() -> None:
    data = hand_deal_data()
    data["contracts"][0] = dict(data["contracts"][0], annual_pd_pct=8.0)
    deal = make_deal(data)
    priced = gpucredit.simulate(deal, 600, seed=2, block_size=256, keep_paths=0, n_workers=1)
    zero = gpucredit.simulate(
        deal,
        600,
        seed=2,
        block_size=300,
        keep_paths=0,
        n_workers=1,
        pricing=MarketPricesOfRisk(),
    )
    p, z = priced.metrics, zero.metrics
    assert p.actuarial_spread_bps is not None and p.actuarial_spread_bps > 0.0
    # P is untouched by the prices of risk, and with none Q is P bit for bit
    assert z.fair_spread_bps == z.actuarial_spread_bps == p.actuarial_spread_bps
    assert z.fair_spread_se_bps == z.actuarial_spread_se_bps == p.actuarial_spread_se_bps
    assert z.risk_premium_bps == 0.0
    assert p.fair_spread_bps is not None and p.fair_spread_bps > p.actuarial_spread_bps
    assert p.spread_gap_bps == pytest.approx(p.market_spread_bps - p.fair_spread_bps)


@dataclasses.dataclass(frozen=True, slots=True)
class FortyPercentOfPar:
    """Recovery of 40% of the loan's par in the default month (the generic borrower's)."""

    par_usd: float

    def recover(self, state: DefaultState) -> RecoveryResult:
        n = state.month.shape[0]
        proceeds = np.minimum(np.full(n, GENERIC_RECOVERY * self.par_usd), state.ead_usd)
        zero = np.zeros(n)
        return RecoveryResult(proceeds, zero, proceeds, zero)


def _generic_deal(rating: str) -> tuple[gpucredit.DealSpec, FactorParams]:
    """A 5-year monthly bullet whose only risk is one rated take-or-pay tenant: no market
    volatility (the regime chain still runs: it moves the tenant's hazard), flat SOFR at the
    closed form's rate, the fleet idle for the rest of the loan once the tenant defaults."""
    data = hand_deal_data()
    data["contracts"][0] = dict(
        data["contracts"][0], annual_pd_pct=None, rating=rating, end="2032-07-31"
    )
    loan = dict(
        data["loan"],
        tenor_months=GENERIC_TENOR_MONTHS,
        amortisation={"kind": "bullet"},
        rate={"kind": "fixed", "coupon_pct": 8.0},
        refinancing={"max_ltv": 1.0},
    )
    deal = make_deal(data, loan=loan, re_lease_downtime_months=36)
    base = default_factor_params(("H100",), deal.as_of)
    rents = tuple(
        dataclasses.replace(r, sigma_tight=0.0, sigma_glut=0.0, successors=()) for r in base.rents
    )
    params = dataclasses.replace(
        base,
        rents=rents,
        utilisation=dataclasses.replace(base.utilisation, sigma=0.0),
        sofr=dataclasses.replace(
            base.sofr, initial=GENERIC_RISK_FREE, long_run=GENERIC_RISK_FREE, sigma=0.0
        ),
    )
    return deal, params


@pytest.mark.slow
@pytest.mark.parametrize("rating", ["BB", "B"])
def test_engine_prices_a_generic_rated_borrower_as_the_closed_form(rating: str) -> None:
    """Through the engine, the generic borrower's P and Q spreads equal the closed form's
    (the one the calibration fits) within 3 Monte Carlo standard errors."""
    deal, params = _generic_deal(rating)
    cal = calibrate_prices_of_risk(deal.as_of, params.regime)
    # the rent's price of risk moves nothing here (no rent risk): only the credit drivers
    prices = dataclasses.replace(cal.prices, lambda_rent=0.0, lambda_btc=0.0)
    result = gpucredit.simulate(
        deal,
        8192,
        seed=9,
        keep_paths=0,
        params=params,
        recovery=FortyPercentOfPar(deal.loan.principal_usd if deal.loan else 0.0),
        pricing=prices,
    )
    m = result.metrics
    pd_p = generic_pd_curve(
        annual_default_rate(rating),
        MarketPricesOfRisk(),
        regime=params.regime,
        multiplier=stress_hazard_multiplier(),
        correlation=DEFAULT_ASSET_CORRELATION,
    )
    pd_q = generic_pd_curve(
        annual_default_rate(rating),
        prices,
        regime=params.regime,
        multiplier=stress_hazard_multiplier(),
        correlation=DEFAULT_ASSET_CORRELATION,
    )
    assert m.pd == pytest.approx(pd_p[-1], abs=4.0 * m.pd_se)  # 4 binomial standard errors
    assert m.actuarial_spread_bps is not None and m.actuarial_spread_se_bps is not None
    assert m.fair_spread_bps is not None and m.fair_spread_se_bps is not None
    p_bps, q_bps = generic_spread(pd_p) * 1e4, generic_spread(pd_q) * 1e4
    # Monte Carlo error only: 3 standard errors (a 0.3% false alarm per figure)
    assert abs(m.actuarial_spread_bps - p_bps) < 3.0 * m.actuarial_spread_se_bps
    assert abs(m.fair_spread_bps - q_bps) < 3.0 * m.fair_spread_se_bps


@pytest.mark.slow
def test_q_spreads_do_not_depend_on_the_block_size() -> None:
    data = hand_deal_data()
    data["contracts"][0] = dict(data["contracts"][0], annual_pd_pct=8.0)
    deal = make_deal(data)
    runs = [
        gpucredit.simulate(deal, 700, seed=4, block_size=size, keep_paths=0, n_workers=1).metrics
        for size in (256, 300, 700)
    ]
    first = runs[0]
    assert first.fair_spread_bps is not None and first.fair_spread_se_bps is not None
    for m in runs[1:]:
        assert m.fair_spread_bps == first.fair_spread_bps
        assert m.fair_spread_se_bps == first.fair_spread_se_bps
        assert m.risk_premium_bps == first.risk_premium_bps
