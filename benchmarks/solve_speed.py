"""How fast lipgen's instances solve: encodings, bounds, solvers, settings, and LipMIP side by side (issue 8).

    python benchmarks/solve_speed.py ladder   --lipmip /tmp/lipMIP --lipmip-python /tmp/lipmip-venv/bin/python
    python benchmarks/solve_speed.py settings
    python benchmarks/solve_speed.py report   > benchmarks/solve_speed_tables.md

Every measurement is one solver process, single thread, one at a time, appended as a JSON line to
benchmarks/results/solve_<experiment>.jsonl with the load average and `uptime` taken just before it. A
measurement already in the file is not redone (an interrupted run resumes). Within each instance the
configurations run back to back in an order rotated from one instance to the next (interleaved), so a change
of the machine's load falls on all of them; compare ratios. See solve_speed.md for the setup and results.

Only the upper (non-strict) problem is solved: its optimum is L, and "time to optimality" is its solve time
(relative gap 1e-4, Gurobi's default, for every solver); `prep` is lipgen's generate time (bounds, anchors,
region walk, file), reported apart. LipMIP (revbucket/lipMIP, a checkout outside this repository, run by
lipmip_child.py under its own Python with torch and gurobipy) builds and solves its own Gurobi model; its
model is also written as MPS and solved by the SCIP shell bundled with pyscipopt (`lipgen-scip`).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from lipgen.domain import Box
from lipgen.formulation.spec import Spec, resolve_mode
from lipgen.instance import generate, load_sidecar, sidecar_for
from lipgen.network import Network
from lipgen.results.bounds import combine
from lipgen.run.batch import solve_all
from lipgen.solvers import SolveOptions
from lipgen.io import load, save

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
GAP = 1e-4
GUROBI_LIMIT, GUROBI_QUAD_LIMIT, CPLEX_LIMIT = 2000, 200, 1000  # the pip licenses' size limits

# The ladder: random networks in the literature's shapes (seeded, tests/conftest.py's generator) and the
# shipped trained one. (label, inputs, hidden widths, outputs, seeds, norms as (alpha, beta)).
INF, ONE, TWO = ("inf", "inf"), ("1", "1"), ("2", "2")
LADDER = [
    ("2-16-16-1", 2, [16, 16], 1, (1, 2), (INF, ONE, TWO)),
    ("5-16-16-1", 5, [16, 16], 1, (1, "u1", "u2"), (INF, ONE)),
    ("4-12-12-2", 4, [12, 12], 2, (1,), (INF, ONE)),
    ("4-8-8-8-1", 4, [8, 8, 8], 1, (1,), (INF, ONE)),
    ("2-8-8-8-8-2", 2, [8, 8, 8, 8], 2, (1,), (INF,)),
    ("3-16-16-10", 3, [16, 16], 10, (1,), (INF,)),
    ("10-32-32-1", 10, [32, 32], 1, (1,), (INF,)),
    ("10-64-64-1", 10, [64, 64], 1, (1,), (INF,)),
    ("moons", None, None, None, (0,), (INF, ONE, TWO)),
]


# -- networks ----------------------------------------------------------------------------------------------

def random_network(seed: int, n_in: int, hidden: list[int], n_out: int, name: str, style: str = "r") -> Network:
    """style "r": tests/conftest.py's random_network, N(0, 1/fan-in) weights and N(0, 0.5^2) biases; style "u":
    LipMIP's generator (ReLUNet, torch.nn.Linear's default initialisation), weights and biases uniform in
    +-1/sqrt(fan-in): smaller biases, so hyperplanes pass near the box's centre and more neurons are unstable."""
    rng = np.random.default_rng(seed)
    dims = [n_in] + list(hidden) + [n_out]
    if style == "u":
        lims = [1 / np.sqrt(dims[k]) for k in range(len(dims) - 1)]
        weights = [rng.uniform(-a, a, size=(dims[k + 1], dims[k])) for k, a in enumerate(lims)]
        biases = [rng.uniform(-a, a, size=dims[k + 1]) for k, a in enumerate(lims)]
    else:
        weights = [rng.normal(size=(dims[k + 1], dims[k])) / np.sqrt(dims[k]) for k in range(len(dims) - 1)]
        biases = [rng.normal(scale=0.5, size=dims[k + 1]) for k in range(len(dims) - 1)]
    return Network(weights, biases, name=name)


def ladder_networks(work: Path, only: list[str] | None = None):
    """(label, name, network, box, weights file) for every ladder network, box [-1, 1]^n (moons: its own)."""
    out = []
    for label, n_in, hidden, n_out, seeds, norms in LADDER:
        if only and label not in only:
            continue
        for seed in seeds:
            style, seed = (seed[0], int(seed[1:])) if isinstance(seed, str) else ("r", seed)
            if label == "moons":
                net = load(HERE.parent / "instances" / "moons.h5")
                net = replace(net, name="moons")
                lo, hi = net.domain_lower, net.domain_upper
            else:
                net = random_network(seed, n_in, hidden, n_out, name=f"{style}{label.replace('-', 'x')}s{seed}",
                                     style=style)
                lo, hi = -np.ones(n_in), np.ones(n_in)
            h5 = work / f"{net.name}.h5"
            if not h5.exists():
                save(h5, net, domain_lower=lo, domain_upper=hi)
            out.append((label, net.name, net, Box(lo, hi), h5, norms))
    return out


