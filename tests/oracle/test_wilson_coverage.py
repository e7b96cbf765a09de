"""Wilson intervals cover the true PD at their nominal rate, on a deal whose PD is known in
closed form.

The deal: the hand deal's 100 GPUs on one take-or-pay contract with an annual PD of 8%, every
factor's volatility and the regime switching off (the tight regime throughout, so the tenant's
hazard is never scaled), a 36-month bullet, and 36 months of re-leasing downtime: the loan
defaults exactly when the tenant does, in the same month, so its PD is
``1 - exp(-36 h)`` with ``h = -log(0.92) / 12``, i.e. ``1 - 0.92^3``.
"""

from __future__ import annotations

import pytest

import gpucredit
from tests.oracle.test_closed_forms import _zero_risk_params, tenant_only_deal

TRUE_PD = 1.0 - 0.92**3


@pytest.mark.slow
def test_wilson_intervals_cover_the_closed_form_pd_at_their_nominal_rate() -> None:
    deal = tenant_only_deal()
    params = _zero_risk_params(deal)
    covered, runs, estimates = 0, 200, []
    for seed in range(runs):
        m = gpucredit.simulate(
            deal,
            n_paths=256,
            seed=seed,
            keep_paths=0,
            solve_fair_spread=False,
            n_workers=1,
            params=params,
        ).metrics
        covered += m.pd_ci_low <= TRUE_PD <= m.pd_ci_high
        estimates.append(m.pd)
    # the closed form holds: the mean of 200 x 256 independent paths is within 4 SEs (0.36 pt)
    mean = sum(estimates) / runs
    assert mean == pytest.approx(TRUE_PD, abs=4 * (TRUE_PD * (1 - TRUE_PD) / (runs * 256)) ** 0.5)
    # coverage ~ Binomial(200, 0.95), SD 1.5 points; the bounds are 3 SDs around 95% (the
    # Wilson interval's exact coverage at n = 256 and p = 0.22 is within a point of 95%)
    assert 0.905 <= covered / runs <= 0.995
