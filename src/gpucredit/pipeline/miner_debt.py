"""The miner's debt on a block of paths (stages 4 and 5 of DESIGN.md section 1): one program
through the compiled waterfall engine, the BTC margin loan's LTV ladder first
(``debt.margin_loan``) and the other facilities' waterfall after it, then every facility's
default, recovery and value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpucredit._typing import Float64Array, Int64Array
from gpucredit.credit.allocation import evaluate_structure
from gpucredit.credit.metrics import CREDIT_LEDGER_FIELDS
from gpucredit.credit.outcomes import CreditOutcomes, discount_factors
from gpucredit.debt.engine import run_structure_compiled
from gpucredit.debt.facilities import StructureTerms, with_margin
from gpucredit.debt.ledger import DebtLedger
from gpucredit.debt.margin_loan import MarginLoanTerms
from gpucredit.debt.structure import StructureLedger
from gpucredit.pipeline.inputs import MinerInputs
from gpucredit.pipeline.miner_model import MinerModel

__all__ = ["MinerBlockOutcome", "promised_margin_pv", "run_miner_debt", "trailing_earnings_usd"]

#: Months of the trailing earnings the enterprise value follows (``trailing_earnings_usd``):
#: the trailing-twelve-month (TTM) convention of EV/EBITDA multiples.
TTM_MONTHS = 12


@dataclass(frozen=True, slots=True)
class MinerBlockOutcome:
    """Every facility's outcomes and ledgers on one block (margin loan last)."""

    outcomes: tuple[CreditOutcomes, ...]
    ledgers: tuple[DebtLedger, ...]
    borrower_default_month: Int64Array
    structure: StructureLedger | None


def promised_margin_pv(terms: MarginLoanTerms, sofr: Float64Array) -> Float64Array:
    """The margin loan's promised value per unit of par on each path: interest capitalised
    monthly and repaid with the principal at maturity, discounted on the path's SOFR (the
    fair-spread solver's riskless benchmark; it needs neither the ladder nor the waterfall)."""
    rate = terms.annual_rate(sofr)[:, : terms.tenor_months] / 12.0
    df = discount_factors(sofr)[:, terms.tenor_months - 1]
    return np.asarray(np.prod(1.0 + rate, axis=1) * df, dtype=np.float64)


def trailing_earnings_usd(cash_usd: Float64Array) -> Float64Array:
    """The earnings a miner's market enterprise value follows each month, USD per year: the
    path's cash over the ``TTM_MONTHS`` months ending that month (trailing twelve months);
    in the first ``TTM_MONTHS`` months, over the first ``TTM_MONTHS`` (the forward year
    from close), so the value stays at the market's own on close through the first year.

    With ``borrower.enterprise_value: earnings`` the engine's enterprise value is
    ``EV_t = EV_0 x E_t / E_1`` (docs/miners.md, "The market enterprise value"): ``EV_0``
    (the equity's market value plus the debt on close) at the market's forward multiple
    ``EV_0 / E_1``, applied to the path's trailing earnings. ASSUMPTION: the forward year
    of the path stands for the forward earnings the market priced on close (EV over
    next-twelve-month EBITDA, the usual multiple for growing firms, whose first months would
    understate a year in which leases start, as TeraWulf's and Cipher's halls do).

    Parameters
    ----------
    cash_usd : ndarray, shape (path, month), USD per month
        The cash from operations that pays the debt (``MinerInputs.net_cash_usd``).

    Returns
    -------
    ndarray, shape (path, month), USD per year
    """
    cash = np.asarray(cash_usd, dtype=np.float64)
    n = cash.shape[1]
    window = min(TTM_MONTHS, n)
    cum = np.zeros((cash.shape[0], n + 1))
    np.cumsum(cash, axis=1, out=cum[:, 1:])
    end = np.maximum(np.arange(1, n + 1), window)
    return np.asarray(12.0 * (cum[:, end] - cum[:, end - window]) / window, dtype=np.float64)


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


#: The structure's per-month ledger fields the credit layer reads (``evaluate_structure`` and
#: the accumulators); the engine records only these.
_LEDGER_FIELDS = (*CREDIT_LEDGER_FIELDS, "extra_received")


def run_miner_debt(
    model: MinerModel,
    x: MinerInputs,
    structure: StructureTerms | None,
    margin: MarginLoanTerms | None,
    riskless: bool = False,
) -> MinerBlockOutcome:
    """One program through the compiled engine: the margin loan's ladder first
    (``debt.margin_loan``), then the structure's waterfall; every facility's outcomes."""
    cash, market, scen = x.cash, x.market, x.scen
    n_paths, n = cash.cfads_usd.shape
    never = np.zeros(n_paths, dtype=np.int64)
    program = structure if margin is None else with_margin(structure, margin)
    assert program is not None
    pools = [cash.asic_value_usd, cash.lease_value_usd]
    if x.fleet is not None:  # the miner's own GPUs: the third pool, ``gpus``
        pools.append(x.fleet.collateral_value_usd)
    values = np.stack(pools, axis=2)
    basis = values.sum(axis=2) + cash.treasury_value_usd
    firm = model.spec.borrower
    if firm is not None and firm.enterprise_value == "earnings":
        basis = trailing_earnings_usd(x.net_cash_usd)
    free = (
        None
        if margin is None
        else np.full(n_paths, model.spec.treasury.btc_held - margin.pledged_btc)
    )
    sl = run_structure_compiled(
        program,
        x.net_cash_usd,
        values,
        scen.sofr,
        scen.regime,
        default_free=riskless,
        enterprise_value_usd=basis,
        # an enterprise refinancing reads the calibrated credit window (factors/credit_window
        # .py), as a GPU deal's does; the collateral tests keep the regime they read so far
        enterprise_window=scen.credit_window(),
        opening_cash_usd=model.spec.treasury.cash_usd,
        btc_usd=None if margin is None else market.btc_usd,
        free_btc=free,
        fields=_LEDGER_FIELDS,
    )
    outs: list[CreditOutcomes] = []
    ledgers: list[DebtLedger] = list(sl.facilities)
    ml = sl.margin
    borrower = never if ml is None else ml.shortfall_month.copy()
    if structure is not None:
        outs.extend(evaluate_structure(structure, sl, values, model.recovery, scen.sofr))
        if not riskless:
            borrower = np.where(
                (borrower == 0) | ((sl.default_month > 0) & (sl.default_month < borrower)),
                sl.default_month,
                borrower,
            ).astype(np.int64)
    if margin is not None and ml is not None and sl.margin_facility is not None:
        debt = sl.margin_facility
        if riskless:
            zeros = np.zeros(n_paths)
            outs.append(_outcomes(promised_margin_pv(margin, scen.sofr), never, zeros, zeros))
        else:
            df = discount_factors(scen.sofr)
            at = np.clip(debt.default_month - 1, 0, n - 1)
            recovered = ml.recovery_usd * df[np.arange(n_paths), at] * (debt.default_month > 0)
            pv = (ml.received_usd * df).sum(axis=1) + recovered
            outs.append(
                _outcomes(pv / margin.principal_usd, debt.default_month, debt.ead, ml.recovery_usd)
            )
        ledgers.append(debt)
    return MinerBlockOutcome(tuple(outs), tuple(ledgers), borrower, sl)
