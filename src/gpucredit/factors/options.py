"""A deal's own default-model and regime options over the calibrated ones.

A deal or a miner may set ``default_model`` (``config.spec.DefaultModelSpec``: the glut
hazard multiplier, the companies' asset correlation) and ``regime``
(``config.spec.RegimeSpec``: the tight/glut chain's switching probabilities and the regime
on the as-of date). A field left out keeps the calibrated value. These functions turn the
sections into the numbers the engine uses; docs/model.md "The default model as options".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from gpucredit.config.spec import DefaultModelSpec, RegimeSpec, evolve
from gpucredit.factors.params import GLUT, TIGHT, FactorParams, RegimeParams
from gpucredit.market.ratings import DEFAULT_ASSET_CORRELATION, stress_hazard_multiplier

__all__ = ["DefaultModel", "default_model", "default_model_record", "with_options", "with_regime"]

S = TypeVar("S", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class DefaultModel:
    """The numbers of the companies' default model.

    Attributes
    ----------
    stress_hazard_multiplier : float
        Factor on a company's default hazard in a glut month, >= 1.
    asset_correlation : float
        Correlation of the companies' one-factor Gaussian copula, in [0, 1).
    """

    stress_hazard_multiplier: float
    asset_correlation: float


def default_model(spec: DefaultModelSpec | None) -> DefaultModel:
    """The calibrated default model (multiplier 3.24, correlation 0.24), with the fields
    ``spec`` sets in their place."""
    multiplier = stress_hazard_multiplier()
    correlation = DEFAULT_ASSET_CORRELATION
    if spec is not None:
        if spec.stress_hazard_multiplier is not None:
            multiplier = spec.stress_hazard_multiplier
        if spec.asset_correlation is not None:
            correlation = spec.asset_correlation
    return DefaultModel(stress_hazard_multiplier=multiplier, asset_correlation=correlation)


def with_regime(params: FactorParams, spec: RegimeSpec | None) -> FactorParams:
    """``params`` with the regime chain's fields that ``spec`` sets in place of its own (the
    same object when ``spec`` sets none)."""
    if spec is None:
        return params
    base = params.regime
    initial = base.initial if spec.initial is None else {"tight": TIGHT, "glut": GLUT}[spec.initial]
    regime = RegimeParams(
        p_tight_to_glut=base.p_tight_to_glut
        if spec.p_tight_to_glut is None
        else spec.p_tight_to_glut,
        p_glut_to_tight=base.p_glut_to_tight
        if spec.p_glut_to_tight is None
        else spec.p_glut_to_tight,
        initial=initial,
    )
    return params if regime == base else dataclasses.replace(params, regime=regime)


def with_options(
    spec: S,
    default_model: DefaultModelSpec | Mapping[str, Any] | None = None,
    regime: RegimeSpec | Mapping[str, Any] | None = None,
) -> S:
    """``spec`` (a ``DealSpec`` or ``MinerSpec``) with its ``default_model`` and ``regime``
    sections replaced by the ones given (validated again), the same object when none is:
    the API's options are the spec's, so both give the same numbers bit for bit."""
    changes: dict[str, Any] = {}
    for name, value in (("default_model", default_model), ("regime", regime)):
        if value is not None:
            changes[name] = value.model_dump() if isinstance(value, BaseModel) else dict(value)
    return evolve(spec, **changes) if changes else spec


def default_model_record(
    stress_hazard_multiplier: float, asset_correlation: float, regime: RegimeParams
) -> dict[str, Any]:
    """The default model and regime chain a run used, for its provenance (JSON-ready):
    the glut hazard multiplier (ratio), the asset correlation (decimal), the chain's monthly
    switching probabilities and its regime on the as-of date (``tight`` or ``glut``)."""
    return {
        "stress_hazard_multiplier": float(stress_hazard_multiplier),
        "asset_correlation": float(asset_correlation),
        "regime": {
            "p_tight_to_glut": float(regime.p_tight_to_glut),
            "p_glut_to_tight": float(regime.p_glut_to_tight),
            "initial": "glut" if regime.initial == GLUT else "tight",
        },
    }
