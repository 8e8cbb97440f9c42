"""Rendering for people and machines: the two consoles, numbers in tables, JSON on stdout, stage lines."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
from rich.console import Console

from ..pipeline import format_number

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
if not out.is_terminal:
    out.width = 160  # pipes and files: do not squeeze tables into 80 columns

PROGRESS_WEIGHTS = 100_000  # networks at least this large take seconds to generate: report each stage


def stage_log(net, quiet: bool = False):
    """A callback printing `lipgen: <stage>` lines to stderr for large networks (None otherwise)."""
    if quiet or sum(w.size for w in net.weights) < PROGRESS_WEIGHTS:
        return None
    return lambda line: err.print(f"lipgen: {line}", style="dim", soft_wrap=True)


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
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o).__name__)


def fmt_num(x, digits: int = 6) -> str:
    """A number in a table cell: `digits` significant digits, `-` for none, never `-0`."""
    if x is None or isinstance(x, float):
        return format_number(x, digits)
    return str(x)


def norm_label(alpha: str, beta: str) -> str:
    return f"l{alpha} norm" if alpha == beta else f"l{alpha} -> l{beta}"


def note(console: Console, text: str) -> None:
    """One plain line (no markup: paths and messages may hold brackets)."""
    console.print(text, markup=False, soft_wrap=True)
