"""From a solver's answer to Lipschitz bounds (docs/formulation.md, sections 5-6), using only the sidecar and the
network.

- upper-bound (non-strict) problem: the solver's *dual* bound, widened by what the solvers' tolerances allow
  in the scaled problem and mapped back (L <= Lambda * T(dual - tol));
- lower-bound (strict) problem: its value counts only when the solution's x, recomputed in float64, realises
  the solution's activation pattern; otherwise the solver's value is kept apart with the reason;
- certified lower bound: the Jacobian at the solution's x, recomputed with a rounding error bound
  (lipgen/certificate.py); it does not trust the solver.
"""

from __future__ import annotations

import numpy as np

from ..bounds import Stability
from ..domain import Box
from ..formulation import lipschitz_from_objective
from ..io.covector import fold_error_norm
from ..lower.certificate import Certificate, certify_point, directional_lower, jacobian_rounding
from ..lower.region_lp import region_centre
from ..network import Network, dual_norm, vector_norm
from ..parsers import record as rec

# Widening of a dual bound of the scaled problem (objective of order 1): the solvers' absolute tolerances
# (CPLEX's absolute MIP gap 1e-6, feasibility tolerances 1e-6) plus a relative part for large objectives.
DUAL_ABS_TOL = 1e-6
DUAL_REL_TOL = 1e-6
# CPLEX's default relative MIP gap: the loosest any solver calls "optimal" by default
DEFAULT_GAP_TOL = 1e-4
# The naive bound's products are rounded up, but its record in old sidecars is a plain float: kept 1e-10 wider.
ANCHOR_REL_TOL = 1e-10

# The premise of the widening (docs/formulation.md, section 5b): the solver's dual bound of the scaled problem is
# right to DUAL_ABS_TOL. Not established when a row mixes magnitudes further apart than this (the rows mixed
# 1e-6 and 1e6; ordinary nets reach a few 1e6 through nearly stable neurons' big-M bounds, harmlessly)...
PREMISE_ROW_RATIO = 1e9
# ... or when the objective's terms can reach this many times the objective's unit (naive bound / Lambda): a row
# violation of 1e-6 can then move the objective by 1e-6 times as much, and L may be a cancellation of large terms
PREMISE_AMPLIFICATION = 1e4
# two solvers' widened upper bounds confirm each other when they agree to this (relative, plus the widening): looser
# than the default gap (1e-4) that either may stop at, far tighter than the wrong bounds the issue saw (1e9 apart)
CONFIRM_REL_TOL = 1e-3
UNVERIFIED = "unverified"
SUPERSEDED = "superseded"  # an unverified MIP bound no better than a certified anchor: not checked, not used
# a widened dual bound this far below the sampled estimate of L is suspect (the widening is 1e-6 relative or more)
ESTIMATE_REL_TOL = 1e-9

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


def _vector(values: dict, names: list[str]) -> np.ndarray:
    return np.array([float(values.get(n, 0.0)) for n in names])



def sidecar_stability(sidecar: dict) -> list[Stability]:
    """The neuron classification the instance was built with."""
    return [Stability.from_code(code) for code in sidecar["neurons"]]


def solution_point(sidecar: dict, values: dict) -> tuple[np.ndarray, np.ndarray]:
    """(x, v) of a solution in the network's own input space."""
    sc = sidecar["scaling"]
    xs = _vector(values, sidecar["input_vars"])
    x = np.asarray(sc["input_center"]) + np.asarray(sc["input_scale"]) * xs
    return x, _vector(values, sidecar["direction_vars"])


def certify(network: Network, sidecar: dict, values: dict) -> Certificate:
    """Certified lower bound of L from a solution's input point and direction; when the point certifies no region
    (it lies on a boundary of its pattern's region, as optimal points of the non-strict problem often do), from the
    interior point of the region its binaries name (lipgen/lower/region_lp.py)."""
    x, v = solution_point(sidecar, values)
    direction = v if len(v) else None
    box, stability = Box.from_json(sidecar["domain"]), sidecar_stability(sidecar)
    alpha, beta, covector = sidecar["norms"]["input"], sidecar["norms"]["output"], sidecar["network"].get("covector")
    cert = certify_point(network, box, alpha, beta, x, direction, stability, covector=covector)
    if cert.value is not None:
        return cert
    centre = region_centre(network, box, solution_pattern(sidecar, values, stability), stability)
    if centre is None:
        return cert
    moved = certify_point(network, box, alpha, beta, centre, direction, stability, covector=covector)
    if moved.value is None:
        return cert
    moved.reason += (f" (at the centre of the region the solution's binaries name: its own point failed, {cert.reason})")
    return moved


