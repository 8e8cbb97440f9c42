"""Exact Lipschitz constants of tiny ReLU networks by enumerating activation regions (docs/formulation.md, 8).

Independent of lipgen's bounds and classification: a depth-first search over the neurons, one LP per node.
A region counts when it holds a ball of radius RADIUS in the box mapped to [-1, 1]^n: the LP maximises the
distance t of a point to the box's faces and to the region's hyperplanes (rows normalised), so the test
does not depend on the LP solver's tolerance. A neuron that is constant on the current region (its row is
zero up to rounding) is fixed by the sign of its constant instead of being branched on.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from lipgen.network import Network, operator_norm

RADIUS = 1e-6


def _inradius(rows: np.ndarray, consts: np.ndarray) -> float:
    """max t such that some xi in [-1+t, 1-t]^n has rows @ xi + consts >= t (rows of unit norm)."""
    n = rows.shape[1]
    c = np.zeros(n + 1)
    c[-1] = -1.0
    a_ub = np.vstack([np.hstack([-rows, np.ones((len(rows), 1))]),
                      np.hstack([-np.eye(n), np.ones((n, 1))]),
                      np.hstack([np.eye(n), np.ones((n, 1))])])
    b_ub = np.concatenate([consts, np.ones(n), np.ones(n)])
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * n + [(None, 1.0)], method="highs")
    return -res.fun if res.status == 0 else -np.inf


def regions(net: Network, lower, upper, radius: float = RADIUS):
    """Yield the activation patterns (list of 0/1 arrays) whose region holds a ball of `radius` (scaled box)."""
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    center, half = (lower + upper) / 2, (upper - lower) / 2
    widths = [w.shape[0] for w in net.weights[:-1]]
    order = [(k, i) for k, n in enumerate(widths) for i in range(n)]

    def affine(pattern, k):
        """(A, c, magnitude) of z_k as a function of xi, given the pattern of the layers before k."""
        a, c, mag = np.diag(half), center.copy(), np.diag(half)
        for j in range(k):
            a, c, mag = net.weights[j] @ a, net.weights[j] @ c + net.biases[j], np.abs(net.weights[j]) @ mag
            d = pattern[j].astype(float)
            a, c, mag = d[:, None] * a, d * c, d[:, None] * mag
        return net.weights[k] @ a, net.weights[k] @ c + net.biases[k], np.abs(net.weights[k]) @ mag

    def rec(pos, pattern, rows, consts):
        if pos == len(order):
            yield [p.copy() for p in pattern]
            return
        k, i = order[pos]
        a, c, mag = affine(pattern, k)
        norm = np.linalg.norm(a[i])
        if norm <= 1e-12 * max(np.linalg.norm(mag[i]), 1e-300):  # constant on this region
            pattern[k][i] = int(c[i] > 0)
            yield from rec(pos + 1, pattern, rows, consts)
            pattern[k][i] = 0
            return
        for sign in (1, 0):
            sgn = 1.0 if sign else -1.0
            new_rows = np.vstack([rows, sgn * a[i] / norm])
            new_consts = np.append(consts, sgn * c[i] / norm)
            if _inradius(new_rows, new_consts) > radius:
                pattern[k][i] = sign
                yield from rec(pos + 1, pattern, new_rows, new_consts)
        pattern[k][i] = 0

    yield from rec(0, [np.zeros(n, dtype=int) for n in widths], np.zeros((0, len(lower))), np.zeros(0))


def exact_lipschitz(net: Network, lower, upper, alpha: str, beta: str) -> float:
    return max(operator_norm(net.jacobian_of_pattern(p), alpha, beta) for p in regions(net, lower, upper))