# -- measurements ------------------------------------------------------------------------------------------

def load_now() -> dict:
    up = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    return {"load1": os.getloadavg()[0], "uptime": up, "at": time.strftime("%Y-%m-%d %H:%M:%S")}


def prepare(net: Network, box: Box, alpha: str, beta: str, mode: str, bounds: str, work: Path,
            encoding: str = "bigm") -> dict:
    """The upper instance of one (network, norms, mode, bounds, encoding), generated once (its generate time kept)."""
    d = work / "inst" / (f"{net.name}__{alpha}-{beta}__{mode}__{bounds}" + ("" if encoding == "bigm" else f"__{encoding}"))
    info = d / "prep.json"
    if info.exists():
        return json.loads(info.read_text())
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    t0 = time.perf_counter()
    written = generate(net, box, d, alpha=alpha, beta=beta, bounds=("upper",), mode=mode, bounds_method=bounds,
                       encoding=encoding)
    prep = time.perf_counter() - t0
    path = written[0].path
    sc = load_sidecar(sidecar_for(path))
    st = sc["statistics"]
    res = {"instance": str(path), "prep_time": prep, "vars": st["variables"], "rows": st["constraints"],
           "binaries": st["binary"], "nonzeros": st["nonzeros"], "problem_class": sc["problem_class"],
           "unstable": sum(layer.count("U") for layer in sc["neurons"]), "mode": sc["mode"],
           "quadratic": st["quadratic_constraints"] + st["quadratic_objective_terms"] > 0}
    info.write_text(json.dumps(res))
    return res


def fits(solver: str, inst: dict) -> str | None:
    """Why `solver` cannot take this instance: the sidecar says so, or its pip license's size (None: it can)."""
    entry = load_sidecar(sidecar_for(Path(inst["instance"])))["solvers"].get(solver, {})
    if not entry.get("ok", False):
        return f"{solver} cannot take the {inst['problem_class']}"
    if solver == "gurobi":
        limit = GUROBI_QUAD_LIMIT if inst["quadratic"] else GUROBI_LIMIT
        if inst["vars"] > limit or (not inst["quadratic"] and inst["rows"] > GUROBI_LIMIT):
            return f"size {inst['vars']} vars / {inst['rows']} rows > Gurobi pip license"
    if solver == "cplex" and (inst["vars"] > CPLEX_LIMIT or inst["rows"] > CPLEX_LIMIT):
        return f"size {inst['vars']} vars / {inst['rows']} rows > CPLEX Community Edition"
    return None


def run_lipgen(inst: dict, solver: str, runs: Path, time_limit: float, *, warm_start: bool = True,
               solver_defaults: bool = False, extra: dict | None = None, old_anchors: bool = False) -> dict:
    """Solve one instance file; the numbers of its result.json and lipgen's combined gap."""
    path = Path(inst["instance"])
    if runs.exists():
        shutil.rmtree(runs)
    opts = SolveOptions(time_limit=time_limit, threads=1, gap=GAP, extra=dict(extra or {}))
    t0 = time.perf_counter()
    r = solve_all([path], solver, runs, opts, warm_start=warm_start, solver_defaults=solver_defaults,
                  force=True)[0]
    wall = time.perf_counter() - t0
    sc = load_sidecar(sidecar_for(path))
    anchors = dict(sc["anchors"])
    if old_anchors:  # the old encoding had no region walk: its lower bound came from sampling alone
        anchors.pop("search_lower", None)
    q = r.get("lipschitz") or {}
    comb = combine(q if q else None, None, anchors)
    return {"status": r["status"], "time": r.get("time"), "wall": wall, "nodes": r.get("nodes"),
            "upper": q.get("upper"), "certified_lower": q.get("certified_lower"), "best_lower": comb["best_lower"],
            "gap": comb["gap"], "params": (r.get("settings") or {}).get("extra"), "solver_version": r.get("solver_version")}


def run_lipmip(args, h5: Path, alpha: str, time_limit: float, mps: Path | None, solve: bool = True) -> dict:
    """LipMIP's own Gurobi model of the network (lipmip_child.py under LipMIP's Python)."""
    cmd = [args.lipmip_python, str(HERE / "lipmip_child.py"), "--lipmip", args.lipmip, "--weights", str(h5),
           "--norm", {"inf": "linf", "1": "l1"}[alpha], "--time-limit", str(time_limit), "--gap", str(GAP),
           "--threads", "1", "--solve", str(int(solve))] + (["--mps", str(mps)] if mps else [])
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=time_limit * 2 + 120)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        return {"status": "error", "error": p.stderr.strip().splitlines()[-1:]}
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["process_wall"] = wall
    return out


