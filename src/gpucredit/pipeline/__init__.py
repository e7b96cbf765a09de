"""The only package that wires the stages (DESIGN.md section 1).

``spec -> scenarios -> asset cash flows -> waterfall -> default and recovery -> metrics``,
block by block, for a single loan, a capital structure and a miner alike; then the fair
spread is solved on the same paths and the breakeven rent on a deterministic path through the
same code. One idea per module:

- ``model``: ``RunConfig``, ``DealModel`` and ``build_model`` (the spec made ready), the
  pricing measure; ``miner_model`` the same for a miner;
- ``inputs``: a block's scenarios and asset cash flows (fleet and miner), and their cache;
- ``outcomes``: a block's waterfall, default and recovery (single loan, capital structure);
- ``passes``: the one main-pass driver over blocks and its accumulators;
- ``spreads``: the one fair-spread driver (P and Q, standard error, warm start);
- ``deterministic``: breakeven rent, glut stress, collateral at close;
- ``results``, ``path_cube``, ``provenance``, ``duration``: what a run returns;
- ``deal``, ``structure``, ``miner``: the entry points, each a composition of the above
  (``simulate_miner`` is re-exported by ``gpucredit.miners``).
"""

from gpucredit.pipeline.deal import simulate
from gpucredit.pipeline.deterministic import (
    StressOutcome,
    breakeven_rent,
    close_collateral_value,
    glut_stress,
    origination_collateral,
    run_deterministic,
)
from gpucredit.pipeline.duration import measure_duration
from gpucredit.pipeline.inputs import BlockInputs, SpreadInputs

# the stages' old private names, which tests and benchmarks import from here
from gpucredit.pipeline.inputs import block_inputs as _inputs  # noqa: F401
from gpucredit.pipeline.model import DealModel, RunConfig, build_model, resolve_pricing, step_labels
from gpucredit.pipeline.outcomes import contracts_uplift as _contracts_uplift  # noqa: F401
from gpucredit.pipeline.outcomes import loan_waterfall as _waterfall  # noqa: F401
from gpucredit.pipeline.results import SimulationResult, StructureReport, finite_or_none
from gpucredit.pipeline.structure import simulate_structure

__all__ = [
    "BlockInputs",
    "DealModel",
    "RunConfig",
    "SimulationResult",
    "SpreadInputs",
    "StressOutcome",
    "StructureReport",
    "breakeven_rent",
    "build_model",
    "close_collateral_value",
    "finite_or_none",
    "glut_stress",
    "measure_duration",
    "origination_collateral",
    "resolve_pricing",
    "run_deterministic",
    "simulate",
    "simulate_structure",
    "step_labels",
]
