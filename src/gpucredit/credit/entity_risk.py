"""A named company's risk under the two measures: its real-world (P) PD and, where it has a
CDS, the market-implied (Q) hazard, with their ratio (``docs/capital_structures.md``, "Parents,
sponsors, servicers and the entity registry").

* P: the one-year PD of the company's rating (S&P table, ``market.ratings``), or its labelled
  estimate (``config.entities``); read through the cycle.
* Q: a CDS spread ``s`` (decimal a year) at recovery ``R`` implies the constant hazard
  ``lambda_Q = s / (1 - R)`` (the credit triangle; ``R`` = 40%, REFERENCES.md: 643 bp ->
  10.7% a year). It is a Q quantity and never used as a P PD.
* A company with a CDS but no rating and no estimate gets a P PD from its Q hazard divided by
  the project's Q/P ratio of its rating-equivalent category: the shipped market spread of the
  category over ``1 - R`` (``credit.pricing.market_spread_curve``, the quotes the pricing
  measure is calibrated to) over the category's one-year P hazard. The result is labelled as
  derived.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from gpucredit.config.entities import Entity, group_risk, registry
from gpucredit.config.spec import DealSpec
from gpucredit.credit.pricing import GENERIC_RECOVERY, market_spread_curve
from gpucredit.market.ratings import annual_default_rate

__all__ = [
    "CDS_RECOVERY",
    "deal_entities",
    "entity_record",
    "p_pd_from_cds",
    "q_hazard_from_cds",
    "q_over_p_ratio",
]

#: Recovery behind a CDS-implied hazard: 40%, the market convention REFERENCES.md uses for
#: CoreWeave's CDS (and the generic bond's recovery of the pricing measure).
CDS_RECOVERY = GENERIC_RECOVERY


def q_hazard_from_cds(spread_bp: float, recovery: float = CDS_RECOVERY) -> float:
    """The market-implied (Q) default hazard of a CDS spread, decimal a year:
    ``lambda = s / (1 - R)`` with ``s`` in decimal (``spread_bp / 1e4``)."""
    if not spread_bp >= 0.0 or not 0.0 <= recovery < 1.0:
        raise ValueError(f"spread {spread_bp!r} bp, recovery {recovery!r}: expected >= 0, [0, 1)")
    return spread_bp / 1e4 / (1.0 - recovery)


def _p_hazard(annual_pd: float) -> float:
    """The constant yearly hazard of a one-year PD, ``-log(1 - pd)``."""
    return -math.log1p(-annual_pd)


def q_over_p_ratio(category: str, as_of: dt.date, recovery: float = CDS_RECOVERY) -> float:
    """The market's Q hazard over the P hazard of a rating category on ``as_of``: the shipped
    option-adjusted spread of the category over ``1 - R``, over ``-log(1 - PD_1y)``.

    Raises
    ------
    ValueError
        No market spread of the category is shipped on or before ``as_of``, or its P PD is 0.
    """
    quotes = {q.rating: q for q in market_spread_curve(as_of)}
    if category not in quotes:
        raise ValueError(
            f"no market spread of rating '{category}' on or before {as_of} "
            f"(shipped: {', '.join(quotes) or 'none'})"
        )
    p = _p_hazard(annual_default_rate(category))
    if p <= 0.0:
        raise ValueError(f"rating '{category}' has a zero one-year PD: no Q/P ratio")
    return quotes[category].spread / (1.0 - recovery) / p


def p_pd_from_cds(spread_bp: float, category: str, as_of: dt.date) -> float:
    """A P one-year PD derived from a CDS (an unrated company's only evidence): the Q hazard
    divided by the Q/P ratio of ``category`` (its rating-equivalent), as a one-year PD."""
    hazard = q_hazard_from_cds(spread_bp) / q_over_p_ratio(category, as_of)
    return -math.expm1(-hazard)


def _category(rating: str) -> str:
    letters = rating.upper().rstrip("+-")
    return "CCC" if letters in ("CC", "C", "CCC") else letters


def entity_record(
    name: str, rating: str | None, annual_pd_pct: float | None, as_of: dt.date
) -> dict[str, Any]:
    """A company of a deal as the report shows it (JSON-ready): its P one-year PD and where it
    comes from ('registry' when the deal's risk is the registry's, else 'typed'), and its CDS,
    Q hazard and Q/P hazard ratio where the registry has a CDS dated on or before ``as_of``."""
    companies = registry()
    reg_rating, reg_pd, chain = group_risk(name, companies)
    from_registry = bool(chain) and (rating, annual_pd_pct) == (
        None if reg_rating is None else _category(reg_rating),
        reg_pd,
    )
    p = annual_default_rate(rating) if rating is not None else (annual_pd_pct or 0.0) / 100.0
    entity: Entity | None = companies.get(name)
    record: dict[str, Any] = {
        "name": name,
        "pd_source": "registry" if from_registry else "typed",
        "rating": (reg_rating if from_registry and reg_rating is not None else rating),
        "annual_pd_p": p,
        "registry_chain": list(chain) if from_registry else [],
        "cds_5y_bp": None,
        "cds_date": None,
        "q_hazard_per_year": None,
        "q_over_p_hazard": None,
    }
    cds, day = (None, None) if entity is None else (entity.cds_5y_bp, entity.cds_date)
    if cds is not None and day is not None and day <= as_of:
        q = q_hazard_from_cds(cds)
        record["cds_5y_bp"] = cds
        record["cds_date"] = day.isoformat()
        record["q_hazard_per_year"] = q
        record["q_over_p_hazard"] = q / _p_hazard(p) if p > 0.0 else None
    return record


def deal_entities(deal: DealSpec) -> tuple[dict[str, Any], ...]:
    """Every company of ``deal`` whose default is drawn, once each (tenants, guarantors, the
    parent), as ``credit.entity_risk.entity_record`` gives it."""
    seen: dict[str, dict[str, Any]] = {}
    parties: list[tuple[str, str | None, float | None]] = []
    for c in deal.contracts:
        parties.append((c.tenant, c.rating, c.annual_pd_pct))
        if c.guarantor is not None:
            g = c.guarantor
            parties.append((g.name, g.rating, g.annual_pd_pct))
    if deal.parent is not None:
        p = deal.parent
        parties.append((p.name, p.rating, p.annual_pd_pct))
    for name, rating, pd_pct in parties:
        if name not in seen:
            seen[name] = entity_record(name, rating, pd_pct, deal.as_of)
    return tuple(seen.values())
