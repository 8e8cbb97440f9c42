"""The solver-free split core (lipgen/split, issue 21) on the library's trained networks and catalog balls.

    python benchmarks/split_core.py [--cases digits-64-16-10:test0-r0.01:2:2 ...] [--time 60] [--nodes 5000]
        [--exact-max 12] [--bounds linear|obbt|interval] [--branching auto|input|phase]

Each case is NETWORK:BALL:ALPHA:BETA (BALL a label of instances/networks/catalog.json). Prints one JSON line per
case: certified lower and upper, gap, status, tree counts and seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lipgen.bounds import compute_bounds, stabilities  # noqa: E402
from lipgen.domain import Box  # noqa: E402
from lipgen.split import split  # noqa: E402
from lipgen.io import load  # noqa: E402

DEFAULT = ["digits-64-16-10:test0-r0.01:2:2", "digits-64-16-10:test0-r0.01:inf:1",
           "digits-64-32-32-10:test0-r0.05:2:2"]


def ball(network: str, label: str) -> Box:
    catalog = json.loads((ROOT / "instances/networks/catalog.json").read_text())
    entry = next(e for e in catalog["networks"] if e["name"] == network)
    b = next(b for b in entry["balls"] if b["label"] == label)
    return Box(np.array(b["lower"]), np.array(b["upper"]), kind="ball")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", nargs="*", default=DEFAULT)
    ap.add_argument("--time", type=float, default=60.0)
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--exact-max", type=int, default=12)
    ap.add_argument("--bounds", default="linear", help="the nodes' bounds: interval, linear or obbt (with the "
                                                        "node's phases)")
    ap.add_argument("--branching", default="auto")
    args = ap.parse_args()
    for case in args.cases:
        name, label, alpha, beta = case.split(":")
        net = load(ROOT / "instances/networks" / f"{name}.h5")
        box = ball(name, label)
        unstable = sum(int(s.unstable.sum()) for s in stabilities(net, compute_bounds(net, box.lower, box.upper)))
        r = split(net, box, alpha, beta, node_budget=args.nodes, time_budget=args.time, exact_max=args.exact_max,
                  bounds=args.bounds, branching=args.branching)
        out = {"case": case, "bounds": args.bounds, "unstable": unstable, **r.to_dict()}
        out.pop("lower_point")
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
