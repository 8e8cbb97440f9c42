"""What problem to build, what class it falls in, and which solvers take it (docs/formulation.md, 1 and 7)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import LipgenError
from ..network import NORMS

BOUND_KINDS = ("upper", "lower")
ENCODINGS = ("bigm", "quadratic")
MODES = ("forward", "backward", "auto")

MILP = "MILP"
CONVEX_MIQCP = "convex MIQCP"
NONCONVEX_MIQP = "nonconvex MIQP"  # nonconvex objective, linear constraints
NONCONVEX_MIQCQP = "nonconvex MIQCQP"

# The strict problem's margin, a distance in the scaled input space of each layer (the box mapped to
# [-1, 1]^n, rows of unit norm): 100 times the solvers' default feasibility tolerance (1e-6), so that a
# strict point a solver returns lies inside its region even when it violates a row by that tolerance.
DEFAULT_EPS = 1e-4

# Solver parameters recommended for every instance (recorded per sidecar, used by `lipgen solve` unless
# --solver-defaults, written into the settings files next to the instances).
SCIP_PARAMS = {"separating/maxrounds": 0, "separating/maxroundsroot": 0}


@dataclass
class Spec:
    """What problem to build."""

    alpha: str = "2"  # input norm
    beta: str = "2"  # output norm
    bound: str = "upper"  # upper: non-strict problem; lower: strict twin with margin eps
    eps: float | None = None  # margin of the strict problem (scaled distance); None = DEFAULT_EPS
    encoding: str = "bigm"
    mode: str = "auto"  # forward: push a direction v; backward: pull back an output covector; auto: choose

    def check(self) -> None:
        for what, p in (("input norm", self.alpha), ("output norm", self.beta)):
            if p not in NORMS:
                raise LipgenError(f"{what} {p!r} is not supported: use one of 1, 2, inf")
        if self.bound not in BOUND_KINDS:
            raise LipgenError(f"bound kind {self.bound!r} is not supported: use upper or lower")
        if self.encoding not in ENCODINGS:
            raise LipgenError(f"encoding {self.encoding!r} is not supported: use bigm or quadratic")
        if self.mode not in MODES:
            raise LipgenError(f"mode {self.mode!r} is not supported: use forward, backward or auto")
        if self.eps is not None and not (np.isfinite(self.eps) and self.eps > 0):
            raise LipgenError(f"--eps must be a positive number (a distance in the box scaled to [-1, 1]), "
                              f"got {self.eps}")

    @property
    def strict(self) -> bool:
        return self.bound == "lower"

    @property
    def margin(self) -> float | None:
        if not self.strict:
            return None
        return DEFAULT_EPS if self.eps is None else float(self.eps)


def objective_transform(spec: Spec, n_outputs: int) -> str:
    """How an objective value gives L: "sqrt_neg" where the objective is a sum of squares (the l2 norm of
    several outputs in forward mode, of the pulled-back covector in backward mode), else "neg"."""
    if spec.mode == "backward":
        return "sqrt_neg" if spec.alpha == "2" else "neg"
    return "sqrt_neg" if spec.beta == "2" and n_outputs > 1 else "neg"


def resolve_mode(spec: Spec, n_inputs: int, n_outputs: int) -> str:
    """The mode `auto` stood for until issue 20, from the shape alone (the benchmarks of solve_speed.md and lipgen-v1
    used it); `auto` now decides by size: formulation.mode.choose_mode.

    Backward when the output side is smaller than the input side (one output: the covector is a constant and
    the first products exact), unless that turns a convex problem nonconvex: with the l2 input norm the
    backward objective maximises a sum of squares, while forward mode keeps a linear objective for one output.
    """
    if spec.mode != "auto":
        return spec.mode
    if spec.alpha == "2" and (n_outputs == 1 or spec.beta != "2"):
        return "forward"
    return "backward" if n_outputs < n_inputs or n_outputs == 1 else "forward"


def lipschitz_from_objective(obj: float, transform: str, scale: float = 1.0) -> float:
    """Turn a (minimisation) objective value into the Lipschitz quantity it stands for: L = scale * T(obj)."""
    if transform == "neg":
        return scale * -obj
    if transform == "sqrt_neg":
        return scale * float(np.sqrt(max(-obj, 0.0)))
    raise ValueError(f"unknown objective transform {transform!r}")


def objective_from_lipschitz(value: float, transform: str, scale: float = 1.0) -> float:
    """Inverse of lipschitz_from_objective: the objective value of an instance whose optimum gives `value`."""
    if transform == "neg":
        return -value / scale
    if transform == "sqrt_neg":
        return -(value / scale) ** 2
    raise ValueError(f"unknown objective transform {transform!r}")


def classify_problem(spec: Spec, n_outputs: int) -> tuple[str, dict]:
    """Problem class and, per solver, whether it can take the problem (docs/solvers.md, section 3).

    `spec.mode` must be resolved (forward or backward)."""
    nonconvex_con = spec.encoding == "quadratic"
    if spec.mode == "backward":
        quad_obj = spec.alpha == "2"
        quad_con = nonconvex_con or (spec.beta == "2" and n_outputs > 1)
    else:
        quad_obj = spec.beta == "2" and n_outputs > 1
        quad_con = nonconvex_con or spec.alpha == "2"
    if nonconvex_con or (quad_obj and quad_con):
        cls = NONCONVEX_MIQCQP
    elif quad_obj:
        cls = NONCONVEX_MIQP
    elif quad_con:
        cls = CONVEX_MIQCP
    else:
        cls = MILP
    ok = {"ok": True, "why": ""}
    # measured (benchmarks/solve_speed.md): SCIP's cutting planes cost more than they prune on these instances;
    # without separation rounds it solves them about 2x faster than with its defaults
    solvers = {"scip": dict(ok, params=dict(SCIP_PARAMS)),
               "gurobi": dict(ok, params={"NonConvex": 2} if quad_obj or nonconvex_con else {})}
    if nonconvex_con:
        solvers["cplex"] = {"ok": False, "why": "CPLEX takes no nonconvex quadratic constraint, and --encoding "
                                                "quadratic writes bilinear equalities (a = s*z, y = s*t); use --encoding bigm"}
    elif quad_obj and quad_con:
        solvers["cplex"] = {"ok": False, "why": "the objective is a nonconvex sum of squares, which CPLEX refuses "
                                                "together with a quadratic (ball) constraint; use --input-norm 1 or "
                                                "inf, another --mode, or another solver"}
    else:
        solvers["cplex"] = dict(ok, params={"optimalitytarget": 3} if quad_obj else {})
    solvers["highs"] = dict(ok, params={}) if cls == MILP else {
        "ok": False, "why": f"HiGHS takes no quadratic term together with integer variables and this one is a {cls}; "
                            "use --norm 1 or inf with --encoding bigm, or another solver"}
    solvers["cbc"] = dict(ok) if cls == MILP else {
        "ok": False, "why": f"CBC solves only linear problems and this one is a {cls}; use --norm 1 or inf with "
                            "--encoding bigm, or another solver"}
    return cls, solvers
