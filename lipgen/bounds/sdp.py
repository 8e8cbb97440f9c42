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


def _pieces(ws: list[np.ndarray]) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """(d, offsets, g, v): the order d of M, each block's offset in z, the neurons' pre-activation rows in z (one row
    per kept hidden neuron, g dz = du_i) and each neuron's column of v_i in z."""
    sizes = [ws[0].shape[1]] + [w.shape[0] for w in ws[:-1]]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    d = int(offsets[-1])
    g = np.zeros((sum(sizes[1:]), d))
    for k, w in enumerate(ws[:-1]):  # one block per layer
        g[offsets[k + 1] - offsets[1]:offsets[k + 2] - offsets[1], offsets[k]:offsets[k + 1]] = w
    return d, offsets, g, np.arange(offsets[1], d)


def _matrix(d: int, offsets, g: np.ndarray, v: np.ndarray, t: np.ndarray, rho: float, last: np.ndarray):
    """M(rho, T) = sum_i T_i Q_i + F^T F - rho P in float64, Q_i = (g_i e_i^T + e_i g_i^T) / 2 - e_i e_i^T, and an
    entrywise bound of its rounding error."""
    half = np.zeros((d, d))
    half[:, v] = g.T * t / 2
    m = half + half.T
    mag = np.abs(m)
    m[v, v] -= t
    mag[v, v] += t
    lo = offsets[-2]
    m[lo:, lo:] += last.T @ last
    mag[lo:, lo:] += np.abs(last).T @ np.abs(last)
    x = np.arange(offsets[1])
    m[x, x] -= rho
    mag[x, x] += abs(rho)
    # every entry is a sum of at most len(v) + last.shape[0] + 2 products of float64 numbers
    terms = len(v) + last.shape[0] + 4
    return m, gamma(terms) * mag * (1 + gamma(terms))


def verified(d: int, offsets, g: np.ndarray, v: np.ndarray, t: np.ndarray, rho: float, last: np.ndarray) -> bool:
    """Whether M(rho, T) is negative semidefinite, proven in float64 (module docstring)."""
    m, err = _matrix(d, offsets, g, v, t, rho, last)
    a = -m
    tr = float(np.sum(np.abs(np.diag(a))))
    c = (float(np.linalg.norm(err)) + gamma(2 * d + 2) * tr) * 2 + 4 * UNIT_ROUNDOFF * float(np.max(np.abs(a)))
    try:
        np.linalg.cholesky(a - c * np.eye(d))
    except np.linalg.LinAlgError:
        return False
    return True


def _svec(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Position of entry (i, j), i <= j, in Clarabel's PSD triangle (the upper triangle, column by column)."""
    return j * (j + 1) // 2 + i


def _solve(d: int, offsets, g: np.ndarray, v: np.ndarray, last: np.ndarray,
           margin: float) -> tuple[np.ndarray, float] | None:
    """Clarabel: min rho s.t. -M(rho, T) - margin I is PSD, T >= 0. (T, rho) or None.

    Variables (rho, T_1..T_n); s = b - A x with s = svec(-F^T F - margin I) - sum_i T_i svec(Q_i) + rho svec(P) in
    the PSD cone (off-diagonal entries scaled by sqrt 2), and s = T >= 0."""
    nvec, nt = d * (d + 1) // 2, len(v)
    base = np.zeros((d, d))
    lo = offsets[-2]
    base[lo:, lo:] -= last.T @ last
    base -= margin * np.eye(d)
    bi, bj = np.triu_indices(d)
    b_psd = base[bi, bj] * np.where(bi == bj, 1.0, np.sqrt(2.0))
    b = np.concatenate([np.zeros(nvec), np.zeros(nt)])
    b[_svec(bi, bj)] = b_psd
    # Q_i: g_i / 2 at (c, v_i) for the columns c of the layer below (c < v_i: the upper triangle), -1 at (v_i, v_i)
    ni, ci = np.nonzero(g)
    rows = np.concatenate([_svec(ci, v[ni]), _svec(v, v), _svec(np.arange(offsets[1]), np.arange(offsets[1])),
                           nvec + np.arange(nt)])
    cols = np.concatenate([1 + ni, 1 + np.arange(nt), np.zeros(offsets[1], dtype=int), 1 + np.arange(nt)])
    vals = np.concatenate([g[ni, ci] / 2 * np.sqrt(2.0), -np.ones(nt), -np.ones(offsets[1]), -np.ones(nt)])
    a_mat = sparse.csc_matrix((vals, (rows, cols)), shape=(nvec + nt, nt + 1))
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
    d, offsets, g, v = _pieces(ws)
    if d > max_dim:
        return SdpBound(None, f"the SDP's matrix would have order {d} (inputs plus kept neurons), above {max_dim}", d)
    last = ws[-1]
    if not len(v):  # affine on the box
        return SdpBound(None, "no hidden neuron left: the network is affine on the box", d)
    found = _solve(d, offsets, g, v, last, 0.0)
    if found is None:
        return SdpBound(None, "the SDP solver gave no solution", d)
    for attempt in range(2):  # the second with a margin of definiteness, when the first fails the check
        t, rho = found
        for rel in TRIES:
            trial = float(np.nextafter(max(rho, 0.0) * (1 + rel), np.inf))
            if verified(d, offsets, g, v, t, trial, last):
                bound = float(np.nextafter(np.sqrt(trial) * (1 + 4 * UNIT_ROUNDOFF), np.inf))
                return SdpBound(bound, f"LipSDP-Neuron, matrix of order {d}, verified in float64 (rho raised by "
                                       f"{rel:g})", d)
        if attempt == 0:
            again = _solve(d, offsets, g, v, last, MARGIN * max(rho, np.finfo(float).tiny))
            if again is None:
                break
            found = again
    return SdpBound(None, "the SDP's solution did not pass the float64 check of negative semidefiniteness", d)
