"""Run LipMIP (revbucket/lipMIP) on one network of lipgen's HDF5 format and print one JSON line.

Not part of lipgen: `solve_speed.py` starts this script with the Python of a separate environment that has
torch and gurobipy, and a checkout of LipMIP (never copied into this repository). See solve_speed.md.

    python lipmip_child.py --lipmip /tmp/lipMIP --weights net.h5 --norm linf --time-limit 60 [--mps out.mps]

LipMIP maximises ||c^T J(x)||_dual over the box (c = 1 for one output): `--norm linf` is lipgen's
`--input-norm inf`, `l1` its `--input-norm 1`. Its pre-activation and backprop bounds are its default,
interval analysis ('naive_ia'). The model is solved with the given threads, gap and time limit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lipmip", required=True, help="a checkout of revbucket/lipMIP")
    ap.add_argument("--weights", required=True)
    ap.add_argument("--norm", choices=("linf", "l1"), required=True, help="LipMIP's primal (input) norm")
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--gap", type=float, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mps", default=None, help="also write LipMIP's model here (Gurobi's MPS writer)")
    ap.add_argument("--solve", type=int, default=1, help="0: build (and write) only")
    args = ap.parse_args()
    sys.path.insert(0, args.lipmip)

    import h5py
    import numpy as np
    import torch
    import torch.nn as nn

    from hyperbox import Hyperbox
    from lipMIP import LipMIP
    from relu_nets import ReLUNet

    with h5py.File(args.weights, "r") as f:
        keys = sorted(f["layers"], key=int)
        ws = [np.asarray(f["layers"][k]["weight"], dtype=np.float64) for k in keys]
        bs = [np.asarray(f["layers"][k]["bias"], dtype=np.float64) for k in keys]
        lo = np.asarray(f["domain/lower"], dtype=np.float64)
        hi = np.asarray(f["domain/upper"], dtype=np.float64)
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
    c = torch.ones(1, dtype=torch.float64)
    prob = LipMIP(net, domain, c, primal_norm=args.norm, verbose=False, num_threads=args.threads,
                  timeout=args.time_limit, mip_gap=args.gap)
    t0 = time.perf_counter()
    squire, _ = prob.build_gurobi_squire()
    build = time.perf_counter() - t0
    model = squire.model
    model.update()
    out = {"vars": model.NumVars, "constrs": model.NumConstrs, "bin_vars": model.NumBinVars,
           "nonzeros": model.NumNZs, "build_time": build,
           "unstable": sum(len(squire.get_vars(f"relu_{i}")) for i in range(1, net.num_relus + 1))}
    if args.mps:
        model.write(args.mps)
    if args.solve:
        if args.time_limit is not None:
            model.setParam("TimeLimit", args.time_limit)
        if args.gap is not None:
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
