"""gpucredit: credit risk of the debt that finances AI compute.

The public API is small on purpose: load a deal, simulate it, read the result.
"""

from gpucredit._version import __version__
from gpucredit.config.loading import load_deal, parse_deal
from gpucredit.config.miner import MinerSpec, load_miner, parse_miner
from gpucredit.config.spec import DealSpec, evolve
from gpucredit.errors import DataError, GpuCreditError, ModelError, SpecError
from gpucredit.miners import MinerResult, simulate_miner
from gpucredit.pipeline import RunConfig, SimulationResult, simulate
from gpucredit.scenarios.measure import MarketPricesOfRisk

__all__ = [
    "DataError",
    "DealSpec",
    "GpuCreditError",
    "MarketPricesOfRisk",
    "MinerResult",
    "MinerSpec",
    "ModelError",
    "RunConfig",
    "SimulationResult",
    "SpecError",
    "__version__",
    "evolve",
    "load_deal",
    "load_miner",
    "parse_deal",
    "parse_miner",
    "simulate",
    "simulate_miner",
]
