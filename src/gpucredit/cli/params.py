"""Which factor parameters a run uses, and where they come from.

``latest`` (the default): the newest calibration in the market store, fitted from the shipped
data (and the user's imports) on first use, so a fresh machine needs no extra step. An id
(``cal-...``) selects a stored one; ``default`` the hand-set, sourced parameters of
``factors/defaults.py`` without touching the store.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpucredit.config.miner import MinerSpec
from gpucredit.config.spec import DealSpec
from gpucredit.factors.bitcoin import (
    fit_btc_jump_diffusion,
    fit_hashrate,
    hashprice_params,
    monthly_return_quantile_check,
)
from gpucredit.factors.calibrate import Calibration, calibrate_factors
from gpucredit.factors.miner_params import MinerMarketParams, miner_market_params
from gpucredit.factors.params import FactorParams
from gpucredit.market.history import sofr_on
from gpucredit.market.store import MarketStore, StoredCalibration, shipped_data_hash
from gpucredit.miners import MINER_GPU_GENERATION

__all__ = [
    "ParameterSource",
    "default_calibration_as_of",
    "engine_use",
    "resolve",
    "run_calibration",
]


@dataclass(frozen=True, slots=True)
class ParameterSource:
    """The parameter set a run uses: None means the sourced defaults."""

    calibration: Calibration | None
    calibration_id: str | None
    data_hash: str
    db_path: Path | None
    stored_params: dict[str, Any] | None = None

    def params_for(self, deal: DealSpec) -> FactorParams | None:
        if self.calibration is None:
            return None
        generations = tuple(dict.fromkeys(c.generation for c in deal.fleet))
        return self.calibration.to_params(generations, deal.as_of)

    def miner_params_for(self, miner: MinerSpec) -> tuple[FactorParams | None, MinerMarketParams]:
        """The GPU factor parameters and the miner market (the stored bitcoin and hash-rate
        fits when the calibration has them; fitted on the shipped data otherwise)."""
        gpu = (
            None
            if self.calibration is None
            else self.calibration.to_params((MINER_GPU_GENERATION,), miner.as_of)
        )
        stored = (
            self.stored_params if self.stored_params and "bitcoin" in self.stored_params else None
        )
        return gpu, miner_market_params(miner.as_of, stored)


def default_calibration_as_of() -> dt.date:
    """The last date of the shipped rates data (the engine's reference 'today')."""
    return sofr_on(dt.date.max).date


def run_calibration(store: MarketStore, as_of: dt.date | None = None) -> StoredCalibration:
    """Fit every factor model as of ``as_of`` and store the parameter set.

    GPU rents, SOFR and regimes (``factors.calibrate``) drive today's engine; the bitcoin
    price (jump-diffusion), network hashrate and hashprice inputs (``factors.bitcoin``) are
    fitted and stored with them for the miner models, with their quantile check.
    """
    when = as_of or default_calibration_as_of()
    cal = calibrate_factors(when)
    btc = fit_btc_jump_diffusion(when)
    hashrate = fit_hashrate(when)
    params = cal.to_dict() | {
        "bitcoin": {
            "price": btc.to_dict(),
            "hashrate": hashrate.to_dict(),
            "hashprice": hashprice_params(when).to_dict(),
        }
    }
    check = monthly_return_quantile_check(btc, n_paths=20_000)
    diagnostics = cal.diagnostics() | {
        "bitcoin": {
            "monthly_return_quantiles": json.loads(check.reset_index().to_json(orient="records"))
        }
    }
    return store.save_calibration(when, params, diagnostics)


def engine_use(stored: StoredCalibration) -> dict[str, str]:
    """For each calibrated parameter, whether the engine uses the estimate or the prior."""
    params = Calibration.from_dict(stored.params).to_params(("H100",), stored.as_of)
    prefix = "calibration."
    return {k[len(prefix) :]: v for k, v in params.sources.items() if k.startswith(prefix)}


def resolve(choice: str, db: Path | None) -> ParameterSource:
    """The parameters for ``--calibration CHOICE`` (``latest``, ``default`` or an id)."""
    if choice == "default":
        return ParameterSource(None, None, shipped_data_hash(), None)
    with MarketStore(db) as store:
        if choice == "latest":
            stored = store.load_calibration() if store.has_calibration() else run_calibration(store)
        else:
            stored = store.load_calibration(choice)
        return ParameterSource(
            Calibration.from_dict(stored.params),
            stored.id,
            stored.data_hash,
            store.path,
            stored_params=dict(stored.params),
        )
