"""Calibration of `--mode auto` (issue 20, item 1): both modes solved on a selection of the library's networks.

    python benchmarks/mode_calibration.py run [--time-limit 30]   # benchmarks/results/mode_calibration.json
    python benchmarks/mode_calibration.py report                  # the Markdown table of mode_calibration.md

Per case (a network of instances/networks/ with a catalog domain and a pair of norms) and per mode (forward,
backward): `lipgen run` as a library call (both problems, SCIP, its recommended parameters, 2 jobs, the time
limit per problem), recording each problem's status and time, the certified bracket and its gap. The report
adds what the generator knows before building (lipgen.formulation.mode.mode_sizes: binaries, products and
big-M sizes per mode), the mode `auto` takes under the rule of lipgen.formulation.mode and the old rule
(backward when outputs < inputs), and which mode proved first.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lipgen import pipeline  # noqa: E402
from lipgen.bounds import compute_bounds, stabilities  # noqa: E402
from lipgen.domain import Box  # noqa: E402
from lipgen.io import load  # noqa: E402
from lipgen.network import Network  # noqa: E402
from lipgen.solvers import SolveOptions  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "mode_calibration.json"
NETS = ROOT / "instances" / "networks"

# (network, domain label: `file` = the box stored in the file, else a catalog ball, input norm, output norm)
CASES = [
    ("digits-64-32-32-10", "test1-r0.05", "inf", "inf"),  # the datapoint
    ("digits-64-32-32-10", "test0-r0.01", "inf", "inf"),
    ("digits-64-32-10", "test2-r0.1", "inf", "inf"),
    ("digits-64-16-10", "test1-r0.05", "1", "1"),
    ("digits-64-16-10", "file", "inf", "inf"),
    ("wine-13-32-16-3", "file", "inf", "inf"),
    ("wine-13-32-16-3", "test2-r0.1", "1", "1"),
    ("iris-4-10-10-10-3", "file", "inf", "inf"),
    ("iris-4-16-16-3", "file", "1", "1"),
    ("cancer-30-32-16-1", "file", "inf", "inf"),
    ("cancer-30-32-16-1", "test2-r0.1", "1", "1"),
    ("lipmip-width20", "file", "inf", "inf"),
    ("lipmip-depth4", "file", "1", "1"),
    ("lipmip-width40", "file", "inf", "inf"),
    ("lipbab-10-20-15-10-3", "file", "inf", "inf"),
    ("lipbab-10-30-30-30-3", "file", "1", "1"),
    ("lipbab-4-5-5-3", "file", "2", "2"),
    ("random-10-64-64-1", "file", "inf", "inf"),  # the random net, [0, 1]^10
    ("random-64-128-10", "file", "inf", "inf"),  # a wide layer: 64 inputs, [0, 1]^64 ball of radius 0.05
]
# built here (seeded, PyTorch's default initialisation): the catalog's wide nets are not committed
RANDOM = {"random-10-64-64-1": ((10, 64, 64, 1), 1), "random-64-128-10": ((64, 128, 10), 2)}
MODES = ("forward", "backward")
GAP_MARGIN = 0.05  # gaps at the limit closer than this (absolute) are a tie


def random_net(name: str) -> tuple[Network, Box]:
    widths, seed = RANDOM[name]
    rng = np.random.default_rng(seed)
    ws, bs = [], []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        bound = 1 / np.sqrt(n_in)
        ws.append(rng.uniform(-bound, bound, size=(n_out, n_in)))
        bs.append(rng.uniform(-bound, bound, size=n_out))
    net = Network(ws, bs, name=name)
    if widths[0] == 10:
        return net, Box(np.zeros(10), np.ones(10), "box")
    centre = rng.uniform(0.0, 1.0, size=widths[0])
    return net, Box(np.clip(centre - 0.05, 0, 1), np.clip(centre + 0.05, 0, 1), "ball")


def case_box(name: str, label: str):
    if name in RANDOM:
        return random_net(name)
    net = load(NETS / f"{name}.h5")
    if label == "file":
        return net, Box(net.domain_lower, net.domain_upper, "network")
    catalog = {n["name"]: n for n in json.loads((NETS / "catalog.json").read_text())["networks"]}
    ball = next(b for b in catalog[name]["balls"] if b["label"] == label)
    return net, Box(np.array(ball["lower"]), np.array(ball["upper"]), "ball")


def solve_case(name: str, label: str, alpha: str, beta: str, mode: str, time_limit: float) -> dict:
    net, box = case_box(name, label)
    work = Path(tempfile.mkdtemp(prefix="modecal-"))
    try:
        start = time.perf_counter()
        s = pipeline.run(net, box, alpha=alpha, beta=beta, solver="scip", opts=SolveOptions(time_limit=time_limit),
                         jobs=2, workdir=work, generate_options={"mode": mode})
        wall = time.perf_counter() - start
        d = s.data
        stats = {k: g["statistics"] for k, g in
                 ((json.loads(p.read_text())["bound"], json.loads(p.read_text()))
                  for p in (work / "instances").glob("*.json") if p.name != "manifest.json")}
        return {"status": s.status, "upper": d.get("upper_mip"), "best_lower": d.get("best_lower"),
                "gap": d.get("gap"), "wall": wall, "mode": d.get("mode"),
                "problems": {k: {"status": v["status"], "time": v["time"], "wall_time": v["wall_time"]}
                             for k, v in d["problems"].items()},
                "statistics": stats}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(time_limit: float) -> None:
    done = json.loads(OUT.read_text()) if OUT.exists() else {}
    for name, label, alpha, beta in CASES:
        for mode in MODES:
            key = f"{name}|{label}|{alpha}|{beta}|{mode}"
            if key in done:
                continue
            done[key] = solve_case(name, label, alpha, beta, mode, time_limit)
            print(key, done[key]["status"], f"{done[key]['wall']:.1f} s", done[key]["gap"], flush=True)
            OUT.parent.mkdir(exist_ok=True)
            OUT.write_text(json.dumps(done, indent=1))


def proved(r: dict) -> bool:
    return all(p["status"] == "optimal" for p in r["problems"].values())


def effort(r: dict) -> float:
    """Seconds until both problems ended (they run side by side); the limit when one did not prove."""
    return max(p["wall_time"] or 0.0 for p in r["problems"].values())


def report() -> str:
    from lipgen.formulation.mode import choose_mode, mode_sizes

    done = json.loads(OUT.read_text())
    lines = ["| network | domain | norms | unstable | binaries fwd / bwd | products fwd / bwd | old rule | new rule | "
             "forward: s (gap) | backward: s (gap) | better |",
             "| --- | --- | --- | ---: | ---: | ---: | --- | --- | ---: | ---: | --- |"]
    agree_old = agree_new = counted = 0
    for name, label, alpha, beta in CASES:
        rs = {m: done.get(f"{name}|{label}|{alpha}|{beta}|{m}") for m in MODES}
        if any(r is None for r in rs.values()):
            continue
        net, box = case_box(name, label)
        stab = stabilities(net, compute_bounds(net, box.lower, box.upper, "linear"))
        sizes = mode_sizes(net, stab, alpha, beta)
        new, _ = choose_mode(net, stab, alpha, beta)
        old = "backward" if (net.n_outputs < net.n_inputs or net.n_outputs == 1) and not (
            alpha == "2" and (net.n_outputs == 1 or beta != "2")) else "forward"

        def cell(r):
            gap = "-" if r["gap"] is None else f"{100 * r['gap']:.2g}%"
            return f"{effort(r):.1f}{'' if proved(r) else ' (limit)'} ({gap})"

        f, b = rs["forward"], rs["backward"]
        ef, eb = (effort(r) if proved(r) else np.inf for r in (f, b))
        if ef == eb == np.inf:  # both at the limit: a gap smaller by GAP_MARGIN or more
            gf, gb = (r["gap"] if r["gap"] is not None else 1.0 for r in (f, b))
            better = "forward" if gf < gb - GAP_MARGIN else "backward" if gb < gf - GAP_MARGIN else "tie"
        else:
            better = "forward" if ef < 0.8 * eb else "backward" if eb < 0.8 * ef else "tie"
        if better != "tie":
            counted += 1
            agree_old += old == better
            agree_new += new == better
        lines.append(f"| {name} | {label} | L{alpha}to{beta} | {sizes['unstable']} | "
                     f"{sizes['forward']['binaries']} / {sizes['backward']['binaries']} | "
                     f"{sizes['forward']['products']} / {sizes['backward']['products']} | {old} | {new} | "
                     f"{cell(f)} | {cell(b)} | {better} |")
    lines += ["", f"Cases with a clear winner (times 0.8x apart, or a gap {GAP_MARGIN:.0%} smaller at the limit): {counted}; the old "
                  f"rule picks the winner in {agree_old}, the new rule in {agree_new}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("run", "report"))
    ap.add_argument("--time-limit", type=float, default=30.0)
    args = ap.parse_args()
    if args.what == "run":
        run(args.time_limit)
    else:
        print(report())


if __name__ == "__main__":
    main()
