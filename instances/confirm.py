"""Two-solver confirmation: re-solve every instance that one solver solved with a solver of another family.

    python instances/confirm.py                      # v2: runs under v2/runs/, instances of v2's all.test
    python instances/confirm.py --dry-run            # which instances, which second solver
    python instances/confirm.py --runs DIR --instances DIR --time-limit 3600 --jobs 2
    python instances/confirm.py --only gurobi        # one second solver (the others wait for another call)

The second solver is the first of SECOND_SOLVERS that the instance's sidecar accepts (its "solvers" field),
that has no solved run yet and whose free licence takes the instance's size (Gurobi's pip licence, CPLEX's
community edition). Runs go to RUNS/<solver>/ through `lipgen solve`, which reuses finished runs: re-running
resumes; each call is recorded in RUNS/campaigns.json. v2's default also reads v1's runs (v1/runs/), so v1's
single-solver values get their second solver; the new runs still go to v2/runs/. Then tiers.classify decides
(incumbents within 1e-6 relative, each run solved to that gap); the result is printed and written to
RUNS/confirmations.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import layout_v2 as v2  # noqa: E402
import tiers  # noqa: E402

from lipgen import atomic  # noqa: E402
from lipgen.report.gather import Run, gather  # noqa: E402

SECOND_SOLVERS = ("scip", "highs", "gurobi", "cplex", "cbc")
SIZE_LIMITS = {"gurobi": 2000, "cplex": 1000}  # free licences: variables and constraints each
QUADRATIC_LIMITS = {"gurobi": 200}  # Gurobi's pip licence once any quadratic term exists (its Error 10010)


def fits(solver: str, sidecar: dict) -> bool:
    """The sidecar accepts the solver and its free licence takes the instance's size."""
    ok = ((sidecar.get("solvers") or {}).get(solver) or {}).get("ok", False)
    st = sidecar.get("statistics") or {}
    quadratic = any(st.get(k) for k in ("quadratic_constraints", "quadratic_objective_terms",
                                        "quadratic_constraint_terms"))
    limit = (QUADRATIC_LIMITS if quadratic else SIZE_LIMITS).get(solver, SIZE_LIMITS.get(solver))
    small = limit is None or max(st.get("variables", 0), st.get("constraints", 0)) <= limit
    return bool(ok) and small


def second_solver(runs: list[Run]) -> str | None:
    """The solver to confirm a single-solver value with, None when none fits."""
    sidecar = next((r.sidecar for r in runs if r.sidecar), None) or {}
    tried = {r.solver for r in runs}
    return next((s for s in SECOND_SOLVERS if s not in tried and fits(s, sidecar)), None)


def runs_by_instance(roots: tuple[Path, ...], instance_dirs: list[Path]) -> dict[str, list[Run]]:
    """Every accepted run under the runs folders `roots` (those that exist and hold any), by instance name."""
    by_name: dict[str, list[Run]] = defaultdict(list)
    found = [d for d in roots if d.is_dir() and any(d.rglob("result.json"))]
    for r in gather(found, instance_dirs).runs if found else []:
        by_name[r.name].append(r)
    return dict(by_name)


def plan(runs_dir: Path, instance_dirs: list[Path], also: tuple[Path, ...] = ()
         ) -> tuple[dict[str, list[Path]], dict[str, tiers.Tier]]:
    """{solver: instance files to re-solve}, and every instance's current tier (from the runs under runs_dir
    and the folders `also`)."""
    by_name = runs_by_instance((runs_dir, *also), instance_dirs)
    todo: dict[str, list[Path]] = defaultdict(list)
    found = {name: tiers.classify(group) for name, group in by_name.items()}
    for name, tier in found.items():
        solver = second_solver(by_name[name]) if tier.pending else None
        path = next((r.sidecar_path for r in by_name[name] if r.sidecar_path), None)
        if solver and path:
            todo[solver].append(path.with_name(path.name.removesuffix(".json") + ".mps.gz"))
    return dict(todo), found


def run_second(solver: str, files: list[Path], runs_dir: Path, time_limit: float | None, jobs: int = 1) -> int:
    """`lipgen solve` over a .test list of the files (finished runs are reused), recorded as a campaign in
    RUNS/campaigns.json."""
    import solve

    listing = runs_dir / f"confirm-{solver}.test"
    atomic.write_text(listing, "".join(f"{os.path.relpath(f.resolve(), runs_dir)}\n" for f in files))
    cmd = ["lipgen", "solve", os.path.relpath(listing, runs_dir.parent), "--solver", solver, "--threads", "1",
           "-o", os.path.relpath(runs_dir / solver, runs_dir.parent), "--jobs", str(jobs), "--json"]
    if time_limit is not None:
        cmd += ["--time-limit", f"{time_limit:g}"]
    with contextlib.redirect_stdout(io.StringIO()):
        return solve.campaign(cmd, cwd=runs_dir.parent, campaigns=runs_dir / "campaigns.json",
                              folder=os.path.relpath(runs_dir.parent, HERE.parent), solver=solver,
                              note=f"second solver: {len(files)} instances that one family solved")


def summary(found: dict[str, tiers.Tier]) -> dict:
    return {name: {"status": t.status, "value": t.value, "confirmed_by": list(t.confirmed_by), "how": t.how,
                   "pending": t.pending, "disagreements": t.disagreements} for name, t in sorted(found.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, default=HERE / "v2" / "runs")
    parser.add_argument("--instances", type=Path, action="append", default=[])
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--jobs", type=int, default=1, help="solver runs at the same time [default: 1]")
    parser.add_argument("--only", choices=SECOND_SOLVERS, help="run this second solver only")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    default = args.instances == []
    dirs = args.instances or v2.instance_dirs()
    also = (HERE / "v1" / "runs",) if default and args.runs == HERE / "v2" / "runs" else ()
    todo, found = plan(args.runs, dirs, also)
    for solver, files in todo.items():
        print(f"{solver}: {len(files)} instances" + ("" if args.only in (None, solver) else " (not now: --only)"))
        if not args.dry_run and args.only in (None, solver):
            run_second(solver, files, args.runs, args.time_limit, args.jobs)
    if not args.dry_run:
        _, found = plan(args.runs, dirs, also)
        atomic.write_json(args.runs / "confirmations.json", summary(found))
    counts: dict[str, int] = defaultdict(int)
    for t in found.values():
        counts[t.status] += 1
    print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())),
          f"; disagreements: {sum(bool(t.disagreements) for t in found.values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
