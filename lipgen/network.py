"""The ReLU network: forward pass, activation patterns, Jacobians, cheap Lipschitz anchors."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from itertools import product

import numpy as np

from .rounding import UNIT_ROUNDOFF, gamma, mul_up, round_up

NORMS = ("1", "2", "inf")


def norm_value(p: str) -> float:
    """'1' | '2' | 'inf' -> the numpy `ord`."""
    return {"1": 1.0, "2": 2.0, "inf": np.inf}[p]


def dual_norm(p: str) -> str:
    return {"1": "inf", "2": "2", "inf": "1"}[p]


def vector_norm(x: np.ndarray, p: str, axis=None) -> np.ndarray:
    return np.linalg.norm(x, ord=norm_value(p), axis=axis)


@dataclass
class Network:
    """Affine layers z_k = W_k x_{k-1} + b_k with ReLU on all but the last."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    name: str = "net"
    domain_lower: np.ndarray | None = None
    domain_upper: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def n_inputs(self) -> int:
        return self.weights[0].shape[1]

    @property
    def n_outputs(self) -> int:
        return self.weights[-1].shape[0]

    @property
    def widths(self) -> list[int]:
        return [self.n_inputs] + [w.shape[0] for w in self.weights]

    @property
    def n_hidden_layers(self) -> int:
        return len(self.weights) - 1

    def digest(self) -> str:
        """SHA-256 of the weights and biases (float64, C order), independent of the file format."""
        h = hashlib.sha256()
        for w, b in zip(self.weights, self.biases):
            h.update(np.asarray(w.shape, dtype=np.int64).tobytes())
            h.update(np.ascontiguousarray(w, dtype=np.float64).tobytes())
            h.update(np.ascontiguousarray(b, dtype=np.float64).tobytes())
        return h.hexdigest()

    def preactivations(self, x: np.ndarray) -> list[np.ndarray]:
        """Pre-activations z_1..z_K for a batch x of shape (m, n_0) (or one point (n_0,))."""
        h = np.atleast_2d(np.asarray(x, dtype=np.float64))
        zs = []
        for w, b in zip(self.weights, self.biases):
            z = h @ w.T + b
            zs.append(z)
            h = np.maximum(z, 0.0)
        return zs

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = self.preactivations(x)[-1]
        return out[0] if np.ndim(x) == 1 else out

    def jacobian_of_pattern(self, pattern: list[np.ndarray]) -> np.ndarray:
        """J_s = W_K D_{K-1} W_{K-1} ... D_1 W_1 for one 0/1 pattern per hidden layer."""
        j = self.weights[0]
        for s, w in zip(pattern, self.weights[1:]):
            j = w @ (np.asarray(s, dtype=np.float64)[:, None] * j)
        return j

    def pattern_jacobians(self, masks: list[np.ndarray], dtype=np.float64) -> np.ndarray:
        """Jacobians of a batch of activation patterns, shape (B, n_K, n_0); masks[k] is (B, width_k), 0/1.

        The chain is multiplied from its narrow end (the outputs when n_K <= n_0), as one matrix
        product per layer over the whole batch: B*n_K rows times W_k instead of B (W_k @ J) products.
        dtype float32 halves the cost for a screening pass (see anchors.sampled_lower_bound).
        """
        ws = [np.asarray(w, dtype=dtype) for w in self.weights]
        masks = [np.asarray(m, dtype=dtype) for m in masks]
        if not masks:
            return np.array(ws[0])[None]
        b = masks[0].shape[0]
        if self.n_outputs <= self.n_inputs:
            g = np.broadcast_to(ws[-1], (b,) + ws[-1].shape)
            for mask, w in zip(reversed(masks), reversed(ws[:-1])):
                g = (g * mask[:, None, :]).reshape(-1, w.shape[0]) @ w
                g = g.reshape(b, self.n_outputs, w.shape[1])
            return g
        h = np.broadcast_to(ws[0].T, (b,) + ws[0].T.shape)
        for mask, w in zip(masks, ws[1:]):
            h = (h * mask[:, None, :]).reshape(-1, w.shape[1]) @ w.T
            h = h.reshape(b, self.n_inputs, w.shape[0])
        return np.ascontiguousarray(h.transpose(0, 2, 1))

    def jacobians(self, x: np.ndarray) -> np.ndarray:
        """Jacobians at a batch of points, shape (m, n_K, n_0); activation taken as z > 0."""
        xs = np.atleast_2d(np.asarray(x, dtype=np.float64))
        zs = self.preactivations(xs)
        return np.array(self.pattern_jacobians([z > 0 for z in zs[:-1]]))


