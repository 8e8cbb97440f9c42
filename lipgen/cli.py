"""The `lipgen` command line: thin wrappers over the library; tables for people, --json for machines."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import LipgenError

try:  # typer >= 0.20 carries its own click
    from typer._click import exceptions as _click_errors
except ImportError:  # pragma: no cover
    import click.exceptions as _click_errors

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Lipschitz constants of ReLU networks: standardized MIQCQP instance files, solved by SCIP, Gurobi, "
         "CPLEX or CBC, read back into certified bounds.",
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
if not out.is_terminal:
    out.width = 160  # pipes and files: do not squeeze tables into 80 columns

NORM_HELP = "Norm for input and output: 1, 2 or inf."
InstancesArg = typer.Argument(..., help="Instance files, directories made by `lipgen generate`, or `.test` lists of "
                                        "instance files (one path a line, relative to the list).")
OutputWeightsOpt = typer.Option(None, "--output-weights", help="The Lipschitz constant of the scalar c^T f for the "
                                                               "weights c in this .npy file (one per output).")
MarginOpt = typer.Option(None, "--margin", help="The Lipschitz constant of the logit difference f_I - f_J: I,J "
                                                "(output indices from 0).")
BoundsOpt = typer.Option("linear", "--bounds", help="Pre-activation bounds (the big-M values): interval, linear "
                                                     "(a CROWN-style relaxation, cheap; also `lp`) or obbt (two LPs "
                                                     "per unstable neuron with HiGHS, tightest).")
ModeOpt = typer.Option("auto", "--mode", help="forward (push a direction through the layers), backward (pull an "
                                              "output covector back, as LipMIP) or auto (backward when the output "
                                              "side is smaller, unless it makes an l2 problem nonconvex).")

BoxOpt = typer.Option(None, "--box", help="Input domain: the same interval LO,HI for every input, e.g. 0,1 or -1,1.")
BoxFileOpt = typer.Option(None, "--box-file", help="Input domain from an .npz file with arrays `lower` and `upper`.")
CenterOpt = typer.Option(None, "--center", help="Centre of an l-inf ball domain (.npy file); needs --radius.")
RadiusOpt = typer.Option(None, "--radius", help="Radius of the l-inf ball around --center.")
ClipOpt = typer.Option(None, "--clip", help="Clip the --center/--radius ball to LO,HI (e.g. 0,1 for images).")


def parse_norm(text: str | None, option: str) -> str | None:
    """'2', 'l2', 'L2' -> '2'; 'inf', 'linf', 'infinity' -> 'inf'."""
    if text is None:
        return None
    t = text.strip().lower().removeprefix("l")
    t = {"infinity": "inf", "oo": "inf", "max": "inf"}.get(t, t)
    if t not in ("1", "2", "inf"):
        raise LipgenError(f"{option} {text!r} is not supported: use 1, 2 or inf")
    return t


def resolve_norms(norm: str | None, input_norm: str | None, output_norm: str | None) -> tuple[str, str]:
    base = parse_norm(norm, "--norm") or "2"
    return parse_norm(input_norm, "--input-norm") or base, parse_norm(output_norm, "--output-norm") or base


PROGRESS_WEIGHTS = 100_000  # networks at least this large take seconds to generate: report each stage


def stage_log(net, quiet: bool = False):
    """A callback printing `lipgen: <stage>` lines to stderr for large networks (None otherwise)."""
    if quiet or sum(w.size for w in net.weights) < PROGRESS_WEIGHTS:
        return None
    return lambda line: err.print(f"lipgen: {line}", style="dim", soft_wrap=True)


def load_network_and_domain(weights: Path, box, box_file, center, radius, clip, layers: str | None = None,
                            output_weights: Path | None = None, margin: str | None = None):
    from . import covector
    from .domain import resolve_domain
    from .weights import load

    net = load(weights, layers=layers.split(",") if layers else None)
    net = covector.apply(net, output_weights, margin)
    dom = resolve_domain(net, box=box, box_file=box_file, center=center, radius=radius, clip=clip)
    return net, dom


def emit_json(obj) -> None:
    sys.stdout.write(json.dumps(_tidy(obj), indent=2, sort_keys=False, default=_json_default) + "\n")


def _tidy(obj):
    """-0.0 (from L = -obj with obj = 0) printed as 0.0; an infinite or NaN value (a solver's "no bound") as null,
    so the output stays valid JSON."""
    if isinstance(obj, float):
        return obj + 0.0 if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _tidy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_tidy(v) for v in obj]
    return obj


def _json_default(o):
    import numpy as np

    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o).__name__)


def fmt_num(x, digits: int = 6) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x + 0.0:.{digits}g}"  # + 0.0: never "-0"
    return str(x)


GAP_NOISE = 1e-9  # a relative gap this far below zero is rounding, not a contradiction


def clean_gap(gap: float | None) -> float | None:
    """A relative gap without its rounding noise (-3.8e-16 is 0)."""
    if gap is None:
        return None
    return 0.0 if -GAP_NOISE < gap <= 0 else gap


MAX_SAMPLES = 10_000_000  # inspect's sampled points: about a minute on a small network, never unbounded

DOMAIN_ORIGIN = {"box": "box from --box", "ball": "l-inf ball from --center/--radius", "file": "box from --box-file",
                 "network": "box stored in the weights file"}


@app.command()
def inspect(
    weights: Path = typer.Argument(..., help="Weights file (lipgen HDF5, Keras .h5, state dict .h5, ONNX, ...)."),
    box: Optional[str] = BoxOpt,
    box_file: Optional[Path] = BoxFileOpt,
    center: Optional[Path] = CenterOpt,
    radius: Optional[float] = RadiusOpt,
    clip: Optional[str] = ClipOpt,
    samples: int = typer.Option(1000, "--samples", min=1, max=MAX_SAMPLES, help="Random points for the sampled "
                                                                                 "lower bound."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**63 - 1, help="Seed of the sampled points."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    output_weights: Optional[Path] = OutputWeightsOpt,
    margin: Optional[str] = MarginOpt,
    bounds: Optional[str] = typer.Option(None, "--bounds", help="Bounds methods to compare, comma-separated "
                                                                 "(interval, linear, obbt) [default: all three; obbt "
                                                                 "only up to 500 unstable neurons unless named]."),
):
    """Show layers, input domain, stable/unstable neurons per bounds method and cheap Lipschitz bounds."""
    from .inspection import inspect_network

    net, dom = load_network_and_domain(weights, box, box_file, center, radius, clip, None, output_weights, margin)
    info = inspect_network(net, dom, n_samples=samples, seed=seed, methods=bounds)
    if as_json:
        emit_json(info)
        return
    out.print(f"[bold]{net.name}[/bold]  ({info['layout']}, {weights})")
    t = Table(title=f"Layers ({info['bounds_method']} bounds)")
    for c in ("layer", "shape (out x in)", "activation", "active", "inactive", "unstable", "pre-activation range"):
        t.add_column(c)
    for layer in info["layers"]:
        t.add_row(str(layer["index"]), f"{layer['shape'][0]} x {layer['shape'][1]}", layer["activation"],
                  fmt_num(layer.get("active")), fmt_num(layer.get("inactive")), fmt_num(layer.get("unstable")),
                  f"[{layer['lower_min']:.4g}, {layer['upper_max']:.4g}]")
    out.print(t)
    t = Table(title="Bounds methods")
    for c in ("method", "unstable per hidden layer", "unstable", "largest big-M (scaled)", "time (s)"):
        t.add_column(c)
    for m, r in info["bounds_methods"].items():
        t.add_row(m, " ".join(map(str, r["unstable"])), str(r["unstable_total"]), fmt_num(r["largest_big_m"], 4),
                  fmt_num(r["seconds"], 2))
    out.print(t)
    d = info["domain"]
    out.print(f"Domain ({DOMAIN_ORIGIN.get(d['kind'], d['kind'])}, tag {d['tag']}): {len(d['lower'])} inputs, "
              f"lower in [{fmt_num(min(d['lower']), 4)}, {fmt_num(max(d['lower']), 4)}], "
              f"upper in [{fmt_num(min(d['upper']), 4)}, {fmt_num(max(d['upper']), 4)}]")
    t = Table(title=f"Cheap Lipschitz bounds ({info['samples']} sampled points)")
    for c in ("norm", "sampled lower bound (certified)", "sampled estimate (float64)", "naive upper bound",
              f"Jacobian bound ({info['jacobian_method']})"):
        t.add_column(c)
    for p, b in info["bounds"].items():
        t.add_row(p, fmt_num(b["sampled_certified"]), fmt_num(b["sampled_estimate"]), fmt_num(b["naive_upper"]),
                  fmt_num(b["jacobian_upper"]))
    out.print(t)
    for w in info["warnings"]:
        err.print(f"warning: {w}", markup=False, soft_wrap=True)
    for note in info["notes"]:
        err.print(f"note: {note}", markup=False, soft_wrap=True)


@app.command()
def generate(
    weights: Path = typer.Argument(..., help="Weights file."),
    output: Path = typer.Option(..., "-o", "--output", help="Directory for the instance files."),
    norm: Optional[str] = typer.Option(None, "--norm", help=NORM_HELP + " [default: 2]"),
    input_norm: Optional[str] = typer.Option(None, "--input-norm", help="Input norm alpha (overrides --norm)."),
    output_norm: Optional[str] = typer.Option(None, "--output-norm", help="Output norm beta (overrides --norm)."),
    bound: str = typer.Option("both", "--bound", help="upper (non-strict problem), lower (strict twin) or both."),
    box: Optional[str] = BoxOpt,
    box_file: Optional[Path] = BoxFileOpt,
    center: Optional[Path] = CenterOpt,
    radius: Optional[float] = RadiusOpt,
    clip: Optional[str] = ClipOpt,
    eps: Optional[float] = typer.Option(None, "--eps", help="Margin of the strict (lower-bound) problem "
                                        "[default: 1e-5 x the largest pre-activation magnitude, at least 1e-5]."),
    encoding: str = typer.Option("bigm", "--encoding", help="bigm (linear, default) or quadratic (bilinear)."),
    mode: str = ModeOpt,
    bounds: str = BoundsOpt,
    output_weights: Optional[Path] = OutputWeightsOpt,
    margin: Optional[str] = MarginOpt,
    fmt: str = typer.Option("mps", "--format", help="mps (free MPS, default) or lp (CPLEX LP)."),
    gzip: bool = typer.Option(False, "--gzip", help="Compress the instance files (.gz)."),
    target: str = typer.Option("any", "--target", help="scip, gurobi, cplex, highs, cbc or any: refuse files the "
                                                        "target cannot take; `any` records compatibility in the "
                                                        "sidecar."),
    layers: Optional[str] = typer.Option(None, "--layers", help="Linear layer names in order (PyTorch files)."),
    as_json: bool = typer.Option(False, "--json", help="Print the written files as JSON."),
):
    """Write standardized instance files (+ JSON sidecars and a manifest) for the Lipschitz bounds."""
    from .instance import generate as do_generate

    alpha, beta = resolve_norms(norm, input_norm, output_norm)
    kinds = {"both": ("upper", "lower"), "upper": ("upper",), "lower": ("lower",)}.get(bound)
    if kinds is None:
        raise LipgenError(f"--bound {bound!r} is not supported: use upper, lower or both")
    if fmt not in ("mps", "lp"):
        raise LipgenError(f"--format {fmt!r} is not supported: use mps or lp")
    from .paths import check_output_dir, no_leftovers

    check_output_dir(output)
    net, dom = load_network_and_domain(weights, box, box_file, center, radius, clip, layers, output_weights, margin)
    with no_leftovers(output):
        written = do_generate(net, dom, output, alpha=alpha, beta=beta, bounds=kinds, eps=eps, encoding=encoding,
                              mode=mode, bounds_method=bounds, fmt=fmt, gzip=gzip, target=target, log=stage_log(net))
    if as_json:
        emit_json([{"instance": str(g.path), "sidecar": str(g.sidecar_path), "bound": g.sidecar["bound"],
                    "problem_class": g.sidecar["problem_class"], "statistics": g.sidecar["statistics"]}
                   for g in written])
        return
    t = Table(title=f"Instances in {output}")
    for c in ("file", "bound", "class", "vars (bin)", "rows (quad)", "nonzeros"):
        t.add_column(c)
    for g in written:
        st = g.sidecar["statistics"]
        t.add_row(g.path.name, g.sidecar["bound"], g.sidecar["problem_class"], f"{st['variables']} ({st['binary']})",
                  f"{st['constraints']} ({st['quadratic_constraints']})", str(st["nonzeros"]))
    out.print(t)


SolverOpt = typer.Option("scip", "--solver", help="scip (default: the SCIP shell bundled with pyscipopt), gurobi, "
                                                    "cplex, highs or cbc (highs and cbc: linear instances only).")
SolveSolverOpt = typer.Option("scip", "--solver", help="scip (default: the SCIP shell bundled with pyscipopt), "
                                                         "gurobi, cplex, highs or cbc (highs and cbc: linear instances "
                                                         "only), or auto: the best free solver per problem class "
                                                         "(measured: scip on every class).")
TimeOpt = typer.Option(None, "--time-limit", help="Seconds per solver run (the solver stops itself; a hard kill "
                                                  "follows a little later) [default: none].")
ThreadsOpt = typer.Option(1, "--threads", help="Threads per solver run.")
GapOpt = typer.Option(1e-6, "--gap", help="Relative gap at which a solver may stop (the dual bound stays valid).")
MemOpt = typer.Option(None, "--mem-limit", help="Memory limit per solver run, MB.")
SeedOpt = typer.Option(None, "--seed", help="Solver random seed.")
WarmOpt = typer.Option(True, "--warm-start/--no-warm-start", help="Start the solver from the best certified point "
                                                                  "found before solving (a MIP start).")
SolverDefaultsOpt = typer.Option(False, "--solver-defaults", help="Run the solver with its own defaults instead of "
                                                                  "the parameters the sidecar recommends.")
ForceOpt = typer.Option(False, "--force", help="Redo finished runs instead of reusing their result.json.")
SolverPathOpt = typer.Option(None, "--solver-path", help="Solver executable to use (else $LIPGEN_<SOLVER>, "
                                                         "then PATH, then lipgen's launcher).")
FAILED_EXIT = 1  # some run gave no usable bound
UNVERIFIED = "unverified"  # results.UNVERIFIED (not imported: the CLI starts without numpy)


def _solve_options(time_limit, threads, gap, mem_limit, seed):
    from .solvers import SolveOptions

    return SolveOptions(time_limit=time_limit, threads=threads, gap=gap, mem_limit=mem_limit, seed=seed)


WaitOpt = typer.Option(False, "--wait", help="When another lipgen is solving a run, wait for it (and reuse its result "
                                             "when the settings are the same) instead of skipping the run.")


def _solve_with_progress(instances, solver, runs, opts, jobs, solver_path, warm_start, force, quiet=False,
                         wait=False, label=None, solver_defaults=False, verify=True):
    from .progress import SolveDisplay
    from .solve import solve_all

    what = f"solving with {solver}" + (" (the best free solver per class)" if solver == "auto" else "")
    with SolveDisplay(err, what, len(instances), label=label,
                      enabled=not quiet and err.is_terminal) as display:
        results = solve_all(instances, solver, runs, opts, jobs=jobs, solver_path=solver_path, warm_start=warm_start,
                            force=force, wait=wait, on_done=display.done, on_live=display.live,
                            solver_defaults=solver_defaults, verify=verify)
    for r in results:
        if r.get("leftovers_killed"):
            err.print(f"note: {r['instance']}: killed {len(r['leftovers_killed'])} solver process(es) that an earlier, "
                      f"dead lipgen left running (pid {', '.join(map(str, r['leftovers_killed']))})", markup=False,
                      soft_wrap=True)
    return results


def _lip_value(res: dict):
    q = res.get("lipschitz") or {}
    return q.get("upper") if res.get("bound") == "upper" else q.get("lower")


def _result_ok(res: dict) -> bool:
    """The run gave its bound: a dual bound (upper problem) or a certified point (lower problem)."""
    q = res.get("lipschitz") or {}
    return (q.get("upper") if res.get("bound") == "upper" else q.get("certified_lower")) is not None


@app.command()
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
    from .paths import check_output_dir
    from .solve import check_setup, find_instances

    opts = _solve_options(time_limit, threads, gap, mem_limit, seed)
    check_setup(solver, opts, jobs, solver_path)
    check_output_dir(output)
    found = find_instances(instances)
    results = _solve_with_progress(found, solver, output, opts, jobs, solver_path, warm_start, force, quiet=as_json,
                                   wait=wait, solver_defaults=solver_defaults, verify=not no_verify)
    if as_json:
        emit_json(results)
    else:
        t = Table(title=f"{solver} runs in {output}")
        columns = ("instance", "bound") + (("solver",) if solver == "auto" else ()) + (
            "status", "L bound", "certified lower", "time (s)", "")
        for c in columns:
            t.add_column(c)
        for r in results:
            q = r.get("lipschitz") or {}
            t.add_row(r["instance"], r["bound"], *((r["solver"],) if solver == "auto" else ()), r["status"],
                      fmt_num(_lip_value(r)), fmt_num(q.get("certified_lower")), fmt_num(r.get("time"), 3),
                      "reused" if r.get("reused") else "")
        out.print(t)
    for r in results:
        if not _result_ok(r):
            err.print(f"{r['instance']}: {r['status_text']}", markup=False, soft_wrap=True)
    if not all(_result_ok(r) for r in results):
        raise typer.Exit(FAILED_EXIT)


@app.command()
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
    mode: str = ModeOpt,
    bounds: str = BoundsOpt,
    output_weights: Optional[Path] = OutputWeightsOpt,
    margin: Optional[str] = MarginOpt,
    solver: str = SolveSolverOpt,
    time_limit: Optional[float] = TimeOpt,
    threads: int = ThreadsOpt,
    gap: float = GapOpt,
    mem_limit: Optional[float] = MemOpt,
    seed: Optional[int] = SeedOpt,
    jobs: int = typer.Option(2, "--jobs", "-j", help="Solver runs at the same time (the two problems)."),
    warm_start: bool = WarmOpt,
    solver_defaults: bool = SolverDefaultsOpt,
    force: bool = ForceOpt,
    solver_path: Optional[str] = SolverPathOpt,
    wait: bool = WaitOpt,
    workdir: Optional[Path] = typer.Option(None, "-o", "--output", help="Working directory for instances and runs "
                                                                       "[default: lipgen-runs/<network>]."),
    layers: Optional[str] = typer.Option(None, "--layers", help="Linear layer names in order (PyTorch files)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """The main job: generate the upper- and lower-bound problems, solve both, print the certified bounds.

    Exit code 0 when both bounds were obtained, 1 when one is missing, 2 on bad input; 130/143 when interrupted
    by SIGINT/SIGTERM (the solvers are stopped and their runs redone next time).
    """
    from .instance import generate as do_generate
    from .paths import check_output_dir
    from .progress import status_after_a_second
    from .results import combine, failure_reason
    from .solve import check_premise, check_setup

    alpha, beta = resolve_norms(norm, input_norm, output_norm)
    opts = _solve_options(time_limit, threads, gap, mem_limit, seed)
    check_setup(solver, opts, jobs, solver_path)  # all of it before anything is written
    net, dom = load_network_and_domain(weights, box, box_file, center, radius, clip, layers, output_weights, margin)
    workdir = workdir or Path("lipgen-runs") / net.name
    for d in (workdir, workdir / "instances", workdir / "runs"):
        check_output_dir(d)
    from .paths import no_leftovers

    with status_after_a_second(err, f"generating the instances of {net.name}", enabled=not as_json and err.is_terminal), \
            no_leftovers(workdir / "instances"):
        written = do_generate(net, dom, workdir / "instances", alpha=alpha, beta=beta, eps=eps, encoding=encoding,
                              mode=mode, bounds_method=bounds,
                              target="any", log=stage_log(net, quiet=as_json))
    results = _solve_with_progress([g.path for g in written], solver, workdir / "runs", opts, jobs, solver_path,
                                   warm_start, force, quiet=as_json, wait=wait,
                                   label=lambda state: f"{state['bound']} problem", solver_defaults=solver_defaults)
    by_kind = {r["bound"]: r for r in results}
    up, lo = by_kind["upper"], by_kind["lower"]
    sidecar_up = next(g.sidecar for g in written if g.sidecar["bound"] == "upper")
    upper_path = next(g.path for g in written if g.sidecar["bound"] == "upper")
    premise = check_premise(up, sidecar_up, upper_path, workdir / "runs", opts, warm_start=warm_start, force=force,
                            wait=wait, solver_defaults=solver_defaults,
                            log=None if as_json else lambda line: err.print(line, markup=False, soft_wrap=True))
    summary = combine(up.get("lipschitz"), lo.get("lipschitz"), written[0].sidecar["anchors"])
    summary["premise"] = premise
    status = up["status"] if up["status"] == lo["status"] else f"upper: {up['status']}, lower: {lo['status']}"
    if summary["consistency"] != "ok":
        status = summary["consistency"]
    elif premise.get("verdict") == UNVERIFIED:
        status = UNVERIFIED
    sidecars = {g.sidecar["bound"]: g.sidecar for g in written}
    domain = sidecars["upper"]["domain"]
    ran = ", ".join(dict.fromkeys(r["solver"] for r in (up, lo)))  # which solver(s) ran, e.g. for --solver auto
    summary.update(status=status, network=net.name, norms={"input": alpha, "output": beta},
                   domain=domain["tag"], domain_bounds={"kind": domain["kind"], "lower": domain["lower"],
                                                        "upper": domain["upper"]},
                   eps=sidecars["lower"]["eps"], mode=sidecars["upper"]["mode"],
                   bounds_method=sidecars["upper"]["bounds_method"], solver=ran, solver_requested=solver,
                   solver_version=up.get("solver_version") or lo.get("solver_version"), workdir=str(workdir),
                   reused=all(r.get("reused") for r in results),
                   problems={k: {"status": r["status"], "status_text": r["status_text"], "time": r.get("time"),
                                 "wall_time": r.get("wall_time"), "run_dir": r.get("run_dir"),
                                 "instance": r["instance"], "solver": r["solver"],
                                 "solver_version": r.get("solver_version"),
                                 "reused": bool(r.get("reused"))} for k, r in by_kind.items()})
    summary["gap"] = clean_gap(summary.get("gap"))
    if as_json:
        emit_json(summary)
    else:
        t = Table(title=f"Lipschitz constant of {net.name}, {norm_label(alpha, beta)}, domain {summary['domain']}, "
                        f"{ran}" + (f" {summary['solver_version']}" if summary["solver_version"] else ""))
        for c in ("quantity", "value", "status", "time (s)"):
            t.add_column(c)

        def status_of(r):
            return r["status"] + (" (reused)" if r.get("reused") else "")

        t.add_column("from")
        t.add_row("lower bound (certified)", fmt_num(summary["best_lower"], 8), "", "", summary["lower_source"] or "")
        t.add_row("upper bound", fmt_num(summary["upper"], 8), "", "", summary["upper_source"] or "")
        t.add_row("relative gap", fmt_num(summary["gap"], 3), summary["consistency"], "", "")
        t.add_row("upper-bound problem (dual bound)", fmt_num(summary["upper_mip"], 8), status_of(up),
                  fmt_num(up.get("time"), 3), "non-strict MIP")
        t.add_row("lower-bound problem (realised, certified)", fmt_num(summary["lower"], 8), status_of(lo),
                  fmt_num(lo.get("time"), 3), "strict MIP")
        t.add_row("sampled points (certified)", fmt_num(summary["sampled_certified"], 8), "", "", "anchor")
        t.add_row("sampled points (float64 estimate)", fmt_num(summary["sampled_estimate"], 8), "", "",
                  "estimate, not a bound")
        t.add_row("region walk (certified)", fmt_num(summary["search_lower"], 8), "", "", "anchor")
        t.add_row("naive upper bound", fmt_num(summary["naive_upper"], 8), "", "", "anchor")
        out.print(t)
        out.print(f"files in {workdir}")
    for r in results:
        if not _result_ok(r):
            err.print(f"{r['bound']} problem: {r['status_text']}", markup=False, soft_wrap=True)
    lo_q = lo.get("lipschitz") or {}
    if lo_q.get("lower") is None and lo_q.get("lower_reason"):
        err.print(f"lower-bound problem: its value is not used: {lo_q['lower_reason']}", markup=False, soft_wrap=True)
    if summary["certified_lower"] is None and all(_result_ok(r) for r in results):
        err.print(f"no certified point: {_no_certificate_reason(results)}", markup=False, soft_wrap=True)
    if summary["consistency"] != "ok":
        err.print(f"inconsistent: the upper bound {summary['upper']!r} is below the certified lower bound "
                  f"{summary['best_lower']!r}; a solver's tolerances broke a rule (please report it)", markup=False,
                  soft_wrap=True)
    if premise.get("verdict") == UNVERIFIED:
        err.print(f"unverified: the upper-bound problem's dual bound is not certified: {premise['reason']} (the upper "
                  "bound shown is the naive one)", markup=False, soft_wrap=True)
    if failure_reason(summary) is not None:
        raise typer.Exit(FAILED_EXIT)


def _no_certificate_reason(results: list[dict]) -> str:
    reasons = [f"{r['bound']} problem: {q['certificate']['reason']}" for r in results
               if (q := r.get("lipschitz") or {}).get("certificate")]
    return "; ".join(reasons) or "no solution point to certify"


def norm_label(alpha: str, beta: str) -> str:
    return f"l{alpha} norm" if alpha == beta else f"l{alpha} -> l{beta}"


def _solution_inputs(solution: Path, instance: Path, solver: str) -> tuple[Path, dict]:
    """(sidecar path, sidecar) for a solution file and its instance (sidecar or instance file), all checked."""
    from .instance import load_sidecar, sidecar_for
    from .solvers.backends import SOLVERS

    if solver not in SOLVERS:
        raise LipgenError(f"--solver {solver!r} is not supported: use one of {', '.join(SOLVERS)}")
    sidecar_path = instance if instance.suffix == ".json" else sidecar_for(instance)
    sidecar = load_sidecar(sidecar_path)
    if not solution.is_file():
        raise LipgenError(f"{solution}: no such solution file")
    from .parsers import sniff

    kind = sniff.solution_kind(solution)
    if kind is not None and kind != solver:
        raise LipgenError(f"{solution}: a {sniff.NAMES[kind]} solution file, not a {sniff.NAMES[solver]} one "
                          f"(use --solver {kind})")
    return sidecar_path, sidecar


@app.command()
def parse(
    solution: Path = typer.Argument(..., help="A solver's solution file (e.g. back from a cluster)."),
    instance: Path = typer.Option(..., "--instance", help="The instance's sidecar .json (or the instance file)."),
    solver: str = typer.Option(..., "--solver", help="scip, gurobi, cplex, highs or cbc."),
    log: Optional[Path] = typer.Option(None, "--log", help="The solver's log (status, dual bound, time)."),
    gap: Optional[float] = typer.Option(None, "--gap", help="Relative gap the solver ran with; an optimal run whose "
                                                            "files give no dual bound proves obj - gap |obj| "
                                                            "[default: the tolerance a HiGHS log names, else "
                                                            "1e-4, CPLEX's and HiGHS's default]."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Read one existing solution file back into Lipschitz bounds.

    Exit code 0 when the file gives the problem's bound, 1 when it does not (e.g. a file cut short: the table
    says why), 2 on bad input (a file of another solver, or no solution file at all).
    """
    from .check import check_record
    from .instance import network_of
    from .parsers import parse as parse_solution
    from .parsers import record as rec
    from .parsers import sniff
    from .parsers.verify import log_problem, record_problem
    from .results import lipschitz_quantities

    sidecar_path, sidecar = _solution_inputs(solution, instance, solver)
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
        res = {"instance": sidecar["instance"], "bound": sidecar["bound"], "solver": solver, "status": "refused",
               "status_text": f"refused: {check.message}", "check": check.to_dict(), "lipschitz": None}
        if as_json:
            emit_json(res)
        err.print(f"{solution}: {res['status_text']}", markup=False, soft_wrap=True)
        raise typer.Exit(FAILED_EXIT)
    if gap is None and solver == "highs" and log is not None:
        from .parsers.highs import parse_log as highs_log

        gap = highs_log(log).gap_tolerance  # HiGHS's log says the tolerance it pruned with
    q = lipschitz_quantities(record, sidecar, network, gap_tol=gap)
    res = {"instance": sidecar["instance"], "bound": sidecar["bound"], "solver": solver, "status": record.status,
           "status_text": q["status_text"], "primal": record.primal, "dual": record.dual, "gap": record.gap,
           "time": record.time, "nodes": record.nodes, "lipschitz": q,
           "check": None if check is None else check.to_dict()}
    if as_json:
        emit_json(res)
    else:
        _parse_table(solution, solver, sidecar, res)
    if not _result_ok(res):
        err.print(f"no {sidecar['bound']} bound: {res['status_text']}", markup=False, soft_wrap=True)
        raise typer.Exit(FAILED_EXIT)


def _parse_table(solution: Path, solver: str, sidecar: dict, res: dict) -> None:
    q = res["lipschitz"]
    t = Table(title=f"{solution.name} ({solver}, {sidecar['bound']} problem of {sidecar['instance']})")
    t.add_column("quantity")
    t.add_column("value")
    for k in ("status_text", "primal", "dual", "gap", "time", "nodes"):
        t.add_row(k.replace("_text", ""), fmt_num(res[k]) if k != "status_text" else res[k])
    for k in ("upper", "lower", "certified_lower"):
        t.add_row(k.replace("_", " "), fmt_num(q[k], 8))
    out.print(t)
    if q["certificate"] and q["certified_lower"] is None:
        err.print(f"not certified: {q['certificate']['reason']}", markup=False, soft_wrap=True)


@app.command()
def check(
    solution: Path = typer.Argument(..., help="A solver's solution file."),
    instance: Path = typer.Option(..., "--instance", help="The instance's sidecar .json (or the instance file)."),
    solver: str = typer.Option(..., "--solver", help="scip, gurobi, cplex, highs or cbc: the format of the solution "
                                                     "file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Check a solution against its instance, like MIPLIB's solution checker.

    The instance's rows are rebuilt from the sidecar's network; the report gives the largest violation of
    rows, bounds and integrality and whether the stated objective matches the values. Exit code 0 when the
    solution is feasible within 1e-5 and its objective matches, 1 when it is refused, 2 on bad input.
    """
    from .check import check_record
    from .instance import network_of
    from .parsers import parse as parse_solution

    from .parsers import record as rec
    from .parsers import sniff

    sidecar_path, sidecar = _solution_inputs(solution, instance, solver)
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
    if as_json:
        emit_json(res)
    else:
        t = Table(title=f"{solution.name} against {sidecar['instance']} ({solver})")
        t.add_column("check")
        t.add_column("value")
        t.add_row("verdict", "accepted" if res["ok"] else "refused")
        t.add_row("values in the file", str(res["values"]))
        for key, label in (("missing", "instance variables missing"), ("unknown", "names not in the instance"),
                           ("max_violation", "largest violation"), ("worst", "where"),
                           ("objective_stated", "objective stated"), ("objective_recomputed", "objective recomputed")):
            if key in res:
                t.add_row(label, fmt_num(res[key], 10))
        out.print(t)
        (out if res["ok"] else err).print(res["message"], markup=False, soft_wrap=True)
    if not res["ok"]:
        raise typer.Exit(FAILED_EXIT)


@app.command()
def convert(
    model: Path = typer.Argument(..., help="ONNX, PyTorch state dict (.pt/.pth), safetensors, Keras or state-dict "
                                           "HDF5 file."),
    output: Path = typer.Option(..., "-o", "--output", help="The native lipgen HDF5 file to write."),
    box: Optional[str] = typer.Option(None, "--box", help="Store the input domain LO,HI (same for every input)."),
    box_file: Optional[Path] = BoxFileOpt,
    center: Optional[Path] = CenterOpt,
    radius: Optional[float] = RadiusOpt,
    clip: Optional[str] = ClipOpt,
    layers: Optional[str] = typer.Option(None, "--layers", help="Linear layer names in order, e.g. fc1,fc2,out "
                                                                 "(when a state dict's order is ambiguous)."),
):
    """Convert a model into lipgen's native HDF5 schema (optionally storing an input domain)."""
    from .domain import resolve_domain
    from .importers import convert as do_convert
    from .weights import load

    lower = upper = None
    if any(x is not None for x in (box, box_file, center)):
        net = load(model, layers=layers.split(",") if layers else None)
        dom = resolve_domain(net, box=box, box_file=box_file, center=center, radius=radius, clip=clip)
        lower, upper = dom.lower, dom.upper
    net = do_convert(model, output, layers=layers.split(",") if layers else None, domain_lower=lower,
                     domain_upper=upper)
    out.print(f"wrote {output}: {net.name}, widths {net.widths}" + (" with its domain" if lower is not None else ""))


@app.command()
def jobs(
    instances: list[Path] = InstancesArg,
    output: Path = typer.Option(..., "-o", "--output", help="Job folder: script, task list, logs/, settings/."),
    scheduler: str = typer.Option("slurm", "--scheduler", help="slurm (sbatch), pbs (qsub) or lsf (bsub)."),
    solver: str = SolverOpt,
    runs: Optional[Path] = typer.Option(None, "--runs", help="Where the tasks write their runs, as `lipgen solve "
                                                            "-o` [default: JOB_DIR/runs]."),
    time_limit: Optional[float] = TimeOpt,
    threads: int = typer.Option(1, "--threads", help="Threads per solver run (the CPUs each task asks for)."),
    gap: float = GapOpt,
    mem: Optional[float] = typer.Option(None, "--mem", help="Memory limit per solver run, MB (the job asks for it "
                                                            "plus a margin)."),
    seed: Optional[int] = SeedOpt,
    warm_start: bool = WarmOpt,
    solver_defaults: bool = SolverDefaultsOpt,
    solver_path: Optional[str] = typer.Option(None, "--solver-path", help="Solver executable on the compute nodes."),
    partition: Optional[str] = typer.Option(None, "--partition", help="Partition (SLURM) or queue (PBS, LSF)."),
    account: Optional[str] = typer.Option(None, "--account", help="Account (SLURM, PBS) or project (LSF)."),
    max_parallel: Optional[int] = typer.Option(None, "--max-parallel", help="Array tasks running at once."),
    array_chunk: int = typer.Option(1, "--array-chunk", help="Instances per array task (solved one after another)."),
    wall_time: Optional[str] = typer.Option(None, "--wall-time", help="Wall time per task (seconds, HH:MM:SS or "
                                                                     "D-HH:MM:SS) [default: from --time-limit]."),
    job_name: Optional[str] = typer.Option(None, "--job-name", help="Job name [default: lipgen-SOLVER]."),
    template: Optional[Path] = typer.Option(None, "--template", help="Your copy of templates/jobs/SCHEDULER.sh.j2 "
                                                                     "(site modules, extra directives)."),
    lipgen_command: Optional[str] = typer.Option(None, "--lipgen-command", help="How compute nodes start lipgen, "
                                                 "e.g. 'lipgen' [default: this Python with -m lipgen]."),
    only_unfinished: bool = typer.Option(False, "--only-unfinished", help="Leave out instances whose run in "
                                                                          "--runs is finished."),
    submit: bool = typer.Option(False, "--submit", help="Submit the array job and store its id in JOB_DIR/job_id."),
):
    """Write an array job (one task per instance, or --array-chunk per task) for SLURM, PBS or LSF.

    Each task runs `lipgen solve` on its lines of the task list into the runs folder; re-submitting redoes
    only unfinished runs. Collect the results with `lipgen collect`.
    """
    import shlex

    from .cluster import JobRequest, make_job, submit_job

    for option, value in (("--solver-path", solver_path), ("--lipgen-command", lipgen_command)):
        if value is not None and not value.strip():
            raise LipgenError(f"{option} is empty")
    try:
        command_words = shlex.split(lipgen_command) if lipgen_command else None
    except ValueError as exc:
        raise LipgenError(f"--lipgen-command {lipgen_command!r}: {exc}") from None
    from .cluster.schedulers import get_scheduler, parse_duration

    req = JobRequest(instances=instances, job_dir=output, scheduler=scheduler, solver=solver, runs_dir=runs,
                     time_limit=time_limit, threads=threads, gap=gap, mem_limit=mem, seed=seed, warm_start=warm_start,
                     solver_defaults=solver_defaults,
                     solver_path=solver_path, partition=partition, account=account, max_parallel=max_parallel,
                     chunk=array_chunk, wall_time=parse_duration(wall_time) if wall_time else None, job_name=job_name,
                     template=template, lipgen_command=command_words,
                     only_unfinished=only_unfinished)
    job = make_job(req)
    v = job.variables
    memory = f"{v['job_mem_mb']} MB" if v["job_mem_mb"] else "the partition's default"
    out.print(f"{job.script}: {v['n_instances']} instance(s) in {v['n_tasks']} task(s), solver {solver}, wall time "
              f"{v['wall_hms'] or 'the partition default'}, memory {memory}", markup=False)
    out.print(f"task list {job.task_list}, runs into {job.runs_dir}", markup=False)
    for inst, why in job.skipped:
        err.print(f"left out {inst}: {why}", markup=False, soft_wrap=True)
    for note in job.notes:
        err.print(f"note: {note}", markup=False, soft_wrap=True)
    if submit:
        job_id = submit_job(job)
        out.print(f"submitted job {job_id} (stored in {job.job_dir / 'job_id'})", markup=False)
    else:
        out.print(f"submit with: cd {shlex.quote(str(job.job_dir))} && {get_scheduler(scheduler).manual_submit()}",
                  markup=False)


@app.command()
def collect(
    runs: list[Path] = typer.Argument(..., help="Runs folders (from `lipgen solve -o` or cluster jobs), searched "
                                                "for result.json files."),
    output: Path = typer.Option(..., "-o", "--output", help="Report folder: results.csv/.json/.md/.txt, .solu, "
                                                            "plots."),
    instances: Optional[list[Path]] = typer.Option(None, "--instances", help="Folders of the instances' sidecars, "
                                                   "when the runs were made on another machine [default: where each "
                                                   "result says its instance was]."),
    plots: bool = typer.Option(False, "--plots", help="Also draw PNG plots (needs matplotlib: pip install "
                                                      "'lipgen[plots]')."),
    name: str = typer.Option("results", "--name", help="Name of the report files: NAME.csv, NAME.solu, ..."),
    solu: Optional[Path] = typer.Option(None, "--solu", help="A known .solu file (e.g. instances/v1/lipgen-v1.solu): "
                                                            "compare every value with it (NAME.compare.csv)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report's JSON."),
):
    """Gather result.json files into tables (CSV, JSON, Markdown, text), a MIPLIB-style .solu, per-instance
    metadata (status easy/hard/open, sizes, class) and plots.

    Results whose instance checksum differs from its sidecar are refused, with a message, never mixed in. With
    --solu, exit code 1 when a value contradicts the known ones.
    """
    from .paths import check_output_dir
    from .report import collect as do_collect

    check_output_dir(output)
    report = do_collect(runs, output, instance_dirs=instances, plots=plots, name=name, known_solu=solu)
    for msg in report.messages:
        err.print(msg, markup=False, soft_wrap=True)
    if as_json:
        emit_json(report.to_json())
    else:
        out.print(report.text_table, markup=False, highlight=False, soft_wrap=True)
        if report.comparison is not None:
            _print_comparison(report.comparison, solu)
        out.print(f"wrote {', '.join(str(p) for p in report.files)}", markup=False, soft_wrap=True)
    for c in report.contradictions:
        err.print(f"{c['instance']}: contradicts {solu}: {c['why']}", markup=False, soft_wrap=True)
    if report.contradictions:
        raise typer.Exit(FAILED_EXIT)


def _solu_value(kind: str | None, primal, dual) -> str:
    """A .solu entry in one cell: the optimum, [best dual, best primal], infeasible, or -."""
    if kind is None:
        return "-"
    if kind == "inf":
        return "infeasible"
    return fmt_num(primal, 10) if kind == "opt" else f"[{fmt_num(dual, 8)}, {fmt_num(primal, 8)}]"


def _print_comparison(rows: list[dict], solu: Path) -> None:
    from collections import Counter

    t = Table(title=f"Compared with {solu}")
    for c in ("instance", "verdict", "value", "known", "why"):
        t.add_column(c)
    for r in rows:
        t.add_row(r["instance"], r["verdict"], _solu_value(r["kind"], r["primal"], r["dual"]),
                  _solu_value(r["known_kind"], r["known_primal"], r["known_dual"]), r["why"])
    out.print(t)
    counts = Counter(r["verdict"] for r in rows)
    out.print(f"{len(rows)} instances compared with {solu}: " +
              ", ".join(f"{counts[v]} {v}" for v in ("ok", "consistent", "better", "unknown", "fail")), markup=False)


@app.command()
def version():
    """Print lipgen's version."""
    out.print(__version__)


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2; SIGINT/SIGTERM stop every solver
    lipgen started, print one line and exit with 130/143."""
    from .interrupts import Interrupted, interrupts_raise

    with interrupts_raise() as signals:
        try:
            code = app(standalone_mode=False)  # option errors are ours to print: one line, not a usage block
            if isinstance(code, int) and code:
                sys.exit(code)
        except _click_errors.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except _click_errors.ClickException as exc:
            path = exc.ctx.command_path if getattr(exc, "ctx", None) is not None else ""
            where = path.partition(" ")[2] + ": " if " " in path else ""
            text = " ".join(exc.format_message().split())
            err.print(f"lipgen: error: {where}{text} (see --help)", soft_wrap=True,
                      markup=False)
            sys.exit(exc.exit_code)
        except typer.Abort:
            err.print("lipgen: aborted", markup=False)
            sys.exit(1)
        except LipgenError as exc:
            err.print(f"lipgen: error: {exc}", soft_wrap=True, markup=False)
            sys.exit(exc.exit_code)
        except Interrupted:
            pass  # reported below
        except KeyboardInterrupt:
            err.print("lipgen: interrupted", markup=False)
            sys.exit(130)
        except SystemExit:
            if signals.caught is None:  # click turns an interrupt into exit code 130 without a word
                raise
    if signals.caught is None:
        return
    from .solvers.runner import stop_all

    stop_all()  # every solver is stopped by whoever started it; this only makes sure
    err.print(signals.caught.message(), soft_wrap=True, markup=False)
    sys.exit(signals.caught.exit_code)
