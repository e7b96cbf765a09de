"""The shipped registry of named companies (``data/entities.csv``) and how a deal names them.

A deal refers to a tenant, a guarantor or its parent by name. When the name is in the registry
and the deal gives no ``rating`` or ``annual_pd_pct`` for it, the registry's risk is used: the
company's S&P rating where it has one, else its labelled estimate, else (``parent`` column) its
group's, walking up the chain of parents. A rating or PD the user typed always wins. A deal's
own ``entities`` section adds companies or overrides registry rows by name.

The registry's CDS columns are market (Q) quantities: they are never read as a real-world PD
here. ``credit.entity_risk`` turns them into a Q hazard and, for a company with no rating and no
estimate, into a P PD through the project's calibrated Q/P ratio.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = [
    "REGISTRY_FILE",
    "SHIPPED_FLEETS",
    "Entity",
    "close_names",
    "find_cycle",
    "find_parent_cycle",
    "group_risk",
    "load_registry",
    "registry",
]

#: The shipped registry, under ``gpucredit/data``.
REGISTRY_FILE = "data/entities.csv"

#: Registry companies whose own GPU fleet the package ships (``credit.parent_fleet``), and the
#: file under ``gpucredit/data``: Epoch AI's estimates of the GPUs the company added per
#: quarter by chip type (MIT; data/README.md).
SHIPPED_FLEETS: dict[str, str] = {"CoreWeave": "coreweave_gpu_additions_quarterly_epoch.csv"}


@dataclass(frozen=True, slots=True)
class Entity:
    """One company of the registry.

    Attributes
    ----------
    name, kind : str
        ``kind``: hyperscaler, ai_lab, neo_cloud, miner or host.
    rating : str or None
        S&P-style rating (``BB+``), where one is public; ``rating_source`` names it.
    cds_5y_bp : float or None
        Five-year CDS spread, basis points a year (a Q quantity), dated ``cds_date``.
    annual_pd_pct : float or None
        A labelled estimate of the one-year real-world PD, percent, for an unrated company;
        ``pd_reasoning`` gives its reasoning.
    parent : str or None
        The group parent whose risk a company with neither a rating nor an estimate takes.
    """

    name: str
    kind: str
    rating: str | None
    rating_source: str
    cds_5y_bp: float | None
    cds_date: dt.date | None
    cds_source: str
    annual_pd_pct: float | None
    pd_reasoning: str
    parent: str | None
    note: str


def _opt(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def load_registry(text: str) -> dict[str, Entity]:
    """The companies of a registry CSV (the columns of ``data/entities.csv``), by name.

    Raises
    ------
    ValueError
        A name twice, a parent that is not in the registry, or a cycle of parents.
    """
    out: dict[str, Entity] = {}
    for row in csv.DictReader(text.splitlines()):
        name = row["name"].strip()
        if name in out:
            raise ValueError(f"entity registry: '{name}' listed twice")
        cds = _opt(row["cds_5y_bp"])
        pd_pct = _opt(row["annual_pd_pct"])
        day = _opt(row["cds_date"])
        out[name] = Entity(
            name=name,
            kind=row["kind"].strip(),
            rating=_opt(row["rating"]),
            rating_source=row["rating_source"].strip(),
            cds_5y_bp=float(cds) if cds is not None else None,
            cds_date=dt.date.fromisoformat(day) if day is not None else None,
            cds_source=row["cds_source"].strip(),
            annual_pd_pct=float(pd_pct) if pd_pct is not None else None,
            pd_reasoning=row["pd_reasoning"].strip(),
            parent=_opt(row["parent"]),
            note=row["note"].strip(),
        )
    for e in out.values():
        if e.parent is not None and e.parent not in out:
            raise ValueError(f"entity registry: parent '{e.parent}' of '{e.name}' is not listed")
    cycle = find_parent_cycle({e.name: e.parent for e in out.values()})
    if cycle is not None:
        raise ValueError(f"entity registry: a cycle of parents {' -> '.join(cycle)}")
    return out


@cache
def registry() -> dict[str, Entity]:
    """The shipped registry (``data/entities.csv``), by name."""
    text = resources.files("gpucredit").joinpath(REGISTRY_FILE).read_text(encoding="utf-8")
    return load_registry(text)


def find_parent_cycle(parents: Mapping[str, str | None]) -> list[str] | None:
    """The first cycle of the parent links, as names with the first repeated at the end
    (``['A', 'B', 'A']``), or None when the links form trees."""
    return find_cycle({name: () if up is None else (up,) for name, up in parents.items()})


def find_cycle(links: Mapping[str, Sequence[str]]) -> list[str] | None:
    """The first cycle of a directed graph, as names with the first repeated at the end
    (``['A', 'B', 'A']``), or None when it has none.

    ``links`` maps a name to the names its links point to; a name that is not a key has no
    links. The search is depth-first from each key in order, following links in order, so the
    cycle reported is the first one met from the first key that reaches one.
    """
    done: set[str] = set()
    for start in links:
        if start in done:
            continue
        path: list[str] = [start]
        on_path: set[str] = {start}
        stack: list[Iterator[str]] = [iter(links[start])]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                continue
            if nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            if nxt in done or nxt not in links:
                continue
            path.append(nxt)
            on_path.add(nxt)
            stack.append(iter(links[nxt]))
    return None


def group_risk(
    name: str, companies: Mapping[str, Entity]
) -> tuple[str | None, float | None, tuple[str, ...]]:
    """The risk a company takes from the registry: ``(rating, annual_pd_pct, chain)``.

    Its own rating, else its own estimate, else its parent's, up the chain of parents;
    ``chain`` is the names walked (the company first). Both None when no company of the chain
    has either (the caller then reports the name as unrated). ``companies`` must be free of
    cycles (``find_parent_cycle``).
    """
    chain: list[str] = []
    current: str | None = name
    while current is not None and current in companies:
        e = companies[current]
        chain.append(current)
        if e.rating is not None or e.annual_pd_pct is not None:
            return e.rating, e.annual_pd_pct, tuple(chain)
        current = e.parent
    return None, None, tuple(chain)


def close_names(name: str, names: list[str]) -> list[str]:
    """Up to three registry names close to ``name`` (for an error message)."""
    lower = {n.lower(): n for n in names}
    hits = difflib.get_close_matches(name.lower(), list(lower), n=3, cutoff=0.5)
    key = name.lower()
    contains = [n for n in names if len(key) >= 3 and (key in n.lower() or n.lower() in key)]
    return list(dict.fromkeys([*contains, *(lower[h] for h in hits)]))[:3]
