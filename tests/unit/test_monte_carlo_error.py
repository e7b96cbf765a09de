"""The Monte Carlo error estimators: exact moments, the Wilson interval, the straddle label,
the fair spread's delta method and the path counts of ``--target-se``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from gpucredit.credit.metrics import next_path_count, wilson_interval
from gpucredit.credit.ratings import implied_rating, implied_rating_range, rating_default_rate
from gpucredit.credit.spread import (
    XTOL,
    _secant_root,
    fair_spread_terms,
    solve_spreads,
    with_standard_error,
)
from gpucredit.stats import ExactSum


def test_a_principal_of_1e19_sums_without_wrapping() -> None:
    # 1e19 USD at 1e-4 USD is 1e23 units: past int64, which used to wrap to a negative sum
    acc = ExactSum(1e-4, moments=True)
    acc.add(np.full(1000, 1e19))
    assert acc.total == pytest.approx(1e22, rel=1e-15)  # float rounding of the exact sum
    assert acc.mean() == pytest.approx(1e19, rel=1e-15)
    assert acc.variance() == 0.0


def test_moments_are_identical_whatever_the_split() -> None:
    rng = np.random.default_rng(5)
    values = rng.lognormal(15.0, 2.0, 3000)  # losses of a few USD to billions
    whole = ExactSum(1e-4, moments=True)
    whole.add(values)
    parts = ExactSum(1e-4, moments=True)
    for lo in range(0, values.size, 77):
        part = ExactSum(1e-4, moments=True)
        part.add(values[lo : lo + 77][::-1])
        parts.merge(part)
    assert whole.variance() == parts.variance()
    assert whole.standard_error() == parts.standard_error()
    # only the rounding to 1e-4 USD separates it from numpy's two-pass variance
    assert whole.variance() == pytest.approx(np.var(values, ddof=1), rel=1e-12)


def test_variance_of_a_masked_sum_counts_only_the_masked_values() -> None:
    acc = ExactSum(1e-12, moments=True)
    acc.add(np.array([0.2, 0.4, 9.0, 0.6]), np.array([True, True, False, True]))
    assert acc.count == 3
    assert acc.variance() == pytest.approx(0.04, abs=1e-12)  # var(0.2, 0.4, 0.6), ddof 1


def test_variance_needs_moments() -> None:
    acc = ExactSum(1e-4)
    acc.add(np.ones(3))
    with pytest.raises(ValueError, match="moments"):
        acc.variance()


def test_wilson_interval_of_a_textbook_case() -> None:
    # 50 of 100: centre 0.5, half-width 1.96/(1 + 1.96^2/100) x sqrt(0.0025 + 1.96^2/40000)
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4)
    assert high == pytest.approx(0.5962, abs=1e-4)


def test_wilson_interval_is_not_empty_at_zero_or_all() -> None:
    low, high = wilson_interval(0, 1000)
    assert low == 0.0 and high == pytest.approx(3.8415 / (1000 + 3.8415), rel=1e-4)
    low, high = wilson_interval(1000, 1000)
    assert high == 1.0 and low < 1.0


@pytest.mark.parametrize("n", [256, 2000])
def test_wilson_intervals_cover_at_their_nominal_rate(n: int) -> None:
    # Exact coverage, summed over the binomial distribution (no sampling): averaged over PDs of
    # 2% to 98% it is 95% within a point, and it never falls far below (Brown, Cai and
    # DasGupta 2001, Fig. 4: Wilson's dips are narrow and stay above ~90% at these n).
    ks = np.arange(n + 1)
    intervals = np.array([wilson_interval(int(k), n) for k in ks])
    coverages = []
    for p in np.linspace(0.02, 0.98, 97):
        inside = (intervals[:, 0] <= p) & (p <= intervals[:, 1])
        coverages.append(float(binom.pmf(ks[inside], n, p).sum()))
    assert np.mean(coverages) == pytest.approx(0.95, abs=0.01)
    assert min(coverages) > 0.90


def test_a_pd_interval_across_a_boundary_names_both_ratings() -> None:
    years = 5.0
    bbb, bb = rating_default_rate("BBB", years), rating_default_rate("BB", years)
    boundary = math.sqrt(bbb * bb)  # ratings meet at the geometric midpoint
    label = implied_rating_range(boundary * 0.8, boundary * 1.25, years)
    assert label == "BBB/BB"
    assert implied_rating_range(boundary * 1.25, boundary * 0.8, years) == "BBB/BB"  # best first
    assert implied_rating_range(bbb * 0.99, bbb * 1.01, years) == implied_rating(bbb, years)
    # a range reaching the worst category, whose name holds a slash, stays unambiguous
    assert implied_rating_range(0.2, 0.9, years) == "B to CCC/C"


def test_the_riskless_root_is_found_far_outside_the_first_bracket() -> None:
    # an issue price near 0 needs an add-on of about -2.2 (-22,000 bp) on a 5-year annuity
    assert _secant_root(lambda x: 0.45 * (x + 2.2), -0.5, 0.5) == pytest.approx(-2.2, abs=XTOL)
    assert _secant_root(lambda x: x - 40.0, -0.5, 0.5) == pytest.approx(40.0, abs=XTOL)
    assert _secant_root(lambda x: x + 70.0, -0.5, 0.5) is None  # beyond the widest, +-64


def test_no_root_gives_none_and_the_reason() -> None:
    flat = solve_spreads(lambda x: 0.5, lambda x: 0.5, 1.0)
    assert flat.riskless_add_on is None and flat.fair_spread is None
    assert flat.note is not None and flat.note.startswith("no fair spread exists")
    # the promise can be priced, but no coupon makes the risky flows worth the price
    capped = solve_spreads(lambda x: 1.0 + 3.0 * x, lambda x: 0.4 + 0.1 * math.tanh(x), 1.0)
    assert capped.riskless_add_on == pytest.approx(0.0, abs=XTOL)
    assert capped.fair_spread is None and capped.market_spread is not None
    assert capped.note is not None and "no fair spread exists" in capped.note


def test_a_fair_spread_beyond_the_old_3000_bp_bracket_is_solved() -> None:
    solution = solve_spreads(lambda x: 1.0 + 3.0 * x, lambda x: 0.2 + 3.0 * x, 1.0)
    assert solution.fair_spread == pytest.approx(0.8 / 3.0, abs=2 * XTOL)
    assert solution.risky_slope == pytest.approx(3.0, rel=1e-6)
    assert solution.riskless_slope == pytest.approx(3.0, rel=1e-6)


def test_delta_method_of_a_linear_pv_is_the_mean_error_over_the_slope() -> None:
    # risky PV_i(x) = a_i + 2 x: the solved x* = (1 - mean a) / 2, so SE(x*) = sd(a)/sqrt(n)/2;
    # the promised PV 1 + 4 x is the same on every path, adding no error
    rng = np.random.default_rng(9)
    a = rng.normal(0.9, 0.3, 5000)
    solution = solve_spreads(lambda x: 1.0 + 4.0 * x, lambda x: float(a.mean()) + 2.0 * x, 1.0)
    x0, x1 = solution.riskless_add_on, solution.risky_add_on
    assert x0 is not None and x1 is not None

    def blocks() -> list[np.ndarray]:
        parts = [a[lo : lo + 999] for lo in range(0, a.size, 999)]
        return [
            fair_spread_terms(solution, part + 2.0 * x1, np.full(part.size, 1.0 + 4.0 * x0))
            for part in parts
        ]

    with_se = with_standard_error(solution, blocks)
    expected = np.std(a, ddof=1) / math.sqrt(a.size) / 2.0
    assert with_se.fair_spread_se == pytest.approx(expected, rel=1e-6)  # 1e-12 rounding only


def test_path_counts_follow_the_square_root_law_in_whole_granules() -> None:
    # SE 30 bp at 1,000 paths, target 10: 9,000 paths x 1.1 margin = 9,900 -> 9,984 (39 x 256)
    assert next_path_count(1000, 30.0, 10.0, 1_000_000) == 9_984
    assert next_path_count(1000, 10.5, 10.0, 1_000_000) == 1280  # at least one more granule
    assert next_path_count(1000, 300.0, 1.0, 50_000) == 50_000  # capped
