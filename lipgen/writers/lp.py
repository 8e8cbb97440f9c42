"""CPLEX LP in the portable spelling SCIP, Gurobi and CPLEX all read identically (SOLVERS.md 2).

Long expressions are wrapped: a term starts a new (space-indented) line once its row passes another
WRAP characters, so a line holds at most WRAP characters plus one term.

Expressions are rendered in blocks of whole rows (`iter_lp`): each term's text is assembled by
polars, its position and line breaks computed with numpy from the term lengths.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from ..model import CONTINUOUS, Model
from .mps import OBJ_NAME, check_model, file_label, format_numbers, true_binaries
from .text import CHUNK, concat, number_strings, paste, strings

WRAP = 200
# words an LP reader may take as a keyword (or an exponent, e1) where a name is expected
_KEYWORDS = {"min", "max", "minimize", "maximize", "minimum", "maximum", "minimise", "maximise", "st", "s.t.",
             "subject", "such", "that", "to", "bound", "bounds", "bin", "binary", "binaries", "gen", "general",
             "generals", "int", "integer", "integers", "semi", "semis", "semi-continuous", "sos", "sos1", "sos2",
             "end", "free", "inf", "infinity", "e", "lazy", "user", "cuts", "pwl", "general_constraints"}
_SIGNS = strings(["", "+ ", "- "])  # first term, later positive term, negative term
_SEPS = strings(["\n", "\n ", " "])  # a row's first token, a wrapped token, any other token
_OPS = strings(["<= ", ">= ", "= "])


def _check_lp_names(names: np.ndarray, what: str) -> None:
    lst = names.tolist()
    low = np.char.lower(np.asarray(lst, dtype=str)) if lst else np.zeros(0, dtype=str)
    bad = np.isin(low, list(_KEYWORDS))
    if len(low):
        # `e12` could be read as an exponent after a coefficient
        bad |= (np.char.str_len(low) > 1) & (np.char.startswith(low, "e")) & np.isin(
            np.array([s[1:2] for s in low.tolist()]), list("0123456789e"))
    if np.any(bad):
        raise ValueError(f"{what} name {lst[int(np.flatnonzero(bad)[0])]!r} is reserved in the LP format")


class _Terms:
    """Terms of a block of expressions, one row after another, ready for `_expressions`.

    rows: sorted row index (block-local) of each linear (lin_*) or quadratic (q_*) term.
    """

    def __init__(self, vn: np.ndarray):
        n = len(vn)
        self.var = strings([f" {x}" for x in vn.tolist()])  # ' name' after a coefficient
        self.times = strings([f" * {x}" for x in vn.tolist()] + [" ^2"])  # second factor, or a square
        self.square = n
        self.filler = f"0 {vn[0]}"


def _signed(coefs: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, pl.Series]:
    first = np.ones(len(rows), bool)
    first[1:] = rows[1:] != rows[:-1]
    sign = np.where(coefs < 0, 2, np.where(first, 0, 1))
    return sign, number_strings(np.abs(coefs))


def _expressions(terms: _Terms, heads: list[str], tails: pl.Series | None, lin, quad, close: str) -> bytes:
    """The text of m expressions `head lin + [ quad close tail`, each starting on a new line.

    lin = (row, coef, col) and quad = (row, coef, i, j), rows sorted and block-local. A row with no
    term at all gets a zero term (`0 x`) so every reader sees a well-formed expression.
    """
    m = len(heads)
    lr, lc, lcol = lin
    qr, qc, qi, qj = quad
    nl = np.bincount(lr, minlength=m)
    nq = np.bincount(qr, minlength=m)
    empty = (nl == 0) & (nq == 0)
    has_q = (nq > 0).astype(np.int64)
    has_tail = 1 if tails is not None else 0
    total = 1 + nl + empty + 2 * has_q + nq + has_tail
    start = np.cumsum(total) - total
    # position of every token inside the block, kind by kind
    lin_rank = np.arange(len(lr)) - np.repeat(np.cumsum(nl) - nl, nl)
    q_rank = np.arange(len(qr)) - np.repeat(np.cumsum(nq) - nq, nq)
    qrows = np.flatnonzero(has_q)
    erows = np.flatnonzero(empty)
    pos = np.concatenate([start, start[lr] + 1 + lin_rank, start[erows] + 1, start[qrows] + 1 + nl[qrows],
                          start[qr] + 2 + nl[qr] + q_rank, start[qrows] + 2 + nl[qrows] + nq[qrows]]
                         + ([start + total - 1] if tails is not None else []))
    lsign, lnum = _signed(lc, lr)
    qsign, qnum = _signed(qc, qr)
    kinds = [strings(heads),
             paste([_SIGNS.gather(lsign), lnum, terms.var.gather(lcol)]),
             pl.repeat(terms.filler, len(erows), dtype=pl.String, eager=True),
             strings(np.where(nl[qrows] > 0, "+ [", "[").tolist()),
             paste([_SIGNS.gather(qsign), qnum, terms.var.gather(qi),
                    terms.times.gather(np.where(qi == qj, terms.square, qj))]),
             pl.repeat(close, len(qrows), dtype=pl.String, eager=True)]
    if tails is not None:
        kinds.append(tails)
    tokens = pl.concat([k.alias("t") for k in kinds])
    where = np.empty(len(pos), np.int64)
    where[pos] = np.arange(len(pos))
    tokens = tokens.gather(where)
    width = tokens.str.len_bytes().to_numpy().astype(np.int64) + 1
    before = np.cumsum(width) - width
    offset = before - np.repeat(before[start], total)
    bucket = offset // WRAP
    first = np.zeros(len(width), bool)
    first[start] = True
    newline = np.zeros(len(width), bool)
    newline[1:] = bucket[1:] != bucket[:-1]
    sep = np.where(first, 0, np.where(newline, 1, 2))
    return concat([_SEPS.gather(sep), tokens])


def _blocks(row_tokens: np.ndarray) -> list[tuple[int, int]]:
    """Split rows into consecutive blocks of about CHUNK tokens (a longer row is a block alone)."""
    m = len(row_tokens)
    if m == 0:
        return []
    before = np.cumsum(row_tokens) - row_tokens
    block = before // CHUNK
    cuts = np.flatnonzero(np.diff(block)) + 1
    edges = np.concatenate([[0], cuts, [m]])
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


def _objective(model: Model, terms: _Terms) -> bytes:
    i, j, c = model.obj_q
    used = np.zeros(model.n_vars, dtype=bool)
    used[model.A.indices] = True
    used[np.concatenate([i, j, model.q_rows[1], model.q_rows[2]])] = True
    # CPLEX drops a variable that only appears under Bounds/Generals: give it a `+ 0 x` objective term
    cols = np.flatnonzero((model.obj != 0) | ~used)
    lin = (np.zeros(len(cols), np.int64), model.obj[cols], cols)
    quad = (np.zeros(len(c), np.int64), 2.0 * c, i, j)  # `[ ] / 2` halves: write 2x
    return _expressions(terms, [f" {OBJ_NAME}:"], None, lin, quad, "] / 2")


def _constraints(model: Model, terms: _Terms, rn: np.ndarray) -> Iterator[bytes]:
    m = model.n_rows
    a = model.A
    r, i, j, c = model.q_rows
    q_start = np.searchsorted(r, np.arange(m + 1))
    nl = np.diff(a.indptr)
    nq = np.diff(q_start)
    row_tokens = 2 + nl + 2 * (nq > 0) + nq
    names = rn.tolist()
    for lo, hi in _blocks(row_tokens):
        la, lb = a.indptr[lo], a.indptr[hi]
        qa, qb = q_start[lo], q_start[hi]
        lin = (np.repeat(np.arange(hi - lo), nl[lo:hi]), a.data[la:lb], a.indices[la:lb])
        quad = (r[qa:qb] - lo, c[qa:qb], i[qa:qb], j[qa:qb])
        tails = paste([_OPS.gather(model.sense[lo:hi].astype(np.int64)), number_strings(model.rhs[lo:hi])])
        yield _expressions(terms, [f" {x}:" for x in names[lo:hi]], tails, lin, quad, "]")


def _bounds(model: Model, vn: np.ndarray) -> list[str]:
    lb, ub = model.lb, model.ub
    lo_inf, up_inf = lb == -np.inf, ub == np.inf
    lb_s = format_numbers(np.where(lo_inf, 0.0, lb))
    ub_s = format_numbers(np.where(up_inf, 0.0, ub))
    line = np.full(model.n_vars, "", dtype=object)
    # defaults are [0, +inf) for continuous and general integers alike; true binaries need nothing
    both = ~lo_inf & ~up_inf
    line[both] = [f" {l} <= {x} <= {u}" for l, x, u in zip(lb_s[both].tolist(), vn[both].tolist(),
                                                              ub_s[both].tolist())]
    fixed = both & (lb == ub)
    line[fixed] = [f" {x} = {v}" for x, v in zip(vn[fixed].tolist(), lb_s[fixed].tolist())]
    lower = ~lo_inf & up_inf & (lb != 0)
    line[lower] = [f" {x} >= {v}" for x, v in zip(vn[lower].tolist(), lb_s[lower].tolist())]
    upper = lo_inf & ~up_inf
    line[upper] = [f" -inf <= {x} <= {u}" for x, u in zip(vn[upper].tolist(), ub_s[upper].tolist())]
    free = lo_inf & up_inf
    line[free] = [f" {x} free" for x in vn[free].tolist()]
    line[true_binaries(model)] = ""
    return [s for s in line.tolist() if s]


def iter_lp(model: Model) -> Iterator[bytes]:
    """The LP file as a sequence of ASCII byte blocks (deterministic: same Model, same bytes)."""
    vn, rn = check_model(model)
    _check_lp_names(vn, "variable")
    _check_lp_names(rn, "row")
    if model.obj_constant != 0:
        raise ValueError(f"model {model.name!r}: an objective constant cannot be written portably in LP "
                         "(Gurobi reads it as a variable); write MPS instead")
    terms = _Terms(vn)
    yield f"\\Problem name: {file_label(model.name)}\nMinimize".encode("ascii")
    yield _objective(model, terms)
    yield b"\nSubject To"
    yield from _constraints(model, terms, rn)
    bins = true_binaries(model)
    ints = (model.vtype != CONTINUOUS) & ~bins
    out = ["", "Bounds"] + _bounds(model, vn)
    if np.any(bins):
        out += ["Binaries"] + [f" {x}" for x in vn[bins].tolist()]
    if np.any(ints):
        out += ["Generals"] + [f" {x}" for x in vn[ints].tolist()]
    out.append("End")
    yield ("\n".join(out) + "\n").encode("ascii")


def render_lp(model: Model) -> bytes:
    """The whole LP file as ASCII bytes (deterministic: same Model, same bytes)."""
    return b"".join(iter_lp(model))


def write_lp(model: Model, path) -> None:
    """Write `model` as CPLEX LP (gzip-compressed if `path` ends in .gz), atomically."""
    from . import write_model

    write_model(model, path, "lp")
