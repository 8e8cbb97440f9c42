"""The pipeline as library functions: what each `lipgen` command does, callable from Python, returning typed
records (lipgen.results.records). The command line (lipgen.cli) only parses options, shows progress and
renders these records.

    net, box = load_network("net.h5", box="0,1")
    summary = run(net, box, alpha="2", beta="2", workdir="work/")   # both problems generated and solved
    summary.upper, summary.best_lower, summary.to_json()
"""

from __future__ import annotations

import math
import os
import shlex
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import atomic
from .cluster import JobRequest, make_job, submit_job
from .cluster.leaf_rounds import ClusterOptions, array_round_solver
from .cluster.schedulers import get_scheduler, parse_duration
from .domain import Box, resolve_domain
from .errors import LipgenError
from .instance import Generated, find_instances, load_sidecar, network_of, sidecar_for
from .instance import generate as generate_instances
from .instance.inspection import inspect_network
from .io import convert, covector, load
from .network import Network
from .parsers import parse as parse_solution
from .parsers import record as rec
from .parsers import sniff
from .parsers.highs import parse_log as highs_log
from .parsers.verify import log_problem, record_problem
from .paths import check_output_dir, no_leftovers
from .report import collect as collect_runs
from .results.bounds import GAP_NOISE, UNVERIFIED, best_anchor_upper, clean_gap, combine, lipschitz_quantities
from .results.check import check_record
from .results.records import Result, RunSummary, Sidecar
from .rounding import format_number
from .run.batch import check_premise, check_setup, solve_all
from .run.interrupts import Interrupted, interrupts_raise
from .run.ladder import climb, rung_value, wanted
from .run.race import RACE, ProofJudge, pick_upper, race_record
from .run.split_first import SPLIT_CHOICES, Beside, FirstSplit, run_first, split_data
from .run.split_first import finish as finish_split
from .run.split_first import judge_with
from .run.split_first import merge as merge_split_first
from .run.split_first import proved_summary as split_first_summary
from .run.split_first import split_summary as split_summary_of
from .run.split_leaves import LEAVES, solve_leaves
from .solvers import SolveOptions
from .solvers.backends import SOLVERS
from .solvers.runner import stop_all
from .split.driver import Drive, Progress, drive, prepare
from .split.plan import exact_max_for
from .split.tree import BRANCHINGS, TreeOptions

__all__ = ["BOUND_KINDS", "exact_max_for", "SPLIT_CHOICES", "Beside", "FirstSplit", "finish_split", "judge_with", "merge_split_first", "split_first_summary", "GAP_NOISE", "UNVERIFIED", "Interrupted", "JobRequest", "Result", "RunSummary", "Sidecar", "SolveOptions",
           "check_solution", "clean_gap", "convert_weights", "format_number", "find_solve_inputs", "generate", "inspect", "load_network", "parse",
           "check_generate_options", "check_setup", "run", "run_instances", "run_premise", "run_workdir", "solve", "solve_found",
           "collect", "get_scheduler", "interrupts_raise", "make_job", "parse_duration", "lipgen_command_words", "solution_inputs", "stop_all",
           "submit_job", "summarize", "RACE", "proof_judge", "run_eps_ladder", "run_jobs",
           "split", "split_prepare", "split_run", "split_summary", "SplitOptions",
           "Progress", "LeafOptions", "ClusterOptions"]

BOUND_KINDS = {"both": ("upper", "lower"), "upper": ("upper",), "lower": ("lower",)}
FORMATS = ("mps", "lp")
PREMISE_OPTIONS = ("warm_start", "force", "wait", "solver_defaults")  # solve options the premise check reuses


def load_network(weights: str | os.PathLike, *, box: str | None = None, box_file: str | None = None,
                 center: str | None = None, radius: float | None = None, clip: str | None = None,
                 layers: Sequence[str] | None = None, output_weights: Path | None = None,
                 margin: str | None = None) -> tuple[Network, Box]:
    """The network of a weights file (its output covector folded in, when given) and its input domain."""
    net = load(weights, layers=list(layers) if layers else None)
    net = covector.apply(net, output_weights, margin)
    return net, resolve_domain(net, box=box, box_file=box_file, center=center, radius=radius, clip=clip)


