"""Bitcoin miners end to end: the double-leveraged balance sheet under correlation convergence.

``miner spec -> GPU factor paths (regime, rents, SOFR) -> miner market (BTC, hash rate, fees,
hashprice; correlated with the GPU shocks, converging in stress) -> miner cash flows and
collateral (mining with curtailment, hosting leases, ASIC and lease values, treasury) -> the
BTC margin loan's LTV ladder -> the other facilities' waterfall (equipment loans, hosting
notes, convertibles; cross-default with the margin loan) -> recovery and metrics``.

On top of the Monte Carlo run: each facility's fair spread; the *double-leverage premium*
(fair spread and EL with convergence on minus off, same paths); and the Shapley attribution
of the borrower's EL and PD to the factor groups ``bitcoin``, ``network`` (hash rate and fees),
``gpu_rent`` (GPU rents, utilisation, the market regime and the hosting tenants' defaults) and
``rates`` (SOFR), each frozen at its median path in turn.

A miner goes through the stages of ``gpucredit.pipeline`` like any deal (its model in
``pipeline.miner_model``, its block inputs in ``pipeline.inputs``, the entry point
``simulate_miner`` in ``pipeline.miner``); this module holds the miner's debt steps (the
margin loan's LTV ladder, the margin lender's outcomes, the structure run beside it) and
re-exports the miner's public names from where users import them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from gpucredit._typing import Float64Array, Int64Array
from gpucredit.credit.allocation import evaluate_structure
from gpucredit.credit.outcomes import CreditOutcomes, discount_factors
from gpucredit.debt.engine import run_structure_compiled
from gpucredit.debt.facilities import StructureTerms
from gpucredit.debt.ledger import DebtLedger
from gpucredit.debt.margin_loan import MarginLoanLedger, MarginLoanTerms, run_margin_loan
from gpucredit.debt.structure import StructureLedger
from gpucredit.pipeline.inputs import MinerInputs
from gpucredit.pipeline.miner_model import MinerModel

__all__ = [
    "FACTOR_GROUPS",
    "LEASE_ASSIGNMENT_COST",
    "MINER_GPU_GENERATION",
    "RIG_TH_S",
    "MinerInputs",
    "MinerModel",
    "MinerRecovery",
    "MinerResult",
    "build_miner_model",
    "gpu_market_factor",
    "miner_duration",
    "miner_inputs",
    "simulate_miner",
]


@dataclass(frozen=True, slots=True)
class _BlockOutcome:
    """Every facility's outcomes and ledgers on one block (margin loan last)."""

    outcomes: tuple[CreditOutcomes, ...]
    ledgers: tuple[DebtLedger, ...]
    borrower_default_month: Int64Array
    structure: StructureLedger | None


