"""Vectorised text: numbers and lines made by polars (Rust), never one Python object per line.

Lines are columns of strings gathered from small tables (names, fixed words) by integer index and
written by polars' CSV writer with a one-space separator, no quoting and no header; a table entry
carries its own extra spaces, so the layout is exactly the one the writers document.

Numbers are written in Python's shortest round-trip spelling: `repr`, except whole numbers below
2**53 as integers and -0.0 as 0. polars formats floats in that same spelling except below 1e-4
(0.00001 / 1e-7 where repr writes 1e-05 / 1e-07), which is patched with `repr` (rare in instance
data); tests compare the two on millions of values of every magnitude.
"""

from __future__ import annotations

import io

import numpy as np
import polars as pl

CHUNK = 1 << 17  # lines (or terms) per rendered block: ~6 MB of text
_SMALL = 1e-4
_WHOLE = 2.0**53


def format_numbers(values) -> np.ndarray:
    """Shortest round-trip text of each float (1.0 -> '1', 0.1 -> '0.1'), as an object array of str.

    The reference spelling, for short sections; `number_strings` gives the same text in bulk.
    """
    vals = np.asarray(values, dtype=np.float64).ravel() + 0.0  # + 0.0 turns -0.0 into 0.0
    out = np.empty(len(vals), dtype=object)
    whole = (vals == np.round(vals)) & (np.abs(vals) < _WHOLE)
    out[whole] = list(map(str, vals[whole].astype(np.int64).tolist()))
    out[~whole] = list(map(repr, vals[~whole].tolist()))
    return out


def number_strings(values) -> pl.Series:
    """The text of each float as a polars String series, the same as `format_numbers`."""
    vals = np.asarray(values, dtype=np.float64).ravel() + 0.0
    if len(vals) == 0:
        return pl.Series([], dtype=pl.String)
    whole = (vals == np.round(vals)) & (np.abs(vals) < _WHOLE)
    if whole.all():
        return pl.Series(vals.astype(np.int64)).cast(pl.String)
    out = pl.Series(vals).cast(pl.String)
    if whole.any():
        idx = np.flatnonzero(whole)
        out = out.scatter(idx, pl.Series(vals[idx].astype(np.int64)).cast(pl.String))
    small = np.abs(vals) < _SMALL
    small &= ~whole
    if small.any():
        idx = np.flatnonzero(small)
        out = out.scatter(idx, pl.Series(list(map(repr, vals[idx].tolist())), dtype=pl.String))
    return out


def strings(items) -> pl.Series:
    """A polars String series from Python strings (tables of names and fixed words)."""
    return pl.Series(list(items), dtype=pl.String)


def lines(columns: list[pl.Series], end: str = "\n") -> bytes:
    """Row i of the columns joined by single spaces, `end` after each row; ASCII bytes."""
    if len(columns[0]) == 0:
        return b""
    frame = pl.DataFrame({f"c{k}": col for k, col in enumerate(columns)})
    buf = io.BytesIO()
    frame.write_csv(buf, include_header=False, separator=" ", quote_style="never", line_terminator=end)
    return buf.getvalue()


def paste(pieces: list[pl.Series]) -> pl.Series:
    """Row i of the series pasted together with nothing between them."""
    frame = pl.DataFrame({f"c{k}": p for k, p in enumerate(pieces)})
    return frame.select(pl.concat_str(pl.all()).alias("s")).to_series()


def concat(pieces: list[pl.Series]) -> bytes:
    """All rows of `paste(pieces)` one after another, as ASCII bytes."""
    if len(pieces[0]) == 0:
        return b""
    buf = io.BytesIO()
    paste(pieces).to_frame().write_csv(buf, include_header=False, quote_style="never", line_terminator="")
    return buf.getvalue()


def chunks(n: int, size: int = CHUNK):
    """Slices covering range(n) in blocks of `size`."""
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))