def inspect(net: Network, box: Box, *, samples: int = 1000, seed: int = 0, methods: str | None = None) -> dict:
    """What `lipgen inspect` reports: layers, stability per bounds method, cheap bounds of L."""
    return inspect_network(net, box, n_samples=samples, seed=seed, methods=methods)


def check_generate_options(bound: str, fmt: str, output: str | Path) -> tuple[str, ...]:
    """The options `generate` checks before reading anything; the bound kinds to write."""
    kinds = BOUND_KINDS.get(bound)
    if kinds is None:
        raise LipgenError(f"--bound {bound!r} is not supported: use upper, lower or both")
    if fmt not in FORMATS:
        raise LipgenError(f"--format {fmt!r} is not supported: use mps or lp")
    check_output_dir(output)
    return kinds


def generate(net: Network, box: Box, output: str | Path, *, alpha: str = "2", beta: str = "2",
             bound: str = "both", fmt: str = "mps", log: Callable[[str], None] | None = None,
             **options: Any) -> list[Generated]:
    """Instance files, sidecars, settings files and the manifest in `output` (options: lipgen.instance.generate's:
    eps, encoding, mode, bounds_method, gzip, target, ...)."""
    kinds = check_generate_options(bound, fmt, output)
    with no_leftovers(output):  # a failed generation removes what it wrote
        return generate_instances(net, box, output, alpha=alpha, beta=beta, bounds=kinds, fmt=fmt, log=log,
                                  **options)


def solve(instances: Sequence[str | os.PathLike], solver: str, runs: str | os.PathLike, opts: SolveOptions, *,
          jobs: int = 1, **options: Any) -> list[Result]:
    """Run `solver` on the instances (files, folders, `.test` lists); one Result per instance, in order
    (options: lipgen.run.batch.solve_all's: warm_start, force, wait, solver_path, on_done, on_live, ...)."""
    found = find_solve_inputs(instances, solver, runs, opts, jobs, options.get("solver_path"))
    return solve_found(found, solver, Path(runs), opts, jobs=jobs, **options)


def find_solve_inputs(instances: Sequence[str | os.PathLike], solver: str, runs: str | os.PathLike,
                      opts: SolveOptions, jobs: int = 1, solver_path: str | None = None) -> list[Path]:
    """Every option of `solve` checked and the instance files found, before anything is written."""
    check_setup(solver, opts, jobs, solver_path)
    check_output_dir(runs)
    return find_instances([Path(p) for p in instances])


def solve_found(instances: list[Path], solver: str, runs: Path, opts: SolveOptions, *, jobs: int = 1,
                **options: Any) -> list[Result]:
    """`solve` on instance files already found."""
    return [Result.from_json(r) for r in solve_all(instances, solver, runs, opts, jobs=jobs, **options)]


def run_workdir(net: Network, workdir: str | os.PathLike | None) -> Path:
    """`run`'s working folder (default lipgen-runs/<network>), it and its instances/ and runs/ checked writable."""
    work = Path(workdir) if workdir is not None else Path("lipgen-runs") / net.name
    for d in (work, work / "instances", work / "runs"):
        check_output_dir(d)
    return work


def run_instances(net: Network, box: Box, workdir: Path, *, alpha: str, beta: str,
                  log: Callable[[str], None] | None = None, **options: Any) -> list[Generated]:
    """Both problems of `run`, written into workdir/instances (options: lipgen.instance.generate's; mode `race`:
    the upper problem in both modes, the lower one in the mode `auto` takes, lipgen/run/race.py)."""
    if options.get("mode") == RACE:
        options = dict(options, mode="auto", race=True)
    with no_leftovers(workdir / "instances"):  # a failed generation removes what it wrote
        return generate_instances(net, box, workdir / "instances", alpha=alpha, beta=beta, target="any", log=log,
                                  **options)


