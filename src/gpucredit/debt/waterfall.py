"""The monthly waterfall of one term loan, vectorised over paths (loop over months only).

Each month, on every path where the loan is alive:

1. interest = balance x all-in annual rate / 12; principal due from the amortisation profile
   (the whole balance in the final month);
2. CFADS pays debt service; a shortfall (including an operating deficit) is met from the
   lock-up account, then the DSRA; what is still missing is a payment default, except in the
   final month where the unpaid balloon is refinanced if it is at most ``refinancing_max_ltv``
   of the collateral value (else a maturity default);
3. excess cash tops the DSRA up to ``dsra_months`` of this month's regular debt service;
4. covenants are tested (trailing DSCR once a full window has passed, LTV every month); a
   breach lasting longer than its cure period triggers its consequence: an event of default
   now, a sweep of excess cash into prepayment, or a lock-up of excess cash. An event of
   default is waived instead when the covenant's ``WaiverTerms`` hold (the balance after the
   month's payments is at most ``max_ltv`` of the month's collateral value, and fewer than
   ``max_waivers`` waivers have been granted): the breach counters of the waived covenants
   restart at 0, the amendment fee is capitalised into the balance and the rate steps up from
   the next month (one amendment a month, at the largest fee and step-up of the covenants
   waived); a covenant that triggers the same month and cannot be waived is still a default;
5. what is left is distributed; lock-up cash is released once no lock-up is in force, and the
   reserves at final repayment.
"""

from __future__ import annotations

import numpy as np

from gpucredit._typing import BoolArray, Float64Array, Int64Array
from gpucredit.debt.ledger import DebtLedger
from gpucredit.debt.schedule import scheduled_principal
from gpucredit.debt.terms import LoanTerms

__all__ = ["run_waterfall"]

#: Amounts below this many USD count as zero (floating-point dust, not money).
CENT = 1e-6