def _margin_lender(
    terms: MarginLoanTerms,
    ml: MarginLoanLedger,
    btc: Float64Array,
    sofr: Float64Array,
    borrower_default: Int64Array,
    riskless: bool,
) -> tuple[CreditOutcomes, DebtLedger]:
    """The margin lender's outcomes: its own ladder, or acceleration when the borrower
    defaults on another facility first (the pledge is sold then, with the penalty)."""
    n_paths, n = btc.shape
    df = discount_factors(sofr)
    if riskless:
        zeros = np.zeros(n_paths)
        none = np.zeros(n_paths, np.int64)
        promised = _outcomes(_promised_margin_pv(terms, sofr), none, zeros, zeros)
        return promised, _ledger(ml, none, none, zeros, n)
    own = np.where(ml.default_month <= n, ml.default_month, 0)
    first_other = np.where(
        (borrower_default > 0) & ((own == 0) | (borrower_default < own)), borrower_default, 0
    )
    months = np.arange(1, n + 1)[None, :]
    live_then = np.zeros(n_paths, dtype=bool)
    idx = np.flatnonzero(first_other > 0)
    if idx.size:
        m = first_other[idx] - 1
        before = np.where(m > 0, ml.balance_usd[idx, np.maximum(m - 1, 0)], terms.principal_usd)
        live_then[idx] = before > 0.0
    accelerated = np.where(live_then, first_other, 0)
    default_month = np.where(accelerated > 0, accelerated, own)
    cut = np.where(default_month > 0, default_month, n + 1)[:, None]
    # cash paid in an own-default month (a partial repayment at maturity) reaches the lender;
    # in an acceleration month the ladder's actions are replaced by the sale of the pledge
    pay_until = np.where(accelerated > 0, accelerated - 1, np.where(own > 0, own, n))[:, None]
    received = np.where(months <= pay_until, ml.cash_paydown_usd, 0.0) + np.where(
        ml.liquidated & (months < cut), ml.liquidation_proceeds_usd - ml.penalty_usd, 0.0
    )
    ead = np.zeros(n_paths)
    recovery = np.zeros(n_paths)
    at = np.clip(default_month - 1, 0, n - 1)
    rows = np.arange(n_paths)
    # own default: the liquidation month's proceeds are the recovery, the shortfall the loss
    own_hit = (own > 0) & (accelerated == 0)
    rec_own = ml.liquidation_proceeds_usd[rows, at] - ml.penalty_usd[rows, at]
    ead = np.where(own_hit, rec_own + ml.shortfall_usd[rows, at], ead)
    recovery = np.where(own_hit, rec_own, recovery)
    # accelerated: the month's ladder actions do not happen; the lender sells the pledge as
    # it stood at the month's start at that month's price, penalty as in the ladder
    pen = terms.liquidation_penalty
    before = np.maximum(at - 1, 0)
    started = at > 0
    bal = np.where(started, ml.balance_usd[rows, before], terms.principal_usd)
    bal = bal + ml.interest_usd[rows, at]
    pledge = np.where(started, ml.pledged_btc[rows, before], terms.pledged_btc)
    sale = pledge * btc[rows, at] / (1.0 + pen)
    ead = np.where(accelerated > 0, bal, ead)
    recovery = np.where(accelerated > 0, np.minimum(bal, sale), recovery)
    pv = (received * df).sum(axis=1) + recovery * df[rows, at] * (default_month > 0)
    loss = ead - recovery
    out = _outcomes(pv / terms.principal_usd, default_month.astype(np.int64), ead, recovery)
    out = dataclasses.replace(
        out, loss_usd=loss, lgd=np.where(ead > 0, loss / np.where(ead > 0, ead, 1.0), 0.0)
    )
    kind = np.where(accelerated > 0, 5, np.where(own > 0, 6, 0)).astype(np.int64)
    return out, _ledger(ml, default_month.astype(np.int64), kind, ead, n)


def _promised_margin_pv(terms: MarginLoanTerms, sofr: Float64Array) -> Float64Array:
    """The margin loan's promised value per unit of par on each path: interest capitalised
    monthly and repaid with the principal at maturity, discounted on the path's SOFR (the
    fair-spread solver's riskless benchmark; it needs neither the ladder nor the waterfall)."""
    rate = terms.annual_rate(sofr)[:, : terms.tenor_months] / 12.0
    df = discount_factors(sofr)[:, terms.tenor_months - 1]
    return np.asarray(np.prod(1.0 + rate, axis=1) * df, dtype=np.float64)


def _outcomes(
    pv_per_par: Float64Array, default_month: Int64Array, ead: Float64Array, recovery: Float64Array
) -> CreditOutcomes:
    n = pv_per_par.shape[0]
    loss = ead - recovery
    with np.errstate(divide="ignore", invalid="ignore"):
        lgd = np.where(ead > 0, loss / np.where(ead > 0, ead, 1.0), 0.0)
    return CreditOutcomes(
        default_month=default_month,
        ead_usd=ead,
        recovery_usd=recovery,
        loss_usd=loss,
        lgd=lgd,
        pv_per_par=pv_per_par,
        min_dscr=np.full(n, np.inf),
        breached=np.zeros(n, dtype=bool),
        time_to_recover_months=np.zeros(n),
        appraised_value_usd=np.zeros(n),
    )


