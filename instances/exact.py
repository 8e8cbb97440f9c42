"""Exact values by lipgen's split tree: a family of its own (tiers.family "exact") that confirms one solver's
value where no second solver takes the instance (a free licence's size limit, a problem class HiGHS lacks).

    python instances/exact.py                        # v2: every open instance that a solver solved
    python instances/exact.py --time-limit 120 --dry-run
    python instances/exact.py --unsolved --time-limit 5   # also open instances no run solved (hard-tier candidates)
    python instances/exact.py --runs DIR --instances DIR

For each such instance (one family's value awaiting its second, or solvers that disagree), the tree bounds L of
the instance's own network copy (a margin folded in), domain and norms. Only a closed tree (certified lower and upper within EXACT_REL_GAP, every leaf's norm computed, not
merely bounded) gives a record: RUNS/exact/<instance stem>__exact/result.json, with the instance's checksum, the
objective values of the certified lower (primal) and upper (dual) bound of L, and `"split": {"exact": true}`.
Such a record states the value of L; tiers.classify counts it as confirming a solver's value when the two agree
within tiers.AGREE_REL_TOL (a lower instance whose strict eps cuts a thin region shows up as a disagreement).
Instances already recorded, or tried without success with at least the same --time-limit (RUNS/exact/tried.json),
are skipped, so a re-run resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import confirm  # noqa: E402
import layout_v2 as v2  # noqa: E402
import solve  # noqa: E402
import tiers  # noqa: E402

from lipgen import atomic  # noqa: E402

SOLVER = "exact"
EXACT_REL_GAP = 1e-9  # well inside tiers.AGREE_REL_TOL: the tree's value is the value


def record(sidecar: dict, sidecar_path: Path, time_limit: float) -> dict | None:
    """The exact record of one instance, or None when the tree does not close within `time_limit`."""
    from lipgen.formulation import objective_from_lipschitz
    from lipgen.instance.sidecar import box_of, network_of
    from lipgen.split.tree import split

    net = network_of(sidecar, sidecar_path)
    alpha, beta = sidecar["norms"]["input"], sidecar["norms"]["output"]
    clock = time.perf_counter()
    res = split(net, box_of(sidecar), alpha, beta, rel_gap=EXACT_REL_GAP, time_budget=time_limit,
                node_budget=10**6)
    seconds = time.perf_counter() - clock
    if res.status != "closed" or res.gap > EXACT_REL_GAP:
        return None
    transform, scale = sidecar["objective_transform"], sidecar["scaling"]["objective_scale"]
    bound = sidecar["bound"]
    return {"solver": SOLVER, "solver_version": "lipgen split tree", "status": "optimal", "bound": bound,
            "instance": sidecar["instance"], "instance_sha256": sidecar["instance_sha256"],
            "instance_path": str(Path(sidecar_path).with_name(sidecar["instance"])),
            "primal": objective_from_lipschitz(res.lower, transform, scale),
            "dual": objective_from_lipschitz(res.upper, transform, scale), "time": seconds,
            "lipschitz": {"bound": bound, "lower": res.lower, "upper": res.upper},
            "options": {"threads": 1, "time_limit": time_limit},
            "split": {"exact": True, **{k: v for k, v in res.to_dict().items() if k not in ("lower", "upper")}}}


def pending(runs_dir: Path, instance_dirs: list[Path], also: tuple[Path, ...], unsolved: bool = False
            ) -> list[tuple[str, Path]]:
    """(instance name, sidecar path) of every open instance that some run solved: one family's value awaiting
    its second, or solvers that disagree (the tree's value tells which one is right); with `unsolved`, every open
    instance that has a run (the tree's value then awaits a solver: a candidate for the hard tier)."""
    out = []
    for name, runs in sorted(confirm.runs_by_instance((runs_dir, *also), instance_dirs).items()):
        tier = tiers.classify(runs)
        path = next((r.sidecar_path for r in runs if r.sidecar_path), None)
        if path and tier.status == tiers.OPEN and (unsolved or tier.pending or tier.disagreements):
            out.append((name, path))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, default=HERE / "v2" / "runs")
    parser.add_argument("--instances", type=Path, action="append", default=[])
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per tree [default: 60]")
    parser.add_argument("--unsolved", action="store_true", help="also the open instances that no run solved")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    dirs = args.instances or v2.instance_dirs()
    also = (HERE / "v1" / "runs",) if not args.instances and args.runs == HERE / "v2" / "runs" else ()
    tried_path = args.runs / SOLVER / "tried.json"
    tried = json.loads(tried_path.read_text()) if tried_path.is_file() else {}
    todo = [(n, p) for n, p in pending(args.runs, dirs, also, args.unsolved)
            if not (args.runs / SOLVER / f"{n}__{SOLVER}" / "result.json").is_file()
            and tried.get(n, 0.0) < args.time_limit]
    print(f"{len(todo)} pending instances without an exact record (or a try as long)")
    closed, started, clock = 0, solve.now(), time.perf_counter()

    def remember(name: str, limit: float) -> None:  # a try without a record, kept so a re-run skips it
        tried[name] = limit
        atomic.write_json(tried_path, dict(sorted(tried.items())))

    for k, (name, path) in enumerate(todo, 1):
        if args.dry_run:
            print(name)
            continue
        try:
            rec = record(json.loads(path.read_text()), path, args.time_limit)
        except (ValueError, NotImplementedError) as exc:  # a norm pair or network the tree does not take
            print(f"[{k}/{len(todo)}] {name}: not by the tree ({exc})")
            remember(name, 1e9)  # any time limit: the tree does not take this instance
            continue
        closed += rec is not None
        print(f"[{k}/{len(todo)}] {name}: " + (f"L = {rec['lipschitz']['lower']!r} in {rec['time']:.1f} s"
                                               if rec else "not closed"), flush=True)
        if rec:
            atomic.write_json(args.runs / SOLVER / f"{name}__{SOLVER}" / "result.json", rec)
        else:
            remember(name, args.time_limit)
    if not args.dry_run:
        print(f"{closed} of {len(todo)} closed by the tree")
        if todo:
            cmd = ["python", "instances/exact.py", "--time-limit", f"{args.time_limit:g}"] + \
                (["--unsolved"] if args.unsolved else [])
            solve.record(args.runs / "campaigns.json", {
                "command": " ".join(cmd), "folder": os.path.relpath(args.runs.parent, HERE.parent), "solver": SOLVER,
                "started": started, "machine": solve.machine(), "finished": solve.now(),
                "wall_seconds": round(time.perf_counter() - clock, 1), "runs": len(todo), "reused": 0,
                "statuses": {"closed": closed, "not closed": len(todo) - closed}, "solver_version": "lipgen split tree",
                "note": "exact values by the split tree: open instances that one family solved, or that solvers "
                        "disagree on"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
