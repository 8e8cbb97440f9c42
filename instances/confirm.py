"""Two-solver confirmation: re-solve every instance that one solver solved with a solver of another family.

    python instances/confirm.py                      # v2: runs under v2/runs/, instances of v2's all.test
    python instances/confirm.py --dry-run            # which instances, which second solver
    python instances/confirm.py --runs DIR --instances DIR --time-limit 3600

The second solver is the first of SECOND_SOLVERS that the instance's sidecar accepts (its "solvers" field),
that has no solved run yet and whose free licence takes the instance's size (Gurobi's pip licence, CPLEX's
community edition). Runs go to RUNS/<solver>/ through `lipgen solve`, which reuses finished runs: re-running
resumes. Then tiers.classify decides (agreement within 1e-6 relative, each dual bound confirming); the result
is printed and written to RUNS/confirmations.json.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import tiers  # noqa: E402

from lipgen import atomic  # noqa: E402
from lipgen.report.gather import Run, gather  # noqa: E402

SECOND_SOLVERS = ("scip", "highs", "gurobi", "cplex", "cbc")
SIZE_LIMITS = {"gurobi": 2000, "cplex": 1000}  # free licences: variables and constraints each


def fits(solver: str, sidecar: dict) -> bool:
    """The sidecar accepts the solver and its free licence takes the instance's size."""
    ok = ((sidecar.get("solvers") or {}).get(solver) or {}).get("ok", False)
    st = sidecar.get("statistics") or {}
    limit = SIZE_LIMITS.get(solver)
    small = limit is None or max(st.get("variables", 0), st.get("constraints", 0)) <= limit
    return bool(ok) and small


def second_solver(runs: list[Run]) -> str | None:
    """The solver to confirm a single-solver value with, None when none fits."""
    sidecar = next((r.sidecar for r in runs if r.sidecar), None) or {}
    tried = {r.solver for r in runs}
    return next((s for s in SECOND_SOLVERS if s not in tried and fits(s, sidecar)), None)


def plan(runs_dir: Path, instance_dirs: list[Path]) -> tuple[dict[str, list[Path]], dict[str, tiers.Tier]]:
    """{solver: instance files to re-solve}, and every instance's current tier."""
    by_name: dict[str, list[Run]] = defaultdict(list)
    for r in gather([runs_dir], instance_dirs).runs if any(runs_dir.rglob("result.json")) else []:
        by_name[r.name].append(r)
    todo: dict[str, list[Path]] = defaultdict(list)
    found = {name: tiers.classify(group) for name, group in by_name.items()}
    for name, tier in found.items():
        solver = second_solver(by_name[name]) if tier.pending else None
        path = next((r.sidecar_path for r in by_name[name] if r.sidecar_path), None)
        if solver and path:
            todo[solver].append(path.with_name(path.name.removesuffix(".json") + ".mps.gz"))
    return dict(todo), found


def run_second(solver: str, files: list[Path], runs_dir: Path, time_limit: float | None) -> int:
    """`lipgen solve` over a .test list of the files (finished runs are reused)."""
    listing = runs_dir / f"confirm-{solver}.test"
    atomic.write_text(listing, "".join(f"{f.resolve()}\n" for f in files))
    cmd = [sys.executable, "-m", "lipgen", "solve", str(listing), "--solver", solver, "--threads", "1",
           "-o", str(runs_dir / solver)]
    if time_limit is not None:
        cmd += ["--time-limit", f"{time_limit:g}"]
    return subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode


def summary(found: dict[str, tiers.Tier]) -> dict:
    return {name: {"status": t.status, "value": t.value, "confirmed_by": list(t.confirmed_by), "how": t.how,
                   "pending": t.pending, "disagreements": t.disagreements} for name, t in sorted(found.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, default=HERE / "v2" / "runs")
    parser.add_argument("--instances", type=Path, action="append", default=[])
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    dirs = args.instances or [d for d in (HERE / "v2" / "instances", HERE / "v1" / "instances") if d.is_dir()]
    todo, found = plan(args.runs, dirs)
    for solver, files in todo.items():
        print(f"{solver}: {len(files)} instances")
        if not args.dry_run:
            run_second(solver, files, args.runs, args.time_limit)
    if not args.dry_run:
        _, found = plan(args.runs, dirs)
        atomic.write_json(args.runs / "confirmations.json", summary(found))
    counts: dict[str, int] = defaultdict(int)
    for t in found.values():
        counts[t.status] += 1
    print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())),
          f"; disagreements: {sum(bool(t.disagreements) for t in found.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
