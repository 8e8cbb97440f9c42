"""Solve a part of the library with `lipgen solve` and record the campaign (what ran, when, on which machine).

    python instances/solve.py quick                          # v1/quick.test, SCIP, one thread, no time limit
    python instances/solve.py committed --time-limit 10      # every committed instance (v1/instances/)
    python instances/solve.py v1/some.test --time-limit 600  # any list, folder or instance file
    python instances/solve.py quick --solver gurobi          # any solver lipgen runs
    python instances/solve.py quick --library v2             # lipgen-v2 (v2/quick.test, runs in v2/runs/)

The runs go to v1/runs/<solver>/ (their result.json files are kept in the repository: the evidence behind
every value); finished runs with the same settings are reused, as `lipgen solve` always does. Each campaign
appends one entry to v1/runs/campaigns.json: the command, start and end (UTC), the machine (CPU, cores,
memory, load at the start) and what the runs gave. Then `python instances/build.py --values` makes the .solu
(with `lipgen collect`), the metadata and the README.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, UTC
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAMED = {"quick": "quick.test", "benchmark": "benchmark.test", "hard": "hard.test", "all": "all.test",
         "committed": "instances"}


def machine() -> dict:
    """What a reader needs to compare times: CPU model, logical CPUs, memory, OS, load when the campaign began."""
    cpu = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 1024 ** 2, 1)
    except OSError:
        pass
    return {"cpu": cpu or platform.processor() or "?", "logical_cpus": os.cpu_count(), "memory_gb": mem,
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def campaign(cmd: list[str], *, cwd: Path, campaigns: Path, folder: str, solver: str, note: str = "") -> int:
    """Run `lipgen ...` (cmd, with --json) from `cwd` and append what it gave to `campaigns` (a JSON list):
    the command, start and end, the machine, run counts and statuses. -> lipgen's exit code."""
    from lipgen import __version__

    entry = {"command": " ".join(cmd), "folder": folder, "solver": solver, "started": now(), "machine": machine(),
             "lipgen_version": __version__}
    clock = time.perf_counter()
    # run from the library's folder so that result.json files record relative paths
    proc = subprocess.run([sys.executable, "-m", "lipgen", *cmd[1:]], cwd=cwd, stdout=subprocess.PIPE, text=True)
    entry.update(finished=now(), wall_seconds=round(time.perf_counter() - clock, 1), exit_code=proc.returncode)
    try:
        results = json.loads(proc.stdout)
    except json.JSONDecodeError:
        results = []
    if results:
        entry["runs"] = len(results)
        entry["reused"] = sum(bool(r.get("reused")) for r in results)
        entry["statuses"] = dict(sorted(Counter(r.get("status") for r in results).items()))
        entry["solver_seconds"] = round(sum(r.get("time") or 0.0 for r in results if not r.get("reused")), 1)
        versions = sorted({r.get("solver_version") for r in results if r.get("solver_version")})
        entry["solver_version"] = ", ".join(versions)
    if proc.returncode == 2:  # bad input: nothing ran, nothing to record
        return 2
    if note:
        entry["note"] = note
    record(campaigns, entry)
    print(json.dumps({k: v for k, v in entry.items() if k != "machine"}, indent=1))
    return proc.returncode


def record(campaigns: Path, entry: dict) -> None:
    """Append one campaign entry to a campaigns.json (atomically)."""
    from lipgen import atomic

    campaigns.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(campaigns.read_text()) if campaigns.is_file() else []
    atomic.write_json(campaigns, old + [entry])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", help="quick, benchmark, all, committed, or a .test list / folder / instance file")
    parser.add_argument("--solver", default="scip")
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--note", default="", help="a sentence for the README (why this campaign)")
    parser.add_argument("--library", default="v1", choices=("v1", "v2"), help="which library [default: v1]")
    args, extra = parser.parse_known_args(argv)
    lib = HERE / args.library
    target = lib / NAMED[args.what] if args.what in NAMED else Path(args.what).resolve()
    runs = lib / "runs" / args.solver
    cmd = ["lipgen", "solve", os.path.relpath(target, lib), "--solver", args.solver, "--threads", str(args.threads),
           "-o", os.path.relpath(runs, lib), "--json"]
    if args.time_limit is not None:
        cmd += ["--time-limit", f"{args.time_limit:g}"]
    cmd += extra
    code = campaign(cmd, cwd=lib, campaigns=lib / "runs" / "campaigns.json", folder=f"instances/{args.library}",
                    solver=args.solver, note=args.note)
    return code if code == 2 else (0 if code in (0, 1) else code)


if __name__ == "__main__":
    sys.exit(main())
