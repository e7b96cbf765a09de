"""Tables and JSON records built from results (no credit computation here)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from gpucredit._terminal import plain, printable
from gpucredit._version import __version__
from gpucredit.credit.entity_risk import deal_entities
from gpucredit.credit.metrics import FacilityMetrics
from gpucredit.market.store import StoredCalibration
from gpucredit.miners import MinerResult
from gpucredit.pipeline import SimulationResult

__all__ = [
    "calibration_rows",
    "calibration_table",
    "collateral_record",
    "collateral_table",
    "construction_table",
    "convertible_record",
    "convertible_table",
    "duration_record",
    "duration_table",
    "facility_record",
    "run_document",
    "summary_table",
]


def _num(value: float | None, digits: int = 6) -> float | None:
    """``value`` rounded to ``digits``; None for None and for a non-finite number (the record
    says why in its ``notes``), so the JSON never holds NaN or infinity."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _noted(record: dict[str, Any], reasons: dict[str, str]) -> dict[str, Any]:
    """``record`` with ``notes``: the reason for each of its None figures that has one in
    ``reasons`` (merged with any ``notes`` it has); no ``notes`` key when nothing is None."""
    notes = dict(record.get("notes") or {})
    for key, reason in reasons.items():
        if key in record and record[key] is None:
            notes.setdefault(key, reason)
    out = {k: v for k, v in record.items() if k != "notes"}
    if notes:
        out["notes"] = notes
    return out


def facility_record(result: SimulationResult, m: FacilityMetrics | None = None) -> dict[str, Any]:
    """One facility as a JSON-ready dict (the keys of the CLI's ``--json`` output); the deal's
    first facility unless ``m`` is given. A facility of a capital structure also carries the
    deal-level figures under ``structure``."""
    m = m or result.metrics
    credit, collateral = credit_record(m), collateral_record(result)
    notes = {**credit.pop("notes", {}), **collateral.pop("notes", {})}
    record = {
        **credit,
        "breach_probability": _num(m.breach_probability),
        "min_dscr_p50": _num(m.min_dscr_p50, 4),
        "breakeven_rent_usd_per_gpu_hour": _num(m.breakeven_rent_usd_per_gpu_hour, 4),
        "breakeven_generation": m.breakeven_generation,
        **collateral,
        "glut_stress_min_dscr": _num(result.stress.min_dscr, 4),
        "glut_stress_default_month": result.stress.default_month,
        "spec_hash": result.provenance["spec_hash"],
        "notes": notes,
    }
    record = _noted(
        record,
        {
            "breakeven_rent_usd_per_gpu_hour": "no flat rent up to 1,000 USD/GPU-hour covers "
            "the debt service",
            "glut_stress_min_dscr": "no debt service falls due on the glut path",
        },
    )
    record["duration_mismatch"] = duration_record(result, m)
    record["entities"] = [_finite_record(e) for e in deal_entities(result.deal)]
    if result.structure is not None:
        record["structure"] = structure_record(result)
    if result.guarantees is not None:
        record["guarantees"] = guarantee_record(result)
    return record


def guarantee_record(result: SimulationResult) -> dict[str, Any]:
    """The deal's written backstops (JSON-ready): the guarantors' expected payments over the
    horizon (USD, real-world measure P) with their standard error, the share of paths on
    which a guarantor pays, and the share of the lease revenue backed."""
    g = result.guarantees
    assert g is not None
    return {
        "written_backstops": g.written_backstops,
        "expected_paid_usd": _num(g.expected_paid_usd, 2),
        "expected_paid_se_usd": _num(g.expected_paid_se_usd, 2),
        "paid_probability": _num(g.paid_probability),
        "guaranteed_share": _num(g.guaranteed_share),
        "measure": "P",
    }


def guarantee_table(results: list[SimulationResult]) -> Table | None:
    """The written backstops of the deals that have any: expected payments (P), how often a
    guarantor pays, and the share of the lease revenue backed; None when no deal has one."""
    rows = [r for r in results if r.guarantees is not None]
    if not rows:
        return None
    table = Table(
        title="written guarantees: what the backstops pay (real-world measure P)",
        title_justify="left",
        caption="paid: mean over paths of all guarantor payments over the horizon; backed: "
        "share of the contracted revenue the backstops cover were the tenants to default now",
        caption_justify="left",
    )
    for name in ("Deal", "Backstops", "Paid USD m", "P(pays)", "Backed"):
        table.add_column(name, justify="left" if name == "Deal" else "right", overflow="fold")
    for r in rows:
        g = r.guarantees
        assert g is not None
        _add_row(
            table,
            r.deal.name,
            str(g.written_backstops),
            _usd_m(g.expected_paid_usd, g.expected_paid_se_usd),
            _pct(g.paid_probability),
            _pct(g.guaranteed_share),
        )
    return table


def duration_record(result: SimulationResult | MinerResult, m: FacilityMetrics) -> dict[str, Any]:
    """The duration mismatch of facility ``m`` (JSON-ready): months, years and a share, each
    finite or None with its reason in ``notes``."""
    figures = result.duration_of(m)
    if figures is None:
        return {"notes": {"duration_mismatch": "not measured for this result"}}
    record = figures.as_dict()
    notes = record.pop("notes", {})
    out: dict[str, Any] = {}
    for key, value in record.items():
        out[key] = value if value is None or isinstance(value, int) else _num(value, 4)
        if out[key] is None and key not in notes:
            notes[key] = "not a finite number"
    if notes:
        out["notes"] = notes
    return out


