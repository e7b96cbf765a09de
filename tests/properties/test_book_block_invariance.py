"""A book's numbers do not depend on how its paths are cut into blocks, nor on the waterfalls'
backend (``pipeline.book.simulate_book`` on the example book, 300 paths).

* Block sizes 64 and 300 give the same path losses, EL, tail figures (VaR, ES and their
  contributions at 99% and 99.9%), one-year and standalone distributions, chains, fire-sale
  rounds and tranche metrics, bit for bit: each block's shocks depend only on the seed and
  its paths, the fire-sale rounds decide per path, and the accumulators merge in path order.
* The NumPy reference waterfalls (``backend="numpy"``) give the compiled backend's path losses
  on the first 128 paths exactly (the two compute the same operations in the same order), and
  a 128-path run is the first 128 paths of the 300-path run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from gpucredit.config.book import load_book
from gpucredit.pipeline.book import BookModel, BookResult, build_book, simulate_book

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_BOOK = ROOT / "src" / "gpucredit" / "examples" / "books" / "neocloud_contagion_book.yaml"
PATHS = 300
SEED = 11


def _same(a: object, b: object) -> bool:
    """Bit-for-bit equality of figures: dataclasses field by field, arrays element by element
    (NaN nowhere: a book's figures are finite), sequences item by item."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            _same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
        )
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, tuple | list):
        return isinstance(b, tuple | list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


@pytest.fixture(scope="module")
def model() -> BookModel:
    return build_book(load_book(EXAMPLE_BOOK))


@pytest.fixture(scope="module")
def whole(model: BookModel) -> BookResult:
    return simulate_book(model, PATHS, SEED, block_size=PATHS)


def test_block_size_does_not_change_the_book(model: BookModel, whole: BookResult) -> None:
    cut = simulate_book(model, PATHS, SEED, block_size=64)
    assert np.array_equal(cut.path_losses_usd, whole.path_losses_usd)
    assert np.array_equal(cut.path_losses_alone_usd, whole.path_losses_alone_usd)
    assert np.array_equal(cut.path_losses_1y_usd, whole.path_losses_1y_usd)
    assert whole.path_losses_usd.max() > 0.0  # some path loses: the comparison is not vacuous
    for attr in ("summary", "summary_alone", "summary_1y"):
        a, b = getattr(cut, attr), getattr(whole, attr)
        assert a.el_usd == b.el_usd
        for level in (0.99, 0.999):
            assert _same(a.tail(level), b.tail(level))
    assert _same(cut.premium, whole.premium)
    assert _same(cut.positions, whole.positions)
    assert _same(cut.chains, whole.chains)
    assert _same(cut.tranches, whole.tranches)
    assert cut.fire_sale_rounds_max == whole.fire_sale_rounds_max
    assert cut.fire_sale_unconverged_paths == whole.fire_sale_unconverged_paths


def test_numpy_backend_equals_compiled(model: BookModel, whole: BookResult) -> None:
    n = 128
    reference = simulate_book(dataclasses.replace(model, backend="numpy"), n, SEED, block_size=n)
    assert np.array_equal(reference.path_losses_usd, whole.path_losses_usd[:n])
    assert np.array_equal(reference.path_losses_alone_usd, whole.path_losses_alone_usd[:n])
