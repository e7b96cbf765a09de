"""Properties of the book's company graph: an acyclic book is ordered so that every link
points forward; adding a link that closes a loop is refused, naming the cycle."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpucredit.book.graph import company_graph
from gpucredit.config.spec import DealSpec
from tests.conftest import hand_deal_data, make_deal

NAMES = [f"Co{i}" for i in range(6)]


def _deal(i: int, tenant: str, borrower: str) -> DealSpec:
    data = hand_deal_data()
    contract = copy.deepcopy(data["contracts"][0])
    contract["tenant"] = tenant
    return make_deal(data, name=f"d{i}", borrower={"name": borrower}, contracts=[contract])


@st.composite
def dags(draw: st.DrawFn) -> list[tuple[int, int]]:
    """Links ``a -> b`` with ``a`` before ``b`` in a random order of the names: acyclic."""
    pairs = [(a, b) for a in range(len(NAMES)) for b in range(len(NAMES)) if a < b]
    chosen = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=7, unique=True))
    perm = draw(st.permutations(range(len(NAMES))))
    return [(perm[a], perm[b]) for a, b in chosen]


@settings(max_examples=15, deadline=None)
@given(dags())
def test_every_link_points_forward_and_a_back_link_is_refused(links: list[tuple[int, int]]) -> None:
    deals = [_deal(i, NAMES[a], NAMES[b]) for i, (a, b) in enumerate(links)]
    graph = company_graph(deals, companies={})
    rank = {name: i for i, name in enumerate(graph.companies)}
    assert all(rank[x.source] < rank[x.target] for x in graph.links)
    a, b = links[0]
    back = _deal(len(links), NAMES[b], NAMES[a])  # b pays a, while a already pays b
    with pytest.raises(ValueError, match="a cycle in the book's company graph") as err:
        company_graph([*deals, back], companies={})
    assert NAMES[a] in str(err.value) and NAMES[b] in str(err.value)
