"""Jacobian bounds inside the MIP (issue 20, item 2 b and c): big-M sizes and solve times with and without.

    python benchmarks/jacobian_in_formulation.py run      # ~20 min; benchmarks/results/jacobian_in_formulation.json
    python benchmarks/jacobian_in_formulation.py run digits on   # again: one network's cases, one setting
    python benchmarks/jacobian_in_formulation.py report   # the Markdown table

Each case is solved by `lipgen run ... --time-limit 60 --json` (bundled SCIP, both problems at once) per mode,
with `--jacobian-bounds` (the default) and `--no-jacobian-bounds`. The big-Ms are those of the derivative
products (y = s t forward, q = s r backward) in the network's units: max(|p|, |q|) of each unstable neuron's
derivative bounds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from lipgen.bounds import compute_bounds, stabilities
from lipgen.domain import Box
from lipgen.formulation import Spec, prepare
from lipgen.io import load

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "jacobian_in_formulation.json"
WORK = Path("/tmp/lipgen-jacobian-in-formulation")
LIMIT = 60
# (network, domain label, norm): the catalog's balls by label, `data` the file's box, `unit` [0, 1]^n
CASES = [("digits-64-32-32-10", "test1-r0.05", "inf"), ("digits-64-32-32-10", "unit", "inf"),
         ("wine-13-32-16-3", "data", "inf"), ("cancer-30-32-16-1", "test2-r0.1", "inf"),
         ("iris-4-16-16-3", "data", "2")]


def box_of(name: str, label: str) -> Box:
    net = load(ROOT / "instances" / "networks" / f"{name}.h5")
    if label == "unit":
        return Box(np.zeros(net.n_inputs), np.ones(net.n_inputs))
    if label == "data":
        return Box(net.domain_lower, net.domain_upper)
    catalog = json.loads((ROOT / "instances" / "networks" / "catalog.json").read_text())["networks"]
    ball = next(b for n in catalog if n["name"] == name for b in n["balls"] if b["label"] == label)
    return Box(np.array(ball["lower"]), np.array(ball["upper"]))


def big_ms(name: str, box: Box, norm: str, mode: str, jacobian: bool) -> np.ndarray:
    net = load(ROOT / "instances" / "networks" / f"{name}.h5")
    lb = compute_bounds(net, box.lower, box.upper, "linear")
    plan = prepare(net, box.lower, box.upper, Spec(alpha=norm, beta=norm, mode=mode), bounds=lb,
                   stability=stabilities(net, lb), estimate=1.0, jacobian=jacobian)
    out = []
    if mode == "forward":
        for L, d in zip(plan.hidden, plan.derivative):
            pos = np.searchsorted(L.keep, L.unstable)
            out.append(np.maximum(np.abs(d.tlo[pos]), np.abs(d.thi[pos])))
    else:
        for depth, c in enumerate(plan.covector[:-1]):
            L = plan.hidden[len(plan.hidden) - 1 - depth]
            pos = np.searchsorted(L.keep, L.unstable)
            out.append(np.maximum(np.abs(c.rlo[pos]), np.abs(c.rhi[pos])))
    return np.concatenate(out) if out else np.zeros(0)


def run_case(name: str, label: str, norm: str, mode: str, jacobian: bool) -> dict:
    box = box_of(name, label)
    work = WORK / f"{name}-{label}-{norm}-{mode}-{'jac' if jacobian else 'nojac'}"
    boxfile = WORK / f"{name}-{label}.npz"
    boxfile.parent.mkdir(parents=True, exist_ok=True)
    np.savez(boxfile, lower=box.lower, upper=box.upper)
    cmd = ["lipgen", "run", str(ROOT / "instances" / "networks" / f"{name}.h5"), "--norm", norm, "--box-file",
           str(boxfile), "--mode", mode, "--time-limit", str(LIMIT), "-o", str(work), "--force", "--json",
           "--jacobian-bounds" if jacobian else "--no-jacobian-bounds"]
    start = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    s = json.loads(r.stdout)
    m = big_ms(name, box, norm, mode, jacobian)
    up = next(json.loads(p.read_text()) for p in (work / "instances").glob("*upper*.json"))
    return {"network": name, "domain": label, "norm": norm, "mode": mode, "jacobian": jacobian, "wall": wall,
            "status": s["status"], "upper": s["upper"], "upper_mip": s.get("upper_mip"), "lower": s["best_lower"],
            "naive": s["naive_upper"], "gap": s["gap"],
            "time_upper": s["problems"]["upper"]["time"], "time_lower": s["problems"]["lower"]["time"],
            "status_upper": s["problems"]["upper"]["status"], "status_lower": s["problems"]["lower"]["status"],
            "bigm_max": float(m.max()) if m.size else 0.0, "bigm_median": float(np.median(m)) if m.size else 0.0,
            "unstable": int(m.size),
            "jacobian_bound": (up.get("formulation", {}).get("jacobian_bounds") or {}).get("objective_bound")}


def key(r: dict) -> tuple:
    return r["network"], r["domain"], r["norm"], r["mode"], r["jacobian"]


def run(only: str = "", setting: str = "") -> None:
    """Every case (or those whose network starts with `only`, with `on`/`off` only), merged into the results."""
    rows = {key(r): r for r in json.loads(OUT.read_text())} if only and OUT.exists() else {}
    for name, label, norm in CASES:
        if not name.startswith(only):
            continue
        for mode in ("forward", "backward"):
            for jacobian in (False, True):
                if setting and setting != ("on" if jacobian else "off"):
                    continue
                r = run_case(name, label, norm, mode, jacobian)
                rows[key(r)] = r
                print(json.dumps(r), flush=True)
                OUT.parent.mkdir(parents=True, exist_ok=True)
                OUT.write_text(json.dumps(sorted(rows.values(), key=order), indent=1))


def order(r: dict) -> tuple:
    case = next(i for i, c in enumerate(CASES) if c == (r["network"], r["domain"], r["norm"]))
    return case, r["mode"] != "forward", r["jacobian"]


def fmt(x, digits: int = 5) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


def report() -> None:
    rows = json.loads(OUT.read_text())
    print("| network | domain | norm | mode | Jacobian bounds | unstable | big-M max | big-M median | Jacobian bound "
          "| upper (MIP) | lower | status | upper s | lower s | wall s |")
    print("| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['network']} | {r['domain']} | {r['norm']} | {r['mode']} | {'on' if r['jacobian'] else 'off'} "
              f"| {r['unstable']} | {fmt(r['bigm_max'])} | {fmt(r['bigm_median'])} | {fmt(r['jacobian_bound'])} "
              f"| {fmt(r['upper_mip'])} | {fmt(r['lower'])} | {r['status_upper']} / {r['status_lower']} "
              f"| {r['time_upper']:.1f} | {r['time_lower']:.1f} | {r['wall']:.1f} |")


if __name__ == "__main__":
    {"run": run, "report": report}[sys.argv[1]](*sys.argv[2:])
