"""The same waterfall as ``waterfall.run_waterfall``, written as a plain loop over paths and months.

It serves twice: compiled by numba it is the fast backend (``nogil``, so blocks run on all
cores), and run as plain Python (``waterfall_loop.py_func``) it is the naive per-path
reference that the tests hold the vectorised engine to (STYLE.md 6).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from gpucredit._typing import Float64Array
from gpucredit.debt.ledger import DebtLedger
from gpucredit.debt.terms import LoanTerms

__all__ = ["run_waterfall_loop", "waterfall_loop"]

CENT = 1e-6
_AMORT = {"level_payment": 0, "straight_line": 1, "bullet": 2, "schedule": 3}
_CONSEQUENCE = {"event_of_default": 0, "cash_sweep": 1, "lock_up": 2}


@numba.njit(cache=True, nogil=True)
def _scheduled(
    amort: int,
    month: int,
    tenor: int,
    balance: float,
    i: float,
    principal0: float,
    share: Float64Array,
) -> float:
    if month >= tenor:
        return balance
    if amort == 0:
        n_left = tenor - month + 1
        if i > 0.0:
            payment = balance * i / (-math.expm1(-n_left * math.log1p(i)))
        else:
            payment = balance / n_left
        return min(payment - balance * i, balance)
    if amort == 1:
        return min(principal0 / tenor, balance)
    if amort == 2:
        return 0.0
    return float(min(share[month - 1] * principal0, balance))


@numba.njit(cache=True, nogil=True)
def waterfall_loop(
    cfads: Float64Array,
    collateral: Float64Array,
    monthly_rate: Float64Array,
    n: int,
    principal0: float,
    amort: int,
    share: Float64Array,
    dsra_months: float,
    refi_max_ltv: float,
    cov_kind: np.ndarray,
    cov_threshold: Float64Array,
    cov_window: np.ndarray,
    cov_cure: np.ndarray,
    cov_consequence: np.ndarray,
    dscr_window: int,
    out_f: Float64Array,
    out_b: np.ndarray,
    out_i: np.ndarray,
    out_p: Float64Array,
) -> None:
    """Fill the ledger arrays for every path (see ``run_waterfall_loop`` for the layout)."""
    n_paths = cfads.shape[0]
    n_cov = cov_kind.shape[0]
    for p in range(n_paths):
        balance = principal0
        live = True
        lockup = 0.0
        last_regular = 0.0
        counters = np.zeros(n_cov, dtype=np.int64)
        cum_cf = np.zeros(n + 1)
        cum_ds = np.zeros(n + 1)
        for t in range(n):
            cum_cf[t + 1] = cum_cf[t] + cfads[p, t]
        i0 = monthly_rate[p, 0]
        first_regular = balance * i0
        if n > 1:
            first_regular += _scheduled(amort, 1, n, balance, i0, principal0, share)
        dsra = dsra_months * first_regular
        out_p[p, 4] = dsra
        for t in range(n):
            if not live:
                continue
            month = t + 1
            final = month == n
            i = monthly_rate[p, t]
            out_b[p, t, 0] = True
            open_balance = balance
            interest = open_balance * i
            principal = _scheduled(amort, month, n, open_balance, i, principal0, share)
            if final and (amort == 2 or amort == 3):
                regular = min(principal, last_regular)
            else:
                regular = principal
            ds_regular = interest + regular
            last_regular = regular
            due = interest + principal
            cash = cfads[p, t]
            net = cash - due
            deficit = max(-net, 0.0)
            excess = max(net, 0.0)
            d_lk = min(deficit, lockup)
            deficit -= d_lk
            d_ds = min(deficit, dsra)
            deficit -= d_ds
            short = deficit > CENT
            refinanced = 0.0
            if (
                final
                and short
                and deficit <= principal + CENT
                and deficit <= refi_max_ltv * collateral[p, t] + CENT
            ):
                refinanced = deficit
                short = False
            if not short:
                deficit = 0.0
            received = max(due - deficit, 0.0)
            paid_int = min(received, interest)
            paid_prin = received - paid_int
            out_f[p, t, 15] = max(deficit - due, 0.0)
            lockup -= d_lk
            dsra -= d_ds
            if short:
                out_i[p, 0] = month
                out_i[p, 1] = 3 if final else 1
                out_p[p, 0] = open_balance - paid_prin + (interest - paid_int)
                out_p[p, 1] = dsra + lockup
            paying = not short
            balance = open_balance - paid_prin

            top = 0.0
            if paying and not final:
                top = min(excess, max(dsra_months * ds_regular - dsra, 0.0))
            dsra += top
            excess = excess - top if paying else 0.0

            cum_ds[month] = cum_ds[month - 1] + ds_regular
            if ds_regular > 0.0:
                month_dscr = cash / ds_regular
            else:
                month_dscr = math.inf
            if collateral[p, t] > 0.0:
                ltv = open_balance / collateral[p, t]
            else:
                ltv = math.inf
            if dscr_window > 0:
                lo = max(month - dscr_window, 0)
                tr_ds = cum_ds[month] - cum_ds[lo]
                trailing = (cum_cf[month] - cum_cf[lo]) / tr_ds if tr_ds > 0.0 else math.inf
            else:
                trailing = month_dscr
            sweep_on = False
            lock_on = False
            eod = False
            any_breach = False
            testable = paying and not final
            for c in range(n_cov):
                breach = False
                if cov_kind[c] == 0:
                    if month >= cov_window[c] and testable:
                        lo = month - cov_window[c]
                        breach = (cum_cf[month] - cum_cf[lo]) < cov_threshold[c] * (
                            cum_ds[month] - cum_ds[lo]
                        )
                else:
                    breach = testable and ltv > cov_threshold[c]
                counters[c] = counters[c] + 1 if breach else 0
                any_breach = any_breach or breach
                if breach and counters[c] > cov_cure[c]:
                    if cov_consequence[c] == 0:
                        eod = True
                    elif cov_consequence[c] == 1:
                        sweep_on = True
                    else:
                        lock_on = True
            if eod:
                out_i[p, 0] = month
                out_i[p, 1] = 2
                out_p[p, 0] = balance
                out_p[p, 1] = dsra + lockup + excess
                out_f[p, t, 17] = excess
                excess = 0.0
                paying = False
            sweep = min(excess, balance) if (paying and sweep_on) else 0.0
            balance -= sweep
            excess -= sweep
            to_lock = excess if (paying and lock_on and not sweep_on) else 0.0
            excess -= to_lock
            lockup += to_lock
            release = lockup if (paying and not lock_on) else 0.0
            lockup -= release
            repaid = paying and (final or balance <= CENT)
            if repaid:
                release += dsra + lockup
            distribution = excess + release
            if repaid or short or eod:
                dsra = 0.0
                lockup = 0.0
                balance = 0.0

            out_f[p, t, 0] = balance
            out_f[p, t, 1] = interest
            out_f[p, t, 2] = paid_int
            out_f[p, t, 3] = paid_prin
            out_f[p, t, 4] = sweep
            out_f[p, t, 5] = refinanced
            out_f[p, t, 6] = ds_regular
            out_f[p, t, 7] = dsra
            out_f[p, t, 8] = d_ds
            out_f[p, t, 9] = top
            out_f[p, t, 10] = lockup
            out_f[p, t, 11] = d_lk
            out_f[p, t, 12] = to_lock
            out_f[p, t, 13] = release
            out_f[p, t, 14] = distribution
            out_f[p, t, 16] = month_dscr
            out_f[p, t, 18] = trailing
            out_f[p, t, 19] = ltv
            out_b[p, t, 1] = any_breach
            live = paying and not repaid


_F_FIELDS = (
    "balance",
    "interest_due",
    "interest_paid",
    "principal_paid",
    "prepaid",
    "refinanced",
    "ds_scheduled",
    "dsra_balance",
    "dsra_draw",
    "dsra_topup",
    "lockup_balance",
    "lockup_draw",
    "lockup_in",
    "reserve_release",
    "distribution",
    "unfunded_opex",
    "dscr",
    "trapped",
    "dscr_trailing",
    "ltv",
)


def run_waterfall_loop(
    terms: LoanTerms,
    cfads: Float64Array,
    collateral_value: Float64Array,
    sofr: Float64Array,
    *,
    compiled: bool = True,
) -> DebtLedger:
    """``run_waterfall`` by a loop over paths; ``compiled=False`` runs the plain Python."""
    n_paths, n_all = cfads.shape
    n = min(terms.tenor_months, n_all)
    monthly = np.ascontiguousarray(terms.annual_rate(sofr) / 12.0)
    covs = terms.covenants
    dscr_cov = next((c for c in covs if c.kind == "min_dscr"), None)
    out_f = np.zeros((n_paths, n_all, len(_F_FIELDS)))
    out_b = np.zeros((n_paths, n_all, 2), dtype=np.bool_)
    out_i = np.zeros((n_paths, 2), dtype=np.int64)
    out_p = np.zeros((n_paths, 5))
    fn = waterfall_loop if compiled else waterfall_loop.py_func
    fn(
        np.ascontiguousarray(cfads),
        np.ascontiguousarray(collateral_value),
        monthly,
        n,
        float(terms.principal_usd),
        _AMORT[terms.amortisation],
        np.ascontiguousarray(terms.schedule_share, dtype=np.float64),
        float(terms.dsra_months),
        float(terms.refinancing_max_ltv),
        np.array([0 if c.kind == "min_dscr" else 1 for c in covs], dtype=np.int64),
        np.array([c.threshold for c in covs], dtype=np.float64),
        np.array([c.window_months for c in covs], dtype=np.int64),
        np.array([c.cure_period_months for c in covs], dtype=np.int64),
        np.array([_CONSEQUENCE[c.consequence] for c in covs], dtype=np.int64),
        dscr_cov.window_months if dscr_cov is not None else 0,
        out_f,
        out_b,
        out_i,
        out_p,
    )
    fields = {name: out_f[:, :, k] for k, name in enumerate(_F_FIELDS)}
    return DebtLedger(
        alive=out_b[:, :, 0],
        breach=out_b[:, :, 1],
        default_month=out_i[:, 0],
        default_kind=out_i[:, 1],
        ead=out_p[:, 0],
        pledged_cash=out_p[:, 1],
        initial_dsra=out_p[:, 4],
        **fields,
    )
