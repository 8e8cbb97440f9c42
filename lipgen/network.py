"""The ReLU network: forward pass, activation patterns, Jacobians, cheap Lipschitz anchors."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from itertools import product

import numpy as np

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

    def jacobians(self, x: np.ndarray) -> np.ndarray:
        """Jacobians at a batch of points, shape (m, n_K, n_0); activation taken as z > 0."""
        xs = np.atleast_2d(np.asarray(x, dtype=np.float64))
        zs = self.preactivations(xs)
        j = np.broadcast_to(self.weights[0], (xs.shape[0],) + self.weights[0].shape)
        for z, w in zip(zs[:-1], self.weights[1:]):
            j = np.einsum("oh,mhi->moi", w, (z > 0)[:, :, None] * j)
        return np.array(j)


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
        v = np.zeros(n)
        if n:
            v[0] = 1.0
        return 0.0, v
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
    _, sv, vt = np.linalg.svd(j)
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
    return best, best_v


def operator_norm_upper(w: np.ndarray, alpha: str, beta: str) -> float:
    """A cheap upper bound of ||W||_{alpha->beta}, exact when alpha = 1, beta = inf or both are 2."""
    w = np.atleast_2d(np.asarray(w, dtype=np.float64))
    if w.size == 0:
        return 0.0
    if alpha == "1" or beta == "inf" or (alpha == "2" and beta == "2"):
        return operator_norm(w, alpha, beta)
    # sup_{||x||<=1} |row_i x| = ||row_i||_{alpha*}, so ||Wx||_beta <= || (||row_i||_{alpha*})_i ||_beta
    return float(vector_norm(vector_norm(w, dual_norm(alpha), axis=1), beta))
