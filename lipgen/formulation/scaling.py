"""The scaled problem (docs/formulation.md, section 4): every variable of order one, results mapped back exactly.

Solvers' tolerances are absolute (about 1e-6 on rows, 1e-9 to 1e-6 on the objective), so lipgen never
writes the network's raw numbers. It writes an exactly equivalent problem:

- input:  x = c + h * x'   with c the box centre and h a power of two >= the half width (x' in [-1, 1]);
- layer k (hidden):  z'_k = z_k / sigma_k  with sigma_k a power of two near the norm of the neuron's row
  in the scaled coordinates of the layer before, so z' is (up to a factor sqrt 2) the distance to the
  neuron's hyperplane there and the strict margin eps is a distance;
- derivatives:  t'_k = t_k / tau_k  with tau_k a power of two >= the bound of |t_k| (t' in [-1, 1]);
- objective:  L = Lambda * T(obj)  with Lambda a power of two near a cheap estimate of L.

Powers of two make every scaled coefficient the exact float64 of the unscaled one times 2^e: the scaled
problem has the same solutions as the unscaled one, only the input's centring is rounded (by at most one
unit in the last place of W c + b).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..bounds import Stability
from ..network import Network


def power_of_two(x, up: bool = False) -> np.ndarray:
    """2^round(log2 x) (or 2^ceil with up=True) elementwise; 1 where x is 0 or not finite."""
    x = np.asarray(x, dtype=np.float64)
    out = np.ones_like(x)
    ok = np.isfinite(x) & (x > 0)
    mant, expo = np.frexp(x[ok])  # x = mant * 2^expo, mant in [0.5, 1)
    if up:
        e = np.where(mant == 0.5, expo - 1, expo)
    else:
        e = np.where(mant >= np.sqrt(0.5), expo, expo - 1)
    out[ok] = np.ldexp(1.0, e)
    return out


@dataclass
class Scaling:
    """The change of variables between the network's numbers and the instance's."""

    center: np.ndarray  # c: x = c + h x'
    halfwidth: np.ndarray  # h, powers of two
    sigma: list[np.ndarray]  # per hidden layer, powers of two: z' = z / sigma
    objective: float  # Lambda, a power of two: L = Lambda * T(objective value)

    def to_json(self) -> dict:
        """The factors, for the sidecar; `neuron_scales` are the per-neuron powers of two sigma_k (z = sigma z')."""
        return {"input_center": self.center.tolist(), "input_scale": self.halfwidth.tolist(),
                "objective_scale": self.objective, "neuron_scales": [s.tolist() for s in self.sigma]}

    def input_point(self, xs) -> np.ndarray:
        """Original input x from the instance's scaled input x'."""
        return self.center + self.halfwidth * np.asarray(xs, dtype=np.float64)

    def scaled_input(self, x) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.center) / self.halfwidth


