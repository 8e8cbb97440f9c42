"""HiGHS against SCIP, the two free solvers, on MILP instances (l1 and l-inf norms): the rule behind --solver auto.

Usage: python benchmarks/highs_vs_scip.py [--time-limit 60] [--out DIR]   (prints a Markdown table; see
HIGHS_VS_SCIP.md). Random networks in the shapes of issue 8 (box [-1, 1]^n, one output), the upper-bound
problem, default generation (mode auto, bounds linear), one thread, one run at a time, gap 1e-6, and what
`lipgen solve` does by default: a MIP start from the certified point, the sidecar's recommended parameters
(`--no-warm-start` and `--solver-defaults` to leave them out).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path

import numpy as np

from lipgen.domain import Box
from lipgen.instance import generate
from lipgen.network import Network
from lipgen.instance import find_instances
from lipgen.run.batch import solve_all
from lipgen.solvers import SolveOptions

SHAPES = [(2, [16, 16], 1), (3, [16, 16], 1), (5, [16, 16], 1), (4, [12, 12], 1), (10, [32, 32], 1)]
NORMS = ("inf", "1")
SOLVERS = ("highs", "scip")


def network(n_in: int, hidden: list[int], n_out: int, seed: int) -> Network:
    rng = np.random.default_rng(seed)
    dims = [n_in] + hidden + [n_out]
    ws = [rng.normal(size=(dims[k + 1], dims[k])) / np.sqrt(dims[k]) for k in range(len(dims) - 1)]
    bs = [rng.normal(scale=0.5, size=dims[k + 1]) for k in range(len(dims) - 1)]
    return Network(ws, bs, name="-".join(map(str, dims)))


def fmt(value, digits=4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--no-warm-start", action="store_true")
    ap.add_argument("--solver-defaults", action="store_true")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="highs-vs-scip-"))
    opts = SolveOptions(time_limit=args.time_limit, threads=1, gap=1e-6)
    print(f"<!-- {platform.node()}, {platform.processor() or platform.machine()}, time limit {args.time_limit:g} s, "
          f"warm start {not args.no_warm_start}, solver defaults {args.solver_defaults} -->")
    print("| network | norm | binaries | solver | status | time (s) | nodes | upper bound | gap |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for seed, (n_in, hidden, n_out) in enumerate(SHAPES):
        net = network(n_in, hidden, n_out, seed)
        for norm in NORMS:
            folder = out / f"{net.name}-{norm}"
            written = generate(net, Box(-np.ones(n_in), np.ones(n_in)), folder / "inst", alpha=norm, beta=norm,
                               bounds=("upper",))
            binaries = written[0].sidecar["statistics"]["binary"]
            for solver in SOLVERS:
                r = solve_all(find_instances([folder / "inst"]), solver, folder / "runs", opts,
                              warm_start=not args.no_warm_start, solver_defaults=args.solver_defaults)[0]
                q = r.get("lipschitz") or {}
                print(f"| {net.name} | {norm} | {binaries} | {solver} | {r['status']} | {fmt(r.get('wall_time'), 3)} | "
                      f"{r.get('nodes', '-')} | {fmt(q.get('upper'), 6)} | {fmt(r.get('gap'), 3)} |", flush=True)


if __name__ == "__main__":
    main()
