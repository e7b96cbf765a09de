"""One path's monthly cash-flow schedule per facility, as an analyst's project-finance model
lays it out: the base case (the deterministic path) and kept Monte Carlo paths chosen by a
stated rule (the median and the 5th-percentile path by total CFADS).

No credit number is computed here: the rows are the waterfall's own ledgers (the base case
runs the same stages as ``pipeline.deterministic``; the kept paths are read from the result's
path cube).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gpucredit._typing import Float64Array
from gpucredit.factors.parameter_source import resolve as resolve_parameters
from gpucredit.factors.params import FactorParams
from gpucredit.pipeline.deterministic import run_deterministic, run_structure_deterministic
from gpucredit.pipeline.model import build_model
from gpucredit.pipeline.results import SimulationResult
from gpucredit.scenarios.grid import TimeGrid

__all__ = [
    "PATH_RULE",
    "CashSchedule",
    "base_case_schedules",
    "kept_path_schedules",
    "representative_paths",
]

#: How the median and 5th-percentile paths are chosen from the kept paths (shown in reports).
PATH_RULE = (
    "kept paths ranked by total CFADS over the horizon (USD, undiscounted); the median path is "
    "the one of rank floor(0.5 x (n - 1)), the 5th-percentile path the one of rank "
    "floor(0.05 x (n - 1)) (0 = lowest), ties broken by path number"
)


@dataclass(frozen=True, slots=True)
class CashSchedule:
    """One facility's monthly schedule on one path; every row is (month,).

    Attributes
    ----------
    facility : str
        The facility's name.
    label : str
        Which path: ``"base case"``, ``"median path"`` or ``"5th-percentile path"``.
    path : int or None
        The path number in the result's path cube (None for the base case).
    dates : tuple of datetime.date
        Month ends.
    revenue_usd, opex_usd, cfads_usd : USD per month, the deal's (all facilities share them).
    interest_usd, principal_usd : USD per month paid to this facility (principal includes
        prepayments and a refinanced balloon).
    debt_service_usd : USD per month, the DSCR's denominator: scheduled interest + regular
        principal of the loan (a capital structure: of all its facilities, the deal DSCR).
    dsra_usd, balance_usd : USD at month end: this facility's DSRA and principal outstanding.
    collateral_value_usd : USD, the collateral's income-approach value.
    """

    facility: str
    label: str
    path: int | None
    dates: tuple[dt.date, ...]
    revenue_usd: Float64Array
    opex_usd: Float64Array
    cfads_usd: Float64Array
    interest_usd: Float64Array
    principal_usd: Float64Array
    debt_service_usd: Float64Array
    dsra_usd: Float64Array
    balance_usd: Float64Array
    collateral_value_usd: Float64Array


def _dates(result: SimulationResult, n_months: int) -> tuple[dt.date, ...]:
    return tuple(TimeGrid(result.deal.as_of, n_months).month_ends)


def base_case_schedules(
    result: SimulationResult,
    *,
    params: FactorParams | None = None,
    db: Path | str | None = None,
) -> list[CashSchedule]:
    """Each facility's schedule on the base case: zero shocks, the initial regime, SOFR on its
    expected path, no tenant default (``pipeline.deterministic.run_deterministic``).

    Parameters
    ----------
    result : SimulationResult
        The run; its deal and factor parameters (``provenance["calibration_id"]``) are used.
    params : FactorParams, optional
        The factor parameters, for a result simulated with explicit ``params``.
    db : Path or str, optional
        The market store holding the result's calibration (default ``$GPUCREDIT_DB``).

    Returns
    -------
    list of CashSchedule
        One per facility, in the order of ``result.all_facilities``.

    Raises
    ------
    ValueError
        The result was simulated with explicit ``params`` and none are given here.
    """
    if params is None:
        calibration = str(result.provenance.get("calibration_id", "sourced"))
        if calibration == "explicit params":
            raise ValueError(
                f"deal {result.deal.name!r} was simulated with explicit factor parameters: "
                "pass the same ones as params="
            )
        chosen = resolve_parameters(calibration, db, result.deal.as_of)
        params = chosen.params_for(result.deal)
    model = build_model(result.deal, params)
    dates = _dates(result, model.grid.n_months)
    if model.structure is None:
        inputs, ledger = run_deterministic(model)
        return [_base_case(result.metrics.name, dates, inputs.cash, ledger, ledger.ds_scheduled)]
    inputs, deal_ledger = run_structure_deterministic(model)
    return [
        _base_case(name, dates, inputs.cash, fl, deal_ledger.debt_service)
        for name, fl in zip(model.structure.names, deal_ledger.facilities, strict=True)
    ]


def _base_case(
    facility: str, dates: Any, cash: Any, ledger: Any, debt_service: Any
) -> CashSchedule:
    """The base case's schedule of one facility from the deterministic run's (one-path)
    cash flows and the facility's ledger (a loan's, or one facility's of a structure, whose
    scheduled service is the deal's)."""
    return CashSchedule(
        facility=facility,
        label="base case",
        path=None,
        dates=dates,
        revenue_usd=cash.revenue_usd[0],
        opex_usd=cash.opex_usd[0],
        cfads_usd=cash.cfads_usd[0],
        interest_usd=ledger.interest_paid[0],
        principal_usd=ledger.principal_paid[0] + ledger.prepaid[0],
        debt_service_usd=debt_service[0],
        dsra_usd=ledger.dsra_balance[0],
        balance_usd=ledger.balance[0],
        collateral_value_usd=cash.collateral_value_usd[0],
    )


