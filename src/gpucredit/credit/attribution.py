"""Which leg of the bet breaks the loan: Shapley attribution of credit metrics to factor groups.

A *value function* ``v(active)`` is a credit metric (EL, PD, ...) computed with only the
factor groups in ``active`` random and every other group frozen at its median path (the
scenario code freezes a group by zeroing its shocks). The Shapley value of group ``i`` is its
marginal contribution averaged over every order in which the groups can be switched on
(Shapley 1953, "A value for n-person games"):

``phi_i = sum_{S subset of N \\ {i}} |S|! (n - |S| - 1)! / n! (v(S + {i}) - v(S))``

computed exactly over the ``2^n`` subsets, each value evaluated once. The values add up
(efficiency): ``v(empty) + sum_i phi_i = v(N)``. The *joint* part is what the groups do only
together: ``v(N) - v(empty) - sum_i (v({i}) - v(empty))``; the Shapley values share it among
the groups, the stand-alone effects do not see it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

__all__ = [
    "MAX_GROUPS",
    "Attribution",
    "MetricAttribution",
    "attribute",
    "shapley",
]

MAX_GROUPS = 5
"""Most groups attributed exactly: ``2^5 = 32`` evaluations of the value function, each a full
simulation."""


def _check(groups: Sequence[str]) -> tuple[str, ...]:
    names = tuple(groups)
    if len(set(names)) != len(names):
        raise ValueError(f"attribution groups must be distinct, got {list(names)}")
    if not 1 <= len(names) <= MAX_GROUPS:
        raise ValueError(
            f"attribution needs 1 to {MAX_GROUPS} groups (2^n simulations), got {len(names)}"
        )
    return names


def _memoised(
    value: Callable[[frozenset[str]], Any],
) -> Callable[[frozenset[str]], Any]:
    cache: dict[frozenset[str], Any] = {}

    def get(active: frozenset[str]) -> Any:
        if active not in cache:
            cache[active] = value(active)
        return cache[active]

    return get


def _finite(metric: str, active: frozenset[str], x: float) -> float:
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(
            f"value of {metric!r} with active groups {sorted(active)} is {x}: a credit metric "
            f"must be finite"
        )
    return x


def _shapley_from(names: tuple[str, ...], v: Callable[[frozenset[str]], float]) -> dict[str, float]:
    n = len(names)
    weights = [math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n) for k in range(n)]
    out: dict[str, float] = {}
    for name in names:
        others = [g for g in names if g != name]
        total = 0.0
        for k in range(n):
            for subset in combinations(others, k):
                s = frozenset(subset)
                total += weights[k] * (v(s | {name}) - v(s))
        out[name] = total
    return out


def shapley(groups: Sequence[str], value: Callable[[frozenset[str]], float]) -> dict[str, float]:
    """Exact Shapley values of ``groups`` for the value function ``value``.

    Parameters
    ----------
    groups : sequence of str
        Distinct group names, 1 to :data:`MAX_GROUPS`.
    value : callable
        ``value(active)``: the metric when only the groups in ``active`` are random. Called
        once per subset (``2^n`` calls).

    Returns
    -------
    dict of str to float
        ``{group: Shapley value}`` in the metric's units; they sum to
        ``value(all) - value(empty)``.
    """
    names = _check(groups)
    memo = _memoised(value)
    return _shapley_from(names, lambda s: _finite("value", s, memo(s)))


@dataclass(frozen=True, slots=True)
class MetricAttribution:
    """Attribution of one metric.

    Attributes
    ----------
    metric : str
        Its name (e.g. ``"pd"``, ``"el_usd"``).
    baseline : float
        Every group frozen (the median path), metric units.
    total : float
        Every group random.
    shapley : dict of str to float
        Shapley value of each group; ``baseline + sum(shapley) == total``.
    standalone : dict of str to float
        ``v({group}) - baseline``: the group alone.
    joint : float
        ``total - baseline - sum(standalone)``: the interaction of the groups.
    """

    metric: str
    baseline: float
    total: float
    shapley: dict[str, float]
    standalone: dict[str, float]
    joint: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "metric": self.metric,
            "baseline": self.baseline,
            "total": self.total,
            "shapley": dict(self.shapley),
            "standalone": dict(self.standalone),
            "joint": self.joint,
        }


@dataclass(frozen=True, slots=True)
class Attribution:
    """Attribution of several metrics to the same groups.

    Attributes
    ----------
    groups : tuple of str
        Factor groups, in the order given.
    metrics : dict of str to MetricAttribution
        One entry per metric.
    """

    groups: tuple[str, ...]
    metrics: dict[str, MetricAttribution]

    def __getitem__(self, metric: str) -> MetricAttribution:
        return self.metrics[metric]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping: ``{"groups": [...], "metrics": {name: {...}}}``."""
        return {
            "groups": list(self.groups),
            "metrics": {k: m.to_dict() for k, m in self.metrics.items()},
        }


def attribute(
    groups: Sequence[str],
    evaluate: Callable[[frozenset[str]], Mapping[str, float]],
) -> Attribution:
    """Shapley attribution of every metric ``evaluate`` returns.

    Parameters
    ----------
    groups : sequence of str
        Distinct factor groups, 1 to :data:`MAX_GROUPS` (e.g. ``("bitcoin", "network",
        "gpu_rent", "rates")``).
    evaluate : callable
        ``evaluate(active)`` runs the model with only ``active`` groups random and returns
        ``{metric: value}`` (the same metric names for every subset). Called once per subset.

    Returns
    -------
    Attribution
        Per metric: baseline (all frozen), total (all random), Shapley values, stand-alone
        effects and the joint part.
    """
    names = _check(groups)
    memo = _memoised(evaluate)
    empty, full = frozenset[str](), frozenset(names)
    metric_names = tuple(memo(empty))
    out: dict[str, MetricAttribution] = {}
    for metric in metric_names:

        def v(active: frozenset[str], metric: str = metric) -> float:
            values = memo(active)
            if metric not in values:
                raise ValueError(
                    f"evaluate({sorted(active)}) returned no {metric!r}: every subset must "
                    f"return the same metrics {list(metric_names)}"
                )
            return _finite(metric, active, values[metric])

        baseline, total = v(empty), v(full)
        standalone = {g: v(frozenset([g])) - baseline for g in names}
        out[metric] = MetricAttribution(
            metric=metric,
            baseline=baseline,
            total=total,
            shapley=_shapley_from(names, v),
            standalone=standalone,
            joint=total - baseline - sum(standalone.values()),
        )
    return Attribution(groups=names, metrics=out)
