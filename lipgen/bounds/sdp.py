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

The SDP solver (a log-det barrier method written for this structure, or Clarabel) only proposes T and rho. The bound is accepted when -M, formed in
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

# inputs plus kept hidden neurons: the PSD cone's order. The barrier method's steps cost O(d^3): 0.05 s at d = 80,
# 0.08 s at 127, 0.6 s at 248, 1.3 s at 313, 3 s at 465 (benchmarks/sdp_speed.md). Clarabel, the fallback, factors a dense block of
# order d^2 / 2: 1.4 s at d = 80, 10 s at 96, 17 s at 127, so it is tried only up to CLARABEL_DIM
MAX_DIM = 500
CLARABEL_DIM = 80
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
    m = -_s_matrix(d, offsets, g, v, t, rho, last.T @ last)
    mag = np.zeros((d, d))
    mag[:, v] = np.abs(g.T) * np.abs(t) / 2
    mag += mag.T
    mag[v, v] += np.abs(t)
    lo = offsets[-2]
    mag[lo:, lo:] += np.abs(last).T @ np.abs(last)
    x = np.arange(offsets[1])
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


def _s_matrix(d: int, offsets, g: np.ndarray, v: np.ndarray, t: np.ndarray, rho: float,
              gram: np.ndarray | None) -> np.ndarray:
    """S = -M(rho, T) = rho P + sum_i T_i A_i - F^T F (A_i = -Q_i); without F^T F when `gram` is None (a direction)."""
    half = np.zeros((d, d))
    half[:, v] = g.T * t / 2
    s = -(half + half.T)
    s[v, v] += t
    if gram is not None:
        lo = offsets[-2]
        s[lo:, lo:] -= gram
    x = np.arange(offsets[1])
    s[x, x] += rho
    return s


def _start(ws: list[np.ndarray]) -> tuple[np.ndarray, float] | None:
    """A strictly feasible (T, rho): one multiplier per layer, chosen from the last layer back so that each block's
    Schur complement keeps at least half its diagonal. None when the output weights are zero."""
    gram = ws[-1].T @ ws[-1]
    lam = float(np.linalg.eigvalsh(gram)[-1])
    if not lam > 0:
        return None
    tau = 2 * lam
    taus = []
    schur = tau * np.eye(gram.shape[0]) - gram
    for k in range(len(ws) - 2, -1, -1):  # the weights into hidden block k + 1
        taus.append(tau)
        b = -tau * ws[k] / 2
        r = b.T @ np.linalg.solve(schur, b)
        lam = float(np.linalg.eigvalsh((r + r.T) / 2)[-1])
        tau = max(2 * lam, 1e-9 * taus[-1])  # a zero block below still needs a positive multiplier
        schur = tau * np.eye(r.shape[0]) - r
    t = np.concatenate([np.full(w.shape[0], tau_k) for w, tau_k in zip(ws[:-1], reversed(taus))])
    return t, tau


C_A = np.array([[1.0, -0.5], [-0.5, 0.0]])  # A_i = U_i C_A U_i^T with U_i = [e_i, g_i]
MU = 4  # the barrier weight's growth per centre: 10 stalled on digits-64-128-128-10 (order 313) above the optimum
NZ = ((0, 0), (0, 1), (1, 0))  # its nonzero entries


def _barrier(d: int, offsets, g: np.ndarray, v: np.ndarray, ws: list[np.ndarray], rtol: float = 1e-8,
             below: float = -np.inf, above: float = np.inf) -> list[tuple[np.ndarray, float]]:
    """min rho s.t. S(rho, T) is PSD, by a log-det barrier method with Newton steps on the n + 1 multipliers.

    Every A_i has rank 2, so the Newton system costs O(d^3 + n^2) per step instead of the d^4 / 4 of a generic
    conic solver's scaling block: order 128 in well under a second. Returns the centres reached, each strictly
    feasible, the last within rtol of the optimum (or where float64 stopped the descent); the later ones sit closer
    to the boundary, where the float64 check may refuse them. It stops early at a centre whose rho is at most
    `below` (good enough for the caller), or once the optimum is surely above `above` (rho - d / weight, the
    centre's duality gap, exceeds it: the caller has a better bound)."""
    centres: list[tuple[np.ndarray, float]] = []
    start = _start(ws)
    if start is None:
        return centres
    t, rho = start
    gram = ws[-1].T @ ws[-1]
    n0 = offsets[1]
    y = np.concatenate([[rho], t])

    def factor(s):
        try:
            return np.linalg.cholesky(s)
        except np.linalg.LinAlgError:
            return None

    s = _s_matrix(d, offsets, g, v, y[1:], y[0], gram)
    chol = factor(s)
    if chol is None:
        return centres
    weight = d / y[0]  # the barrier's gap d / weight starts at rho
    for _ in range(80):
        for _ in range(100):
            inv = np.linalg.inv(chol)
            x = inv.T @ inv
            xg = x @ g.T
            gee, gea, gaa = x[np.ix_(v, v)], xg[v, :], g @ xg
            grad = np.empty_like(y)
            grad[0] = weight - np.trace(x[:n0, :n0])
            grad[1:] = -(np.diag(gee) - np.diag(gea))
            p = np.array([[gee, gea], [gea.T, gaa]])
            h = np.empty((len(y), len(y)))
            # tr(C P_ij C P_ij^T) with C_11 = 0: the nine products of C's nonzero entries
            h[1:, 1:] = sum(C_A[a, b] * C_A[c, e] * p[b, c] * p[a, e] for a, b in NZ for c, e in NZ)
            h[0, 0] = np.sum(x[:n0, :n0] ** 2)
            ye, yg = x[:n0, v], xg[:n0, :]
            h[0, 1:] = h[1:, 0] = np.sum(ye * ye, axis=0) - np.sum(ye * yg, axis=0)
            # Jacobi scaling first: multipliers of neurons with tiny weights make h badly scaled, not singular
            scale = 1 / np.sqrt(np.maximum(np.diag(h), np.finfo(float).tiny))
            try:
                step = -scale * np.linalg.solve(h * scale[:, None] * scale[None, :], grad * scale)
            except np.linalg.LinAlgError:
                step = -scale * np.linalg.lstsq(h * scale[:, None] * scale[None, :], grad * scale, rcond=None)[0]
            with np.errstate(invalid="ignore", over="ignore"):  # a non-finite step ends the method below
                dec = -float(grad @ step)
            if not np.isfinite(dec):
                return centres
            if dec < 1e-8:
                break
            ds = _s_matrix(d, offsets, g, v, step[1:], step[0], None)
            f0 = weight * y[0] - 2 * np.sum(np.log(np.diag(chol)))
            alpha = 1.0
            while alpha > 1e-12:
                trial = factor(s + alpha * ds)
                if trial is not None and weight * (y[0] + alpha * step[0]) - 2 * np.sum(
                        np.log(np.diag(trial))) <= f0 - 0.25 * alpha * dec:
                    break
                alpha /= 2
            else:  # no descent left in float64: further weights would only stall the same way
                return centres + [(np.maximum(y[1:], 0.0), float(y[0]))]
            y = y + alpha * step
            s, chol = s + alpha * ds, trial
        centres.append((np.maximum(y[1:], 0.0), float(y[0])))
        if d / weight <= rtol * y[0] or y[0] <= below or y[0] - d / weight > above:
            break
        weight *= MU
    return centres


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


