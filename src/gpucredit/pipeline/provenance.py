"""What a result records of how it was made: seed, paths, spec hash, version, parameter sources."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from gpucredit._version import __version__
from gpucredit.config.loading import spec_hash
from gpucredit.factors.options import default_model_record
from gpucredit.pipeline.miner_model import MinerModel
from gpucredit.pipeline.model import DealModel, RunConfig


def run_provenance(
    model: DealModel, config: RunConfig, backend: str, extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What a result records of how it was made (``SimulationResult.provenance``)."""
    return {
        "seed": config.seed,
        "n_paths": config.n_paths,
        "spec_hash": model.spec_hash,
        "version": __version__,
        "as_of": model.deal.as_of.isoformat(),
        "backend": backend,
        "factor_sources": dict(model.params.sources),
        "market_prices_of_risk": dataclasses.asdict(model.pricing),
        "default_model": default_model_record(
            model.plan.stress_hazard_multiplier, model.plan.asset_correlation, model.params.regime
        ),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **(extra or {}),
    }


def miner_provenance(
    model: MinerModel,
    seed: int,
    n_paths: int,
    attribution_paths: int,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """What a miner's result records of how it was made (``MinerResult.provenance``): the
    run's seed and paths, the attribution's paths (0: not run), the convergence settings and
    every parameter source."""
    spec = model.spec
    return {
        "seed": seed,
        "n_paths": n_paths,
        "version": __version__,
        "as_of": spec.as_of.isoformat(),
        "attribution_paths": attribution_paths,
        "spec_hash": spec_hash(spec),
        "convergence": {
            "enabled": spec.convergence.enabled,
            "stress_correlation": spec.convergence.stress_correlation,
            "copula": spec.convergence.copula,
        },
        "miner_market_sources": dict(model.market.sources),
        "convergence_sources": dict(model.convergence.sources),
        "market_prices_of_risk": dataclasses.asdict(model.pricing),
        "default_model": default_model_record(
            model.entities.stress_hazard_multiplier,
            model.entities.asset_correlation,
            model.params.regime,
        ),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **(extra or {}),
    }
