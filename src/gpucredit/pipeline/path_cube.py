"""The path cube: the first ``keep_paths`` paths of a run as an xarray Dataset, every variable
with its dims and units and the run's provenance in its attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from gpucredit._typing import Float64Array
from gpucredit.debt.ledger import DebtLedger
from gpucredit.debt.structure import StructureLedger
from gpucredit.pipeline.inputs import BlockInputs
from gpucredit.pipeline.model import DealModel, step_labels


def loan_slice(inputs: BlockInputs, ledger: DebtLedger, cut: int) -> dict[str, np.ndarray]:
    alive = ledger.alive[:cut]
    month = np.arange(1, alive.shape[1] + 1)[None, :]
    dm = ledger.default_month[:cut, None]
    return {
        "dscr": np.where(alive, ledger.dscr[:cut], np.nan),
        "dscr_trailing": np.where(alive, ledger.dscr_trailing[:cut], np.nan),
        "ltv": np.where(alive, ledger.ltv[:cut], np.nan),
        "balance": ledger.balance[:cut],
        "opex": inputs.cash.opex_usd[:cut],
        "dsra": ledger.dsra_balance[:cut],
        "defaulted": (dm > 0) & (month >= dm),
        "breach": ledger.breach[:cut],
        **market_slice(inputs, cut),
        # the schedule's rows (reports.xlsx): what was paid, and the DSCR's denominator
        "interest_paid": ledger.interest_paid[:cut],
        "principal_paid": ledger.principal_paid[:cut] + ledger.prepaid[:cut],
        "debt_service": ledger.ds_scheduled[:cut],
    }


def market_slice(inputs: BlockInputs, cut: int) -> dict[str, np.ndarray]:
    """The first ``cut`` paths of the asset side and the market, for the path cube."""
    scen, cash = inputs.scenarios, inputs.cash
    return {
        "cfads": cash.cfads_usd[:cut],
        "revenue": cash.revenue_usd[:cut],
        "collateral_value": cash.collateral_value_usd[:cut],
        "utilisation": scen.utilisation[:cut],
        "sofr": scen.sofr[:cut],
        "regime": scen.regime[:cut],
        "rent": scen.rent[:cut],
    }


UNITS = {
    "dscr": "ratio (NaN where the loan is not outstanding)",
    "dscr_trailing": "ratio, trailing window of the first DSCR covenant",
    "ltv": "ratio: balance / income-approach collateral value",
    "balance": "USD, end of month",
    "cfads": "USD per month",
    "revenue": "USD per month",
    "opex": "USD per month",
    "collateral_value": "USD, income approach",
    "dsra": "USD, end of month",
    "interest_paid": "USD per month",
    "principal_paid": "USD per month, incl. prepayments and a refinanced balloon",
    "debt_service": "USD per month: scheduled interest + regular principal (DSCR denominator)",
    "defaulted": "bool: defaulted in or before this month",
    "breach": "bool: a covenant breached this month",
    "utilisation": "share of hours rented (merchant)",
    "sofr": "decimal per year",
    "regime": "0 tight, 1 glut",
    "rent": "USD per GPU-hour (market index)",
    "loss": "USD: the lender's loss on the path (0 where the loan does not default)",
}


def _flat_attrs(prefix: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """``record``'s leaves as ``prefix + key`` (nested keys joined with ``_``)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, Mapping):
            out.update(_flat_attrs(f"{prefix}{key}_", value))
        else:
            out[f"{prefix}{key}"] = value
    return out


