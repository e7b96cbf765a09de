"""The book's company graph: links from deal specs, topological order, cycles refused by name."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gpucredit.book.graph import company_graph
from gpucredit.config.entities import Entity, find_cycle
from gpucredit.config.spec import DealSpec
from tests.conftest import hand_deal_data, make_deal


def _deal(name: str, borrower: str, tenant: str, **extra: Any) -> DealSpec:
    data = hand_deal_data()
    contract = copy.deepcopy(data["contracts"][0])
    contract["tenant"] = tenant
    return make_deal(data, name=name, borrower={"name": borrower}, contracts=[contract], **extra)


def _entity(name: str, parent: str | None) -> Entity:
    return Entity(name, "neo_cloud", "B", "", None, None, "", None, "", parent, "")


def test_a_chain_is_ordered_from_the_first_payer() -> None:
    # AI lab -> neo-cloud (tenant of the miner's hosting SPV) -> hosting SPV; the neo-cloud
    # is also the parent of its own GPU SPV, whose tenant is the AI lab.
    hosting = _deal("hosting", "Host SPV", "Neo")
    gpu = _deal("gpu", "Neo SPV", "Lab", parent={"name": "Neo", "annual_pd_pct": 3.0})
    lab = _deal("lab-deal", "Neo", "Lab")
    g = company_graph([hosting, gpu, lab], companies={})
    order = {name: i for i, name in enumerate(g.companies)}
    assert order["Lab"] < order["Neo"] < order["Host SPV"]
    assert order["Neo"] < order["Neo SPV"]
    assert g.reached_from("Neo") == tuple(c for c in g.companies if c in {"Host SPV", "Neo SPV"})
    assert {(x.source, x.target, x.relation) for x in g.links} == {
        ("Neo", "Host SPV", "tenant_of"),
        ("Lab", "Neo SPV", "tenant_of"),
        ("Neo", "Neo SPV", "parent_of"),
        ("Lab", "Neo", "tenant_of"),
    }


def test_registry_parents_join_the_graph() -> None:
    companies = {"SPV": _entity("SPV", "Group"), "Group": _entity("Group", None)}
    g = company_graph([_deal("d", "SPV", "Lab")], companies=companies)
    assert ("Group", "SPV", "parent_of", "registry") in {
        (x.source, x.target, x.relation, x.deal) for x in g.links
    }
    assert g.companies.index("Group") < g.companies.index("SPV")


def test_a_cycle_is_refused_by_name() -> None:
    # X rents from Y and Y rents from X: each one's default would reach itself.
    one, two = _deal("one", "Y", "X"), _deal("two", "X", "Y")
    with pytest.raises(ValueError, match=r"cycle .*: X -tenant_of-> Y -tenant_of-> X"):
        company_graph([one, two], companies={})


def test_find_cycle_on_a_general_graph() -> None:
    assert find_cycle({"A": ["B", "C"], "B": ["D"], "C": ["D"], "D": []}) is None
    assert find_cycle({"A": ["B"], "B": ["C", "D"], "D": ["B"]}) == ["B", "D", "B"]
    assert find_cycle({"A": ["A"]}) == ["A", "A"]