def _ledger(
    ml: MarginLoanLedger, default_month: Int64Array, kind: Int64Array, ead: Float64Array, n: int
) -> DebtLedger:
    """The margin loan as a ``DebtLedger`` for the metrics (LTV fans; no DSCR of its own)."""
    p = default_month.shape[0]
    months = np.arange(1, n + 1)[None, :]
    cut = np.where(default_month > 0, default_month, n + 1)[:, None]
    opened = np.concatenate([np.ones((p, 1), dtype=bool), ml.balance_usd[:, :-1] > 0.0], axis=1)
    alive = opened & (months <= cut)
    z = np.zeros((p, n))
    return DebtLedger(
        alive=alive,
        balance=ml.balance_usd,
        interest_due=ml.interest_usd,
        interest_paid=z,
        principal_paid=ml.cash_paydown_usd,
        prepaid=z,
        refinanced=z,
        ds_scheduled=z,
        dsra_balance=z,
        dsra_draw=z,
        dsra_topup=z,
        lockup_balance=z,
        lockup_draw=z,
        lockup_in=z,
        reserve_release=z,
        distribution=z,
        trapped=z,
        unfunded_opex=z,
        dscr=np.full((p, n), 1e6),
        dscr_trailing=z,
        ltv=np.where(alive, ml.ltv_before, 0.0),
        breach=ml.margin_call,
        default_month=default_month,
        default_kind=kind,
        ead=ead,
        pledged_cash=np.zeros(p),
        initial_dsra=np.zeros(p),
        waivers=np.zeros(p, dtype=np.int64),
    )


def _run_debt(
    model: MinerModel,
    x: MinerInputs,
    structure: StructureTerms | None,
    margin: MarginLoanTerms | None,
    riskless: bool = False,
) -> _BlockOutcome:
    cash, market, scen = x.cash, x.market, x.scen
    n_paths, n = cash.cfads_usd.shape
    never = np.zeros(n_paths, dtype=np.int64)
    available = np.maximum(cash.net_cash_usd, 0.0)
    ml: MarginLoanLedger | None = None
    margin_default = never
    paydown = np.zeros_like(available)
    if margin is not None:
        free = np.full(n_paths, model.spec.treasury.btc_held - margin.pledged_btc)
        ml = run_margin_loan(margin, market.btc_usd, free, available, scen.sofr)
        margin_default = np.where(ml.default_month <= n, ml.default_month, 0).astype(np.int64)
        paydown = ml.cash_paydown_usd
    outs: list[CreditOutcomes] = []
    ledgers: list[DebtLedger] = []
    sl: StructureLedger | None = None
    borrower = margin_default.copy()
    if structure is not None:
        values = np.stack([cash.asic_value_usd, cash.lease_value_usd], axis=2)
        sl = run_structure_compiled(
            structure,
            cash.net_cash_usd - paydown,
            values,
            scen.sofr,
            scen.regime,
            default_free=riskless,
            external_default_month=np.where(margin_default > 0, margin_default, -1),
            enterprise_value_usd=values.sum(axis=2) + cash.treasury_value_usd,
            opening_cash_usd=model.spec.treasury.cash_usd,
        )
        facility_outs = evaluate_structure(structure, sl, values, model.recovery, scen.sofr)
        outs.extend(facility_outs)
        ledgers.extend(sl.facilities)
        if not riskless:
            borrower = np.where(
                (borrower == 0) | ((sl.default_month > 0) & (sl.default_month < borrower)),
                sl.default_month,
                borrower,
            ).astype(np.int64)
    if margin is not None and ml is not None:
        out, ledger = _margin_lender(
            margin, ml, market.btc_usd, scen.sofr, borrower if not riskless else never, riskless
        )
        outs.append(out)
        ledgers.append(ledger)
    return _BlockOutcome(tuple(outs), tuple(ledgers), borrower, sl)


def _with_add_on(terms: MarginLoanTerms, add_on: float) -> MarginLoanTerms:
    if terms.floating:
        return dataclasses.replace(terms, margin=terms.margin + add_on)
    return dataclasses.replace(terms, fixed_coupon=terms.fixed_coupon + add_on)


# The miner's stages and entry point, re-exported where users import them. Imported last:
# ``pipeline.miner`` runs the debt steps above, so they must exist before it is imported.
from gpucredit.factors.parameter_source import MINER_GPU_GENERATION  # noqa: E402
from gpucredit.pipeline.duration import miner_duration  # noqa: E402
from gpucredit.pipeline.inputs import gpu_market_factor, miner_inputs  # noqa: E402
from gpucredit.pipeline.miner import simulate_miner  # noqa: E402
from gpucredit.pipeline.miner_model import (  # noqa: E402
    FACTOR_GROUPS,
    LEASE_ASSIGNMENT_COST,
    RIG_TH_S,
    MinerRecovery,
    build_miner_model,
)
from gpucredit.pipeline.results import MinerResult  # noqa: E402
