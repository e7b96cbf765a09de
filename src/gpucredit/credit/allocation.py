"""Recovery of a capital structure: one sale of the borrower's collateral, shared out by
security and seniority, and each facility's credit outcomes.

At the borrower's default every facility is accelerated (cross-default). The lender group
repossesses the whole fleet and sells it through the recovery model once (all lenders selling
at once share the same market). The net proceeds are split across cohorts in proportion to
their appraised value at default (ASSUMPTION: the secondary-market sale is priced for the
whole fleet, so a cohort's share of it is taken pro rata to value). Then:

1. each facility takes its own DSRA;
2. each cohort's proceeds pay the facilities secured by it, by seniority (pro rata within a
   rank, by remaining claim);
3. pledged real estate (``credit.real_estate``) pays the facilities it secures, by seniority
   (pro rata within a rank, by remaining claim), before their deficiency claims; what is left
   of it joins the estate;
4. what is left of the sale, with the deal's lock-up, maintenance-reserve and trapped cash, is
   the general estate: it pays the unsecured claims (unsecured facilities, the deficiency of
   secured ones, and debt raised to refinance a facility), by seniority, pro rata within a
   rank. Claims outside the deal that rank with a facility (``pari_passu_outside_usd``, the
   rest of a group's unsecured debt that a slice does not hold) join its rank's split and
   take their pro-rata share out of the deal.

Every facility's recovery arrives with the sale's lag. Recovery is capped at each claim.
"""

from __future__ import annotations

import numpy as np

from gpucredit._typing import Float64Array
from gpucredit.credit.liquidation import MarketDefaultState
from gpucredit.credit.lots import CollateralLots
from gpucredit.credit.outcomes import CreditOutcomes, ExtraCollateral, discount_factors
from gpucredit.credit.real_estate import RealEstateTerms
from gpucredit.credit.recovery import RecoveryModel
from gpucredit.debt.facilities import StructureTerms
from gpucredit.debt.structure import StructureLedger

__all__ = ["allocate_recovery", "evaluate_structure"]


def _take_pro_rata(claims: list[Float64Array], available: Float64Array) -> list[Float64Array]:
    """Split ``available`` over ``claims`` pro rata, each capped at its claim, (n,) arrays."""
    total = np.zeros_like(available)
    for c in claims:
        total = total + c
    ratio = np.minimum(_safe_div(available, total, 0.0), 1.0)
    return [c * ratio for c in claims]


def _safe_div(num: Float64Array, den: Float64Array, empty: float) -> Float64Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(den > 0.0, num / np.where(den > 0.0, den, 1.0), empty))


def _take_real_estate(
    structure: StructureTerms,
    left: list[Float64Array],
    got: list[Float64Array],
    real_estate: list[tuple[Float64Array, tuple[int, ...]]],
    from_real_estate: list[Float64Array],
) -> Float64Array:
    """Each item's proceeds to the facilities it secures, senior first (pro rata within a
    rank); ``left``, ``got`` and ``from_real_estate`` are updated; returns what is left over
    for the general estate, (n,)."""
    facs = structure.facilities
    spare = np.zeros_like(left[0]) if left else np.zeros(0)
    for proceeds, secures in real_estate:
        cash = np.array(np.maximum(proceeds, 0.0), dtype=np.float64)
        for rank in sorted({facs[k].seniority for k in secures}):
            members = [k for k in secures if facs[k].seniority == rank]
            takes = _take_pro_rata([left[k] for k in members], cash)
            for k, take in zip(members, takes, strict=True):
                got[k] += take
                left[k] -= take
                from_real_estate[k] += take
                cash = cash - take
        spare = spare + cash
    return spare