def run_premise(written: list[Generated], results: list[Result], runs: Path, opts: SolveOptions, *,
                log: Callable[[str], None] | None = None, **options: Any) -> dict:
    """The widening's premise for `run`'s upper-bound problem (docs/formulation.md, 5b): when the sidecar cannot
    establish it, a second solver solves the problem again (options: warm_start, force, wait, solver_defaults).
    Confirms or withholds the upper runs' bounds in place; the premise of the upper run `summarize` reports."""
    paths = {g.path.name: g for g in written}
    premises = {r.instance: check_premise(r.data, paths[r.instance].sidecar, paths[r.instance].path, runs, opts,
                                          log=log, **options) for r in results if r.bound == "upper"}
    return premises[pick_upper([r for r in results if r.bound == "upper"]).instance]


def run_jobs(written: list[Generated], jobs: int | None) -> int:
    """`run`'s solver processes at once: one per problem unless --jobs says otherwise."""
    return jobs if jobs is not None else len(written)


def proof_judge(written: list[Generated], opts: SolveOptions) -> ProofJudge | None:
    """The judge that stops a race's losers and the strict problem once the bounds meet (None: nothing to stop)."""
    if len({g.sidecar["bound"] for g in written}) < 2 and sum(g.sidecar["bound"] == "upper" for g in written) < 2:
        return None
    return ProofJudge([g.sidecar for g in written], opts.gap)


def run_eps_ladder(net: Network, box: Box, workdir: Path, written: list[Generated], results: list[Result],
                   premise: dict, *, alpha: str, beta: str, solver: str, opts: SolveOptions,
                   solve: Callable[[list[Path], Path], list[Result]] | None = None,
                   log: Callable[[str], None] | None = None, **solve_options: Any) -> list[tuple[dict, Result]] | None:
    """The eps ladder (lipgen/run/ladder.py) when the strict problem was solved below a solved upper problem:
    its rungs and their runs (empty: wanted, but eps is at the floor already), or None when not wanted.
    `solve(instances, runs)` solves a rung (default: solve_found with `solver`, `opts` and solve_options)."""
    first = summarize(net, written, results, alpha=alpha, beta=beta, solver=solver, workdir=workdir, premise=premise)
    up, lo = first.problems["upper"], first.problems["lower"]
    if not wanted(first.data, up, lo, opts.gap):
        return None
    sc = next(g.sidecar for g in written if g.sidecar["bound"] == "lower")
    if solve is None:
        def solve(instances: list[Path], runs: Path) -> list[Result]:
            return solve_found(instances, solver, runs, opts, **solve_options)
    return climb(net, box, workdir, alpha=alpha, beta=beta, eps=float(sc["eps"]), upper=first.data["upper"],
                 best_lower=first.data["best_lower"], gap_tol=opts.gap, solve=solve, log=log,
                 generate_options={"encoding": sc["encoding"], "mode": sc["mode"], "fmt": sc["format"],
                                   "gzip": bool(sc.get("gzip")), "bounds_method": sc["bounds_method"]})


def nothing_solved(results: list[Result]) -> bool:
    """True when a run solved nothing again: every run reused, or not needed (stopped by lipgen) beside one reused."""
    return any(r.reused for r in results) and all(r.reused or r.data.get("stopped_by") == "lipgen" for r in results)


