"""The `lipgen` command line: thin wrappers over the library; tables for people, --json for machines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import LipgenError

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


def load_network_and_domain(weights: Path, box, box_file, center, radius, clip, layers: str | None = None):
    from .domain import resolve_domain
    from .weights import load

    net = load(weights, layers=layers.split(",") if layers else None)
    dom = resolve_domain(net, box=box, box_file=box_file, center=center, radius=radius, clip=clip)
    return net, dom


def emit_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


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
        return f"{x:.{digits}g}"
    return str(x)


@app.command()
def inspect(
    weights: Path = typer.Argument(..., help="Weights file (lipgen HDF5, Keras .h5, state dict .h5, ONNX, ...)."),
    box: Optional[str] = BoxOpt,
    box_file: Optional[Path] = BoxFileOpt,
    center: Optional[Path] = CenterOpt,
    radius: Optional[float] = RadiusOpt,
    clip: Optional[str] = ClipOpt,
    samples: int = typer.Option(1000, "--samples", min=1, help="Random points for the sampled lower bound."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampled points."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
):
    """Show layers, input domain, stable/unstable neurons and cheap Lipschitz bounds."""
    from .inspection import inspect_network

    net, dom = load_network_and_domain(weights, box, box_file, center, radius, clip)
    info = inspect_network(net, dom, n_samples=samples, seed=seed)
    if as_json:
        emit_json(info)
        return
    out.print(f"[bold]{net.name}[/bold]  ({info['layout']}, {weights})")
    t = Table(title="Layers")
    for c in ("layer", "shape (out x in)", "activation", "active", "inactive", "unstable", "pre-activation range"):
        t.add_column(c)
    for layer in info["layers"]:
        t.add_row(str(layer["index"]), f"{layer['shape'][0]} x {layer['shape'][1]}", layer["activation"],
                  fmt_num(layer.get("active")), fmt_num(layer.get("inactive")), fmt_num(layer.get("unstable")),
                  f"[{layer['lower_min']:.4g}, {layer['upper_max']:.4g}]")
    out.print(t)
    d = info["domain"]
    out.print(f"Domain: {d['kind']} {d['tag']}, lower in [{min(d['lower']):.4g}, {max(d['lower']):.4g}], "
              f"upper in [{min(d['upper']):.4g}, {max(d['upper']):.4g}], {len(d['lower'])} inputs")
    t = Table(title=f"Cheap Lipschitz bounds ({info['samples']} sampled points)")
    for c in ("norm", "sampled lower bound", "naive upper bound"):
        t.add_column(c)
    for p, b in info["bounds"].items():
        t.add_row(p, fmt_num(b["sampled_lower"]), fmt_num(b["naive_upper"]))
    out.print(t)


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
    fmt: str = typer.Option("mps", "--format", help="mps (free MPS, default) or lp (CPLEX LP)."),
    gzip: bool = typer.Option(False, "--gzip", help="Compress the instance files (.gz)."),
    target: str = typer.Option("any", "--target", help="scip, gurobi, cplex, cbc or any: refuse files the target "
                                                        "cannot take; `any` records compatibility in the sidecar."),
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
    net, dom = load_network_and_domain(weights, box, box_file, center, radius, clip, layers)
    written = do_generate(net, dom, output, alpha=alpha, beta=beta, bounds=kinds, eps=eps, encoding=encoding,
                          fmt=fmt, gzip=gzip, target=target, log=stage_log(net))
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
                                                    "cplex or cbc (linear instances only).")
TimeOpt = typer.Option(None, "--time-limit", help="Seconds per solver run (the solver stops itself; a hard kill "
                                                  "follows a little later) [default: none].")
ThreadsOpt = typer.Option(1, "--threads", help="Threads per solver run.")
GapOpt = typer.Option(1e-6, "--gap", help="Relative gap at which a solver may stop (the dual bound stays valid).")
MemOpt = typer.Option(None, "--mem-limit", help="Memory limit per solver run, MB.")
SeedOpt = typer.Option(None, "--seed", help="Solver random seed.")
WarmOpt = typer.Option(False, "--warm-start", help="Start the solver from the best sampled point.")
ForceOpt = typer.Option(False, "--force", help="Redo finished runs instead of reusing their result.json.")
SolverPathOpt = typer.Option(None, "--solver-path", help="Solver executable to use (else $LIPGEN_<SOLVER>, "
                                                         "then PATH, then lipgen's launcher).")
FAILED_EXIT = 1  # some run gave no usable bound


def _solve_options(time_limit, threads, gap, mem_limit, seed):
    from .solvers import SolveOptions

    return SolveOptions(time_limit=time_limit, threads=threads, gap=gap, mem_limit=mem_limit, seed=seed)


def _solve_with_progress(instances, solver, runs, opts, jobs, solver_path, warm_start, force, quiet=False):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .solve import solve_all

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=quiet) as progress:
        task = progress.add_task(f"solving with {solver}", total=len(instances))
        return solve_all(instances, solver, runs, opts, jobs=jobs, solver_path=solver_path, warm_start=warm_start,
                         force=force, on_done=lambda r: progress.advance(task))


def _lip_value(res: dict):
    q = res.get("lipschitz") or {}
    return q.get("upper") if res.get("bound") == "upper" else q.get("lower")


def _result_ok(res: dict) -> bool:
    q = res.get("lipschitz") or {}
    return (q.get("upper") if res.get("bound") == "upper" else q.get("lower")) is not None


@app.command()
def solve(
    instances: list[Path] = typer.Argument(..., help="Instance files or directories made by `lipgen generate`."),
    output: Path = typer.Option(..., "-o", "--output", help="Directory for the runs (one sub-directory each)."),
    solver: str = SolverOpt,
    time_limit: Optional[float] = TimeOpt,
    threads: int = ThreadsOpt,
    gap: float = GapOpt,
    mem_limit: Optional[float] = MemOpt,
    seed: Optional[int] = SeedOpt,
    jobs: int = typer.Option(1, "--jobs", "-j", help="Solver runs at the same time."),
    warm_start: bool = WarmOpt,
    force: bool = ForceOpt,
    solver_path: Optional[str] = SolverPathOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
):
    """Run a solver on instance files; write per run the solution, the log and result.json.

    Exit code 0 when every run gave its bound, 1 when some did not, 2 on bad input.
    """
    from .solve import find_instances

    found = find_instances(instances)
    results = _solve_with_progress(found, solver, output, _solve_options(time_limit, threads, gap, mem_limit, seed),
                                   jobs, solver_path, warm_start, force, quiet=as_json)
    if as_json:
        emit_json(results)
    else:
        t = Table(title=f"{solver} runs in {output}")
        for c in ("instance", "bound", "status", "L bound", "certified lower", "time (s)", ""):
            t.add_column(c)
        for r in results:
            q = r.get("lipschitz") or {}
            t.add_row(r["instance"], r["bound"], r["status"], fmt_num(_lip_value(r)), fmt_num(q.get("certified_lower")),
                      fmt_num(r.get("time"), 3), "reused" if r.get("skipped") else "")
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
    solver: str = SolverOpt,
    time_limit: Optional[float] = TimeOpt,
    threads: int = ThreadsOpt,
    gap: float = GapOpt,
    mem_limit: Optional[float] = MemOpt,
    seed: Optional[int] = SeedOpt,
    jobs: int = typer.Option(2, "--jobs", "-j", help="Solver runs at the same time (the two problems)."),
    warm_start: bool = WarmOpt,
    force: bool = ForceOpt,
    solver_path: Optional[str] = SolverPathOpt,
    workdir: Optional[Path] = typer.Option(None, "-o", "--output", help="Working directory for instances and runs "
                                                                       "[default: lipgen-runs/<network>]."),
    layers: Optional[str] = typer.Option(None, "--layers", help="Linear layer names in order (PyTorch files)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
):
    """The main job: generate the upper- and lower-bound problems, solve both, print the certified bounds.

    Exit code 0 when both bounds were obtained, 1 when one is missing, 2 on bad input.
    """
    from .instance import generate as do_generate
    from .results import combine

    alpha, beta = resolve_norms(norm, input_norm, output_norm)
    net, dom = load_network_and_domain(weights, box, box_file, center, radius, clip, layers)
    workdir = workdir or Path("lipgen-runs") / net.name
    written = do_generate(net, dom, workdir / "instances", alpha=alpha, beta=beta, eps=eps, encoding=encoding,
                          target="any", log=stage_log(net, quiet=as_json))
    results = _solve_with_progress([g.path for g in written], solver, workdir / "runs",
                                   _solve_options(time_limit, threads, gap, mem_limit, seed), jobs, solver_path,
                                   warm_start, force, quiet=as_json)
    by_kind = {r["bound"]: r for r in results}
    up, lo = by_kind["upper"], by_kind["lower"]
    summary = combine(up.get("lipschitz"), lo.get("lipschitz"), written[0].sidecar["anchors"])
    status = up["status"] if up["status"] == lo["status"] else f"{up['status']}/{lo['status']}"
    summary.update(status=status, network=net.name, norms={"input": alpha, "output": beta},
                   domain=written[0].sidecar["domain"]["tag"], solver=solver, workdir=str(workdir),
                   problems={k: {"status": r["status"], "status_text": r["status_text"], "time": r.get("time"),
                                 "wall_time": r.get("wall_time"), "run_dir": r.get("run_dir"),
                                 "instance": r["instance"]} for k, r in by_kind.items()})
    if as_json:
        emit_json(summary)
    else:
        t = Table(title=f"Lipschitz constant of {net.name}, {norm_label(alpha, beta)}, domain {summary['domain']}, "
                        f"{solver}")
        for c in ("quantity", "value", "status", "time (s)"):
            t.add_column(c)
        t.add_row("certified lower bound", fmt_num(summary["certified_lower"], 8), "", "")
        t.add_row("lower bound (strict problem)", fmt_num(summary["lower"], 8), lo["status"], fmt_num(lo.get("time"), 3))
        t.add_row("upper bound (non-strict problem)", fmt_num(summary["upper"], 8), up["status"],
                  fmt_num(up.get("time"), 3))
        t.add_row("relative gap", fmt_num(summary["gap"], 3), "", "")
        t.add_row("sampled lower bound", fmt_num(summary["sampled_lower"], 8), "", "")
        t.add_row("naive upper bound", fmt_num(summary["naive_upper"], 8), "", "")
        out.print(t)
        for r in results:
            if not _result_ok(r):
                err.print(f"{r['bound']} problem: {r['status_text']}", markup=False, soft_wrap=True)
        out.print(f"files in {workdir}")
    if summary["upper"] is None or summary["certified_lower"] is None:
        raise typer.Exit(FAILED_EXIT)


def norm_label(alpha: str, beta: str) -> str:
    return f"l{alpha} norm" if alpha == beta else f"l{alpha} -> l{beta}"


@app.command()
def parse(
    solution: Path = typer.Argument(..., help="A solver's solution file (e.g. back from a cluster)."),
    instance: Path = typer.Option(..., "--instance", help="The instance's sidecar .json (or the instance file)."),
    solver: str = typer.Option(..., "--solver", help="scip, gurobi, cplex or cbc."),
    log: Optional[Path] = typer.Option(None, "--log", help="The solver's log (status, dual bound, time)."),
    gap: Optional[float] = typer.Option(None, "--gap", help="Relative gap the solver ran with; an optimal run whose "
                                                            "files give no dual bound proves obj - gap |obj| "
                                                            "[default: 1e-4, CPLEX's default]."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Read one existing solution file back into Lipschitz bounds."""
    from .instance import load_sidecar, network_of, sidecar_for
    from .parsers import parse as parse_solution
    from .results import lipschitz_quantities
    from .solvers.backends import SOLVERS

    if solver not in SOLVERS:
        raise LipgenError(f"--solver {solver!r} is not supported: use one of {', '.join(SOLVERS)}")
    sidecar_path = instance if instance.suffix == ".json" else sidecar_for(instance)
    sidecar = load_sidecar(sidecar_path)
    if not solution.is_file():
        raise LipgenError(f"{solution}: no such solution file")
    if log is not None and not log.is_file():
        raise LipgenError(f"{log}: no such log file")
    json_result = solution if solution.suffix == ".json" else None
    record = parse_solution(solver, solution, log, result_json=json_result)
    q = lipschitz_quantities(record, sidecar, network_of(sidecar, sidecar_path), gap_tol=gap)
    res = {"instance": sidecar["instance"], "bound": sidecar["bound"], "solver": solver, "status": record.status,
           "status_text": q["status_text"], "primal": record.primal, "dual": record.dual, "gap": record.gap,
           "time": record.time, "nodes": record.nodes, "lipschitz": q}
    if as_json:
        emit_json(res)
        return
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
def version():
    """Print lipgen's version."""
    out.print(__version__)


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    try:
        app()
    except LipgenError as exc:
        err.print(f"lipgen: error: {exc}", soft_wrap=True, markup=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("lipgen: interrupted")
        sys.exit(130)
