"""lipgen's `generate` and writer side by side with gurobipy, highspy, cplex and PuLP on the same models.

Usage:
    python benchmarks/compare_writers.py run [--rounds 3] [--out benchmarks/results/compare.jsonl]
    python benchmarks/compare_writers.py report [--out ...]      (Markdown tables for README.md)

Every measurement is its own process, started under /usr/bin/time (wall time and peak RSS), with
the load average read just before. Rounds are interleaved (every size, norm and tool once per
round, the tool order rotated each round) so a change of machine load hits all tools alike.

Measured, per network (random weights, box [0,1]^n) and norm (inf, 2):
  generate     `lipgen generate NET --box 0,1 --norm N` as a user runs it: both files, anchors,
               sidecars, process start-up included
  lipgen       lipgen's build (network -> both Models) and write (two .mps files), writer_child.py
  lipgen-lp    the same with two .lp files
  lipgen-gz    the same with two .mps.gz files
  gurobipy, gurobipy-gz, highspy, cplex, pulp
               the two Models passed through each API's bulk interface, then its own MPS writer
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SIZES = [(100, [200, 200], 10), (784, [256, 256], 10), (784, [1024, 1024], 10)]
NORMS = ["inf", "2"]
TOOLS = ["generate", "lipgen", "lipgen-lp", "lipgen-gz", "gurobipy", "gurobipy-gz", "highspy", "cplex", "pulp"]
DEFAULT_OUT = HERE / "results" / "compare.jsonl"


def label(size) -> str:
    n_in, hidden, n_out = size
    return "-".join(map(str, [n_in, *hidden, n_out]))


def make_network(size, path: Path) -> None:
    from lipgen.network import Network
    from lipgen.io import save

    n_in, hidden, n_out = size
    rng = np.random.default_rng(0)
    dims = [n_in] + hidden + [n_out]
    ws = [rng.normal(size=(dims[k + 1], dims[k])) / np.sqrt(dims[k]) for k in range(len(dims) - 1)]
    bs = [rng.normal(scale=0.1, size=dims[k + 1]) for k in range(len(dims) - 1)]
    save(path, Network(ws, bs, name=f"bench{label(size)}"))


def timed(cmd: list[str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in kB, stdout) of one command under /usr/bin/time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        run = subprocess.run(["/usr/bin/time", "-o", tf.name, "-f", "%e %M", *cmd], capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"{cmd} failed:\n{run.stderr[-2000:]}")
        wall, rss = tf.read().split()[-2:]
    return float(wall), int(rss), run.stdout


def measure(tool: str, net: Path, norm: str, work: Path) -> dict:
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    if tool == "generate":
        wall, rss, _ = timed([sys.executable, "-m", "lipgen", "generate", str(net), "-o", str(out), "--box", "0,1",
                              "--norm", norm])
        size = sum(p.stat().st_size for p in out.glob("*.mps"))
        rec = {"build_s": None, "write_s": None, "bytes": size, "note": ""}
    else:
        wall, rss, stdout = timed([sys.executable, str(HERE / "writer_child.py"), tool, str(net), norm, str(out)])
        rec = json.loads(stdout.strip().splitlines()[-1])
    shutil.rmtree(out, ignore_errors=True)
    rec.update(tool=tool, wall_s=wall, peak_mb=rss / 1024)
    return rec


def run(rounds: int, out_path: Path, sizes, tools) -> None:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="lipgen-bench-"))
    nets = {}
    for size in sizes:
        nets[label(size)] = work / f"net{label(size)}.h5"
        make_network(size, nets[label(size)])
    machine = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "uname": " ".join(os.uname())}
    with out_path.open("a") as fh:
        for r in range(rounds):
            order = tools[r % len(tools):] + tools[:r % len(tools)]
            for size in sizes:
                for norm in NORMS:
                    for tool in order:
                        load1 = os.getloadavg()[0]
                        rec = measure(tool, nets[label(size)], norm, work)
                        rec.update(round=r, network=label(size), norm=norm, load1=load1, time=time.time(),
                                   machine=machine)
                        fh.write(json.dumps(rec) + "\n")
                        fh.flush()
                        print(f"round {r} {label(size)} {norm} {tool}: wall {rec['wall_s']:.2f} s, "
                              f"peak {rec['peak_mb']:.0f} MB, load {load1:.2f}", flush=True)
    shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ report
def _med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _fmt(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def _span(values) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    med = statistics.median(values)
    return f"{med:.2f}" if len(values) < 2 else f"{med:.2f} ({min(values):.2f}-{max(values):.2f})"


def report(out_path: Path) -> str:
    """Medians (min-max over rounds) per network and norm; ratios against gurobipy's build+write."""
    recs = [json.loads(line) for line in out_path.read_text().splitlines() if line.strip()]
    by: dict = {}
    for r in recs:
        by.setdefault((r["network"], r["norm"], r["tool"]), []).append(r)
    nets = sorted({r["network"] for r in recs}, key=lambda s: [int(x) for x in s.split("-")])
    loads = [r["load1"] for r in recs]
    lines = [f"{len(recs)} measurements in {len({r['round'] for r in recs})} interleaved rounds; 1-minute load "
             f"average just before each: min {min(loads):.2f}, median {statistics.median(loads):.2f}, "
             f"max {max(loads):.2f} (2 cores).", ""]
    for net in nets:
        for norm in NORMS:
            rows = {t: by.get((net, norm, t), []) for t in TOOLS}
            if not any(rows.values()):
                continue
            nnz = next((r["nonzeros"] for t in TOOLS for r in rows[t] if r.get("nonzeros")), None)

            def bw(r):
                return r["wall_s"] if r["tool"] == "generate" else r["build_s"] + r["write_s"]

            gur = _med([bw(r) for r in rows["gurobipy"]])
            gur_wall = _med([r["wall_s"] for r in rows["gurobipy"]])
            ref_mem = max(_med([r["peak_mb"] for r in rows[t]]) or 0 for t in ("gurobipy", "highspy")) or None
            lines += [f"#### {net}, l{norm} (two models, {nnz} nonzeros)", "",
                      "| tool | build+write s | build s | write s | text MB/s | write ns/nonzero | x gurobipy | process s | "
                      "x gurobipy process | peak MB | x max(gurobipy, HiGHS) | file MB | load | note |",
                      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
            for t in TOOLS:
                rs = rows[t]
                if not rs:
                    continue
                plain = rows.get(t.replace("-gz", ""), []) if t.endswith("-gz") else rs
                text_mb = _med([r["bytes"] for r in plain]) / 1e6 if plain else None
                rate = None if t == "generate" or text_mb is None else _med([text_mb / r["write_s"] for r in rs])
                main = _med([bw(r) for r in rs])
                wall = _med([r["wall_s"] for r in rs])
                mem = _med([r["peak_mb"] for r in rs])
                lines.append(
                    f"| {t} | {_span([bw(r) for r in rs]) if t != 'generate' else '-'} | "
                    f"{_fmt(_med([r['build_s'] for r in rs]))} | {_fmt(_med([r['write_s'] for r in rs]))} | "
                    f"{_fmt(rate, 0)} | {_fmt(_med([1e9 * r['write_s'] / nnz for r in rs]) if nnz and t != 'generate' else None, 0)} | "
                    f"{_fmt(main / gur if gur else None)} | {_span([r['wall_s'] for r in rs])} | "
                    f"{_fmt(wall / gur_wall if gur_wall else None)} | {_fmt(mem, 0)} | "
                    f"{_fmt(mem / ref_mem if ref_mem else None)} | {_fmt(_med([r['bytes'] for r in rs]) / 1e6, 1)} | "
                    f"{min(r['load1'] for r in rs):.1f}-{max(r['load1'] for r in rs):.1f} | {rs[0].get('note', '')} |")
            lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["run", "report"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--sizes", default=None, help="comma-separated labels, e.g. 784-256-256-10")
    ap.add_argument("--tools", default=None, help="comma-separated subset of " + ",".join(TOOLS))
    args = ap.parse_args()
    sizes = SIZES if not args.sizes else [s for s in SIZES if label(s) in args.sizes.split(",")]
    tools = TOOLS if not args.tools else [t for t in TOOLS if t in args.tools.split(",")]
    if args.action == "run":
        run(args.rounds, args.out, sizes, tools)
    else:
        print(report(args.out))


if __name__ == "__main__":
    main()