SCIP_STATS = {"time": r"Solving Time \(sec\)\s*:\s*([0-9.eE+-]+)", "nodes": r"Solving Nodes\s*:\s*(\d+)",
              "primal": r"Primal Bound\s*:\s*([-+0-9.eE]+)", "dual": r"Dual Bound\s*:\s*([-+0-9.eE]+)",
              "scip_status": r"SCIP Status\s*:\s*(.*)"}


def run_scip_mps(mps: Path, time_limit: float, workdir: Path, params: dict | None = None) -> dict:
    """The bundled SCIP shell on a foreign MPS file (LipMIP's model, a maximisation)."""
    if workdir.exists():
        shutil.rmtree(workdir)  # SCIP appends to its log
    workdir.mkdir(parents=True)
    args = ["lipgen-scip", "-l", str(workdir / "scip.log"), "-q"]
    if params:
        (workdir / "p.set").write_text("".join(f"{k} = {v}\n" for k, v in params.items()))
        args += ["-s", str(workdir / "p.set")]
    for c in (f"set limits time {time_limit}", f"set limits gap {GAP}", f"read {mps}", "optimize",
              "display statistics", "quit"):
        args += ["-c", c]
    t0 = time.perf_counter()
    subprocess.run(args, capture_output=True, text=True, timeout=time_limit + 120)
    wall = time.perf_counter() - t0
    log = (workdir / "scip.log").read_text()
    out = {"wall": wall}
    for k, pat in SCIP_STATS.items():
        m = re.search(pat, log)
        out[k] = (m.group(1).strip() if k == "scip_status" else float(m.group(1))) if m else None
    st = out.pop("scip_status") or ""
    out["status"] = "optimal" if "optimal" in st else "gap_limit" if "gap limit" in st else (
        "time_limit" if "time limit" in st else st)
    out["upper"] = out.pop("dual")  # a maximisation: the dual bound is the upper bound of L
    out["incumbent"] = out.pop("primal")
    return out