def summarize(net: Network, written: list[Generated], results: list[Result], *, alpha: str, beta: str, solver: str,
              workdir: Path, premise: dict | None = None,
              ladder: list[tuple[dict, Result]] | None = None) -> RunSummary:
    """`run`'s summary of its runs: the best bounds of L over every source. A race (two upper runs) reports the
    smaller certified upper bound and `race`; an eps ladder (run_eps_ladder) adds its rungs' strict runs,
    `eps_ladder` and, when it ended with the bounds apart, `thin_region_suspected`."""
    sidecars = {g.path.name: g.sidecar for g in written}
    uppers = [r for r in results if r.bound == "upper"]
    up, lo = pick_upper(uppers), next(r for r in results if r.bound == "lower")
    rungs = [(float(sidecars[lo.instance]["eps"]), lo)] + [(rung["eps"], r) for rung, r in ladder or []]
    lo_eps, lo_best = max(rungs, key=lambda t: rung_value(t[1]) or -1.0)  # the first of equals: the largest eps
    summary = combine(up.lipschitz, lo_best.lipschitz, written[0].sidecar["anchors"])
    if lo_best is not lo and summary["lower_source"] in ("lower-bound problem (realised, certified)",
                                                         "certified (lower problem)"):
        summary["lower_source"] += f" at eps={lo_eps:g}"
    summary["premise"] = premise if premise is not None else {"established": True, "reasons": []}
    lo_status = up.status if lo.data.get("stopped_by") == "lipgen" else lo.status  # a race stopped it: L proved
    status = up.status if up.status == lo_status else f"upper: {up.status}, lower: {lo_status}"
    if summary["consistency"] != "ok":
        status = summary["consistency"]
    elif summary["premise"].get("verdict") == UNVERIFIED:
        status = UNVERIFIED
    domain = sidecars[up.instance]["domain"]
    ran = ", ".join(dict.fromkeys(r.solver for r in (up, lo)))  # which solver(s) ran, e.g. for --solver auto
    by_kind = {"upper": up, "lower": lo}
    summary.update(status=status, network=net.name, norms={"input": alpha, "output": beta},
                   domain=domain["tag"], domain_bounds={"kind": domain["kind"], "lower": domain["lower"],
                                                        "upper": domain["upper"]},
                   eps=sidecars[lo.instance]["eps"], mode=sidecars[up.instance]["mode"],
                   bounds_method=sidecars[up.instance]["bounds_method"], solver=ran, solver_requested=solver,
                   solver_version=up.data.get("solver_version") or lo.data.get("solver_version"),
                   workdir=str(workdir), reused=nothing_solved(results),
                   problems={k: {"status": r.status, "status_text": r.status_text, "time": r.time,
                                 "wall_time": r.data.get("wall_time"), "run_dir": r.data.get("run_dir"),
                                 "instance": r.instance, "solver": r.solver,
                                 "solver_version": r.data.get("solver_version"),
                                 "reused": r.reused} for k, r in by_kind.items()})
    if len(uppers) > 1:
        summary["race"] = race_record(uppers, sidecars, up)
    if ladder is not None:
        summary["eps_ladder"] = [{"eps": e, "lower": rung_value(r), "status": r.status, "time": r.time,
                                  "reused": r.reused, "run_dir": r.data.get("run_dir")} for e, r in rungs]
        summary["lower_eps"] = lo_eps if summary["lower_source"].endswith(f"eps={lo_eps:g}") else None
        summary["thin_region_suspected"] = not any(rung["closed"] for rung, _ in ladder)
    summary["gap"] = clean_gap(summary.get("gap"))
    return RunSummary(network=net.name, norms=(alpha, beta), status=status, consistency=summary["consistency"],
                      upper=summary["upper"], best_lower=summary["best_lower"], gap=summary["gap"],
                      workdir=str(workdir), problems=by_kind, data=summary, runs=tuple(results))


SolveRound = Callable[[list[Path], Path, int, Any], list[Result]]  # (instances, runs folder, jobs, judge) -> runs


