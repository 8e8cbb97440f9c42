"""Cheap Lipschitz anchors: the naive upper bound and the sampled lower bound (docs/formulation.md, sections 5-6)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .bounds import Stability
from .network import NORMS, Network, mul_up, operator_norm_upper, operator_norm_with_direction, operator_norms

BATCH = 128  # points per batched Jacobian product: (BATCH * n_out) x width blocks, a few MB
SCREEN_TOL = 1e-3  # float32 screening keeps every point within this relative margin of the best for float64
# default cap on the sampling's multiply-adds (a few seconds here): a work count, not a clock, so the
# number of points, hence the value, depends on the network alone
WORK_BUDGET = 1e11
MIN_POINTS = 100


def naive_upper_bound(network: Network, alpha: str, beta: str, stability: list[Stability] | None = None) -> float:
    """Product of layer operator norms (stably inactive neurons removed), best over the middle norm, the smaller
    of the network's and of its per-neuron equilibrated twin's (the same function exactly, formulation.scaling.
    equilibrate: a product of norms is not invariant under neuron rescaling, the constant is).

    Rigorous: every factor is a certified upper bound of its norm and the products are rounded up.
    """
    from .formulation.scaling import equilibrate  # formulation imports anchors lazily too

    balanced, _ = equilibrate(network)
    return min(_naive(network, alpha, beta, stability), _naive(balanced, alpha, beta, stability))


def _naive(network: Network, alpha: str, beta: str, stability: list[Stability] | None) -> float:
    keeps = [np.arange(network.n_inputs)]
    for k in range(network.n_hidden_layers):
        keeps.append(np.flatnonzero(~stability[k].inactive) if stability else np.arange(network.widths[k + 1]))
    keeps.append(np.arange(network.n_outputs))
    mats = [w[np.ix_(keeps[k + 1], keeps[k])] for k, w in enumerate(network.weights)]
    cache: dict[tuple[int, str, str], float] = {}

    def norm(k: int, a: str, b: str) -> float:
        if (k, a, b) not in cache:
            cache[(k, a, b)] = operator_norm_upper(mats[k], a, b)
        return cache[(k, a, b)]

    if len(mats) == 1:
        return norm(0, alpha, beta)
    best = np.inf
    for gamma in NORMS:
        val = mul_up(norm(0, alpha, gamma), norm(len(mats) - 1, gamma, beta))
        for k in range(1, len(mats) - 1):
            val = mul_up(val, norm(k, gamma, gamma))
        best = min(best, val)
    return float(best)


@dataclass
class SampledBound:
    value: float  # max ||J(x)||_{alpha->beta} over the sampled points (a lower bound of L)
    x: np.ndarray  # the point that gave it
    v: np.ndarray  # a unit direction attaining it at x
    pattern: list[np.ndarray]  # activation pattern at x
    n_points: int  # points actually evaluated


def sample_points(lower: np.ndarray, upper: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return lower + rng.random((n, len(lower))) * (upper - lower)


def sampling_cost(network: Network) -> float:
    """Multiply-adds per sampled point: the forward pass plus the Jacobian from its narrow end."""
    sizes = [w.size for w in network.weights]
    narrow = min(network.n_inputs, network.n_outputs)
    return float(sum(sizes) + narrow * sum(sizes[:-1] if network.n_outputs <= network.n_inputs else sizes[1:]))


def sample_count(network: Network, n: int, work_budget: float | None = WORK_BUDGET) -> int:
    """At most n points, fewer when they would cost more than `work_budget` multiply-adds (never < MIN_POINTS)."""
    if work_budget is None:
        return n
    return int(min(n, max(MIN_POINTS, work_budget // max(sampling_cost(network), 1.0))))


def sampled_lower_bound(network: Network, lower: np.ndarray, upper: np.ndarray, alpha: str, beta: str,
                        n: int = 1000, seed: int = 0, work_budget: float | None = WORK_BUDGET,
                        time_budget: float | None = None) -> SampledBound:
    """Largest Jacobian norm at random points of the box (one evaluation per distinct pattern).

    The points are the first ones of `sample_points(lower, upper, n, seed)`: n, or fewer when the
    network is so large that they would cost more than `work_budget` multiply-adds (deterministic),
    or when `time_budget` seconds run out (checked between batches; not deterministic, off by default).
    Patterns are evaluated in batches with the Jacobian multiplied from its narrow end, first in
    float32; the points within SCREEN_TOL of the best are recomputed in float64 (float32's error is
    ~1e-6 relative, so the float64 maximum is always among them: the result is that of an all-float64
    pass, the earliest point winning ties). The best point's norm and direction are then computed
    exactly by `operator_norm_with_direction`.
    """
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    total = sample_count(network, n, work_budget)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    seen: set[bytes] = set()
    best_val, best = -np.inf, None
    done = 0
    while done < total:
        size = min(BATCH, total - done)
        xs = lower + rng.random((size, len(lower))) * (upper - lower)  # the same stream as sample_points
        masks = [z > 0 for z in network.preactivations(xs)[:-1]]
        keys = np.packbits(np.hstack(masks), axis=1) if masks else np.zeros((size, 0), np.uint8)
        new = []  # first point of each pattern not met before
        for i, key in enumerate(map(bytes, keys)):
            if key not in seen:
                seen.add(key)
                new.append(i)
        found = _best_of_batch(network, masks, np.array(new, dtype=np.int64), alpha, beta, best_val)
        if found is not None:
            best_val, k, j = found
            best = (xs[k].copy(), j, [m[k].astype(int) for m in masks])
        done += size
        if time_budget is not None and time.perf_counter() - start > time_budget:
            break
    x, j, pattern = best
    value, v = operator_norm_with_direction(j, alpha, beta)
    return SampledBound(value, x, v, pattern, done)


def _screen_dtype(network: Network):
    """float32 for the screening pass when every partial product of the layers' largest entries stays well inside
    its range (no overflow to inf, no flush to 0), else float64."""
    logs = np.cumsum([np.log10(max(float(np.abs(w).max()), 1e-300) * max(w.shape)) for w in network.weights])
    tiny = np.log10(min(float(np.abs(w[w != 0]).min()) if np.any(w) else 1.0 for w in network.weights))
    return np.float32 if logs.max() < 30 and logs.min() > -30 and tiny > -30 else np.float64


def _best_of_batch(network: Network, masks: list[np.ndarray], pick: np.ndarray, alpha: str, beta: str,
                   best_val: float) -> tuple[float, int, np.ndarray] | None:
    """(value, point, Jacobian) of the first point of `pick` whose norm beats best_val, the largest; else None."""
    if len(pick) == 0:
        return None
    screen = operator_norms(network.pattern_jacobians([m[pick] for m in masks], _screen_dtype(network)), alpha, beta)
    keep = pick[screen >= max(best_val, float(screen.max())) * (1.0 - SCREEN_TOL)]
    if len(keep) == 0:
        return None
    js = network.pattern_jacobians([m[keep] for m in masks])
    vals = operator_norms(js, alpha, beta)
    k = int(np.argmax(vals))  # first of equal values: the earliest point wins, as in a plain loop
    if not vals[k] > best_val:
        return None
    return float(vals[k]), int(keep[k]), js[k].copy()
