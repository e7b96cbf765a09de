"""Customer concentration of a three-tenant deal by hand.

HHI = sum of squared shares (U.S. DOJ and FTC, Horizontal Merger Guidelines 2010, section 5.3;
Merger Guidelines 2023, section 2.1: shares in percent, so one firm scores 10,000; above 1,800
is highly concentrated).

Deal at as_of 2026-07-31, every contract running whole months from as_of, 730 h a month:
  Alpha (A):  500 GPUs x 2.00 USD/h x 730 x 24 months = 17,520,000
  Beta  (B):  300 GPUs x 2.00 USD/h x 730 x 24 months; guaranteed by Gamma Corp (AA)
              = 10,512,000
  Gamma (BB): 200 GPUs x 1.50 USD/h x 730 x 12 months =  2,628,000
  total                                                = 30,660,000
  shares 0.571429, 0.342857, 0.085714 (= 20/35, 12/35, 3/35)
  HHI = (400 + 144 + 9) / 1225 = 553 / 1225 = 0.451429 -> 4,514.29 points
Next 12 months: 8,760,000 / 5,256,000 / 2,628,000 of 16,644,000:
  shares 10/19, 6/19, 3/19; HHI = (100 + 36 + 9) / 361 = 0.401662
Guaranteed share: Beta's, 12/35 over the term. Investment grade: Alpha (A) and Beta through its
AA guarantor, 32/35; investment-grade tenants alone: Alpha, 20/35.
"""

from __future__ import annotations

from typing import Any

import pytest

from gpucredit.assets.concentration import (
    HIGHLY_CONCENTRATED_HHI_POINTS,
    customer_concentration,
    herfindahl,
)
from tests.conftest import hand_deal_data, make_deal


def _deal() -> Any:
    data = hand_deal_data()
    data["fleet"][0] = dict(data["fleet"][0], units=1000)
    base = dict(data["contracts"][0], annual_pd_pct=None, start="2026-07-31")
    contracts = [
        dict(base, tenant="Alpha", rating="A", units=500, end="2028-07-31"),
        dict(
            base,
            tenant="Beta",
            rating="B",
            units=300,
            end="2028-07-31",
            guarantor={"name": "Gamma Corp", "rating": "AA"},
        ),
        dict(
            base,
            tenant="Gamma",
            rating="BB",
            units=200,
            rate_usd_per_gpu_hour=1.5,
            end="2027-07-31",
        ),
    ]
    return make_deal(data, contracts=contracts)


def test_three_tenant_concentration_by_hand() -> None:
    result = customer_concentration(_deal())
    term = result.remaining_term
    assert term.contracted_revenue_usd == pytest.approx(30_660_000.0, rel=1e-12)
    assert dict(term.tenant_revenue_usd) == pytest.approx(
        {"Alpha": 17_520_000.0, "Beta": 10_512_000.0, "Gamma": 2_628_000.0}, rel=1e-12
    )
    assert [name for name, _ in term.tenant_revenue_usd] == ["Alpha", "Beta", "Gamma"]
    assert term.tenant_share == pytest.approx({"Alpha": 20 / 35, "Beta": 12 / 35, "Gamma": 3 / 35})
    assert term.hhi == pytest.approx(553 / 1225, rel=1e-12)
    assert term.hhi_points == pytest.approx(4514.2857, rel=1e-7)
    assert term.highly_concentrated and HIGHLY_CONCENTRATED_HHI_POINTS == 1800.0
    assert term.largest_tenant == "Alpha"
    assert term.largest_tenant_share == pytest.approx(20 / 35, rel=1e-12)
    assert term.guaranteed_share == pytest.approx(12 / 35, rel=1e-12)
    assert term.investment_grade_share == pytest.approx(32 / 35, rel=1e-12)
    assert term.investment_grade_tenant_share == pytest.approx(20 / 35, rel=1e-12)

    year = result.next_12_months
    assert year.contracted_revenue_usd == pytest.approx(16_644_000.0, rel=1e-12)
    assert year.hhi == pytest.approx(145 / 361, rel=1e-12)
    assert year.largest_tenant_share == pytest.approx(10 / 19, rel=1e-12)
    assert year.guaranteed_share == pytest.approx(6 / 19, rel=1e-12)

    d = result.to_dict()
    assert d["as_of"] == "2026-07-31"
    assert d["remaining_term"]["largest_tenant"] == "Alpha"
    assert d["next_12_months"]["tenant_share"]["Gamma"] == pytest.approx(3 / 19)


def test_hhi_scale_and_limits() -> None:
    assert herfindahl([1.0]) == 1.0  # one tenant: 10,000 points
    assert herfindahl([1.0] * 4) == pytest.approx(0.25)  # n equal tenants: 1 / n
    assert herfindahl([40.0, 30.0, 20.0, 10.0]) * 10_000 == pytest.approx(3000.0)
    assert herfindahl([]) == 0.0


def test_no_contracts_means_no_concentration_figures() -> None:
    deal = make_deal(hand_deal_data(), contracts=[])
    term = customer_concentration(deal).remaining_term
    assert term.contracted_revenue_usd == 0.0
    assert term.largest_tenant is None and term.hhi == 0.0 and term.tenant_share == {}


def test_escalators_weigh_in_the_shares() -> None:
    data = hand_deal_data()
    data["fleet"][0] = dict(data["fleet"][0], units=200)
    base = dict(data["contracts"][0], start="2026-07-31", end="2028-07-31", units=100)
    flat = dict(base, tenant="Flat")
    rising = dict(base, tenant="Rising", escalator_pct_per_year=10.0)
    term = customer_concentration(make_deal(data, contracts=[flat, rising])).remaining_term
    # 12 months at 2.00 then 12 at 2.20 against 24 at 2.00: 4.2 vs 4.0
    assert term.tenant_share["Rising"] == pytest.approx(4.2 / 8.2, rel=1e-12)


def test_a_written_backstop_backs_what_it_would_pay() -> None:
    # Beta's guarantor pays 50% of 438,000 USD a month (219,000) up to 2,000,000 USD in all:
    # were Beta to default at once, 9 months of 219,000 and 29,000 in the 10th.
    deal = _deal()
    contracts = [c.model_dump() for c in deal.contracts]
    contracts[1]["guarantor"].update(share_pct=50.0, cap_usd=2_000_000.0)
    result = customer_concentration(make_deal(deal.model_dump(), contracts=contracts))
    term, year = result.remaining_term, result.next_12_months
    assert term.guaranteed_share == pytest.approx(2_000_000 / 30_660_000, rel=1e-12)
    assert year.guaranteed_share == pytest.approx(2_000_000 / 16_644_000, rel=1e-12)
    assert term.investment_grade_share == pytest.approx(19_520_000 / 30_660_000, rel=1e-12)
    assert term.investment_grade_tenant_share == pytest.approx(20 / 35, rel=1e-12)
