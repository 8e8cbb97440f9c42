"""The MIQCQP of docs/formulation.md, built into a solver-neutral Model with numpy.

Naming scheme (neuron indices are the original ones of the weights file, layers count from 1):
  x_i scaled input (x = c + h x'), v_i direction (vp_i / vm_i its l1 split), z{k}_i scaled pre-activation,
  a{k}_i scaled post-activation (unstable neurons), s{k}_i activation binary (unstable neurons), t{k}_i scaled
  derivative before the ReLU, y{k}_i after it (unstable neurons), g_j scaled output derivative,
  w / w_j / c_j / sg_j objective helpers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..bounds import LayerBounds, Stability, compute_bounds, naive_upper_bound, stabilities
from ..bounds.jacobian import anchor_bounds
from ..domain import Box
from ..lower.certificate import certify_point
from ..lower.sampling import sampled_lower_bound
from ..model import Model
from ..network import Network
from .activation import ActivationProblem
from .backward import BackwardProblem
from .estimate import scale_anchor
from .mode import choose_mode, mode_sizes, resolve_spec
from .forward import ForwardProblem
from .jacobian import JacobianPlan, plan_jacobian
from .scaling import Scaling, compute_scaling
from .spec import (BOUND_KINDS, CONVEX_MIQCP, DEFAULT_EPS, ENCODINGS, MILP, MODES, NONCONVEX_MIQCQP, NONCONVEX_MIQP,
                   Spec, classify_problem, lipschitz_from_objective, objective_from_lipschitz, objective_transform,
                   resolve_mode)

NAMING = {"input": "x_{i} (scaled: x = input_center + input_scale * x')", "pre_activation": "z{k}_{i} (scaled)",
          "activation": "s{k}_{i}", "post_activation": "a{k}_{i} (scaled)"}
NAMING_FORWARD = {"direction": "v_{i}", "output_derivative": "g_{j} (scaled by 1 / objective_scale)",
                  "derivative": "t{k}_{i} (scaled)", "derivative_after_relu": "y{k}_{i} (scaled)"}
NAMING_BACKWARD = {"covector": "cov_{j} (selection or sign binaries, or the l2 ball)",
                   "pulled_back": "r{k}_{i} (scaled; r0_{i} by 1 / objective_scale)",
                   "pulled_back_after_relu": "q{k}_{i} (scaled)"}


@dataclass
class Formulation:
    """A built problem plus what is needed to read its solutions back."""

    model: Model
    spec: Spec
    eps: float | None  # the strict margin (scaled distance); None for the upper problem
    objective_transform: str  # "neg": L = scale * -obj;  "sqrt_neg": L = scale * sqrt(-obj)
    scaling: Scaling
    problem_class: str
    solvers: dict  # solver -> {"ok": bool, "why": str, "params": {...}}
    layers: list[dict] = field(default_factory=list)  # per hidden layer: neuron counts
    states: list[str] = field(default_factory=list)  # per hidden layer: one letter A/I/U per neuron
    naming: dict = field(default_factory=dict)
    plan: ActivationProblem | None = None
    bounds_method: str = "linear"
    jacobian: dict | None = None  # the Jacobian bounds used (JacobianPlan.record), None when left out

    @property
    def objective_scale(self) -> float:
        return self.scaling.objective


def lipschitz_estimate(network: Network, lower, upper, alpha: str, beta: str,
                       stability: list[Stability] | None = None) -> float:
    """A rigorous anchor of L for the objective's scale (`estimate.scale_anchor`): the best sampled point's certified
    value, else the smaller of the naive and the Jacobian upper bound."""
    sampled = sampled_lower_bound(network, lower, upper, alpha, beta, n=200)
    value = certify_point(network, Box(lower, upper), alpha, beta, sampled.x, sampled.v).value or 0.0
    if value > 0:
        return value
    if stability is None:
        stability = stabilities(network, compute_bounds(network, lower, upper, "interval"))
    return scale_anchor(value, [naive_upper_bound(network, alpha, beta, stability),
                               anchor_bounds(network, stability).norm_upper(alpha, beta)])


def prepare(network: Network, lower, upper, spec: Spec, bounds: list[LayerBounds] | None = None,
            stability: list[Stability] | None = None, estimate: float | None = None,
            bounds_method: str = "linear", jacobian: JacobianPlan | bool | dict = True,
            fixed_signs: bool = True) -> ActivationProblem:
    """Bounds, classification, scaling and index sets of the problem, without building the model.

    The plan's spec has its mode resolved (`auto` becomes forward or backward by `mode.choose_mode`). jacobian:
    the Jacobian bounds of the mode's partial products (`plan_jacobian` on the same stability), True to compute
    them (the method by cost), a sidecar's record ({"method", "sides"}) to compute them so again, False to leave
    them out. fixed_signs: as for ActivationProblem."""
    spec.check()
    if bounds is None:
        bounds = compute_bounds(network, lower, upper, bounds_method)
    if stability is None:
        stability = stabilities(network, bounds)
    spec, _ = resolve_spec(spec, network, stability)
    if estimate is None:
        estimate = lipschitz_estimate(network, lower, upper, spec.alpha, spec.beta, stability)
    scaling = compute_scaling(network, lower, upper, stability, estimate)
    if jacobian is True or isinstance(jacobian, dict):
        given = jacobian if isinstance(jacobian, dict) else {}
        jacobian = plan_jacobian(network, stability, spec.mode, spec.alpha, spec.beta, given.get("method"),
                                 given.get("sides"))
    cls = BackwardProblem if spec.mode == "backward" else ForwardProblem
    return cls(network, lower, upper, spec, bounds, stability, scaling, jacobian or None, fixed_signs)


def build(network: Network, lower: np.ndarray, upper: np.ndarray, spec: Spec, name: str | None = None,
          bounds: list[LayerBounds] | None = None, stability: list[Stability] | None = None,
          estimate: float | None = None, bounds_method: str = "linear",
          jacobian: JacobianPlan | bool | dict = True) -> Formulation:
    """Build the upper-bound (non-strict) or lower-bound (strict) problem for `network` on the box (jacobian: as
    for `prepare`)."""
    plan = prepare(network, lower, upper, spec, bounds, stability, estimate, bounds_method, jacobian)
    spec = plan.spec
    model = plan.model(name or f"{network.name}_{spec.bound}")
    cls, solvers = classify_problem(spec, network.n_outputs)
    naming = dict(NAMING, **(NAMING_BACKWARD if spec.mode == "backward" else NAMING_FORWARD))
    return Formulation(model=model, spec=spec, eps=spec.margin, scaling=plan.scaling,
                       objective_transform=objective_transform(spec, network.n_outputs), problem_class=cls,
                       solvers=solvers, layers=[st.counts() for st in plan.stability],
                       states=[st.code() for st in plan.stability], naming=naming, plan=plan,
                       bounds_method=bounds_method, jacobian=jacobian_record(plan))


def jacobian_record(plan: ActivationProblem) -> dict | None:
    """The sidecar's `formulation.jacobian_bounds`: method, chain, the bound B of L and the objective row's
    right-hand side in the objective's units (null when no row was written)."""
    if plan.jacobian is None:
        return None
    return dict(plan.jacobian.record(), objective_cap=plan.objective_cap)


__all__ = ["BOUND_KINDS", "CONVEX_MIQCP", "DEFAULT_EPS", "ENCODINGS", "MILP", "MODES", "resolve_mode", "NONCONVEX_MIQCQP", "NONCONVEX_MIQP",
           "Formulation", "JacobianPlan", "Scaling", "Spec", "build", "classify_problem", "lipschitz_estimate",
           "lipschitz_from_objective", "objective_from_lipschitz", "objective_transform", "plan_jacobian", "prepare",
           "scale_anchor", "choose_mode", "mode_sizes", "resolve_spec"]
