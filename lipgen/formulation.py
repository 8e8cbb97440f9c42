"""The MIQCQP of FORMULATION.md sections 3-5, built into a solver-neutral Model with numpy.

Naming scheme (neuron indices are the original ones of the weights file, layers count from 1):
  x_i input, v_i direction (vp_i / vm_i its l1 split), z{k}_i pre-activation, a{k}_i post-activation
  (unstable neurons), s{k}_i activation binary (unstable neurons), t{k}_i propagated derivative before
  the ReLU, y{k}_i after it (unstable neurons), g_j output derivative, w / w_j / c_j / sg_j objective helpers.
Stably active neurons reuse z (a = z) and t (y = t); stably inactive neurons are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .bounds import LayerBounds, Stability, classify, interval_bounds, interval_propagate
from .errors import LipgenError
from .model import BINARY, SENSE_EQ, SENSE_GE, SENSE_LE, Model, ModelBuilder
from .network import NORMS, Network, dual_norm, vector_norm

BOUND_KINDS = ("upper", "lower")
ENCODINGS = ("bigm", "quadratic")

MILP = "MILP"
CONVEX_MIQCP = "convex MIQCP"
NONCONVEX_MIQP = "nonconvex MIQP"  # nonconvex objective, linear constraints
NONCONVEX_MIQCQP = "nonconvex MIQCQP"

# The solvers' feasibility tolerances are ~1e-6 relative to the row's magnitude, so the margin
# must sit well above 1e-6 times the largest pre-activation for a strict point to be really strict.
EPS_RELATIVE = 1e-5


@dataclass
class Spec:
    """What problem to build."""

    alpha: str = "2"  # input norm
    beta: str = "2"  # output norm
    bound: str = "upper"  # upper: non-strict problem; lower: strict twin with margin eps
    eps: float | None = None  # margin of the strict problem; None = default_eps
    encoding: str = "bigm"

    def check(self) -> None:
        for what, p in (("input norm", self.alpha), ("output norm", self.beta)):
            if p not in NORMS:
                raise LipgenError(f"{what} {p!r} is not supported: use one of 1, 2, inf")
        if self.bound not in BOUND_KINDS:
            raise LipgenError(f"bound kind {self.bound!r} is not supported: use upper or lower")
        if self.encoding not in ENCODINGS:
            raise LipgenError(f"encoding {self.encoding!r} is not supported: use bigm or quadratic")
        if self.eps is not None and not (np.isfinite(self.eps) and self.eps > 0):
            raise LipgenError(f"--eps must be a positive number, got {self.eps}")


@dataclass
class Formulation:
    """A built problem plus what is needed to read its solutions back."""

    model: Model
    spec: Spec
    eps: float | None  # the margin actually used (lower problems)
    objective_transform: str  # "neg": L = -obj;  "sqrt_neg": L = sqrt(-obj)
    problem_class: str
    solvers: dict  # solver -> {"ok": bool, "why": str, "params": {...}}
    layers: list[dict] = field(default_factory=list)  # per hidden layer: neuron counts
    naming: dict = field(default_factory=dict)


def default_eps(bounds: list[LayerBounds]) -> float:
    """EPS_RELATIVE times the largest hidden pre-activation magnitude (at least EPS_RELATIVE)."""
    scale = max((float(np.max(np.abs(np.concatenate([b.lower, b.upper])))) for b in bounds[:-1] if b.lower.size),
                default=1.0)
    return EPS_RELATIVE * max(1.0, scale)


def objective_transform(spec: Spec, n_outputs: int) -> str:
    return "sqrt_neg" if spec.beta == "2" and n_outputs > 1 else "neg"


def lipschitz_from_objective(obj: float, transform: str) -> float:
    """Turn a (minimisation) objective value into the Lipschitz quantity it stands for."""
    if transform == "neg":
        return -obj
    if transform == "sqrt_neg":
        return float(np.sqrt(max(-obj, 0.0)))
    raise ValueError(f"unknown objective transform {transform!r}")


def classify_problem(spec: Spec, n_outputs: int) -> tuple[str, dict]:
    """Problem class and, per solver, whether it can take the problem (SOLVERS.md 3)."""
    quad_con = spec.alpha == "2" or spec.encoding == "quadratic"
    nonconvex_con = spec.encoding == "quadratic"
    quad_obj = spec.beta == "2" and n_outputs > 1
    if nonconvex_con or (quad_obj and quad_con):
        cls = NONCONVEX_MIQCQP
    elif quad_obj:
        cls = NONCONVEX_MIQP
    elif quad_con:
        cls = CONVEX_MIQCP
    else:
        cls = MILP
    ok = {"ok": True, "why": ""}
    solvers = {"scip": dict(ok), "gurobi": dict(ok, params={"NonConvex": 2} if quad_obj or nonconvex_con else {})}
    if nonconvex_con:
        solvers["cplex"] = {"ok": False, "why": "CPLEX takes no nonconvex quadratic constraint, and --encoding "
                                                "quadratic writes bilinear equalities (a = s*z, y = s*t); use --encoding bigm"}
    elif quad_obj and quad_con:
        solvers["cplex"] = {"ok": False, "why": f"the l2 output norm of {n_outputs} outputs is a nonconvex objective, "
                                                "which CPLEX refuses together with the l2 ball constraint; use "
                                                "--input-norm 1 or inf, or another solver"}
    else:
        solvers["cplex"] = dict(ok, params={"optimalitytarget": 3} if quad_obj else {})
    solvers["cbc"] = dict(ok) if cls == MILP else {
        "ok": False, "why": f"CBC solves only linear problems and this one is a {cls}; use --norm 1 or inf with "
                            "--encoding bigm, or another solver"}
    return cls, solvers


def build(network: Network, lower: np.ndarray, upper: np.ndarray, spec: Spec, name: str | None = None,
          bounds: list[LayerBounds] | None = None) -> Formulation:
    """Build the upper-bound (non-strict) or lower-bound (strict) problem for `network` on the box."""
    spec.check()
    if bounds is None:
        bounds = interval_bounds(network, lower, upper)
    strict = spec.bound == "lower"
    eps = (spec.eps if spec.eps is not None else default_eps(bounds)) if strict else None
    quadratic = spec.encoding == "quadratic"
    n_out = network.n_outputs
    K = len(network.weights)
    b = ModelBuilder(name or f"{network.name}_{spec.bound}")

    # forward part: x, then per hidden layer z (and a, s for unstable neurons)
    x = b.add_vars("x_", network.n_inputs, lb=lower, ub=upper)
    prev_cols, prev_keep = x, np.arange(network.n_inputs)
    stab: list[Stability] = []
    s_cols: list[np.ndarray] = []
    layers = []
    for k in range(1, K):
        lb_k = bounds[k - 1]
        st = classify(lb_k, eps)
        stab.append(st)
        layers.append(st.counts())
        last = k == K - 1
        keep = np.flatnonzero(~st.inactive)
        unst = np.flatnonzero(st.unstable)
        # the last hidden layer feeds only the (unconstrained) output, so only unstable z are needed there
        zidx = unst if last else keep
        l, u = lb_k.lower[zidx], lb_k.upper[zidx]
        z = b.add_vars(f"z{k}_", len(zidx), lb=l, ub=u, suffixes=zidx)
        w = network.weights[k - 1][np.ix_(zidx, prev_keep)]
        _affine_rows(b, f"fwd{k}_", zidx, z, w, prev_cols, rhs=network.biases[k - 1][zidx])
        pos = np.searchsorted(zidx, unst)  # positions of unstable neurons within z
        zu, lu, uu = z[pos], lb_k.lower[unst], lb_k.upper[unst]
        s = b.add_vars(f"s{k}_", len(unst), lb=0, ub=1, vtype=BINARY, suffixes=unst)
        s_cols.append(s)
        n = len(unst)
        if not last:
            a = b.add_vars(f"a{k}_", n, lb=0, ub=np.maximum(uu, 0), suffixes=unst)
            b.add_rows(f"relu{k}_", n, SENSE_GE, 0, terms=[(a, 1), (zu, -1)], suffixes=_sfx(unst, "_ge"))
            if quadratic:
                r = b.add_rows(f"relu{k}_", n, SENSE_EQ, 0, terms=[(a, 1)], suffixes=_sfx(unst, "_eq"))
                b.add_quadratic(r, s, zu, -1.0)
            else:
                b.add_rows(f"relu{k}_", n, SENSE_LE, 0, terms=[(a, 1), (s, -uu)], suffixes=_sfx(unst, "_on"))
                b.add_rows(f"relu{k}_", n, SENSE_LE, -lu, terms=[(a, 1), (zu, -1), (s, -lu)],
                           suffixes=_sfx(unst, "_off"))
        margin = eps if strict else 0.0
        if quadratic:
            if strict or last:  # (2s - 1) z >= margin: the sign of z agrees with s
                r = b.add_rows(f"sgn{k}_", n, SENSE_GE, margin, terms=[(zu, -1)], suffixes=unst)
                b.add_quadratic(r, s, zu, 2.0)
        elif strict or last:
            # s = 1 => z >= margin, s = 0 => z <= -margin (implied by the relu rows when non-strict)
            b.add_rows(f"sgn{k}_", n, SENSE_GE, lu, terms=[(zu, 1), (s, lu - margin)], suffixes=_sfx(unst, "_pos"))
            b.add_rows(f"sgn{k}_", n, SENSE_LE, -margin, terms=[(zu, 1), (s, -(uu + margin))],
                       suffixes=_sfx(unst, "_neg"))
        if not last:
            cols = np.empty(len(keep), dtype=np.int64)
            cols[np.searchsorted(keep, unst)] = a
            act = np.flatnonzero(st.active)
            cols[np.searchsorted(keep, act)] = z[np.searchsorted(zidx, act)]
            prev_cols, prev_keep = cols, keep

    # derivative part: v in the alpha-ball, t_k = W_k y_{k-1}, y_k = s_k * t_k, g = W_K y_{K-1}
    v = _direction(b, network.n_inputs, spec.alpha)
    prev_cols, prev_keep = v, np.arange(network.n_inputs)
    prev_lo = prev_hi = None
    for k in range(1, K):
        st = stab[k - 1]
        keep = np.flatnonzero(~st.inactive)
        unst = np.flatnonzero(st.unstable)
        w = network.weights[k - 1][np.ix_(keep, prev_keep)]
        if k == 1:
            # tight first-layer bound: |W_1 row . v| <= ||row||_{alpha*}
            q = vector_norm(w, dual_norm(spec.alpha), axis=1) if w.size else np.zeros(len(keep))
            p = -q
        else:
            p, q = interval_propagate(w, prev_lo, prev_hi)
        t = b.add_vars(f"t{k}_", len(keep), lb=p, ub=q, suffixes=keep)
        _affine_rows(b, f"der{k}_", keep, t, w, prev_cols, rhs=0.0)
        pos = np.searchsorted(keep, unst)
        tu, pu, qu = t[pos], np.minimum(p[pos], 0), np.maximum(q[pos], 0)
        s = s_cols[k - 1]
        n = len(unst)
        y = b.add_vars(f"y{k}_", n, lb=pu, ub=qu, suffixes=unst)
        if quadratic:
            r = b.add_rows(f"prod{k}_", n, SENSE_EQ, 0, terms=[(y, 1)], suffixes=unst)
            b.add_quadratic(r, s, tu, -1.0)
        else:
            b.add_rows(f"prod{k}_", n, SENSE_LE, 0, terms=[(y, 1), (s, -qu)], suffixes=_sfx(unst, "_on_hi"))
            b.add_rows(f"prod{k}_", n, SENSE_GE, 0, terms=[(y, 1), (s, -pu)], suffixes=_sfx(unst, "_on_lo"))
            b.add_rows(f"prod{k}_", n, SENSE_LE, -pu, terms=[(y, 1), (tu, -1), (s, -pu)], suffixes=_sfx(unst, "_off_hi"))
            b.add_rows(f"prod{k}_", n, SENSE_GE, -qu, terms=[(y, 1), (tu, -1), (s, -qu)], suffixes=_sfx(unst, "_off_lo"))
        cols = t.copy()
        cols[pos] = y
        lo, hi = p.copy(), q.copy()
        lo[pos], hi[pos] = pu, qu
        prev_cols, prev_keep, prev_lo, prev_hi = cols, keep, lo, hi

    w = network.weights[-1][:, prev_keep]
    if K == 1:
        q = vector_norm(w, dual_norm(spec.alpha), axis=1)
        gl, gu = -q, q
    else:
        gl, gu = interval_propagate(w, prev_lo, prev_hi)
    outs = np.arange(n_out)
    g = b.add_vars("g_", n_out, lb=gl, ub=gu)
    _affine_rows(b, "out_", outs, g, w, prev_cols, rhs=0.0)
    _objective(b, g, gl, gu, spec.beta)

    cls, solvers = classify_problem(spec, n_out)
    naming = {"input": "x_{i}", "direction": "v_{i}", "output_derivative": "g_{j}",
              "pre_activation": "z{k}_{i}", "activation": "s{k}_{i}", "post_activation": "a{k}_{i}",
              "derivative": "t{k}_{i}", "derivative_after_relu": "y{k}_{i}"}
    return Formulation(model=b.build(), spec=spec, eps=eps, objective_transform=objective_transform(spec, n_out),
                       problem_class=cls, solvers=solvers, layers=layers, naming=naming)


def _sfx(idx: np.ndarray, tail: str) -> np.ndarray:
    return np.char.add(idx.astype(str), tail)


def _affine_rows(b: ModelBuilder, prefix: str, idx: np.ndarray, lhs: np.ndarray, w: np.ndarray,
                 cols: np.ndarray, rhs) -> None:
    """Rows lhs_i - sum_j w_ij cols_j = rhs_i (dense w, zeros dropped by the builder)."""
    m, n = w.shape
    local = np.repeat(np.arange(m), n)
    b.add_rows(prefix, m, SENSE_EQ, rhs, terms=[(lhs, 1.0)],
               coo=(local, np.tile(cols, m), -w.ravel()), suffixes=idx)


def _direction(b: ModelBuilder, n: int, alpha: str) -> np.ndarray:
    v = b.add_vars("v_", n, lb=-1, ub=1)
    if alpha == "2":
        r = b.add_rows("ball", 1, SENSE_LE, 1.0, suffixes=[""])
        b.add_quadratic(np.repeat(r, n), v, v, 1.0)
    elif alpha == "1":
        vp = b.add_vars("vp_", n, lb=0, ub=1)
        vm = b.add_vars("vm_", n, lb=0, ub=1)
        b.add_rows("split_", n, SENSE_EQ, 0, terms=[(v, 1), (vp, -1), (vm, 1)])
        b.add_rows("ball", 1, SENSE_LE, 1.0, coo=(np.zeros(2 * n, np.int64), np.concatenate([vp, vm]),
                                                   np.ones(2 * n)), suffixes=[""])
    return v


def _objective(b: ModelBuilder, g: np.ndarray, gl: np.ndarray, gu: np.ndarray, beta: str) -> None:
    """Minimise minus ||g||_beta (max g for one output: v -> -v flips g, FORMULATION.md 5)."""
    n = len(g)
    if n == 1:
        b.add_objective(g, -1.0)
    elif beta == "2":
        b.add_objective_quadratic(g, g, -1.0)
    elif beta == "inf":
        # w <= g_j + M_j (1 - c_j), one selector c_j on
        w_hi = float(np.max(gu))
        w = b.add_vars("w", 1, lb=float(np.min(gl)), ub=w_hi, suffixes=[""])
        c = b.add_vars("c_", n, lb=0, ub=1, vtype=BINARY)
        m = w_hi - gl
        b.add_rows("pick_", n, SENSE_LE, m, terms=[(np.repeat(w, n), 1), (g, -1), (c, m)])
        b.add_rows("select", 1, SENSE_EQ, 1.0, coo=(np.zeros(n, np.int64), c, np.ones(n)), suffixes=[""])
        b.add_objective(w, -1.0)
    else:  # beta == "1": w_j <= |g_j| through a sign binary
        big = np.maximum(np.abs(gl), np.abs(gu))
        w = b.add_vars("w_", n, lb=0, ub=big)
        sg = b.add_vars("sg_", n, lb=0, ub=1, vtype=BINARY)
        b.add_rows("abs_", n, SENSE_LE, big - gl, terms=[(w, 1), (g, -1), (sg, big - gl)], suffixes=_sfx(np.arange(n), "_pos"))
        b.add_rows("abs_", n, SENSE_LE, 0, terms=[(w, 1), (g, 1), (sg, -(big + gu))], suffixes=_sfx(np.arange(n), "_neg"))
        b.add_objective(w, -1.0)
