"""Random streams that do not depend on how paths are split into blocks.

Every stochastic component draws from its own stream, and every fixed-size *granule* of paths
has its own stream inside that component, spawned from one ``SeedSequence``. A block of paths
``[start, stop)`` draws the granules it overlaps and slices them, so path ``i`` sees the same
numbers whatever the block size or the number of workers (NumPy, "Parallel random number
generation": independent streams via ``SeedSequence.spawn_key``).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

import numpy as np

from gpucredit._typing import Float64Array

__all__ = ["GRANULE_PATHS", "Component", "draw_paths"]

#: Paths per random stream. Fixed forever: changing it changes every number.
GRANULE_PATHS = 256


class Component(IntEnum):
    """Stochastic components; each owns one family of streams. Append, never renumber."""

    FACTOR_NORMALS = 0
    REGIME_UNIFORMS = 1
    TENANT_UNIFORMS = 2
    ENTITY_FACTOR = 3  # systematic factor of the tenant and guarantor default copula
    MINER_NORMALS = 4  # bitcoin price, hashrate and fee shocks
    MINER_MIXING = 5  # chi-square mixing variables of the Student-t copula
    CREDIT_WINDOW = 6  # uniforms of the credit market's refinancing-window chain
    PARENT_UNIFORMS = 7  # a deal's parent that is no tenant or guarantor (its own stream)
    CONSTRUCTION = 8  # normals of the deliveries' construction delays and cost overruns
    EQUITY_NORMALS = 9  # the borrower's own share-price shocks (factors.equity)
    MINER_GPU_TENANTS = 10  # default uniforms of the tenants of a miner's own GPU fleet
    BOOK_COMPANIES = 11  # a book's companies' default uniforms, one per company (pipeline.book)


def granule_generator(seed: int, component: Component, granule: int) -> np.random.Generator:
    """The generator of one granule of paths for one component."""
    sequence = np.random.SeedSequence(entropy=seed, spawn_key=(int(component), granule))
    return np.random.Generator(np.random.PCG64(sequence))


def draw_paths(
    seed: int,
    component: Component,
    start: int,
    stop: int,
    draw: Callable[[np.random.Generator, int], Float64Array],
) -> Float64Array:
    """Draw ``draw(rng, n)`` for paths ``[start, stop)``, first axis = path.

    Parameters
    ----------
    seed : int
        The run's seed.
    component : Component
        Which family of streams.
    start, stop : int
        Path range, ``0 <= start < stop``.
    draw : callable
        ``draw(rng, n_paths)`` returning an array whose first axis has length ``n_paths``.
        It must draw in a fixed order so the granule is reproducible.
    """
    if not 0 <= start < stop:
        raise ValueError(f"path range [{start}, {stop}) is empty or negative")
    first = start // GRANULE_PATHS
    last = (stop - 1) // GRANULE_PATHS
    parts = [
        draw(granule_generator(seed, component, g), GRANULE_PATHS) for g in range(first, last + 1)
    ]
    joined = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    offset = start - first * GRANULE_PATHS
    return joined[offset : offset + (stop - start)]
