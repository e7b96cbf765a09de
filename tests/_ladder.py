"""The margin loan alone as a program of the one waterfall engine, for the ladder's tests."""

from __future__ import annotations

import numpy as np

from gpucredit.debt.facilities import with_margin
from gpucredit.debt.margin_loan import MarginLoanLedger, MarginLoanTerms
from gpucredit.debt.structure import StructureLedger, run_structure


def run_program(
    terms: MarginLoanTerms,
    btc_usd: np.ndarray,
    free_btc: np.ndarray,
    cash_usd: np.ndarray,
    sofr: np.ndarray,
) -> MarginLoanLedger:
    """``terms`` alone through ``run_structure`` (the NumPy engine): the ladder on every path
    and month, with ``cash_usd`` (path, month) >= 0 the cash it may take."""
    program = with_margin(None, terms)
    values = np.zeros((*np.shape(cash_usd), 1))
    out: StructureLedger = run_structure(
        program, cash_usd, values, sofr, btc_usd=btc_usd, free_btc=free_btc
    )
    assert out.margin is not None
    return out.margin
