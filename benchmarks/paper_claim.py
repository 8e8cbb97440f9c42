"""The paper's claim measured side by side (issue 22): the bounds of L each method reaches within a budget.

    python benchmarks/paper_claim.py setup                  # each tool's venv + the fetched repos, outside the repo
    python benchmarks/paper_claim.py smoke [--budget 5]     # every tool on tiny nets, checked against tests/oracle.py
    python benchmarks/paper_claim.py run [--budgets 10,60,600] [--nets ..] [--domains ..] [--norms 2,inf] [--tools ..]
    python benchmarks/paper_claim.py report > benchmarks/paper_claim_tables.md   # tables + the claim row by row
    python benchmarks/paper_claim.py cases                  # list the cases `run` would measure

Run with lipgen's venv Python. Every tool runs in a subprocess with a hard timeout; the fetched tools (LipMIP,
LipBaB, auto_LiRPA) and the reimplementations with their own dependencies (LipSDP-Neuron) under their own
venv's Python (paper_claim_setup.py), with a child script of benchmarks/paper_claim_tools/. Results are JSON
lines in benchmarks/results/paper_claim.jsonl, one per (case, tool, budget), with the 1-minute load average
taken just before; a (case, tool, budget) already in the file is not redone (an interrupted run resumes).

Tools (see paper_claim.md for what each bounds):
  lipgen       `lipgen run` with its defaults (SCIP, both problems, 2 jobs), --time-limit = budget; one run per budget
  lipgen-split `lipgen split`, when lipgen has it (else recorded as not available)
  lipmip       LipMIP's own Gurobi model (pip license: <= 2000 vars/rows), else its model as MPS in the bundled
               SCIP; input norm linf only (l1 where asked); one run per budget
  lipbab       LipBaB.py (anytime: one run up to the largest budget, its bounds read at each budget)
  lipsdp       LipSDP-Neuron reimplemented (cvxpy + Clarabel), l2 only, local variant (stable neurons); one run
  autolirpa    auto_LiRPA's Jacobian bounds (one run)
  lipopt       LiPopt's Krivine LP (latorrefabian/lipopt, the paper's old_code), l-inf and one output only; its LP
               solved by Gurobi within the pip license, else written as MPS and solved by the bundled SCIP (one run)
  clever       sampled gradient norms, no certificate (anytime)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOOLS_DIR = HERE / "paper_claim_tools"
RESULTS = HERE / "results" / "paper_claim.jsonl"
NETWORKS = ROOT / "instances" / "networks"
sys.path.insert(0, str(HERE))
import paper_claim_setup as setup_mod  # noqa: E402

WORK = Path(os.environ.get("PAPER_CLAIM_WORK", str(setup_mod.SCRATCH / "work")))
TOOLS = ("lipgen", "lipgen-split", "lipmip", "lipbab", "lipsdp", "autolirpa", "lipopt", "clever")
GUROBI_LIMIT = 2000
GAP = 1e-4


# -- cases -----------------------------------------------------------------------------------------------

def catalog() -> list[dict]:
    return json.loads((NETWORKS / "catalog.json").read_text())["networks"]


def cases(nets: list[str] | None = None, domains: list[str] | None = None, norms=("2", "inf"),
          families=("trained", "lipmip", "lipbab")) -> list[dict]:
    """(network file, domain, norm) triples: every catalog network of the families, its stored box (`box`) and,
    for the trained ones, the catalog's l-inf balls around test points (`test0-r0.01`, ...)."""
    import numpy as np
    from lipgen.io import load
    out = []
    for entry in catalog():
        if entry["family"] not in families or (nets and entry["name"] not in nets):
            continue
        h5 = NETWORKS / f"{entry['name']}.h5"
        net = load(h5)
        doms = [("box", np.asarray(net.domain_lower, float), np.asarray(net.domain_upper, float))]
        for ball in entry.get("balls", []):
            doms.append((ball["label"], np.asarray(ball["lower"], float), np.asarray(ball["upper"], float)))
        for label, lo, hi in doms:
            if domains and label not in domains and not (label.startswith("test") and "balls" in domains):
                continue
            for norm in norms:
                out.append({"net": entry["name"], "family": entry["family"], "shape": entry["shape"],
                            "h5": str(h5), "domain": label, "lower": lo.tolist(), "upper": hi.tolist(),
                            "norm": norm})
    return out


def case_id(c: dict) -> str:
    return f"{c['net']}|{c['domain']}|{c['norm']}"


def fmt_vec(v) -> str:
    return ",".join(repr(float(x)) for x in v)