class Journal:
    """The experiment's JSON lines: what is measured already, and appending new ones."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.done = set()
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    self.done.add(json.loads(line)["key"])

    def add(self, key: str, row: dict) -> None:
        row = {"key": key, **row}
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        self.done.add(key)
        bits = [row.get(k) for k in ("net", "norm", "config", "status", "time", "nodes", "upper", "gap")]
        print(" | ".join("-" if b is None else f"{b:.4g}" if isinstance(b, float) else str(b) for b in bits)
              + f" | load {row.get('load1', 0):.2f}", flush=True)


def rotate(items: list, k: int) -> list:
    k %= max(len(items), 1)
    return items[k:] + items[:k]


# -- the ladder -------------------------------------------------------------------------------------------

MODES, BOUNDS, SOLVERS = ("forward", "backward"), ("interval", "linear", "obbt"), ("scip", "gurobi")


def ladder_configs(net: Network, alpha: str, beta: str) -> list[tuple]:
    """(config name, tool, solver, mode, bounds, variant) measured on one instance: the old encoding (forward,
    interval bounds, solver defaults, no MIP start), forward with linear bounds, backward with each bounds method,
    HiGHS on the default instance, and LipMIP (one output, input norm 1 or inf)."""
    cfgs = []
    for solver in SOLVERS:
        cfgs.append((f"{solver}/old", "lipgen", solver, "forward", "interval", "old"))
        cfgs.append((f"{solver}/fwd/linear", "lipgen", solver, "forward", "linear", "new"))
        for b in BOUNDS if solver == "scip" else ("linear", "obbt"):
            cfgs.append((f"{solver}/bwd/{b}", "lipgen", solver, "backward", b, "new"))
    cfgs.append(("highs/auto/linear", "lipgen", "highs", resolve_mode(Spec(alpha=alpha, beta=beta), net.n_inputs,
                                                                      net.n_outputs), "linear", "new"))
    if net.n_outputs == 1 and alpha in ("inf", "1"):
        cfgs.append(("lipmip/gurobi", "lipmip", "gurobi", "backward", "interval", "lipmip"))
        cfgs.append(("lipmip/scip", "lipmip-mps", "scip", "backward", "interval", "lipmip"))
    return cfgs


def cmd_ladder(args) -> None:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    journal = Journal(RESULTS / f"solve_{args.name}.jsonl")
    nets = ladder_networks(work, args.only)
    k = 0
    for label, name, net, box, h5, norms in nets:
        for alpha, beta in norms:
            cfgs = ladder_configs(net, alpha, beta)
            if args.lipmip is None:
                cfgs = [c for c in cfgs if c[1] == "lipgen"]
            if args.configs:
                cfgs = [c for c in cfgs if c[0] in args.configs]
            base = {"exp": args.name, "shape": label, "net": name, "norm": alpha if alpha == beta else f"{alpha}to{beta}",
                    "time_limit": args.time_limit, "gap_tol": GAP,
                    "auto_mode": resolve_mode(Spec(alpha=alpha, beta=beta), net.n_inputs, net.n_outputs)}
            for cfg, tool, solver, mode, b, variant in rotate(cfgs, k):
                key = f"{name}|{alpha}-{beta}|{cfg}|{args.time_limit}"
                if key in journal.done:
                    continue
                row = dict(base, config=cfg, tool=tool, solver=solver, mode=mode, bounds=b, variant=variant)
                if tool == "lipgen":
                    inst = prepare(net, box, alpha, beta, mode, b, work)
                    row.update({k2: inst[k2] for k2 in ("prep_time", "vars", "rows", "binaries", "unstable",
                                                         "problem_class")})
                    if (why := fits(solver, inst)):
                        journal.add(key, dict(row, status="skipped", why=why))
                        continue
                    row.update(load_now())
                    old = variant == "old"
                    row.update(run_lipgen(inst, solver, work / f"runs-{args.name}", args.time_limit, warm_start=not old,
                                          solver_defaults=old, old_anchors=old))
                else:
                    mps = work / "lipmip" / f"{name}__{alpha}.mps"
                    mps.parent.mkdir(parents=True, exist_ok=True)
                    if tool == "lipmip":
                        row.update(load_now())
                        res = run_lipmip(args, h5, alpha, args.time_limit, mps)
                        row.update(res)
                        row["time"] = res.get("time")
                    else:
                        if not mps.exists():  # written by the Gurobi run of LipMIP (rotation may put it later)
                            run_lipmip(args, h5, alpha, args.time_limit, mps, solve=False)
                        row.update(load_now())
                        row.update(run_scip_mps(mps, args.time_limit, work / "scipmps"))
                journal.add(key, row)
            k += 1


# -- encodings ---------------------------------------------------------------------------------------------

# (network label, seed, norm): the trained 2-16-16-1 net where the bilinear encoding was once 3-4x faster with
# SCIP, and random nets of the same and the 5-16-16-1 class.
ENCODING_INSTANCES = [("moons", "r0", TWO), ("moons", "r0", INF), ("moons", "r0", ONE), ("2-16-16-1", "r1", TWO),
                      ("2-16-16-1", "r2", TWO), ("2-16-16-1", "r1", INF), ("5-16-16-1", "u1", INF),
                      ("5-16-16-1", "r1", ONE), ("4-12-12-2", "r1", TWO)]


def cmd_encodings(args) -> None:
    """big-M against the bilinear (quadratic) encoding, both modes, SCIP with lipgen's defaults and with its own."""
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    journal = Journal(RESULTS / f"solve_{args.name}.jsonl")
    nets = {(lab, net.name): (net, box) for lab, name, net, box, h5, _ in ladder_networks(work)}
    k = 0
    for lab, seed, (alpha, beta) in ENCODING_INSTANCES:
        name = "moons" if lab == "moons" else f"{seed[0]}{lab.replace('-', 'x')}s{seed[1:]}"
        net, box = nets[(lab, name)]
        cfgs = [(enc, mode, defaults) for enc in ("bigm", "quadratic") for mode in MODES for defaults in (False, True)]
        for enc, mode, defaults in rotate(cfgs, k):
            cfg = f"scip/{enc}/{mode[:3]}" + ("/solver-defaults" if defaults else "")
            key = f"{name}|{alpha}-{beta}|{cfg}|{args.time_limit}"
            if key in journal.done:
                continue
            inst = prepare(net, box, alpha, beta, mode, "linear", work, encoding=enc)
            row = {"exp": args.name, "shape": lab, "net": name, "norm": alpha if alpha == beta else f"{alpha}to{beta}",
                   "config": cfg, "solver": "scip", "encoding": enc, "mode": mode, "solver_defaults": defaults,
                   "time_limit": args.time_limit, **{k2: inst[k2] for k2 in ("prep_time", "vars", "rows", "binaries",
                                                                            "unstable", "problem_class")}}
            row.update(load_now())
            row.update(run_lipgen(inst, "scip", work / f"runs-{args.name}", args.time_limit, solver_defaults=defaults))
            journal.add(key, row)
        k += 1


def report_encodings(rows: list[dict]) -> str:
    if not rows:
        return ""
    nets = list(dict.fromkeys((r["net"], r["norm"]) for r in rows))
    cfgs = list(dict.fromkeys(r["config"] for r in rows))
    by = {(r["net"], r["norm"], r["config"]): r for r in rows}
    head = ["network", "norm", "class bigm fwd / bwd, quadratic fwd / bwd"] + [
        c.replace("/for", "/fwd").replace("/bac", "/bwd") for c in cfgs]
    body = []
    for n, nm in nets:
        cls = [next((r["problem_class"] for r in rows if (r["net"], r["norm"], r["encoding"], r["mode"]) == (n, nm, e, m)),
                    "") for e in ("bigm", "quadratic") for m in MODES]
        body.append([n, nm, " / ".join(cls)] + [cell(by.get((n, nm, c))) for c in cfgs])
    summary = []
    for c in cfgs:
        ts = [solve_time(by[(n, nm, c)]) or by[(n, nm, c)]["time_limit"] for n, nm in nets if (n, nm, c) in by]
        summary.append([c.replace("/for", "/fwd").replace("/bac", "/bwd"), len(ts), sum(solved(by[(n, nm, c)]) for n, nm in nets if (n, nm, c) in by),
                        fmt(sgm(ts, 1.0))])
    return (f"{len(rows)} SCIP runs, time limit {rows[0]['time_limit']:g} s, one thread.\n\n"
            "### Solve time s (nodes), or >limit [gap]\n\n" + table(head, body) + "\n\n### Summary\n\n"
            + table(["configuration", "runs", "solved", "sgm s"], summary))