def run(net: Network, box: Box, *, alpha: str = "2", beta: str = "2", solver: str = "scip",
        opts: SolveOptions | None = None, jobs: int | None = None, workdir: str | os.PathLike | None = None,
        generate_options: dict | None = None, eps_ladder: bool = True, split: str = "auto",
        solve: SolveRound | None = None, stage: Callable[[str], AbstractContextManager] | None = None,
        log: Callable[[str], None] | None = None, **solve_options: Any) -> RunSummary:
    """The main job: generate the upper- and lower-bound problems, solve them, combine the certified bounds.

    generate_options: lipgen.instance.generate's, with mode `race` for both modes' upper problems at once (the
    first proof stops the rest). jobs: solver processes at once (None: one per problem). eps_ladder: re-solve the
    strict problem with smaller eps when its certified value stays below a solved upper problem's. split: auto
    (the split tree first when lipgen/run/split_first.py's rule says it pays; when it proves L no MIP runs),
    always or never. solve: how a batch of instances is solved (default: solve_found with `solver`, `opts` and
    solve_options; the CLI passes one with a progress display). stage(what): a context around generation and
    the tree first (a status line). log: notes of the premise check and the eps ladder. The summary's `runs`
    are the MIP runs (none when the tree proved L first: `problems` is empty then)."""
    opts = opts or SolveOptions()
    check_setup(solver, opts, 1 if jobs is None else jobs, solve_options.get("solver_path"))  # all of it before anything is written
    work = run_workdir(net, workdir)
    stage = stage or (lambda what: nullcontext())
    if solve is None:
        def solve(instances: list[Path], runs: Path, n_jobs: int, judge: Any = None) -> list[Result]:
            return solve_found(instances, solver, runs, opts, jobs=n_jobs, judge=judge, **solve_options)
    with stage(f"generating the instances of {net.name}"):
        written = run_instances(net, box, work, alpha=alpha, beta=beta, **(generate_options or {}))
    with stage(f"splitting {net.name} first (--split {split})"):
        first = run_split_first(net, box, work, alpha=alpha, beta=beta, split=split, opts=opts,
                                bounds_method=(generate_options or {}).get("bounds_method", "linear"),
                                fresh=bool(solve_options.get("force")), anchors=written[0].sidecar["anchors"])
    if isinstance(first, FirstSplit) and first.closed:
        return split_first_summary(first, work, written[0].sidecar["anchors"])
    try:
        results = solve([g.path for g in written], work / "runs", run_jobs(written, jobs),
                        judge_with(first, [g.path.name for g in written], proof_judge(written, opts)))
    finally:
        tree = finish_split(first)  # a tree beside the MIPs stops with them
    premise = run_premise(written, results, work / "runs", opts, log=log,
                          **{k: v for k, v in solve_options.items() if k in PREMISE_OPTIONS})
    ladder = run_eps_ladder(net, box, work, written, results, premise, alpha=alpha, beta=beta, solver=solver,
                            opts=opts, solve=lambda inst, runs: solve(inst, runs, 1, None),
                            log=log) if eps_ladder else None
    summary = summarize(net, written, results, alpha=alpha, beta=beta, solver=solver, workdir=work, premise=premise,
                        ladder=ladder)
    return summary if tree is None else merge_split_first(summary, tree)


def run_split_first(net: Network, box: Box, work: Path, *, alpha: str, beta: str, split: str, opts: SolveOptions,
                    bounds_method: str = "linear", fresh: bool = False,
                    on_progress: Callable[[Progress], None] | None = None,
                    anchors: dict | None = None) -> FirstSplit | Beside | None:
    """`run`'s split tree (lipgen/run/split_first.py): driven before the MIPs (FirstSplit), started beside them
    (Beside: `finish_split` once they are done), or None when the rule takes none. `anchors` (the instances'):
    their best certified upper bound caps the tree, which closes once its lower bound meets it."""
    cap = best_anchor_upper(anchors)[0] if anchors else None
    return run_first(net, box, work, alpha=alpha, beta=beta, choice=split, time_limit=opts.time_limit,
                     gap=opts.gap if opts.gap is not None else 1e-6, bounds=bounds_method, fresh=fresh,
                     on_progress=on_progress, cap=cap)


def solution_inputs(solution: Path, instance: Path, solver: str) -> tuple[Path, dict]:
    """(sidecar path, sidecar) for a solution file and its instance (sidecar or instance file), all checked."""
    if solver not in SOLVERS:
        raise LipgenError(f"--solver {solver!r} is not supported: use one of {', '.join(SOLVERS)}")
    sidecar_path = instance if instance.suffix == ".json" else sidecar_for(instance)
    sidecar = load_sidecar(sidecar_path)
    if not solution.is_file():
        raise LipgenError(f"{solution}: no such solution file")
    kind = sniff.solution_kind(solution)
    if kind is not None and kind != solver:
        raise LipgenError(f"{solution}: a {sniff.NAMES[kind]} solution file, not a {sniff.NAMES[solver]} one "
                          f"(use --solver {kind})")
    return sidecar_path, sidecar


