"""Run LipBaB (pyrobits/LipBaB, LipBaB.py) on one network of lipgen's HDF5 format; print JSON lines.

Not part of lipgen; started by paper_claim.py under the LipBaB venv (numpy, cvxopt with GLPK, h5py).

LipBaB.py is a notebook export: its cells 1-10 define the algorithm (interval Jacobian bounds, LP feasibility
filter with GLPK, best-first branch and bound over unstable neurons), cell 11 is the *input cell* the authors
ask users to edit (which .npy network, the box `bnds`), cell 12 runs the search with the two knobs
`pnorm=2 #norm of choice (1,2,inf)` and `af=1 #approximation factor of choice`. This driver executes the
script's own text: cells 1-10 and 12 verbatim except the two knob lines, and cell 11 replaced by the network
and box given here (weights[l] = W_l as lists, weights[0] = None: the format cell 11 documents). The effective
program differs from LipBaB.py only by paper_claim_tools/lipbab_inputs.diff (written by `--emit-diff`).

Progress: cell 12 prints `tp.Lub` (the largest bound in the priority queue, i.e. the current global upper
bound) at each iteration. `print` is replaced in the script's namespace by a function that also records the
time and the script's `glb` (its lower bound: the largest Jacobian norm of a fully decided, LP-feasible
subproblem), so one run gives the anytime bounds at every budget: a JSON line {"t", "upper", "lower"} at most
every 0.2 s and at each budget crossing, then {"final": ...} when the search ends (exact: upper <= lower).
The child stops itself at the first iteration past the largest budget (its clock starts after the imports);
the parent's hard timeout is a safety net.

    python lipbab_child.py --lipbab DIR --weights net.h5 --norm 2 [--lower L --upper U]
"""

from __future__ import annotations

import argparse
import builtins
import difflib
import hashlib
import json
import os
import re
import sys
import time

KNOBS = (r"pnorm=2 #norm of choice (1,2,inf)", r"af=1 #approximation factor of choice")
CELL11 = '''
#(paper_claim) input cell: network and box given by the driver
weights, biases = [None], [None]
for _w in _PC_WEIGHTS:
    weights.append(_w)
for _b in _PC_BIASES:
    biases.append(_b)
ls=[]
ls.append(len(weights[1][0]))
for i in range(1,len(weights)):
    ls.append(len(weights[i]))
L=len(ls)-1
X=[0]*(ls[0])
act_pat=[]
for e in ls:
    act_pat.append([[1,1]for i in range(e)])
bnds=[[_PC_LO[i], _PC_HI[i]] for i in range(ls[0])]

'''


def effective_program(src: str, pnorm: str) -> str:
    parts = re.split(r"(?m)^(# In\[\d+\]:\n)", src)
    # parts: [head, marker1, body1, marker2, body2, ...]
    out = [parts[0]]
    for marker, body in zip(parts[1::2], parts[2::2]):
        n = int(re.search(r"\d+", marker).group())
        if n == 11:
            body = CELL11
        elif n == 12:
            for knob in KNOBS:
                if knob not in body:
                    raise SystemExit(f"LipBaB.py changed: knob line {knob!r} not found")
            body = body.replace(KNOBS[0], f"pnorm={pnorm} #norm of choice (1,2,inf)")
            body = body.replace(KNOBS[1], "af=1 #approximation factor of choice")
        out += [marker, body]
    return "".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lipbab", required=True, help="extracted pyrobits/LipBaB (holds LipBaB.py)")
    ap.add_argument("--weights", required=False)
    ap.add_argument("--norm", choices=("1", "2", "inf"), default="2")
    ap.add_argument("--lower", default=None, help="comma-separated box lower corner (default: the file's domain)")
    ap.add_argument("--upper", default=None)
    ap.add_argument("--budgets", default="10,60,600")
    ap.add_argument("--emit-diff", default=None, help="write the diff LipBaB.py -> effective program and exit")
    args = ap.parse_args()

    src_path = os.path.join(args.lipbab, "LipBaB.py")
    with open(src_path) as fh:
        src = fh.read()
    pnorm = {"1": "1", "2": "2", "inf": "np.inf"}[args.norm]
    prog = effective_program(src, pnorm)
    if args.emit_diff:
        diff = difflib.unified_diff(src.splitlines(True), effective_program(src, "PNORM").splitlines(True),
                                    "LipBaB.py", "LipBaB.py (as driven by lipbab_child.py; PNORM = 1, 2 or np.inf)")
        with open(args.emit_diff, "w") as fh:
            fh.write("".join(diff))
        return

    import h5py
    import numpy as np
    with h5py.File(args.weights, "r") as f:
        keys = sorted(f["layers"], key=int)
        ws = [np.asarray(f["layers"][k]["weight"], dtype=np.float64) for k in keys]
        bs = [np.asarray(f["layers"][k]["bias"], dtype=np.float64) for k in keys]
        lo = np.asarray(f["domain/lower"], dtype=np.float64)
        hi = np.asarray(f["domain/upper"], dtype=np.float64)
    if args.lower is not None:
        lo = np.array([float(v) for v in args.lower.split(",")])
        hi = np.array([float(v) for v in args.upper.split(",")])

    budgets = sorted(float(b) for b in args.budgets.split(","))
    t0 = time.perf_counter()
    ns: dict = {}
    state = {"last": -1.0, "next_budget": 0, "n": 0}
    real_print = builtins.print

    def emit(rec):
        real_print(json.dumps(rec), flush=True)

    def hooked_print(*a, **k):
        t = time.perf_counter() - t0
        text = " ".join(str(x) for x in a)
        if text.startswith("Final Lipschitz estimation:"):
            emit({"final": True, "t": t, "upper": float(a[1]), "lower": float(ns.get("glb", 0.0)),
                  "subproblems": ns.get("pcnt")})
            return
        if text.startswith("Execution time"):
            return
        try:
            ub = float(a[0])
        except (TypeError, ValueError, IndexError):
            real_print(*a, file=sys.stderr)
            return
        state["n"] += 1
        # at a budget crossing, the state of the previous iteration is the state at the budget
        while state["next_budget"] < len(budgets) and t >= budgets[state["next_budget"]]:
            if state.get("prev"):
                emit({**state["prev"], "budget": budgets[state["next_budget"]]})
            state["next_budget"] += 1
        if state["next_budget"] == len(budgets):  # past the largest budget: stop here (clock after imports)
            emit({"stopped": True, "t": t})
            raise SystemExit(0)
        state["prev"] = {"t": t, "upper": ub, "lower": float(ns.get("glb", 0.0)), "subproblems": ns.get("pcnt")}
        if t - state["last"] >= 0.2 or state["n"] == 1:
            state["last"] = t
            emit({"t": t, "upper": ub, "lower": float(ns.get("glb", 0.0)), "subproblems": ns.get("pcnt")})

    ns.update({"__name__": "__lipbab__", "print": hooked_print, "_PC_WEIGHTS": [w.tolist() for w in ws],
               "_PC_BIASES": [b.tolist() for b in bs], "_PC_LO": lo.tolist(), "_PC_HI": hi.tolist()})
    emit({"start": True, "lipbab_sha256": hashlib.sha256(src.encode()).hexdigest(), "norm": args.norm})
    exec(compile(prog, "LipBaB.py", "exec"), ns)


if __name__ == "__main__":
    main()