# -- solver settings --------------------------------------------------------------------------------------

@functools.cache
def scip_emphasis(which: str) -> dict:
    """The parameters one of SCIP's emphasis (or separating/heuristics meta) settings changes."""
    from pyscipopt import SCIP_PARAMEMPHASIS, SCIP_PARAMSETTING, Model

    m = Model()
    m.hideOutput()
    kind, _, level = which.partition(":")
    if kind == "emphasis":
        m.setEmphasis(getattr(SCIP_PARAMEMPHASIS, level.upper()))
    else:
        getattr(m, {"separating": "setSeparating", "heuristics": "setHeuristics", "presolving": "setPresolve"}[kind])(
            getattr(SCIP_PARAMSETTING, level.upper()))
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "e.set"
        m.writeParams(str(f), comments=False, onlychanged=True, verbose=False)
        params = {}
        for line in f.read_text().splitlines():
            if line.strip() and not line.startswith("#") and " = " in line:
                k, v = line.split(" = ", 1)
                params[k.strip()] = v.strip()
    return params


AGG_OFF = {"separating/aggregation/freq": -1}
SETTINGS = {
    "scip": [("defaults", {}), ("aggregation off", AGG_OFF)]
    + [(f"{e} + aggregation off", e) for e in ("emphasis:optimality", "emphasis:hardlp", "emphasis:easycip",
                                                "separating:fast", "separating:off", "heuristics:aggressive",
                                                "presolving:aggressive")],
    "gurobi": [("defaults", {}), ("MIPFocus 1", {"MIPFocus": 1}), ("MIPFocus 2", {"MIPFocus": 2}),
               ("MIPFocus 3", {"MIPFocus": 3}), ("Cuts 0", {"Cuts": 0}), ("Cuts 1", {"Cuts": 1}),
               ("Cuts 2", {"Cuts": 2}), ("Presolve 0", {"Presolve": 0}), ("Presolve 2", {"Presolve": 2})],
    "cplex": [("defaults", {})] + [(f"emphasis mip {i}", {"emphasis.mip": i}) for i in (1, 2, 3, 4)]
    + [("mip cuts mircut -1", {"mip.cuts.mircut": -1}), ("mip cuts mircut 2", {"mip.cuts.mircut": 2})],
}
# (network label, seed, norm) of the instances the settings are measured on, each in its default encoding
# (auto mode, linear bounds): a few seconds to a minute each with the recommended settings.
SETTINGS_INSTANCES = [("5-16-16-1", "u1", INF), ("5-16-16-1", "u2", INF), ("5-16-16-1", "r1", ONE),
                      ("4-12-12-2", "r1", INF), ("4-8-8-8-1", "r1", INF), ("moons", "r0", TWO),
                      ("10-64-64-1", "r1", INF)]
# The second step (`--set confirm`): the settings that helped in the first, against the baselines, in several
# rounds on other instances (among them a convex MIQCP and a nonconvex MIQCQP) and the two largest.
SEP_OFF = "separating:off"
CONFIRM = {
    "scip": [("aggregation off", AGG_OFF), ("separating off", SEP_OFF),
             ("separation rounds 0", {"separating/maxrounds": 0, "separating/maxroundsroot": 0})],
    "gurobi": [("defaults", {}), ("Cuts 0", {"Cuts": 0})],
    "cplex": [("defaults", {}), ("emphasis mip 1", {"emphasis.mip": 1}), ("mip cuts mircut 2", {"mip.cuts.mircut": 2})],
}
CONFIRM_INSTANCES = [("5-16-16-1", "u1", INF), ("5-16-16-1", "u3", INF), ("5-16-16-1", "u2", ONE),
                     ("5-16-16-1", "r2", INF), ("4-12-12-2", "r1", ONE), ("2-8-8-8-8-2", "r1", INF),
                     ("3-16-16-10", "r1", INF), ("4-8-8-8-1", "r1", ONE), ("2-16-16-1", "r2", TWO),
                     ("4-12-12-2", "r1", TWO), ("10-32-32-1", "r1", INF), ("10-64-64-1", "r1", INF)]


