"""`lipgen generate`: instance files, sidecars, settings files and the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .. import pipeline
from .options import (NORM_HELP, BoundsOpt, BoxFileOpt, BoxOpt, CenterOpt, ClipOpt, JacobianOpt, MarginOpt,
                      ModeOpt, OutputWeightsOpt, RadiusOpt, resolve_norms)
from .render import emit_json, out, stage_log


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
    jacobian: bool = JacobianOpt,
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
    alpha, beta = resolve_norms(norm, input_norm, output_norm)
    pipeline.check_generate_options(bound, fmt, output)
    net, dom = pipeline.load_network(weights, box=box, box_file=box_file, center=center, radius=radius, clip=clip,
                                     layers=layers.split(",") if layers else None, output_weights=output_weights,
                                     margin=margin)
    written = pipeline.generate(net, dom, output, alpha=alpha, beta=beta, bound=bound, eps=eps, encoding=encoding,
                                mode=mode, bounds_method=bounds, jacobian_bounds=jacobian, fmt=fmt, gzip=gzip,
                                target=target, log=stage_log(net))
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
