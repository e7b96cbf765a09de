"""Debt: loan terms, amortisation schedules and the waterfalls (NumPy oracles, compiled engine)."""

from gpucredit.debt.engine import run_loan, run_structure_compiled
from gpucredit.debt.ledger import DEFAULT_KINDS, DebtLedger
from gpucredit.debt.schedule import annuity_payment, scheduled_principal
from gpucredit.debt.terms import CovenantTerms, LoanTerms, loan_terms
from gpucredit.debt.waterfall import run_waterfall

__all__ = [
    "DEFAULT_KINDS",
    "CovenantTerms",
    "DebtLedger",
    "LoanTerms",
    "annuity_payment",
    "loan_terms",
    "run_loan",
    "run_structure_compiled",
    "run_waterfall",
    "scheduled_principal",
]
