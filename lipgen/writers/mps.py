"""Free MPS in the dialect SCIP, Gurobi and CPLEX all read identically (docs/solvers.md 1.2).

Minimisation is every reader's default, so no OBJSENSE section is written (CBC ignores it anyway).
Every column appears in COLUMNS (an explicit `obj 0` entry if it has no other), so a variable used
only in quadratic terms or bounds still exists. A row with no terms at all is kept (an empty row).

The text is produced in blocks (`iter_mps`); the sections that grow with the nonzeros (COLUMNS,
QUADOBJ, QCMATRIX) are assembled column-wise by polars (text.py), the per-variable ones in Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

from ..model import BINARY, CONTINUOUS, SENSE_CHARS, Model
from .common import chunks, format_numbers, lines, number_strings, strings

__all__ = ["OBJ_NAME", "check_model", "check_names", "file_label", "format_numbers", "iter_mps", "render_mps",
           "true_binaries"]

OBJ_NAME = "obj"
MAX_NAME = 250
_BAD_NAME = re.compile(rf"^(?![A-Za-z_][A-Za-z0-9_.]{{0,{MAX_NAME - 1}}}$).*$", re.M)
_MARKERS = ("'INTORG'", "'INTEND'")


# ---------------------------------------------------------------------------------------- shared helpers
def check_names(names: np.ndarray, what: str) -> np.ndarray:
    """Raise ValueError unless every name matches [A-Za-z_][A-Za-z0-9_.]* with <= 250 chars.

    Returns the names as an object array (cheap fancy indexing into Python strings).
    """
    lst = [str(s) for s in np.asarray(names).tolist()]
    if lst:
        text = "\n".join(lst)
        bad = _BAD_NAME.search(text)
        if bad is not None or text.count("\n") != len(lst) - 1:
            shown = bad.group(0) if bad is not None else next(s for s in lst if "\n" in s)
            raise ValueError(f"invalid {what} name {shown[:80]!r}: names must match [A-Za-z_][A-Za-z0-9_.]* "
                             f"with at most {MAX_NAME} characters")
    return np.array(lst, dtype=object)


def check_model(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Validate names and numbers of a Model about to be written; returns (var names, row names) as objects."""
    var_names = check_names(model.var_names, "variable")
    row_names = check_names(model.row_names, "row")
    if len(var_names) == 0:
        raise ValueError(f"model {model.name!r} has no variables")
    if OBJ_NAME in set(row_names.tolist()):
        raise ValueError(f"row name {OBJ_NAME!r} is reserved for the objective")
    finite = {"objective": model.obj, "objective constant": [model.obj_constant], "matrix": model.A.data,
              "rhs": model.rhs, "quadratic objective": model.obj_q[2], "quadratic rows": model.q_rows[3]}
    for what, arr in finite.items():
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"non-finite {what} coefficient in model {model.name!r}")
    if np.any(np.abs(model.obj_q[2]) > np.finfo(np.float64).max / 2):
        raise ValueError(f"quadratic objective coefficient too large to write (both formats write it doubled) in "
                         f"model {model.name!r}")
    lb, ub = model.lb, model.ub
    if np.any(np.isnan(lb) | np.isnan(ub) | (lb == np.inf) | (ub == -np.inf)):
        raise ValueError(f"invalid variable bounds (NaN, lb=+inf or ub=-inf) in model {model.name!r}")
    binary = model.vtype == BINARY
    if np.any(binary & ((lb < 0) | (ub > 1))):
        raise ValueError(f"binary variable with bounds outside [0, 1] in model {model.name!r}")
    return var_names, row_names


def file_label(name: str) -> str:
    """The model name as a single whitespace-free token (it is only a label in the file)."""
    label = re.sub(r"[^A-Za-z0-9_.+\-]", "_", str(name))[:MAX_NAME]
    return label or "lipgen"


def true_binaries(model: Model) -> np.ndarray:
    """Binaries with bounds exactly [0, 1]; other binaries (e.g. fixed) are written as bounded integers."""
    return (model.vtype == BINARY) & (model.lb == 0) & (model.ub == 1)


def _text(parts: list[str]) -> bytes:
    return ("\n".join(parts) + "\n").encode("ascii") if parts else b""