def cmd_settings(args) -> None:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    journal = Journal(RESULTS / f"solve_{args.name}.jsonl")
    nets = {(lab, net.name): (net, box) for lab, name, net, box, h5, _ in ladder_networks(work)}
    todo = []
    sets, instances = (CONFIRM, CONFIRM_INSTANCES) if args.set == "confirm" else (SETTINGS, SETTINGS_INSTANCES)
    for lab, seed, (alpha, beta) in instances:
        if args.only and lab not in args.only:
            continue
        name = "moons" if lab == "moons" else f"{seed[0]}{lab.replace('-', 'x')}s{seed[1:]}"
        net, box = nets[(lab, name)]
        mode = resolve_mode(Spec(alpha=alpha, beta=beta), net.n_inputs, net.n_outputs)
        inst = prepare(net, box, alpha, beta, mode, "obbt" if args.obbt else "linear", work)
        todo.append((lab, name, alpha, beta, mode, inst))
    k = 0
    for rnd in range(args.rounds):
        for lab, name, alpha, beta, mode, inst in todo:
            cfgs = [(s, label, p) for s in args.solvers for label, p in sets[s]]
            for solver, label, p in rotate(cfgs, k):
                key = f"{name}|{alpha}-{beta}|{solver}|{label}|{args.time_limit}|{rnd}"
                if key in journal.done:
                    continue
                params = dict(p) if isinstance(p, dict) else {**scip_emphasis(p), **AGG_OFF}
                if args.set == "confirm" and rnd > 0 and lab in ("10-32-32-1", "10-64-64-1"):
                    continue  # the two largest stop at the limit: one round says how far each got
                row = {"exp": args.name, "shape": lab, "net": name, "norm": alpha if alpha == beta else f"{alpha}to{beta}",
                       "mode": mode, "round": rnd,
                       "config": f"{solver}/{label}", "solver": solver, "setting": label,
                       "time_limit": args.time_limit, "vars": inst["vars"], "rows": inst["rows"],
                       "binaries": inst["binaries"], "problem_class": inst["problem_class"]}
                if (why := fits(solver, inst)):
                    journal.add(key, dict(row, status="skipped", why=why))
                    continue
                row.update(load_now())
                res = run_lipgen(inst, solver, work / f"runs-{args.name}", args.time_limit, solver_defaults=True, extra=params)
                res.pop("params", None)
                row.update(res)
                journal.add(key, row)
            k += 1


# -- report ---------------------------------------------------------------------------------------------

def read_rows(path: str) -> list[dict]:
    p = Path(path)
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()] if p.exists() else []


def solved(r: dict) -> bool:
    return r.get("status") in ("optimal", "gap_limit")


def total_time(r: dict) -> float | None:
    """What a user waits for: lipgen's generate (bounds, anchors, file) + the solve; LipMIP's build + solve;
    a run stopped by its limit counts as the limit."""
    if r.get("status") == "skipped" or r.get("time") is None:
        return None
    t = r["time"] if solved(r) else r["time_limit"]
    return t + (r.get("prep_time") or r.get("build_time") or 0.0)


def solve_time(r: dict) -> float | None:
    if r.get("status") == "skipped" or r.get("time") is None:
        return None
    return r["time"] if solved(r) else r["time_limit"]


def sgm(values: list[float], shift: float) -> float:
    """Shifted geometric mean (SCIP's check scripts: shift 1 s for time, 100 for nodes)."""
    return float(np.exp(np.mean(np.log(np.asarray(values) + shift))) - shift) if values else float("nan")


def fmt(v, nd=3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}g}"
    return str(v)


def cell(r: dict | None) -> str:
    """One run: time (s) and nodes when solved, else the limit and lipgen's gap at it."""
    if r is None:
        return ""
    if r.get("status") == "skipped":  # over a pip license's size, or a class the solver does not take
        return "size" if "size" in (r.get("why") or "") else "n/a"
    if r.get("status") == "error":
        return "error"
    if solved(r):
        return f"{r['time']:.3g} ({int(r['nodes'] or 0)})"
    return f">{r['time_limit']:.0f} [{fmt(r.get('gap_L', r.get('gap')), 2)}]"


