"""A strong certified lower bound before any solver runs: a walk over activation regions that climbs
||J(x)|| (docs/formulation.md, section 6).

||J|| is constant on each region, so there is no gradient to follow. From a point x in a region, every
unstable neuron's pre-activation is affine there, z_i(x) = g_i . x + c_i; stepping just across the hyperplane
of one of the nearest neurons lands in a neighbouring region, whose Jacobian is evaluated at the real point.
The walk moves to the best neighbour while that improves the norm, from several starting points (the best
sampled ones), with a work budget counted in steps, not seconds, so the result depends on the inputs alone.
Every value is a real Jacobian at a real point; the best one is certified at the end (lipgen/lower/certificate.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bounds import Stability
from ..domain import Box
from ..network import Network, operator_norm_with_direction, operator_norms
from .certificate import Certificate, certify_point

STARTS = 6  # best distinct sampled points the walk starts from
STEPS = 40  # moves per start
NEIGHBOURS = 48  # nearest hyperplanes tried per move
SAMPLES = 256  # random points the starts are chosen from (besides the ones given)
# multiply-adds the walk may spend (a few seconds here): a work count, so the result depends on the inputs alone
WORK_BUDGET = 2e10
OVERSHOOT = 1e-3  # how far past a hyperplane to step, relative to the distance to it (plus a floor)


@dataclass
class RegionWalk:
    value: float  # certified lower bound of L (0 when nothing could be certified)
    x: np.ndarray
    v: np.ndarray  # a unit direction attaining it at x (forward mode's MIP start)
    certificate: Certificate
    steps: int  # moves made


def _norms(network: Network, xs: np.ndarray, alpha: str, beta: str) -> tuple[np.ndarray, np.ndarray]:
    """(||J(x)|| for a batch of points, the Jacobians)."""
    js = network.jacobians(xs)
    return operator_norms(js, alpha, beta), js


def _direction(j: np.ndarray, alpha: str, beta: str) -> np.ndarray:
    return operator_norm_with_direction(j, alpha, beta)[1]


def _hyperplanes(network: Network, x: np.ndarray, stability: list[Stability]) -> tuple[np.ndarray, np.ndarray]:
    """(z, grad z) of every unstable neuron at x, as affine functions on x's region."""
    zs = [z[0] for z in network.preactivations(x)]
    j = np.eye(network.n_inputs)
    values, grads = [], []
    for k, st in enumerate(stability):
        g = network.weights[k] @ j
        unst = np.flatnonzero(st.unstable)
        values.append(zs[k][unst])
        grads.append(g[unst])
        on = np.where(st.unstable, zs[k] > 0, st.active).astype(float)
        j = on[:, None] * g
    if not values:
        return np.zeros(0), np.zeros((0, network.n_inputs))
    return np.concatenate(values), np.vstack(grads)


def step_cost(network: Network, neighbours: int = NEIGHBOURS) -> float:
    """Multiply-adds of one move: every unstable neuron's gradient, then the Jacobians of the candidates."""
    n0 = network.n_inputs
    grads = sum(w.shape[0] * w.shape[1] * n0 for w in network.weights[:-1])
    jac = sum(w.size for w in network.weights) * min(n0, network.n_outputs)
    return float(grads + neighbours * jac)


def start_points(network: Network, box: Box, alpha: str, beta: str, given=(), n: int = SAMPLES,
                 seed: int = 0) -> np.ndarray:
    """The given points, then random points of the box by decreasing ||J||."""
    xs = box.sample(n, seed)
    vals, _ = _norms(network, xs, alpha, beta)
    order = np.argsort(-vals, kind="stable")
    given = np.asarray(list(given), dtype=np.float64).reshape(-1, network.n_inputs)
    return np.vstack([given, xs[order]])


def region_walk(network: Network, box: Box, alpha: str, beta: str, stability: list[Stability], given=(),
                       work_budget: float = WORK_BUDGET) -> RegionWalk | None:
    """The region walk within a work budget (None when not even one start fits)."""
    cost = step_cost(network)
    moves = int(work_budget // cost)
    if moves < 2:
        return None
    n_starts = min(STARTS, max(1, moves // STEPS))
    steps = min(STEPS, moves // n_starts)
    starts = start_points(network, box, alpha, beta, given)
    return walk(network, box, alpha, beta, stability, starts, n_starts=n_starts, steps=steps)


def walk(network: Network, box: Box, alpha: str, beta: str, stability: list[Stability], starts: np.ndarray,
           n_starts: int = STARTS, steps: int = STEPS, neighbours: int = NEIGHBOURS) -> RegionWalk:
    """Climb ||J|| over neighbouring regions from the given start points (sorted best first)."""
    lower, upper = box.lower, box.upper
    width = upper - lower
    best_val, best_x, best_v, moves = -1.0, None, None, 0
    for x in starts[:n_starts]:
        x = np.clip(np.asarray(x, dtype=np.float64), lower, upper)
        (val,), (j,) = _norms(network, x[None], alpha, beta)
        v = _direction(j, alpha, beta)
        for _ in range(steps):
            z, g = _hyperplanes(network, x, stability)
            gnorm = np.sqrt(np.einsum("ij,ij->i", g, g))
            ok = gnorm > 0
            if not ok.any():
                break
            idx = np.flatnonzero(ok)
            dist = np.abs(z[idx]) / gnorm[idx]
            near = idx[np.argsort(dist, kind="stable")[:neighbours]]
            # step across each hyperplane, a little beyond it
            step = -(z[near] / gnorm[near] ** 2)[:, None] * g[near]
            lengths = np.linalg.norm(step, axis=1, keepdims=True)
            floor = 1e-7 * np.linalg.norm(width)
            step = step * (1 + OVERSHOOT) + step / np.maximum(lengths, 1e-300) * floor
            cand = np.clip(x + step, lower, upper)
            vals, js = _norms(network, cand, alpha, beta)
            k = int(np.argmax(vals))
            if vals[k] <= val * (1 + 1e-12):
                break
            x, val, v = cand[k], float(vals[k]), _direction(js[k], alpha, beta)
            moves += 1
        if val > best_val:
            best_val, best_x, best_v = val, x, v
    if best_x is None:
        best_x = np.clip(np.asarray(starts[0], dtype=np.float64), lower, upper)
        best_v = np.zeros(network.n_inputs)
    cert = certify_point(network, box, alpha, beta, best_x, best_v, stability)
    return RegionWalk(cert.value or 0.0, best_x, best_v, cert, moves)
