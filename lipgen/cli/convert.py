"""`lipgen convert`: a weights file into lipgen's native HDF5 schema."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .. import pipeline
from .options import BoxFileOpt, CenterOpt, ClipOpt, RadiusOpt
from .render import out


def convert(
    weights: Path = typer.Argument(..., help="ONNX, PyTorch state dict (.pt/.pth), safetensors, Keras or state-dict "
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
    """Convert a weights file into lipgen's native HDF5 schema (optionally storing an input domain)."""
    net, with_domain = pipeline.convert_weights(weights, output, layers=layers.split(",") if layers else None, box=box,
                                                box_file=box_file, center=center, radius=radius, clip=clip)
    out.print(f"wrote {output}: {net.name}, widths {net.widths}" + (" with its domain" if with_domain else ""))
