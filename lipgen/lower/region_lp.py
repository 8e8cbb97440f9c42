"""One activation region as a linear program: its inradius in the scaled box, and an interior point of it.

A solver's optimal point of the non-strict problem often lies on a region's boundary (a pre-activation exactly 0,
the binary on the side that gives the larger norm), where no region can be certified. The solution's binaries still
name the pattern s whose Jacobian gave the objective: `region_centre` finds the point of s's region farthest from
its boundary, and `certify_point` there certifies ||J_s|| when that region has interior.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from ..bounds import Stability
from ..bounds.highs import thread_highs
from ..domain import Box
from ..network import Network
from ..rounding import gamma


def solve_lp(c: np.ndarray, a: np.ndarray, b: np.ndarray, lo: np.ndarray,
             hi: np.ndarray) -> tuple[float, np.ndarray, np.ndarray] | None:
    """min c.y s.t. a y <= b, lo <= y <= hi (a dense) with HiGHS: (objective, y, multipliers mu >= 0 of the rows),
    or None without an optimum. The multipliers are only used in a safe bound, so their errors only loosen it."""
    import highspy  # here: only LP users pay for it

    h = thread_highs()
    csc = sparse.csc_matrix(a)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = c, lo, hi
    lp.row_lower_, lp.row_upper_ = np.full(len(b), -highspy.kHighsInf), b
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = a.shape[1], a.shape[0]
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = csc.indptr, csc.indices, csc.data
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    sol = h.getSolution()
    # HiGHS's row dual of an active upper side is <= 0 for a minimisation: mu = -dual
    mu = np.maximum(-np.asarray(sol.row_dual, dtype=np.float64), 0.0)
    return float(h.getInfo().objective_function_value), np.asarray(sol.col_value, dtype=np.float64), mu


def region_lp(rows: np.ndarray, consts: np.ndarray, n: int) -> tuple[float, float, np.ndarray]:
    """max t s.t. rows xi + consts >= t (rows of unit norm), |xi_j| <= 1 - t: (t from HiGHS, safe upper bound of t,
    the optimal xi). Written as min -t s.t. -rows xi + t <= consts, +-xi + t <= 1."""
    m = len(rows)
    a = np.vstack([np.hstack([-rows, np.ones((m, 1))]), np.hstack([-np.eye(n), np.ones((n, 1))]),
                   np.hstack([np.eye(n), np.ones((n, 1))])])
    b = np.concatenate([consts, np.ones(2 * n)])
    t_low = min(float(consts.min()) if m else 0.0, 0.0) - 1.0  # xi = 0, t = t_low is feasible: never infeasible
    lo = np.concatenate([-np.ones(n), [t_low]])
    hi = np.concatenate([np.ones(n), [1.0]])
    c = np.zeros(n + 1)
    c[-1] = -1.0
    solved = solve_lp(c, a, b, lo, hi)
    if solved is None:
        return -np.inf, np.inf, np.zeros(n)  # no answer: nothing proven (the region is kept)
    fun, x, mu = solved
    # min -t >= -mu.b + sum_i min(r_i lo_i, r_i hi_i), r = c + A^T mu; every float error bounded and added
    r = c + a.T @ mu
    r_err = gamma(len(mu) + 2) * (np.abs(c) + np.abs(a).T @ mu)
    span = np.maximum(np.abs(lo), np.abs(hi))
    terms = np.minimum(r * lo, r * hi) - r_err * span
    mag = float(mu @ np.abs(b) + np.sum((np.abs(r) + r_err) * span))
    safe = float(mu @ b - np.sum(terms)) + 2 * gamma(len(mu) + n + 8) * mag
    return float(-fun), float(np.nextafter(safe, np.inf)), np.clip(x[:n], -1.0, 1.0)



def pattern_rows(network: Network, box: Box, pattern: list[np.ndarray],
                 stability: list[Stability]) -> tuple[np.ndarray, np.ndarray] | None:
    """The region of `pattern` in xi in [-1, 1]^n (x = centre + half xi): unit rows and constants with
    rows xi + consts >= 0 on it, one per neuron unstable on the box (None: a zero row excludes the pattern)."""
    center, half = (box.lower + box.upper) / 2, (box.upper - box.lower) / 2
    a, c = np.diag(half), center.copy()
    rows, consts = [], []
    for k, (st, p) in enumerate(zip(stability, pattern)):
        w, b = network.weights[k], network.biases[k]
        za, zc = w @ a, w @ c + b
        unst = np.flatnonzero(st.unstable)
        sg = np.where(np.asarray(p)[unst] > 0.5, 1.0, -1.0)
        norms = np.linalg.norm(za[unst], axis=1)
        zero = norms == 0.0
        if np.any(sg[zero] * zc[unst][zero] < 0):
            return None
        keep = ~zero
        rows.append(sg[keep, None] * za[unst][keep] / norms[keep, None])
        consts.append(sg[keep] * zc[unst][keep] / norms[keep])
        d = np.asarray(p, dtype=np.float64)
        a, c = d[:, None] * za, d * zc
    n = network.n_inputs
    return (np.vstack(rows) if rows else np.zeros((0, n))), (np.concatenate(consts) if consts else np.zeros(0))


def region_centre(network: Network, box: Box, pattern: list[np.ndarray], stability: list[Stability]) -> np.ndarray | None:
    """The input point deepest inside the region of `pattern` (hidden layers' 0/1 vectors), or None when the LP
    finds no interior. Not a proof of anything: `certify_point` re-checks the point's pattern in float64."""
    found = pattern_rows(network, box, pattern, stability)
    if found is None:
        return None
    rows, consts = found
    t, _, xi = region_lp(rows, consts, network.n_inputs)
    if not t > 0:
        return None
    center, half = (box.lower + box.upper) / 2, (box.upper - box.lower) / 2
    return center + half * xi