def allocate_recovery(
    structure: StructureTerms,
    claims: list[Float64Array],
    reserves: list[Float64Array],
    cohort_sale_usd: Float64Array,
    estate_usd: Float64Array,
    other_unsecured_claim: Float64Array,
    real_estate: list[tuple[Float64Array, tuple[int, ...]]] | None = None,
    from_real_estate: list[Float64Array] | None = None,
    outside_took: Float64Array | None = None,
) -> list[Float64Array]:
    """Each facility's recovery on ``n`` defaulted paths.

    Parameters
    ----------
    claims : list of (n,) EAD of each facility.
    reserves : list of (n,) each facility's own DSRA at default.
    cohort_sale_usd : (n, cohort) net sale proceeds attributed to each cohort.
    estate_usd : (n,) deal cash (lock-up, maintenance reserve, trapped).
    other_unsecured_claim : (n,) claims that share the estate at the most junior rank
        present among the facilities (refinancing debt).
    real_estate : list of ((n,) net proceeds, secured facility indices), optional
        Pledged real estate, paid out after the fleet's secured claims.
    from_real_estate : list of (n,), optional
        Filled with what each facility took from the real estate (zeros on entry).
    outside_took : (n,), optional
        Filled with what the claims outside the deal (``FacilityTerms.pari_passu_outside_usd``,
        USD, summed over each rank's facilities) took from the general estate (zeros on entry).

    Returns
    -------
    list of (n,) each facility's recovery, USD.
    """
    facs = structure.facilities
    left = [np.array(c, dtype=np.float64) for c in claims]
    got = [np.zeros_like(c) for c in left]
    for k in range(len(facs)):  # own DSRA
        take = np.minimum(left[k], reserves[k])
        got[k] += take
        left[k] -= take
    sale = np.array(np.maximum(cohort_sale_usd, 0.0), dtype=np.float64)
    ranks = sorted({f.seniority for f in facs})
    for rank in ranks:  # secured claims on each cohort
        members = [k for k, f in enumerate(facs) if f.seniority == rank and f.secured]
        if not members:
            continue
        snapshot = sale.copy()  # a claim is spread over its pool by the rank's starting sale
        pool_sale = {k: snapshot[:, list(facs[k].pool)].sum(axis=1) for k in members}
        for c in range(sale.shape[1]):
            on_c = [k for k in members if c in facs[k].pool]
            if not on_c:
                continue
            asks = [left[k] * _safe_div(snapshot[:, c], pool_sale[k], 0.0) for k in on_c]
            takes = _take_pro_rata(asks, sale[:, c])
            for k, take in zip(on_c, takes, strict=True):
                got[k] += take
                sale[:, c] -= take
        for k in members:
            left[k] = np.maximum(claims[k] - got[k], 0.0)
    estate = np.asarray(estate_usd, dtype=np.float64) + sale.sum(axis=1)
    if real_estate:
        took = (
            from_real_estate if from_real_estate is not None else [np.zeros_like(c) for c in left]
        )
        estate = estate + _take_real_estate(structure, left, got, real_estate, took)
    junior = max(ranks) if ranks else 1
    for rank in ranks:  # the general estate
        members = [k for k, f in enumerate(facs) if f.seniority == rank]
        asks = [left[k] for k in members]
        if rank == junior:
            asks.append(np.asarray(other_unsecured_claim, dtype=np.float64))
        outside = sum(facs[k].pari_passu_outside_usd for k in members)
        if outside > 0.0:  # without one the split is today's, to the bit
            asks.append(np.full(estate.shape, outside, dtype=np.float64))
        takes = _take_pro_rata(asks, estate)
        for k, take in zip(members, takes[: len(members)], strict=True):
            got[k] += take
            left[k] -= take
        if outside > 0.0 and outside_took is not None:
            outside_took += takes[-1]
        for take in takes:
            estate = estate - take
    return got


