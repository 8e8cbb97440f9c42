"""Exact Lipschitz constants of tiny ReLU networks by enumerating activation regions (FORMULATION.md 7)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from lipgen.network import Network, operator_norm


def _interior_margin(rows: np.ndarray, consts: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """max delta such that rows @ x + consts >= delta for some x with lower + delta <= x <= upper - delta."""
    n = len(lower)
    # variables (x, delta); minimise -delta
    c = np.zeros(n + 1)
    c[-1] = -1.0
    a_ub = np.vstack([np.hstack([-rows, np.ones((len(rows), 1))]),
                      np.hstack([-np.eye(n), np.ones((n, 1))]),
                      np.hstack([np.eye(n), np.ones((n, 1))])])
    b_ub = np.concatenate([consts, -lower, upper])
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * n + [(None, 1.0)], method="highs")
    return -res.fun if res.status == 0 else -np.inf


def regions(net: Network, lower, upper, tol: float = 1e-9):
    """Yield the activation patterns (list of 0/1 arrays) whose region has interior inside the box."""
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    widths = [w.shape[0] for w in net.weights[:-1]]
    order = [(k, i) for k, n in enumerate(widths) for i in range(n)]

    def affine(pattern_prefix, k):
        a, c = np.eye(len(lower)), np.zeros(len(lower))
        for j in range(k):
            a, c = net.weights[j] @ a, net.weights[j] @ c + net.biases[j]
            d = pattern_prefix[j].astype(float)
            a, c = d[:, None] * a, d * c
        return net.weights[k] @ a, net.weights[k] @ c + net.biases[k]

    def rec(pos, pattern, rows, consts):
        if pos == len(order):
            yield [p.copy() for p in pattern]
            return
        k, i = order[pos]
        a, c = affine(pattern, k)
        for sign in (1, 0):
            sgn = 1.0 if sign else -1.0
            new_rows = np.vstack([rows, sgn * a[i]]) if len(rows) else (sgn * a[i])[None, :]
            new_consts = np.append(consts, sgn * c[i])
            if _interior_margin(new_rows, new_consts, lower, upper) > tol:
                pattern[k][i] = sign
                yield from rec(pos + 1, pattern, new_rows, new_consts)
        pattern[k][i] = 0

    yield from rec(0, [np.zeros(n, dtype=int) for n in widths], np.zeros((0, len(lower))), np.zeros(0))


def exact_lipschitz(net: Network, lower, upper, alpha: str, beta: str) -> float:
    return max(operator_norm(net.jacobian_of_pattern(p), alpha, beta) for p in regions(net, lower, upper))
