"""Run a solver on instance files (one subprocess each, J at a time) and turn each run into a result.json.

A run directory `<runs>/<instance stem>__<solver>/` holds the start file, the solver's native solution
file and log, and `result.json`, written last: a run without it is unfinished and is redone.
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path

from . import __version__, atomic
from .check import check_record
from .errors import LipgenError
from .formulation import NONCONVEX_MIQCQP, NONCONVEX_MIQP
from .instance import instance_stem_of, load_sidecar, network_of, sidecar_for
from .parsers import parse
from .parsers import record as rec
from .results import lipschitz_quantities
from .solvers import SolveOptions, get_backend, log_tail, run, write_mip_start
from .solvers.backends import MIP_START, SOLVERS
from .warmstart import start_values

RESULT = "result.json"
INSTANCE_SUFFIXES = (".mps", ".mps.gz", ".lp", ".lp.gz")


def find_instances(paths: list[str | Path]) -> list[Path]:
    """Instance files named directly or found in directories (sorted), each with its sidecar."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.iterdir() if f.name.endswith(INSTANCE_SUFFIXES))
        elif p.is_file():
            if not p.name.endswith(INSTANCE_SUFFIXES):
                raise LipgenError(f"{p}: not an instance file (.mps, .lp, optionally .gz)")
            found.append(p)
        else:
            raise LipgenError(f"{p}: no such file or directory")
    if not found:
        raise LipgenError(f"no instance files (.mps, .lp) in {', '.join(map(str, paths))}")
    for f in found:
        if not sidecar_for(f).is_file():
            raise LipgenError(f"{f}: its sidecar {sidecar_for(f).name} is missing (make instances with lipgen generate)")
    return found


def run_dir(runs: Path, instance: Path, solver: str) -> Path:
    return runs / f"{instance_stem_of(instance.name)}__{solver}"


def options_record(opts: SolveOptions) -> dict:
    d = asdict(opts)
    d["mip_start"] = str(d["mip_start"]) if d["mip_start"] else None
    return d


