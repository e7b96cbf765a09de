"""Bitcoin miners end to end: the double-leveraged balance sheet under correlation convergence.

``miner spec -> GPU factor paths (regime, rents, SOFR) -> miner market (BTC, hash rate, fees,
hashprice; correlated with the GPU shocks, converging in stress) -> miner cash flows and
collateral (mining with curtailment, hosting leases, ASIC and lease values, treasury) -> the
BTC margin loan's LTV ladder -> the other facilities' waterfall (equipment loans, hosting
notes, convertibles; cross-default with the margin loan) -> recovery and metrics``.

On top of the Monte Carlo run: each facility's fair spread; the *double-leverage premium*
(fair spread and EL with convergence on minus off, same paths); and the Shapley attribution
of the borrower's EL and PD to the factor groups ``bitcoin``, ``network`` (hash rate and fees),
``gpu_rent`` (GPU rents, utilisation, the market regime and the hosting tenants' defaults) and
``rates`` (SOFR), each frozen at its median path in turn.

A miner goes through the stages of ``gpucredit.pipeline`` like any deal (its model in
``pipeline.miner_model``, its block inputs in ``pipeline.inputs``, the entry point
``simulate_miner`` in ``pipeline.miner``, its debt as one program of the waterfall engine in
``pipeline.miner_debt``: the margin loan's LTV ladder first, then the other facilities); this
module re-exports the miner's public names from where users import them.
"""

from __future__ import annotations

from gpucredit.factors.parameter_source import MINER_GPU_GENERATION
from gpucredit.pipeline.duration import miner_duration
from gpucredit.pipeline.inputs import MinerInputs, gpu_market_factor, miner_inputs
from gpucredit.pipeline.miner import simulate_miner
from gpucredit.pipeline.miner_model import (
    FACTOR_GROUPS,
    LEASE_ASSIGNMENT_COST,
    RIG_TH_S,
    MinerModel,
    MinerRecovery,
    build_miner_model,
)
from gpucredit.pipeline.results import MinerResult

__all__ = [
    "FACTOR_GROUPS",
    "LEASE_ASSIGNMENT_COST",
    "MINER_GPU_GENERATION",
    "RIG_TH_S",
    "MinerInputs",
    "MinerModel",
    "MinerRecovery",
    "MinerResult",
    "build_miner_model",
    "gpu_market_factor",
    "miner_duration",
    "miner_inputs",
    "simulate_miner",
]
