"""The SDP bound's solvers side by side: lipgen's barrier method against Clarabel (lipgen/bounds/sdp.py).

    python benchmarks/sdp_speed.py run       # benchmarks/results/sdp_speed.json
    python benchmarks/sdp_speed.py report    # the Markdown table of sdp_speed.md

For every network of instances/networks/ on its stored box (l2 -> l2, linear pre-activation bounds): the matrix
order d (inputs plus neurons not stably inactive), the barrier method's certified bound and time (its centres,
the float64 check included), and Clarabel's (the same check) where d <= --clarabel-max (Clarabel's time grows
with d^4: past 130 it takes minutes). Both bounds pass the same float64 check; the ratio says how close the
barrier's is to Clarabel's. One process, one network after the other, on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lipgen.bounds import interval_bounds, stabilities  # noqa: E402
from lipgen.bounds import sdp  # noqa: E402
from lipgen.io import load  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "sdp_speed.json"


def measure(name: str, clarabel_max: int) -> dict:
    net = load(ROOT / "instances" / "networks" / f"{name}.h5")
    lo, hi = np.asarray(net.domain_lower, float), np.asarray(net.domain_upper, float)
    stab = stabilities(net, interval_bounds(net, lo, hi))
    ws = sdp._kept(net, stab)
    d, offsets, g, v = sdp._pieces(ws)
    row: dict = {"net": name, "order": d, "kept_neurons": len(v)}
    if not len(v) or d > sdp.MAX_DIM:
        return row
    started = time.perf_counter()
    found = sdp.best_barrier(d, offsets, g, v, ws)
    row["barrier_s"] = time.perf_counter() - started
    row["barrier"] = found[0] if found else None
    if d <= clarabel_max:
        started = time.perf_counter()
        sol = sdp._solve(d, offsets, g, v, ws[-1], 0.0)
        done = None if sol is None else sdp._certify(d, offsets, g, v, ws[-1], sol)
        row["clarabel_s"] = time.perf_counter() - started
        row["clarabel"] = None if done is None else done[0]
    return row


def cmd_run(args) -> None:
    names = sorted(p.stem for p in (ROOT / "instances" / "networks").glob("*.h5"))
    rows = []
    for name in names:
        r = measure(name, args.clarabel_max)
        rows.append(r)
        print(json.dumps(r), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    out = {"load1": os.getloadavg()[0], "rows": rows}
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=1))
    tmp.replace(RESULTS)


def fmt(v, nd=7) -> str:
    return "-" if v is None else f"{v:.{nd}g}"


def cmd_report(_args) -> None:
    data = json.loads(RESULTS.read_text())
    print("| network | order d | barrier bound | barrier s | Clarabel bound | Clarabel s | barrier / Clarabel - 1 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in sorted(data["rows"], key=lambda r: r["order"]):
        b, c = r.get("barrier"), r.get("clarabel")
        ratio = f"{b / c - 1:.1e}" if b and c else "-"
        print(f"| {r['net']} | {r['order']} | {fmt(b, 10)} | {fmt(r.get('barrier_s'), 3)} | {fmt(c, 10)} | "
              f"{fmt(r.get('clarabel_s'), 3)} | {ratio} |")
    print(f"\n1-minute load at the end: {data['load1']:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--clarabel-max", type=int, default=130)
    sub.add_parser("report")
    args = ap.parse_args()
    {"run": cmd_run, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    main()