def finished_result(rdir: Path, sidecar: dict) -> dict | None:
    """The stored result of a finished run of this very instance, if any."""
    try:
        old = json.loads((rdir / RESULT).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return old if old.get("instance_sha256") == sidecar["instance_sha256"] else None


def base_result(instance: Path, sidecar: dict, solver: str, opts: SolveOptions) -> dict:
    return {"lipgen_version": __version__, "instance": instance.name, "instance_path": str(instance.resolve()),
            "instance_sha256": sidecar["instance_sha256"], "sidecar": sidecar_for(instance).name,
            "network": sidecar["network"]["name"], "norms": sidecar["norms"], "domain": sidecar["domain"].get("tag"),
            "bound": sidecar["bound"], "encoding": sidecar["encoding"], "problem_class": sidecar["problem_class"],
            "solver": solver, "options": options_record(opts)}


def solve_instance(instance: Path, solver: str, runs: Path, opts: SolveOptions, *, solver_path: str | None = None,
                   warm_start: bool = False, force: bool = False, kill_grace: float | None = None) -> dict:
    """Solve one instance (or reuse its finished run) and return its result record."""
    instance, runs = Path(instance), Path(runs)
    sidecar_path = sidecar_for(instance)
    sidecar = load_sidecar(sidecar_path)
    rdir = run_dir(runs, instance, solver)
    if not force and (old := finished_result(rdir, sidecar)) is not None:
        return dict(old, skipped=True)
    result = base_result(instance, sidecar, solver, opts)
    verdict = sidecar["solvers"].get(solver, {"ok": False, "why": f"unknown solver {solver}"})
    if not verdict["ok"]:
        return _finish(rdir, dict(result, status="unsupported", status_text=verdict["why"]), write=False)
    if solver == "cbc" and sidecar.get("gzip"):
        return _finish(rdir, dict(result, status="unsupported",
                                  status_text="CBC cannot read gzipped files; generate without --gzip"), write=False)
    backend = get_backend(solver)
    try:
        exe = backend.locate(solver_path)
    except LipgenError as exc:
        return _finish(rdir, dict(result, status=rec.NOT_INSTALLED, status_text=str(exc)), write=False)
    network = network_of(sidecar, sidecar_path)
    if rdir.exists():
        shutil.rmtree(rdir)
    rdir.mkdir(parents=True)
    # Gurobi NonConvex=2 / CPLEX optimalitytarget 3 (what the sidecar's per-solver params say)
    opts = replace(opts, nonconvex=sidecar["problem_class"] in (NONCONVEX_MIQP, NONCONVEX_MIQCQP))
    if warm_start:
        opts = replace(opts, mip_start=write_mip_start(solver, rdir / MIP_START, start_values(network, sidecar)))
    inv = backend.command(exe, instance, rdir, opts)
    outcome = run(inv, rdir, opts.time_limit, kill_grace=kill_grace)
    log = inv.log_path if inv.log_path.exists() else inv.stdout_path
    json_result = next((p for p in inv.extra_outputs if p.suffix == ".json" and p.exists()), None)
    record = parse(solver, inv.solution_path, log, result_json=json_result)
    if outcome.killed:
        record = replace(record, status=rec.KILLED, primal=None, dual=None, values={},
                         message=f"killed after {outcome.wall_time:.1f} s (time limit plus grace); log tail: "
                                 + log_tail(log, 5).replace("\n", " | "))
    elif outcome.returncode != 0 and record.status in rec.NORMAL_END:
        record = replace(record, status=rec.CRASHED, primal=None, dual=None, values={},
                         message=f"exit code {outcome.returncode}; log tail: " + log_tail(log, 5).replace("\n", " | "))
    record.solver_version = record.solver_version or exe.version
    quantities = lipschitz_quantities(record, sidecar, network, gap_tol=opts.gap)
    check = check_record(record, sidecar, network, inv.solution_path)
    if check is not None and not check.ok:
        quantities["status_text"] += f"; the solution fails the check: {check.message}"
    result.update({
        "solver_version": record.solver_version,
        "invocation": {"argv": inv.argv, "executable": exe.description, "kind": exe.kind, "notes": inv.notes},
        "status": record.status, "status_text": quantities["status_text"],
        "primal": record.primal, "dual": record.dual, "gap": record.gap, "time": record.time,
        "wall_time": outcome.wall_time, "nodes": record.nodes, "n_solutions": record.n_solutions,
        "returncode": outcome.returncode, "killed": outcome.killed,
        "lipschitz": quantities,
        "check": None if check is None else check.to_dict(),
        "files": {"solution": inv.solution_path.name if inv.solution_path.exists() else None,
                  "log": log.name if log.exists() else None},
    })
    return _finish(rdir, result)


def _finish(rdir: Path, result: dict, write: bool = True) -> dict:
    result.setdefault("lipschitz", None)
    result["run_dir"] = str(rdir)
    if write:
        atomic.write_json(rdir / RESULT, result)
    return result


def solve_all(instances: list[Path], solver: str, runs: Path, opts: SolveOptions, *, jobs: int = 1,
              solver_path: str | None = None, warm_start: bool = False, force: bool = False,
              kill_grace: float | None = None, on_done=None) -> list[dict]:
    """Solve every instance, `jobs` solver processes at a time; results in the order of `instances`."""
    if solver not in SOLVERS:
        raise LipgenError(f"--solver {solver!r} is not supported: use one of {', '.join(SOLVERS)}")
    opts.validate()
    if jobs < 1:
        raise LipgenError(f"--jobs must be at least 1, got {jobs}")

    def one(inst: Path) -> dict:
        res = solve_instance(inst, solver, runs, opts, solver_path=solver_path, warm_start=warm_start, force=force,
                             kill_grace=kill_grace)
        if on_done is not None:
            on_done(res)
        return res

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, instances))