def table(head: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(lines)


def instance_key(r: dict) -> tuple:
    return (r["net"], r["norm"])


def annotate(rows: list[dict]) -> dict:
    """Per instance: L (the optimum every run that proved it agrees on, else the best certified lower bound),
    and each run's gap_L = (upper - L) / upper."""
    by: dict[tuple, list[dict]] = {}
    for r in rows:
        by.setdefault(instance_key(r), []).append(r)
    best = {}
    for key, rs in by.items():
        opts = [r["upper"] for r in rs if solved(r) and r.get("upper") is not None]
        lows = [r["best_lower"] for r in rs if r.get("best_lower") is not None]
        best[key] = (float(np.median(opts)), "opt") if opts else ((max(lows), "lower") if lows else (None, None))
        for r in rs:
            lstar = best[key][0]
            if r.get("upper") is not None and lstar is not None and r["upper"] > 0:
                r["gap_L"] = max(0.0, (r["upper"] - lstar) / r["upper"])
    return best


def ratio_stats(pairs: list[tuple[float, float]]) -> str:
    if not pairs:
        return "-"
    rs = sorted(a / b for a, b in pairs)
    return f"{statistics.median(rs):.2f} ({rs[0]:.2f}-{rs[-1]:.2f}, n={len(rs)})"


def auto_mode(r: dict) -> str:
    """What --mode auto picks for a row's instance under the current rule (the rows may predate it)."""
    if not r:
        return "-"
    dims = [2, 1] if r["shape"] == "moons" else [int(d) for d in r["shape"].split("-")]
    alpha, _, beta = r["norm"].partition("to")
    return resolve_mode(Spec(alpha=alpha, beta=beta or alpha), dims[0], dims[-1])[:3].replace("bac", "bwd").replace(
        "for", "fwd")


def report_ladder(rows: list[dict]) -> str:
    if not rows:
        return ""
    out = []
    rows = [dict(r, config=r["config"].replace("/for/", "/fwd/").replace("/bac/", "/bwd/")) for r in rows
            if r.get("exp")]
    best = annotate(rows)
    loads = [r["load1"] for r in rows if "load1" in r]
    runs = [r for r in rows if r.get("status") != "skipped"]
    out.append(f"{len(runs)} solver runs ({len(rows) - len(runs)} left out: a class the solver does not take, or "
               f"over a pip license's size), time limit "
               f"{fmt(rows[0]['time_limit'])} s, relative gap {GAP}, one thread; 1-minute load average before each run: "
               f"min {min(loads):.2f}, median {statistics.median(loads):.2f}, max {max(loads):.2f} (2 cores); "
               f"from {min(r['at'] for r in runs)} to {max(r['at'] for r in runs)}.")
    insts = list(dict.fromkeys(instance_key(r) for r in rows))
    get = {(instance_key(r), r["config"]): r for r in rows}

    # instances
    head = ["network", "norm", "class (auto mode)", "unstable interval / linear / obbt", "binaries fwd / bwd (linear)",
            "prep s interval / linear / obbt", "auto", "L"]
    body = []
    for key in insts:
        g = lambda c: get.get((key, c), {})  # noqa: E731
        auto = auto_mode(g("scip/bwd/linear") or g("scip/old"))
        body.append([key[0], key[1], g(f"scip/{auto}/linear").get("problem_class", "-"),
                     " / ".join(fmt(g(f"scip/bwd/{b}").get("unstable")) for b in BOUNDS),
                     f"{fmt(g('scip/fwd/linear').get('binaries'))} / {fmt(g('scip/bwd/linear').get('binaries'))}",
                     " / ".join(fmt(g(f"scip/bwd/{b}").get("prep_time"), 2) for b in BOUNDS),
                     auto,
                     f"{fmt(best[key][0], 5)}" + ("" if best[key][1] == "opt" else " (lower)")])
    out.append("### Instances\n\n" + table(head, body))

    present = {r["config"] for r in rows}
    cols = {s: [c for c in ("old", "fwd/interval", "fwd/linear", "fwd/obbt", "bwd/interval", "bwd/linear", "bwd/obbt")
                if f"{s}/{c}" in present] for s in SOLVERS}
    for solver in SOLVERS:
        extra = [("HiGHS (auto mode)", "highs/auto/linear")] if solver == "scip" else []
        extra.append(("LipMIP", f"lipmip/{solver}"))
        head = ["network", "norm"] + cols[solver] + [h for h, _ in extra]
        body = []
        for key in insts:
            body.append([key[0], key[1]] + [cell(get.get((key, f"{solver}/{c}"))) for c in cols[solver]]
                        + [cell(get.get((key, name))) for _, name in extra])
        out.append(f"### {solver}: solve time s (nodes), or >limit [gap to L at the limit]\n\n" + table(head, body))

    # summary per configuration
    head = ["solver", "configuration", "runs", "solved", "sgm total s", "sgm nodes", "median x old (total)",
            "median x old (solve)", "median x LipMIP (solve, same solver)"]
    body = []
    for solver in SOLVERS + ("highs",):
        for c in (cols.get(solver, []) + ["lipmip"]) if solver != "highs" else ["auto/linear"]:
            name = f"lipmip/{solver}" if c == "lipmip" else f"{solver}/{c}"
            rs = [get[(k, name)] for k in insts if (k, name) in get and get[(k, name)].get("status") not in
                  ("skipped", "error")]
            if not rs:
                continue
            pairs_t, pairs_s, pairs_l = [], [], []
            for k in insts:
                lm, n = get.get((k, f"lipmip/{'scip' if solver == 'highs' else solver}")), get.get((k, name))
                if lm and n and solve_time(lm) and solve_time(n) and (solved(lm) or solved(n)):
                    pairs_l.append((solve_time(lm), solve_time(n)))
                o, n = get.get((k, f"{'scip' if solver == 'highs' else solver}/old")), get.get((k, name))
                if o and n and total_time(o) and total_time(n) and (solved(o) or solved(n)):
                    pairs_t.append((total_time(o), total_time(n)))
                    pairs_s.append((solve_time(o), solve_time(n)))
            body.append([solver, c, len(rs), sum(map(solved, rs)),
                         fmt(sgm([total_time(r) for r in rs], 1.0)),
                         fmt(sgm([float(r.get("nodes") or 0) for r in rs], 100.0)),
                         ratio_stats(pairs_t), ratio_stats(pairs_s), ratio_stats(pairs_l)])
    out.append("### Summary per configuration\n\nsgm: shifted geometric mean (time shift 1 s, nodes 100) over the "
               "instances each configuration ran on, a run stopped by the limit counted at the limit; `x old`: the "
               "old encoding's time over this one's, per instance where at least one of the two solved (median, "
               "range, count); `x LipMIP`: LipMIP's solve time with the same solver over this one's (HiGHS: against "
               "LipMIP in SCIP); total = generate + solve.\n\n" + table(head, body))
    return "\n\n".join(out)


def report_settings(rows: list[dict]) -> str:
    if not rows:
        return ""
    annotate(rows)  # each row's gap_L
    out = []
    loads = [r["load1"] for r in rows if "load1" in r]
    out.append(f"{len(rows)} runs, time limit {fmt(rows[0]['time_limit'])} s; load average min {min(loads):.2f}, "
               f"median {statistics.median(loads):.2f}, max {max(loads):.2f}.")
    insts = list(dict.fromkeys(instance_key(r) for r in rows))
    for solver in ("scip", "gurobi", "cplex"):
        rs = [r for r in rows if r["solver"] == solver]
        if not rs:
            continue
        settings = list(dict.fromkeys(r["setting"] for r in rs))
        base = "aggregation off" if solver == "scip" else "defaults"
        by = {}
        for r in rs:
            by.setdefault((instance_key(r), r["setting"]), []).append(r)
        head = ["setting"] + [f"{k[0]} {k[1]}" for k in insts] + ["solved", "sgm s", f"median x {base}"]
        body = []
        for st in settings:
            line, ts, sol, pairs = [st], [], 0, []
            for k in insts:
                runs = by.get((k, st), [])
                good = [r for r in runs if solve_time(r) is not None]
                if not good:
                    line.append(("size" if runs[0].get("status") == "skipped" else "n/a") if runs else "")
                    continue
                t = float(np.median([solve_time(r) for r in good]))
                ts.append(t)
                sol += all(map(solved, good))
                gaps = [r["gap_L"] for r in good if not solved(r) and r.get("gap_L") is not None]
                line.append(f"{t:.3g}" if all(map(solved, good)) else
                            f">{good[0]['time_limit']:.0f} [{fmt(float(np.median(gaps)) if gaps else None, 2)}]")
                b = [solve_time(r) for r in by.get((k, base), []) if solve_time(r) is not None]
                if b:
                    pairs.append((float(np.median(b)), t))
            body.append(line + [sol, fmt(sgm(ts, 1.0)), ratio_stats(pairs)])
        out.append(f"### {solver} (solve time s, median over rounds)\n\n" + table(head, body))
    return "\n\n".join(out)


def cmd_report(args) -> None:
    print(report_ladder(read_rows(args.ladder)))
    for path in args.settings:
        print()
        print(report_settings(read_rows(path)))
    if Path(args.encodings).exists():
        print()
        print(report_encodings(read_rows(args.encodings)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("ladder", "settings", "encodings"):
        p = sub.add_parser(name)
        p.add_argument("--time-limit", type=float, default=60.0)
        p.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "lipgen-solve-speed"),
                       help="instances and runs (kept between calls: instances are made once)")
        p.add_argument("--name", default=name, help="results/solve_<name>.jsonl")
        p.add_argument("--only", nargs="*", default=None, help="ladder labels to run")
    lad = sub.choices["ladder"]
    lad.add_argument("--lipmip", default=None, help="a checkout of revbucket/lipMIP (omit: no LipMIP runs)")
    lad.add_argument("--lipmip-python", default=sys.executable, help="a Python with torch and gurobipy")
    lad.add_argument("--configs", nargs="*", default=None, help="only these configurations (e.g. lipmip/gurobi)")
    st = sub.choices["settings"]
    st.add_argument("--solvers", nargs="+", default=["scip", "gurobi", "cplex"])
    st.add_argument("--rounds", type=int, default=1)
    st.add_argument("--set", choices=("explore", "confirm"), default="explore",
                    help="explore: every setting once; confirm: the ones that helped, against the baselines")
    st.add_argument("--obbt", action="store_true", help="obbt bounds instead of the default linear")
    rep = sub.add_parser("report")
    rep.add_argument("--ladder", default=str(RESULTS / "solve_ladder.jsonl"))
    rep.add_argument("--settings", nargs="+", default=[str(RESULTS / "solve_settings.jsonl"),
                                                        str(RESULTS / "solve_confirm.jsonl")])
    rep.add_argument("--encodings", default=str(RESULTS / "solve_encodings.jsonl"))
    args = ap.parse_args()
    {"ladder": cmd_ladder, "settings": cmd_settings, "encodings": cmd_encodings,
     "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    main()