def operator_norm(j: np.ndarray, alpha: str, beta: str, exact: bool = True, max_enum: int = 16) -> float:
    """||J||_{alpha->beta}; exact for the cheap cases, by enumeration of vertices for small hard ones.

    With exact=False (or too many vertices) a hard case returns a lower bound: the best of a few
    unit directions.
    """
    return operator_norm_with_direction(j, alpha, beta, exact, max_enum)[0]


def operator_norm_with_direction(j: np.ndarray, alpha: str, beta: str, exact: bool = True,
                                 max_enum: int = 16) -> tuple[float, np.ndarray]:
    """(||J||_{alpha->beta}, a direction v with ||v||_alpha = 1 attaining it, or the best one tried)."""
    j = np.atleast_2d(np.asarray(j, dtype=np.float64))
    m, n = j.shape
    if j.size == 0 or not np.any(j):
        return 0.0, _unit(n)
    if alpha == "1":
        cols = vector_norm(j, beta, axis=0)
        v = np.zeros(n)
        v[int(np.argmax(cols))] = 1.0
        return float(cols.max()), v
    if beta == "inf":
        rows = vector_norm(j, dual_norm(alpha), axis=1)
        r = j[int(np.argmax(rows))]
        v = np.sign(r) if alpha == "inf" else r / np.linalg.norm(r)
        return float(rows.max()), v
    if alpha == "inf" and exact and n <= max_enum:
        signs = np.array(list(product((-1.0, 1.0), repeat=n)))
        vals = vector_norm(signs @ j.T, beta, axis=1)
        return float(vals.max()), signs[int(np.argmax(vals))]
    _, sv, vt = np.linalg.svd(j, full_matrices=False)  # thin: vt[0] is all that is used
    if alpha == "2" and beta == "2":
        return float(sv[0]), vt[0]
    if alpha == "2" and beta == "1" and exact and m <= max_enum:
        # ||J||_{2->1} = max over sign vectors u of ||J^T u||_2, attained at v = J^T u / ||J^T u||
        signs = np.array(list(product((-1.0, 1.0), repeat=m)))
        cand = signs @ j
        k = int(np.argmax(np.linalg.norm(cand, axis=1)))
        return float(np.linalg.norm(cand[k])), cand[k] / np.linalg.norm(cand[k])
    best, best_v = 0.0, vt[0]
    for v in [vt[0], np.sign(vt[0])] + [np.sign(r) for r in j]:
        nv = float(vector_norm(v, alpha))
        if nv > 0:
            val = float(vector_norm(j @ v, beta)) / nv
            if val > best:
                best, best_v = val, v / nv
    if exact and alpha == "inf" and beta == "2":
        val, s = inf_to_2_by_signs(j)
        if val > best:
            best, best_v = val, s
    elif exact and alpha == "2" and beta == "1":  # ||J||_{2->1} = ||J^T||_{inf->2}, attained at v = J^T u / ||J^T u||
        val, u = inf_to_2_by_signs(j.T)
        if val > best:
            best, best_v = val, j.T @ u / val
    return best, best_v


def _unit(n: int) -> np.ndarray:
    v = np.zeros(n)
    if n:
        v[0] = 1.0
    return v


