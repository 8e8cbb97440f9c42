"""Cheap Lipschitz anchors: the naive upper bound and the sampled lower bound (FORMULATION.md 6)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bounds import Stability
from .network import NORMS, Network, operator_norm_with_direction, operator_norm_upper


def naive_upper_bound(network: Network, alpha: str, beta: str, stability: list[Stability] | None = None) -> float:
    """Product of layer operator norms (stably inactive neurons removed), best over the middle norm."""
    keeps = [np.arange(network.n_inputs)]
    for k in range(network.n_hidden_layers):
        keeps.append(np.flatnonzero(~stability[k].inactive) if stability else np.arange(network.widths[k + 1]))
    keeps.append(np.arange(network.n_outputs))
    mats = [w[np.ix_(keeps[k + 1], keeps[k])] for k, w in enumerate(network.weights)]
    if len(mats) == 1:
        return operator_norm_upper(mats[0], alpha, beta)
    best = np.inf
    for gamma in NORMS:
        val = operator_norm_upper(mats[0], alpha, gamma) * operator_norm_upper(mats[-1], gamma, beta)
        for m in mats[1:-1]:
            val *= operator_norm_upper(m, gamma, gamma)
        best = min(best, val)
    return float(best)


@dataclass
class SampledBound:
    value: float  # max ||J(x)||_{alpha->beta} over the sampled points (a lower bound of L)
    x: np.ndarray  # the point that gave it
    v: np.ndarray  # a unit direction attaining it at x
    pattern: list[np.ndarray]  # activation pattern at x
    n_points: int


def sample_points(lower: np.ndarray, upper: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return lower + rng.random((n, len(lower))) * (upper - lower)


def sampled_lower_bound(network: Network, lower: np.ndarray, upper: np.ndarray, alpha: str, beta: str,
                        n: int = 1000, seed: int = 0) -> SampledBound:
    """Largest Jacobian norm at n random points of the box (one evaluation per distinct pattern)."""
    xs = sample_points(np.asarray(lower, float), np.asarray(upper, float), n, seed)
    zs = network.preactivations(xs)
    bits = np.hstack([z > 0 for z in zs[:-1]]) if len(zs) > 1 else np.zeros((n, 0), bool)
    _, first = np.unique(bits, axis=0, return_index=True)
    best = None
    for i in np.sort(first):
        pattern = [(z[i] > 0).astype(int) for z in zs[:-1]]
        val, v = operator_norm_with_direction(network.jacobian_of_pattern(pattern), alpha, beta)
        if best is None or val > best.value:
            best = SampledBound(val, xs[i], v, pattern, n)
    return best
