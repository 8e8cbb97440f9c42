"""Is the l1 problem faster split into the vertices of the l1 ball? A measurement for issue 20's LipMIP target.

With the l1 input norm, L = max_i max_x ||J(x) (+-e_i)||: the ball's extreme points are +-e_i and the norm of
J(x) v is convex in v. Fixing v to one vertex makes the first layer's products y_1 = s_1 * t_1 products of a
binary and a known number, which the big-M rows then state exactly. This script takes lipgen's forward upper
problem as `lipgen generate` writes it and solves, with the bundled SCIP (pyscipopt, lipgen's parameters, one
thread):

- `backward`: the backward upper problem (what `--mode auto` took for l1 inputs before 2026-12-08);
- `single`: the forward instance as written (v free in the l1 ball);
- `pieces`: 2 n_0 copies with v fixed to +-e_i by its bounds, each solved to optimality; L = the largest optimum;
- `pieces+limit`: the same pieces, largest Jacobian column bound first, each with SCIP's objective limit set to
  the best optimum so far (a piece that cannot beat it ends `infeasible`), and pieces whose column bound is
  already below it skipped.

No certificate is computed here: the point is the solver time. The three values must agree.

    python benchmarks/l1_vertex_split.py          # -> benchmarks/results/l1_vertex_split.json and a table
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "instances"))

from default_targets import LIPMIP_CASES  # noqa: E402
from solve_speed import ladder_networks  # noqa: E402

RESULTS = HERE / "results" / "l1_vertex_split.json"
WORK = Path("/tmp/l1_vertex_split")
LIMIT = 120.0


def model(mps: Path, sidecar: dict):
    from pyscipopt import Model
    m = Model()
    m.hideOutput()
    m.readProblem(str(mps))
    for k, v in sidecar["solvers"]["scip"]["params"].items():
        m.setParam(k, v)
    m.setParam("limits/time", LIMIT)
    m.setParam("limits/gap", 1e-6)
    m.setParam("parallel/maxnthreads", 1)
    return m


def fix_vertex(m, n: int, i: int, sign: int) -> None:
    vars_ = {v.name: v for v in m.getVars()}
    for j in range(n):
        for name, val in ((f"v_{j}", sign * (j == i)), (f"vp_{j}", float(j == i and sign > 0)),
                          (f"vm_{j}", float(j == i and sign < 0))):
            m.chgVarLb(vars_[name], float(val))
            m.chgVarUb(vars_[name], float(val))


def solve(m, objlimit: float | None = None) -> dict:
    if objlimit is not None:
        m.setObjlimit(objlimit)
    t = time.perf_counter()
    m.optimize()
    return {"status": m.getStatus(), "time": time.perf_counter() - t, "nodes": m.getNNodes(),
            "obj": m.getObjVal() if m.getNSols() else None}


def column_bounds(h5: Path) -> np.ndarray:
    """Per vertex (i, +) and (i, -): an upper bound of max_x +-(J e_i) for one output (the Jacobian entry bounds)."""
    from lipgen.bounds import compute_bounds, stabilities
    from lipgen.bounds.jacobian import anchor_bounds
    from lipgen.io import load
    net = load(h5)
    lo, hi = -np.ones(net.n_inputs), np.ones(net.n_inputs)
    jb = anchor_bounds(net, stabilities(net, compute_bounds(net, lo, hi, "linear"))).jacobian
    return np.stack([jb.upper[0], -jb.lower[0]], axis=1)


def written(name: str, h5: Path, mode: str) -> tuple[Path, dict]:
    folder = WORK / f"{name}-{mode}"
    if folder.exists():
        shutil.rmtree(folder)
    subprocess.run(["lipgen", "generate", str(h5), "--box", "-1,1", "--norm", "1", "--bound", "upper", "--mode",
                    mode, "-o", str(folder)], check=True, capture_output=True)
    mps = next(folder.glob("*.mps"))
    return mps, json.loads(mps.with_suffix(".json").read_text())


def case(name: str, h5: Path) -> dict:
    bmps, bside = written(name, h5, "backward")
    backward = solve(model(bmps, bside))
    backward["L"] = bside["scaling"]["objective_scale"] * -backward["obj"] if backward["obj"] is not None else None
    mps, sidecar = written(name, h5, "forward")
    n, scale = len(sidecar["input_vars"]), sidecar["scaling"]["objective_scale"]
    out: dict = {"case": name, "inputs": n, "backward": backward, "single": solve(model(mps, sidecar))}
    pieces = []
    for i in range(n):
        for sign in (1, -1):
            m = model(mps, sidecar)
            fix_vertex(m, n, i, sign)
            pieces.append(dict(vertex=[i, sign], **solve(m)))
    out["pieces"] = pieces
    bounds = column_bounds(h5)
    order = sorted(((i, s) for i in range(n) for s in (1, -1)), key=lambda p: -bounds[p[0], 0 if p[1] > 0 else 1])
    best, limited = None, []
    for i, sign in order:
        b = float(bounds[i, 0 if sign > 0 else 1])
        if best is not None and b <= scale * -best:
            limited.append({"vertex": [i, sign], "status": "skipped (column bound below the best)", "time": 0.0,
                            "nodes": 0, "obj": None})
            continue
        m = model(mps, sidecar)
        fix_vertex(m, n, i, sign)
        r = solve(m, best)
        limited.append(dict(vertex=[i, sign], **r))
        if r["obj"] is not None and (best is None or r["obj"] < best):
            best = r["obj"]
    out["pieces_limit"] = limited
    out["single"]["L"] = scale * -out["single"]["obj"] if out["single"]["obj"] is not None else None
    out["pieces_L"] = scale * -min(p["obj"] for p in pieces if p["obj"] is not None)
    out["pieces_limit_L"] = scale * -best if best is not None else None
    return out


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    nets = {name: h5 for _, name, _, _, h5, _ in ladder_networks(WORK)}
    rows = []
    for _, name in LIPMIP_CASES:
        r = case(name, nets[name])
        rows.append(r)
        print(json.dumps({k: r[k] for k in ("case", "single", "pieces_L", "pieces_limit_L")}), flush=True)
    RESULTS.write_text(json.dumps(rows, indent=1))
    print("\n| network (l1, [-1,1]^n) | L (each way) | backward MIP s (nodes) | forward MIP s (nodes) | 2n pieces s "
          "| pieces, best first, objective limit s |")
    print("| --- | --- | --- | --- | --- | --- |")
    tot = [0.0, 0.0, 0.0, 0.0]
    for r in rows:
        t = [r["backward"]["time"], r["single"]["time"], sum(p["time"] for p in r["pieces"]),
             sum(p["time"] for p in r["pieces_limit"])]
        tot = [a + b for a, b in zip(tot, t)]
        values = " / ".join(f"{v:.6g}" for v in (r["backward"]["L"], r["single"]["L"], r["pieces_L"], r["pieces_limit_L"]))
        print(f"| {r['case']} | {values} | {t[0]:.2f} ({r['backward']['nodes']}) | {t[1]:.2f} ({r['single']['nodes']}) "
              f"| {t[2]:.2f} | {t[3]:.2f} |")
    print(f"| total | | {tot[0]:.1f} | {tot[1]:.1f} | {tot[2]:.1f} | {tot[3]:.1f} |")


if __name__ == "__main__":
    main()