def _certify(d: int, offsets, g: np.ndarray, v: np.ndarray, last: np.ndarray,
             found: tuple[np.ndarray, float]) -> tuple[float, float] | None:
    """(bound, relative raise of rho) for the first raise of rho that passes the float64 check, or None."""
    t, rho = found
    for rel in TRIES:
        trial = float(np.nextafter(max(rho, 0.0) * (1 + rel), np.inf))
        if verified(d, offsets, g, v, t, trial, last):
            return float(np.nextafter(np.sqrt(trial) * (1 + 4 * UNIT_ROUNDOFF), np.inf)), rel
    return None


def best_barrier(d: int, offsets, g: np.ndarray, v: np.ndarray, ws: list[np.ndarray], rtol: float = 1e-8,
                 below: float = -np.inf, above: float = np.inf) -> tuple[float, float] | None:
    """(bound, raise of rho): the least certified bound of the barrier's last three centres, most accurate first."""
    centres = _barrier(d, offsets, g, v, ws, rtol, below, above)
    return min((c for c in (_certify(d, offsets, g, v, ws[-1], f) for f in centres[:-4:-1]) if c is not None),
               default=None)


def sdp_order(network: Network, stability: list[Stability]) -> int:
    """The order of the SDP's matrix: inputs plus the neurons not stably inactive."""
    return network.n_inputs + sum(int((~s.inactive).sum()) for s in stability)


def sdp_upper(network: Network, stability: list[Stability], max_dim: int = MAX_DIM, *, rtol: float = 1e-8,
              enough: float | None = None, useless: float | None = None, fallback: bool = True) -> SdpBound:
    """A certified upper bound of L_{2->2} of the network on the box its `stability` was classified on.

    The barrier method proposes (T, rho), to `rtol` relative accuracy; where it fails (or its proposal fails the
    check), the matrix is small and `fallback` allows, Clarabel tries, once plainly and once with a margin of
    definiteness. `enough` / `useless` (bounds of L): the barrier stops once it is below the first or surely above
    the second (a branch and bound's pruning threshold and its other bound)."""
    ws = _kept(network, stability)
    d, offsets, g, v = _pieces(ws)
    if d > max_dim:
        return SdpBound(None, f"the SDP's matrix would have order {d} (inputs plus kept neurons), above {max_dim}", d)
    last = ws[-1]
    if not len(v):  # affine on the box
        return SdpBound(None, "no hidden neuron left: the network is affine on the box", d)
    # the barrier's last centres, most accurate first: the best that passes the check
    below = -np.inf if enough is None else enough * enough
    above = np.inf if useless is None else useless * useless
    best = best_barrier(d, offsets, g, v, ws, rtol, below, above)
    if best is not None:
        return SdpBound(best[0], f"LipSDP-Neuron (barrier), matrix of order {d}, verified in float64 (rho raised "
                                 f"by {best[1]:g})", d)
    if d <= CLARABEL_DIM and fallback:
        found = _solve(d, offsets, g, v, last, 0.0)
        done = None if found is None else _certify(d, offsets, g, v, last, found)
        if found is not None and done is None:
            again = _solve(d, offsets, g, v, last, MARGIN * max(found[1], np.finfo(float).tiny))
            done = None if again is None else _certify(d, offsets, g, v, last, again)
        if done is not None:
            return SdpBound(done[0], f"LipSDP-Neuron (Clarabel), matrix of order {d}, verified in float64 (rho "
                                     f"raised by {done[1]:g})", d)
    return SdpBound(None, "no SDP solution passed the float64 check of negative semidefiniteness", d)