def inf_to_2_by_signs(a: np.ndarray, starts: int = 8, seed: int = 0) -> tuple[float, np.ndarray]:
    """(||A s||_2, s): the best sign vector s found by alternating s = sign(A^T u), u = A s / ||A s|| (each step
    raises ||A s||) from the leading left singular vector and `starts` seeded random directions. A float64
    estimate of ||A||_{inf->2} from below, not a bound (bounds/inf_to_2.py bounds it from above)."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    r, n = a.shape
    if a.size == 0 or not np.any(a):
        return 0.0, np.ones(n)
    rng = np.random.default_rng(seed)
    best, best_s = -1.0, np.ones(n)
    for u in [np.linalg.svd(a, full_matrices=False)[0][:, 0]] + list(rng.normal(size=(starts, r))):
        seen: set[bytes] = set()
        while len(seen) < 100:  # each step raises ||A s||; ties could cycle, the set and the cap end them
            s = np.where(a.T @ u >= 0, 1.0, -1.0)
            if (key := s.tobytes()) in seen:
                break
            seen.add(key)
            y = a @ s
            val = float(np.linalg.norm(y))
            if val > best:
                best, best_s = val, s
            if val == 0:
                break
            u = y / val
    return best, best_s


def _half_signs(k: int) -> np.ndarray:
    """All sign vectors of length k with a leading +1 (s and -s give the same norm): (2^(k-1), k)."""
    rest = np.array(list(product((-1.0, 1.0), repeat=k - 1)), dtype=np.float64).reshape(2 ** (k - 1), k - 1)
    return np.hstack([np.ones((len(rest), 1)), rest])


def _max_over_signs(js: np.ndarray, beta: str, by_rows: bool) -> np.ndarray:
    """max_s ||J s||_beta (s in {-1,1}^n), or with by_rows max_u ||J^T u||_2 (u in {-1,1}^m), per matrix.

    The enumeration runs in sub-batches that keep the (points x terms x signs) block near 32 MB.
    """
    bsz, m, n = js.shape
    k = m if by_rows else n
    signs = _half_signs(k)
    out = np.empty(bsz)
    step = max(1, (1 << 22) // (max(m, n) * len(signs)))
    for a in range(0, bsz, step):
        j = js[a:a + step]
        if by_rows or beta == "2":  # a quadratic form in the k x k Gram matrix
            gram = j @ j.transpose(0, 2, 1) if by_rows else j.transpose(0, 2, 1) @ j
            quad = np.einsum("sk,bsk->bs", signs, signs @ gram)
            out[a:a + step] = np.sqrt(np.maximum(quad, 0.0)).max(axis=1)
        else:
            out[a:a + step] = vector_norm(j @ signs.T, beta, axis=1).max(axis=1)
    return out


def operator_norms(js: np.ndarray, alpha: str, beta: str, max_enum: int = 16) -> np.ndarray:
    """`operator_norm` of each matrix of a batch (B, m, n), vectorised; the same value up to rounding, except for
    inf->2 beyond enumeration (and 2->1), where only the candidate directions are tried (a screen: at most the value).

    2->2 through the Gram matrix's eigenvalues (m x m or n x n, whichever is smaller).
    """
    js = np.asarray(js, dtype=np.float64)
    bsz, m, n = js.shape
    if js.size == 0:
        return np.zeros(bsz)
    if alpha == "1":
        return vector_norm(js, beta, axis=1).max(axis=1)
    if beta == "inf":
        return vector_norm(js, dual_norm(alpha), axis=2).max(axis=1)
    if alpha == "inf" and n <= max_enum:
        return _max_over_signs(js, beta, by_rows=False)
    small = js @ js.transpose(0, 2, 1) if m <= n else js.transpose(0, 2, 1) @ js
    if alpha == "2" and beta == "2":
        return np.sqrt(np.maximum(np.linalg.eigvalsh(small)[:, -1], 0.0))
    if alpha == "2" and beta == "1" and m <= max_enum:
        return _max_over_signs(js, beta, by_rows=True)
    # the same candidate directions as `operator_norm_with_direction`: top right singular vector, its
    # sign pattern, the sign patterns of J's rows
    _, vecs = np.linalg.eigh(small)
    top = vecs[:, :, -1]
    if m <= n:
        top = np.einsum("bmn,bm->bn", js, top)
    cands = np.concatenate([top[:, None, :], np.sign(top)[:, None, :], np.sign(js)], axis=1)  # (B, m+2, n)
    nv = vector_norm(cands, alpha, axis=2)
    vals = vector_norm(np.einsum("bmn,bcn->bcm", js, cands), beta, axis=2)
    ratio = np.divide(vals, nv, out=np.zeros_like(vals), where=nv > 0)
    return ratio.max(axis=1)


def operator_norm_upper(w: np.ndarray, alpha: str, beta: str) -> float:
    """A rigorous upper bound of ||W||_{alpha->beta}: >= the true norm despite rounding.

    Tight (within ~1e-9 relative) when alpha = 1, beta = inf or both are 2; otherwise the
    row-norm bound sup_{||x||<=1} |row_i x| = ||row_i||_{alpha*}, so ||Wx||_beta <= || (||row_i||_{alpha*})_i ||_beta.
    """
    w = np.atleast_2d(np.asarray(w, dtype=np.float64))
    if w.size == 0 or not np.any(w):
        return 0.0
    m, n = w.shape
    if alpha == "2" and beta == "2":
        return spectral_norm_upper(w)
    scale = -int(np.frexp(np.max(np.abs(w)))[1])  # exact power-of-two scaling: no square under- or overflows
    w = np.ldexp(w, scale)
    if alpha == "1":
        value = round_up(float(vector_norm(w, beta, axis=0).max()), m)
    elif beta == "inf":
        value = round_up(float(vector_norm(w, dual_norm(alpha), axis=1).max()), n)
    else:
        value = round_up(float(vector_norm(vector_norm(w, dual_norm(alpha), axis=1), beta)), m + n)
    return float(np.nextafter(np.ldexp(value, -scale), np.inf))


def _largest_eigenvalue(g: np.ndarray, max_steps: int = 300, tol: float = 1e-13) -> float:
    """An accurate estimate (not a bound) of lambda_max of a symmetric PSD matrix.

    Lanczos with full reorthogonalisation from a fixed start vector (deterministic); the Ritz
    value is checked every 10 steps. Small matrices, or no convergence, go to a dense eigensolver.
    """
    p = len(g)
    if p <= 200:
        return float(np.linalg.eigvalsh(g)[-1])
    basis = np.empty((max_steps + 1, p))
    basis[0] = 1.0 / np.sqrt(p)
    alphas, betas = [], []
    last = -np.inf
    for k in range(max_steps):
        w = g @ basis[k]
        alphas.append(float(basis[k] @ w))
        w -= basis[: k + 1].T @ (basis[: k + 1] @ w)  # full reorthogonalisation, twice is enough
        w -= basis[: k + 1].T @ (basis[: k + 1] @ w)
        beta = float(np.linalg.norm(w))
        if k % 10 == 9 or beta <= 1e-14 * abs(alphas[0]) or k == max_steps - 1:
            t = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
            ritz = float(np.linalg.eigvalsh(t)[-1])
            if ritz - last <= tol * abs(ritz) or beta <= 1e-14 * abs(alphas[0]):
                return ritz
            last = ritz
        betas.append(beta)
        basis[k + 1] = w / beta
    return float(np.linalg.eigvalsh(g)[-1])


def spectral_norm_upper(w: np.ndarray) -> float:
    """Certified upper bound of ||W||_2 (largest singular value), ~1e-9 above it.

    With A the wider orientation of W (p x q, p <= q) and G = A A^T: estimate lambda_max(G) by an
    eigensolver, take t a little above it and prove t I - G + eta I positive semidefinite with a
    floating-point Cholesky factorisation of t I - fl(G): if it runs to completion,
    lambda_min(t I - fl(G)) >= -gamma_{p+1} / (1 - gamma_{p+1}) tr (Demmel's bound, Higham 2002,
    Thm 10.3, valid for any summation order), and the Gram and subtraction rounding errors are at
    most gamma_q ||A||_F^2 and u (t + max g_ii). So ||W||_2^2 <= t + eta. W is first scaled by a
    power of two (exact) so no product under- or overflows. Falls back to the Frobenius norm.
    """
    w = np.atleast_2d(np.asarray(w, dtype=np.float64))
    if w.size == 0 or not np.any(w):
        return 0.0
    a = w if w.shape[0] <= w.shape[1] else w.T
    p, q = a.shape
    scale_exp = -int(np.frexp(np.max(np.abs(a)))[1])  # max |a| in [0.5, 1) after scaling
    a = np.ldexp(a, scale_exp)
    frob2 = round_up(float(np.dot(a.ravel(), a.ravel())), p * q)
    fallback = float(np.ldexp(round_up(np.sqrt(frob2), 2), -scale_exp))
    g = a @ a.T
    gram_err = mul_up(gamma(q), frob2) + (p * q + 2) * 2.0**-1000  # + any underflow in the products
    estimate = _largest_eigenvalue(g)
    for margin in (1e-9, 1e-6, 1e-3):
        t = estimate * (1.0 + margin) + 2.0 * gram_err
        h = -g
        diag = np.arange(p)
        h[diag, diag] = t - np.diag(g)
        try:
            np.linalg.cholesky(h)
        except np.linalg.LinAlgError:
            continue
        trace = round_up(float(np.sum(np.diag(h))), p)
        g_rel = gamma(p + 1)
        eta = g_rel / (1.0 - g_rel) * trace + UNIT_ROUNDOFF * (t + float(np.max(np.diag(g)))) + gram_err
        bound2 = round_up(t + eta, 2)
        return min(fallback, float(np.ldexp(round_up(np.sqrt(bound2), 2), -scale_exp)))
    return fallback
