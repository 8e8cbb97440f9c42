"""Instance file writers: Model -> free MPS or CPLEX LP, optionally gzipped; atomic and deterministic.

Files are rendered in blocks and streamed to disk (`write_model`): written and hashed in a
background thread, gzip compressed in parallel blocks (stream.py), never held whole in memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from ..errors import LipgenError
from ..model import Model
from .lp import iter_lp, render_lp
from .mps import iter_mps, render_mps
from .stream import Written, gzip_bytes, write_chunks

FORMATS = ("mps", "lp")
_ITER = {"mps": iter_mps, "lp": iter_lp}

__all__ = ["FORMATS", "Written", "file_suffix", "format_of", "iter_model", "render_lp", "render_model", "render_mps",
           "write_lp", "write_model", "write_mps"]


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


def iter_model(model: Model, fmt: str) -> Iterator[bytes]:
    """The uncompressed file in `fmt` as consecutive byte blocks (the model is checked first)."""
    return _ITER[_check_format(fmt)](model)


def render_model(model: Model, fmt: str, gzip: bool = False) -> bytes:
    """File contents in `fmt`, the same bytes `write_model` writes (gzip: mtime 0, no file name)."""
    data = b"".join(iter_model(model, fmt))
    return gzip_bytes(data) if gzip else data


def write_model(model: Model, path: str | os.PathLike, fmt: str | None = None) -> Written:
    """Write `model` to `path` atomically; the format comes from `fmt` or the name, gzip from a `.gz` name.

    Returns the size and SHA-256 of the written file.
    """
    if fmt is None:
        fmt, gz = format_of(path)
    else:
        gz = os.fspath(path).lower().endswith(".gz")
    return write_chunks(path, iter_model(model, fmt), gzip=gz)


def write_mps(model: Model, path) -> None:
    """Write `model` as free MPS (gzip-compressed if `path` ends in .gz), atomically."""
    write_model(model, path, "mps")


def write_lp(model: Model, path) -> None:
    """Write `model` as CPLEX LP (gzip-compressed if `path` ends in .gz), atomically."""
    write_model(model, path, "lp")


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise LipgenError(f"unknown instance format {fmt!r}: use one of {', '.join(FORMATS)}")
    return fmt
