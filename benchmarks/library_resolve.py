"""The library's open problems re-solved by today's default `lipgen run` (issues 20 and 21: which of v1's open
instances close, and how fast), one `lipgen run --json` process per problem, wall time from outside.

    python benchmarks/library_resolve.py run [--time-limit 60] [--norms L1,Linf] [--tag T] [--work /tmp/lipgen-resolve]
        [--still-open]   # only the problems whose last measurement did not close them (with a new --tag)
    python benchmarks/library_resolve.py report > benchmarks/library_resolve_tables.md

A problem is a network, a domain and a pair of norms: v1 holds its upper and its lower instance, both open. It is
run once (v1 has some problems twice, a forward and a backward encoding), from the upper instance's sidecar:
the network file, the domain's `lower`/`upper` and the norms; everything else is `run`'s default. It counts as
closed when the certified gap (upper - lower) / upper is at most CLOSED_GAP, both numbers certified by lipgen.
v1's large problems are published without their files in this repository and cannot be run here (counted apart).
Problems run smallest first (v1's variable count), so a run cut short has measured the most problems.

Results: benchmarks/results/library_resolve.jsonl, one JSON line per problem and key (resumable).
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from split_first import timed_json  # one timed `lipgen --json` process, as split_first.py runs it

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "library_resolve.jsonl"
V1 = ROOT / "instances" / "v1"
LIPGEN = str(Path(sys.executable).with_name("lipgen"))
CLOSED_GAP = 1e-4  # MIPLIB's default relative gap


def problems() -> tuple[list[dict], int]:
    """(the open problems with files, smallest first; how many open problems have no files here)."""
    out, seen, missing = [], set(), set()
    for r in csv.DictReader((V1 / "metadata.csv").open()):
        if r["status"] != "open" or r["bound"] != "upper":
            continue
        key = f"{r['network']}:{r['domain_label']}:{r['norms']}"
        path = V1 / r["folder"] / f"{r['instance']}.json"
        if not path.is_file():
            missing.add(key)
            continue
        if key in seen:
            continue
        seen.add(key)
        sc = json.loads(path.read_text())
        src = ROOT / sc["network"]["source"]
        out.append({"problem": key, "network": r["network"], "domain": r["domain_label"], "norms": r["norms"],
                    "family": r["family"], "h5": str(src if src.is_file() else V1 / sc["network"]["file"]),
                    "alpha": sc["norms"]["input"], "beta": sc["norms"]["output"], "v1_mode": r["mode"],
                    "v1_variables": int(r["variables"]), "lower": sc["domain"]["lower"],
                    "upper": sc["domain"]["upper"]})
    out.sort(key=lambda p: (p["v1_variables"], p["problem"]))
    return out, len(missing - seen)


def lipgen_run(p: dict, limit: float, work: Path) -> dict:
    d = work / p["problem"].replace(":", "__")
    d.mkdir(parents=True, exist_ok=True)
    np.savez(d / "box.npz", lower=np.asarray(p["lower"]), upper=np.asarray(p["upper"]))
    cmd = [LIPGEN, "run", p["h5"], "--input-norm", p["alpha"], "--output-norm", p["beta"], "--box-file",
           str(d / "box.npz"), "--time-limit", f"{limit:g}", "--json", "-o", str(d / "w")]
    s, info = timed_json(cmd, limit)
    if s is None:
        return info
    f = s.get("split_first") or {}
    gap = s.get("gap")
    return {**info, "upper": s.get("upper"), "lower": s.get("best_lower"),
            "gap": gap, "closed": gap is not None and gap <= CLOSED_GAP, "status": s.get("status"),
            "mode": s.get("mode"), "upper_source": s.get("upper_source"), "lower_source": s.get("lower_source"),
            "split_taken": bool(f), "split_closed": f.get("closed"), "command": " ".join(cmd[1:])}


def read_rows() -> list[dict]:
    if not RESULTS.is_file():
        return []
    return [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]


def run(limit: float, work: Path, norms: set[str] | None, tag: str, still_open: bool = False) -> None:
    rows = read_rows()
    done = {r["key"] for r in rows}
    last = {r["problem"]: r for r in rows}
    label = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                           text=True).stdout.strip()
    todo, _ = problems()
    for p in todo:
        if norms and p["norms"] not in norms:
            continue
        if still_open and (p["problem"] not in last or last[p["problem"]].get("closed")):
            continue
        key = f"{p['problem']}|{limit:g}" + (f"|{tag}" if tag else "")
        if key in done:
            continue
        res = lipgen_run(p, limit, work / (tag or "first"))
        row = {"key": key, "time_limit": limit, "tag": tag, "label": label,
               **{k: v for k, v in p.items() if k not in ("lower", "upper", "h5")}, **res}
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with RESULTS.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(json.dumps({k: row.get(k) for k in ("problem", "closed", "gap", "wall", "upper_source")}), flush=True)


def fmt(x, digits=6) -> str:
    if x is None:
        return "–"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def report() -> None:
    todo, missing = problems()
    rows, first = {}, {}
    for r in read_rows():  # the last measurement of each problem counts; the first is shown beside it
        rows[r["problem"]] = r
        first.setdefault(r["problem"], r)
    total = len(todo) + missing
    closed = [r for r in rows.values() if r.get("closed")]
    print(f"v1: {total} open problems ({2 * total} open instances, an upper and a lower each); {len(todo)} with "
          f"files here, {missing} published without files (not run). Measured: {len(rows)}; closed (certified gap "
          f"<= {CLOSED_GAP:g}): **{len(closed)}** of {total} = {len(closed) / total:.0%} of all open problems.\n")
    per = collections.defaultdict(lambda: [0, 0, 0])
    for p in todo:
        r = rows.get(p["problem"])
        per[p["norms"]][0] += 1
        per[p["norms"]][1] += r is not None
        per[p["norms"]][2] += bool(r and r.get("closed"))
    print("| norms | open with files | measured | closed |")
    print("| --- | --- | --- | --- |")
    for k in sorted(per):
        print(f"| {k} | {per[k][0]} | {per[k][1]} | {per[k][2]} |")
    print("\n| problem | family | v1 vars | mode | closed | lower | upper | gap | upper from | wall s | load | limit | code "
          "| first run: gap (code) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for p in todo:
        r = rows.get(p["problem"])
        if r is None:
            continue
        print(f"| {p['problem']} | {p['family']} | {p['v1_variables']} | {r.get('mode')} | "
              f"{'yes' if r.get('closed') else 'no'} | {fmt(r.get('lower'), 10)} | {fmt(r.get('upper'), 10)} | "
              f"{fmt(r.get('gap'), 3)} | {r.get('upper_source') or r.get('error', '')[:60]} | {fmt(r.get('wall'), 3)} | "
              f"{fmt(r.get('load1'), 2)} | {fmt(r.get('time_limit'))} | {r.get('tag') or r.get('label', '')} | "
              + (f"{fmt(f.get('gap'), 3)} ({f.get('label')}) |" if (f := first[p["problem"]]) is not r else "|"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--time-limit", type=float, default=60.0)
    r.add_argument("--work", type=Path, default=Path("/tmp/lipgen-resolve"))
    r.add_argument("--norms", help="comma-separated v1 norm labels (L1, L2, Linf, L1toinf, Linfto2); default: all")
    r.add_argument("--tag", default="", help="part of each result's key: measure the same problems again")
    r.add_argument("--still-open", action="store_true", help="only the problems not closed by their last measurement")
    sub.add_parser("report")
    a = ap.parse_args()
    if a.cmd == "run":
        run(a.time_limit, a.work, set(a.norms.split(",")) if a.norms else None, a.tag, a.still_open)
    else:
        report()


if __name__ == "__main__":
    main()
