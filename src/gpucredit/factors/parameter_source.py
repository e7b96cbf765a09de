"""Which factor parameters a run uses, and where they come from: one path for every entry point.

``gpucredit.simulate``, ``gpucredit.simulate_miner`` and ``gpucredit run`` take the same
``calibration`` argument, resolved here (below the pipeline, so the API and the CLI share it):

``"latest"`` (the default everywhere)
    The newest calibration in the market store dated on or before the deal's as-of date and
    at most ``MAX_CALIBRATION_AGE_DAYS`` before it (or before the last data date, when that is
    earlier); when there is none, one is fitted as of that date and stored. Never a
    calibration dated after the deal.
a stored id (``"cal-..."``)
    That calibration; refused when its as-of date is after the deal's.
``"sourced"`` (alias ``"default"``)
    The hand-set, sourced parameters of ``factors/defaults.py``, without the store.

A fit (:func:`run_calibration`) reads the store: the SOFR series and the GPU rent index, the
shipped one by default or a series the user imported (``rent_series``), and uses only data
dated on or before its as-of date. See ``docs/calibration.md``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gpucredit.config.miner import MinerSpec
from gpucredit.config.spec import DealSpec
from gpucredit.errors import DataError, SpecError, SpecIssue
from gpucredit.factors.bitcoin import (
    fit_btc_jump_diffusion,
    fit_hashrate,
    hashprice_params,
    monthly_return_quantile_check,
)
from gpucredit.factors.calibrate import Calibration, calibrate_factors, shipped_rent_index
from gpucredit.factors.defaults import default_factor_params
from gpucredit.factors.miner_params import MinerMarketParams, miner_market_params
from gpucredit.factors.params import FactorParams
from gpucredit.market.history import data_span, sofr_on
from gpucredit.market.rent_index import generation_of_series, series_rent_index
from gpucredit.market.store import MarketStore, StoredCalibration, shipped_data_hash

__all__ = [
    "DEFAULT_CALIBRATION",
    "MAX_CALIBRATION_AGE_DAYS",
    "MINER_GPU_GENERATION",
    "SOURCED",
    "ParameterSource",
    "check_as_of",
    "default_calibration_as_of",
    "engine_use",
    "resolve",
    "run_calibration",
]

#: The one default of ``calibration`` for the API and the CLI.
DEFAULT_CALIBRATION = "latest"
#: The name of the hand-set sourced parameters (``"default"`` is accepted as an alias).
SOURCED = "sourced"
#: ``latest`` uses a stored calibration at most this many days older than the deal's as-of
#: date (or the last data date, if earlier), a quarter; an older one is not "latest" for the
#: deal and a fresh fit as of that date is stored instead.
MAX_CALIBRATION_AGE_DAYS = 92
#: GPU generation of the rent index a miner's GPU market follows (hosting tenants' factor).
MINER_GPU_GENERATION = "H100"


@dataclass(frozen=True, slots=True)
class ParameterSource:
    """The parameter set a run uses.

    Attributes
    ----------
    calibration : Calibration or None
        The stored calibration; None for the sourced defaults.
    calibration_id : str
        ``"cal-..."`` or ``"sourced"``: written into every result's provenance.
    data_hash : str
        Hash of the data the parameters were fitted on (the shipped files' for ``sourced``).
    db_path : Path or None
        The store the calibration came from (None for ``sourced``).
    stored_params : dict or None
        The stored JSON parameters (bitcoin and hash-rate fits for miners).
    """

    calibration: Calibration | None
    calibration_id: str
    data_hash: str
    db_path: Path | None
    stored_params: dict[str, Any] | None = None

    def factor_params(
        self, generations: tuple[str, ...], as_of: dt.date, *, rent_prior: bool = False
    ) -> FactorParams:
        """GPU, SOFR and regime parameters as seen on ``as_of`` (``rent_prior``: a stated
        prior may anchor a rent with no data before ``as_of``, see ``factors/defaults.py``)."""
        if self.calibration is None:
            return default_factor_params(generations, as_of, rent_prior=rent_prior)
        return self.calibration.to_params(generations, as_of, rent_prior=rent_prior)

    def params_for(self, deal: DealSpec) -> FactorParams:
        """The factor parameters of a GPU deal (its generations, its as-of date)."""
        generations = tuple(dict.fromkeys(c.generation for c in deal.fleet))
        return self.factor_params(generations, deal.as_of)

    def miner_params_for(self, miner: MinerSpec) -> tuple[FactorParams, MinerMarketParams]:
        """The GPU factor parameters and the miner market (the stored bitcoin and hash-rate
        fits when the calibration has them; fitted on the shipped data to the miner's as-of
        date otherwise). A miner owns no GPU rent, so its rent anchor may be the prior."""
        gpu = self.factor_params((MINER_GPU_GENERATION,), miner.as_of, rent_prior=True)
        stored = (
            self.stored_params if self.stored_params and "bitcoin" in self.stored_params else None
        )
        return gpu, miner_market_params(miner.as_of, stored)

    def provenance(self) -> dict[str, str]:
        """``calibration_id`` and ``data_hash``, as every result records them."""
        return {"calibration_id": self.calibration_id, "data_hash": self.data_hash}


def default_calibration_as_of() -> dt.date:
    """The last date of the shipped rates data (the engine's reference 'today')."""
    return sofr_on(dt.date.max).date


def check_as_of(as_of: dt.date, where: Path | str | None, field: str = "as_of") -> None:
    """Raise ``SpecError`` (naming ``where`` and ``field``) when ``as_of`` is outside the span
    of the shipped data: the first bitcoin price (2010-07) to the last data day."""
    first, last = data_span()
    if not first <= as_of <= last:
        raise SpecError(
            where,
            [
                SpecIssue(
                    field,
                    as_of.isoformat(),
                    f"a date within the data, {first} (first bitcoin price, btc_daily.csv) "
                    f"to {last} (last day of btc_daily.csv and rates_daily.csv)",
                )
            ],
        )


def _rent_data(
    store: MarketStore, as_of: dt.date, rent_series: str | None
) -> tuple[pd.DataFrame, str]:
    """The monthly rent index a fit uses and the hash of the data behind the calibration."""
    index = shipped_rent_index(as_of)
    if rent_series is None:
        return index, store.data_hash
    store.series_info(rent_series)  # DataError naming the known series when unknown
    daily = store.read_series(rent_series, end=as_of)
    generation = generation_of_series(rent_series)
    mine = (index["generation"] == generation) & (index["rental_type"] == "on_demand")
    chosen = series_rent_index(daily, generation=generation, name=rent_series)
    others = index[~mine].reset_index(drop=True)
    combined = others if chosen.empty else pd.concat([others, chosen], ignore_index=True)
    digest = hashlib.sha256(f"{store.data_hash}|rent_series {rent_series}\n".encode())
    for day, value, n in zip(daily["date"], daily["value"], daily["n_obs"], strict=True):
        digest.update(f"{day.isoformat()},{float(value)!r},{int(n)}\n".encode())
    return combined, digest.hexdigest()


def run_calibration(
    store: MarketStore, as_of: dt.date | None = None, *, rent_series: str | None = None
) -> StoredCalibration:
    """Fit every factor model as of ``as_of`` on the store's data and store the parameter set.

    GPU rents (the shipped index, or ``rent_series`` for its generation: a series of the
    store, e.g. a licensed index imported with ``gpucredit data import``), SOFR (read from the
    store) and regimes (``factors.calibrate``) drive the GPU engine; the bitcoin price
    (jump-diffusion), network hashrate and hashprice inputs (``factors.bitcoin``) are fitted
    and stored with them for the miner models, with their quantile check. Only data dated on or
    before ``as_of`` is used; a model without enough of it keeps its sourced priors (or, for
    bitcoin, is left out and fitted at run time) and the diagnostics say why.

    Parameters
    ----------
    store : MarketStore
        Where the data are read and the result stored.
    as_of : date, optional
        Default :func:`default_calibration_as_of`. Must lie in the data's span.
    rent_series : str, optional
        Name of the GPU rent series to fit (``gpucredit data list``); default the shipped index.

    Returns
    -------
    StoredCalibration
        Its id hashes the as-of date, the data hash (which covers ``rent_series`` and its
        values up to ``as_of``) and the parameters.
    """
    when = as_of or default_calibration_as_of()
    check_as_of(when, "command line", "--as-of")
    index, data_hash = _rent_data(store, when, rent_series)
    sofr = store.read_series("SOFR", end=when)
    rates = pd.DataFrame({"date": sofr["date"], "SOFR": sofr["value"]})
    cal = calibrate_factors(when, rent_index=index, rates=rates)
    params: dict[str, Any] = cal.to_dict()
    diagnostics: dict[str, Any] = cal.diagnostics()
    if rent_series is not None:
        params["rent_series"] = rent_series
    try:
        btc = fit_btc_jump_diffusion(when)
        hashrate = fit_hashrate(when)
        hashprice = hashprice_params(when)
    except DataError as exc:
        diagnostics["bitcoin"] = {"not_fitted": str(exc)}
    else:
        params["bitcoin"] = {
            "price": btc.to_dict(),
            "hashrate": hashrate.to_dict(),
            "hashprice": hashprice.to_dict(),
        }
        check = monthly_return_quantile_check(btc, n_paths=20_000)
        diagnostics["bitcoin"] = {
            "monthly_return_quantiles": json.loads(check.reset_index().to_json(orient="records"))
        }
    return store.save_calibration(when, params, diagnostics, data_hash=data_hash)


def engine_use(stored: StoredCalibration) -> dict[str, str]:
    """For each calibrated parameter, whether the engine uses the estimate or the prior."""
    params = Calibration.from_dict(stored.params).to_params(
        (MINER_GPU_GENERATION,), stored.as_of, rent_prior=True
    )
    prefix = "calibration."
    return {k[len(prefix) :]: v for k, v in params.sources.items() if k.startswith(prefix)}


def resolve(
    choice: str = DEFAULT_CALIBRATION,
    db: Path | str | None = None,
    as_of: dt.date | None = None,
) -> ParameterSource:
    """The parameters for ``calibration=choice`` as of ``as_of`` (a deal's as-of date).

    Parameters
    ----------
    choice : str
        ``"latest"``, ``"sourced"`` (alias ``"default"``) or a stored id ``"cal-..."``.
    db : Path, str or None
        The market store (default ``$GPUCREDIT_DB``, else the user data directory).
    as_of : date, optional
        The run's as-of date: no calibration dated after it is used. None: the newest stored.

    Raises
    ------
    SpecError
        A choice that is none of these.
    DataError
        An unknown id, or a stored calibration dated after ``as_of``.
    """
    if choice in (SOURCED, "default"):
        return ParameterSource(None, SOURCED, shipped_data_hash(), None)
    if choice != "latest" and not choice.startswith("cal-"):
        expected = "'latest', 'sourced' (alias 'default') or a stored id 'cal-...'"
        raise SpecError("calibration argument", [SpecIssue("calibration", choice, expected)])
    with MarketStore(db) as store:
        if choice == "latest":
            if as_of is None:
                stored = (
                    store.load_calibration() if store.has_calibration() else run_calibration(store)
                )
            else:
                target = min(as_of, default_calibration_as_of())
                found = store.latest_calibration(as_of)
                if found is None or (target - found.as_of).days > MAX_CALIBRATION_AGE_DAYS:
                    found = run_calibration(store, target)  # none recent enough: fit, store
                stored = found
        else:
            stored = store.load_calibration(choice)
            if as_of is not None and stored.as_of > as_of:
                raise DataError(
                    f"calibration {stored.id} is as of {stored.as_of}, after the run's as_of "
                    f"{as_of}: a run uses only parameters fitted on data up to its as-of date "
                    f"(use 'latest', or `gpucredit calibrate --as-of {as_of}`)"
                )
        return ParameterSource(
            Calibration.from_dict(stored.params),
            stored.id,
            stored.data_hash,
            store.path,
            stored_params=dict(stored.params),
        )
