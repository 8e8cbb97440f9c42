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
        return {"input_center": self.center.tolist(), "input_scale": self.halfwidth.tolist(),
                "objective_scale": self.objective}

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
