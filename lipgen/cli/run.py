"""`lipgen run`: the main job, generate + solve both problems + one table of certified bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .. import pipeline
from .options import (FAILED_EXIT, NORM_HELP, BoundsOpt, BoxFileOpt, BoxOpt, CenterOpt, ClipOpt, ForceOpt, GapOpt,
                      JacobianOpt, MarginOpt, MemOpt, OutputWeightsOpt, RadiusOpt, SeedOpt, SolverDefaultsOpt,
                      SolverPathOpt, SolveSolverOpt, ThreadsOpt, TimeOpt, WaitOpt, WarmOpt, resolve_norms,
                      solve_options)
from .progress import status_after_a_second
from ..errors import LipgenError
from .render import emit_json, err, fmt_num, norm_label, out, stage_log
from .solve import solve_with_progress


def run(
    weights: Path = typer.Argument(..., help="Weights file."),
    norm: Optional[str] = typer.Option(None, "--norm", help=NORM_HELP + " [default: 2]"),
    input_norm: Optional[str] = typer.Option(None, "--input-norm", help="Input norm alpha (overrides --norm)."),
    output_norm: Optional[str] = typer.Option(None, "--output-norm", help="Output norm beta (overrides --norm)."),
    box: Optional[str] = BoxOpt,
    box_file: Optional[Path] = BoxFileOpt,
    center: Optional[Path] = CenterOpt,
    radius: Optional[float] = RadiusOpt,
    clip: Optional[str] = ClipOpt,
    eps: Optional[float] = typer.Option(None, "--eps", help="Margin of the strict (lower-bound) problem."),
    encoding: str = typer.Option("bigm", "--encoding", help="bigm or quadratic."),
    mode: str = typer.Option("auto", "--mode", help="forward, backward or auto (as `generate --mode`), or race: both "
                                                    "modes' upper problems at once, the first to prove L stops the "
                                                    "other, the smaller upper bound is reported."),
    bounds: str = BoundsOpt,
    jacobian: bool = JacobianOpt,
    output_weights: Optional[Path] = OutputWeightsOpt,
    margin: Optional[str] = MarginOpt,
    solver: str = SolveSolverOpt,
    time_limit: Optional[float] = TimeOpt,
    threads: int = ThreadsOpt,
    gap: float = GapOpt,
    mem_limit: Optional[float] = MemOpt,
    seed: Optional[int] = SeedOpt,
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Solver runs at the same time [default: one per "
                                                                  "problem: 2, or 3 with --mode race]."),
    eps_ladder: bool = typer.Option(True, "--eps-ladder/--no-eps-ladder",
                                    help="When the strict problem's certified value stays below a solved upper "
                                         "problem's, solve it again with eps/10, eps/100, ... down to 1e-6 (a region "
                                         "thinner than 2 eps may carry the maximum)."),
    warm_start: bool = WarmOpt,
    solver_defaults: bool = SolverDefaultsOpt,
    force: bool = ForceOpt,
    solver_path: Optional[str] = SolverPathOpt,
    wait: bool = WaitOpt,
    workdir: Optional[Path] = typer.Option(None, "-o", "--output", help="Working directory for instances and runs "
                                                                       "[default: lipgen-runs/<network>]."),
    split: str = typer.Option("auto", "--split", help="auto: l2 -> l2 (the SDP bounds the tree's nodes): the "
                                                      "split tree (as `lipgen split`, no solver) runs first, for "
                                                      "half of --time-limit (at most 60 s); an l2 norm on one side "
                                                      "and at most 16 unstable neurons: first, for a quarter (at "
                                                      "most 30 s). When it proves L no MIP is solved, else it goes "
                                                      "on beside the MIPs. Otherwise, with more than 16 unstable "
                                                      "neurons it runs beside the MIPs until they end, and its "
                                                      "proof stops them; with at most 16, no tree. Its certified "
                                                      "bounds join the table. always: the tree first whatever the "
                                                      "problem. never: the MIPs only."),
    layers: Optional[str] = typer.Option(None, "--layers", help="Linear layer names in order (PyTorch files)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """The main job: generate the upper- and lower-bound problems, solve both, print the certified bounds.

    Exit code 0 when both bounds were obtained, 1 when one is missing, 2 on bad input; 130/143 when interrupted
    by SIGINT/SIGTERM (the solvers are stopped and their runs redone next time).
    """
    alpha, beta = resolve_norms(norm, input_norm, output_norm)
    if split not in pipeline.SPLIT_CHOICES:
        raise LipgenError(f"--split {split!r} is not supported: use {', '.join(pipeline.SPLIT_CHOICES)}")
    opts = solve_options(time_limit, threads, gap, mem_limit, seed)
    pipeline.check_setup(solver, opts, 1 if jobs is None else jobs, solver_path)  # all of it before anything is read
    net, dom = pipeline.load_network(weights, box=box, box_file=box_file, center=center, radius=radius, clip=clip,
                                     layers=layers.split(",") if layers else None, output_weights=output_weights,
                                     margin=margin)
    race = mode == pipeline.RACE

    def label(state: dict) -> str:
        return f"{state['bound']} problem" + (f" ({state['mode']})" if race and state.get("mode") else "")

    def solve(instances: list[Path], runs: Path, n_jobs: int, judge=None) -> list[pipeline.Result]:
        return solve_with_progress(instances, solver, runs, opts, n_jobs, solver_path, warm_start, force,
                                   quiet=as_json, wait=wait, label=label, solver_defaults=solver_defaults, judge=judge)

    summary = pipeline.run(
        net, dom, alpha=alpha, beta=beta, solver=solver, opts=opts, jobs=jobs, workdir=workdir,
        generate_options=dict(eps=eps, encoding=encoding, mode=mode, bounds_method=bounds, jacobian_bounds=jacobian,
                              log=stage_log(net, quiet=as_json)),
        eps_ladder=eps_ladder, split=split, solve=solve,
        stage=lambda what: status_after_a_second(err, what, enabled=not as_json and err.is_terminal),
        log=None if as_json else (lambda line: err.print(line, markup=False, soft_wrap=True)),
        force=force, warm_start=warm_start, wait=wait, solver_defaults=solver_defaults, solver_path=solver_path)
    if not summary.problems:  # the split tree proved L before any MIP
        _render_split_proved(summary, net.name, alpha, beta, as_json)
        return
    results, work, tree = list(summary.runs), Path(summary.workdir), summary.data.get("split_first")
    s = summary.data
    up, lo = summary.problems["upper"], summary.problems["lower"]
    if as_json:
        emit_json(s)
    else:
        t = Table(title=f"Lipschitz constant of {net.name}, {norm_label(alpha, beta)}, domain {s['domain']}, "
                        f"{s['solver']}" + (f" {s['solver_version']}" if s["solver_version"] else ""))
        for c in ("quantity", "value", "status", "time (s)"):
            t.add_column(c)

        def status_of(r: pipeline.Result) -> str:
            if r.data.get("stopped_by") == "lipgen":  # not a failure: the bounds had met, or a racer had won
                return "stopped"
            return r.status + (" (reused)" if r.reused else "")

        t.add_column("from")
        t.add_row("lower bound (certified)", fmt_num(s["best_lower"], 8), "", "", s["lower_source"] or "")
        t.add_row("upper bound", fmt_num(s["upper"], 8), "", "", s["upper_source"] or "")
        thin = "thin region suspected" if s.get("thin_region_suspected") else ""
        t.add_row("relative gap", fmt_num(s["gap"], 3), thin or s["consistency"], "", "")
        for m, r in (s.get("race") or {}).items():
            if m != "winner":
                t.add_row(f"upper-bound problem, {m} (dual bound)", fmt_num(r["upper"], 8),
                          "stopped" if r["stopped"] else r["status"] + (" (reused)" if r["reused"] else ""),
                          fmt_num(r["time"], 3), "race winner" if m == s["race"]["winner"] else "race")
        if not s.get("race"):
            t.add_row("upper-bound problem (dual bound)", fmt_num(s["upper_mip"], 8), status_of(up),
                      fmt_num(up.time, 3), "non-strict MIP")
        for rung in s.get("eps_ladder") or []:
            t.add_row(f"lower-bound problem, eps={rung['eps']:g} (realised, certified)", fmt_num(rung["lower"], 8),
                      rung["status"] + (" (reused)" if rung["reused"] else ""), fmt_num(rung["time"], 3),
                      "strict MIP, eps ladder")
        if not s.get("eps_ladder"):
            t.add_row("lower-bound problem (realised, certified)", fmt_num(s["lower"], 8), status_of(lo),
                      fmt_num(lo.time, 3), "strict MIP")
        if (f := tree) is not None:
            t.add_row(f"split tree, {f['when']} (upper / lower)", f"{fmt_num(f['upper'], 8)} / {fmt_num(f['lower'], 8)}",
                      f["status"], fmt_num(f["seconds"], 3), f"{f['nodes']} nodes, no solver")
        _anchor_rows(t, s)
        out.print(t)
        out.print(f"files in {work}")
    for r in results:
        if r.data.get("stopped_by") == "lipgen":  # a race's loser, or its lower problem once the bounds met
            err.print(f"note: {r.bound} problem ({r.instance}): {r.status_text}", markup=False, soft_wrap=True)
        elif not r.ok:
            err.print(f"{r.bound} problem: {r.status_text}", markup=False, soft_wrap=True)
    if s.get("lower_eps") is not None:
        err.print(f"eps ladder: the certified lower bound comes from the strict problem at eps={s['lower_eps']:g} "
                  f"(eps={s['eps']:g} excluded a thin region)", markup=False, soft_wrap=True)
    if s.get("thin_region_suspected"):
        err.print("thin region suspected: the strict problem stays below the solved upper problem down to eps="
                  f"{s['eps_ladder'][-1]['eps']:g}; an activation region thinner than that may carry L (the bounds "
                  "are sound, the gap is not closed)", markup=False, soft_wrap=True)
    lo_q = lo.lipschitz or {}
    if lo_q.get("lower") is None and lo_q.get("lower_reason"):
        err.print(f"lower-bound problem: its value is not used: {lo_q['lower_reason']}", markup=False, soft_wrap=True)
    if s["certified_lower"] is None and all(r.ok for r in results):
        err.print(f"no certified point: {_no_certificate_reason(results)}", markup=False, soft_wrap=True)
    if summary.consistency != "ok":
        err.print(f"inconsistent: the upper bound {s['upper']!r} is below the certified lower bound "
                  f"{s['best_lower']!r}; a solver's tolerances broke a rule (please report it)", markup=False,
                  soft_wrap=True)
    if (premise := s["premise"]).get("verdict") == pipeline.UNVERIFIED:
        err.print(f"unverified: the upper-bound problem's dual bound is not certified: {premise['reason']} (the upper "
                  "bound shown is the naive one)", markup=False, soft_wrap=True)
    if not summary.ok:  # a bound missing, the two contradicting each other, or the upper one unverified
        raise typer.Exit(FAILED_EXIT)


def _anchor_rows(t: Table, s: dict) -> None:
    """The bounds known before any solver: sampled points, region walk, Jacobian, SDP (l2) and naive bounds."""
    t.add_row("sampled points (certified)", fmt_num(s["sampled_certified"], 8), "", "", "anchor")
    t.add_row("sampled points (float64 estimate)", fmt_num(s["sampled_estimate"], 8), "", "", "estimate, not a bound")
    t.add_row("region walk (certified)", fmt_num(s["search_lower"], 8), "", "", "anchor")
    t.add_row("Jacobian bound", fmt_num(s.get("jacobian_upper"), 8), "", "", "anchor")
    if s.get("sdp_upper") is not None:
        t.add_row("SDP bound (LipSDP-Neuron, verified)", fmt_num(s["sdp_upper"], 8), "", "", "anchor")
    t.add_row("naive upper bound", fmt_num(s["naive_upper"], 8), "", "", "anchor")


def _render_split_proved(summary: pipeline.RunSummary, name: str, alpha: str, beta: str, as_json: bool) -> None:
    """`run`'s output when the split tree proved L before any MIP."""
    s, f = summary.data, summary.data["split_first"]
    if as_json:
        emit_json(s)
        if not summary.ok:
            raise typer.Exit(FAILED_EXIT)
        return
    t = Table(title=f"Lipschitz constant of {name}, {norm_label(alpha, beta)}, domain {s['domain']}, split tree "
                    "(no solver)")
    for c in ("quantity", "value", "status", "time (s)", "from"):
        t.add_column(c)
    t.add_row("lower bound (certified)", fmt_num(s["best_lower"], 8), "", "", s["lower_source"] or "")
    t.add_row("upper bound", fmt_num(s["upper"], 8), "", "", s["upper_source"] or "")
    t.add_row("relative gap", fmt_num(s["gap"], 3), s["consistency"], "", "")
    t.add_row("split tree", f"{f['nodes']} nodes, {f['regions']} regions, {f['lps']} LPs", s["status"],
              fmt_num(f["seconds"], 3), "resumed" if f["resumed"] else "")
    _anchor_rows(t, s)
    out.print(t)
    out.print(f"files in {summary.workdir}")
    err.print(f"note: the split tree proved L, no MIP was solved ({f['reason']}); the instances are written, "
              "--split never solves them", markup=False, soft_wrap=True)
    if not summary.ok:  # cannot happen for a closed tree; never exit 0 on a bracket that is not certified
        raise typer.Exit(FAILED_EXIT)


def _no_certificate_reason(results: list[pipeline.Result]) -> str:
    reasons = [f"{r.bound} problem: {q['certificate']['reason']}" for r in results
               if (q := r.lipschitz or {}).get("certificate")]
    return "; ".join(reasons) or "no solution point to certify"
