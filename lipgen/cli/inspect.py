"""`lipgen inspect`: layers, stable/unstable neurons per bounds method, cheap bounds of L."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .. import pipeline
from .options import BoxFileOpt, BoxOpt, CenterOpt, ClipOpt, MarginOpt, OutputWeightsOpt, RadiusOpt
from .render import emit_json, err, fmt_num, out

MAX_SAMPLES = 10_000_000  # inspect's sampled points: about a minute on a small network, never unbounded

DOMAIN_ORIGIN = {"box": "box from --box", "ball": "l-inf ball from --center/--radius", "file": "box from --box-file",
                 "network": "box stored in the weights file"}


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
    """Show layers, input domain, stable/unstable neurons per bounds method, cheap Lipschitz bounds and the mode
    `--mode auto` takes (and why)."""
    net, dom = pipeline.load_network(weights, box=box, box_file=box_file, center=center, radius=radius, clip=clip,
                                     output_weights=output_weights, margin=margin)
    info = pipeline.inspect(net, dom, samples=samples, seed=seed, methods=bounds)
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
    t = Table(title="Per bounds method and norm (alpha = beta): the upper bounds and both modes' binaries")
    for c in ("method", "norm", "naive upper bound", "Jacobian bound", "binaries forward", "binaries backward",
              "auto takes", "why"):
        t.add_column(c)
    for m, r in info["bounds_methods"].items():
        for p, n in r["norms"].items():
            t.add_row(m, p, fmt_num(n["naive_upper"]), fmt_num(n["jacobian_upper"]) + f" ({r['jacobian_method']})",
                      str(n["binaries"]["forward"]), str(n["binaries"]["backward"]), n["auto_mode"], n["auto_why"])
    out.print(t)
    d = info["domain"]
    out.print(f"Domain ({DOMAIN_ORIGIN.get(d['kind'], d['kind'])}, tag {d['tag']}): {len(d['lower'])} inputs, "
              f"lower in [{fmt_num(min(d['lower']), 4)}, {fmt_num(max(d['lower']), 4)}], "
              f"upper in [{fmt_num(min(d['upper']), 4)}, {fmt_num(max(d['upper']), 4)}]")
    t = Table(title=f"Cheap Lipschitz bounds ({info['samples']} sampled points)")
    for c in ("norm", "sampled lower bound (certified)", "sampled estimate (float64)", "naive upper bound",
              f"Jacobian bound ({info['jacobian_method']})", "--mode auto", "run --split auto"):
        t.add_column(c)
    for p, b in info["bounds"].items():
        t.add_row(p, fmt_num(b["sampled_certified"]), fmt_num(b["sampled_estimate"]), fmt_num(b["naive_upper"]),
                  fmt_num(b["jacobian_upper"]), b["auto_mode"], b["split"])
    out.print(t)
    if "2" in info["bounds"]:
        out.print(f"SDP bound (l2, LipSDP-Neuron, verified): {fmt_num(info['bounds']['2']['sdp_upper'])} "
                  f"({info['bounds']['2']['sdp_reason']})")
    whys = dict.fromkeys(f"{b['split']}: {b['split_why']}" for b in info["bounds"].values())
    out.print("run --split auto, per norm: " + "; ".join(whys))
    for w in info["warnings"]:
        err.print(f"warning: {w}", markup=False, soft_wrap=True)
    for note in info["notes"]:
        err.print(f"note: {note}", markup=False, soft_wrap=True)
