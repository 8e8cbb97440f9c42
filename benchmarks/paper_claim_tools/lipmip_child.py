"""Run LipMIP (revbucket/lipMIP, unmodified) on one network of lipgen's HDF5 format; print one JSON line.

Not part of lipgen: paper_claim.py starts it with the LipMIP venv's Python (torch CPU, gurobipy) and an
extracted copy of the repository outside lipgen (benchmarks/lipmip_child.py does the same for solve_speed.py;
this one adds several outputs and a given box).

LipMIP maximises ||J(x)^T c||_dual over the box, with primal (input) norm linf or l1. One output: c = 1.
Several outputs: c = 'l1Ball1' (c in the unit l1 ball), which gives max_i ||J_i||_dual: for primal linf that
is the inf->inf operator norm (lipgen --norm inf), for primal l1 the 1->inf norm (lipgen --input-norm 1
--output-norm inf). Pre-activation bounds: LipMIP's default (naive interval analysis).

    python lipmip_child.py --lipmip DIR --weights net.h5 --norm linf --time-limit 60 [--lower .. --upper ..]
           [--mps out.mps --solve 0]      # build + write only (for SCIP, beyond Gurobi's size limit)
"""

from __future__ import annotations

import argparse
import json
import sys
import time

GUROBI_LIMIT = 2000  # the pip license: at most 2000 variables and 2000 linear constraints


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lipmip", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--norm", choices=("linf", "l1"), required=True)
    ap.add_argument("--lower", default=None)
    ap.add_argument("--upper", default=None)
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--gap", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mps", default=None)
    ap.add_argument("--solve", type=int, default=1, help="0: build (and write) only; 2: solve only if it fits "
                    "the license")
    args = ap.parse_args()
    sys.path.insert(0, args.lipmip)

    import h5py
    import numpy as np
    import torch
    import torch.nn as nn

    torch.set_default_dtype(torch.float64)  # LipMIP builds some tensors (l1Ball1 box) in the default dtype

    from hyperbox import Hyperbox
    from lipMIP import LipMIP
    from relu_nets import ReLUNet

    with h5py.File(args.weights, "r") as f:
        keys = sorted(f["layers"], key=int)
        ws = [np.asarray(f["layers"][k]["weight"], dtype=np.float64) for k in keys]
        bs = [np.asarray(f["layers"][k]["bias"], dtype=np.float64) for k in keys]
        lo = np.asarray(f["domain/lower"], dtype=np.float64)
        hi = np.asarray(f["domain/upper"], dtype=np.float64)
    if args.lower is not None:
        lo = np.array([float(v) for v in args.lower.split(",")])
        hi = np.array([float(v) for v in args.upper.split(",")])
    layers = []
    for k, (w, b) in enumerate(zip(ws, bs)):
        lin = nn.Linear(w.shape[1], w.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if k < len(ws) - 1:
            layers.append(nn.ReLU())
    net = ReLUNet.from_sequential(nn.Sequential(*layers))
    domain = Hyperbox.from_midpoint_radii(torch.from_numpy((lo + hi) / 2), torch.from_numpy((hi - lo) / 2))
    n_out = ws[-1].shape[0]
    c = torch.ones(1, dtype=torch.float64) if n_out == 1 else "l1Ball1"
    prob = LipMIP(net, domain, c, primal_norm=args.norm, verbose=False, num_threads=args.threads,
                  timeout=args.time_limit, mip_gap=args.gap)
    t0 = time.perf_counter()
    squire, _ = prob.build_gurobi_squire()
    build = time.perf_counter() - t0
    model = squire.model
    model.update()
    fits = model.NumVars <= GUROBI_LIMIT and model.NumConstrs <= GUROBI_LIMIT
    out = {"vars": model.NumVars, "constrs": model.NumConstrs, "bin_vars": model.NumBinVars,
           "nonzeros": model.NumNZs, "build_time": build, "c_vector": "1" if n_out == 1 else "l1Ball1",
           "fits_license": fits}
    if args.mps:
        model.write(args.mps)
    if args.solve == 1 or (args.solve == 2 and fits):
        if args.time_limit is not None:
            model.setParam("TimeLimit", args.time_limit)
        model.setParam("MIPGap", args.gap)
        model.setParam("Threads", args.threads)
        t0 = time.perf_counter()
        model.optimize()
        wall = time.perf_counter() - t0
        out.update(status={2: "optimal", 9: "time_limit"}.get(model.Status, f"gurobi status {model.Status}"),
                   time=model.Runtime, wall_time=wall, nodes=model.NodeCount,
                   upper=model.ObjBound, incumbent=model.ObjVal if model.SolCount else None)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
