"""Each facility's duration mismatch (``credit.duration``) from a run's value fans."""

from __future__ import annotations

import numpy as np

from gpucredit.credit.collateral import CollateralReport
from gpucredit.credit.duration import (
    DurationMismatch,
    ValueFan,
    contract_schedule,
    facility_mismatches,
    weighted_average_life,
)
from gpucredit.debt.facilities import FacilityTerms
from gpucredit.debt.terms import LoanTerms
from gpucredit.engine.runner import run_blocks
from gpucredit.pipeline.inputs import InputCache, MinerInputs, miner_inputs
from gpucredit.pipeline.miner_model import FACTOR_GROUPS, MinerModel
from gpucredit.pipeline.model import DealModel


def measure_duration(
    model: DealModel, values: ValueFan, collateral: CollateralReport
) -> tuple[DurationMismatch, ...]:
    """Every facility's duration mismatch (``credit.duration``) from the deal's value fan."""
    facilities = (
        model.structure.facilities
        if model.structure is not None
        else (FacilityTerms(loan=model.terms),)
    )
    return facility_mismatches(
        facilities,
        contracts=contract_schedule(model.deal),
        sofr=model.params.sofr.initial,
        fan=values,
        appraised_value_usd=collateral.appraised_value_usd,
        realisable_value_usd=collateral.realisable_value_usd,
    )


def miner_duration(
    model: MinerModel,
    seed: int,
    ranges: list[tuple[int, int]],
    cache: InputCache[MinerInputs],
    workers: int = 1,
) -> tuple[DurationMismatch, ...]:
    """Every facility's duration mismatch (``credit.duration``), in the order of
    ``model.names``; blocks not kept in ``cache`` are simulated again on ``workers`` threads.

    The structure's facilities are secured by the rigs and the hosting leases (ASIC value plus
    lease value, plus the GPUs' value where the miner has a ``gpu_fleet``), the margin loan by
    its pledged bitcoin (pledge x BTC price); each value at close is that of month 1 on the
    median path (every factor group frozen). The contracts are
    the hosting leases (their scheduled payments within the horizon). No liquidation haircut
    is applied at close: the realisable value is the appraised value (bitcoin is marked at the
    market).
    """
    n = model.grid.n_months
    median = miner_inputs(model, seed, 0, 1, frozenset(FACTOR_GROUPS))
    margin = model.margin
    close_assets = float(median.cash.asic_value_usd[0, 0] + median.cash.lease_value_usd[0, 0])
    if median.fleet is not None:  # the miner's own GPUs (``gpu_fleet``) secure it too
        close_assets = close_assets + float(median.fleet.collateral_value_usd[0, 0])
    close_btc = 0.0 if margin is None else margin.pledged_btc * float(median.market.btc_usd[0, 0])
    assets, btc = ValueFan(n, close_assets), ValueFan(n, close_btc)

    def fans(start: int, stop: int) -> tuple[ValueFan, ValueFan]:
        x = cache(start, stop)
        block_assets, block_btc = ValueFan(n, close_assets), ValueFan(n, close_btc)
        values = x.cash.asic_value_usd + x.cash.lease_value_usd
        block_assets.add(values if x.fleet is None else values + x.fleet.collateral_value_usd)
        if margin is not None:
            block_btc.add(margin.pledged_btc * x.market.btc_usd)
        return block_assets, block_btc

    for block_assets, block_btc in run_blocks(fans, ranges, n_workers=workers):
        assets.merge(block_assets)
        btc.merge(block_btc)
    leases = np.asarray(model.plan.lease_payment_usd, dtype=np.float64).sum(axis=0)
    live = np.flatnonzero(leases > 0.0)
    contracts = (weighted_average_life(leases), int(live[-1]) + 1) if live.size else (None, None)
    sofr = model.params.sofr.initial
    out: list[DurationMismatch] = []
    if model.structure is not None:
        out.extend(
            facility_mismatches(
                model.structure.facilities,
                contracts=contracts,
                sofr=sofr,
                fan=assets,
                appraised_value_usd=close_assets,
                realisable_value_usd=close_assets,
            )
        )
    if margin is not None:
        loan = LoanTerms(
            name=margin.name,
            principal_usd=margin.principal_usd,
            tenor_months=margin.tenor_months,
            floating=margin.floating,
            fixed_coupon=margin.fixed_coupon,
            margin=margin.margin,
            floor=margin.floor,
            amortisation="bullet",
            schedule_share=np.zeros(margin.tenor_months),
            issue_price=1.0,
            dsra_months=0.0,
            covenants=(),
            refinancing_max_ltv=0.0,
        )
        out.extend(
            facility_mismatches(
                (FacilityTerms(loan=loan),),
                contracts=contracts,
                sofr=sofr,
                fan=btc,
                appraised_value_usd=close_btc,
                realisable_value_usd=close_btc,
            )
        )
    return tuple(out)
