"""The book's company graph: links from deal specs, topological order, cycles refused by name."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from gpucredit.book.graph import Chain, company_graph, transmission_chains
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


def test_transmission_chains_count_first_defaults_and_where_they_travelled() -> None:
    # Lab -> Neo -> Host SPV, and Neo -> Neo SPV (parent), Lab -> Neo SPV (tenant).
    hosting = _deal("hosting", "Host SPV", "Neo")
    gpu = _deal("gpu", "Neo SPV", "Lab", parent={"name": "Neo", "annual_pd_pct": 3.0})
    lab = _deal("lab-deal", "Neo", "Lab")
    g = company_graph([hosting, gpu, lab], companies={})
    col = {name: i for i, name in enumerate(g.companies)}
    never = -1
    rows = []
    for lab_m, neo_m, host_m, spv_m in [
        (2, 3, 4, never),  # Lab first, reaches Neo then Host SPV
        (never, 5, 5, 9),  # Neo first (same month as its host), reaches both of its SPVs
        (7, 3, 8, never),  # Neo first; Lab defaults later and reaches nobody new
        (never, never, 1, never),  # Host SPV alone: a first default that reaches nobody
    ]:
        row = [never] * len(g.companies)
        row[col["Lab"]], row[col["Neo"]] = lab_m, neo_m
        row[col["Host SPV"]], row[col["Neo SPV"]] = host_m, spv_m
        rows.append(row)
    chains = transmission_chains(g, np.array(rows, dtype=np.int64))
    got = {(c.first, c.later): c.paths for c in chains}
    assert got == {
        ("Lab", "Neo"): 1,
        ("Lab", "Host SPV"): 1,
        ("Neo", "Host SPV"): 2,
        ("Neo", "Neo SPV"): 1,
    }
    assert chains[0] == Chain("Neo", "Host SPV", 2, 0.5)
