"""`lipgen split`: certified bounds of L for one hard problem by splitting it (input and phase splits pruned by
bounds, exact leaves by region enumeration), in rounds, with the tree's state saved after each one."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .. import pipeline
from ..errors import LipgenError
from .options import (FAILED_EXIT, NORM_HELP, BoundsOpt, BoxFileOpt, BoxOpt, CenterOpt, ClipOpt, MarginOpt,
                      OutputWeightsOpt, RadiusOpt, SolverPathOpt, resolve_norms)
from .render import emit_json, err, fmt_num, norm_label, out


def progress_line(p: pipeline.Progress) -> str:
    """`split: 25.50 <= L <= 25.61 (gap 0.43 %), 12 open, 40 pruned, 3 exact, 120 nodes, round 2, 11 s`."""
    return (f"split: {fmt_num(p.lower, 8)} <= L <= {fmt_num(p.upper, 8)} (gap {100 * p.gap:.2f} %), {p.open} open, "
            f"{p.pruned} pruned, {p.exact} exact, {p.nodes} nodes, round {p.round}, {p.elapsed:.0f} s")


def split(
    weights: Path = typer.Argument(..., help="Weights file."),
    norm: Optional[str] = typer.Option(None, "--norm", help=NORM_HELP + " [default: 2]"),
    input_norm: Optional[str] = typer.Option(None, "--input-norm", help="Input norm alpha (overrides --norm)."),
    output_norm: Optional[str] = typer.Option(None, "--output-norm", help="Output norm beta (overrides --norm)."),
    box: Optional[str] = BoxOpt,
    box_file: Optional[Path] = BoxFileOpt,
    center: Optional[Path] = CenterOpt,
    radius: Optional[float] = RadiusOpt,
    clip: Optional[str] = ClipOpt,
    output_weights: Optional[Path] = OutputWeightsOpt,
    margin: Optional[str] = MarginOpt,
    bounds: str = BoundsOpt,
    branching: str = typer.Option("auto", "--branching", help="input (bisect the input box), phase (fix one "
                                                               "neuron's phase) or auto (input for at most 8 "
                                                               "inputs, phase otherwise)."),
    gap: float = typer.Option(1e-6, "--gap", help="Relative gap (upper - lower) / upper at which the tree stops."),
    time_limit: float = typer.Option(60.0, "--time-limit", help="Wall-clock seconds for this run of the tree."),
    node_limit: int = typer.Option(1_000_000, "--node-limit", help="Nodes in all (resumed runs included)."),
    exact_max: Optional[int] = typer.Option(None, "--exact-max", help="A node with at most this many unstable "
                                                                      "neurons is finished by enumerating its "
                                                                      "activation regions [default: 8 for l2 -> l2, "
                                                                      "where the SDP prunes nodes; 12 otherwise]."),
    workdir: Path = typer.Option(..., "-o", "--output", "--workdir", help="Working folder: tree.npz (the tree's "
                                                                          "state) and result.json."),
    resume: bool = typer.Option(False, "--resume", help="Continue the tree saved in the working folder."),
    leaf_solver: Optional[str] = typer.Option(None, "--leaf-solver", help="Solve open nodes as leaf MIP instances "
                                                                           "with this solver (scip, gurobi, ...) in "
                                                                           "rounds [default: no leaves]."),
    jobs: int = typer.Option(2, "--jobs", "-j", help="Leaf solver runs at the same time."),
    leaves: int = typer.Option(4, "--leaves", help="Leaves per round: the open nodes of largest bound."),
    leaf_time: float = typer.Option(10.0, "--leaf-time", help="Seconds per leaf in the first round, doubling."),
    round_nodes: int = typer.Option(200, "--round-nodes", help="Tree nodes between two rounds of leaves."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Run each round of leaves as one array job "
                                                                       "of this scheduler: slurm, pbs or lsf "
                                                                       "(waits for it; unfinished tasks are "
                                                                       "submitted again) [default: locally, "
                                                                       "--jobs at a time]."),
    partition: Optional[str] = typer.Option(None, "--partition", help="Partition (SLURM) or queue (PBS, LSF) of "
                                                                       "the leaf jobs."),
    account: Optional[str] = typer.Option(None, "--account", help="Account (SLURM, PBS) or project (LSF) of the "
                                                                   "leaf jobs."),
    max_parallel: Optional[int] = typer.Option(None, "--max-parallel", help="Array tasks running at once."),
    solver_path: Optional[str] = SolverPathOpt,
    resubmits: int = typer.Option(2, "--resubmits", help="Times a round's leaves left without a result "
                                                          "(cancelled or lost tasks) are submitted again."),
    layers: Optional[str] = typer.Option(None, "--layers", help="Linear layer names in order (PyTorch files)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """Certified bounds of L by splitting the problem into pieces: best-first branch and bound over sub-boxes and
    fixed neuron phases, no solver. The tree's state is saved after every round (--resume continues it).

    Exit code 0 when the gap is closed (at most --gap), 1 when a limit stopped the tree first, 2 on bad input.
    """
    alpha, beta = resolve_norms(norm, input_norm, output_norm)
    options = pipeline.SplitOptions(branching=branching, rel_gap=gap, bounds=bounds,
                                    exact_max=pipeline.exact_max_for(alpha, beta) if exact_max is None else exact_max)
    net, dom = pipeline.load_network(weights, box=box, box_file=box_file, center=center, radius=radius, clip=clip,
                                     layers=layers.split(",") if layers else None, output_weights=output_weights,
                                     margin=margin)
    if scheduler is None and (partition, account, max_parallel) != (None, None, None):
        raise LipgenError("--partition, --account and --max-parallel need --scheduler")
    cluster = pipeline.ClusterOptions("slurm" if scheduler is None else scheduler, partition, account, max_parallel, resubmits=resubmits)
    cluster.check()  # every option checked, used or not
    if scheduler is None:
        cluster = None
    leaf = pipeline.LeafOptions("scip" if leaf_solver is None else leaf_solver, jobs, leaves, leaf_time, round_nodes,
                                solver_path=solver_path, cluster=cluster)
    leaf.check()  # every option checked, used or not
    run = pipeline.split_prepare(net, dom, workdir, alpha=alpha, beta=beta, options=options, time_limit=time_limit,
                                 node_limit=node_limit, resume=resume)
    live = Live(Text(""), console=err, transient=True, refresh_per_second=2) \
        if err.is_terminal and not as_json else None
    update = (lambda p: live.update(Text(progress_line(p)))) if live is not None else None
    if live is not None:
        live.start()
    try:
        pipeline.split_run(run, time_limit=time_limit, node_limit=node_limit, on_progress=update, leaves=leaf if leaf_solver is not None else None)
    finally:
        if live is not None:
            live.stop()
    summary = pipeline.split_summary(net, dom, run)
    s, t = summary.data, summary.data["split"]
    if as_json:
        emit_json(s)
    else:
        table = Table(title=f"Lipschitz constant of {net.name}, {norm_label(alpha, beta)}, domain {s['domain']}, split")
        for c in ("quantity", "value"):
            table.add_column(c)
        table.add_row("lower bound (certified)", fmt_num(s["best_lower"], 8))
        table.add_row("upper bound (certified)", fmt_num(s["upper"], 8))
        table.add_row("relative gap", fmt_num(s["gap"], 3))
        table.add_row("tree", f"{t['status']}, {t['branching']} splits, {t['nodes']} nodes, {t['pruned']} pruned, "
                              f"{t['exact_leaves']} exact, {t['empty']} empty, {t['open']} open, "
                              f"{t['leaves_solved']} leaves solved")
        table.add_row("time (s)", f"{t['wall_time']:.2f} this run, {t['seconds']:.2f} in all "
                                  f"({len(t['rounds'])} rounds)")
        out.print(table)
        out.print(f"files in {workdir}")
    if not t["closed"]:
        err.print(f"not closed: {t['status']} (gap {fmt_num(s['gap'], 3)}); continue with --resume",
                  markup=False, soft_wrap=True)
        raise typer.Exit(FAILED_EXIT)
