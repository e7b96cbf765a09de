"""Unit constants. Rates are decimals inside the package; bp and % exist only at the edges."""

from __future__ import annotations

HOURS_PER_YEAR = 8760.0
MONTHS_PER_YEAR = 12
HOURS_PER_MONTH = HOURS_PER_YEAR / MONTHS_PER_YEAR  # 730 h: a 365-day year split evenly
BP = 1e-4
PCT = 1e-2
KW_PER_W = 1e-3
MWH_PER_KWH = 1e-3


def bp(value: float) -> float:
    """Basis points to a decimal rate."""
    return value * BP


def pct(value: float) -> float:
    """Percent to a decimal."""
    return value * PCT
