"""Forward mode (docs/formulation.md, section 3): the direction v is pushed through the layers.

  v in the alpha-ball,  t'_k = W''_k y'_{k-1},  y'_k = s_k * t'_k,  g' = W''_K y'_{K-1},  maximise ||g'||_beta

with W''_k = diag(1/tau_k) W_k diag(tau_{k-1}) (tau_0 = 1, tau_K = Lambda). Stably active neurons reuse t as y.
The bounds of t_1 are the dual norms of W_1's rows; later ones come by interval arithmetic, each intersected with
the Jacobian entry bounds of the partial product (formulation/jacobian.py) when the problem has them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bounds import interval_propagate
from ..model import ModelBuilder
from ..network import dual_norm, vector_norm
from ..rounding import gamma, power_of_two
from .activation import ActivationProblem, put
from .jacobian import forward_limits, intersect
from .objectives import direction, objective_values, output_norm
from .relu import affine_rows, product_rows


@dataclass
class DerivativeLayer:
    tau: np.ndarray  # derivative scale over the layer's keep neurons
    tlo: np.ndarray  # unscaled bounds of t over keep
    thi: np.ndarray


def dual_norm_bounds(w: np.ndarray, alpha: str) -> np.ndarray:
    """|row . v| <= ||row||_{alpha*} for ||v||_alpha <= 1, widened by a rounding bound."""
    if not w.size:
        return np.zeros(w.shape[0])
    return vector_norm(w, dual_norm(alpha), axis=1) * (1 + gamma(w.shape[1] + 4))


class ForwardProblem(ActivationProblem):
    """The forward-mode problem; `build(name)` gives the ModelBuilder, `values(x, v)` a point's variables."""

    mode = "forward"

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.derivative = self._plan_derivatives()

    def _plan_derivatives(self) -> list[DerivativeLayer]:
        net, spec = self.network, self.spec
        limits = forward_limits(self.jacobian, spec.alpha)
        out = []
        prev_keep, tlo, thi = np.arange(net.n_inputs), None, None
        for k, L in enumerate(self.hidden, start=1):
            w = net.weights[k - 1][np.ix_(L.keep, prev_keep)]
            if k == 1:
                q = dual_norm_bounds(w, spec.alpha)
                p = -q
            else:
                p, q = interval_propagate(w, tlo, thi)
            if limits is not None:
                p, q = intersect(p, q, -limits[k - 1][L.keep], limits[k - 1][L.keep])
            out.append(DerivativeLayer(power_of_two(np.maximum(np.abs(p), np.abs(q)), up=True), p, q))
            pos = np.searchsorted(L.keep, L.unstable)
            tlo, thi = p.copy(), q.copy()
            tlo[pos], thi[pos] = np.minimum(p[pos], 0), np.maximum(q[pos], 0)
            prev_keep = L.keep
        w = net.weights[-1][:, prev_keep]
        if not self.hidden:
            q = dual_norm_bounds(w, spec.alpha)
            self.glo, self.ghi = -q, q
        else:
            self.glo, self.ghi = interval_propagate(w, tlo, thi)
        if limits is not None:
            self.glo, self.ghi = intersect(self.glo, self.ghi, -limits[-1], limits[-1])
        return out

    def model_builder(self, name: str) -> ModelBuilder:
        net, spec = self.network, self.spec
        quadratic = spec.encoding == "quadratic"
        b = ModelBuilder(name)
        s_cols = self.build_activation(b)
        v = direction(b, net.n_inputs, spec.alpha)
        prev_cols, prev_keep, prev_tau = v, np.arange(net.n_inputs), np.ones(net.n_inputs)
        for k, (L, D) in enumerate(zip(self.hidden, self.derivative), start=1):
            w = net.weights[k - 1][np.ix_(L.keep, prev_keep)] * prev_tau / D.tau[:, None]
            t = b.add_vars(f"t{k}_", len(L.keep), lb=D.tlo / D.tau, ub=D.thi / D.tau, suffixes=L.keep)
            affine_rows(b, f"der{k}_", L.keep, t, w, prev_cols, rhs=0.0)
            pos = np.searchsorted(L.keep, L.unstable)
            pu = np.minimum(D.tlo[pos], 0) / D.tau[pos]
            qu = np.maximum(D.thi[pos], 0) / D.tau[pos]
            y = b.add_vars(f"y{k}_", len(L.unstable), lb=pu, ub=qu, suffixes=L.unstable)
            product_rows(b, f"prod{k}_", L.unstable, y, t[pos], s_cols[k - 1], pu, qu, quadratic)
            cols = t.copy()
            cols[pos] = y
            prev_cols, prev_keep, prev_tau = cols, L.keep, D.tau
        lam = self.scaling.objective
        w = net.weights[-1][:, prev_keep] * prev_tau / lam
        g = b.add_vars("g_", net.n_outputs, lb=self.glo / lam, ub=self.ghi / lam)
        affine_rows(b, "out_", np.arange(net.n_outputs), g, w, prev_cols, rhs=0.0)
        cols = output_norm(b, g, self.glo / lam, self.ghi / lam, spec.beta, fix_signs=self.fixed_signs)
        self.cap_objective(b, cols, g, quadratic_rows=spec.alpha == "2")
        return b

    def values(self, x: np.ndarray, v: np.ndarray) -> dict[str, float]:
        """Every variable's value at input x and direction v (v's sign flipped so the objective's term is >= 0).

        Unstable neurons' binaries follow z > 0 at x; for the strict problem the point is a feasible MIP start
        only if it keeps the margin.
        """
        net, spec = self.network, self.spec
        x, v = np.asarray(x, dtype=np.float64), np.asarray(v, dtype=np.float64)
        zs, pattern = self.pattern_at(x)
        ts, ys, y_prev = [], [], v
        for k in range(1, len(self.hidden) + 1):
            t = net.weights[k - 1] @ y_prev
            y_prev = pattern[k - 1] * t
            ts.append(t)
            ys.append(y_prev)
        g = net.weights[-1] @ y_prev
        lead = int(np.argmax(np.abs(g))) if len(g) > 1 else 0
        sign = -1.0 if g[lead] < 0 else 1.0
        vals = self.activation_values(x, zs)
        every = np.arange(net.n_inputs)
        put(vals, "v_", every, sign * v)
        if spec.alpha == "1":
            put(vals, "vp_", every, np.maximum(sign * v, 0))
            put(vals, "vm_", every, np.maximum(-sign * v, 0))
        for k, (L, D) in enumerate(zip(self.hidden, self.derivative), start=1):
            put(vals, f"t{k}_", L.keep, sign * ts[k - 1][L.keep] / D.tau)
            pos = np.searchsorted(L.keep, L.unstable)
            put(vals, f"y{k}_", L.unstable, sign * ys[k - 1][L.unstable] / D.tau[pos])
        gs = sign * g / self.scaling.objective
        put(vals, "g_", np.arange(net.n_outputs), gs)
        vals.update(objective_values(gs, spec.beta))
        return vals