def load_now() -> dict:
    return {"load1": os.getloadavg()[0], "at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())}


# -- one tool on one case ----------------------------------------------------------------------------------

MEM_LIMIT_GB = float(os.environ.get("PAPER_CLAIM_MEM_GB", "12"))


def _limit_memory() -> None:
    """Address-space cap for every child (a shared 24 GB machine: an early LipSDP formulation took 19 GB)."""
    import resource
    lim = int(MEM_LIMIT_GB * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (lim, lim))


def run_proc(cmd: list[str], timeout: float, cwd: str | None = None) -> dict:
    """Run a child; on timeout kill its process group. Returns stdout lines, stderr tail, wall, timed_out."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                         start_new_session=True, preexec_fn=_limit_memory)
    timed_out = False
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(p.pid, 9)
        out, err = p.communicate()
    return {"lines": [ln for ln in out.splitlines() if ln.strip()], "stderr": err.strip().splitlines()[-3:],
            "wall": time.perf_counter() - t0, "timed_out": timed_out, "rc": p.returncode}


def json_lines(lines: list[str]) -> list[dict]:
    out = []
    for ln in lines:
        try:
            v = json.loads(ln)
        except json.JSONDecodeError:
            continue
        if isinstance(v, dict):
            out.append(v)
    return out


def whole_json(lines: list[str]) -> list[dict]:
    """`lipgen ... --json` prints one (indented) JSON object."""
    try:
        v = json.loads("\n".join(lines))
    except json.JSONDecodeError:
        return json_lines(lines)
    return [v] if isinstance(v, dict) else []


def row(upper=None, lower=None, *, status, time_s=None, exact=False, lower_kind="certified", **extra) -> dict:
    return {"upper": upper, "lower": lower, "lower_kind": lower_kind, "status": status, "time": time_s,
            "exact": exact, **extra}


def tool_lipgen(c: dict, budget: float, work: Path) -> dict:
    import numpy as np
    d = work / "lipgen" / f"{c['net']}__{c['domain']}__{c['norm']}__{int(budget)}"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    np.savez(d / "box.npz", lower=np.asarray(c["lower"]), upper=np.asarray(c["upper"]))
    exe = str(Path(sys.executable).with_name("lipgen"))
    cmd = [exe, "run", c["h5"], "--norm", c["norm"], "--box-file", str(d / "box.npz"), "--time-limit",
           str(budget), "--json", "-o", str(d / "runs")]
    p = run_proc(cmd, timeout=budget * 1.5 + 60)
    js = whole_json(p["lines"])
    if not js:
        return row(status="error" if not p["timed_out"] else "killed", time_s=p["wall"], error=p["stderr"])
    r = js[-1]
    exact = r.get("status") == "optimal" and r.get("gap") is not None and r["gap"] <= 1e-4
    return row(r.get("upper"), r.get("best_lower"), status=r.get("status"), time_s=p["wall"], exact=exact,
               lower_kind="certified", gap=r.get("gap"), upper_source=r.get("upper_source"),
               lower_source=r.get("lower_source"), solver=f"scip {r.get('solver_version')}", mode=r.get("mode"),
               naive_upper=r.get("naive_upper"), sampled_lower=r.get("sampled_lower"))


def lipgen_has_split() -> bool:
    exe = str(Path(sys.executable).with_name("lipgen"))
    p = subprocess.run([exe, "--help"], capture_output=True, text=True)
    return re.search(r"^\s*│?\s*split\s", p.stdout, re.M) is not None or "\n  split " in p.stdout


def tool_lipgen_split(c: dict, budget: float, work: Path) -> dict:
    if not lipgen_has_split():
        return row(status="not available", note="lipgen has no `split` command yet")
    import numpy as np
    d = work / "lipgen-split" / f"{c['net']}__{c['domain']}__{c['norm']}__{int(budget)}"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    np.savez(d / "box.npz", lower=np.asarray(c["lower"]), upper=np.asarray(c["upper"]))
    exe = str(Path(sys.executable).with_name("lipgen"))
    cmd = [exe, "split", c["h5"], "--norm", c["norm"], "--box-file", str(d / "box.npz"), "--time-limit",
           str(budget), "--json", "-o", str(d / "runs")]
    p = run_proc(cmd, timeout=budget * 1.5 + 60)
    js = whole_json(p["lines"])
    if not js:
        return row(status="error", time_s=p["wall"], error=p["stderr"])
    r = js[-1]
    return row(r.get("upper"), r.get("best_lower", r.get("lower")), status=r.get("status"), time_s=p["wall"],
               exact=r.get("status") == "optimal", gap=r.get("gap"))


SCIP_STATS = {"time": r"Solving Time \(sec\)\s*:\s*([0-9.eE+-]+)", "primal": r"Primal Bound\s*:\s*([-+0-9.eE]+)",
              "dual": r"Dual Bound\s*:\s*([-+0-9.eE]+)", "scip_status": r"SCIP Status\s*:\s*(.*)"}


def scip_on_mps(mps: Path, budget: float, workdir: Path) -> dict:
    """The bundled SCIP shell with its defaults on LipMIP's MPS (a maximisation): as solve_speed.py does."""
    exe = str(Path(sys.executable).with_name("lipgen-scip"))
    args = [exe, "-l", str(workdir / "scip.log"), "-q"]
    for cmd in (f"set limits time {budget}", f"set limits gap {GAP}", "set parallel maxnthreads 1", f"read {mps}",
                "optimize", "display statistics", "quit"):
        args += ["-c", cmd]
    p = run_proc(args, timeout=budget + 120)
    log = (workdir / "scip.log").read_text() if (workdir / "scip.log").exists() else ""
    out = {}
    for k, pat in SCIP_STATS.items():
        m = re.search(pat, log)
        out[k] = (m.group(1).strip() if k == "scip_status" else float(m.group(1))) if m else None
    st = out.get("scip_status") or ""
    out["status"] = "optimal" if "optimal" in st else "gap_limit" if "gap limit" in st else (
        "time_limit" if "time limit" in st else (st or ("killed" if p["timed_out"] else "error")))
    out["wall"] = p["wall"]
    return out


def tool_lipmip(c: dict, budget: float, work: Path) -> dict:
    norm = {"inf": "linf", "1": "l1"}.get(c["norm"])
    if norm is None:
        return row(status="not applicable", note="LipMIP's primal norm is linf or l1 only")
    if norm == "l1" and int(c["shape"].split("-")[-1]) > 1:
        return row(status="not applicable", note="several outputs: LipMIP's l1Ball1 gives the 1->inf norm, not 1->1")
    d = work / "lipmip" / f"{c['net']}__{c['domain']}__{c['norm']}__{int(budget)}"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    mps = d / "lipmip.mps"
    cmd = [str(setup_mod.python_of("lipmip")), str(TOOLS_DIR / "lipmip_child.py"), "--lipmip",
           str(setup_mod.repo_dir("lipmip")), "--weights", c["h5"], "--norm", norm, "--lower=" + fmt_vec(c["lower"]),
           "--upper=" + fmt_vec(c["upper"]), "--time-limit", str(budget), "--gap", str(GAP), "--threads", "1",
           "--mps", str(mps), "--solve", "2"]
    p = run_proc(cmd, timeout=budget * 1.5 + 120)
    js = json_lines(p["lines"])
    if not js:
        return row(status="error" if not p["timed_out"] else "killed", time_s=p["wall"], error=p["stderr"])
    r = js[-1]
    size = {k: r.get(k) for k in ("vars", "constrs", "bin_vars", "c_vector")}
    if r.get("fits_license"):
        mps.unlink(missing_ok=True)
        st = r.get("status")
        return row(r.get("upper"), r.get("incumbent"), status=st, time_s=(r.get("time") or 0) + r["build_time"],
                   exact=st == "optimal", lower_kind="incumbent (uncertified)", solver="gurobi", **size)
    s = scip_on_mps(mps, budget, d)
    mps.unlink(missing_ok=True)
    for k in ("dual", "primal"):  # SCIP's infinity (1e20): no bound / no incumbent yet
        if s.get(k) is not None and abs(s[k]) >= 1e19:
            s[k] = None
    return row(s.get("dual"), s.get("primal"), status=s["status"], time_s=(s.get("time") or 0) + r["build_time"],
               exact=s["status"] == "optimal", lower_kind="incumbent (uncertified)",
               solver="scip (model beyond the Gurobi pip license)", **size)


def anytime_rows(records: list[dict], budgets: list[float], final_key="final") -> dict[float, dict]:
    """From an anytime child's progress records (t, upper, lower): the state at each budget."""
    out = {}
    for b in budgets:
        # records with t <= b, and the child's own record of the state at b (emitted just after crossing it)
        seen = [r for r in records if "t" in r and (r["t"] <= b or r.get("budget") == b)]
        fin = [r for r in seen if r.get(final_key)]
        out[b] = (fin[-1] if fin else seen[-1] if seen else None, bool(fin))
    return out


def tool_lipbab(c: dict, budgets: list[float], work: Path) -> dict[float, dict]:
    cmd = [str(setup_mod.python_of("lipbab")), str(TOOLS_DIR / "lipbab_child.py"), "--lipbab",
           str(setup_mod.repo_dir("lipbab")), "--weights", c["h5"], "--norm", c["norm"],
           "--lower=" + fmt_vec(c["lower"]), "--upper=" + fmt_vec(c["upper"]),
           "--budgets", ",".join(str(b) for b in budgets)]
    p = run_proc(cmd, timeout=max(budgets) + 60)  # the child stops itself; + imports under load
    recs = json_lines(p["lines"])
    out = {}
    for b, (r, fin) in anytime_rows(recs, budgets).items():
        if r is None:
            out[b] = row(status="no bound yet" if p["timed_out"] or p["rc"] == 0 else "error",
                         error=p["stderr"] if p["rc"] not in (0, None, -9) else None)
            continue
        exact = fin and r["upper"] <= r["lower"] * (1 + 1e-12)
        out[b] = row(r["upper"], r["lower"] or None, status="finished" if fin else "time_limit", time_s=r["t"],
                     exact=exact, lower_kind="certified (LP-feasible region's exact norm)",
                     subproblems=r.get("subproblems"))
    return out


def tool_oneshot(c: dict, budgets: list[float], tool: str) -> dict[float, dict]:
    if tool == "lipsdp":
        if c["norm"] != "2":
            return {b: row(status="not applicable", note="LipSDP bounds the l2 constant only") for b in budgets}
        cmd = [str(setup_mod.python_of("lipsdp")), str(TOOLS_DIR / "lipsdp_child.py"), "--weights", c["h5"],
               "--lower=" + fmt_vec(c["lower"]), "--upper=" + fmt_vec(c["upper"]), "--variant", "both"]
    else:
        cmd = [str(setup_mod.python_of("autolirpa")), str(TOOLS_DIR / "autolirpa_child.py"), "--weights", c["h5"],
               "--norm", c["norm"], "--lower=" + fmt_vec(c["lower"]), "--upper=" + fmt_vec(c["upper"])]
    p = run_proc(cmd, timeout=max(budgets) + 60)  # + imports (torch, cvxpy); the time recorded excludes them
    js = json_lines(p["lines"])
    out = {}
    r = js[-1] if js else None
    for b in budgets:
        if r is None:
            out[b] = row(status="killed" if p["timed_out"] else "error", error=p["stderr"])
        elif r.get("upper") is None:
            out[b] = row(status=r.get("status", "error"), note=r.get("why") or r.get("note"), time_s=r.get("time"))
        else:
            extra = {k: r[k] for k in ("variant", "solver", "stable_neurons", "neurons", "method", "global_upper",
                                       "upper_elementwise", "upper_gradnorm", "global_time", "dropped_inactive") if k in r}
            out[b] = oneshot_row(r["upper"], r["time"], b, **extra)
    return out


def oneshot_row(upper: float, time_s: float, budget: float, **extra) -> dict:
    """A one-shot tool's row at one budget: its bound, or `not finished` (the bound shown as late) past its time."""
    if time_s > budget:
        return row(status="not finished", time_s=time_s, late_upper=upper, **extra)
    return row(upper, None, status="finished", time_s=time_s, exact=False, **extra)


def tool_lipopt(c: dict, budgets: list[float], work: Path) -> dict[float, dict]:
    """LiPopt once, up to the largest budget: its LP built (sympy) and solved; a budget below the time gets
    `not finished`. An LP beyond the Gurobi pip license is solved by the bundled SCIP on the MPS the child wrote:
    every feasible point of the Krivine LP (a minimisation) certifies its value, so SCIP's primal bound is the
    upper bound, optimal or not."""
    if c["norm"] != "inf":
        return {b: row(status="not applicable", note="LiPopt's LP (p = 1 in its code) bounds the l-inf constant only")
                for b in budgets}
    if int(c["shape"].split("-")[-1]) > 1:
        return {b: row(status="not applicable", note="LiPopt bounds one-output networks") for b in budgets}
    d = work / "lipopt" / f"{c['net']}__{c['domain']}__{c['norm']}"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    top, mps = max(budgets), d / "lipopt.mps"
    cmd = [str(setup_mod.python_of("lipopt")), str(TOOLS_DIR / "lipopt_child.py"), "--lipopt",
           str(setup_mod.repo_dir("lipopt")), "--weights", c["h5"], "--lower=" + fmt_vec(c["lower"]),
           "--upper=" + fmt_vec(c["upper"]), "--mps", str(mps)]
    p = run_proc(cmd, timeout=top + 60)  # + imports (torch, sympy): the time recorded excludes them
    js = json_lines(p["lines"])
    r = js[-1] if js else None
    if r is None:
        why = f"building its LP took more than {top:g} s" if p["timed_out"] else None
        return {b: row(status="killed" if p["timed_out"] else "error", note=why, error=p["stderr"]) for b in budgets}
    if r.get("status") == "not applicable":
        return {b: row(status="not applicable", note=r.get("why")) for b in budgets}
    t, upper, solver = r["time"], r.get("upper"), "gurobi"
    size = {k: r.get(k) for k in ("vars", "constrs", "degree")}
    if upper is None and mps.exists():
        solver = "scip (LP beyond the Gurobi pip license)"
        if t < top:
            s = scip_on_mps(mps, top - t, d)
            primal = s.get("primal")
            upper = primal if primal is not None and abs(primal) < 1e19 else None
            t += s.get("time") or 0.0
        mps.unlink(missing_ok=True)
    return {b: row(status="not finished", time_s=t, solver=solver, **size) if upper is None else
            oneshot_row(upper, t, b, solver=solver, **size) for b in budgets}


def tool_clever(c: dict, budgets: list[float]) -> dict[float, dict]:
    cmd = [sys.executable, str(TOOLS_DIR / "clever_child.py"), "--weights", c["h5"], "--norm", c["norm"],
           "--lower=" + fmt_vec(c["lower"]), "--upper=" + fmt_vec(c["upper"]),
           "--budgets", ",".join(str(b) for b in budgets)]
    p = run_proc(cmd, timeout=max(budgets) + 60)  # the child stops itself; + imports under load
    recs = json_lines(p["lines"])
    out = {}
    for b, (r, fin) in anytime_rows(recs, budgets).items():
        if r is None:
            out[b] = row(status="no result yet" if p["rc"] in (0, -9) else "error", error=p["stderr"])
        else:
            out[b] = row(None, r["lower"], status="finished" if fin else "time_limit", time_s=r["t"],
                         lower_kind="sampled (no certificate)", estimate=r.get("estimate"), points=r["points"])
    return out


def measure(tool: str, c: dict, budgets: list[float], work: Path) -> dict[float, dict]:
    """{budget: row} for one tool on one case (anytime and one-shot tools: one process for every budget)."""
    per_budget = {"lipgen": tool_lipgen, "lipgen-split": tool_lipgen_split, "lipmip": tool_lipmip}
    if tool in per_budget:
        # one run per budget, smallest first; a run that ended on its own (proved L, or not applicable) within
        # budget b gives the same answer with any larger budget: recorded for those as reused, not rerun
        out, prev = {}, None
        for b in sorted(budgets):
            if prev is not None and (prev.get("exact") or prev["status"] in ("not applicable", "not available")):
                # pb is set in the iteration that set prev
                out[b] = {**prev, "reused_from_budget": prev.get("reused_from_budget", pb)}  # noqa: F821
                continue
            out[b] = prev = per_budget[tool](c, b, work)
            pb = b  # noqa: F841 (read in the next iteration)
        return out
    if tool == "lipbab":
        return tool_lipbab(c, budgets, work)
    if tool in ("lipsdp", "autolirpa"):
        return tool_oneshot(c, budgets, tool)
    if tool == "lipopt":
        return tool_lipopt(c, budgets, work)
    if tool == "clever":
        return tool_clever(c, budgets)
    raise SystemExit(f"unknown tool {tool}")


# -- journal ----------------------------------------------------------------------------------------------

def read_rows(path: Path = RESULTS) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


def versions() -> dict:
    p = setup_mod.SCRATCH / "repos.json"
    return {k: v["commit"][:12] for k, v in json.loads(p.read_text()).items()} if p.exists() else {}


def cmd_run(args) -> None:
    budgets = [float(b) for b in args.budgets.split(",")]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    old_rows = {r["key"]: r for r in read_rows(out)}
    done = set(old_rows)
    tools = args.tools.split(",") if args.tools else list(TOOLS)
    todo = cases(args.nets.split(",") if args.nets else None, args.domains.split(",") if args.domains else None,
                 tuple(args.norms.split(",")))
    vers = versions()
    for c in todo:
        for tool in tools:
            keys = {b: f"{case_id(c)}|{tool}|{b:g}" for b in budgets}
            missing = [b for b in budgets if keys[b] not in done]
            if not missing:
                continue
            before = load_now()
            # a per-budget tool that proved L (or was not applicable) at a smaller budget in an earlier run
            # gives the same answer with a larger one: reused, so `--budgets 10,60` first and 600 later is cheap
            reused = {}
            if tool in ("lipgen", "lipgen-split", "lipmip"):
                prior = [old_rows[k] for k in old_rows if k.startswith(f"{case_id(c)}|{tool}|")]
                prior = [r for r in prior if r.get("exact") or r["status"] in ("not applicable", "not available")]
                if prior:
                    p0 = min(prior, key=lambda r: r["budget"])
                    for b in missing:
                        if b > p0["budget"]:
                            reused[b] = {k: v for k, v in p0.items() if k not in ("key", "budget", "load1", "at")}
                            reused[b]["reused_from_budget"] = p0.get("reused_from_budget", p0["budget"])
            rest = [b for b in missing if b not in reused]
            res = {**reused, **(measure(tool, c, rest, WORK) if rest else {})}
            with out.open("a") as f:
                for b in missing:
                    r = {"key": keys[b], "net": c["net"], "family": c["family"], "shape": c["shape"],
                         "domain": c["domain"], "norm": c["norm"], "tool": tool, "budget": b, **before,
                         "repos": vers, **res[b]}
                    f.write(json.dumps(r) + "\n")
                    done.add(keys[b])
                    print(" | ".join(str(x) for x in (c["net"], c["domain"], c["norm"], tool, f"{b:g}",
                                                     short(r["upper"]), short(r["lower"]), r["status"],
                                                     short(r.get("time")), f"load {before['load1']:.2f}")),
                          flush=True)


def short(v, nd=5) -> str:
    return "-" if v is None else f"{v:.{nd}g}" if isinstance(v, float) else str(v)


# -- report -----------------------------------------------------------------------------------------------

LABEL = {"lipgen": "lipgen (SCIP, defaults)", "lipgen-split": "lipgen split", "lipmip": "LipMIP",
         "lipbab": "LipBaB", "lipsdp": "LipSDP-Neuron (reimpl., local)", "autolirpa": "auto_LiRPA Jacobian", "lipopt": "LiPopt (Krivine LP)",
         "clever": "CLEVER-style sample (no cert.)"}


def table(head, body) -> str:
    return "\n".join(["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
                     + ["| " + " | ".join(str(x) for x in r) + " |" for r in body])


def case_key(r: dict) -> str:
    return f"{r['net']}|{r['domain']}|{r['norm']}"


def report(rows: list[dict], oracle: dict | None = None) -> str:
    """One table per norm and budget: per case and tool, upper, lower, gap, time, exact."""
    parts = []
    latest = {}
    for r in rows:
        latest[r["key"]] = r
    rows = list(latest.values())
    # the best certified lower bound of each case over every tool and budget: the yardstick for the uppers
    best_lower: dict = {}
    for r in rows:
        if r.get("lower") is not None and r.get("lower_kind", "").startswith("certified"):
            best_lower[case_key(r)] = max(best_lower.get(case_key(r), 0.0), r["lower"])
    for norm in sorted({r["norm"] for r in rows}):
        for b in sorted({r["budget"] for r in rows if r["norm"] == norm}):
            sel = [r for r in rows if r["norm"] == norm and r["budget"] == b]
            head = ["network", "domain", "tool", "upper", "lower", "gap", "upper / best lower", "time s", "exact",
                    "status", "load", "note"]
            if oracle is not None:
                head.insert(5, "L (oracle)")
            body = []
            for r in sorted(sel, key=lambda r: (r["net"], r["domain"], TOOLS.index(r["tool"]))):
                up, lo = r.get("upper"), r.get("lower")
                gap = (up - lo) / up if up and lo else None
                kind = r.get("lower_kind", "")
                lo_txt = short(lo) + (" (sampled)" if kind.startswith("sampled") and lo else "") + (
                    " (incumbent)" if kind.startswith("incumbent") and lo else "")
                bl = best_lower.get(case_key(r))
                note = []
                if r.get("estimate") is not None:
                    note.append(f"CLEVER estimate {short(r['estimate'])}")
                if r.get("global_upper") is not None:
                    note.append(f"global {short(r['global_upper'])}")
                if r.get("late_upper") is not None:
                    note.append(f"upper {short(r['late_upper'])} after the budget")
                if r.get("tool") == "lipgen" and r.get("mode") == "split":
                    note.append("proved by the split tree, no MIP solved")
                elif r.get("solver"):
                    note.append(str(r["solver"]))
                if r.get("upper_source") and r.get("tool") == "lipgen" and r.get("mode") != "split":
                    note.append(f"upper from {r['upper_source']}")
                if r.get("reused_from_budget") is not None:
                    note.append(f"as at {r['reused_from_budget']:g} s")
                line = [r["net"], r["domain"], LABEL.get(r["tool"], r["tool"]), short(up), lo_txt,
                        short(gap, 3), short(up / bl, 4) if up is not None and bl else "-",
                        short(r.get("time"), 3), "yes" if r.get("exact") else "no",
                        r["status"], short(r.get("load1"), 3), "; ".join(note)]
                if oracle is not None:
                    line.insert(5, short(oracle.get(f"{r['net']}|{r['domain']}|{r['norm']}")))
                body.append(line)
            parts.append(f"### norm {norm}, budget {b:g} s\n\n" + table(head, body))
    return "\n\n".join(parts) + "\n"


CERTIFIED_UPPERS = ("lipmip", "lipbab", "lipsdp", "autolirpa", "lipopt")  # the compared tools whose upper bounds are certified
REL = 1e-5  # uppers this close count as equal (lipgen widens a dual bound by 1e-6 absolute and relative)


def claim(rows: list[dict]) -> str:
    """The claim, row by row: per norm and budget, how lipgen's upper bound compares with each tool's on the cases both
    bounded (tighter, equal within 1e-5 relative, looser), and how often lipgen's two bounds met (gap <= 1e-4)."""
    latest = {r["key"]: r for r in rows}
    by = {}
    for r in latest.values():
        by.setdefault((r["norm"], r["budget"], case_key(r)), {})[r["tool"]] = r
    lines = ["| norm | budget s | lipgen | against | cases | lipgen tighter | equal | lipgen looser | looser on |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    proved = []
    for norm in sorted({k[0] for k in by}):
        for b in sorted({k[1] for k in by if k[0] == norm}):
            group = {k[2]: v for k, v in by.items() if k[0] == norm and k[1] == b}
            for label, ours in (("run", ("lipgen",)), ("best of run and split", ("lipgen", "lipgen-split"))):
                for tool in CERTIFIED_UPPERS:
                    n = tighter = equal = looser = 0
                    worse = []
                    for case, tools in sorted(group.items()):
                        mine = [tools[t]["upper"] for t in ours if t in tools and tools[t].get("upper") is not None]
                        other = tools.get(tool, {}).get("upper")
                        if not mine or other is None:
                            continue
                        n += 1
                        up = min(mine)
                        if up < other * (1 - REL):
                            tighter += 1
                        elif up <= other * (1 + REL):
                            equal += 1
                        else:
                            looser += 1
                            worse.append(f"{case.rsplit('|', 1)[0].replace('|', ' ')} ({up:.5g} vs {other:.5g})")
                    if n:
                        lines.append(f"| {norm} | {b:g} | {label} | {LABEL[tool]} | {n} | {tighter} | {equal} | "
                                     f"{looser} | {'; '.join(worse) or '-'} |")
            runs = [v["lipgen"] for v in group.values() if "lipgen" in v]
            met = sum(1 for r in runs if r.get("gap") is not None and r["gap"] <= 1e-4)
            proved.append(f"- norm {norm}, {b:g} s: lipgen's certified bounds met (gap <= 1e-4) on {met} of {len(runs)} "
                          "cases")
    return "\n".join(lines) + "\n\n" + "\n".join(proved) + "\n"


def cmd_report(args) -> None:
    rows = read_rows(Path(args.out))
    print(report(rows))
    print("### The claim, row by row\n")
    print(claim(rows))


# -- smoke: every tool on tiny nets, against the exact oracle -----------------------------------------------

SMOKE = [("lipbab-4-5-5-3", "box"), ("iris-4-8-3", "box"), ("iris-4-8-3", "test1-r0.05"), ("lipmip-depth1", "box")]


def cmd_smoke(args) -> None:
    sys.path.insert(0, str(ROOT))
    from lipgen.io import load
    from tests.oracle import exact_lipschitz
    budget = float(args.budget)
    tools = args.tools.split(",") if args.tools else list(TOOLS)
    out = Path(args.out)
    if out.exists() and not args.resume:
        out.unlink()
    done = {r["key"] for r in read_rows(out)}
    oracle = {}
    checks = []
    for net_name, dom in SMOKE:
        for c in cases([net_name], [dom], tuple(args.norms.split(","))):
            net = load(c["h5"])
            t0 = time.perf_counter()
            L = exact_lipschitz(net, c["lower"], c["upper"], c["norm"], c["norm"])
            oracle[case_id(c)] = L
            print(f"oracle {case_id(c)}: L = {L:.10g} ({time.perf_counter() - t0:.1f} s)", flush=True)
            for tool in tools:
                key = f"{case_id(c)}|{tool}|{budget:g}"
                if key in done:
                    continue
                before = load_now()
                r = measure(tool, c, [budget], WORK / "smoke")[budget]
                r = {"key": key, "net": c["net"], "family": c["family"], "shape": c["shape"], "domain": c["domain"],
                     "norm": c["norm"], "tool": tool, "budget": budget, **r, **before, "oracle_L": L}
                with out.open("a") as f:
                    f.write(json.dumps(r) + "\n")
                print(f"  {tool}: upper {short(r['upper'])} lower {short(r['lower'])} {r['status']} "
                      f"t {short(r.get('time'), 3)}", flush=True)
    rows = read_rows(out)
    for r in rows:
        L = r["oracle_L"]
        tol = 1e-6 * max(L, 1e-12)
        up = r["upper"] if r["upper"] is not None else r.get("late_upper")  # soundness: a late bound counts too
        ok_u = up is None or up >= L - tol
        ok_l = r["lower"] is None or r["lower"] <= L + tol
        checks.append((r, ok_u, ok_l))
    print()
    print(smoke_table(checks))
    # a violation is an upper bound below L or a *certified* lower bound above it; uncertified lower values
    # (LipMIP's incumbent, the CLEVER sample) are shown, not counted
    bad = [r for r, u, lo in checks if not u or (not lo and r.get("lower_kind", "").startswith("certified"))]
    print(f"\n{len(checks)} rows, {len(bad)} violate the oracle", flush=True)
    sys.exit(1 if bad else 0)


def smoke_table(checks) -> str:
    head = ["network", "domain", "norm", "tool", "L (oracle)", "upper", "lower", "upper >= L", "lower <= L", "exact",
            "time s", "status"]
    body = []
    for r, ok_u, ok_l in sorted(checks, key=lambda x: (x[0]["net"], x[0]["domain"], x[0]["norm"],
                                                       TOOLS.index(x[0]["tool"]))):
        est = f" (CLEVER est. {short(r['estimate'])})" if r.get("estimate") is not None else ""
        body.append([r["net"], r["domain"], r["norm"], LABEL.get(r["tool"], r["tool"]), short(r["oracle_L"], 7),
                     short(r["upper"], 7) if r["upper"] is not None or r.get("late_upper") is None else
                     f"({short(r['late_upper'], 7)} after the budget)", short(r["lower"], 7) + est,
                     "-" if r["upper"] is None and r.get("late_upper") is None else ("yes" if ok_u else "**NO**"),
                     "-" if r["lower"] is None else ("yes" if ok_l else "**NO**" if
                                                     r.get("lower_kind", "").startswith("certified") else
                                                     "no (uncertified)"),
                     "yes" if r.get("exact") else "no", short(r.get("time"), 3), r["status"]])
    return table(head, body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("tools", nargs="*")
    r = sub.add_parser("run")
    r.add_argument("--budgets", default="10,60,600")
    r.add_argument("--nets", default=None)
    r.add_argument("--domains", default=None, help="box, test0-r0.01, ..., or balls (all balls)")
    r.add_argument("--norms", default="2,inf")
    r.add_argument("--tools", default=None, help=f"comma list of {','.join(TOOLS)}")
    r.add_argument("--out", default=str(RESULTS))
    rp = sub.add_parser("report")
    rp.add_argument("--out", default=str(RESULTS))
    sm = sub.add_parser("smoke")
    sm.add_argument("--budget", default="5")
    sm.add_argument("--norms", default="2,inf")
    sm.add_argument("--tools", default=None)
    sm.add_argument("--out", default=str(HERE / "results" / "paper_claim_smoke.jsonl"))
    sm.add_argument("--resume", action="store_true")
    cs = sub.add_parser("cases")
    cs.add_argument("--nets", default=None)
    cs.add_argument("--norms", default="2,inf")
    args = ap.parse_args()
    if args.cmd == "setup":
        setup_mod.main(args.tools or None)
    elif args.cmd == "run":
        cmd_run(args)
    elif args.cmd == "report":
        cmd_report(args)
    elif args.cmd == "smoke":
        cmd_smoke(args)
    elif args.cmd == "cases":
        cs_ = cases(args.nets.split(",") if args.nets else None, None, tuple(args.norms.split(",")))
        for c in cs_:
            print(c["net"], c["shape"], c["domain"], c["norm"])
        print(f"{len(cs_)} cases")


if __name__ == "__main__":
    main()
