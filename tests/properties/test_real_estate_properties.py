"""Real-estate recoveries add up, and more real estate never raises a facility's LGD."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.credit.allocation import allocate_recovery
from gpucredit.debt.facilities import FacilityTerms, StructureTerms, default_steps
from tests.conftest import plain_loan_terms

N = 64  # paths
# sums of USD 100s over a few facilities: float rounding only
ATOL = 1e-9


def _structure(seniority: list[int], secured: list[bool]) -> StructureTerms:
    facs = []
    for k, (rank, sec) in enumerate(zip(seniority, secured, strict=True)):
        loan = plain_loan_terms(f"f{k}", 100.0, 12, 0.08)
        facs.append(FacilityTerms(loan=loan, seniority=rank, pool=(0,) if sec else (), secured=sec))
    return StructureTerms(tuple(facs), default_steps(tuple(facs)))


@settings(max_examples=25, deadline=None)
@given(
    n_fac=st.integers(1, 3),
    ranks=st.lists(st.integers(1, 2), min_size=3, max_size=3),
    secured=st.lists(st.booleans(), min_size=3, max_size=3),
    secures=st.lists(st.integers(0, 2), min_size=1, max_size=3, unique=True),
    seed=st.integers(0, 2**16),
    more=st.sampled_from([0.0, 10.0, 200.0]),
)
def test_real_estate_recoveries_add_up_and_more_never_raises_lgd(
    n_fac: int,
    ranks: list[int],
    secured: list[bool],
    secures: list[int],
    seed: int,
    more: float,
) -> None:
    structure = _structure(ranks[:n_fac], secured[:n_fac])
    pledged = tuple(k for k in secures if k < n_fac) or (0,)
    rng = np.random.default_rng(seed)
    claims = [rng.uniform(0.0, 150.0, N) for _ in range(n_fac)]
    reserves = [rng.uniform(0.0, 10.0, N) for _ in range(n_fac)]
    sale = rng.uniform(0.0, 120.0, (N, 1))
    estate = rng.uniform(0.0, 20.0, N)
    other = rng.uniform(0.0, 30.0, N)
    building = rng.uniform(0.0, 100.0, N)

    def run(proceeds: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        took = [np.zeros(N) for _ in range(n_fac)]
        got = allocate_recovery(
            structure, claims, reserves, sale, estate, other, [(proceeds, pledged)], took
        )
        return got, took

    got, took = run(building)
    total_got = sum(got, np.zeros(N))
    available = sale[:, 0] + estate + building + sum(reserves, np.zeros(N))
    for k in range(n_fac):
        assert np.all(got[k] <= claims[k] + ATOL)  # never more than the claim
        assert np.all(took[k] >= -ATOL) and np.all(took[k] <= got[k] + ATOL)
        if k not in pledged:
            np.testing.assert_allclose(took[k], 0.0, atol=ATOL)
    # what the facilities take never exceeds the cash there is
    assert np.all(total_got <= available + ATOL)
    # the building pays no more than it fetches
    assert np.all(sum(took, np.zeros(N)) <= building + ATOL)
    more_got, _ = run(building + more)
    for k in range(n_fac):
        assert np.all(more_got[k] >= got[k] - ATOL)  # LGD = 1 - got / claim never rises