def solution_pattern(sidecar: dict, values: dict, stability: list[Stability]) -> list[np.ndarray]:
    """The activation pattern a solution's binaries name (stable neurons as classified)."""
    out = []
    for k, st in enumerate(stability, start=1):
        unst = np.flatnonzero(st.unstable)
        p = st.active.astype(float)
        p[unst] = np.round(_vector(values, [f"s{k}_{i}" for i in unst.tolist()]))
        out.append(p)
    return out


def solution_covector(sidecar: dict, values: dict) -> np.ndarray:
    """The output covector w of a backward-mode solution (w = 1 for one output)."""
    names = sidecar.get("covector_vars") or []
    if not names:
        return np.ones(1)
    c = _vector(values, names)
    return 2 * np.round(c) - 1 if sidecar["norms"]["output"] == "1" else c


def realised_value(network: Network, sidecar: dict, values: dict, cert: Certificate) -> tuple[float | None, str]:
    """A certified lower bound from the solution's own objective: ||J_s v|| / ||v|| (forward) or ||J_s^T w|| / ||w||
    (backward) recomputed in float64 for its pattern s, minus the same rounding (and folding) error bound as the
    certificate's, when the solution's x realises s; else (None, why). 0 when the error bound reaches the value."""
    found, why = _realised_direction(network, sidecar, values, cert)
    if found is None:
        return None, why
    alpha, beta = sidecar["norms"]["input"], sidecar["norms"]["output"]
    j, direction, norms = found
    value = float(vector_norm(j @ direction, norms[1])) / float(vector_norm(direction, norms[0]))
    computed = (directional_lower(j, direction, *norms, jacobian_rounding(network, cert.pattern, alpha, beta))
                - fold_error_norm(sidecar["network"].get("covector"), alpha))
    if not computed > 0:
        return 0.0, (f"realised at the solution's input point, but the value computed ({value:.3g}) is within its "
                     f"rounding error bound ({value - computed:.3g}): it certifies nothing beyond 0")
    return computed, why


def _realised_direction(network: Network, sidecar: dict, values: dict,
                        cert: Certificate) -> tuple[tuple[np.ndarray, np.ndarray, tuple[str, str]] | None, str]:
    """The solution's own matrix, direction and norm pair ((J_s, v, (alpha, beta)) forward, (J_s^T, w, (beta*,
    alpha*)) backward: both norms equal ||J_s||), or (None, why) when its point does not realise its pattern."""
    alpha, beta = sidecar["norms"]["input"], sidecar["norms"]["output"]
    if cert.pattern is None:
        return None, f"the solution's point certifies no region: {cert.reason}"
    stability = sidecar_stability(sidecar)
    for k, (st, s, certified) in enumerate(zip(stability, solution_pattern(sidecar, values, stability), cert.pattern),
                                           start=1):
        unst = np.flatnonzero(st.unstable)
        differ = np.flatnonzero(s[unst] != certified[unst])
        if differ.size:
            i = int(unst[differ[0]])
            return None, (f"the solution sets s{k}_{i} = {int(s[i])} but its input point lies on the other "
                          f"side of that neuron (the solver used its tolerances); {differ.size} binaries of layer "
                          f"{k} disagree")
    j = network.jacobian_of_pattern(cert.pattern)
    if sidecar["mode"] == "backward":
        w = solution_covector(sidecar, values)
        nw = float(vector_norm(w, dual_norm(beta)))
        if nw == 0:
            return None, "the solution's covector is zero"
        return (j.T, w, (dual_norm(beta), dual_norm(alpha))), "realised at the solution's input point"
    _, v = solution_point(sidecar, values)
    nv = float(vector_norm(v, alpha))
    if nv == 0:
        return None, "the solution's direction is zero"
    return (j, v, (alpha, beta)), "realised at the solution's input point"


def explain(record: rec.SolveRecord, sidecar: dict) -> str:
    """One plain sentence about how the run ended."""
    text = STATUS_TEXT.get(record.status, record.status)
    if record.status == rec.INFEASIBLE:
        if sidecar["bound"] == "lower":
            return (f"infeasible: with margin eps = {sidecar['eps']:.3g} (a distance in the scaled box) no activation "
                    "region is left inside the domain; lower --eps or widen the domain")
        return "infeasible: the domain leaves no point (check the domain and the weights)"
    if record.status == rec.TIME_LIMIT:
        text += " with an incumbent" if record.has_solution else " without an incumbent"
    if record.message and record.status not in (rec.OPTIMAL,):
        text += f": {record.message}"
    return text


def dual_bound(record: rec.SolveRecord, gap_tol: float | None) -> float | None:
    """The best bound (min sense) of the scaled problem, widened by the solvers' tolerances.

    An optimal run also proves primal - gap_tol |primal|, which is tighter than the stale node-table bound some
    logs end with (CPLEX prints no final bound when optimal; CBC none at all).
    """
    dual = record.dual if rec.finite(record.dual) else None
    if record.status in (rec.OPTIMAL, rec.GAP_LIMIT) and rec.finite(record.primal):
        tol = DEFAULT_GAP_TOL if gap_tol is None else gap_tol
        proven = record.primal - tol * abs(record.primal)
        dual = proven if dual is None else max(dual, proven)
    if dual is None:
        return None
    return dual - DUAL_ABS_TOL - DUAL_REL_TOL * abs(dual)


