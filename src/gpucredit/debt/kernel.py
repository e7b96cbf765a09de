"""The same waterfall as ``waterfall.run_waterfall``, written as a plain loop over paths and months.

It serves twice: compiled by numba it is the fast backend (``nogil``, so blocks run on all
cores), and run as plain Python (``waterfall_loop.py_func``) it is the naive per-path
reference that the tests hold the vectorised engine to (STYLE.md 6).

Each per-month field is stored contiguously, ``(field, path, month)``, so the ledger's arrays
are dense; a caller that reads only a few fields (the Monte Carlo main pass) can ask for just
those, and the block then writes a quarter of the memory.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numba
import numpy as np

from gpucredit._typing import Float64Array, Int64Array
from gpucredit.debt.ledger import DebtLedger
from gpucredit.debt.schedule import annuity_factor
from gpucredit.debt.terms import LoanTerms

__all__ = ["LEDGER_MONTHLY_FIELDS", "run_waterfall_loop", "waterfall_loop"]

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
            payment = balance * i / annuity_factor(i, n_left)
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
    cov_waiver: np.ndarray,
    cov_waiver_ltv: Float64Array,
    cov_waiver_fee: Float64Array,
    cov_waiver_step: Float64Array,
    cov_waiver_max: np.ndarray,
    dscr_window: int,
    recorded: Int64Array,
    out_f: Float64Array,
    out_b: np.ndarray,
    out_i: np.ndarray,
    out_p: Float64Array,
) -> None:
    """Fill the ledger arrays for every path (see ``run_waterfall_loop`` for the layout).

    ``out_f[j]`` receives the month field ``recorded[j]`` (an index into ``_F_FIELDS``).
    ``cov_waiver[c]`` is 1 where covenant ``c`` has a waiver rule (``WaiverTerms``: max LTV,
    fee and step-up as decimals, max waivers); ``out_i[p, 2]`` receives the waivers granted.
    """
    n_paths = cfads.shape[0]
    n_cov = cov_kind.shape[0]
    n_rec = recorded.shape[0]
    counters = np.zeros(n_cov, dtype=np.int64)
    waived_c = np.zeros(n_cov, dtype=np.bool_)
    cum_cf = np.zeros(n + 1)
    cum_ds = np.zeros(n + 1)
    row = np.zeros(20)
    for p in range(n_paths):
        balance = principal0
        live = True
        lockup = 0.0
        last_regular = 0.0
        counters[:] = 0
        step_up = 0.0
        n_waivers = 0
        cum_cf[0] = 0.0
        cum_ds[0] = 0.0
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
                break
            month = t + 1
            final = month == n
            i = monthly_rate[p, t] + step_up / 12.0
            out_b[0, p, t] = True
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
            row[15] = max(deficit - due, 0.0)
            row[17] = 0.0
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
            any_waived = False
            fee = 0.0
            step = 0.0
            for c in range(n_cov):
                waived_c[c] = False
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
                        if (
                            cov_waiver[c] == 1
                            and balance <= cov_waiver_ltv[c] * collateral[p, t]
                            and n_waivers < cov_waiver_max[c]
                        ):
                            waived_c[c] = True
                            any_waived = True
                            fee = max(fee, cov_waiver_fee[c])
                            step = max(step, cov_waiver_step[c])
                        else:
                            eod = True
                    elif cov_consequence[c] == 1:
                        sweep_on = True
                    else:
                        lock_on = True
            if any_waived and not eod:
                for c in range(n_cov):
                    if waived_c[c]:
                        counters[c] = 0
                balance = balance + balance * fee
                step_up = step_up + step
                n_waivers += 1
                out_i[p, 2] = n_waivers
            if eod:
                out_i[p, 0] = month
                out_i[p, 1] = 2
                out_p[p, 0] = balance
                out_p[p, 1] = dsra + lockup + excess
                row[17] = excess
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

            row[0] = balance
            row[1] = interest
            row[2] = paid_int
            row[3] = paid_prin
            row[4] = sweep
            row[5] = refinanced
            row[6] = ds_regular
            row[7] = dsra
            row[8] = d_ds
            row[9] = top
            row[10] = lockup
            row[11] = d_lk
            row[12] = to_lock
            row[13] = release
            row[14] = distribution
            row[16] = month_dscr
            row[18] = trailing
            row[19] = ltv
            for j in range(n_rec):
                out_f[j, p, t] = row[recorded[j]]
            out_b[1, p, t] = any_breach
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


#: The per-month float fields of ``DebtLedger`` that ``run_waterfall_loop`` can record.
LEDGER_MONTHLY_FIELDS = _F_FIELDS


def run_waterfall_loop(
    terms: LoanTerms,
    cfads: Float64Array,
    collateral_value: Float64Array,
    sofr: Float64Array,
    *,
    compiled: bool = True,
    fields: Collection[str] | None = None,
) -> DebtLedger:
    """``run_waterfall`` by a loop over paths; ``compiled=False`` runs the plain Python.

    ``fields`` names the per-month float fields to record (``LEDGER_MONTHLY_FIELDS``; default
    all). Every other one comes back as a read-only all-NaN array that takes no memory, so a
    statistic computed from it fails loudly rather than silently. ``alive``, ``breach`` and
    the per-path fields are always recorded; the recorded numbers do not depend on ``fields``.
    """
    n_paths, n_all = cfads.shape
    n = min(terms.tenor_months, n_all)
    names: tuple[str, ...]
    if fields is None:
        names = _F_FIELDS
    else:
        unknown = sorted(set(fields) - set(_F_FIELDS))
        if unknown:
            raise ValueError(f"run_waterfall_loop(fields=...): {unknown} not in {list(_F_FIELDS)}")
        names = tuple(f for f in _F_FIELDS if f in fields)
    recorded = np.array([_F_FIELDS.index(f) for f in names], dtype=np.int64)
    monthly = terms.annual_rate(sofr)
    monthly /= 12.0
    monthly = np.ascontiguousarray(monthly)
    covs = terms.covenants
    dscr_cov = next((c for c in covs if c.kind == "min_dscr"), None)
    out_f = np.zeros((len(names), n_paths, n_all))
    out_b = np.zeros((2, n_paths, n_all), dtype=np.bool_)
    out_i = np.zeros((n_paths, 3), dtype=np.int64)
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
        # a cure beyond the horizon never ends, whatever its length: capped so int64 holds it
        np.array([min(c.cure_period_months, n + 1) for c in covs], dtype=np.int64),
        np.array([_CONSEQUENCE[c.consequence] for c in covs], dtype=np.int64),
        np.array([0 if c.waiver is None else 1 for c in covs], dtype=np.int64),
        np.array([0.0 if c.waiver is None else c.waiver.max_ltv for c in covs], dtype=np.float64),
        np.array([0.0 if c.waiver is None else c.waiver.fee for c in covs], dtype=np.float64),
        np.array([0.0 if c.waiver is None else c.waiver.step_up for c in covs], dtype=np.float64),
        np.array([0 if c.waiver is None else c.waiver.max_waivers for c in covs], dtype=np.int64),
        dscr_cov.window_months if dscr_cov is not None else 0,
        recorded,
        out_f,
        out_b,
        out_i,
        out_p,
    )
    missing = np.broadcast_to(np.float64(np.nan), (n_paths, n_all))
    kept = {name: out_f[j] for j, name in enumerate(names)}
    monthly_fields = {name: kept.get(name, missing) for name in _F_FIELDS}
    return DebtLedger(
        alive=out_b[0],
        breach=out_b[1],
        default_month=out_i[:, 0],
        default_kind=out_i[:, 1],
        ead=out_p[:, 0],
        pledged_cash=out_p[:, 1],
        initial_dsra=out_p[:, 4],
        waivers=out_i[:, 2],
        **monthly_fields,
    )