def evaluate_structure(
    structure: StructureTerms,
    ledger: StructureLedger,
    cohort_value_usd: Float64Array,
    recovery: RecoveryModel,
    sofr: Float64Array,
    *,
    extra_collateral: ExtraCollateral | None = None,
    real_estate: tuple[RealEstateTerms, ...] = (),
    lots: CollateralLots | None = None,
    lot_collateral: ExtraCollateral | None = None,
) -> tuple[CreditOutcomes, ...]:
    """Default, recovery, loss and discounted lender cash flows of every facility in a block.

    ``pv_per_par`` is the present value of what the lender receives (interest, principal,
    premiums, conversion value, recovery) over the present value of what it funds (the
    opening balance at close and each later draw made before a default), on the path's SOFR.
    ``real_estate`` is pledged beside the fleet (``credit.real_estate``); each outcome's
    ``real_estate_usd`` is what the facility recovered from it.
    ``lots``: the facilities' pools are lots of the cohorts (``credit.lots``); each cohort's
    share of the hardware's proceeds is split on to its lots by their share of its units, and
    each surviving contract's assignment value (``lot_collateral``, (n, lot), in place of
    ``extra_collateral``) goes to its own lot: the tier its contract secures.
    """
    n_paths = ledger.default_month.shape[0]
    facs = structure.facilities
    defaulted = ledger.default_month > 0
    idx = np.flatnonzero(defaulted)
    month = ledger.default_month[idx]
    values = cohort_value_usd[idx, month - 1, :]
    rate = sofr[idx, month - 1] / 12.0
    reserves = [fl.pledged_cash[idx] for fl in ledger.facilities]
    cash = ledger.estate_cash[idx] + sum((r for r in reserves), np.zeros(idx.size))
    uplift = (
        extra_collateral(idx, month, values, rate)
        if extra_collateral is not None and idx.size
        else np.zeros(idx.size)
    )
    by_lot: Float64Array | None = None
    if lots is not None and lot_collateral is not None:
        by_lot = lot_collateral(idx, month, values, rate) if idx.size else np.zeros((0, 0))
        uplift = by_lot.sum(axis=1) if idx.size else np.zeros(idx.size)
    state = MarketDefaultState(
        month=month,
        ead_usd=np.full(idx.size, np.inf),
        pledged_cash_usd=cash + uplift,
        cohort_value_usd=values,
        monthly_discount=rate,
    )
    rec = recovery.recover(state)
    sale_net = rec.proceeds_usd - cash  # sale proceeds and assigned contracts
    total_value = values.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(
            total_value[:, None] > 0,
            values / np.where(total_value > 0, total_value, 1.0)[:, None],
            1.0 / max(values.shape[1], 1),
        )
    claims = [fl.ead[idx] for fl in ledger.facilities]
    from_real_estate = [np.zeros(idx.size) for _ in facs]
    split = (
        sale_net[:, None] * share if lots is None else lots.split(sale_net, uplift, share, by_lot)
    )
    got = allocate_recovery(
        structure,
        claims,
        reserves,
        split,
        ledger.estate_cash[idx],
        ledger.refinanced_claim[idx],
        [(item.proceeds_usd(rate, rec.lag_months), item.secures) for item in real_estate],
        from_real_estate,
    )
    df = discount_factors(sofr)
    r_default = sofr[idx, month - 1]
    lag_df = df[idx, month - 1] * (1.0 + r_default / 12.0) ** (-rec.lag_months)
    out: list[CreditOutcomes] = []
    for k, (f, fl) in enumerate(zip(facs, ledger.facilities, strict=True)):
        fac_def = fl.default_month > 0
        recovery_usd = np.zeros(n_paths)
        recovery_usd[idx] = np.where(fl.default_month[idx] > 0, got[k], 0.0)
        real_estate_usd = np.zeros(n_paths)
        real_estate_usd[idx] = np.where(fl.default_month[idx] > 0, from_real_estate[k], 0.0)
        ead = np.where(fac_def, fl.ead, 0.0)
        loss = ead - recovery_usd
        with np.errstate(divide="ignore", invalid="ignore"):
            lgd = np.where(fac_def & (ead > 0), loss / np.where(ead > 0, ead, 1.0), 0.0)
        pv = (fl.lender_cashflow * df).sum(axis=1)
        pv[idx] += recovery_usd[idx] * lag_df
        funded = np.full(n_paths, f.loan.principal_usd)
        for m, amount in zip(f.draw_month.tolist(), f.draw_usd.tolist(), strict=True):
            if 1 <= m <= df.shape[1]:
                made = (ledger.default_month == 0) | (ledger.default_month >= m)
                funded += np.where(made, amount * df[:, m - 1], 0.0)
        ttr = np.zeros(n_paths)
        ttr[idx] = np.where(fl.default_month[idx] > 0, rec.time_to_recover_months, 0.0)
        appraised = np.zeros(n_paths)
        appraised[idx] = np.where(fl.default_month[idx] > 0, total_value, 0.0)
        dscr = np.where(fl.alive, fl.dscr, np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            pv_per_par = np.where(funded > 0, pv / np.where(funded > 0, funded, 1.0), 1.0)
        out.append(
            CreditOutcomes(
                default_month=fl.default_month.astype(np.int64),
                ead_usd=ead,
                recovery_usd=recovery_usd,
                loss_usd=loss,
                lgd=lgd,
                pv_per_par=pv_per_par,
                min_dscr=dscr.min(axis=1),
                breached=np.asarray(fl.breach.any(axis=1), dtype=np.bool_),
                time_to_recover_months=ttr,
                appraised_value_usd=appraised,
                real_estate_usd=real_estate_usd,
            )
        )
    return tuple(out)
