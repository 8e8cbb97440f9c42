"""From a solver's answer to Lipschitz bounds (FORMULATION.md 6), using only the sidecar and the network.

- upper-bound (non-strict) problem: the transformed *dual* bound is the upper bound of L;
- lower-bound (strict) problem: the incumbent is a lower bound; we recompute it in float64 from the
  solution's activation pattern and direction instead of trusting the solver's objective;
- certified lower bound: from the solution's input point, recompute the pre-activations, check none
  is on a ReLU boundary, and take the norm of the real Jacobian there. It does not trust tolerances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bounds import classify, interval_bounds
from .domain import Box
from .formulation import lipschitz_from_objective
from .network import Network, operator_norm, vector_norm
from .parsers import record as rec

# A recomputed pre-activation counts as "on a ReLU boundary" below this, relative to its layer's scale.
BOUNDARY_TOL = 1e-9
# Points a solver returns may leave the box by its feasibility tolerance; farther than this is an error.
BOX_TOL = 1e-6
INFINITE = 1e19  # solvers write +-1e20 (SCIP) or 1e100 (Gurobi) for "no value"

STATUS_TEXT = {
    rec.OPTIMAL: "solved to optimality",
    rec.TIME_LIMIT: "time limit reached",
    rec.GAP_LIMIT: "stopped at the requested gap",
    rec.NODE_LIMIT: "node limit reached",
    rec.MEMORY_LIMIT: "memory limit reached",
    rec.INTERRUPTED: "interrupted",
    rec.INFEASIBLE: "infeasible",
    rec.UNBOUNDED: "unbounded (should not happen: every variable is bounded)",
    rec.LICENSE_LIMIT: "refused by the size-limited license",
    rec.NOT_INSTALLED: "solver not installed",
    rec.KILLED: "killed",
    rec.CRASHED: "solver failed",
    rec.MISSING_SOLUTION: "no solution file",
    rec.TRUNCATED_SOLUTION: "solution file cut short",
    rec.UNKNOWN: "unknown outcome",
}


@dataclass
class Certificate:
    value: float | None  # a lower bound of L, or None when the point could not be certified
    reason: str  # why not, or how it was obtained
    margin: float | None = None  # smallest |pre-activation| at the point

    def to_dict(self) -> dict:
        return {"value": self.value, "reason": self.reason, "margin": self.margin}


def _vector(values: dict, names: list[str]) -> np.ndarray:
    return np.array([float(values.get(n, 0.0)) for n in names])


def certify(network: Network, box: Box, alpha: str, beta: str, values: dict, input_vars: list[str],
            direction_vars: list[str]) -> Certificate:
    """Certified lower bound of L from a solution's input point (and direction)."""
    x = _vector(values, input_vars)
    v = _vector(values, direction_vars)
    if not np.all(np.isfinite(x)):
        return Certificate(None, "the solution's input point is not finite")
    outside = np.maximum(box.lower - x, 0) + np.maximum(x - box.upper, 0)
    worst = int(np.argmax(outside / (1 + np.abs(x))))
    if outside[worst] > BOX_TOL * (1 + abs(x[worst])):
        return Certificate(None, f"the solution's input x_{worst} = {x[worst]:.9g} is outside the domain")
    x = np.clip(x, box.lower, box.upper)  # still in the closed box: its region meets the interior
    zs = network.preactivations(x)
    margin = None
    for k, z in enumerate(zs[:-1], start=1):
        z = z[0]
        scale = max(1.0, float(np.max(np.abs(z)))) if z.size else 1.0
        i = int(np.argmin(np.abs(z))) if z.size else 0
        if z.size and abs(z[i]) <= BOUNDARY_TOL * scale:
            return Certificate(None, f"pre-activation z{k}_{i} = {z[i]:.3g} at the solution's input point is on a "
                                     "ReLU boundary, so the Jacobian there is not defined", float(abs(z[i])))
        if z.size:
            margin = float(abs(z[i])) if margin is None else min(margin, float(abs(z[i])))
    j = network.jacobians(x)[0]
    value = operator_norm(j, alpha, beta)
    nv = float(vector_norm(v, alpha))
    if nv > 0:
        value = max(value, float(vector_norm(j @ v, beta)) / nv)
    return Certificate(float(value), "norm of the Jacobian recomputed in float64 at the solution's input point",
                       margin)


