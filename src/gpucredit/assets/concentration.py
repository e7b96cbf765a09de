"""Customer concentration of a deal's contracted revenue at its as-of date.

A lender to a GPU fleet is exposed to few tenants; how few is measured here, on the revenue
the contracts still owe from ``as_of``:

* each tenant's share of it, over the contracts' remaining terms and over the next 12 months;
* the Herfindahl-Hirschman index, ``HHI = sum_i s_i^2``, on the 0-1 scale (shares as
  decimals) and on the 0-10,000 scale of the U.S. merger guidelines (shares in percent:
  U.S. DOJ and FTC, Horizontal Merger Guidelines, 2010, section 5.3; Merger Guidelines, 2023,
  section 2.1, which calls a market with an HHI above 1,800 highly concentrated);
* the largest tenant and its share;
* the share of the revenue that a guarantor backs, and the share owed or guaranteed by an
  investment-grade company. A backstop as written (partial, capped, time-limited) backs what
  it would pay were the tenant to default at the as-of date (``fleet``'s rule: ``share_pct``
  of the rent up to the cap, before ``until``), not the whole contract.

Contracted revenue is units x rate in force (escalated) x 730 hours x share of each month
inside the contract, as ``fleet.plan_fleet`` computes it. Assumption: a contract that is not
take-or-pay counts at its full contracted hours (its capacity), as the market's utilisation
is not known at the as-of date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from gpucredit.assets.fleet import plan_fleet, written_guarantee_payments
from gpucredit.config.spec import DealSpec
from gpucredit.market.ratings import is_investment_grade
from gpucredit.scenarios.grid import TimeGrid, add_months
from gpucredit.units import HOURS_PER_MONTH

__all__ = [
    "HIGHLY_CONCENTRATED_HHI_POINTS",
    "Concentration",
    "CustomerConcentration",
    "customer_concentration",
    "herfindahl",
]

#: U.S. DOJ and FTC, Merger Guidelines (2023), section 2.1: a market with an HHI above 1,800
#: (shares in percent) is highly concentrated.
HIGHLY_CONCENTRATED_HHI_POINTS = 1800.0


def herfindahl(amounts: list[float]) -> float:
    """``sum_i s_i^2`` with ``s_i = a_i / sum(a)``, on the 0-1 scale; 0 when the total is 0."""
    a = np.asarray(amounts, dtype=np.float64)
    total = float(a.sum())
    if total <= 0.0:
        return 0.0
    shares = a / total
    return float((shares * shares).sum())


@dataclass(frozen=True, slots=True)
class Concentration:
    """Concentration of contracted revenue over one horizon.

    Attributes
    ----------
    horizon : str
        ``remaining_term`` (to the end of every contract) or ``next_12_months``.
    contracted_revenue_usd : float
        Contracted revenue over the horizon, USD.
    tenant_revenue_usd : tuple of (str, float)
        Each tenant's contracted revenue, largest first.
    hhi : float
        Herfindahl-Hirschman index of the tenants' shares, 0-1 (1: one tenant).
    hhi_points : float
        The same on the merger guidelines' 0-10,000 scale.
    largest_tenant : str or None
        None when nothing is contracted over the horizon.
    largest_tenant_share : float
    guaranteed_share : float
        Share of the revenue owed under contracts a guarantor backs.
    investment_grade_share : float
        Share owed by an investment-grade tenant or backed by an investment-grade guarantor.
    investment_grade_tenant_share : float
        Share owed by investment-grade tenants themselves.
    """

    horizon: str
    contracted_revenue_usd: float
    tenant_revenue_usd: tuple[tuple[str, float], ...]
    hhi: float
    hhi_points: float
    largest_tenant: str | None
    largest_tenant_share: float
    guaranteed_share: float
    investment_grade_share: float
    investment_grade_tenant_share: float

    @property
    def tenant_share(self) -> dict[str, float]:
        """Each tenant's share of the contracted revenue (largest first)."""
        total = self.contracted_revenue_usd
        return {
            name: (usd / total if total > 0.0 else 0.0) for name, usd in self.tenant_revenue_usd
        }

    @property
    def highly_concentrated(self) -> bool:
        """HHI above 1,800 points (2023 Merger Guidelines' threshold)."""
        return self.hhi_points > HIGHLY_CONCENTRATED_HHI_POINTS

    def to_dict(self) -> dict[str, Any]:
        return {
            "horizon": self.horizon,
            "contracted_revenue_usd": self.contracted_revenue_usd,
            "tenant_revenue_usd": dict(self.tenant_revenue_usd),
            "tenant_share": self.tenant_share,
            "hhi": self.hhi,
            "hhi_points": self.hhi_points,
            "highly_concentrated": self.highly_concentrated,
            "largest_tenant": self.largest_tenant,
            "largest_tenant_share": self.largest_tenant_share,
            "guaranteed_share": self.guaranteed_share,
            "investment_grade_share": self.investment_grade_share,
            "investment_grade_tenant_share": self.investment_grade_tenant_share,
        }