def paths_dataset(
    model: DealModel,
    arrays: dict[str, np.ndarray],
    provenance: dict[str, Any],
    variables: Mapping[str, tuple[tuple[str, ...], str]] | None = None,
    coords: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """The path cube: ``variables`` gives each array's dims and units (single loans: by
    ``UNITS``, dims (path, month[, generation]))."""
    n_paths = next(iter(arrays.values())).shape[0]
    data_vars: dict[str, Any] = {}
    for name, value in arrays.items():
        if variables is not None:
            dims, units = variables[name]
        else:
            dims = ("path", "month", "generation") if value.ndim == 3 else ("path", "month")
            dims = ("path",) if value.ndim == 1 else dims  # one figure per path (the loss)
            units = UNITS[name]
        data_vars[name] = xr.Variable(dims, value, attrs={"units": units})
    # netCDF attributes are flat: the default model's nested record becomes prefixed keys
    attrs = {
        k: v for k, v in provenance.items() if k != "factor_sources" and not isinstance(v, Mapping)
    }
    attrs.update(_flat_attrs("default_model_", provenance.get("default_model", {})))
    return xr.Dataset(
        data_vars,
        coords={
            "path": np.arange(n_paths),
            "month": np.arange(1, model.grid.n_months + 1),
            "date": ("month", np.array(model.grid.month_ends, dtype="datetime64[D]")),
            "generation": list(model.params.generations),
            **(coords or {}),
        },
        attrs=attrs,
    )


def structure_slice(
    inputs: BlockInputs, ledger: StructureLedger, llcr: Float64Array, cut: int
) -> dict[str, np.ndarray]:
    month = np.arange(1, ledger.cfads.shape[1] + 1)[None, :]
    per = ledger.facilities

    def stack(values: list[np.ndarray]) -> np.ndarray:
        return np.stack([v[:cut] for v in values], axis=2)

    alive = stack([fl.alive for fl in per])
    return {
        "balance": stack([fl.balance for fl in per]),
        "facility_dscr": np.where(alive, stack([fl.dscr for fl in per]), np.nan),
        "interest_paid": stack([fl.interest_paid for fl in per]),
        "principal_paid": stack([fl.principal_paid + fl.prepaid for fl in per]),
        "dsra": stack([fl.dsra_balance for fl in per]),
        "defaulted": stack(
            [(fl.default_month[:, None] > 0) & (month >= fl.default_month[:, None]) for fl in per]
        ),
        "step_paid": ledger.step_paid[:cut],
        "dscr": np.where(ledger.debt_service[:cut] > 0, ledger.dscr[:cut], np.nan),
        "llcr": llcr[:cut, 1:],
        "lockup": ledger.lockup_balance[:cut],
        **market_slice(inputs, cut),
        # the schedule's rows (reports.xlsx): opex and the deal DSCR's denominator
        "opex": inputs.cash.opex_usd[:cut],
        "debt_service": ledger.debt_service[:cut],
    }


STRUCTURE_VARS = {
    "balance": (("path", "month", "facility"), "USD, end of month"),
    "facility_dscr": (
        ("path", "month", "facility"),
        "ratio: CFADS / debt service of the facility and those senior to it",
    ),
    "interest_paid": (("path", "month", "facility"), "USD per month"),
    "principal_paid": (("path", "month", "facility"), "USD per month, incl. prepayments"),
    "dsra": (("path", "month", "facility"), "USD, end of month"),
    "opex": (("path", "month"), UNITS["opex"]),
    "debt_service": (("path", "month"), "USD per month: all facilities' scheduled service"),
    "defaulted": (("path", "month", "facility"), "bool: defaulted in or before this month"),
    "step_paid": (("path", "month", "step"), "USD paid by each waterfall step"),
    "dscr": (("path", "month"), "deal DSCR (NaN where no service is due)"),
    "llcr": (("path", "month"), "deal LLCR after the month's payment"),
    "lockup": (("path", "month"), "USD, end of month"),
    "rent": (("path", "month", "generation"), UNITS["rent"]),
    **{
        name: (("path", "month"), UNITS[name])
        for name in ("cfads", "revenue", "collateral_value", "utilisation", "sofr", "regime")
    },
    "loss": (("path", "facility"), "USD: each facility's loss on the path (0 without default)"),
}


def structure_dataset(
    model: DealModel, arrays: dict[str, np.ndarray], provenance: dict[str, Any]
) -> xr.Dataset:
    assert model.structure is not None
    extra = {"facility": list(model.structure.names), "step": list(step_labels(model))}
    return paths_dataset(model, arrays, provenance, STRUCTURE_VARS, extra)
