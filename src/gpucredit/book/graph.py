"""The book's company graph: who pays or supports whom, across the deals of a book.

A link ``source -> target`` means that ``source``'s default reaches ``target`` (issue 14's
transmission runs along these links, in topological order within a month):

* ``tenant_of``: a contract's tenant pays the borrower (a GPU deal's contracts, a miner's
  hosting leases and its GPU fleet's contracts);
* ``guaranteed_by``: a guarantor backstops a tenant's rent to the borrower (the link runs from
  the guarantor to the borrower, whose backstop it removes);
* ``parent_of``: a deal's parent or sponsor, and every registry parent up the chain
  (``config.entities``), reaches its subsidiary;
* ``servicer_of``: a parent that operates the fleet (``ParentSpec.servicer``);
* ``hosted_by``: a company hosted in a miner's halls pays its host: the same link as a
  hosting lease's ``tenant_of``, recorded under this name for a miner's leases.

Every company is one node wherever it is named, so the same default time serves every deal
that names it. The graph must be acyclic: ``company_graph`` refuses a cycle, naming it, with
the one cycle search of the package (``config.entities.find_cycle``, which also refuses a
cycle of registry parents).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np

from gpucredit._typing import BoolArray, Int64Array
from gpucredit.config.entities import Entity, find_cycle, registry
from gpucredit.config.miner import MinerSpec
from gpucredit.config.spec import ContractSpec, DealSpec

__all__ = ["Chain", "CompanyGraph", "Link", "Relation", "company_graph", "transmission_chains"]

#: How a company's default reaches another.
Relation = Literal["tenant_of", "guaranteed_by", "parent_of", "servicer_of", "hosted_by"]


@dataclass(frozen=True, slots=True)
class Link:
    """``source``'s default reaches ``target`` through ``relation``, as deal ``deal`` writes it
    (``"registry"`` for a registry parent)."""

    source: str
    target: str
    relation: Relation
    deal: str


@dataclass(frozen=True, slots=True)
class CompanyGraph:
    """The companies of a book in topological order (a company before every company its
    default reaches) and the links between them (each once per deal and relation)."""

    companies: tuple[str, ...]
    links: tuple[Link, ...]

    def reached_from(self, name: str) -> tuple[str, ...]:
        """The companies ``name``'s default reaches directly, in the graph's order."""
        targets = {link.target for link in self.links if link.source == name}
        return tuple(c for c in self.companies if c in targets)


def _contract_links(contracts: Sequence[ContractSpec], borrower: str, deal: str) -> list[Link]:
    out: list[Link] = []
    for c in contracts:
        out.append(Link(c.tenant, borrower, "tenant_of", deal))
        if c.guarantor is not None:
            out.append(Link(c.guarantor.name, borrower, "guaranteed_by", deal))
    return out


def _deal_links(deal: DealSpec | MinerSpec) -> list[Link]:
    if isinstance(deal, DealSpec):
        borrower = deal.borrower.name
        links = _contract_links(deal.contracts, borrower, deal.name)
        if deal.parent is not None:
            links.append(Link(deal.parent.name, borrower, "parent_of", deal.name))
            if deal.parent.servicer is not None:
                links.append(Link(deal.parent.name, borrower, "servicer_of", deal.name))
        return links
    borrower = deal.borrower.name if deal.borrower is not None else deal.name
    links = []
    for lease in deal.hosting.leases if deal.hosting is not None else []:
        links.append(Link(lease.tenant, borrower, "hosted_by", deal.name))
        if lease.guarantor is not None:
            links.append(Link(lease.guarantor.name, borrower, "guaranteed_by", deal.name))
    if deal.gpu_fleet is not None:
        links.extend(_contract_links(deal.gpu_fleet.contracts, borrower, deal.name))
    return links


def company_graph(
    deals: Sequence[DealSpec | MinerSpec], companies: Mapping[str, Entity] | None = None
) -> CompanyGraph:
    """The company graph of the deals of a book.

    Parameters
    ----------
    deals : sequence of DealSpec or MinerSpec
        The book's deals, validated.
    companies : mapping of str to Entity, optional
        The registry whose ``parent`` links join the graph (default: the shipped one,
        ``data/entities.csv``); it must itself be free of cycles.

    Returns
    -------
    CompanyGraph
        Companies in topological order (ties in the order first named), and the links.

    Raises
    ------
    ValueError
        A cycle, named: ``a cycle in the book's company graph: A -tenant_of-> B -...-> A``.
    """
    known = registry() if companies is None else companies
    links: list[Link] = []
    for deal in deals:
        for link in _deal_links(deal):
            if link not in links:
                links.append(link)
    order: dict[str, None] = {}
    for link in links:
        order.setdefault(link.source)
        order.setdefault(link.target)
    for deal in deals:
        order.setdefault(deal.borrower.name if deal.borrower is not None else deal.name)
    # Registry parents up every chain (a subsidiary named in a deal reaches its group).
    for name in list(order):
        child = name
        while child in known and known[child].parent is not None:
            parent = known[child].parent
            assert parent is not None
            link = Link(parent, child, "parent_of", "registry")
            if link in links:
                break
            links.append(link)
            order.setdefault(parent)
            child = parent
    out: dict[str, list[str]] = {name: [] for name in order}
    for link in links:
        if link.target not in out[link.source]:
            out[link.source].append(link.target)
    cycle = find_cycle(out)
    if cycle is not None:
        steps = [cycle[0]]
        for a, b in pairwise(cycle):
            relation = next(x.relation for x in links if x.source == a and x.target == b)
            steps.append(f"-{relation}-> {b}")
        raise ValueError(f"a cycle in the book's company graph: {' '.join(steps)}")
    return CompanyGraph(companies=_topological(out), links=tuple(links))


def _topological(out: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """Kahn's order of an acyclic graph; among the companies ready at once, the first named."""
    indegree = dict.fromkeys(out, 0)
    for targets in out.values():
        for t in targets:
            indegree[t] += 1
    rank = {name: i for i, name in enumerate(out)}
    ready = [name for name, d in indegree.items() if d == 0]
    result: list[str] = []
    while ready:
        ready.sort(key=rank.__getitem__)
        name = ready.pop(0)
        result.append(name)
        for t in out[name]:
            indegree[t] -= 1
            if indegree[t] == 0:
                ready.append(t)
    return tuple(result)


