"""Shapley axioms on random games: efficiency, symmetry, dummy player, additivity."""

from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpucredit.credit.attribution import MAX_GROUPS, attribute, shapley

VALUES = st.floats(-1e3, 1e3, allow_nan=False)


def _subsets(names: tuple[str, ...]) -> list[frozenset[str]]:
    return [frozenset(c) for k in range(len(names) + 1) for c in combinations(names, k)]


@st.composite
def games(draw: st.DrawFn) -> tuple[tuple[str, ...], dict[frozenset[str], float]]:
    n = draw(st.integers(1, MAX_GROUPS))
    names = tuple(f"g{i}" for i in range(n))
    return names, {s: draw(VALUES) for s in _subsets(names)}


@given(games())
def test_efficiency(game: tuple[tuple[str, ...], dict[frozenset[str], float]]) -> None:
    names, v = game
    phi = shapley(names, v.__getitem__)
    full = frozenset(names)
    # 1e-9 relative to the game's scale (1e3): float rounding over at most 80 terms
    assert v[frozenset()] + sum(phi.values()) == pytest.approx(v[full], abs=1e-9 * 1e3)
    result = attribute(names, lambda s: {"m": v[s]})["m"]
    assert result.baseline + sum(result.shapley.values()) == pytest.approx(result.total, abs=1e-6)
    assert result.joint == pytest.approx(
        result.total - result.baseline - sum(result.standalone.values()), abs=1e-9
    )


@given(
    st.integers(2, MAX_GROUPS), st.lists(VALUES, min_size=MAX_GROUPS + 1, max_size=MAX_GROUPS + 1)
)
def test_symmetric_players_get_equal_values(n: int, by_size: list[float]) -> None:
    # a value that depends only on how many groups are active: every player is symmetric
    names = tuple(f"g{i}" for i in range(n))
    phi = shapley(names, lambda s: by_size[len(s)])
    for name in names:
        assert phi[name] == pytest.approx(phi[names[0]], abs=1e-9)


@given(games())
def test_a_dummy_player_gets_zero(
    game: tuple[tuple[str, ...], dict[frozenset[str], float]],
) -> None:
    names, v = game
    # add a player that never changes the value
    dummy = "dummy"
    if len(names) == MAX_GROUPS:
        names = names[:-1]
    phi = shapley((*names, dummy), lambda s: v[s - {dummy}])
    assert phi[dummy] == pytest.approx(0.0, abs=1e-9)


@given(games(), st.floats(-10, 10, allow_nan=False))
def test_additivity_and_scaling(
    game: tuple[tuple[str, ...], dict[frozenset[str], float]], c: float
) -> None:
    names, v = game
    phi = shapley(names, v.__getitem__)
    scaled = shapley(names, lambda s: c * v[s] + len(s))  # c v + the "count" game
    for name in names:
        assert scaled[name] == pytest.approx(c * phi[name] + 1.0, abs=1e-6)
