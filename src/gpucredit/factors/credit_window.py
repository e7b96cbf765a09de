"""The credit market's refinancing window, calibrated on high-yield spread history.

A month is *shut* when the monthly-average ICE BofA US High Yield option-adjusted spread
(FRED ``BAMLH0A0HYM2``, shipped as ``data/hy_oas_monthly.csv``) is above a threshold: the
80th percentile of the monthly spreads known on the as-of date (so the window is shut about
one month in five over the history, as a stated definition). The two-state chain's switching
probabilities are the Markov-chain maximum-likelihood estimates, counted::

    p_open_to_shut = (open -> shut switches) / (open months followed by a month)

with standard error ``sqrt(p (1 - p) / n)``. The window's state at ``as_of`` is the state of
the last complete month on or before it. Point in time: a month enters only once it has ended
on or before ``as_of``. See ``docs/calibration.md`` ("The credit window").

Its link to the GPU regime (``CreditWindowParams.glut_multiplier``) is an assumption: the
shipped spread history has no shut month since 2020, while the GPU rent index starts in 2022,
so no joint data identify it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass
from functools import cache

import numba
import numpy as np
import pandas as pd

from gpucredit._typing import Float64Array, Int8Array
from gpucredit.factors.params import GLUT, OPEN, SHUT, CreditWindowParams, RegimeParams
from gpucredit.market.files import data_path

__all__ = [
    "GLUT_MULTIPLIER",
    "MIN_CREDIT_MONTHS",
    "SHUT_QUANTILE",
    "CreditWindowCalibration",
    "calibrate_credit_window",
    "count_switches",
    "credit_window_paths",
    "credit_window_paths_reference",
    "hy_oas_monthly",
    "window_states",
]

#: A month is shut when its average HY OAS exceeds this quantile of the monthly averages known
#: on the as-of date (0.8: the long-run 80th percentile, 6.73% over 1996-12..2026-07).
SHUT_QUANTILE = 0.8
#: An open window is this many times as likely to shut in a GPU-glut month as in a tight one
#: (``CreditWindowParams.glut_multiplier``). An assumption, not an estimate (no joint history).
GLUT_MULTIPLIER = 2.0
#: Fewest complete months of spread history the count needs; with fewer the window stays open.
MIN_CREDIT_MONTHS = 24


@cache
def hy_oas_monthly() -> pd.DataFrame:
    """The shipped monthly HY OAS: ``month`` (month start), ``hy_oas_pct`` (%), ``n_days``."""
    frame = pd.read_csv(data_path("hy_oas_monthly.csv"), parse_dates=["month"])
    return frame.sort_values("month").reset_index(drop=True)


def window_states(oas_pct: Float64Array, threshold_pct: float) -> np.ndarray:
    """0 (open) or 1 (shut) per month: shut where the spread is above ``threshold_pct`` (%)."""
    return np.where(np.asarray(oas_pct, dtype=np.float64) > threshold_pct, SHUT, OPEN).astype(
        np.int8
    )


def count_switches(states: np.ndarray) -> tuple[dict[str, int], dict[str, int]]:
    """Months at risk (in the state and followed by a month) and switches out, per state."""
    seq = [int(s) for s in states]
    at_risk: dict[str, int] = {}
    switches: dict[str, int] = {}
    for name, state in (("p_open_to_shut", OPEN), ("p_shut_to_open", SHUT)):
        at_risk[name] = sum(1 for s in seq[:-1] if s == state)
        switches[name] = sum(1 for s, nxt in itertools.pairwise(seq) if s == state != nxt)
    return at_risk, switches


@dataclass(frozen=True)
class CreditWindowCalibration:
    """Switching probabilities of the refinancing window and its state at ``as_of``.

    Attributes
    ----------
    as_of : date
        Nothing after it is used.
    threshold_pct : float
        HY OAS (%) above which a month is shut.
    p_open_to_shut, p_shut_to_open : float
        Monthly switching probabilities (counted MLE; 0 and 1 with no data: always open).
    std_errors : dict of str to float
        ``sqrt(p (1 - p) / n)`` (NaN with no month at risk).
    months_at_risk, switches : dict of str to int
        The counts behind each probability.
    initial : int
        State of the last complete month (0 open, 1 shut).
    first_month, last_month : str
        ISO month starts of the history used (empty with none).
    last_oas_pct : float
        HY OAS of the last month, % (NaN with none).
    n_months : int
        Complete months used.
    source : str
        What the numbers rest on.
    """

    as_of: dt.date
    threshold_pct: float
    p_open_to_shut: float
    p_shut_to_open: float
    std_errors: dict[str, float]
    months_at_risk: dict[str, int]
    switches: dict[str, int]
    initial: int
    first_month: str
    last_month: str
    last_oas_pct: float
    n_months: int
    source: str

    def to_params(self, glut_multiplier: float = GLUT_MULTIPLIER) -> CreditWindowParams:
        """The engine's window chain (``glut_multiplier`` as in :data:`GLUT_MULTIPLIER`)."""
        return CreditWindowParams(
            p_open_to_shut=self.p_open_to_shut,
            p_shut_to_open=self.p_shut_to_open,
            initial=self.initial,
            glut_multiplier=glut_multiplier,
        )