def parse(solution: Path, instance: Path, solver: str, *, log: Path | None = None,
          gap: float | None = None) -> tuple[dict, dict]:
    """One solution file read back into Lipschitz bounds: (sidecar, result as `parse --json` prints it).

    A solution the checker refuses gives status `refused` and no bounds."""
    sidecar_path, sidecar = solution_inputs(solution, instance, solver)
    if log is not None and not log.is_file():
        raise LipgenError(f"{log}: no such log file")
    kind = sniff.solution_kind(solution)
    if gap is not None and not (math.isfinite(gap) and 0 <= gap <= 1):
        raise LipgenError(f"invalid gap (--gap {gap}): must be a relative gap between 0 and 1, e.g. 1e-4")
    if log is not None and (log_kind := sniff.log_kind(log)) not in (None, solver):
        raise LipgenError(f"{log}: a {sniff.NAMES[log_kind]} log, not a {sniff.NAMES[solver]} one")
    if log is not None and (why := log_problem(log, solver, sidecar["instance"])):
        raise LipgenError(f"{log}: {why}")
    json_result = solution if solution.suffix == ".json" else None
    record = parse_solution(solver, solution, log, result_json=json_result)
    if why := record_problem(record.primal, record.dual):
        raise LipgenError(f"{log or solution}: {why}")
    if record.status == rec.TRUNCATED_SOLUTION and kind is None and not sniff.is_empty(solution):
        raise LipgenError(f"{solution}: not a {sniff.NAMES[solver]} solution file")
    network = network_of(sidecar, sidecar_path)
    check = check_record(record, sidecar, network, solution)
    if check is not None and not check.ok:
        # not this instance's solution, or cut short: nothing it says can be trusted
        return sidecar, {"instance": sidecar["instance"], "bound": sidecar["bound"], "solver": solver,
                         "status": "refused", "status_text": f"refused: {check.message}", "check": check.to_dict(),
                         "lipschitz": None}
    if gap is None and solver == "highs" and log is not None:
        gap = highs_log(log).gap_tolerance  # HiGHS's log says the tolerance it pruned with
    q = lipschitz_quantities(record, sidecar, network, gap_tol=gap)
    return sidecar, {"instance": sidecar["instance"], "bound": sidecar["bound"], "solver": solver,
                     "status": record.status, "status_text": q["status_text"], "primal": record.primal,
                     "dual": record.dual, "gap": record.gap, "time": record.time, "nodes": record.nodes,
                     "lipschitz": q, "check": None if check is None else check.to_dict()}


def check_solution(solution: Path, instance: Path, solver: str) -> tuple[dict, dict]:
    """A solution checked against its instance, as MIPLIB's checker does: (sidecar, verdict as `check --json`)."""
    sidecar_path, sidecar = solution_inputs(solution, instance, solver)
    record = parse_solution(solver, solution, None, result_json=solution if solution.suffix == ".json" else None)
    if record.status == rec.TRUNCATED_SOLUTION and sniff.solution_kind(solution) is None \
            and not sniff.is_empty(solution):
        raise LipgenError(f"{solution}: not a {sniff.NAMES[solver]} solution file")
    result = check_record(record, sidecar, network_of(sidecar, sidecar_path), solution)
    if result is None:
        why = record.message or f"status {record.status}"
        res = {"ok": False, "message": f"the file holds no solution ({why})"}
    else:
        res = result.to_dict()
    res.update(instance=sidecar["instance"], solver=solver, values=len(record.values))
    return sidecar, res


