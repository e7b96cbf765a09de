"""Scenario paths: the time grid, shock sources and the factor paths they produce."""

from gpucredit.scenarios.grid import TimeGrid, add_months
from gpucredit.scenarios.scenario import ScenarioSet, n_factors, simulate_scenarios
from gpucredit.scenarios.shocks import MonteCarloShocks, Shocks, ShockSource, StressPath

__all__ = [
    "MonteCarloShocks",
    "ScenarioSet",
    "ShockSource",
    "Shocks",
    "StressPath",
    "TimeGrid",
    "add_months",
    "n_factors",
    "simulate_scenarios",
]