def calibrate_credit_window(
    as_of: dt.date, *, oas: pd.DataFrame | None = None
) -> CreditWindowCalibration:
    """Count the open/shut chain on the monthly HY OAS known on ``as_of``.

    Parameters
    ----------
    as_of : date
        Only months that ended on or before it are used.
    oas : pandas.DataFrame, optional
        Columns ``month`` (month start) and ``hy_oas_pct`` (%); default
        :func:`hy_oas_monthly`.

    Returns
    -------
    CreditWindowCalibration
        With fewer than ``MIN_CREDIT_MONTHS`` months: always open (``p_open_to_shut = 0``)
        and ``source`` says so.
    """
    frame = hy_oas_monthly() if oas is None else oas
    month = pd.to_datetime(frame["month"])
    ends = month + pd.offsets.MonthEnd(0)
    known = frame[(ends <= pd.Timestamp(as_of)) & frame["hy_oas_pct"].notna()]
    known = known.assign(month=pd.to_datetime(known["month"])).sort_values("month")
    spreads = known["hy_oas_pct"].to_numpy(dtype=np.float64)
    if spreads.size < MIN_CREDIT_MONTHS:
        return CreditWindowCalibration(
            as_of=as_of,
            threshold_pct=math.nan,
            p_open_to_shut=0.0,
            p_shut_to_open=1.0,
            std_errors={"p_open_to_shut": math.nan, "p_shut_to_open": math.nan},
            months_at_risk={},
            switches={},
            initial=OPEN,
            first_month="",
            last_month="",
            last_oas_pct=math.nan,
            n_months=int(spreads.size),
            source=(
                f"always open: {spreads.size} months of HY OAS to {as_of} "
                f"(fewer than {MIN_CREDIT_MONTHS})"
            ),
        )
    threshold = float(np.quantile(spreads, SHUT_QUANTILE))
    states = window_states(spreads, threshold)
    at_risk, switches = count_switches(states)
    probs: dict[str, float] = {}
    se: dict[str, float] = {}
    for name in ("p_open_to_shut", "p_shut_to_open"):
        n, k = at_risk[name], switches[name]
        p = k / n if n > 0 else (0.0 if name == "p_open_to_shut" else 1.0)
        probs[name] = p
        se[name] = math.sqrt(p * (1.0 - p) / n) if n > 0 else math.nan
    first = known["month"].iloc[0].date().isoformat()
    last = known["month"].iloc[-1].date().isoformat()
    return CreditWindowCalibration(
        as_of=as_of,
        threshold_pct=threshold,
        p_open_to_shut=probs["p_open_to_shut"],
        p_shut_to_open=probs["p_shut_to_open"],
        std_errors=se,
        months_at_risk=at_risk,
        switches=switches,
        initial=int(states[-1]),
        first_month=first,
        last_month=last,
        last_oas_pct=float(spreads[-1]),
        n_months=int(spreads.size),
        source=(
            f"ICE BofA US HY OAS (FRED BAMLH0A0HYM2), monthly means {first[:7]}..{last[:7]}: "
            f"shut above {threshold:.2f}% (the {SHUT_QUANTILE:.0%} quantile); "
            f"{switches['p_open_to_shut']} of {at_risk['p_open_to_shut']} open months shut, "
            f"{switches['p_shut_to_open']} of {at_risk['p_shut_to_open']} shut months opened; "
            f"{'shut' if states[-1] == SHUT else 'open'} in {last[:7]} "
            f"({spreads[-1]:.2f}%)"
        ),
    )


