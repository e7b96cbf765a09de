"""Which factor parameters a run uses: the logic lives in
:mod:`gpucredit.factors.parameter_source` (below the pipeline, so that ``gpucredit.simulate``,
``gpucredit.simulate_miner`` and the CLI share one path); re-exported here for the CLI."""

from __future__ import annotations

from gpucredit.factors.parameter_source import (
    ParameterSource,
    default_calibration_as_of,
    engine_use,
    resolve,
    run_calibration,
)

__all__ = [
    "ParameterSource",
    "default_calibration_as_of",
    "engine_use",
    "resolve",
    "run_calibration",
]
