"""Jacobian bounds (lipgen/bounds/jacobian.py) against the naive bound and the known Lipschitz constants.

    python benchmarks/jacobian_bounds.py run                # benchmarks/results/jacobian_bounds.json
    python benchmarks/jacobian_bounds.py report             # the Markdown tables of jacobian_bounds.md

For every trained network of the library (instances/networks/*.h5 with the catalog's balls, plus the example
instances/moons.h5) and every domain (the file's box, the catalog's l-inf balls), for l-inf and l2: the naive
bound (product of layer norms), the interval and the linear Jacobian bound (both chains from the narrow end,
`sides=auto`, and both chains, `sides=both`), their times, the library's value of L (`=` when solved, `>=`
its best certified lower bound otherwise, from instances/v1/results/lipgen-v1.csv), the library's MIP upper bound
when unsolved, the sampled lower bound, and `branch_and_bound_norm` with 64 bound evaluations.
Pre-activation bounds: `linear` (lipgen's default). The timing section builds a random 784-1024-1024-10
network (PyTorch's default initialisation, seed 402 as the catalog's wide network) on an l-inf ball of radius
0.01 around a random point of [0, 1]^784.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lipgen.bounds import naive_upper_bound  # noqa: E402
from lipgen.lower.sampling import sampled_lower_bound  # noqa: E402
from lipgen.bounds import compute_bounds, stabilities  # noqa: E402
from lipgen.bounds.jacobian import branch_and_bound_norm, jacobian_bounds  # noqa: E402
from lipgen.domain import Box  # noqa: E402
from lipgen.network import Network  # noqa: E402
from lipgen.io import load  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "jacobian_bounds.json"
NORMS = {"inf": "Linf", "2": "L2"}
BAB_BUDGET = 64  # bound evaluations of branch_and_bound_norm


def known_values() -> dict:
    out = {}
    with open(ROOT / "instances" / "v1" / "results" / "lipgen-v1.csv") as f:
        for r in csv.DictReader(f):
            key = (r["network"], r["norms"], r["domain"])
            solved = r["status"] == "solved"
            val = float(r["best_lower"])
            old = out.get(key)
            if old is None or (solved and not old[0]) or (solved == old[0] and val > old[1]):
                out[key] = (solved, val, float(r["upper"]))
    return out


def domains(net: Network, entry: dict | None) -> list[tuple[str, Box]]:
    out = [("data", Box(net.domain_lower, net.domain_upper, "network"))]
    for b in (entry or {}).get("balls", []):
        out.append((b["label"], Box(np.array(b["lower"]), np.array(b["upper"]), "ball")))
    return out


def timed(fn, repeat: int = 3):
    best, value = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t)
    return value, best


def run() -> None:
    catalog = {n["name"]: n for n in json.loads((ROOT / "instances" / "networks" / "catalog.json").read_text())["networks"]}
    known = known_values()
    names = [n for n, e in catalog.items() if e.get("family") == "trained"]
    rows = []
    for name in names + ["moons"]:
        path = ROOT / "instances" / "networks" / f"{name}.h5" if name != "moons" else ROOT / "instances" / "moons.h5"
        net = load(path)
        for label, box in domains(net, catalog.get(name)):
            stab = stabilities(net, compute_bounds(net, box.lower, box.upper, "linear"))
            unstable = int(sum(s.unstable.sum() for s in stab))
            res = {}
            for method in ("interval", "linear"):
                for sides in ("auto", "both"):
                    res[method, sides] = timed(lambda: jacobian_bounds(net, method=method, stability=stab,
                                                                       sides=sides))
            for p, tag in NORMS.items():
                kv = known.get((name, tag, box.tag()))
                sampled = sampled_lower_bound(net, box.lower, box.upper, p, p, n=1000).value
                row = {"network": name, "domain": label, "tag": box.tag(), "norm": p, "unstable": unstable,
                       "naive": naive_upper_bound(net, p, p, stab), "sampled": sampled,
                       "known": None if kv is None else kv[1], "solved": None if kv is None else kv[0],
                       "mip_upper": None if kv is None else kv[2]}
                for (method, sides), (jb, secs) in res.items():
                    row[f"{method}_{sides}"] = jb.norm_upper(p, p)
                    row[f"{method}_{sides}_s"] = secs
                (bab, info), secs = timed(lambda: branch_and_bound_norm(net, p, p, stability=stab,
                                                                         budget=BAB_BUDGET), 1)
                row["bab"], row["bab_s"], row["bab_evaluations"] = bab, secs, info["evaluations"]
                rows.append(row)
                print(json.dumps(row), flush=True)
    wide = wide_timing()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"rows": rows, "wide": wide}, indent=1))


def wide_timing() -> dict:
    rng = np.random.default_rng(402)
    dims = [784, 1024, 1024, 10]
    ws, bs = [], []
    for k in range(3):
        lim = 1 / np.sqrt(dims[k])
        ws.append(rng.uniform(-lim, lim, size=(dims[k + 1], dims[k])))
        bs.append(rng.uniform(-lim, lim, size=dims[k + 1]))
    net = Network(ws, bs, name="random-784-1024-1024-10")
    c = np.random.default_rng(10402).random(784)
    lo, hi = np.clip(c - 0.01, 0, 1), np.clip(c + 0.01, 0, 1)
    t = time.perf_counter()
    stab = stabilities(net, compute_bounds(net, lo, hi, "linear"))
    pre = time.perf_counter() - t
    out = {"unstable": int(sum(s.unstable.sum() for s in stab)), "preactivation_s": pre}
    for p in ("inf", "2"):
        out[f"naive_{p}"] = naive_upper_bound(net, p, p, stab)
    for method, repeat in (("interval", 3), ("linear", 1)):
        jb, secs = timed(lambda: jacobian_bounds(net, method=method, stability=stab), repeat)
        out[f"{method}_s"] = secs
        for p in ("inf", "2"):
            out[f"{method}_{p}"] = jb.norm_upper(p, p)
    jb, secs = timed(lambda: jacobian_bounds(net, method="interval", stability=stab, sides="forward"), 1)
    out["interval_forward_s"] = secs
    print(json.dumps(out), flush=True)
    return out


def fmt(x, digits=4):
    if x is None:
        return "-"
    return f"{x:.{digits}g}"


def report() -> None:
    data = json.loads(OUT.read_text())
    for p in NORMS:
        print(f"\n### {'l-inf' if p == 'inf' else 'l2'} (input and output norm)\n")
        print("| network | domain | unstable | L (library) | MIP upper (library) | sampled | naive | interval | linear "
              "| linear, both chains | linear + BaB | linear / naive | interval ms | linear ms | BaB ms |")
        print("| --- | --- " + "| ---: " * 13 + "|")
        for r in data["rows"]:
            if r["norm"] != p:
                continue
            known = "-" if r["known"] is None else ("= " if r["solved"] else ">= ") + fmt(r["known"], 5)
            best = min(r["linear_auto"], r["linear_both"])
            mip = "-" if r["mip_upper"] is None or r["solved"] else fmt(r["mip_upper"], 5)
            print(f"| {r['network']} | {r['domain']} | {r['unstable']} | {known} | {mip} | {fmt(r['sampled'], 5)} | "
                  f"{fmt(r['naive'], 5)} | {fmt(r['interval_auto'], 5)} | {fmt(r['linear_auto'], 5)} | "
                  f"{fmt(r['linear_both'], 5)} | {fmt(r['bab'], 5)} | {best / r['naive']:.2f} | "
                  f"{1e3 * r['interval_auto_s']:.2f} | {1e3 * r['linear_auto_s']:.1f} | {1e3 * r['bab_s']:.0f} |")
    w = data["wide"]
    print("\n### 784-1024-1024-10 (random, l-inf ball r = 0.01)\n")
    print(json.dumps(w, indent=1))


if __name__ == "__main__":
    {"run": run, "report": report, "wide": wide_timing}[sys.argv[1] if len(sys.argv) > 1 else "run"]()