def credit_window_paths(
    window: CreditWindowParams,
    regime_params: RegimeParams,
    regime: Int8Array,
    uniforms: Float64Array | None,
) -> Int8Array:
    """Simulate the refinancing window month by month (compiled, path by path).

    In month ``t`` an open window shuts when ``u_t < p_open_to_shut[regime_t]`` (the GPU
    regime of that month, :meth:`CreditWindowParams.p_open_to_shut_by_regime`); a shut one
    opens when ``u_t < p_shut_to_open``. Elementwise per path, so the same draws give the same
    window whatever the block split; equal to ``credit_window_paths_reference``.

    Parameters
    ----------
    window : CreditWindowParams
    regime_params : RegimeParams
        The GPU chain (its stationary distribution splits ``p_open_to_shut``).
    regime : ndarray of int8, shape (path, month)
        The GPU regime paths (0 tight, 1 glut).
    uniforms : ndarray, shape (path, month), optional
        U(0, 1) draws; ``None``: the window keeps its initial state.

    Returns
    -------
    ndarray of int8, shape (path, month)
        0 open, 1 shut.
    """
    if uniforms is None:
        return np.full(regime.shape, window.initial, dtype=np.int8)
    p_tight, p_glut = window.p_open_to_shut_by_regime(regime_params)
    out = np.empty(regime.shape, dtype=np.int8)
    _window_kernel(
        np.asarray(regime, dtype=np.int8),
        np.asarray(uniforms, dtype=np.float64),
        float(p_tight),
        float(p_glut),
        float(window.p_shut_to_open),
        int(window.initial),
        out,
    )
    return out


@numba.njit(cache=True, nogil=True)
def _window_kernel(
    regime: Int8Array,
    uniforms: Float64Array,
    p_tight: float,
    p_glut: float,
    p_shut_to_open: float,
    initial: int,
    out: Int8Array,
) -> None:
    """The window of each path into ``out`` (path, month): 0 open, 1 shut."""
    for p in range(regime.shape[0]):
        state = initial
        for t in range(regime.shape[1]):
            u = uniforms[p, t]
            if state == OPEN:
                shut = u < (p_glut if regime[p, t] == GLUT else p_tight)
            else:
                shut = u >= p_shut_to_open
            state = SHUT if shut else OPEN
            out[p, t] = state


def credit_window_paths_reference(
    window: CreditWindowParams,
    regime_params: RegimeParams,
    regime: Int8Array,
    uniforms: Float64Array | None,
) -> Int8Array:
    """``credit_window_paths`` as a NumPy loop over months, vectorised over paths (the
    readable reference the compiled kernel is held equal to).

    The refinancing window, month by month.

    In month ``t`` an open window shuts when ``u_t < p_open_to_shut[regime_t]`` (the GPU
    regime of that month, :meth:`CreditWindowParams.p_open_to_shut_by_regime`); a shut one
    opens when ``u_t < p_shut_to_open``. Elementwise per path, so the same draws give the same
    window whatever the block split.

    Parameters
    ----------
    window : CreditWindowParams
    regime_params : RegimeParams
        The GPU chain (its stationary distribution splits ``p_open_to_shut``).
    regime : ndarray of int8, shape (path, month)
        The GPU regime paths (0 tight, 1 glut).
    uniforms : ndarray, shape (path, month), optional
        U(0, 1) draws; ``None``: the window keeps its initial state.

    Returns
    -------
    ndarray of int8, shape (path, month)
        0 open, 1 shut.
    """
    out = np.full(regime.shape, window.initial, dtype=np.int8)
    if uniforms is None:
        return out
    p_tight, p_glut = window.p_open_to_shut_by_regime(regime_params)
    state = np.full(regime.shape[0], window.initial, dtype=np.int8)
    for t in range(regime.shape[1]):
        u = uniforms[:, t]
        p_shut = np.where(regime[:, t] == GLUT, p_glut, p_tight)
        shut_now = np.where(state == OPEN, u < p_shut, u >= window.p_shut_to_open)
        state = np.where(shut_now, SHUT, OPEN).astype(np.int8)
        out[:, t] = state
    return out
