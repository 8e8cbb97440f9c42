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

from dataclasses import dataclass

import numpy as np

from ..bounds import Stability, input_map, layer_scales
from ..network import Network
from ..rounding import power_of_two


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

    def scaled_input(self, x) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.center) / self.halfwidth


# Lambda's range: an estimate of L outside it is rounding noise around 0 (a rigorous upper bound of a constant
# network is a subnormal) or beyond any network's, and 1/Lambda must stay finite in every coefficient
LAMBDA_RANGE = (2.0 ** -500, 2.0 ** 500)


def objective_scale(estimate: float | None) -> float:
    """Lambda: the power of two nearest a cheap estimate of L (1 when there is none, or it is 0), within
    LAMBDA_RANGE."""
    if estimate is None or not np.isfinite(estimate) or estimate <= 0:
        return 1.0
    return float(np.clip(power_of_two(estimate), *LAMBDA_RANGE))


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
