"""`lipgen run --split auto` (issue 21: `run` uses splitting when it pays), measured as a user runs it: one
`lipgen run --json` process per case and configuration, wall time from outside, the machine's load recorded.

    python benchmarks/split_first.py run [--only balls|library] [--all] [--time-limit 60] [--work /tmp/lipgen-split-first]
        [--busy N --tag loaded]   # N busy-looping processes beside each run (a loaded machine); tag: a new key
        [--max-unstable N --no-always]   # library: problems with up to N unstable neurons, no --split always twins
    python benchmarks/split_first.py report > benchmarks/split_first_tables.md

Cases:
- balls: issue 21's two l2 references, digits-64-16-10 test0-r0.01 and digits-64-32-32-10 test1-r0.05, with the
  default (`--split auto`) and with `--split never` (the MIPs alone, what `run` did before), side by side.
- library: every open l2 problem of instances/v1 (its upper instances' network and domain; `--all`: the easy ones
  too); the unstable neurons at the root (linear bounds) counted for all; the default run for those with at most 25
  (the issue's target: all of them closed), and `--split always` for those the rule puts beside the MIPs (17 to 25
  unstable).

Results: benchmarks/results/split_first.jsonl, one JSON line per case and configuration (resumable).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "split_first.jsonl"
V1 = ROOT / "instances" / "v1"
NETWORKS = ROOT / "instances" / "networks"
LIPGEN = str(Path(sys.executable).with_name("lipgen"))
BALLS = [("digits-64-16-10", "test0-r0.01"), ("digits-64-32-32-10", "test1-r0.05")]
MAX_UNSTABLE = 25


def catalog_ball(net: str, label: str) -> tuple[np.ndarray, np.ndarray]:
    for e in json.loads((NETWORKS / "catalog.json").read_text())["networks"]:
        if e["name"] == net:
            b = next(b for b in e["balls"] if b["label"] == label)
            return np.asarray(b["lower"], float), np.asarray(b["upper"], float)
    raise KeyError(net)


def library_cases() -> list[dict]:
    """(network, domain) of every l2 upper instance of v1, its domain from the sidecar."""
    out = []
    for r in csv.DictReader((V1 / "metadata.csv").open()):
        if r["norms"] != "L2" or r["bound"] != "upper":
            continue
        path = V1 / r["folder"] / f"{r['instance']}.json"
        if not path.is_file():  # v1's large instances are published without their files in this repository
            continue
        sc = json.loads(path.read_text())
        src = ROOT / sc["network"]["source"]
        if not src.is_file():
            src = V1 / sc["network"]["file"]
        out.append({"case": f"{r['network']}:{r['domain_label']}", "net": r["network"], "h5": str(src),
                    "domain": r["domain_label"], "lower": sc["domain"]["lower"], "upper": sc["domain"]["upper"],
                    "v1_status": r["status"], "v1_time": r["time"]})
    return out


def unstable(h5: str, lower, upper) -> int:
    from lipgen.bounds import compute_bounds, stabilities
    from lipgen.io import load
    net = load(h5)
    return int(sum(s.unstable.sum() for s in stabilities(net, compute_bounds(net, np.asarray(lower, float),
                                                                              np.asarray(upper, float), "linear"))))


def timed_json(cmd: list[str], limit: float) -> tuple[dict | None, dict]:
    """One `lipgen ... --json` process timed from outside: (its JSON or None, {exit, wall, load1[, error]})."""
    load1 = os.getloadavg()[0]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=4 * limit + 600)
    info = {"exit": p.returncode, "wall": time.perf_counter() - t0, "load1": load1}
    try:
        return json.loads(p.stdout), info
    except json.JSONDecodeError:
        return None, {"error": p.stderr[-400:], **info}


def lipgen_run(case: dict, split: str, limit: float, work: Path) -> dict:
    d = work / f"{case['case'].replace(':', '__')}__{split}"
    d.mkdir(parents=True, exist_ok=True)
    np.savez(d / "box.npz", lower=np.asarray(case["lower"]), upper=np.asarray(case["upper"]))
    cmd = [LIPGEN, "run", case["h5"], "--norm", "2", "--box-file", str(d / "box.npz"), "--time-limit", str(limit),
           "--split", split, "--json", "-o", str(d / "w")]
    s, info = timed_json(cmd, limit)
    if s is None:
        return info
    f = s.get("split_first") or {}
    return {**info, "upper": s["upper"], "lower": s["best_lower"],
            "gap": s["gap"], "status": s["status"], "mode": s["mode"], "upper_source": s["upper_source"],
            "lower_source": s["lower_source"], "split_taken": bool(f), "split_closed": f.get("closed"),
            "split_seconds": f.get("seconds"), "split_reason": f.get("reason"), "command": " ".join(cmd[1:])}


def done_keys() -> set[str]:
    if not RESULTS.is_file():
        return set()
    return {json.loads(line)["key"] for line in RESULTS.read_text().splitlines() if line.strip()}


def record(row: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as fh:
        fh.write(json.dumps(row) + "\n")
    print(json.dumps({k: row.get(k) for k in ("key", "unstable", "status", "gap", "wall", "split_closed")}),
          flush=True)


def busy_loops(n: int) -> list[subprocess.Popen]:
    """n processes that only burn CPU: the load of a machine shared with other work, made on purpose."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def run(only: str | None, limit: float, work: Path, all_library: bool = False, busy: int = 0, tag: str = "",
        max_unstable: int = MAX_UNSTABLE, always: bool = True) -> None:
    done = done_keys()
    label = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                           text=True).stdout.strip()
    todo = []
    if only in (None, "balls"):
        for net, ball in BALLS:
            lo, hi = catalog_ball(net, ball)
            c = {"case": f"{net}:{ball}", "net": net, "h5": str(NETWORKS / f"{net}.h5"), "domain": ball,
                 "lower": lo.tolist(), "upper": hi.tolist(), "set": "balls"}
            todo += [(c, "auto"), (c, "never")]
    if only in (None, "library"):
        for c in library_cases():
            if all_library or c["v1_status"] != "easy":  # v1's easy ones were closed by the MIPs already
                c["set"] = "library"
                todo.append((c, None))
    for c, split in todo:
        n = unstable(c["h5"], c["lower"], c["upper"])
        configs = [split] if split else (["auto"] + (["always"] if 16 < n <= MAX_UNSTABLE and always else [])
                                         if n <= max_unstable else [])
        if not configs:
            key = f"{c['set']}|{c['case']}|skipped"
            if key not in done:
                record({"key": key, "set": c["set"], "case": c["case"], "unstable": n, "skipped": True,
                        "label": label, **{k: c.get(k) for k in ("v1_status", "v1_time")}})
            continue
        for cfg in configs:
            key = f"{c['set']}|{c['case']}|{cfg}|{limit:g}" + (f"|{tag}" if tag else "")
            if key in done:
                continue
            loops = busy_loops(busy)
            try:
                res = lipgen_run(c, cfg, limit, work)
            finally:
                for p in loops:
                    p.kill()
            done.add(key)  # v1 has some network and domain twice (both modes): measured once
            record({"key": key, "set": c["set"], "case": c["case"], "split": cfg, "time_limit": limit, "unstable": n,
                    "busy": busy, "tag": tag,
                    "label": label, **{k: c.get(k) for k in ("v1_status", "v1_time")}, **res})