@dataclass(frozen=True, slots=True)
class CustomerConcentration:
    """Concentration at ``as_of`` over the remaining contract terms and the next 12 months."""

    as_of: dt.date
    remaining_term: Concentration
    next_12_months: Concentration

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "remaining_term": self.remaining_term.to_dict(),
            "next_12_months": self.next_12_months.to_dict(),
        }


def _months_to(as_of: dt.date, last: dt.date) -> int:
    """Fewest whole months after ``as_of`` whose end is on or after ``last`` (at least 12)."""
    months = 12
    while add_months(as_of, months) < last:
        months += 1
    return months


def _summarise(
    horizon: str,
    revenue: list[float],
    tenants: list[str],
    guaranteed: list[float],
    ig_tenant: list[bool],
    ig_credit: list[float],
) -> Concentration:
    by_tenant: dict[str, float] = {}
    for name, usd in zip(tenants, revenue, strict=True):
        by_tenant[name] = by_tenant.get(name, 0.0) + usd
    ranked = tuple(sorted(by_tenant.items(), key=lambda item: (-item[1], item[0])))
    total = float(sum(revenue))

    def share(flags: list[bool] | list[float]) -> float:
        """Share of the revenue flagged (bool) or backed in part (a weight in [0, 1])."""
        if total <= 0.0:
            return 0.0
        return float(sum(usd * f for usd, f in zip(revenue, flags, strict=True) if f) / total)

    hhi = herfindahl([usd for _, usd in ranked])
    some = total > 0.0 and bool(ranked)
    return Concentration(
        horizon=horizon,
        contracted_revenue_usd=total,
        tenant_revenue_usd=ranked,
        hhi=hhi,
        hhi_points=hhi * 10_000.0,
        largest_tenant=ranked[0][0] if some else None,
        largest_tenant_share=ranked[0][1] / total if some else 0.0,
        guaranteed_share=share(guaranteed),
        investment_grade_share=share(ig_credit),
        investment_grade_tenant_share=share(ig_tenant),
    )


def customer_concentration(deal: DealSpec) -> CustomerConcentration:
    """Tenant shares, HHI, largest tenant and guaranteed and investment-grade shares of the
    revenue the deal's contracts owe from ``deal.as_of``.

    Parameters
    ----------
    deal : DealSpec

    Returns
    -------
    CustomerConcentration
        Over the contracts' remaining terms and over the next 12 months. With no contracted
        revenue the shares and indices are 0 and the largest tenant is None.
    """
    last = max((c.end for c in deal.contracts), default=deal.as_of)
    grid = TimeGrid(deal.as_of, _months_to(deal.as_of, last))
    plan = plan_fleet(deal, grid)
    monthly = (
        plan.contract_units[:, None]
        * plan.contract_rate_by_month
        * HOURS_PER_MONTH
        * plan.contract_active
    ).reshape(len(deal.contracts), grid.n_months)
    whole = monthly.sum(axis=1).tolist()
    year = monthly[:, :12].sum(axis=1).tolist()
    tenants = [c.tenant for c in deal.contracts]
    backed = written_guarantee_payments(plan)
    guaranteed_whole = _backed_weights(deal, backed.sum(axis=1).tolist(), whole)
    guaranteed_year = _backed_weights(deal, backed[:, :12].sum(axis=1).tolist(), year)
    ig_tenant = [
        is_investment_grade(c.rating, None if c.annual_pd_pct is None else c.annual_pd_pct / 100)
        for c in deal.contracts
    ]
    ig_guarantor = [
        c.guarantor is not None
        and is_investment_grade(
            c.guarantor.rating,
            None if c.guarantor.annual_pd_pct is None else c.guarantor.annual_pd_pct / 100,
        )
        for c in deal.contracts
    ]

    def ig_credit(weights: list[float]) -> list[float]:
        return [
            1.0 if ig else (w if g else 0.0)
            for ig, g, w in zip(ig_tenant, ig_guarantor, weights, strict=True)
        ]

    return CustomerConcentration(
        as_of=deal.as_of,
        remaining_term=_summarise(
            "remaining_term",
            whole,
            tenants,
            guaranteed_whole,
            ig_tenant,
            ig_credit(guaranteed_whole),
        ),
        next_12_months=_summarise(
            "next_12_months", year, tenants, guaranteed_year, ig_tenant, ig_credit(guaranteed_year)
        ),
    )


def _backed_weights(deal: DealSpec, backed: list[float], revenue: list[float]) -> list[float]:
    """Share of each contract's revenue its guarantor backs: 1 for an unlimited backstop, 0
    for none, a written one's payments over the revenue (0 where nothing is owed)."""
    out: list[float] = []
    for c, paid, usd in zip(deal.contracts, backed, revenue, strict=True):
        if c.guarantor is None:
            out.append(0.0)
        elif not c.guarantor.as_written:
            out.append(1.0)
        else:
            out.append(min(paid / usd, 1.0) if usd > 0.0 else 0.0)
    return out
