"""Jacobian entry bounds inside the problem (issue 20, item 2 b and c; docs/formulation.md, section 3c).

Every feasible point of either problem has a binary pattern s, so its derivative variables are partial products
W_k D_{k-1} ... D_1 W_1 v (forward) or (W_K D_{K-1} ... D_{k+1} W_{k+1})^T w (backward) for one admissible D.
`bounds.jacobian` bounds those products for every admissible D, so they bound the variables (and the big-Ms
tied to them) at every feasible point: intersecting them with the formulation's own bounds cuts nothing. Their
norm bounds L, so the upper problem's objective gets a row that no feasible point's value exceeds either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bounds.jacobian import (JacobianBounds, backward_derivative_bounds, forward_derivative_bounds,
                               jacobian_bounds, linear_cost)
from ..network import Network

# multiply-adds of the linear method's pull-backs (about a second) above which the interval method is used
LINEAR_LIMIT = 2e9
# an objective bound this many units of the objective's scale above it cannot prune anything; and a right-hand
# side beyond it would approach what solvers read as infinite
CAP_LIMIT = 1e12


@dataclass
class JacobianPlan:
    """The Jacobian bounds one problem uses: the entry bounds, and the certified bound B of L from them."""

    bounds: JacobianBounds
    side: str  # the chains that ran: the problem's mode, or both
    upper: float  # B >= L on the box (of the network as built, a covector folded in)

    def record(self) -> dict:
        """What the sidecar keeps (`formulation.jacobian_bounds`): enough to rebuild the same problem."""
        return {"method": self.bounds.method, "sides": self.side, "objective_bound": self.upper}


def jacobian_method(network: Network, mode: str) -> tuple[str, str]:
    """(method, sides): linear where its pull-backs are cheap (about a second or less), else interval; both
    chains when linear is cheap on both (the mode's chain bounds the variables, the other one can only tighten
    the Jacobian's own entries, hence the objective bound), else the mode's chain."""
    if linear_cost(network, "forward") + linear_cost(network, "backward") <= LINEAR_LIMIT:
        return "linear", "both"
    return ("linear" if linear_cost(network, mode) <= LINEAR_LIMIT else "interval"), mode


def plan_jacobian(network: Network, stability, mode: str, alpha: str, beta: str, method: str | None = None,
                  sides: str | None = None) -> JacobianPlan:
    """Entry bounds of the mode's partial products on the classification `stability` (the problem's own); the
    method and chains by cost unless given (a sidecar's record)."""
    if method is None or sides is None:
        method, sides = jacobian_method(network, mode)
    jb = jacobian_bounds(network, method=method, stability=stability, sides=sides)
    upper = jb.norm_upper(alpha, beta)
    return JacobianPlan(jb, sides, float(upper) if np.isfinite(upper) else float("inf"))


def forward_limits(plan: JacobianPlan | None, alpha: str) -> list[np.ndarray] | None:
    """|t_k| <= limits[k-1] over all neurons of layer k (k = 1..K, the last one is g), or None."""
    return None if plan is None else forward_derivative_bounds(plan.bounds, alpha)


def backward_limits(plan: JacobianPlan | None, beta: str) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Signed bounds (lo, hi) of r_k over all neurons of layer k (index k = 0..K-1; 0 is the inputs), or None."""
    if plan is None:
        return None
    return [(b.lower, b.upper) for b in backward_derivative_bounds(plan.bounds, beta)]


def intersect(lo: np.ndarray, hi: np.ndarray, jlo: np.ndarray, jhi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both pairs bound the same quantity at every feasible point, so their intersection does too."""
    return np.maximum(lo, jlo), np.minimum(hi, jhi)


def objective_cap(plan: JacobianPlan | None, scale: float, transform: str) -> float | None:
    """c with -obj <= c at every feasible point of the scaled problem (obj the minimised objective), rounded up:
    B / Lambda for L = Lambda (-obj), (B / Lambda)^2 for L = Lambda sqrt(-obj); None when B prunes nothing."""
    if plan is None or not np.isfinite(plan.upper):
        return None
    cap = plan.upper / scale
    if cap * scale < plan.upper:  # Lambda is a power of two: exact unless the quotient is subnormal
        cap = float(np.nextafter(cap, np.inf))
    if transform == "sqrt_neg":
        cap = float(np.nextafter(cap * cap, np.inf))
    return float(cap) if cap <= CAP_LIMIT else None
