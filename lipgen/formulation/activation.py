"""The forward pass of both modes (docs/formulation.md, section 3): the scaled input point, pre-activations and
the binaries of unstable neurons, tied together by big-M (or bilinear) rows.

  x' in the scaled box,  z'_k = W'_k a'_{k-1} + b'_k,  a'_k = relu(z'_k),  s_k binary for unstable neurons

with W'_k = diag(1/sigma_k) W_k diag(sigma_{k-1}) (sigma_0 = the input scale h). Stably active neurons reuse z
as a; stably inactive ones are dropped; the last hidden layer keeps z and s of its unstable neurons only
(nothing after it needs a), tied by the sign rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bounds import LayerBounds, Stability
from ..model import BINARY, Model, ModelBuilder
from ..network import Network
from .jacobian import JacobianPlan, objective_cap
from .objectives import cap_objective
from .relu import affine_rows, relu_rows, sign_rows
from .scaling import Scaling
from .spec import Spec, objective_transform


@dataclass
class ActivationLayer:
    """Index sets and scaled quantities of one hidden layer k (neurons by their index in the weights file)."""

    keep: np.ndarray  # active or unstable neurons
    unstable: np.ndarray
    active: np.ndarray
    zidx: np.ndarray  # neurons with a z variable
    zlo: np.ndarray  # scaled bounds of z over zidx
    zhi: np.ndarray
    rows: np.ndarray  # scaled forward rows (zidx x previous keep)
    rhs: np.ndarray
    margin: np.ndarray | None  # strict margin per unstable neuron (scaled units); None for the upper problem


class ActivationProblem:
    """What both modes share: the network, box, spec, bounds, classification, scaling and the forward pass.

    jacobian: entry bounds of the mode's partial products (formulation/jacobian.py), intersected with the
    derivative variables' own bounds, and the objective bound of the upper problem; None leaves both out.
    fixed_signs: signs proved by the bounds are fixed, not binaries (objectives.output_norm); False rebuilds the
    instances written before that rule.
    """

    def __init__(self, network: Network, lower: np.ndarray, upper: np.ndarray, spec: Spec,
                 bounds: list[LayerBounds], stability: list[Stability], scaling: Scaling,
                 jacobian: JacobianPlan | None = None, fixed_signs: bool = True):
        self.network, self.spec, self.scaling = network, spec, scaling
        self.lower, self.upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
        self.bounds, self.stability, self.jacobian = bounds, stability, jacobian
        self.fixed_signs = fixed_signs
        self.hidden = self._plan_activation()

    @property
    def objective_cap(self) -> float | None:
        """-obj <= cap at every feasible point (the Jacobian bound in the objective's units); upper problem only:
        the strict problem keeps its own rows (its optimum is a lower value, a cap cannot help it)."""
        if self.spec.strict:
            return None
        transform = objective_transform(self.spec, self.network.n_outputs)
        return objective_cap(self.jacobian, self.scaling.objective, transform)

    def cap_objective(self, b: ModelBuilder, cols: np.ndarray | None, g: np.ndarray, quadratic_rows: bool) -> bool:
        """Write the objective bound (objectives.cap_objective) when there is one."""
        return cap_objective(b, cols, g, self.objective_cap, quadratic_rows)

    def _plan_activation(self) -> list[ActivationLayer]:
        net, sc, spec = self.network, self.scaling, self.spec
        K = len(net.weights)
        layers = []
        prev_keep, prev_scale = np.arange(net.n_inputs), sc.halfwidth
        for k in range(1, K):
            st, lb, sigma = self.stability[k - 1], self.bounds[k - 1], sc.sigma[k - 1]
            keep, unst = np.flatnonzero(~st.inactive), np.flatnonzero(st.unstable)
            zidx = unst if k == K - 1 else keep
            w = net.weights[k - 1]
            rows = w[np.ix_(zidx, prev_keep)] * prev_scale[prev_keep] / sigma[zidx, None]
            offset = net.biases[k - 1][zidx] + (w[zidx] @ sc.center if k == 1 else 0.0)
            margin = None
            if spec.strict:
                # a distance eps from the neuron's hyperplane in the scaled space before the layer
                margin = spec.margin * np.linalg.norm(rows[np.searchsorted(zidx, unst)], axis=1)
            layers.append(ActivationLayer(keep, unst, np.flatnonzero(st.active), zidx, lb.lower[zidx] / sigma[zidx],
                                          lb.upper[zidx] / sigma[zidx], rows, offset / sigma[zidx], margin))
            prev_keep, prev_scale = keep, sigma
        return layers

    def model_builder(self, name: str) -> ModelBuilder:
        """Every variable and row of the problem (forward.py, backward.py), ready to build."""
        raise NotImplementedError

    def model(self, name: str) -> Model:
        """The problem's Model, named `name`."""
        return self.model_builder(name).build()

    def build_activation(self, b: ModelBuilder) -> list[np.ndarray]:
        """Add x, z, a and s with their rows; returns the columns of s per hidden layer."""
        net, spec, sc = self.network, self.spec, self.scaling
        quadratic = spec.encoding == "quadratic"
        K = len(net.weights)
        xlo = np.nextafter(sc.scaled_input(self.lower), -np.inf)
        xhi = np.nextafter(sc.scaled_input(self.upper), np.inf)
        prev_cols = b.add_vars("x_", net.n_inputs, lb=np.maximum(xlo, -1.0), ub=np.minimum(xhi, 1.0))
        s_cols = []
        for k, L in enumerate(self.hidden, start=1):
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
                cols[np.searchsorted(L.keep, L.active)] = z[np.searchsorted(L.zidx, L.active)]
                prev_cols = cols
        return s_cols

    def pattern_at(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(pre-activations, full 0/1 pattern) at x: unstable neurons by the sign of z, the others by their class."""
        zs = [z[0] for z in self.network.preactivations(x)]
        pattern = [np.where(st.unstable, z > 0, st.active).astype(float) for st, z in zip(self.stability, zs)]
        return zs, pattern

    def activation_values(self, x: np.ndarray, zs: list[np.ndarray]) -> dict[str, float]:
        sc, K = self.scaling, len(self.network.weights)
        vals: dict[str, float] = {}
        put(vals, "x_", np.arange(self.network.n_inputs), np.clip(sc.scaled_input(x), -1.0, 1.0))
        for k, L in enumerate(self.hidden, start=1):
            sigma, z = sc.sigma[k - 1], zs[k - 1]
            put(vals, f"z{k}_", L.zidx, z[L.zidx] / sigma[L.zidx])
            put(vals, f"s{k}_", L.unstable, (z[L.unstable] > 0).astype(float))
            if k < K - 1:
                put(vals, f"a{k}_", L.unstable, np.maximum(z[L.unstable], 0) / sigma[L.unstable])
        return vals


def put(vals: dict, prefix: str, idx: np.ndarray, arr) -> None:
    """vals[prefix + i] = arr[...] for the neuron indices idx."""
    vals.update(zip((f"{prefix}{i}" for i in np.asarray(idx).tolist()), np.asarray(arr, dtype=np.float64).tolist()))
