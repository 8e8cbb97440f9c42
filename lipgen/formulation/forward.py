"""Forward mode (docs/formulation.md, section 3): the direction v is pushed through the layers.

  x' in the scaled box,  z'_k = W'_k a'_{k-1} + b'_k,  a'_k = relu(z'_k) (binary s_k for unstable neurons)
  v in the alpha-ball,   t'_k = W''_k y'_{k-1},  y'_k = s_k * t'_k,  g' = W''_K y'_{K-1},  maximise ||g'||_beta

with W'_k = diag(1/sigma_k) W_k diag(sigma_{k-1}) (sigma_0 the input scale h) and
W''_k = diag(1/tau_k) W_k diag(tau_{k-1}) (tau_0 = 1, tau_K = Lambda): the scaling of formulation/scaling.py.
Stably active neurons reuse z (a = z) and t (y = t); stably inactive neurons are dropped; the last hidden
layer keeps z and s for its unstable neurons only (nothing after it needs a).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bounds import LayerBounds, Stability, gamma, interval_propagate
from ..model import BINARY, ModelBuilder
from ..network import Network, dual_norm, vector_norm
from .objectives import direction, objective_values, output_norm
from .relu import affine_rows, product_rows, relu_rows, sign_rows
from .scaling import Scaling, power_of_two
from .spec import Spec


@dataclass
class Layer:
    """Index sets and scaled quantities of one hidden layer k (neurons by their index in the weights file)."""

    keep: np.ndarray  # active or unstable neurons
    unstable: np.ndarray
    zidx: np.ndarray  # neurons with a z variable
    zlo: np.ndarray  # scaled bounds of z over zidx
    zhi: np.ndarray
    rows: np.ndarray  # scaled forward rows (zidx x previous keep)
    rhs: np.ndarray
    margin: np.ndarray | None  # strict margin per unstable neuron (scaled units); None for the upper problem
    tau: np.ndarray  # derivative scale over keep
    tlo: np.ndarray  # unscaled bounds of t over keep
    thi: np.ndarray


def _first_layer_dual_norms(w: np.ndarray, alpha: str) -> np.ndarray:
    """|row . v| <= ||row||_{alpha*} for ||v||_alpha <= 1, widened by a rounding bound."""
    if not w.size:
        return np.zeros(w.shape[0])
    return vector_norm(w, dual_norm(alpha), axis=1) * (1 + gamma(w.shape[1] + 4))


class ForwardFormulation:
    """The forward-mode problem of one network, box and spec; `build()` gives the Model, `values()` a point."""

    def __init__(self, network: Network, lower: np.ndarray, upper: np.ndarray, spec: Spec,
                 bounds: list[LayerBounds], stability: list[Stability], scaling: Scaling):
        self.network, self.spec, self.scaling = network, spec, scaling
        self.lower, self.upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
        self.bounds, self.stability = bounds, stability
        self.layers = self._plan()

    # -- the plan: index sets, scaled rows and bounds ------------------------------------------------------
    def _plan(self) -> list[Layer]:
        net, sc, spec = self.network, self.scaling, self.spec
        K = len(net.weights)
        layers = []
        prev_keep, prev_scale = np.arange(net.n_inputs), sc.halfwidth
        prev_tau, tlo, thi = np.ones(net.n_inputs), None, None
        for k in range(1, K):
            st, lb, sigma = self.stability[k - 1], self.bounds[k - 1], sc.sigma[k - 1]
            keep, unst = np.flatnonzero(~st.inactive), np.flatnonzero(st.unstable)
            zidx = unst if k == K - 1 else keep
            w = net.weights[k - 1]
            rows = w[np.ix_(zidx, prev_keep)] * prev_scale[prev_keep] / sigma[zidx, None]
            offset = net.biases[k - 1][zidx] + (w[zidx] @ sc.center if k == 1 else 0.0)
            zlo, zhi = lb.lower[zidx] / sigma[zidx], lb.upper[zidx] / sigma[zidx]
            margin = None
            if spec.strict:
                # a distance eps from the neuron's hyperplane in the scaled space before the layer
                margin = spec.margin * np.linalg.norm(rows[np.searchsorted(zidx, unst)], axis=1)
            # derivative bounds (unscaled), from the first layer's dual norms or by interval arithmetic
            wd = w[np.ix_(keep, prev_keep)]
            if k == 1:
                q = _first_layer_dual_norms(wd, spec.alpha)
                p = -q
            else:
                p, q = interval_propagate(wd, tlo, thi)
            tau = power_of_two(np.maximum(np.abs(p), np.abs(q)), up=True)
            layers.append(Layer(keep, unst, zidx, zlo, zhi, rows, offset / sigma[zidx], margin, tau, p, q))
            pos = np.searchsorted(keep, unst)
            tlo, thi = p.copy(), q.copy()
            tlo[pos], thi[pos] = np.minimum(p[pos], 0), np.maximum(q[pos], 0)
            prev_keep, prev_scale, prev_tau = keep, sigma, tau
        self._out_tau = prev_tau
        self._out_keep = prev_keep
        w = net.weights[-1][:, prev_keep]
        if K == 1:
            q = _first_layer_dual_norms(w, spec.alpha)
            self.glo, self.ghi = -q, q
        else:
            self.glo, self.ghi = interval_propagate(w, tlo, thi)
        return layers

    # -- the model ---------------------------------------------------------------------------------------
    def build(self, name: str) -> ModelBuilder:
        net, spec, sc = self.network, self.spec, self.scaling
        quadratic = spec.encoding == "quadratic"
        K = len(net.weights)
        b = ModelBuilder(name)
        xlo = np.nextafter(sc.scaled_input(self.lower), -np.inf)
        xhi = np.nextafter(sc.scaled_input(self.upper), np.inf)
        x = b.add_vars("x_", net.n_inputs, lb=np.maximum(xlo, -1.0), ub=np.minimum(xhi, 1.0))
        prev_cols = x
        s_cols = []
        for k, L in enumerate(self.layers, start=1):
            last = k == K - 1
            z = b.add_vars(f"z{k}_", len(L.zidx), lb=L.zlo, ub=L.zhi, suffixes=L.zidx)
            affine_rows(b, f"fwd{k}_", L.zidx, z, L.rows, prev_cols, rhs=L.rhs)
            pos = np.searchsorted(L.zidx, L.unstable)
            zu, lu, uu = z[pos], L.zlo[pos], L.zhi[pos]
            s = b.add_vars(f"s{k}_", len(L.unstable), lb=0, ub=1, vtype=BINARY, suffixes=L.unstable)
            s_cols.append(s)
            if not last:
                a = b.add_vars(f"a{k}_", len(L.unstable), lb=0, ub=np.maximum(uu, 0), suffixes=L.unstable)
                relu_rows(b, k, L.unstable, zu, a, s, lu, uu, quadratic)
            if spec.strict or last:
                margin = L.margin if spec.strict else np.zeros(len(L.unstable))
                sign_rows(b, k, L.unstable, zu, s, lu, uu, margin, quadratic)
            if not last:
                cols = np.empty(len(L.keep), dtype=np.int64)
                cols[np.searchsorted(L.keep, L.unstable)] = a
                act = np.setdiff1d(L.keep, L.unstable, assume_unique=True)
                cols[np.searchsorted(L.keep, act)] = z[np.searchsorted(L.zidx, act)]
                prev_cols = cols

        v = direction(b, net.n_inputs, spec.alpha)
        prev_cols, prev_keep, prev_tau = v, np.arange(net.n_inputs), np.ones(net.n_inputs)
        for k, L in enumerate(self.layers, start=1):
            w = net.weights[k - 1][np.ix_(L.keep, prev_keep)] * prev_tau / L.tau[:, None]
            t = b.add_vars(f"t{k}_", len(L.keep), lb=L.tlo / L.tau, ub=L.thi / L.tau, suffixes=L.keep)
            affine_rows(b, f"der{k}_", L.keep, t, w, prev_cols, rhs=0.0)
            pos = np.searchsorted(L.keep, L.unstable)
            pu = np.minimum(L.tlo[pos], 0) / L.tau[pos]
            qu = np.maximum(L.thi[pos], 0) / L.tau[pos]
            y = b.add_vars(f"y{k}_", len(L.unstable), lb=pu, ub=qu, suffixes=L.unstable)
            product_rows(b, f"prod{k}_", L.unstable, y, t[pos], s_cols[k - 1], pu, qu, quadratic)
            cols = t.copy()
            cols[pos] = y
            prev_cols, prev_keep, prev_tau = cols, L.keep, L.tau

        lam = sc.objective
        w = net.weights[-1][:, prev_keep] * prev_tau / lam
        g = b.add_vars("g_", net.n_outputs, lb=self.glo / lam, ub=self.ghi / lam)
        affine_rows(b, "out_", np.arange(net.n_outputs), g, w, prev_cols, rhs=0.0)
        output_norm(b, g, self.glo / lam, self.ghi / lam, spec.beta)
        return b

    # -- a point -----------------------------------------------------------------------------------------
    def values(self, x: np.ndarray, v: np.ndarray) -> dict[str, float]:
        """Every variable's value at input x and direction v (v's sign flipped so the objective's term is >= 0).

        Unstable neurons' binaries follow z > 0 at x; for the strict problem the point is a feasible MIP start
        only if it keeps the margin.
        """
        net, sc, spec = self.network, self.scaling, self.spec
        x, v = np.asarray(x, dtype=np.float64), np.asarray(v, dtype=np.float64)
        zs = [z[0] for z in net.preactivations(x)]
        ts, ys, y_prev = [], [], v
        for k, L in enumerate(self.layers, start=1):
            st = self.stability[k - 1]
            t = net.weights[k - 1] @ y_prev
            y_prev = np.where(st.unstable, zs[k - 1] > 0, st.active) * t
            ts.append(t)
            ys.append(y_prev)
        g = net.weights[-1] @ y_prev
        lead = int(np.argmax(np.abs(g))) if len(g) > 1 else 0
        sign = -1.0 if g[lead] < 0 else 1.0
        vals: dict[str, float] = {}

        def put(prefix: str, idx: np.ndarray, arr) -> None:
            vals.update(zip((f"{prefix}{i}" for i in idx.tolist()), np.asarray(arr, dtype=np.float64).tolist()))

        every = np.arange(net.n_inputs)
        put("x_", every, np.clip(sc.scaled_input(x), -1.0, 1.0))
        put("v_", every, sign * v)
        if spec.alpha == "1":
            put("vp_", every, np.maximum(sign * v, 0))
            put("vm_", every, np.maximum(-sign * v, 0))
        K = len(net.weights)
        for k, L in enumerate(self.layers, start=1):
            sigma, z = sc.sigma[k - 1], zs[k - 1]
            put(f"z{k}_", L.zidx, z[L.zidx] / sigma[L.zidx])
            put(f"s{k}_", L.unstable, (z[L.unstable] > 0).astype(float))
            if k < K - 1:
                put(f"a{k}_", L.unstable, np.maximum(z[L.unstable], 0) / sigma[L.unstable])
            put(f"t{k}_", L.keep, sign * ts[k - 1][L.keep] / L.tau)
            pos = np.searchsorted(L.keep, L.unstable)
            put(f"y{k}_", L.unstable, sign * ys[k - 1][L.unstable] / L.tau[pos])
        gs = sign * g / sc.objective
        put("g_", np.arange(net.n_outputs), gs)
        vals.update(objective_values(gs, spec.beta))
        return vals
