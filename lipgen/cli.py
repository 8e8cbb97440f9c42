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
                          fmt=fmt, gzip=gzip, target=target)
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
