"""LiPopt (latorrefabian/lipopt, Latorre, Rolland & Cevher, ICLR 2020), run unmodified for paper_claim.py.

Runs the paper's code (`old_code`, the version its experiments used, with the authors' fix of the gradient
polynomial) as its own script `new_compare_lp_naive_serial.py` calls it: the gradient polynomial of the network,
the Krivine constraints over the box (p = 1: the l-inf input norm's dual, so the bound is of the inf -> |.|
constant of a one-output network), and the Krivine LP hierarchy at its default degree (the number of layers),
built with sympy and solved by Gurobi. Two things the script cannot do as shipped, done here from outside:

- ReLU: LiPopt's code ships ELU only. `ReLU` below gives the interface its `FullyConnected` calls (`__call__`,
  and `derivative` on the interval ends: the step function, so a neuron's derivative lies in [0, 0], [1, 1] or
  [0, 1] on the box), as the paper's ReLU experiments need.
- the size limit: Gurobi's pip licence refuses models over 2000 variables or rows. `Model.optimize` is wrapped:
  when Gurobi refuses, the model LiPopt built is written as MPS (`--mps`) and the parent solves that LP with
  another solver (it reports which). LiPopt's code is not changed.

    python lipopt_child.py --lipopt REPO --weights net.h5 --lower=a,b,.. --upper=a,b,.. --mps out.mps

Prints one JSON line: upper (LiPopt's LP bound, when Gurobi solved it), the LP's size, build and solve times.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


class ReLU:
    """The activation interface of LiPopt's old_code (`__call__` and `derivative`, both elementwise)."""

    monotone_incr = True
    d_monotone_incr = True

    def __call__(self, x):
        import numpy as np
        return np.maximum(x, 0.0)

    def derivative(self, x):
        import numpy as np
        return (np.asarray(x) > 0) * 1.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lipopt", required=True, help="the extracted repository (its old_code package)")
    ap.add_argument("--weights", required=True)
    ap.add_argument("--lower", required=True)
    ap.add_argument("--upper", required=True)
    ap.add_argument("--mps", required=True, help="where the LP goes when Gurobi's licence refuses it")
    args = ap.parse_args()

    import h5py
    import numpy as np

    with h5py.File(args.weights, "r") as f:
        keys = sorted(f["layers"], key=int)
        ws = [np.asarray(f["layers"][k]["weight"], dtype=np.float64) for k in keys]
        bs = [np.asarray(f["layers"][k]["bias"], dtype=np.float64) for k in keys]
    lo = np.array([float(v) for v in args.lower.split(",")])
    hi = np.array([float(v) for v in args.upper.split(",")])
    out: dict = {"layers": [w.shape[1] for w in ws] + [ws[-1].shape[0]]}
    if ws[-1].shape[0] != 1:
        print(json.dumps({**out, "status": "not applicable", "why": "LiPopt bounds one-output networks"}))
        return

    t0 = time.perf_counter()
    sys.path.insert(0, args.lipopt)
    import gurobipy as gp
    import old_code as po  # the paper's code

    refused: dict = {}
    original = gp.Model.optimize

    def optimize(model, *a, **kw):
        try:
            return original(model, *a, **kw)
        except gp.GurobiError as exc:  # the pip licence's size limit
            model.write(args.mps)
            refused.update(error=str(exc), vars=model.NumVars, constrs=model.NumConstrs)

    gp.Model.optimize = optimize
    t_import = time.perf_counter()
    # its box propagation adds the bias as a column (shape (n, 1))
    fc = po.FullyConnected(ws, [b[:, None] for b in bs], activation=ReLU())
    f = fc.grad_poly
    g, lb, ub = fc.new_krivine_constr(p=1, lb=lo, ub=hi)
    m, solve_time = po.KrivineOptimizer.new_maximize_serial(f, g, lb=lb, ub=ub, deg=len(ws),
                                                            start_indices=fc.start_indices, solver="gurobi")
    total = time.perf_counter() - t_import
    out.update(degree=len(ws), vars=m.NumVars, constrs=m.NumConstrs, import_time=t_import - t0,
               time=total, solve_time=solve_time, build_time=total - solve_time)
    if refused:
        out.update(status="lp written (beyond the Gurobi pip licence)", mps=args.mps, gurobi_error=refused["error"])
    elif m.Status == gp.GRB.OPTIMAL:
        out.update(status="finished", upper=float(m.ObjVal), solver="gurobi")
    else:
        out.update(status=f"gurobi status {m.Status}")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
