"""The l-inf -> l2 norm of one region's Jacobian (lipgen/bounds/inf_to_2.py) against what a user would pick: the same
SDP (min sum d s.t. [[Diag d, A^T], [A, I]] PSD) solved by Clarabel, and the row-norm bound lipgen had before.

    python benchmarks/inf_to_2_speed.py [--points 3] > benchmarks/inf_to_2_speed_tables.md

Matrices: the Jacobians of the trained digits nets (10 x 64) at the centre of each catalog ball and at seeded random
points of [0, 1]^64. Columns: the lower estimate (alternating signs), the SDP bound by lipgen's barrier and by
Clarabel (each certified the same way: lipgen's float64 evaluation of the weights d each returns), the branch and
bound's certified upper bound and nodes, the row-norm bound, times in ms (one process, one thread).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import clarabel
import numpy as np
from scipy import sparse

from lipgen.bounds.inf_to_2 import _certified, inf_to_2_exact, inf_to_2_upper
from lipgen.io import load
from lipgen.network import inf_to_2_by_signs, operator_norm_upper
from lipgen.split.exact import LEAF_NODES

ROOT = Path(__file__).resolve().parent.parent
NETS = ["digits-64-16-10", "digits-64-32-10", "digits-64-32-32-10"]


def clarabel_weights(a: np.ndarray) -> np.ndarray:
    """d from Clarabel: min sum d s.t. [[Diag d, A^T], [A, I]] PSD (the upper triangle, column by column)."""
    r, n = a.shape
    dim = n + r
    m0 = np.zeros((dim, dim))
    m0[n:, :n], m0[:n, n:], m0[n:, n:] = a, a.T, np.eye(r)
    bi, bj = np.triu_indices(dim)
    b = np.zeros(dim * (dim + 1) // 2)
    b[bj * (bj + 1) // 2 + bi] = m0[bi, bj] * np.where(bi == bj, 1.0, np.sqrt(2.0))
    diag = np.arange(n) * (np.arange(n) + 1) // 2 + np.arange(n)
    a_mat = sparse.csc_matrix((-np.ones(n), (diag, np.arange(n))), shape=(len(b), n))
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    sol = clarabel.DefaultSolver(sparse.csc_matrix((n, n)), np.ones(n), a_mat, b, [clarabel.PSDTriangleConeT(dim)],
                                 settings).solve()
    return np.maximum(np.asarray(sol.x, dtype=np.float64), 1e-300)


def jacobians(points: int):
    cat = {e["name"]: e for e in json.loads((ROOT / "instances/networks/catalog.json").read_text())["networks"]}
    for name in NETS:
        net = load(ROOT / "instances/networks" / f"{name}.h5")
        rng = np.random.default_rng(0)
        xs = [("ball " + b["label"], (np.asarray(b["lower"]) + np.asarray(b["upper"])) / 2) for b in cat[name]["balls"]]
        xs += [(f"random {k}", rng.random(net.n_inputs)) for k in range(points)]
        for label, x in xs:
            zs = net.preactivations(x[None])
            yield name, label, net.pattern_jacobians([(z > 0) for z in zs[:-1]])[0]


def timed(f):
    t0 = time.perf_counter()
    out = f()
    return out, 1000 * (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=3)
    args = ap.parse_args()
    print("| net | point | lower (signs) | SDP, lipgen | ms | SDP, Clarabel | ms | branch and bound | nodes | ms | "
          "row-norm bound |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ratios = []
    for name, label, j in jacobians(args.points):
        low = inf_to_2_by_signs(j)[0]
        ours, t_ours = timed(lambda: inf_to_2_upper(j))  # noqa: B023 (called at once)
        scale = -int(np.frexp(np.max(np.abs(j)))[1])
        d, t_cl = timed(lambda: clarabel_weights(np.ldexp(j, scale)))  # noqa: B023
        theirs = float(np.ldexp(_certified(np.ldexp(j, scale), d), -scale))
        bb, t_bb = timed(lambda: inf_to_2_exact(j, max_nodes=LEAF_NODES))  # noqa: B023 (the tree's budget)
        ratios.append(t_cl / t_ours)
        print(f"| {name} | {label} | {low:.6f} | {ours:.6f} | {t_ours:.1f} | {theirs:.6f} | {t_cl:.1f} | "
              f"{bb.upper:.6f}{'' if bb.closed else ' (open)'} | {bb.nodes} | {t_bb:.0f} | "
              f"{operator_norm_upper(j, 'inf', '2'):.4f} |")
    print(f"\nClarabel time / lipgen barrier time: geometric mean {np.exp(np.mean(np.log(ratios))):.1f} over "
          f"{len(ratios)} matrices (min {min(ratios):.1f}, max {max(ratios):.1f}).")


if __name__ == "__main__":
    main()