def lipschitz_quantities(record: rec.SolveRecord, sidecar: dict, network: Network,
                         gap_tol: float | None = None) -> dict:
    """The Lipschitz numbers one solved problem gives, each present only when it is sound.

    gap_tol: the relative gap the solver was allowed to stop at (None: unknown, assume 1e-4).
    """
    transform, scale = sidecar["objective_transform"], sidecar["scaling"]["objective_scale"]
    normal = record.status in rec.NORMAL_END and record.status != rec.INFEASIBLE
    out = {"bound": sidecar["bound"], "status": record.status, "status_text": explain(record, sidecar),
           "upper": None, "lower": None, "lower_solver": None, "lower_reason": None, "incumbent_value": None,
           "certified_lower": None, "certificate": None}
    if normal and rec.finite(record.primal):
        out["incumbent_value"] = lipschitz_from_objective(record.primal, transform, scale)
    dual = dual_bound(record, gap_tol)
    if sidecar["bound"] == "upper" and normal and dual is not None:
        upper = lipschitz_from_objective(dual, transform, scale)
        fold = fold_error_norm(sidecar["network"].get("covector"), sidecar["norms"]["input"])
        # the folded network's constant is within `fold` of the covector's (lipgen/covector.py)
        upper = float(np.nextafter(upper + fold, np.inf)) if fold else upper
        reasons = premise_reasons(sidecar) + below_estimate(sidecar, upper)
        out["premise"] = {"established": not reasons, "reasons": reasons}
        if reasons:  # not certified: kept apart until another solver confirms it (lipgen run does)
            out["upper_unverified"] = upper
            out["status_text"] += "; upper bound unverified: " + "; ".join(reasons)
        else:
            out["upper"] = upper
    if normal and record.has_solution and record.values:
        cert = certify(network, sidecar, record.values)
        out["certificate"] = cert.to_dict()
        out["certified_lower"] = cert.value
        if sidecar["bound"] == "lower":
            out["lower_solver"] = out["incumbent_value"]
            out["lower"], out["lower_reason"] = realised_value(network, sidecar, record.values, cert)
    return out


def premise_reasons(sidecar: dict) -> list[str]:
    """Why the widening's premise cannot be established for this instance (empty: it can). Cheap and
    deterministic: from the sidecar's conditioning record and anchors (version-2 sidecars have no record and
    are not checked)."""
    cond = sidecar.get("conditioning")
    if not cond:
        return []
    reasons = []
    if cond["max_row_ratio"] > PREMISE_ROW_RATIO:
        reasons.append(f"a row of the scaled instance mixes nonzeros {cond['max_row_ratio']:.3g} times apart "
                       f"(> {PREMISE_ROW_RATIO:.0e})")
    naive, scale = sidecar["anchors"].get("naive_upper"), sidecar["scaling"]["objective_scale"]
    if naive is not None and naive / scale > PREMISE_AMPLIFICATION:
        reasons.append(f"the objective's terms may reach {naive / scale:.3g} times its unit (naive bound over the "
                       f"objective scale, > {PREMISE_AMPLIFICATION:.0e}): the value may be a cancellation")
    return reasons


def below_estimate(sidecar: dict, upper: float) -> list[str]:
    """The post-solve half of the premise check: a widened dual bound below the sampled float64 estimate of L (a
    Jacobian norm at a real point of the box) means the solver's tolerances moved it further than the widening
    allows, or the estimate is rounding noise; either way the bound needs a second opinion."""
    _, estimate = sampled_anchors(sidecar.get("anchors") or {})
    if estimate is None or not np.isfinite(estimate) or not estimate > upper * (1 + ESTIMATE_REL_TOL):
        return []
    return [f"the dual bound gives {upper:.9g}, below the Jacobian norm {estimate:.9g} sampled at a point of the "
            "domain"]


def confirm_upper(first: float | None, second: float | None, scale: float) -> tuple[float | None, str]:
    """Two solvers' widened upper bounds of one instance: (the larger, "") when they agree to CONFIRM_REL_TOL
    (plus the widening), else (None, why)."""
    if first is None or second is None:
        return None, "the second solver gave no bound"
    hi, lo = max(first, second), min(first, second)
    if hi - lo <= CONFIRM_REL_TOL * hi + 2 * DUAL_ABS_TOL * scale:
        return hi, ""
    return None, f"the solvers' upper bounds disagree: {first:.9g} and {second:.9g}"


