"""Specs: what the user says (frozen pydantic models), YAML loading and shipped presets."""

from gpucredit.config.loading import load_deal, parse_deal, spec_hash
from gpucredit.config.presets import GenerationPreset, generation_presets
from gpucredit.config.spec import DealSpec, evolve

__all__ = [
    "DealSpec",
    "GenerationPreset",
    "evolve",
    "generation_presets",
    "load_deal",
    "parse_deal",
    "spec_hash",
]
