"""Debt: loan terms, amortisation schedules and the waterfall (vectorised and per-path)."""

from gpucredit.debt.kernel import run_waterfall_loop
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
    "run_waterfall",
    "run_waterfall_loop",
    "scheduled_principal",
]
