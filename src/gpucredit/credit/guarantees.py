"""What the written backstops of a deal are worth to its lenders: the guarantor's expected
payments under the real-world measure P and the share of the lease revenue they back.

The payments are ``assets.fleet``'s (a written backstop pays ``share_pct`` of the rent after
the tenant's default, up to its cap, before ``until``, while the guarantor stands); the share
backed is ``assets.concentration``'s, over the contracts' remaining terms. An unlimited
backstop's payments are the lease's rent itself (inside the contracted revenue) and are not
counted here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpucredit.assets.concentration import customer_concentration
from gpucredit.config.spec import DealSpec
from gpucredit.stats import ExactSum

__all__ = ["GuaranteeReport", "guarantee_report"]


@dataclass(frozen=True, slots=True)
class GuaranteeReport:
    """A deal's written backstops.

    Attributes
    ----------
    written_backstops : int
        Contracts whose backstop is partial, capped or time-limited.
    expected_paid_usd : float
        Mean over the paths (P) of all the guarantors' payments over the horizon, USD.
    expected_paid_se_usd : float
        Its Monte Carlo standard error, USD.
    paid_probability : float
        Share of the paths on which a guarantor pays anything (0-1).
    guaranteed_share : float
        Share of the contracted revenue (remaining terms, from the as-of date) the backstops
        back, 0-1: an unlimited backstop its whole contract, a written one what it would pay
        were its tenant to default at once.
    """

    written_backstops: int
    expected_paid_usd: float
    expected_paid_se_usd: float
    paid_probability: float
    guaranteed_share: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "written_backstops": self.written_backstops,
            "expected_paid_usd": self.expected_paid_usd,
            "expected_paid_se_usd": self.expected_paid_se_usd,
            "paid_probability": self.paid_probability,
            "guaranteed_share": self.guaranteed_share,
        }


def guarantee_report(deal: DealSpec, paid: ExactSum, paying: ExactSum) -> GuaranteeReport | None:
    """The report of ``deal``'s written backstops, ``None`` when it has none.

    Parameters
    ----------
    paid : ExactSum
        Each path's total guarantor payments, USD (with moments).
    paying : ExactSum
        1.0 for each path on which a guarantor pays, else 0.0.
    """
    written = sum(1 for c in deal.contracts if c.guarantor is not None and c.guarantor.as_written)
    if written == 0 or paid.count == 0:
        return None
    return GuaranteeReport(
        written_backstops=written,
        expected_paid_usd=paid.mean(),
        expected_paid_se_usd=paid.standard_error(),
        paid_probability=paying.mean(),
        guaranteed_share=customer_concentration(deal).remaining_term.guaranteed_share,
    )