def _months(value: float | int | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def duration_table(
    results: list[SimulationResult], miners: list[MinerResult] | None = None
) -> Table:
    """The duration mismatch: debt life against collateral and contract life (months), for
    the GPU deals' and the miners' facilities."""
    table = Table(
        title="duration mismatch, months: debt life vs collateral and contract life",
        title_justify="left",
        caption="HL: months until the p50 (p5) collateral value halves; LTV>100%: month the "
        "median realisable LTV reaches 100%; left: principal outstanding when contracts end",
        caption_justify="left",
    )
    # two-line headers and at most 28 characters of name (longer names fold) keep the table
    # within 80 columns
    table.add_column("Facility", justify="left", max_width=28, overflow="fold")
    for name in ("Debt\nWAL", "HL\np50", "HL\np5", "Contr.\nWAL", "LTV\n>100%", "Left"):
        table.add_column(name, justify="right")
    deals: list[tuple[str, SimulationResult | MinerResult, tuple[FacilityMetrics, ...]]] = [
        (r.deal.name, r, r.all_facilities) for r in results
    ]
    deals += [(mr.spec.name, mr, mr.facilities) for mr in miners or []]
    for name, r, facilities in deals:
        table.add_row(Text(printable(name), style="bold"), *[""] * 6)
        for m in facilities:
            d = r.duration_of(m)
            if d is None:
                continue
            crossing = d.ltv_over_100_month
            _add_row(
                table,
                f"  {m.name}",
                _months(d.debt_wal_months),
                _months(d.collateral_half_life_p50_months),
                _months(d.collateral_half_life_p5_months),
                _months(d.contract_wal_months),
                "never" if crossing is None else f"m{crossing}",
                _pct(d.principal_share_at_contract_end, 0),
            )
    return table


def credit_record(m: FacilityMetrics) -> dict[str, Any]:
    """What every facility reports, GPU deal or miner (JSON-ready)."""
    record = {
        "deal": m.deal,
        "name": m.name,
        "principal_usd": _num(m.principal_usd, 2),
        "tenor_months": m.tenor_months,
        "n_paths": m.n_paths,
        "pd": _num(m.pd),
        "pd_se": _num(m.pd_se),
        "pd_ci": [_num(m.pd_ci_low), _num(m.pd_ci_high)],
        "pd_annual": _num(m.pd_annual),
        "pd_by_year": [_num(p) for p in m.pd_by_year],
        "default_kind_share": {k: _num(v) for k, v in m.default_kind_share.items()},
        "default_kind_share_se": {k: _num(v) for k, v in m.default_kind_share_se.items()},
        **default_definition_record(m),
        "lgd": _num(m.lgd),
        "lgd_se": _num(m.lgd_se),
        "lgd_p95": _num(m.lgd_p95),
        "expected_loss_usd": _num(m.expected_loss_usd, 2),
        "el_se": _num(m.el_se_usd, 2),
        "expected_loss_pct": _num(m.expected_loss_pct),
        "fair_spread_bps": _num(m.fair_spread_bps, 3),
        "fair_spread_se_bps": _num(m.fair_spread_se_bps, 3),
        "market_spread_bps": _num(m.reported_market_spread_bps, 3),
        "spread_gap_bps": _num(m.reported_spread_gap_bps, 3),
        "actuarial_spread_bps": _num(m.actuarial_spread_bps, 3),
        "actuarial_spread_se_bps": _num(m.actuarial_spread_se_bps, 3),
        "risk_premium_bps": _num(m.risk_premium_bps, 3),
        "implied_rating": m.implied_rating,
        "implied_rating_range": m.implied_rating_range,
        # an agency's rating of the instrument where public (null otherwise)
        "public_rating": m.public_rating,
        "public_rating_agency": m.public_rating_agency,
        "notes": {k: v for k, v in m.notes.items() if k != "mean_ead_usd"},
    }
    if m.straight_actuarial_spread_bps is not None or m.straight_spread_bps is not None:
        record.update(convertible_record(m))
    return _noted(record, {})


def _less(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def convertible_record(m: FacilityMetrics) -> dict[str, Any]:
    """A convertible's straight-debt spreads and its equity option's value (bp, P and Q):
    option value = straight-debt fair spread - the convertible's fair spread."""
    return {
        "straight_spread_bps": _num(m.straight_spread_bps, 3),
        "straight_actuarial_spread_bps": _num(m.straight_actuarial_spread_bps, 3),
        "option_value_bps": _num(_less(m.straight_spread_bps, m.fair_spread_bps), 3),
        "option_value_actuarial_bps": _num(
            _less(m.straight_actuarial_spread_bps, m.actuarial_spread_bps), 3
        ),
    }


def convertible_table(results: list[SimulationResult]) -> Table | None:
    """Convertibles: the fair spread with and without the equity option (None if none)."""
    rows = [
        m
        for r in results
        for m in r.all_facilities
        if m.straight_actuarial_spread_bps is not None or m.straight_spread_bps is not None
    ]
    if not rows:
        return None
    table = Table(
        title="convertibles: fair spread as straight debt and the equity option's value",
        title_justify="left",
        caption="option bp = straight-debt fair spread - convertible fair spread (P and Q)",
        caption_justify="left",
    )
    for name in (
        "Deal",
        "Facility",
        "P bp",
        "Straight P bp",
        "Option P bp",
        "Q bp",
        "Straight Q bp",
        "Option Q bp",
        "Market bp",
    ):
        table.add_column(name, justify="left" if name in ("Deal", "Facility") else "right")
    for m in rows:
        _add_row(
            table,
            m.deal,
            m.name,
            _bps(m.actuarial_spread_bps),
            _bps(m.straight_actuarial_spread_bps),
            _bps(_less(m.straight_actuarial_spread_bps, m.actuarial_spread_bps)),
            _bps(m.fair_spread_bps),
            _bps(m.straight_spread_bps),
            _bps(_less(m.straight_spread_bps, m.fair_spread_bps)),
            _reported_bps(m, m.market_spread_bps),
        )
    return table


def default_definition_record(m: FacilityMetrics) -> dict[str, Any]:
    """Payment-default PD, default kinds and the ratings of one facility (JSON-ready)."""
    return {
        "pd_payment": _num(m.pd_payment),
        "pd_payment_se": _num(m.pd_payment_se),
        "pd_payment_ci": [_num(m.pd_payment_ci_low), _num(m.pd_payment_ci_high)],
        "pd_payment_upper": _num(m.pd_payment_upper),
        "pd_payment_upper_se": _num(m.pd_payment_upper_se),
        "default_kinds": {k: _num(v) for k, v in m.default_kind_share.items()},
        "waiver_probability": _num(m.waiver_probability),
        "implied_rating_sp": m.implied_rating,
        "implied_rating_sp_range": m.implied_rating_range,
        "implied_rating_el": m.implied_rating_el,
        "implied_rating_el_range": m.implied_rating_el_range,
    }


def structure_record(result: SimulationResult) -> dict[str, Any]:
    """Deal-level figures of a capital structure (JSON-ready)."""
    s = result.structure
    assert s is not None

    def finite(values: Any) -> list[float | None]:
        return [_num(float(v), 4) if math.isfinite(float(v)) else None for v in values]

    return {
        "borrower_pd": _num(s.borrower_pd),
        "llcr_at_close_base_case": finite([s.llcr_at_close])[0],
        "plcr_at_close_base_case": finite([s.plcr_at_close])[0],
        "llcr_at_close_p5": finite(s.llcr_p5[:1])[0],
        "llcr_at_close_p50": finite(s.llcr_p50[:1])[0],
        "plcr_at_close_p50": finite(s.plcr_p50[:1])[0],
        "deal_dscr_p5_by_month": finite(s.dscr_p5),
        "deal_dscr_p50_by_month": finite(s.dscr_p50),
        "llcr_p50_by_month": finite(s.llcr_p50),
        "waterfall_mean_paid_usd": {
            label: _num(v, 2) for label, v in zip(s.steps, s.step_paid_mean_usd, strict=True)
        },
        "sculpted": {
            k: {"debt_usd": _num(d, 2), "dscr": _num(r, 4)} for k, (d, r) in s.sculpted.items()
        },
        "concentration": s.concentration,
        **real_estate_record(result),
        "parent": _finite_record(s.parent),
    }


def real_estate_record(result: SimulationResult) -> dict[str, Any]:
    """The real estate pledged in a capital structure and, per facility, the share of its
    recoveries it paid (JSON-ready; empty without real estate)."""
    s = result.structure
    if s is None or not s.real_estate:
        return {}
    names = [m.name for m in result.all_facilities]
    return {
        "real_estate": [
            {
                "name": item.name,
                "stabilised_value_usd": _num(item.stabilised_value_usd, 2),
                "land_value_usd": _num(item.land_value_usd, 2),
                "haircut": _num(item.haircut, 4),
                "liquidation_value_usd": _num(item.liquidation_value_usd, 2),
                "liquidation_months": item.liquidation_months,
                "secures": [names[k] for k in item.secures],
            }
            for item in s.real_estate
        ],
        "real_estate_recovery_share": {
            name: None if share is None else _num(share)
            for name, share in zip(names, s.real_estate_share, strict=True)
        },
    }


def real_estate_table(results: list[SimulationResult]) -> Table | None:
    """Pledged real estate: its value and its share of each facility's recoveries (None when
    no deal pledges any)."""
    rows = [r for r in results if r.structure is not None and r.structure.real_estate]
    if not rows:
        return None
    table = Table(title="gpucredit: real-estate collateral", title_justify="left")
    for name in ("Deal", "Item", "Stabilised", "Land", "Haircut", "Liquidation", "Secures"):
        table.add_column(name, justify="left" if name in ("Deal", "Item", "Secures") else "right")
    for r in rows:
        s = r.structure
        assert s is not None
        names = [m.name for m in r.all_facilities]
        for item in s.real_estate:
            shares = []
            for k in item.secures:
                share = s.real_estate_share[k] if k < len(s.real_estate_share) else None
                shown = "no recovery" if share is None else f"{_pct(share)} of recoveries"
                shares.append(f"{names[k]} ({shown})")
            _add_row(
                table,
                r.deal.name,
                item.name,
                f"{item.stabilised_value_usd / 1e6:,.1f}m",
                f"{item.land_value_usd / 1e6:,.1f}m",
                _pct(item.haircut),
                f"{item.liquidation_value_usd / 1e6:,.1f}m, {item.liquidation_months} mo",
                "; ".join(shares),
            )
    return table


def _finite_record(value: Any) -> Any:
    """``value`` (a report dict) with every float rounded by ``_num`` (no NaN or infinity)."""
    if isinstance(value, dict):
        return {k: _finite_record(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_record(v) for v in value]
    if isinstance(value, float):
        return _num(value)
    return value


def entities_table(results: list[SimulationResult]) -> Table | None:
    """The companies of the deals among ``results`` whose risk the registry gave
    (``data/entities.csv``), with their P PD and any CDS-implied Q hazard; None if none."""
    rows = [
        (r.deal.name, e)
        for r in results
        for e in deal_entities(r.deal)
        if e["pd_source"] == "registry"
    ]
    if not rows:
        return None
    table = Table(title="gpucredit: companies named from the registry", title_justify="left")
    for name in ("Deal", "Company", "Rating", "PD P /yr", "CDS bp", "Q hazard /yr", "Q/P"):
        left = name in ("Deal", "Company", "Rating")
        table.add_column(name, justify="left" if left else "right")
    for deal, e in rows:
        ratio = e["q_over_p_hazard"]
        _add_row(
            table,
            deal,
            e["name"]
            + ("" if len(e["registry_chain"]) < 2 else f" (via {e['registry_chain'][-1]})"),
            e["rating"] or "estimate",
            _pct(e["annual_pd_p"], 2),
            "n/a" if e["cds_5y_bp"] is None else f"{e['cds_5y_bp']:.0f}",
            _pct(e["q_hazard_per_year"], 1),
            "n/a" if ratio is None else f"{ratio:.1f}x",
        )
    return table


def parent_table(results: list[SimulationResult]) -> Table | None:
    """The parents of the capital structures among ``results`` (``DealSpec.parent``) and what
    each explains of its facilities' defaults; None if no deal has one."""
    rows = [r for r in results if r.structure is not None and r.structure.parent is not None]
    if not rows:
        return None
    table = Table(title="gpucredit: parents, sponsors and servicers", title_justify="left")
    for name in (
        "Deal",
        "Parent",
        "PD source",
        "PD P /yr",
        "CDS bp",
        "Q hazard /yr",
        "Q/P",
        "Links",
        "Parent dflt",
        "Facility",
        "PD after parent",
        "Cross-dflt",
        "Supported",
    ):
        table.add_column(
            name,
            justify="left"
            if name in ("Deal", "Parent", "PD source", "Links", "Facility")
            else "right",
        )
    for r in rows:
        s = r.structure
        assert s is not None and s.parent is not None
        p = s.parent
        links = [f"recourse {p['recourse']}"]
        if p["cross_default"]:
            links.append("cross-default")
        if p["servicer"] is not None:
            links.append(f"servicer ({p['servicer']['downtime_months']} mo down)")
        if p.get("contracts_terminated_on_servicer_default"):
            n_cut = len(p["contracts_terminated_on_servicer_default"])
            links.append(f"{n_cut} contract(s) end with the servicer")
        if p.get("stay_months") or p.get("bankruptcy_cost_pct"):
            links.append(f"stay {p['stay_months']} mo, cost {p['bankruptcy_cost_pct']:g}%")
        q = p["q_hazard_per_year"]
        ratio = p["q_over_p_hazard"]
        first = True
        for facility, f in p["facilities"].items():
            head = (
                (
                    r.deal.name,
                    p["name"],
                    f"{p['pd_source']}" + (f" ({p['rating']})" if p["rating"] else ""),
                    _pct(p["annual_pd_p"], 2),
                    "n/a" if p["cds_5y_bp"] is None else f"{p['cds_5y_bp']:.0f}",
                    _pct(q, 1),
                    "n/a" if ratio is None else f"{ratio:.1f}x",
                    ", ".join(links),
                    _pct(p["default_rate_horizon"]),
                )
                if first
                else ("",) * 9
            )
            _add_row(
                table,
                *head,
                facility,
                _pct(f["pd_after_parent_default"]),
                _pct(f["pd_parent_cross_default"]),
                _pct(f["share_paths_supported"]),
            )
            first = False
    return table


def parent_fleet_table(results: list[SimulationResult]) -> Table | None:
    """The parents whose fleet is sold into the deals' markets when they default
    (``ParentSpec.fleet_sold_on_default``) and each facility's LGD with that fleet co-sold and
    with its own fleet sold alone (EAD-weighted over its defaulted paths); None if none."""
    rows = [
        r
        for r in results
        if r.structure is not None
        and r.structure.parent is not None
        and r.structure.parent.get("fleet_sold_on_default")
    ]
    if not rows:
        return None
    table = Table(
        title="gpucredit: the parent's fleet sold into the same market", title_justify="left"
    )
    for name in ("Deal", "Parent", "Parent's fleet", "Sold over", "Facility"):
        table.add_column(name, justify="left" if name != "Sold over" else "right")
    for name in ("Defaults co-sold", "LGD co-sold", "LGD alone", "PV cost % par"):
        table.add_column(name, justify="right")
    for r in rows:
        s = r.structure
        assert s is not None and s.parent is not None
        p = s.parent
        fleet = ", ".join(
            f"{pool} {units:,.0f}" for pool, units in p["fleet_units_by_pool"].items()
        )
        first = True
        for facility, f in p["facilities"].items():
            head = (
                (r.deal.name, p["name"], fleet, f"{p['fleet_sale_months']} mo")
                if first
                else ("",) * 4
            )
            _add_row(
                table,
                *head,
                facility,
                _pct(f.get("share_defaults_co_sold")),
                _pct(f.get("lgd_co_sold")),
                _pct(f.get("lgd_alone")),
                _pct(f.get("pv_cost_per_par_co_sold"), 2),
            )
            first = False
    return table


def collateral_record(result: SimulationResult) -> dict[str, Any]:
    """The collateral-illusion figures of one facility (JSON-ready)."""
    c = result.collateral
    worthless = "collateral worth nothing"
    record = {
        "sale_speed": c.sale_speed,
        "ltv_book": _num(c.ltv_book),
        "ltv_appraised": _num(c.ltv_appraised),
        "ltv_realisable": _num(c.ltv_realisable),
        "illusion_gap_vs_book": _num(c.illusion_gap_vs_book),
        "illusion_gap_vs_appraised": _num(c.illusion_gap_vs_appraised),
        "recovery_rate_mean": _num(c.recovery_rate_mean),
        "recovery_rate_p5": _num(c.recovery_rate_p5),
        "recovery_rate_p50": _num(c.recovery_rate_p50),
        "recovery_rate_p95": _num(c.recovery_rate_p95),
        "time_to_recover_months_mean": _num(c.time_to_recover_months_mean, 3),
        "time_to_recover_months_p50": _num(c.time_to_recover_months_p50, 3),
        "appraised_ltv_at_default_p50": _num(c.appraised_ltv_at_default_p50),
        "pd_lgd_correlation": _num(c.pd_lgd_correlation, 4),
    }
    undefined_ltv = "an LTV it compares is undefined"
    return _noted(
        record,
        {
            "ltv_book": f"{worthless} on book at as_of (fully depreciated, or not yet delivered)",
            "ltv_appraised": f"{worthless} at as_of (appraised value zero)",
            "ltv_realisable": f"{worthless} at as_of (realisable value zero)",
            "illusion_gap_vs_book": undefined_ltv,
            "illusion_gap_vs_appraised": undefined_ltv,
            "recovery_rate_mean": "no path defaulted",
            "recovery_rate_p5": "no path defaulted",
            "recovery_rate_p50": "no path defaulted",
            "recovery_rate_p95": "no path defaulted",
            "time_to_recover_months_mean": "no path defaulted",
            "time_to_recover_months_p50": "no path defaulted",
            "appraised_ltv_at_default_p50": "no path defaulted",
            "pd_lgd_correlation": "too few defaults, or no variation, to measure",
        },
    )


def calibration_rows(
    stored: StoredCalibration, used: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The parameters a calibration stored, one JSON-ready dict each: ``model``,
    ``parameter``, ``estimate`` and ``std_error`` (None where not estimated or not finite),
    ``engine_uses``
    (whether the engine uses the estimate or keeps its sourced prior; ``used``:
    ``model.parameter`` -> note, from ``Calibration.to_params(...).sources``)."""
    used = used or {}
    rows: list[dict[str, Any]] = []
    for model in ("rent", "sofr", "regime"):
        block = stored.params.get(model) or {}  # None: too few data, the priors stand
        errors = block.get("std_errors", {}) or {}
        for key, value in block.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            se = errors.get(key)
            rows.append(
                {
                    "model": model,
                    "parameter": key,
                    "estimate": _finite_or_none(value),
                    "std_error": _finite_or_none(se),
                    "engine_uses": used.get(f"{model}.{key}", "").split(": ", 1)[-1],
                }
            )
    return rows


def _finite_or_none(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def calibration_table(stored: StoredCalibration, used: dict[str, str] | None = None) -> Table:
    """:func:`calibration_rows` as a table: the parameters a calibration stored, with their
    standard errors, and whether the engine uses each estimate or keeps its sourced prior."""
    table = Table(title=f"calibration {stored.id} (as of {stored.as_of})", title_justify="left")
    for name in ("model", "parameter", "estimate", "std. error", "engine uses"):
        table.add_column(name, justify="right" if name in ("estimate", "std. error") else "left")
    for row in calibration_rows(stored, used):
        value, se = row["estimate"], row["std_error"]
        _add_row(
            table,
            row["model"],
            row["parameter"],
            "n/a" if value is None else f"{value:.6g}",
            "n/a" if se is None else f"{se:.3g}",
            row["engine_uses"],
        )
    return table


def run_document(
    results: list[SimulationResult],
    seed: int,
    n_paths: int,
    miners: list[MinerResult] | None = None,
    *,
    target_se_bps: float | None = None,
) -> dict[str, Any]:
    """The single JSON object the CLI prints with ``--json``: ``facilities`` of the GPU deals,
    ``miners`` with their facilities, premium and attribution. ``run.n_paths`` is the paths
    asked for; each facility's ``n_paths`` those it used (more with ``target_se_bps``, when
    ``run.target_se`` lists each deal's paths and whether it met the target)."""
    miners = miners or []
    hashes = [r.provenance["spec_hash"] for r in results]
    hashes += [str(m.provenance["spec_hash"]) for m in miners]
    combined = (
        hashes[0]
        if len(hashes) == 1
        else hashlib.sha256("".join(sorted(hashes)).encode()).hexdigest()[:16]
    )
    first = results[0].provenance if results else (miners[0].provenance if miners else {})
    runs = [(r.deal.name, r.provenance) for r in results]
    runs += [(m.spec.name, m.provenance) for m in miners]
    return {
        "run": {
            "seed": seed,
            "n_paths": n_paths,
            "spec_hash": combined,
            "version": __version__,
            "calibration_id": first.get("calibration_id"),
            "data_hash": first.get("data_hash"),
            **({} if target_se_bps is None else {"target_se": _target(target_se_bps, runs)}),
        },
        "facilities": [facility_record(r, m) for r in results for m in r.all_facilities],
        "miners": [miner_record(m) for m in miners],
        **_construction_records(results),
    }


def _target(target_bps: float, runs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """A --target-se run: each deal's paths used and whether its worst fair-spread standard
    error (bp) went below the target."""
    deals = []
    for name, prov in runs:
        target = prov.get("target_se", {})
        deals.append(
            {
                "deal": name,
                "n_paths": prov.get("n_paths"),
                "met": target.get("met"),
                "worst_se_bps": _num(target.get("worst_se_bps"), 3),
            }
        )
    return {"target_bps": target_bps, "deals": deals}


def _defined(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _pct(value: float | None, digits: int = 1, se: float | None = None) -> str:
    """A decimal as a percentage, "n/a" where undefined; ``se`` adds its standard error in
    percentage points ("48.8% ±1.1")."""
    if value is None or not math.isfinite(value):
        return "n/a"
    text = f"{100 * value:.{digits}f}%"
    return text if se is None or not math.isfinite(se) else f"{text} ±{100 * se:.{digits}f}"


def _bps(value: float | None, se: float | None = None, decimals: int = 0) -> str:
    """Basis points, "n/a" where undefined (no fair spread exists, or none was solved);
    ``se`` adds its standard error ("270 ±12"); ``decimals`` after the point (0)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    text = f"{value:,.{decimals}f}"
    return text if se is None or not math.isfinite(se) else f"{text} ±{se:,.{decimals}f}"


def _usd_m(value: float, se: float | None = None) -> str:
    """USD as millions with two decimals, with its standard error ("12.34 ±0.56")."""
    if not math.isfinite(value):
        return "n/a"
    text = f"{value / 1e6:,.2f}"
    return text if se is None or not math.isfinite(se) else f"{text} ±{se / 1e6:,.2f}"


#: Footnote of the run table: what the spread columns mean.
SPREAD_CAPTION = (
    "P bp: actuarial fair spread (real-world measure, expected loss only). Q bp: fair spread "
    "under the pricing measure, with the market's prices of risk (docs/pricing.md). "
    "Gap bp = market - Q; Q - P is the risk premium. Rating PD: S&P-style, by payment-default "
    'PD; Rating EL: by expected loss (Moody\'s-style); "A/BBB" when the 95% interval '
    "straddles a boundary."
)


def summary_table(results: list[SimulationResult]) -> Table:
    """The Rich table printed by ``gpucredit run``."""
    table = Table(
        title="gpucredit: facility credit metrics",
        title_justify="left",
        caption=SPREAD_CAPTION,
        caption_justify="left",
    )
    facilities = [m for r in results for m in r.all_facilities]
    # the agency ratings' column only where one is public: other tables stay as they were
    rated = any(m.public_rating is not None for m in facilities)
    for name, justify in [
        ("Deal", "left"),
        ("Facility", "left"),
        ("PD (life)", "right"),
        ("PD pay", "right"),
        ("PD /yr", "right"),
        ("LGD", "right"),
        ("EL USD m", "right"),
        ("EL %", "right"),
        ("P bp", "right"),
        ("Q bp", "right"),
        ("Market bp", "right"),
        ("Gap bp", "right"),
        ("Rating PD", "center"),
        ("Rating EL", "center"),
        ("Breach", "right"),
        ("min DSCR p50", "right"),
        ("Breakeven USD/h", "right"),
    ]:
        # fold, not cut, a long name when the terminal is narrow
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
        if rated and name == "Rating EL":
            table.add_column("Public rating", justify="center", overflow="fold")
    for m in facilities:
        gap = _reported_bps(m, m.spread_gap_bps)
        be = m.breakeven_rent_usd_per_gpu_hour
        cells = [
            m.deal,
            m.name,
            _pct(m.pd, se=m.pd_se),
            _pct(m.pd_payment, se=m.pd_payment_se),
            _pct(m.pd_annual, 2),
            _pct(m.lgd, se=m.lgd_se),
            _usd_m(m.expected_loss_usd, m.el_se_usd),
            _pct(m.expected_loss_pct, 2),
            _bps(m.actuarial_spread_bps, m.actuarial_spread_se_bps),
            _bps(m.fair_spread_bps, m.fair_spread_se_bps),
            _reported_bps(m, m.market_spread_bps),
            gap,
            m.implied_rating_range,
            m.implied_rating_el_range,
            _pct(m.breach_probability),
            f"{m.min_dscr_p50:.2f}x" if _defined(m.min_dscr_p50) else "n/a",
            "n/a" if be is None else f"{be:.2f} ({m.breakeven_generation})",
        ]
        if rated:
            cells.insert(14, m.public_rating_label or "none")
        _add_row(table, *cells)
    return table


def _reported_bps(m: FacilityMetrics, value: float | None) -> str:
    """A market-side spread of ``m`` (market spread, gap), bp: "unknown" where the
    instrument's pricing is not public."""
    return _bps(value) if m.pricing_public else "unknown"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.2f}"


def _add_row(table: Table, *cells: str) -> None:
    """Add one row whose cells are text, never Rich markup, with control characters shown as
    escapes: names come from the user's spec (``[/x]``, ``\\x1b[31m``)."""
    table.add_row(*(plain(cell) for cell in cells))


def collateral_table(results: list[SimulationResult]) -> Table:
    """The collateral illusion: LTV three ways and the recovery distribution."""
    table = Table(
        title="collateral: LTV on book, appraised and realisable value; recovery at default",
        title_justify="left",
    )
    for name in (
        "Deal",
        "Sale",
        "LTV book",
        "LTV appraised",
        "LTV realisable",
        "Gap vs book",
        "Recovery mean",
        "p5",
        "p50",
        "p95",
        "Months to recover",
        "PD-LGD corr",
    ):
        table.add_column(name, justify="left" if name in ("Deal", "Sale") else "right")
    for r in results:
        c = r.collateral
        months = c.time_to_recover_months_mean
        _add_row(
            table,
            r.metrics.deal,
            c.sale_speed,
            _pct(c.ltv_book),
            _pct(c.ltv_appraised),
            _pct(c.ltv_realisable),
            f"{100 * c.illusion_gap_vs_book:+.1f} pt"
            if _defined(c.illusion_gap_vs_book)
            else "n/a",
            _pct(c.recovery_rate_mean),
            _pct(c.recovery_rate_p5),
            _pct(c.recovery_rate_p50),
            _pct(c.recovery_rate_p95),
            "n/a" if months is None else f"{months:.1f}",
            _ratio(c.pd_lgd_correlation),
        )
    return table


def structure_table(results: list[SimulationResult]) -> Table | None:
    """Deal-level figures of the capital structures among ``results`` (None if there are none)."""
    rows = [r for r in results if r.structure is not None]
    if not rows:
        return None
    table = Table(title="gpucredit: capital structures (deal level)", title_justify="left")
    for name in (
        "Deal",
        "Borrower PD",
        "LLCR base",
        "LLCR p50",
        "PLCR base",
        "DSCR p5 yr1",
        "Largest tenant",
        "HHI",
    ):
        table.add_column(name, justify="left" if name in ("Deal", "Largest tenant") else "right")
    for r in rows:
        s = r.structure
        assert s is not None
        conc = s.concentration.get("remaining_term", {})
        share = conc.get("largest_tenant_share")
        largest = conc.get("largest_tenant") or "none"
        year1 = s.dscr_p5[:12]
        year1 = year1[year1 == year1]  # drop NaN months
        _add_row(
            table,
            r.deal.name,
            _pct(s.borrower_pd),
            _ratio(s.llcr_at_close),
            _ratio(float(s.llcr_p50[0])),
            _ratio(s.plcr_at_close),
            _ratio(float(year1.min())) if year1.size else "n/a",
            f"{largest} ({_pct(share)})" if share is not None else largest,
            f"{conc.get('hhi_points', 0):,.0f}",
        )
    return table


def miner_record(result: MinerResult) -> dict[str, Any]:
    """One miner as a JSON-ready dict: its facilities, the borrower's PD and EL, the
    double-leverage premium and the attribution."""
    facilities = []
    for m in result.facilities:
        premium = (result.premium or {}).get(m.name, {})
        facilities.append(
            {
                **credit_record(m),
                "double_leverage_premium": {k: _num(v, 4) for k, v in premium.items()},
                "duration_mismatch": duration_record(result, m),
            }
        )
    attribution = result.attribution.to_dict() if result.attribution is not None else None
    return {
        "deal": result.spec.name,
        "borrower_pd": _num(result.borrower_pd),
        "borrower_expected_loss_usd": _num(result.borrower_el_usd, 2),
        "double_leverage_premium_borrower": {
            k: _num(v, 4) for k, v in (result.premium or {}).get("borrower", {}).items()
        },
        "attribution": attribution,
        "attribution_paths": result.provenance.get("attribution_paths"),
        "convergence": result.provenance.get("convergence"),
        "spec_hash": result.provenance.get("spec_hash"),
        "facilities": facilities,
        "premium_curve": _curve_record(result.premium_curve),
    }


def _curve_record(curve: dict[str, Any] | None) -> dict[str, Any] | None:
    """The premium curve JSON-ready: numbers rounded, non-finite ones as None."""
    if curve is None:
        return None
    points = []
    for point in curve["points"]:
        out: dict[str, Any] = {}
        for key, value in point.items():
            if isinstance(value, dict):
                out[key] = {k: _num(v, 6) for k, v in value.items()}
            elif isinstance(value, float):
                out[key] = _num(value, 4)
            else:
                out[key] = value
        points.append(out)
    return {"paths": curve["paths"], "points": points}


def premium_curve_table(results: list[MinerResult]) -> Table | None:
    """The double-leverage premium (convergence on minus off) at each stress correlation, per
    facility and for the borrower: PD and EL with their paired standard errors, the fair
    spread (Q) with its bound (``pipeline.miner.premium_point``)."""
    rows = [r for r in results if r.premium_curve is not None]
    if not rows:
        return None
    table = Table(
        title="gpucredit: double-leverage premium over the BTC-GPU stress correlation",
        title_justify="left",
        caption="Premium = convergence on towards the stress correlation minus off, same paths "
        "and seed; ± is one Monte Carlo standard error (paired for PD and EL; for spreads the "
        "independent-runs bound).",
        caption_justify="left",
    )
    for name in (
        "Miner",
        "Facility",
        "Stress corr.",
        "Premium PD",
        "Premium EL USD m",
        "Premium bp",
    ):
        table.add_column(name, justify="left" if name in ("Miner", "Facility") else "right")
    for r in rows:
        assert r.premium_curve is not None
        names = [*(m.name for m in r.facilities), "borrower"]
        for name in names:
            for point in r.premium_curve["points"]:
                rho = f"{point['stress_correlation']:.2f}"
                row = point.get(name)
                if row is None:
                    _add_row(table, r.spec.name, name, rho, "n/a", "n/a", "n/a")
                    continue
                el, el_se = row["expected_loss_usd"], row["el_se_usd"]
                bp, bp_se = row["fair_spread_bps"], row["fair_spread_se_bps"]
                _add_row(
                    table,
                    r.spec.name,
                    name,
                    rho,
                    _signed_pct(row["pd"], row["pd_se"]),
                    "n/a" if el is None else f"{el / 1e6:+,.2f} ±{(el_se or 0.0) / 1e6:,.2f}",
                    "n/a"
                    if bp is None
                    else f"{bp:+,.1f}" + ("" if bp_se is None else f" ±{bp_se:,.1f}"),
                )
    return table


def _signed_pct(value: float | None, se: float | None) -> str:
    """A signed difference of probabilities in percentage points, with its standard error."""
    if value is None or not math.isfinite(value):
        return "n/a"
    text = f"{100 * value:+.2f}%"
    return text if se is None or not math.isfinite(se) else f"{text} ±{100 * se:.2f}"


def miner_table(results: list[MinerResult]) -> Table:
    """Facilities of the miners: PD, LGD, EL, fair vs market spread, double-leverage premium."""
    table = Table(
        title="gpucredit: bitcoin miners (premium = convergence on minus off)",
        title_justify="left",
        caption=SPREAD_CAPTION,
        caption_justify="left",
    )
    for name in (
        "Miner",
        "Facility",
        "PD (life)",
        "PD pay",
        "LGD",
        "EL USD m",
        "P bp",
        "Q bp",
        "Market bp",
        "Rating PD",
        "Rating EL",
        "Premium bp",
        "Premium EL USD m",
    ):
        table.add_column(name, justify="left" if name in ("Miner", "Facility") else "right")
    for r in results:
        for m in r.facilities:
            premium = (r.premium or {}).get(m.name, {})
            p_bp = premium.get("fair_spread_bps")
            p_el = premium.get("expected_loss_usd")
            _add_row(
                table,
                m.deal,
                m.name,
                _pct(m.pd, se=m.pd_se),
                _pct(m.pd_payment, se=m.pd_payment_se),
                _pct(m.lgd, se=m.lgd_se),
                _usd_m(m.expected_loss_usd, m.el_se_usd),
                _bps(m.actuarial_spread_bps, m.actuarial_spread_se_bps),
                _bps(m.fair_spread_bps, m.fair_spread_se_bps),
                _reported_bps(m, m.market_spread_bps),
                m.implied_rating_range,
                m.implied_rating_el_range,
                "n/a" if p_bp is None else f"{p_bp:+,.1f}",
                "n/a" if p_el is None else f"{p_el / 1e6:+,.2f}",
            )
    return table


def attribution_table(results: list[MinerResult]) -> Table | None:
    """Shapley attribution of each miner's EL and PD to the factor groups."""
    rows = [r for r in results if r.attribution is not None]
    if not rows:
        return None
    table = Table(
        title="gpucredit: which leg breaks the miner (Shapley attribution of EL and PD)",
        title_justify="left",
    )
    first = rows[0].attribution
    assert first is not None
    groups = list(first.groups)
    for name in ["Miner", "Metric", "Total", *groups, "Joint (interaction)"]:
        table.add_column(name, justify="left" if name in ("Miner", "Metric") else "right")
    for r in rows:
        a = r.attribution
        assert a is not None
        for key, label, scale, unit in (
            ("expected_loss_usd", "EL USD m", 1e-6, ""),
            ("pd", "PD", 100.0, "%"),
        ):
            m = a.metrics[key]
            _add_row(
                table,
                r.spec.name,
                label,
                f"{m.total * scale:,.2f}{unit}",
                *[f"{m.shapley[g] * scale:,.2f}{unit}" for g in groups],
                f"{m.joint * scale:,.2f}{unit}",
            )
    return table


def _construction_records(results: list[SimulationResult]) -> dict[str, Any]:
    """``{"construction": [...]}``: one record per deal with construction risk (its delivery
    delays, long-stop terminations, overruns, and each facility's PD and EL on the paths
    delivered late and on time); empty for runs without any."""
    records = []
    for r in results:
        if r.construction is None:
            continue
        doc = r.construction.to_dict()
        doc["facilities"] = [
            {
                "facility": f.name,
                "pd_late": _num(f.pd_late),
                "pd_on_time": _num(f.pd_on_time),
                "el_late_pct": _num(f.el_late_pct),
                "el_on_time_pct": _num(f.el_on_time_pct),
            }
            for f in r.construction.facilities
        ]
        records.append(
            {
                "deal": r.deal.name,
                **{k: _num(v) if isinstance(v, float) else v for k, v in doc.items()},
            }
        )
    return {"construction": records} if records else {}


def construction_table(results: list[SimulationResult]) -> Table | None:
    """Construction and completion risk of the deals that have it (None if none do): the
    delay of the latest delivery (mean, p90), the share of paths delivered late and past a
    lease's long-stop date, the mean cost overrun, and each facility's PD and EL on the paths
    delivered late against on time."""
    rows = [r for r in results if r.construction is not None]
    if not rows:
        return None
    table = Table(
        title="gpucredit: construction and completion risk (late = any delivery delayed)",
        title_justify="left",
    )
    for name in (
        "Deal",
        "Facility",
        "Delay mean mo",
        "Delay p90 mo",
        "Late",
        "Past long-stop",
        "Overrun USD m",
        "PD late",
        "PD on time",
        "EL late",
        "EL on time",
    ):
        table.add_column(name, justify="left" if name in ("Deal", "Facility") else "right")
    for r in rows:
        c = r.construction
        assert c is not None
        funded = "cash" if c.overrun_on_project_cash else "equity"
        for i, f in enumerate(c.facilities):
            first = i == 0
            _add_row(
                table,
                r.deal.name if first else "",
                f.name,
                f"{c.mean_delay_months:.1f}" if first else "",
                f"{c.p90_delay_months:.0f}" if first else "",
                _pct(c.share_late) if first else "",
                _pct(c.share_past_longstop) if first else "",
                f"{c.mean_overrun_usd / 1e6:,.1f} ({funded})" if first else "",
                _pct(f.pd_late),
                _pct(f.pd_on_time),
                _pct(None if f.el_late_pct is None else f.el_late_pct / 100.0, 2),
                _pct(None if f.el_on_time_pct is None else f.el_on_time_pct / 100.0, 2),
            )
    return table


def credit_spread_table(
    results: list[SimulationResult],
    miners: list[MinerResult] | None = None,
    stressed: Mapping[str, Sequence[SimulationResult | MinerResult]] | None = None,
) -> Table:
    """The real-credit-spread table: one row per instrument (deals, then miners), market
    spread against the model's fair spreads, the gap, PD, LGD and the implied rating beside
    the agency rating where public; per stress scenario (``stressed``: name -> the deals' and
    miners' results under it, matched by deal and facility) its PD and Q spread."""
    stressed = stressed or {}
    table = Table(
        title="gpucredit: real credit spreads (± one Monte Carlo standard error)",
        title_justify="left",
        caption=SPREAD_CAPTION
        + " Stressed columns: the same deal under a named scenario (`gpucredit scenarios`), "
        "PD / Q bp on common random numbers.",
        caption_justify="left",
    )
    heads = ["Deal", "Instrument", "Market bp", "Q bp", "P bp", "Gap bp", "PD", "LGD"]
    heads += ["Rating PD", "Public rating"]
    for name in heads:
        table.add_column(name, justify="left" if name in ("Deal", "Instrument") else "right")
    for scenario in stressed:
        table.add_column(f"{scenario} PD / Q bp", justify="right")
    lookup = {
        scenario: {(m.deal, m.name): m for r in runs for m in r.all_facilities}
        for scenario, runs in stressed.items()
    }
    rows = [m for r in results for m in r.all_facilities]
    rows += [m for r in miners or [] for m in r.facilities]
    for m in rows:
        cells = [
            m.deal,
            m.name,
            _reported_bps(m, m.market_spread_bps),
            _bps(m.fair_spread_bps, m.fair_spread_se_bps),
            _bps(m.actuarial_spread_bps, m.actuarial_spread_se_bps),
            _reported_bps(m, m.spread_gap_bps),
            _pct(m.pd, se=m.pd_se),
            _pct(m.lgd, se=m.lgd_se),
            m.implied_rating_range,
            m.public_rating_label or "n/a",
        ]
        for by_key in lookup.values():
            s = by_key.get((m.deal, m.name))
            cells.append("n/a" if s is None else f"{_pct(s.pd)} / {_bps(s.fair_spread_bps)}")
        _add_row(table, *cells)
    return table


def stressed_record(
    stressed: Mapping[str, Sequence[SimulationResult | MinerResult]],
) -> dict[str, Any]:
    """The JSON object of the stressed columns: scenario name -> one record per facility
    (deal, name, paths, PD with its standard error, fair Q spread with its standard error)."""
    return {
        scenario: [
            {
                "deal": m.deal,
                "name": m.name,
                "n_paths": m.n_paths,
                "pd": _num(m.pd),
                "pd_se": _num(m.pd_se),
                "fair_spread_bps": _num(m.fair_spread_bps),
                "fair_spread_se_bps": _num(m.fair_spread_se_bps),
            }
            for r in runs
            for m in r.all_facilities
        ]
        for scenario, runs in stressed.items()
    }
