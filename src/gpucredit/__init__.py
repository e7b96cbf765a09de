"""gpucredit: credit risk of the debt that finances AI compute.

The public API is small on purpose: load a deal (or a book of them), simulate it, read the
result.
"""

from gpucredit._version import __version__
from gpucredit.config.book import Book, load_book
from gpucredit.config.loading import load_deal, parse_deal
from gpucredit.config.miner import MinerSpec, load_miner, parse_miner
from gpucredit.config.spec import DealSpec, evolve
from gpucredit.errors import DataError, GpuCreditError, ModelError, SpecError
from gpucredit.miners import MinerResult, simulate_miner
from gpucredit.pipeline import RunConfig, SimulationResult, simulate
from gpucredit.pipeline.book import BookModel, BookResult, build_book, simulate_book
from gpucredit.pipeline.sweep import sweep
from gpucredit.scenarios.measure import MarketPricesOfRisk

__all__ = [
    "Book",
    "BookModel",
    "BookResult",
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
    "build_book",
    "evolve",
    "load_book",
    "load_deal",
    "load_miner",
    "parse_deal",
    "parse_miner",
    "simulate",
    "simulate_book",
    "simulate_miner",
    "sweep",
]
