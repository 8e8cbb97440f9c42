"""Instance file writers: Model -> free MPS or CPLEX LP, optionally gzipped; atomic and deterministic."""

from __future__ import annotations

import gzip as _gzip
import os

from .. import atomic
from ..errors import LipgenError
from ..model import Model
from .lp import render_lp, write_lp
from .mps import render_mps, write_mps

FORMATS = ("mps", "lp")
_RENDER = {"mps": render_mps, "lp": render_lp}

__all__ = ["FORMATS", "file_suffix", "format_of", "render_lp", "render_model", "render_mps", "write_lp",
           "write_model", "write_mps"]


def file_suffix(fmt: str, gzip: bool) -> str:
    """'.mps', '.mps.gz', '.lp' or '.lp.gz'."""
    _check_format(fmt)
    return f".{fmt}.gz" if gzip else f".{fmt}"


def format_of(path: str | os.PathLike) -> tuple[str, bool]:
    """(format, gzip) from a file name such as `x.mps.gz`; LipgenError if the suffix is not one of ours."""
    name = os.fspath(path).lower()
    gz = name.endswith(".gz")
    base = name[:-3] if gz else name
    for fmt in FORMATS:
        if base.endswith(f".{fmt}"):
            return fmt, gz
    raise LipgenError(f"{os.fspath(path)}: cannot tell the file format from the name; "
                      "use .mps, .mps.gz, .lp or .lp.gz")


def render_model(model: Model, fmt: str, gzip: bool = False) -> bytes:
    """File contents in `fmt`; gzip output is byte-stable too (mtime 0, no file name in the header)."""
    data = _RENDER[_check_format(fmt)](model)
    return _gzip.compress(data, compresslevel=6, mtime=0) if gzip else data


def write_model(model: Model, path: str | os.PathLike, fmt: str | None = None) -> None:
    """Write `model` to `path` atomically; the format comes from `fmt` or the name, gzip from a `.gz` name."""
    if fmt is None:
        fmt, gz = format_of(path)
    else:
        gz = os.fspath(path).lower().endswith(".gz")
    atomic.write_bytes(path, render_model(model, fmt, gz))


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise LipgenError(f"unknown instance format {fmt!r}: use one of {', '.join(FORMATS)}")
    return fmt