def input_map(lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(c, h): the box centre and a power of two at least its half width."""
    lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    center = lower / 2 + upper / 2
    return center, power_of_two((upper - lower) / 2, up=True)


def layer_scales(network: Network, halfwidth: np.ndarray, stability: list[Stability]) -> list[np.ndarray]:
    """sigma_k per hidden layer: the power of two nearest the l2 norm of each scaled row.

    Inactive neurons of the layer before are left out of the norm: their output is always 0.
    """
    sigmas = []
    prev, keep = halfwidth, np.ones(network.n_inputs, dtype=bool)
    for k, st in enumerate(stability):
        w = network.weights[k]
        norms = np.linalg.norm(w[:, keep] * prev[keep], axis=1)
        sigma = power_of_two(norms)
        sigmas.append(sigma)
        prev, keep = sigma, ~st.inactive
    return sigmas


# Lambda's range: an estimate of L outside it is rounding noise around 0 (a rigorous upper bound of a constant
# network is a subnormal) or beyond any network's, and 1/Lambda must stay finite in every coefficient
LAMBDA_RANGE = (2.0 ** -500, 2.0 ** 500)


def objective_scale(estimate: float | None) -> float:
    """Lambda: the power of two nearest a cheap estimate of L (1 when there is none, or it is 0), within
    LAMBDA_RANGE."""
    if estimate is None or not np.isfinite(estimate) or estimate <= 0:
        return 1.0
    return float(np.clip(power_of_two(estimate), *LAMBDA_RANGE))


def equilibrate(network: Network, sweeps: int = 4) -> tuple[Network, list[np.ndarray]]:
    """The same function with every hidden neuron rescaled by a power of two, and the exponents per layer.

    ReLU is positively homogeneous: multiplying neuron i's row and bias by 2^e and the next layer's column i by
    2^-e leaves f unchanged, exactly in float64 (only exponents move; no factor here under- or overflows a
    network's finite weights by construction of the clip). e balances the row's and the column's largest
    magnitudes (their geometric mean), a few sweeps over the layers. The instance's own rows are already
    normalised per neuron (sigma_k, tau_k), which such a rescaling leaves unchanged; what it changes is every
    product of layer norms, the naive bound first (a net with neuron scales from 1e-6 to 1e6 had a naive bound
    1e12 times its constant)."""
    ws = [w.copy() for w in network.weights]
    bs = [b.copy() for b in network.biases]
    total = [np.zeros(w.shape[0], dtype=np.int64) for w in ws[:-1]]
    for _ in range(sweeps):
        moved = False
        for k in range(len(ws) - 1):
            rows = np.max(np.abs(np.column_stack([ws[k], bs[k]])), axis=1)
            cols = np.max(np.abs(ws[k + 1]), axis=0)
            ok = (rows > 0) & (cols > 0)
            e = np.zeros_like(total[k])
            e[ok] = np.clip(np.round(0.5 * (np.log2(cols[ok]) - np.log2(rows[ok]))), -300, 300).astype(np.int64)
            if np.any(e):
                moved = True
                ws[k] = np.ldexp(ws[k], e[:, None])
                bs[k] = np.ldexp(bs[k], e)
                ws[k + 1] = np.ldexp(ws[k + 1], -e[None, :])
                total[k] += e
        if not moved:
            break
    if not all(np.all(np.isfinite(w)) for w in ws):  # an exponent pushed a weight out of range: keep the original
        return network, [np.zeros(w.shape[0], dtype=np.int64) for w in network.weights[:-1]]
    return replace(network, weights=ws, biases=bs), total


def compute_scaling(network: Network, lower, upper, stability: list[Stability], estimate: float | None) -> Scaling:
    center, halfwidth = input_map(lower, upper)
    return Scaling(center, halfwidth, layer_scales(network, halfwidth, stability), objective_scale(estimate))


# Nonzeros below this fraction of their row's largest are left out of the ratio: a solver's feasibility tolerance
# (1e-6) already covers them, and HiGHS drops |a| < 1e-9 itself (a face neuron's big-M bound of 1e-15 is one)
NEGLIGIBLE = 1e-9


def _range_per_row(csr) -> tuple[np.ndarray, np.ndarray]:
    """(max |a|, min |a| over the non-negligible nonzeros) of each non-empty row of a CSR matrix."""
    data = np.abs(csr.data)
    counts = np.diff(csr.indptr)
    starts = csr.indptr[:-1][counts > 0]
    if data.size == 0:
        return np.zeros(0), np.zeros(0)
    rmax = np.maximum.reduceat(data, starts)
    kept = np.where(data >= NEGLIGIBLE * np.repeat(rmax, counts[counts > 0]), data, np.inf)
    return rmax, np.minimum.reduceat(kept, starts)


def conditioning(model) -> dict:
    """What the tolerance argument of docs/formulation.md (section 5) leans on, measured on the written instance:
    the range of the nonzero coefficients, the largest ratio between the largest and smallest non-negligible
    nonzero of one row (and of one column), and the objective's range. Solvers' tolerances are absolute on order-one rows; a row
    that mixes 1e-6 and 1e6 lets a 1e-6 violation move its small terms by O(1)."""
    a = model.A.tocsr()
    rmax, rmin = _range_per_row(a)
    cmax, cmin = _range_per_row(a.T.tocsr())
    obj = np.abs(model.obj[model.obj != 0])
    return {
        "coefficient_range": [float(np.min(np.abs(a.data))), float(np.max(np.abs(a.data)))] if a.nnz else [0.0, 0.0],
        "max_row_ratio": float(np.max(rmax / rmin)) if rmax.size else 1.0,
        "max_column_ratio": float(np.max(cmax / cmin)) if cmax.size else 1.0,
        "objective_range": [float(obj.min()), float(obj.max())] if obj.size else [0.0, 0.0],
    }