def convert_weights(weights: Path, output: Path, *, layers: Sequence[str] | None = None, box: str | None = None,
                    box_file: str | None = None, center: str | None = None, radius: float | None = None,
                    clip: str | None = None) -> tuple[Network, bool]:
    """A weights file converted to the native schema, its domain stored when given: (network, domain stored)."""
    lower = upper = None
    if any(x is not None for x in (box, box_file, center)):
        net = load(weights, layers=list(layers) if layers else None)
        dom = resolve_domain(net, box=box, box_file=box_file, center=center, radius=radius, clip=clip)
        lower, upper = dom.lower, dom.upper
    net = convert(weights, output, layers=list(layers) if layers else None, domain_lower=lower, domain_upper=upper)
    return net, lower is not None


def collect(runs: list[str | Path], output: str | Path, **options: Any):
    """`lipgen collect`: the output folder checked first, then lipgen.report.collect (options: its own)."""
    check_output_dir(output)
    return collect_runs(runs, output, **options)


def lipgen_command_words(lipgen_command: str | None, solver_path: str | None) -> list[str] | None:
    """`jobs`' --lipgen-command as words (None: the default), after refusing empty options."""
    for option, value in (("--solver-path", solver_path), ("--lipgen-command", lipgen_command)):
        if value is not None and not value.strip():
            raise LipgenError(f"{option} is empty")
    try:
        return shlex.split(lipgen_command) if lipgen_command else None
    except ValueError as exc:
        raise LipgenError(f"--lipgen-command {lipgen_command!r}: {exc}") from None


# ------------------------------------------------------------------------------------------------ split (issue 21)
SplitOptions = TreeOptions  # the tree's rule: branching, gap, exact_max, bounds, ...


def split_prepare(net: Network, box: Box, workdir: str | os.PathLike, *, alpha: str = "2", beta: str = "2",
                  options: SplitOptions | None = None, time_limit: float = 60.0, node_limit: int = 1_000_000,
                  resume: bool = False) -> Drive:
    """Every option of `split` checked, the folder checked and a saved tree loaded (resume), nothing written."""
    options = options or SplitOptions()
    if options.branching not in BRANCHINGS:
        raise LipgenError(f"--branching {options.branching!r} is not supported: use {', '.join(BRANCHINGS)}")
    if not (math.isfinite(time_limit) and 0 < time_limit <= 1e7):
        raise LipgenError(f"--time-limit {time_limit}: give seconds, more than 0 and at most 1e7")
    if not 1 <= node_limit <= 10 ** 12:
        raise LipgenError(f"--node-limit {node_limit}: give a node count from 1 to 1e12")
    if not (math.isfinite(options.rel_gap) and 0 <= options.rel_gap < 1):
        raise LipgenError(f"--gap {options.rel_gap}: give a relative gap from 0 up to (not including) 1")
    if not 0 <= options.exact_max <= 30:
        raise LipgenError(f"--exact-max {options.exact_max}: give a count of unstable neurons from 0 to 30")
    if options.bounds not in ("interval", "linear", "obbt"):
        raise LipgenError(f"--bounds {options.bounds!r} is not supported: use interval, linear or obbt")
    work = check_output_dir(workdir)
    return prepare(net, box, alpha, beta, work, options, resume)


@dataclass(frozen=True)
class LeafOptions:
    """Leaf MIPs (lipgen.run.split_leaves): after every `round_nodes` tree nodes, the `count` open nodes of largest
    bound are solved by `solver`, `jobs` at a time, with a per-leaf time limit of `time_limit` doubling each round."""

    solver: str = "scip"
    jobs: int = 2
    count: int = 4
    time_limit: float = 10.0
    round_nodes: int = 200
    solver_path: str | None = None
    cluster: ClusterOptions | None = None  # each round as an array job (lipgen.cluster.leaf_rounds); None: locally

    def check(self) -> None:
        if self.solver not in SOLVERS:
            raise LipgenError(f"--leaf-solver {self.solver!r} is not supported: use one of {', '.join(SOLVERS)}")
        if not 1 <= self.count <= 100_000:
            raise LipgenError(f"--leaves {self.count}: give a count of leaves per round from 1 to 100000")
        if not (math.isfinite(self.time_limit) and 0 < self.time_limit <= 1e7):
            raise LipgenError(f"--leaf-time {self.time_limit}: give seconds, more than 0 and at most 1e7")
        if not 1 <= self.round_nodes <= 10 ** 9:
            raise LipgenError(f"--round-nodes {self.round_nodes}: give a node count from 1 to 1e9")
        if self.cluster is not None:  # the nodes' solver is not this machine's: only the request is checked
            self.cluster.check()
            return
        check_setup(self.solver, SolveOptions(time_limit=self.time_limit), self.jobs, self.solver_path)


