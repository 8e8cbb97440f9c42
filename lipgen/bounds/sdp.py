"""An l2 upper bound of the local Lipschitz constant by a semidefinite program (LipSDP-Neuron: Fazlyab, Robey,
Hassani, Morari & Pappas, NeurIPS 2019), verified in float64 so that no SDP solver's accuracy is trusted.

Stack z = (x, v_1, ..., v_{K-1}) (input and hidden post-activations) and write u_k = W_k v_{k-1} for the
pre-activations. Stably inactive neurons are dropped (their output is constant on the box); every other ReLU has
slopes in [0, 1], so for two points each neuron gives dv_i (du_i - dv_i) >= 0, a quadratic form dz^T Q_i dz >= 0.
(A stably active neuron's slope is exactly 1, but the constraint (dv_i - du_i)^2 = 0 made the interior point
solver 10-50x slower and no tighter in practice: measured on the digits nets' balls.) If for some T >= 0 and rho

    M(rho, T) = sum_i T_i Q_i + F^T F - rho P  is negative semidefinite

(F dz the output difference, P the projector on the x block), then ||df||^2 <= rho ||dx||^2 - sum T_i dz^T Q_i dz
<= rho ||dx||^2 for any two points of the box: L_{2->2} <= sqrt(rho).

The SDP (Clarabel, a conic interior point solver) only proposes T and rho. The bound is accepted when -M, formed in
float64 with a bound E of its rounding (entrywise), passes a Cholesky factorisation after a shift c I with
c >= ||E||_F + gamma_{2d+2} tr(-M): the computed factor R gives R^T R = A + dA with |dA| <= gamma_{d+1} |R^T||R|
(Demmel), whose norm is below the second term, so -M - c I + dA is PSD and -M is PSD exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ..network import Network
from ..rounding import UNIT_ROUNDOFF, gamma
from .stability import Stability

import clarabel

# inputs plus kept hidden neurons: the PSD cone's order. Clarabel factors a dense block of order d^2 / 2, so its time
# grows steeply: 1.5-2.5 s at d = 77-80 (digits-64-16-10), 18-20 s at d = 96, 27-32 s at d = 124-127 (2 cores)
MAX_DIM = 80
MARGIN = 1e-7  # the SDP's negative definiteness margin, relative to rho: room for the float64 check
TRIES = (1e-9, 1e-6, 1e-4, 1e-2)  # relative increases of rho tried until the check passes


@dataclass
class SdpBound:
    value: float | None  # a certified upper bound of L_{2->2} on the box, or None
    reason: str  # how it was obtained, or why not
    dim: int = 0


def _kept(network: Network, stability: list[Stability]) -> list[np.ndarray]:
    """The weights of the network without its stably inactive neurons."""
    ws = []
    keep_prev = np.arange(network.n_inputs)
    for k, w in enumerate(network.weights):
        w = w[:, keep_prev]
        if k < len(stability):
            keep_prev = np.flatnonzero(~stability[k].inactive)
            w = w[keep_prev]
        ws.append(w)
    return ws


def _pieces(ws: list[np.ndarray]):
    """(d, offsets, neurons): the order d of M, each block's offset in z, and per neuron its u row as (columns,
    values) in z and its v column."""
    sizes = [ws[0].shape[1]] + [w.shape[0] for w in ws[:-1]]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    neurons = []
    for k, w in enumerate(ws[:-1]):
        cols = np.arange(offsets[k], offsets[k + 1])
        for i in range(w.shape[0]):
            neurons.append((cols, w[i], int(offsets[k + 1] + i)))
    return int(offsets[-1]), offsets, neurons


def _q_dense(d: int, cols, row, vi: int) -> np.ndarray:
    """Q_i: dz^T Q_i dz = dv_i (du_i - dv_i)."""
    g = np.zeros(d)
    g[cols] = row
    e = np.zeros(d)
    e[vi] = 1.0
    return (np.outer(g, e) + np.outer(e, g)) / 2 - np.outer(e, e)


def _matrix(d: int, offsets, neurons, t: np.ndarray, rho: float, last: np.ndarray):
    """M(rho, T) in float64 and an entrywise bound of its rounding error."""
    m = np.zeros((d, d))
    mag = np.zeros((d, d))
    for ti, (cols, row, vi) in zip(t, neurons):
        if ti == 0.0:
            continue
        q = _q_dense(d, cols, row, vi)
        m += ti * q
        mag += ti * np.abs(q)
    lo = offsets[-2]
    ff = last.T @ last
    m[lo:, lo:] += ff
    mag[lo:, lo:] += np.abs(last).T @ np.abs(last)
    idx = np.arange(offsets[1])
    m[idx, idx] -= rho
    mag[idx, idx] += abs(rho)
    # every entry is a sum of at most len(neurons) + last.shape[0] + 2 products of float64 numbers
    terms = len(neurons) + last.shape[0] + 4
    return m, gamma(terms) * mag * (1 + gamma(terms))


def verified(d: int, offsets, neurons, t: np.ndarray, rho: float, last: np.ndarray) -> bool:
    """Whether M(rho, T) is negative semidefinite, proven in float64 (module docstring)."""
    m, err = _matrix(d, offsets, neurons, t, rho, last)
    a = -m
    tr = float(np.sum(np.abs(np.diag(a))))
    c = (float(np.linalg.norm(err)) + gamma(2 * d + 2) * tr) * 2 + 4 * UNIT_ROUNDOFF * float(np.max(np.abs(a)))
    try:
        np.linalg.cholesky(a - c * np.eye(d))
    except np.linalg.LinAlgError:
        return False
    return True


def _svec_index(d: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of Clarabel's PSD triangle: the upper triangle, column by column."""
    i, j = np.triu_indices(d)  # row by row
    order = np.lexsort((i, j))  # column by column, rows ascending within a column
    return i[order], j[order]