def fmt(x, digits=6) -> str:
    if x is None:
        return "–"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def report() -> None:
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    print("| set | case | unstable | --split | exit | status | lower | upper | gap | wall s | tree s | load | busy | code |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        if r.get("skipped"):
            print(f"| {r['set']} | {r['case']} | {r['unstable']} | (not run: > {MAX_UNSTABLE} unstable) | | "
                  f"v1: {r.get('v1_status')} | | | | | | | | {r.get('label', '')} |")
            continue
        print(f"| {r['set']} | {r['case']} | {r['unstable']} | {r['split']} | {r.get('exit')} | {r.get('status')} | "
              f"{fmt(r.get('lower'), 10)} | {fmt(r.get('upper'), 10)} | {fmt(r.get('gap'), 3)} | "
              f"{fmt(r.get('wall'), 3)} | {fmt(r.get('split_seconds'), 3)} | {fmt(r.get('load1'), 2)} | "
              f"{r.get('busy', 0)} | {r.get('tag') or r.get('label', '')} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--only", choices=["balls", "library"])
    r.add_argument("--time-limit", type=float, default=60.0)
    r.add_argument("--work", type=Path, default=Path("/tmp/lipgen-split-first"))
    r.add_argument("--all", action="store_true", help="library: v1's easy instances too (default: the open ones)")
    r.add_argument("--busy", type=int, default=0, help="busy-looping processes beside each run (a loaded machine)")
    r.add_argument("--tag", default="", help="part of each result's key: measure the same cases again")
    r.add_argument("--no-always", action="store_true", help="library: no `--split always` twin of the default run")
    r.add_argument("--max-unstable", type=int, default=MAX_UNSTABLE,
                   help="library: run the problems with at most this many unstable neurons at the root")
    sub.add_parser("report")
    a = ap.parse_args()
    if a.cmd == "run":
        run(a.only, a.time_limit, a.work, a.all, a.busy, a.tag, a.max_unstable, not a.no_always)
    else:
        report()


if __name__ == "__main__":
    main()