def split_run(run: Drive, *, time_limit: float = 60.0, node_limit: int = 1_000_000,
              on_progress: Callable[[Progress], None] | None = None, leaves: LeafOptions | None = None) -> Drive:
    """The tree driven in rounds (lipgen.split.driver), its state saved after each; with `leaves`, rounds of leaf
    MIPs between the tree's rounds, until the gap closes or a budget ends."""
    run.state_path.parent.mkdir(parents=True, exist_ok=True)
    if leaves is None:
        return drive(run, time_limit=time_limit, node_limit=node_limit, on_progress=on_progress)
    started, tree = time.perf_counter(), run.tree
    array = None if leaves.cluster is None else array_round_solver(
        run.state_path.parent / LEAVES, leaves.solver, leaves.cluster, solver_path=leaves.solver_path)
    while True:
        left = time_limit - (time.perf_counter() - started)
        drive(run, time_limit=max(left, 0.0), on_progress=on_progress,
              node_limit=min(node_limit, tree.stats["nodes"] + leaves.round_nodes))
        left = time_limit - (time.perf_counter() - started)
        if tree.status not in ("node_budget", "time_budget") or tree.stats["nodes"] >= node_limit or left <= 0:
            break
        per_leaf = min(leaves.time_limit * 2.0 ** len(run.leaf_rounds), max(left, 1.0))
        done = solve_leaves(tree, run.state_path.parent, leaves.count, leaves.solver, per_leaf, jobs=leaves.jobs,
                            bounds_method=tree.options.bounds, solver_path=leaves.solver_path, solve=array)
        record = {"round": len(run.leaf_rounds) + 1, "leaves": done.leaves, "seconds": done.seconds,
                  "leaf_times": done.leaf_times, "time_limit": done.time_limit, "refused": done.refused,
                  "lower": tree.lower, "upper": tree.upper, "open": len(tree.heap), "ended_at": time.time()}
        if array is not None and leaves.cluster is not None and array.rounds:
            record.update(scheduler=leaves.cluster.scheduler, jobs=array.rounds[-1].jobs,
                          missing=array.rounds[-1].missing)
        run.leaf_rounds.append(record)
        run.save()
    run.wall = time.perf_counter() - started
    return run


def split_summary(net: Network, box: Box, run: Drive) -> RunSummary:
    """`split`'s result in `run`'s schema (upper, best_lower, gap, status, network, norms, domain, ...) plus the
    tree's statistics under `split`; written to <workdir>/result.json."""
    data = split_data(net, box, run)
    atomic.write_json(run.state_path.parent / "result.json", data)
    return split_summary_of(data)


def split(net: Network, box: Box, workdir: str | os.PathLike, *, alpha: str = "2", beta: str = "2",
          options: SplitOptions | None = None, time_limit: float = 60.0, node_limit: int = 1_000_000,
          resume: bool = False, on_progress: Callable[[Progress], None] | None = None,
          leaves: LeafOptions | None = None) -> RunSummary:
    """`lipgen split`: certified bounds of L by splitting the problem (lipgen.split), in `workdir` (tree.npz, the
    state, saved after every round; result.json; leaves/ with `leaves`). `summary.data["split"]["closed"]`: the gap
    was closed."""
    if leaves is not None:
        leaves.check()
    run = split_prepare(net, box, workdir, alpha=alpha, beta=beta, options=options, time_limit=time_limit,
                        node_limit=node_limit, resume=resume)
    split_run(run, time_limit=time_limit, node_limit=node_limit, on_progress=on_progress, leaves=leaves)
    return split_summary(net, box, run)