def _solve(d: int, offsets, neurons, last: np.ndarray, margin: float) -> tuple[np.ndarray, float] | None:
    """Clarabel: min rho s.t. -M(rho, T) - margin I is PSD, T >= 0. (T, rho) or None."""
    rows, cols = _svec_index(d)
    scale = np.where(rows == cols, 1.0, np.sqrt(2.0))
    pos = {(int(r), int(c)): k for k, (r, c) in enumerate(zip(rows, cols))}
    nvec, nt = len(rows), len(neurons)

    def svec(mat: np.ndarray) -> np.ndarray:
        return mat[rows, cols] * scale

    # s = b - A x in the PSD cone, with s = svec(-M - margin I) = svec(-F^T F - margin I) - sum T_i svec(Q_i) + rho svec(P)
    lo = offsets[-2]
    base = np.zeros((d, d))
    base[lo:, lo:] -= last.T @ last
    base -= margin * np.eye(d)
    b = np.concatenate([svec(base), np.zeros(nt)])
    data, ri, ci = [], [], []
    for k, (cin, row, vi) in enumerate(neurons):
        q = _q_dense(d, cin, row, vi)
        nz = np.flatnonzero(np.abs(svec(q)) > 0)
        data.append(svec(q)[nz])
        ri.append(nz)
        ci.append(np.full(nz.size, k + 1))
    p = np.zeros(nvec)
    for i in range(offsets[1]):
        p[pos[(i, i)]] = 1.0
    data.append(-p[p != 0])
    ri.append(np.flatnonzero(p))
    ci.append(np.zeros(int((p != 0).sum()), dtype=int))
    data.append(-np.ones(nt))  # T_i >= 0: -T_i + s = 0, s >= 0
    ri.append(nvec + np.arange(nt))
    ci.append(1 + np.arange(nt))
    a_mat = sparse.csc_matrix((np.concatenate(data), (np.concatenate(ri), np.concatenate(ci))),
                              shape=(nvec + nt, nt + 1))
    q_vec = np.zeros(nt + 1)
    q_vec[0] = 1.0
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    solver = clarabel.DefaultSolver(sparse.csc_matrix((nt + 1, nt + 1)), q_vec, a_mat, b,
                                    [clarabel.PSDTriangleConeT(d), clarabel.NonnegativeConeT(nt)], settings)
    sol = solver.solve()
    if str(sol.status) not in ("Solved", "AlmostSolved"):
        return None
    x = np.asarray(sol.x, dtype=np.float64)
    return np.maximum(x[1:], 0.0), float(x[0])


def sdp_upper(network: Network, stability: list[Stability], max_dim: int = MAX_DIM) -> SdpBound:
    """A certified upper bound of L_{2->2} of the network on the box its `stability` was classified on."""
    ws = _kept(network, stability)
    d, offsets, neurons = _pieces(ws)
    if d > max_dim:
        return SdpBound(None, f"the SDP's matrix would have order {d} (inputs plus kept neurons), above {max_dim}", d)
    last = ws[-1]
    if not neurons:  # affine on the box
        return SdpBound(None, "no hidden neuron left: the network is affine on the box", d)
    found = _solve(d, offsets, neurons, last, 0.0)
    if found is None:
        return SdpBound(None, "the SDP solver gave no solution", d)
    for attempt in range(2):  # the second with a margin of definiteness, when the first fails the check
        t, rho = found
        for rel in TRIES:
            trial = float(np.nextafter(max(rho, 0.0) * (1 + rel), np.inf))
            if verified(d, offsets, neurons, t, trial, last):
                bound = float(np.nextafter(np.sqrt(trial) * (1 + 4 * UNIT_ROUNDOFF), np.inf))
                return SdpBound(bound, f"LipSDP-Neuron, matrix of order {d}, verified in float64 (rho raised by "
                                       f"{rel:g})", d)
        if attempt == 0:
            again = _solve(d, offsets, neurons, last, MARGIN * max(rho, np.finfo(float).tiny))
            if again is None:
                break
            found = again
    return SdpBound(None, "the SDP's solution did not pass the float64 check of negative semidefiniteness", d)