def pattern_value(network: Network, box: Box, sidecar: dict, values: dict) -> float | None:
    """||J_s v||_beta / ||v||_alpha for the activation pattern s and direction v of a solution."""
    alpha, beta = sidecar["norms"]["input"], sidecar["norms"]["output"]
    v = _vector(values, sidecar["direction_vars"])
    nv = float(vector_norm(v, alpha))
    if nv == 0:
        return None
    eps = sidecar["eps"] if sidecar["bound"] == "lower" else None
    pattern = []
    for k, b in enumerate(interval_bounds(network, box.lower, box.upper)[:-1], start=1):
        st = classify(b, eps)
        s = st.active.astype(float)
        unst = np.flatnonzero(st.unstable)
        s[unst] = np.round(_vector(values, [f"s{k}_{i}" for i in unst.tolist()]))
        pattern.append(s)
    j = network.jacobian_of_pattern(pattern)
    return float(vector_norm(j @ v, beta)) / nv


def _finite(x: float | None) -> bool:
    return x is not None and np.isfinite(x) and abs(x) < INFINITE


def explain(record: rec.SolveRecord, sidecar: dict) -> str:
    """One plain sentence about how the run ended."""
    text = STATUS_TEXT.get(record.status, record.status)
    if record.status == rec.INFEASIBLE:
        if sidecar["bound"] == "lower":
            return (f"infeasible: with margin eps = {sidecar['eps']:.3g} no activation region is left inside the "
                    "domain; lower --eps or widen the domain")
        return "infeasible: the domain leaves no point (check the domain and the weights)"
    if record.status == rec.TIME_LIMIT:
        text += " with an incumbent" if record.has_solution else " without an incumbent"
    if record.message and record.status not in (rec.OPTIMAL,):
        text += f": {record.message}"
    return text


# CPLEX's default relative MIP gap: the loosest any solver calls "optimal" by default
DEFAULT_GAP_TOL = 1e-4
ABS_GAP_TOL = 1e-6


def dual_bound(record: rec.SolveRecord, gap_tol: float | None) -> float | None:
    """The best bound (min sense). An optimal run proves primal - gap_tol |primal| too, which is tighter than
    the stale node-table bound some logs end with (CPLEX prints no final bound when optimal; CBC none at all)."""
    dual = record.dual if _finite(record.dual) else None
    if record.status in (rec.OPTIMAL, rec.GAP_LIMIT) and _finite(record.primal):
        tol = DEFAULT_GAP_TOL if gap_tol is None else gap_tol
        proven = record.primal - tol * abs(record.primal) - ABS_GAP_TOL
        dual = proven if dual is None else max(dual, proven)
    return dual


def lipschitz_quantities(record: rec.SolveRecord, sidecar: dict, network: Network,
                         gap_tol: float | None = None) -> dict:
    """The Lipschitz numbers one solved problem gives, each present only when it is sound.

    gap_tol: the relative gap the solver was allowed to stop at (None: unknown, assume 1e-4).
    """
    transform = sidecar["objective_transform"]
    box = Box.from_json(sidecar["domain"])
    alpha, beta = sidecar["norms"]["input"], sidecar["norms"]["output"]
    normal = record.status in rec.NORMAL_END and record.status != rec.INFEASIBLE
    out = {"bound": sidecar["bound"], "status": record.status, "status_text": explain(record, sidecar),
           "upper": None, "lower": None, "lower_solver": None, "incumbent_value": None, "certified_lower": None,
           "certificate": None}
    if normal and _finite(record.primal):
        out["incumbent_value"] = lipschitz_from_objective(record.primal, transform)
    dual = dual_bound(record, gap_tol)
    if sidecar["bound"] == "upper" and normal and dual is not None:
        out["upper"] = lipschitz_from_objective(dual, transform)
    if normal and record.has_solution and record.values:
        if sidecar["bound"] == "lower":
            out["lower_solver"] = out["incumbent_value"]
            out["lower"] = pattern_value(network, box, sidecar, record.values)
        cert = certify(network, box, alpha, beta, record.values, sidecar["input_vars"], sidecar["direction_vars"])
        out["certificate"] = cert.to_dict()
        out["certified_lower"] = cert.value
    return out


def combine(upper: dict | None, lower: dict | None, anchors: dict) -> dict:
    """One line of the main table from the upper and lower problems' quantities."""
    ub = upper["upper"] if upper else None
    lb = lower["lower"] if lower else None
    certs = [q["certified_lower"] for q in (upper, lower) if q and q["certified_lower"] is not None]
    cert = max(certs) if certs else None
    best_lower = max([x for x in (cert, anchors.get("sampled_lower")) if x is not None], default=None)
    gap = None
    if ub is not None and best_lower is not None:
        gap = (ub - best_lower) / ub if ub > 0 else 0.0
    return {"upper": ub, "lower": lb, "certified_lower": cert, "best_lower": best_lower, "gap": gap,
            "sampled_lower": anchors.get("sampled_lower"), "naive_upper": anchors.get("naive_upper")}