def representative_paths(result: SimulationResult) -> dict[str, int]:
    """The kept paths the schedules show, by :data:`PATH_RULE`: ``{"median path": i,
    "5th-percentile path": j}``; empty when the run kept no paths."""
    cube = result.paths
    if not cube.sizes or "cfads" not in cube:
        return {}
    total = np.asarray(cube["cfads"].values, dtype=np.float64).sum(axis=1)
    order = np.argsort(total, kind="stable")  # stable: ties keep path order
    n = order.shape[0]
    return {
        "median path": int(order[math.floor(0.5 * (n - 1))]),
        "5th-percentile path": int(order[math.floor(0.05 * (n - 1))]),
    }


def kept_path_schedules(result: SimulationResult, label: str, path: int) -> list[CashSchedule]:
    """Each facility's schedule on kept path ``path`` of the result's path cube.

    Parameters
    ----------
    result : SimulationResult
        The run (its ``paths`` must hold ``path``).
    label : str
        What the path is (e.g. ``"median path"``).
    path : int
        The path number, 0-based.

    Returns
    -------
    list of CashSchedule
        One per facility, in the order of ``result.all_facilities``.
    """
    cube = result.paths.isel(path=path)

    def row(name: str) -> Float64Array:
        return np.asarray(cube[name].values, dtype=np.float64)

    n_months = int(cube.sizes["month"])
    dates = _dates(result, n_months)
    shared = {
        "revenue_usd": row("revenue"),
        "opex_usd": row("opex"),
        "cfads_usd": row("cfads"),
        "collateral_value_usd": row("collateral_value"),
        "debt_service_usd": row("debt_service"),
    }
    if "facility" not in cube.dims:
        return [
            CashSchedule(
                facility=result.metrics.name,
                label=label,
                path=path,
                dates=dates,
                interest_usd=row("interest_paid"),
                principal_usd=row("principal_paid"),
                dsra_usd=row("dsra"),
                balance_usd=row("balance"),
                **shared,
            )
        ]
    names = [str(x) for x in cube.coords["facility"].values]
    return [
        CashSchedule(
            facility=name,
            label=label,
            path=path,
            dates=dates,
            interest_usd=np.asarray(cube["interest_paid"].sel(facility=name).values, np.float64),
            principal_usd=np.asarray(cube["principal_paid"].sel(facility=name).values, np.float64),
            dsra_usd=np.asarray(cube["dsra"].sel(facility=name).values, np.float64),
            balance_usd=np.asarray(cube["balance"].sel(facility=name).values, np.float64),
            **shared,
        )
        for name in names
    ]