def run_waterfall(
    terms: LoanTerms,
    cfads: Float64Array,
    collateral_value: Float64Array,
    sofr: Float64Array,
) -> DebtLedger:
    """Run the loan's waterfall on one block of paths.

    Parameters
    ----------
    terms : LoanTerms
    cfads : ndarray, shape (path, month), USD per month
    collateral_value : ndarray, shape (path, month), USD at each month's end
    sofr : ndarray, shape (path, month), decimal per year

    Returns
    -------
    DebtLedger
    """
    n_paths, n_all = cfads.shape
    n = min(terms.tenor_months, n_all)
    shape = (n_paths, n_all)

    def z() -> Float64Array:
        return np.zeros(shape)

    alive_arr = np.zeros(shape, dtype=bool)
    balance_arr, int_due, int_paid, prin_paid, prepaid, refi = z(), z(), z(), z(), z(), z()
    ds_sched, dsra_bal, dsra_draw, dsra_top = z(), z(), z(), z()
    lk_bal, lk_draw, lk_in, dist, unfunded = z(), z(), z(), z(), z()
    released, trapped = z(), z()
    dscr, dscr_tr, ltv_arr = z(), z(), z()
    breach_arr = np.zeros(shape, dtype=bool)

    annual = terms.annual_rate(sofr)
    monthly = annual / 12.0
    cum_cfads = np.concatenate([np.zeros((n_paths, 1)), np.cumsum(cfads, axis=1)], axis=1)
    cum_ds = np.zeros((n_paths, n_all + 1))

    balance = np.full(n_paths, terms.principal_usd)
    live = np.ones(n_paths, dtype=bool)
    lockup = np.zeros(n_paths)
    last_regular = np.zeros(n_paths)
    default_month = np.zeros(n_paths, dtype=np.int64)
    default_kind = np.zeros(n_paths, dtype=np.int64)
    ead = np.zeros(n_paths)
    pledged = np.zeros(n_paths)
    counters = [np.zeros(n_paths, dtype=np.int64) for _ in terms.covenants]
    step_up = np.zeros(n_paths)  # cumulated waiver step-ups, decimal per year
    waivers = np.zeros(n_paths, dtype=np.int64)
    dscr_cov = next((c for c in terms.covenants if c.kind == "min_dscr"), None)

    # DSRA funded at close with dsra_months of the first month's regular debt service.
    i0 = monthly[:, 0]
    first_regular = balance * i0 + (
        scheduled_principal(terms, 1, balance, i0) if n > 1 else np.zeros(n_paths)
    )
    dsra = terms.dsra_months * first_regular
    initial_dsra = dsra.copy()

    for t in range(n):
        month = t + 1
        final = month == n
        i = monthly[:, t] + step_up / 12.0
        alive_arr[:, t] = live
        open_balance = np.where(live, balance, 0.0)
        interest = open_balance * i
        principal = np.where(live, scheduled_principal(terms, month, open_balance, i), 0.0)
        if final and terms.amortisation in ("bullet", "schedule"):
            regular = np.minimum(principal, last_regular)  # a balloon is not regular service
        else:
            regular = principal
        ds_regular = interest + regular
        last_regular = np.where(live, regular, last_regular)
        due = interest + principal
        cash = np.where(live, cfads[:, t], 0.0)

        net = cash - due
        deficit = np.maximum(-net, 0.0)
        excess = np.maximum(net, 0.0)
        d_lk = np.minimum(deficit, lockup)
        deficit -= d_lk
        d_ds = np.minimum(deficit, dsra)
        deficit -= d_ds
        short = live & (deficit > CENT)

        if final:
            can_refi = (
                short
                & (deficit <= principal + CENT)
                & (deficit <= terms.refinancing_max_ltv * collateral_value[:, t] + CENT)
            )
            refinanced = np.where(can_refi, deficit, 0.0)
            short = short & ~can_refi
        else:
            refinanced = np.zeros(n_paths)
        deficit = np.where(short, deficit, 0.0)

        # What the lender receives: all of it, or on a payment default what cash there was,
        # interest first.
        received = np.maximum(due - deficit, 0.0)
        paid_int = np.minimum(received, interest)
        paid_prin = received - paid_int
        unfunded[:, t] = np.maximum(deficit - due, 0.0)
        lockup -= d_lk
        dsra -= d_ds

        # Payment or maturity default this month.
        new_default = short
        default_month = np.where(new_default, month, default_month)
        default_kind = np.where(new_default, 3 if final else 1, default_kind)
        ead = np.where(new_default, open_balance - paid_prin + (interest - paid_int), ead)
        pledged = np.where(new_default, dsra + lockup, pledged)

        paying = live & ~new_default
        balance = np.where(live, open_balance - paid_prin, balance)

        # Reserve top-up from excess cash.
        target = terms.dsra_months * ds_regular
        top = np.where(
            paying & (not final), np.minimum(excess, np.maximum(target - dsra, 0.0)), 0.0
        )
        dsra += top
        excess = np.where(paying, excess - top, 0.0)

        # Covenant tests on the paths still paying.
        cum_ds[:, month] = cum_ds[:, month - 1] + np.where(live, ds_regular, 0.0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            month_dscr = np.where(
                ds_regular > 0.0, cash / np.where(ds_regular > 0, ds_regular, 1.0), np.inf
            )
            ltv = np.where(
                collateral_value[:, t] > 0.0,
                open_balance / np.where(collateral_value[:, t] > 0, collateral_value[:, t], 1.0),
                np.inf,
            )
        if dscr_cov is not None:
            w = dscr_cov.window_months
            lo = max(month - w, 0)
            tr_cf = cum_cfads[:, month] - cum_cfads[:, lo]
            tr_ds = cum_ds[:, month] - cum_ds[:, lo]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                trailing = np.where(tr_ds > 0.0, tr_cf / np.where(tr_ds > 0, tr_ds, 1.0), np.inf)
        else:
            trailing = month_dscr
        sweep_on = np.zeros(n_paths, dtype=bool)
        lock_on = np.zeros(n_paths, dtype=bool)
        eod = np.zeros(n_paths, dtype=bool)
        any_breach = np.zeros(n_paths, dtype=bool)
        testable = paying if not final else np.zeros(n_paths, dtype=bool)
        waivable: list[tuple[Int64Array, BoolArray]] = []
        fee = np.zeros(n_paths)
        step = np.zeros(n_paths)
        for cov, counter in zip(terms.covenants, counters, strict=True):
            if cov.kind == "min_dscr":
                if month < cov.window_months:
                    breach = np.zeros(n_paths, dtype=bool)
                else:
                    lo = month - cov.window_months
                    tr_cf = cum_cfads[:, month] - cum_cfads[:, lo]
                    tr_ds = cum_ds[:, month] - cum_ds[:, lo]
                    breach = testable & (tr_cf < cov.threshold * tr_ds)
            else:
                breach = testable & (ltv > cov.threshold)
            counter[:] = np.where(breach, counter + 1, 0)
            any_breach |= breach
            triggered = breach & (counter > cov.cure_period_months)
            if cov.consequence == "event_of_default":
                rule = cov.waiver
                if rule is None:
                    eod |= triggered
                else:
                    ok = (
                        triggered
                        & (balance <= rule.max_ltv * collateral_value[:, t])
                        & (waivers < rule.max_waivers)
                    )
                    eod |= triggered & ~ok
                    waivable.append((counter, ok))
                    fee = np.maximum(fee, np.where(ok, rule.fee, 0.0))
                    step = np.maximum(step, np.where(ok, rule.step_up, 0.0))
            elif cov.consequence == "cash_sweep":
                sweep_on |= triggered
            else:
                lock_on |= triggered

        # Waivers: one amendment on the paths where every triggered default was waived.
        waived = np.zeros(n_paths, dtype=bool)
        for _, ok in waivable:
            waived |= ok
        waived &= ~eod
        for counter, ok in waivable:
            counter[:] = np.where(waived & ok, 0, counter)
        balance = np.where(waived, balance + balance * fee, balance)
        step_up = np.where(waived, step_up + step, step_up)
        waivers = waivers + waived

        # Covenant event of default: the loan stops here; trapped cash goes to the lender.
        default_month = np.where(eod, month, default_month)
        default_kind = np.where(eod, 2, default_kind)
        ead = np.where(eod, balance, ead)
        pledged = np.where(eod, dsra + lockup + excess, pledged)
        trapped[:, t] = np.where(eod, excess, 0.0)
        excess = np.where(eod, 0.0, excess)
        paying = paying & ~eod

        sweep = np.where(paying & sweep_on, np.minimum(excess, balance), 0.0)
        balance = balance - sweep
        excess -= sweep
        to_lock = np.where(paying & lock_on & ~sweep_on, excess, 0.0)
        excess -= to_lock
        lockup += to_lock
        release = np.where(paying & ~lock_on, lockup, 0.0)
        lockup -= release
        repaid = paying & (final | (balance <= CENT))
        release = np.where(repaid, release + dsra + lockup, release)
        distribution = excess + release
        dsra = np.where(repaid | new_default | eod, 0.0, dsra)
        lockup = np.where(repaid | new_default | eod, 0.0, lockup)
        balance = np.where(repaid | new_default | eod, 0.0, balance)

        int_due[:, t] = interest
        int_paid[:, t] = paid_int
        prin_paid[:, t] = paid_prin
        prepaid[:, t] = sweep
        refi[:, t] = refinanced
        ds_sched[:, t] = np.where(live, ds_regular, 0.0)
        dsra_draw[:, t] = d_ds
        dsra_top[:, t] = top
        lk_draw[:, t] = d_lk
        lk_in[:, t] = to_lock
        released[:, t] = release
        dist[:, t] = np.where(live, distribution, 0.0)
        dsra_bal[:, t] = dsra
        lk_bal[:, t] = lockup
        balance_arr[:, t] = balance
        dscr[:, t] = np.where(live, month_dscr, 0.0)
        dscr_tr[:, t] = np.where(live, trailing, 0.0)
        ltv_arr[:, t] = np.where(live, ltv, 0.0)
        breach_arr[:, t] = any_breach
        live = paying & ~repaid

    return DebtLedger(
        alive=alive_arr,
        balance=balance_arr,
        interest_due=int_due,
        interest_paid=int_paid,
        principal_paid=prin_paid,
        prepaid=prepaid,
        refinanced=refi,
        ds_scheduled=ds_sched,
        dsra_balance=dsra_bal,
        dsra_draw=dsra_draw,
        dsra_topup=dsra_top,
        lockup_balance=lk_bal,
        lockup_draw=lk_draw,
        lockup_in=lk_in,
        reserve_release=released,
        distribution=dist,
        trapped=trapped,
        unfunded_opex=unfunded,
        dscr=dscr,
        dscr_trailing=dscr_tr,
        ltv=ltv_arr,
        breach=breach_arr,
        default_month=default_month,
        default_kind=default_kind,
        ead=ead,
        pledged_cash=pledged,
        initial_dsra=initial_dsra,
        waivers=waivers,
    )
