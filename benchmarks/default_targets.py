"""Issue 20's targets for the default `lipgen run`, measured as a user runs it (one `lipgen run --json` process
per case, wall time from outside, the machine's load recorded).

    python benchmarks/default_targets.py run [--only digits-ball] [--work /tmp/lipgen-targets]
    python benchmarks/default_targets.py report > benchmarks/default_targets.md

Cases (each with lipgen's defaults unless the case says otherwise, SCIP, one thread per solver run, --jobs 2):

- digits-ball: instances/networks/digits-64-32-32-10.h5, l-inf, the catalog's ball test1-r0.05; 60 s limit.
  Target: proved in under 10 s.
- digits-box: the same net on its data box [0, 1]^64, l-inf, 120 s limit. Target: upper at most 829.5 / 2.
- r10x64x64x1: solve_speed.py's ladder net r10x64x64x1s1 on [-1, 1]^10, l-inf, 60 s. Target: gap at most 0.47.
- lipmip-12: the 12 ladder cases where LipMIP ran (solve_speed_tables.md, Gurobi table), 60 s each. Target: all
  proved, total wall time below LipMIP with Gurobi (57 s).

Results go to benchmarks/results/default_targets.jsonl, one JSON line per case and configuration (resumable: a
case already there is not run again; --force reruns).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "instances"))

import networks as library  # noqa: E402
from solve_speed import ladder_networks  # noqa: E402

RESULTS = HERE / "results" / "default_targets.jsonl"
DIGITS = ROOT / "instances" / "networks" / "digits-64-32-32-10.h5"
LIPMIP_CASES = [("2-16-16-1", "r2x16x16x1s1"), ("2-16-16-1", "r2x16x16x1s2"), ("5-16-16-1", "r5x16x16x1s1"),
                ("5-16-16-1", "u5x16x16x1s1"), ("5-16-16-1", "u5x16x16x1s2"), ("4-8-8-8-1", "r4x8x8x8x1s1")]
LIPMIP_GUROBI_TOTAL = 57.0  # s, LipMIP with Gurobi over the 12 cases (issue 20)


def cases(work: Path) -> list[dict]:
    """Every case: name, weights file, domain options, norm, time limit."""
    out = []
    ball = next(b for b in library.load_catalog()["digits-64-32-32-10"]["balls"] if b["label"] == "test1-r0.05")
    box_file = work / "digits-test1-r0.05.npz"
    if not box_file.exists():
        np.savez(box_file, lower=np.array(ball["lower"]), upper=np.array(ball["upper"]))
    out.append(dict(case="digits-ball", weights=DIGITS, domain=["--box-file", str(box_file)], norm="inf", limit=60))
    out.append(dict(case="digits-box", weights=DIGITS, domain=[], norm="inf", limit=120))
    nets = {name: h5 for _, name, _, _, h5, _ in ladder_networks(work)}
    out.append(dict(case="r10x64x64x1", weights=nets["r10x64x64x1s1"], domain=["--box", "-1,1"], norm="inf",
                    limit=60))
    for _, name in LIPMIP_CASES:
        for norm in ("inf", "1"):
            out.append(dict(case=f"lipmip-12/{name}/{norm}", weights=nets[name], domain=["--box", "-1,1"], norm=norm,
                            limit=60))
    return out


def commit() -> str:
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()


def run_case(c: dict, work: Path, extra: list[str], label: str) -> dict:
    folder = work / "runs" / (c["case"].replace("/", "_") + "_".join([""] + extra).replace("-", ""))
    cmd = ["lipgen", "run", str(c["weights"]), *c["domain"], "--norm", c["norm"], "--time-limit", str(c["limit"]),
           "--json", "--force", "-o", str(folder), *extra]
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    row = dict(case=c["case"], config=" ".join(extra) or "default", label=label, wall=round(wall, 3), load=load, exit=p.returncode,
               command=" ".join(cmd))
    try:
        s = json.loads(p.stdout)
    except json.JSONDecodeError:
        return dict(row, error=(p.stderr.strip().splitlines() or ["no output"])[-1])
    keep = ("status", "upper", "best_lower", "gap", "mode", "upper_source", "solver")
    return dict(row, **{k: s.get(k) for k in keep},
                solve_times={k: v.get("time") for k, v in (s.get("problems") or {}).items()})


def cmd_run(args) -> None:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    done = set()
    if RESULTS.exists() and not args.force:
        done = {(r["case"], r["config"], r["label"]) for r in map(json.loads, RESULTS.read_text().splitlines())}
    label = args.label or commit()
    configs = [[]] + [c.split() for c in args.config]
    for c in cases(work):
        if args.only and not any(c["case"].startswith(o) for o in args.only):
            continue
        for extra in configs:
            if (c["case"], " ".join(extra) or "default", label) in done:
                continue
            row = run_case(c, work, extra, label)
            print(json.dumps(row), flush=True)
            with open(RESULTS, "a") as f:
                f.write(json.dumps(row) + "\n")


def fmt(x, digits=6) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


def cmd_report(args) -> None:
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines()] if RESULTS.exists() else []
    print("| case | code | configuration | mode | status | upper | best lower | gap | wall s | load |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['case']} | {r['label']} | {r['config']} | {r.get('mode') or '-'} | {r.get('status') or r.get('error')} | "
              f"{fmt(r.get('upper'))} | {fmt(r.get('best_lower'))} | {fmt(r.get('gap'), 3)} | {r['wall']:.1f} | "
              f"{r['load']:.1f} |")
    for label, config in dict.fromkeys((r["label"], r["config"]) for r in rows):
        twelve = [r for r in rows if r["case"].startswith("lipmip-12/") and (r["label"], r["config"]) == (label, config)]
        if twelve:
            proved = sum(1 for r in twelve if r.get("gap") is not None and r["gap"] <= 1e-4)
            print(f"\nlipmip-12 ({label}, {config}): {proved} of {len(twelve)} proved, total wall "
                  f"{sum(r['wall'] for r in twelve):.1f} s (LipMIP with Gurobi: {LIPMIP_GUROBI_TOTAL:.0f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--work", default="/tmp/lipgen-targets")
    r.add_argument("--only", action="append")
    r.add_argument("--config", action="append", default=[], help="extra `lipgen run` options, e.g. '--mode race'")
    r.add_argument("--force", action="store_true")
    r.add_argument("--label", help="names the code measured (default: the git commit)")
    sub.add_parser("report")
    args = ap.parse_args()
    {"run": cmd_run, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    main()
