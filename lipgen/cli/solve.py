"""`lipgen solve`: a solver on instance files, with live progress; one run directory each."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .. import pipeline
from .options import (FAILED_EXIT, ForceOpt, GapOpt, InstancesArg, MemOpt, SeedOpt, SolverDefaultsOpt, SolverPathOpt,
                      SolveSolverOpt, ThreadsOpt, TimeOpt, WaitOpt, WarmOpt, solve_options)
from .progress import SolveDisplay
from .render import emit_json, err, fmt_num, out


def solve_with_progress(instances, solver, runs, opts, jobs, solver_path, warm_start, force, quiet=False,
                        wait=False, label=None, solver_defaults=False, verify=True, judge=None) -> list[pipeline.Result]:
    """pipeline.solve_found with the live progress display on a terminal, and notes on leftover solvers."""
    what = f"solving with {solver}" + (" (the best free solver per class)" if solver == "auto" else "")
    with SolveDisplay(err, what, len(instances), label=label,
                      enabled=not quiet and err.is_terminal) as display:
        results = pipeline.solve_found(instances, solver, runs, opts, jobs=jobs, solver_path=solver_path,
                                       warm_start=warm_start, force=force, wait=wait, on_done=display.done,
                                       on_live=display.live, solver_defaults=solver_defaults, verify=verify,
                                       judge=judge)
    for r in results:
        if killed := r.data.get("leftovers_killed"):
            err.print(f"note: {r.instance}: killed {len(killed)} solver process(es) that an earlier, "
                      f"dead lipgen left running (pid {', '.join(map(str, killed))})", markup=False,
                      soft_wrap=True)
    return results


def solve(
    instances: list[Path] = InstancesArg,
    output: Path = typer.Option(..., "-o", "--output", help="Directory for the runs (one sub-directory each)."),
    solver: str = SolveSolverOpt,
    time_limit: Optional[float] = TimeOpt,
    threads: int = ThreadsOpt,
    gap: float = GapOpt,
    mem_limit: Optional[float] = MemOpt,
    seed: Optional[int] = SeedOpt,
    jobs: int = typer.Option(1, "--jobs", "-j", help="Solver runs at the same time."),
    warm_start: bool = WarmOpt,
    solver_defaults: bool = SolverDefaultsOpt,
    force: bool = ForceOpt,
    solver_path: Optional[str] = SolverPathOpt,
    wait: bool = WaitOpt,
    no_verify: bool = typer.Option(False, "--no-verify", help="Solve instance files whose bytes differ from their "
                                                              "sidecar's checksum (edited by hand: you know why); "
                                                              "results then say `instance_verified: false`."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
):
    """Run a solver on instance files; write per run the solution, the log and result.json.

    A run that ended normally is reused when solver, its version, limits, gap, threads, seed, warm start and the
    instance are the same. Exit code 0 when every run gave its bound, 1 when some did not, 2 on bad input;
    130/143 when interrupted by SIGINT/SIGTERM (the solvers are stopped).
    """
    opts = solve_options(time_limit, threads, gap, mem_limit, seed)
    found = pipeline.find_solve_inputs(instances, solver, output, opts, jobs, solver_path)
    results = solve_with_progress(found, solver, output, opts, jobs, solver_path, warm_start, force, quiet=as_json,
                                  wait=wait, solver_defaults=solver_defaults, verify=not no_verify)
    if as_json:
        emit_json([r.to_json() for r in results])
    else:
        t = Table(title=f"{solver} runs in {output}")
        columns = ("instance", "bound") + (("solver",) if solver == "auto" else ()) + (
            "status", "L bound", "certified lower", "time (s)", "")
        for c in columns:
            t.add_column(c)
        for r in results:
            q = r.lipschitz or {}
            t.add_row(r.instance, r.bound, *((r.solver,) if solver == "auto" else ()), r.status,
                      fmt_num(r.value), fmt_num(q.get("certified_lower")), fmt_num(r.time, 3),
                      "reused" if r.reused else "")
        out.print(t)
    for r in results:
        if not r.ok:
            err.print(f"{r.instance}: {r.status_text}", markup=False, soft_wrap=True)
    if not all(r.ok for r in results):
        raise typer.Exit(FAILED_EXIT)
