"""A growing borrower written in the engine's own primitives (issue 13 item 8).

``expand_growth`` turns a deal's ``growth`` section into what every other deal is made of:

- each capex item becomes a fleet cohort delivered on its date (``CohortSpec``, the delivery
  mechanism construction already uses);
- ``debt_share_pct`` of its cost is drawn on that date from one delayed-draw term loan
  (``DdtlSpec`` with ``draws``, secured by the new cohorts); the rest is the sponsor's equity,
  which costs the deal no cash;
- ``win_rate_pct`` of its units are let for ``term_months`` at the path's rent index in the
  month of signing (``ContractSpec.rate_vs_market_pct``); the rest are merchant;
- the plan's covenants join the covenants of the facility they protect.

The expanded deal has no ``growth`` section; ``mode: run_off`` expands to the deal without the
plan, so the same file gives both figures.
"""

from __future__ import annotations

import math
from typing import Any

from gpucredit.config.spec import DealSpec, GrowthSpec, add_months

__all__ = ["expand_growth", "growth_cohort_names"]


def growth_cohort_names(deal: DealSpec, growth: GrowthSpec) -> list[str]:
    """The new cohorts' names, ``growth-<n>-<generation>``, made unique against the fleet."""
    taken = {c.name for c in deal.fleet}
    names = []
    for j, item in enumerate(growth.capex_plan):
        name = f"growth-{j + 1}-{item.generation.lower()}"
        while name in taken:
            name += "'"
        taken.add(name)
        names.append(name)
    return names


def _month_of(deal: DealSpec, day: Any) -> int:
    """The 1-based month of the deal's grid whose end is the first on or after ``day`` (as
    ``debt.capital.month_of``: the grid's months end on ``add_months(as_of, m)``)."""
    m = 1
    while add_months(deal.as_of, m) < day:
        m += 1
    return m


def expand_growth(deal: DealSpec) -> DealSpec:
    """``deal`` with its ``growth`` section written as cohorts, contracts, a DDTL and covenants.

    Parameters
    ----------
    deal : DealSpec

    Returns
    -------
    DealSpec
        ``deal`` itself when it has no ``growth``; else a validated deal without one: for
        ``mode: run_off`` the deal as written, for ``going_concern`` the plan expanded. An
        empty plan with no covenants is the run-off deal, field for field.
    """
    growth = deal.growth
    if growth is None:
        return deal
    data = deal.model_dump(by_alias=True, exclude_unset=True)
    data.pop("growth", None)
    # provenance documents the deal as written; its keys name the growth section just removed
    data.pop("sources", None)
    data.pop("assumptions", None)
    if growth.mode == "run_off":
        return DealSpec.model_validate(data)
    fleet: list[Any] = list(data["fleet"])
    contracts: list[Any] = list(data.get("contracts", []))
    facilities: list[Any] = list(data["facilities"])
    names = growth_cohort_names(deal, growth)
    draws = []
    won = growth.new_contracts
    for name, item in zip(names, growth.capex_plan, strict=True):
        fleet.append(
            {
                "name": name,
                "generation": item.generation,
                "units": item.units,
                "purchase_date": item.date,
                "unit_cost_usd": item.unit_cost_usd,
            }
        )
        debt = item.units * item.unit_cost_usd * growth.funding.debt_share_pct / 100.0
        if debt > 0.0:
            draws.append({"date": item.date, "amount_usd": debt, "cohort": name})
        units = 0 if won is None else math.floor(item.units * won.win_rate_pct / 100.0 + 1e-9)
        if won is not None and units > 0:
            contracts.append(
                {
                    "tenant": won.tenant,
                    "rating": won.rating,
                    "annual_pd_pct": won.annual_pd_pct,
                    "pd_basis": won.pd_basis,
                    "cohort": name,
                    "units": units,
                    "rate_usd_per_gpu_hour": won.tail_rate_usd_per_gpu_hour,
                    "rate_vs_market_pct": won.rate_vs_market_pct,
                    "start": item.date,
                    "end": add_months(item.date, won.term_months),
                    "take_or_pay": won.take_or_pay,
                    "terminates_on_servicer_default": won.terminates_on_servicer_default,
                }
            )
    if growth.covenants:
        target = (
            growth.covenants_on or max(reversed(deal.facilities), key=lambda f: f.seniority).name
        )
        facilities = [
            {**f, "covenants": [*f.get("covenants", []), *growth.covenants]}
            if f["name"] == target
            else f
            for f in facilities
        ]
    if draws:
        g = growth.debt
        last = growth.capex_plan[-1].date
        facilities.append(
            {
                "name": g.name,
                "kind": "ddtl",
                "seniority": g.seniority,
                "secured_by": names,
                "rate": g.rate,
                "dsra_months": g.dsra_months,
                "commitment_usd": sum(d["amount_usd"] for d in draws),
                "draws": draws,
                "availability_end": last,
                "draw_tenor_months": g.draw_tenor_months,
                "draw_amortisation": g.draw_amortisation,
                "commitment_fee_bps": g.commitment_fee_bps,
                "tenor_months": _month_of(deal, last) + g.draw_tenor_months,
            }
        )
    data.update(fleet=fleet, contracts=contracts, facilities=facilities)
    return DealSpec.model_validate(data)
