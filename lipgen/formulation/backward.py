"""Backward (reverse) mode (docs/formulation.md, section 3b): a covector is pulled back through the layers.

  ||J||_{alpha -> beta} = max over ||w||_{beta*} <= 1 of ||J^T w||_{alpha*}

  r_{K-1} = W_K^T w,   q_k = s_k * r_k (unstable neurons; r_k itself for active ones),   r_{k-1} = W_k^T q_k,
  maximise ||r_0||_{alpha*}

The covector w ranges over the vertices of the beta* ball where that suffices (the objective is convex in
w): one output or a fixed covector c^T f: w = 1, a constant, so r_{K-1} is a constant and the last hidden
layer's products are exact (q = r s with r known, no big-M); beta = inf: w = e_j, selection binaries
(w -> -w changes nothing); beta = 1: w = 2 sigma - 1 with sign binaries; beta = 2: w continuous in the unit
l2 ball (a convex quadratic row). Scaled like forward mode: r'_k = r_k / tau_k with tau_k a power of two
>= the bound of |r_k|, and r'_0 = r_0 / Lambda. The bounds of every r_k come by interval arithmetic, each
intersected with the Jacobian entry bounds of the partial product (formulation/jacobian.py) when the problem has
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from ..bounds import interval_propagate
from ..model import BINARY, SENSE_EQ, SENSE_LE, ModelBuilder
from ..network import dual_norm, vector_norm
from ..rounding import power_of_two
from .activation import ActivationProblem, put
from .jacobian import backward_limits, intersect
from .objectives import objective_values, output_norm
from .relu import product_rows


@dataclass
class CovectorLayer:
    """The pulled-back covector r_k over the keep neurons of hidden layer k (k = K-1 .. 1), or over the inputs."""

    idx: np.ndarray  # neurons (or inputs)
    rlo: np.ndarray  # unscaled bounds of r_k
    rhi: np.ndarray
    tau: np.ndarray  # scale of r_k


class BackwardProblem(ActivationProblem):
    """The backward-mode problem; `build(name)` gives the ModelBuilder, `values(x, v)` a point's variables."""

    mode = "backward"

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.covector = self._plan_covectors()

    @property
    def fixed_covector(self) -> bool:
        return self.network.n_outputs == 1

    def _top(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of r_{K-1} = W_K^T w over the covectors the problem ranges over (over all of layer K-1)."""
        wk = self.network.weights[-1]
        if self.fixed_covector:
            return wk[0].copy(), wk[0].copy()
        beta = self.spec.beta
        if beta == "inf":  # w = e_j
            return wk.min(axis=0), wk.max(axis=0)
        if beta == "1":  # w in {-1, 1}^m
            return interval_propagate(wk.T, -np.ones(wk.shape[0]), np.ones(wk.shape[0]))
        q = vector_norm(wk, "2", axis=0) * (1 + 1e-15 * wk.shape[0])  # |col . w| <= ||col||_2
        return -q, q

    def _plan_covectors(self) -> list[CovectorLayer]:
        """r_{K-1}, ..., r_1 over keep neurons, then r_0 over the inputs; bounds by interval arithmetic."""
        net = self.network
        limits = backward_limits(self.jacobian, self.spec.beta)
        lo, hi = self._top()
        layers = []
        for k in range(len(self.hidden), 0, -1):
            L = self.hidden[k - 1]
            if limits is not None:
                lo, hi = intersect(lo, hi, *limits[k])
            rlo, rhi = lo[L.keep], hi[L.keep]
            layers.append(CovectorLayer(L.keep, rlo, rhi, power_of_two(np.maximum(np.abs(rlo), np.abs(rhi)), up=True)))
            pos = np.searchsorted(L.keep, L.unstable)
            qlo, qhi = rlo.copy(), rhi.copy()
            qlo[pos], qhi[pos] = np.minimum(rlo[pos], 0), np.maximum(rhi[pos], 0)
            lo, hi = interval_propagate(net.weights[k - 1][L.keep].T, qlo, qhi)
        inputs = np.arange(net.n_inputs)
        if limits is not None:
            lo, hi = intersect(lo, hi, *limits[0])
        layers.append(CovectorLayer(inputs, lo, hi, np.full(net.n_inputs, self.scaling.objective)))
        return layers

    # -- the model -------------------------------------------------------------------------------------------
    def _covector_expr(self, b: ModelBuilder):
        """r_{K-1} (over all neurons of layer K-1, or the outputs' pull-back when K = 1) as (cols, coefs, const):
        r_i = sum_j coefs[i, j] * var[cols[j]] + const[i]."""
        wk, beta = self.network.weights[-1], self.spec.beta
        if self.fixed_covector:
            return np.zeros(0, np.int64), np.zeros((wk.shape[1], 0)), wk[0].copy()
        m = wk.shape[0]
        if beta == "inf":
            c = b.add_vars("cov_", m, lb=0, ub=1, vtype=BINARY)
            b.add_rows("cov_select", 1, SENSE_EQ, 1.0, coo=(np.zeros(m, np.int64), c, np.ones(m)), suffixes=[""])
            return c, wk.T.copy(), np.zeros(wk.shape[1])
        if beta == "1":
            c = b.add_vars("cov_", m, lb=0, ub=1, vtype=BINARY)  # w = 2 c - 1
            return c, 2 * wk.T, -wk.sum(axis=0)
        c = b.add_vars("cov_", m, lb=-1, ub=1)
        r = b.add_rows("cov_ball", 1, SENSE_LE, 1.0, suffixes=[""])
        b.add_quadratic(np.repeat(r, m), c, c, 1.0)
        return c, wk.T.copy(), np.zeros(wk.shape[1])

    def model_builder(self, name: str) -> ModelBuilder:
        net, spec = self.network, self.spec
        quadratic = spec.encoding == "quadratic"
        b = ModelBuilder(name)
        s_cols = self.build_activation(b)
        cols, coefs, const = self._covector_expr(b)
        # the expression feeding layer k's r: q_k = (columns, coefficient matrix over all of layer k, constant)
        for depth, C in enumerate(self.covector):
            k = len(self.hidden) - depth  # r_k; k = 0 for the inputs
            scale = C.tau
            r = b.add_vars(f"r{k}_", len(C.idx), lb=C.rlo / scale, ub=C.rhi / scale, suffixes=C.idx)
            rows_local = coefs[C.idx] / scale[:, None]
            n_rows, n_cols = rows_local.shape
            local = np.repeat(np.arange(n_rows), n_cols)
            b.add_rows(f"bwd{k}_", n_rows, SENSE_EQ, const[C.idx] / scale, terms=[(r, 1.0)],
                       coo=(local, np.tile(cols, n_rows), -rows_local.ravel()), suffixes=C.idx)
            if k == 0:
                cols = output_norm(b, r, C.rlo / scale, C.rhi / scale, dual_norm(spec.alpha), symmetric=False,
                                   fix_signs=self.fixed_signs)
                self.cap_objective(b, cols, r, quadratic_rows=spec.beta == "2" and not self.fixed_covector)
                break
            L = self.hidden[k - 1]
            pos = np.searchsorted(L.keep, L.unstable)
            pu = np.minimum(C.rlo[pos], 0) / scale[pos]
            qu = np.maximum(C.rhi[pos], 0) / scale[pos]
            y = b.add_vars(f"q{k}_", len(L.unstable), lb=pu, ub=qu, suffixes=L.unstable)
            product_rows(b, f"bprod{k}_", L.unstable, y, r[pos], s_cols[k - 1], pu, qu, quadratic)
            qcols = r.copy()
            qcols[pos] = y
            # r_{k-1} = W_k^T q_k with q_k = tau * q'_k: a matrix over layer k-1's neurons (all of them)
            w = net.weights[k - 1][L.keep]  # keep x n_{k-1}
            cols, coefs, const = qcols, (w * scale[:, None]).T, np.zeros(w.shape[1])
        return b

    # -- a point -----------------------------------------------------------------------------------------------
    def best_covector(self, j: np.ndarray) -> np.ndarray:
        """The covector w of the problem's set that maximises ||J^T w||_{alpha*} at a given Jacobian J."""
        m, beta, alpha = j.shape[0], self.spec.beta, self.spec.alpha
        if self.fixed_covector:
            return np.ones(1)
        if beta == "inf":
            vals = [float(vector_norm(j[i], dual_norm(alpha))) for i in range(m)]
            return (np.arange(m) == int(np.argmax(vals))).astype(float)
        if beta == "1":
            cands = np.array(list(product((-1.0, 1.0), repeat=m))) if m <= 12 else np.sign(j @ np.ones(j.shape[1]))[None]
            vals = vector_norm(cands @ j, dual_norm(alpha), axis=1)
            return cands[int(np.argmax(vals))]
        _, w = operator_norm_transposed(j, alpha)
        return w

    def values(self, x: np.ndarray, v: np.ndarray | None = None) -> dict[str, float]:
        """Every variable's value at input x with the best covector there (v is not used in backward mode)."""
        net, spec = self.network, self.spec
        x = np.asarray(x, dtype=np.float64)
        zs, pattern = self.pattern_at(x)
        j = net.jacobian_of_pattern(pattern)
        w = self.best_covector(j)
        vals = self.activation_values(x, zs)
        if not self.fixed_covector:
            covar = (w + 1) / 2 if spec.beta == "1" else w
            put(vals, "cov_", np.arange(net.n_outputs), covar)
        r = net.weights[-1].T @ w
        for depth, C in enumerate(self.covector):
            k = len(self.hidden) - depth
            put(vals, f"r{k}_", C.idx, r[C.idx] / C.tau)
            if k == 0:
                vals.update(objective_values(r / C.tau, dual_norm(spec.alpha), symmetric=False))
                break
            L = self.hidden[k - 1]
            q = pattern[k - 1] * r
            pos = np.searchsorted(L.keep, L.unstable)
            put(vals, f"q{k}_", L.unstable, q[L.unstable] / C.tau[pos])
            r = net.weights[k - 1].T @ q
        return vals


def operator_norm_transposed(j: np.ndarray, alpha: str) -> tuple[float, np.ndarray]:
    """(max over ||w||_2 <= 1 of ||J^T w||_{alpha*} as far as a few candidates find it, the best w)."""
    u, _, _ = np.linalg.svd(j, full_matrices=False)
    candidates = [u[:, 0]]
    if alpha != "2":  # the l2-normalised images J s of sign vectors s of the input side
        images = j @ np.sign(j).T
        candidates += [c / np.linalg.norm(c) for c in images.T if np.linalg.norm(c) > 0]
    vals = [float(vector_norm(j.T @ w, dual_norm(alpha))) for w in candidates]
    k = int(np.argmax(vals))
    return vals[k], candidates[k]