# ---------------------------------------------------------------------------------------- MPS sections
class _Tables:
    """Name tables shared by the sections; each entry carries the spaces that follow it on its line.

    Lines are `A B V` joined by single spaces: A = '    name ' (or the MARKER / QCMATRIX words),
    B = 'name ' (a row or a variable), V = a number (or a marker keyword / ' rowname').
    """

    def __init__(self, vn: np.ndarray, rn: np.ndarray):
        self.n, self.m = len(vn), len(rn)
        self.col = strings([f"    {x} " for x in vn.tolist()] + ["    MARKER ", "QCMATRIX"])
        self.row = strings([f"{OBJ_NAME} "] + [f"{r} " for r in rn.tolist()] + ["'MARKER' "])
        self.var = strings([f"{x} " for x in vn.tolist()] + [""])
        self.rn = rn

    def marker_col(self) -> int:
        return self.n

    def qc_col(self) -> int:
        return self.n + 1


def _rows(model: Model, rn: np.ndarray) -> bytes:
    senses = SENSE_CHARS[model.sense].tolist()
    return _text([f" {s}  {r}" for s, r in zip(senses, rn.tolist())])


def _column_entries(model: Model, tabs: _Tables):
    """(column, row table index, value, marker kind or -1) of every COLUMNS line, in file order."""
    n = model.n_vars
    csc = model.A.tocsc()
    csc.sort_indices()
    counts = np.diff(csc.indptr)
    head = model.obj != 0
    head |= counts == 0  # a column with no other entry is still declared, with `obj 0`
    per_col = counts + head
    total = int(per_col.sum())
    start = np.cumsum(per_col) - per_col
    col = np.repeat(np.arange(n, dtype=np.int32), per_col)
    row = np.empty(total, np.int32)
    val = np.empty(total)
    hpos = start[head]
    row[hpos] = 0
    val[hpos] = model.obj[head]
    mpos = np.arange(csc.nnz, dtype=np.int64) + np.repeat(start + head - csc.indptr[:-1], counts)
    row[mpos] = csc.indices + 1
    val[mpos] = csc.data
    del csc, mpos
    # integer runs sit between MARKER lines: INTORG before a run's first line, INTEND after its last
    edges = np.diff(np.concatenate([[0], (model.vtype != CONTINUOUS).astype(np.int8), [0]]))
    line_at = np.append(start, total)
    at = np.concatenate([line_at[np.flatnonzero(edges == 1)], line_at[np.flatnonzero(edges == -1)]])
    kind = np.concatenate([np.zeros(int(np.sum(edges == 1)), np.int8), np.ones(int(np.sum(edges == -1)), np.int8)])
    order = np.argsort(at, kind="stable")
    at, kind = at[order], kind[order]
    col = np.insert(col, at, tabs.marker_col())
    row = np.insert(row, at, tabs.m + 1)
    val = np.insert(val, at, 0.0)
    marker = np.full(len(col), -1, np.int8)
    marker[at + np.arange(len(at))] = kind
    return col, row, val, marker


def _columns(model: Model, tabs: _Tables) -> Iterator[bytes]:
    col, row, val, marker = _column_entries(model, tabs)
    for part in chunks(len(col)):
        nums = number_strings(val[part])
        mk = marker[part]
        where = np.flatnonzero(mk >= 0)
        if len(where):
            nums = nums.scatter(where, strings(np.array(_MARKERS)[mk[where]].tolist()))
        yield lines([tabs.col.gather(col[part]), tabs.row.gather(row[part]), nums])


def _rhs(model: Model, rn: np.ndarray) -> bytes:
    nz = np.flatnonzero(model.rhs != 0)
    out = [f"    RHS  {r}  {v}" for r, v in zip(rn[nz].tolist(), format_numbers(model.rhs[nz]).tolist())]
    if model.obj_constant != 0:  # all three readers take offset = -RHS of the objective row
        out.append(f"    RHS  {OBJ_NAME}  {format_numbers([-model.obj_constant])[0]}")
    return _text(out)