@dataclass(frozen=True, slots=True)
class Chain:
    """A first default and a later default it led to, with how often.

    Attributes
    ----------
    first, later : str
        The company whose default started the chain and one it reached.
    paths : int
        Paths on which ``first`` defaulted first and the chain reached ``later``.
    share : float
        ``paths`` over all paths, decimal.
    """

    first: str
    later: str
    paths: int
    share: float


def transmission_chains(graph: CompanyGraph, default_month: Int64Array) -> tuple[Chain, ...]:
    """Which first defaults led to which later ones, and how often (issue 14's "transmission
    chains" table).

    On a path, a defaulted company is a *first* default when no company linked to it
    (``source -> it``) defaulted in the same month or before. A first default ``f`` *led to*
    ``c`` when a chain of links ``f -> x -> ... -> c`` joins companies that all defaulted, in
    months that never go down along the chain. Vectorised over paths; a loop over the graph's
    topological order.

    Parameters
    ----------
    graph : CompanyGraph
        The book's companies and links.
    default_month : ndarray of int, shape (path, company)
        Each company's default month (0 = the first), in ``graph.companies``' order; negative
        where it did not default.

    Returns
    -------
    tuple of Chain
        Every pair seen on at least one path, the most frequent first (ties by name).
    """
    m = np.asarray(default_month)
    n_comp = len(graph.companies)
    if m.ndim != 2 or m.shape[1] != n_comp or not np.issubdtype(m.dtype, np.integer):
        raise ValueError(f"default_month must be integers of shape (path, {n_comp}), got {m.shape}")
    n = m.shape[0]
    col = {name: i for i, name in enumerate(graph.companies)}
    sources: dict[int, list[int]] = {i: [] for i in range(n_comp)}
    for link in graph.links:
        s_i, t_i = col[link.source], col[link.target]
        if s_i not in sources[t_i]:
            sources[t_i].append(s_i)
    defaulted = m >= 0
    first = defaulted.copy()
    for c in range(n_comp):
        for x in sources[c]:
            first[:, c] &= ~(defaulted[:, x] & (m[:, x] <= m[:, c]))
    out: list[Chain] = []
    for f in range(n_comp):
        if not first[:, f].any():
            continue
        # reach[:, c]: on each path, f's default travelled to c (c itself defaulted).
        reach: dict[int, BoolArray] = {f: first[:, f]}
        for c in range(n_comp):  # topological order: every source of c comes before it
            if c == f:
                continue
            hit = np.zeros(n, dtype=np.bool_)
            for x in sources[c]:
                if x in reach:
                    hit |= reach[x] & (m[:, x] <= m[:, c])
            hit &= defaulted[:, c]
            if hit.any():
                reach[c] = hit
        for c, hit in reach.items():
            if c != f:
                count = int(hit.sum())
                out.append(Chain(graph.companies[f], graph.companies[c], count, count / n))
    return tuple(sorted(out, key=lambda ch: (-ch.paths, ch.first, ch.later)))
