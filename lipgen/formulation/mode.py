"""Which mode `--mode auto` builds, from the sizes both problems would have (docs/formulation.md, section 3b).

What the generator knows before building, per mode:

- binaries: one per unstable neuron in both modes, plus the objective's and the covector's. Forward: an output
  choice per output for l-inf outputs, a sign per output for l1 (none for one output: v -> -v flips g).
  Backward: a covector choice per output for l-inf outputs, a sign per output for l1 (none for one output),
  and for the dual norm of the pulled-back covector a sign per input (alpha = inf) or a choice among the
  2 n_0 signed entries (alpha = 1).
- products with a big-M: one per unstable neuron (y = s t forward, q = s r backward), except, in backward mode
  with one output, the last hidden layer's, whose r is a known constant.

The rule (cost = unstable neurons + big-M products + sign binaries, each, + one per choice, whose binaries sum
to one): never a nonconvex problem where the other mode's is convex (l2 inputs with one output or l-inf / l1
outputs keep forward's linear objective; l-inf / l1 inputs with l2 outputs keep backward's convex ball); else
forward for l1 inputs (the l1 ball is a polytope forward keeps as an LP, while backward's l-inf dual norm picks one
of 2 n_0 signed entries of r_0: the cost count favours backward there and the measurements do not, forward's upper
problem solves in 24 s where backward's takes 44 s on LipMIP's six l1 nets); else backward unless it costs more
than forward by over SIGN_SHARE of the unstable neurons. Backward starts from the
covector, a choice among few outputs (a constant for one): its derivative bounds start tight and stay so through
deep nets (2-20-20-20-2 and 4-10-10-10-3 prove in backward and time out in forward). Its price is the dual norm
of r_0, a sign binary per input for l-inf inputs: 64 of them against 14 unstable neurons (digits on a ball) and
backward times out where forward proves in seconds. Calibrated in benchmarks/mode_calibration.md.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..bounds import Stability
from ..network import Network
from .spec import MILP, CONVEX_MIQCP, Spec, classify_problem

SIGN_SHARE = 0.25  # backward's extra cost allowed, as a share of the unstable neurons (calibrated)
MODE_RULE = ("convex before nonconvex; else forward for l1 inputs; else backward unless its cost (unstable neurons + "
             f"big-M products + sign binaries + one per choice) exceeds forward's by more than {SIGN_SHARE:g} of the "
             "unstable neurons")
CONVEX_CLASSES = (MILP, CONVEX_MIQCP)


def _output_binaries(n: int, norm: str, symmetric: bool) -> tuple[int, int]:
    """(binaries, cost) of objectives.output_norm over n entries: l1 takes a sign binary per entry, each counted;
    l-inf one choice among the entries (and their signs unless symmetric), counted once: exactly one is on."""
    if norm == "2" or (n == 1 and symmetric):
        return 0, 0
    if norm == "inf":
        return (n if symmetric else 2 * n), 1
    return n, n


def mode_sizes(network: Network, stability: list[Stability], alpha: str, beta: str) -> dict:
    """Per mode: binaries, big-M products, cost and problem class (module docstring); `unstable` the neurons."""
    unstable = [int(np.count_nonzero(st.unstable)) for st in stability]
    total = sum(unstable)
    n0, m = network.n_inputs, network.n_outputs
    fwd_bin, fwd_cost = _output_binaries(m, beta, True)
    # the covector: w = e_j (a choice, l-inf outputs), w = 2 c - 1 (signs, l1 outputs), a constant for one output
    cov_bin, cov_cost = (0, 0) if m == 1 else _output_binaries(m, beta, True)
    dual = {"1": "inf", "2": "2", "inf": "1"}[str(alpha)]
    in_bin, in_cost = _output_binaries(n0, dual, False)
    exact = unstable[-1] if m == 1 and unstable else 0
    out: dict = {"unstable": total}
    for mode, binaries, cost, products in (("forward", fwd_bin, fwd_cost, total),
                                           ("backward", cov_bin + in_bin, cov_cost + in_cost, total - exact)):
        cls, _ = classify_problem(Spec(alpha=alpha, beta=beta, mode=mode), m)
        out[mode] = {"binaries": total + binaries, "objective_binaries": binaries, "products": products,
                     "cost": total + cost + products, "problem_class": cls}
    return out


def choose_mode(network: Network, stability: list[Stability], alpha: str, beta: str) -> tuple[str, dict]:
    """The mode `auto` stands for, and the record of why (the sidecar's `mode_choice`)."""
    sizes = mode_sizes(network, stability, alpha, beta)
    fwd, bwd = sizes["forward"], sizes["backward"]
    convex = {k: sizes[k]["problem_class"] in CONVEX_CLASSES for k in ("forward", "backward")}
    extra = bwd["cost"] - fwd["cost"]  # what backward costs beyond forward (its input signs, less exact products)
    allowed = SIGN_SHARE * sizes["unstable"]
    if convex["forward"] != convex["backward"]:
        mode = "forward" if convex["forward"] else "backward"
        why = f"{mode} keeps the problem convex ({sizes[mode]['problem_class']})"
    elif str(alpha) == "1":
        mode = "forward"
        why = "l1 inputs: forward keeps the l1 ball as an LP (calibrated: benchmarks/mode_calibration.md)"
    elif extra > allowed:
        mode = "forward"
        why = f"backward's extra cost {extra} > {SIGN_SHARE:g} x {sizes['unstable']} unstable neurons"
    else:
        mode = "backward"
        why = f"backward's extra cost {extra} <= {SIGN_SHARE:g} x {sizes['unstable']} unstable neurons"
    return mode, {"rule": MODE_RULE, "chosen": mode, "why": why, **sizes}


def resolve_spec(spec: Spec, network: Network, stability: list[Stability]) -> tuple[Spec, dict | None]:
    """`spec` with its mode resolved; for `auto` also the record of why."""
    if spec.mode != "auto":
        return spec, None
    mode, record = choose_mode(network, stability, spec.alpha, spec.beta)
    return replace(spec, mode=mode), record