def _best(candidates: list[tuple[str, float | None]], pick) -> tuple[float | None, str | None]:
    valid = [(v, k) for k, v in candidates if v is not None and np.isfinite(v)]
    if not valid:
        return None, None
    value, source = pick(valid, key=lambda t: t[0])
    return value, source


def sampled_anchors(anchors: dict) -> tuple[float | None, float | None]:
    """(certified, estimate) of the best sampled point; sidecars of version 2 hold only the uncertified
    `sampled_lower`, which is an estimate."""
    estimate = anchors.get("sampled_estimate", anchors.get("sampled_lower"))
    return anchors.get("sampled_certified"), estimate


MIP_SOURCE, JACOBIAN_SOURCE, NAIVE_SOURCE = "MIP dual bound", "Jacobian bound", "naive bound"
SDP_SOURCE = "SDP bound (LipSDP-Neuron, verified)"


def anchor_uppers(anchors: dict) -> list[tuple[str, float | None]]:
    """The certified upper bounds known before any solver, by source: the SDP bound (l2 constants of small nets),
    the Jacobian bound (sidecars from issue 20 on) and the naive bound (kept ANCHOR_REL_TOL wider: old sidecars
    record it as a plain float)."""
    naive, jac = anchors.get("naive_upper"), anchors.get("jacobian_upper")
    return [(SDP_SOURCE, anchors.get("sdp_upper")), (JACOBIAN_SOURCE, jac),
            (NAIVE_SOURCE, None if naive is None else naive * (1 + ANCHOR_REL_TOL))]


def best_anchor_upper(anchors: dict) -> tuple[float | None, str | None]:
    """The smallest certified upper bound known before any solver, and its source."""
    return _best(anchor_uppers(anchors), min)


GAP_NOISE = 1e-9  # a relative gap this far below zero is rounding, not a contradiction


def clean_gap(gap: float | None) -> float | None:
    """A relative gap without its rounding noise (-3.8e-16 is 0)."""
    if gap is None:
        return None
    return 0.0 if -GAP_NOISE < gap <= 0 else gap


def combine(upper: dict | None, lower: dict | None, anchors: dict) -> dict:
    """One line of the main table: the best upper and lower bounds over every source, and which gave each.

    `upper` is the least of the MIP's widened dual bound, the Jacobian bound and the naive bound (`upper_source`
    names it). `best_lower` takes certified values only (the two problems' certificates, the strict problem's realised value
    once certified, the sampled point's certificate, the region walk); float64 estimates keep names without
    "lower" (`sampled_estimate`). An upper bound below a certified lower bound cannot happen when every rule
    holds; it is reported as consistency "inconsistent" with both numbers, never as a negative gap.
    """
    mip_upper = upper["upper"] if upper else None
    certs = {f"certified ({q['bound']} problem)": q["certified_lower"] for q in (upper, lower) if q}
    cert = max([c for c in certs.values() if c is not None], default=None)
    realised = lower["lower"] if lower else None
    sampled, estimate = sampled_anchors(anchors)
    naive, searched = anchors.get("naive_upper"), anchors.get("search_lower")
    # the MIP's bound first: on a tie it is the one named
    best_upper, upper_source = _best([(MIP_SOURCE, mip_upper)] + anchor_uppers(anchors), min)
    best_lower, lower_source = _best(list(certs.items()) + [
        ("lower-bound problem (realised, certified)", realised), ("sampled points (certified)", sampled),
        ("region walk (certified)", searched)], max)
    consistency, gap = "ok", None
    if best_upper is not None and best_lower is not None:
        if best_upper < best_lower:
            consistency = "inconsistent"
        else:
            gap = (best_upper - best_lower) / best_upper if best_upper > 0 else 0.0
    return {"upper": best_upper, "upper_source": upper_source, "upper_mip": mip_upper,
            "lower": realised, "certified_lower": cert, "best_lower": best_lower,
            "lower_source": lower_source, "gap": gap, "consistency": consistency, "sampled_certified": sampled,
            "sampled_estimate": estimate, "search_lower": searched, "naive_upper": naive,
            "jacobian_upper": anchors.get("jacobian_upper"), "jacobian_method": anchors.get("jacobian_method"),
            "sdp_upper": anchors.get("sdp_upper")}


def failure_reason(summary: dict) -> str | None:
    """Why a run's summary is not a certified bracket lower <= L <= upper (None: it is; `lipgen run` exits 0)."""
    premise = summary.get("premise") or {}
    if premise.get("verdict") == UNVERIFIED:
        return f"{UNVERIFIED}: {premise.get('reason')}"
    if summary.get("consistency", "ok") != "ok":
        return str(summary["consistency"])
    if summary.get("upper") is None:
        return "no upper bound"
    if summary.get("best_lower") is None:
        return "no certified lower bound"
    return None