def _bounds(model: Model, vn: np.ndarray) -> bytes:
    """Up to two lines per variable; never a bare negative UP, never an integer without UP/PL."""
    lb, ub = model.lb, model.ub
    n = model.n_vars
    bv = true_binaries(model)
    integer = (model.vtype != CONTINUOUS) & ~bv
    cont = model.vtype == CONTINUOUS
    lo_inf, up_inf = lb == -np.inf, ub == np.inf
    fixed = cont & (lb == ub)
    free = cont & lo_inf & up_inf
    lb_s = format_numbers(np.where(lo_inf, 0.0, lb))
    ub_s = format_numbers(np.where(up_inf, 0.0, ub))

    first = np.full(n, "", dtype=object)
    first[bv] = "BV"
    first[fixed] = "FX"
    first[free] = "FR"
    mi = lo_inf & ~free
    first[mi] = "MI"
    lo = ~lo_inf & ~bv & ~fixed & (integer | (lb != 0) | (ub < 0))
    first[lo] = "LO"
    second = np.full(n, "", dtype=object)
    up = ~up_inf & ~bv & ~fixed
    second[up] = "UP"
    second[integer & up_inf] = "PL"

    val1 = np.where(lo | fixed, lb_s, "")
    val2 = np.where(up, ub_s, "")
    pairs = np.stack([first, second], axis=1).ravel()
    vals = np.stack([val1, val2], axis=1).ravel()
    names = np.repeat(vn, 2)
    keep = np.flatnonzero(pairs != "")
    return _text([f" {k} BND  {x}  {v}" if v else f" {k} BND  {x}" for k, x, v in
                  zip(pairs[keep].tolist(), names[keep].tolist(), vals[keep].tolist())])


def _quad_lines(tabs: _Tables, i: np.ndarray, j: np.ndarray, coef: np.ndarray, heads: np.ndarray | None = None,
                head_rows: np.ndarray | None = None) -> Iterator[bytes]:
    """`    a  b  v` lines; with heads (sorted positions in the output), a `QCMATRIX   row` line before each."""
    if heads is not None and len(heads):
        at = heads + np.arange(len(heads))  # where the header lines land once inserted
        i = np.insert(i, heads, tabs.qc_col())
        j = np.insert(j, heads, tabs.n)
        coef = np.insert(coef, heads, 0.0)
        head_text = np.full(len(i), -1, np.int64)
        head_text[at] = head_rows
    else:
        head_text = None
    for part in chunks(len(i)):
        nums = number_strings(coef[part])
        if head_text is not None:
            local = head_text[part]
            where = np.flatnonzero(local >= 0)
            if len(where):
                nums = nums.scatter(where, strings([f" {r}" for r in tabs.rn[local[where]].tolist()]))
        yield lines([tabs.col.gather(i[part]), tabs.var.gather(j[part]), nums])


def _quadobj(model: Model, tabs: _Tables) -> Iterator[bytes]:
    i, j, c = model.obj_q
    if len(c) == 0:
        return
    yield b"QUADOBJ\n"
    coef = np.where(i == j, 2.0 * c, c)  # QUADOBJ carries an implicit 1/2 (upper triangle only)
    yield from _quad_lines(tabs, i, j, coef)


def _qcmatrix(model: Model, tabs: _Tables) -> Iterator[bytes]:
    r, i, j, c = model.q_rows
    if len(c) == 0:
        return
    off = i != j
    # full symmetric matrix, no 1/2: an off-diagonal pair is split evenly over (i, j) and (j, i)
    rr = np.concatenate([r, r[off]])
    ii = np.concatenate([i, j[off]])
    jj = np.concatenate([j, i[off]])
    cc = np.concatenate([np.where(off, 0.5 * c, c), 0.5 * c[off]])
    order = np.lexsort((jj, ii, rr))
    rr, ii, jj, cc = rr[order], ii[order], jj[order], cc[order]
    starts = np.flatnonzero(np.concatenate([[True], rr[1:] != rr[:-1]]))
    yield from _quad_lines(tabs, ii, jj, cc, heads=starts, head_rows=rr[starts])


def iter_mps(model: Model) -> Iterator[bytes]:
    """The MPS file as a sequence of ASCII byte blocks (deterministic: same Model, same bytes)."""
    vn, rn = check_model(model)
    tabs = _Tables(vn, rn)
    yield f"NAME {file_label(model.name)} FREE\nROWS\n N  {OBJ_NAME}\n".encode("ascii")
    yield _rows(model, rn)
    yield b"COLUMNS\n"
    yield from _columns(model, tabs)
    yield b"RHS\n"
    yield _rhs(model, rn)
    yield b"BOUNDS\n"
    yield _bounds(model, vn)
    yield from _quadobj(model, tabs)
    yield from _qcmatrix(model, tabs)
    yield b"ENDATA\n"


def render_mps(model: Model) -> bytes:
    """The whole MPS file as ASCII bytes (deterministic: same Model, same bytes)."""
    return b"".join(iter_mps(model))
