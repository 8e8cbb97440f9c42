"""CPLEX LP in the portable spelling SCIP, Gurobi and CPLEX all read identically (docs/solvers.md 2).

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
from .common import CHUNK, concat, number_strings, strings

WRAP = 200
# words an LP reader may take as a keyword (or an exponent, e1) where a name is expected
_KEYWORDS = {"min", "max", "minimize", "maximize", "minimum", "maximum", "minimise", "maximise", "st", "s.t.",
             "subject", "such", "that", "to", "bound", "bounds", "bin", "binary", "binaries", "gen", "general",
             "generals", "int", "integer", "integers", "semi", "semis", "semi-continuous", "sos", "sos1", "sos2",
             "end", "free", "inf", "infinity", "e", "lazy", "user", "cuts", "pwl", "general_constraints"}
_SEPS = strings(["\n", "\n ", " "])  # a row's first token, a wrapped token, any other token
# the words a token may start with: nothing, term signs, brackets, comparison operators
_WORDS = ["", "+ ", "- ", "+ [", "[", "]", "] / 2", "<= ", ">= ", "= "]
_BLANK, _PLUS, _MINUS, _OPEN_AFTER, _OPEN, _CLOSE, _CLOSE_HALF, _OPS = 0, 1, 2, 3, 4, 5, 6, 7  # _OPS + sense


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


class _Tables:
    """String tables a token is pasted from, each ending in blank entries, with their lengths.

    A token is head + word + number + var + times, any part possibly blank: a row head ` name:`,
    a term `- 3 x` or `+ 2 x * y` / `2 x ^2`, a filler `0 x`, a bracket, a tail `<= 3`.
    """

    def __init__(self, vn: np.ndarray):
        n = len(vn)
        self.n = n
        var = [f" {x}" for x in vn.tolist()] + [""]  # blank: n
        times = [f" * {x}" for x in vn.tolist()] + [" ^2", ""]  # square: n, blank: n + 1
        self.var, self.var_len = strings(var), _lengths(var)
        self.times, self.times_len = strings(times), _lengths(times)
        self.words, self.words_len = strings(_WORDS), _lengths(_WORDS)


def _lengths(items: list[str]) -> np.ndarray:
    return np.fromiter(map(len, items), dtype=np.int64, count=len(items))


def _signs(coefs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The word before each term: none for a row's first positive term, else + or -."""
    first = np.ones(len(rows), bool)
    first[1:] = rows[1:] != rows[:-1]
    return np.where(coefs < 0, _MINUS, np.where(first, _BLANK, _PLUS))


def _expressions(tabs: _Tables, heads: list[str], tails, lin, quad, close: int) -> bytes:
    """The text of m expressions `head lin + [ quad close tail`, each starting on a new line.

    lin = (row, coef, col), quad = (row, coef, i, j), rows sorted and block-local; tails = (sense,
    rhs) or None. A row with no term at all gets a zero term (`0 x`) so every reader sees a
    well-formed expression. Tokens are laid out by index arithmetic, their widths (hence the line
    breaks) computed from the table lengths before any text is made.
    """
    m = len(heads)
    lr, lc, lcol = lin
    qr, qc, qi, qj = quad
    nl = np.bincount(lr, minlength=m)
    nq = np.bincount(qr, minlength=m)
    empty = (nl == 0) & (nq == 0)
    has_q = nq > 0
    total = 1 + nl + empty + 2 * has_q + nq + (tails is not None)
    start = np.cumsum(total) - total
    size = int(total.sum())
    qrows = np.flatnonzero(has_q)
    n_lin, n_q = len(lr), len(qr)
    numbers = [number_strings(np.abs(lc)), number_strings(np.abs(qc))]
    if tails is not None:
        numbers.append(number_strings(tails[1]))
    numbers.append(strings(["0", ""]))
    nums = pl.concat(numbers)
    zero, blank = len(nums) - 2, len(nums) - 1

    head = np.full(size, m)
    word = np.full(size, _BLANK)
    num = np.full(size, blank)
    var = np.full(size, tabs.n)
    times = np.full(size, tabs.n + 1)
    head[start] = np.arange(m)
    at = start[lr] + 1 + np.arange(n_lin) - np.repeat(np.cumsum(nl) - nl, nl)
    word[at], num[at], var[at] = _signs(lc, lr), np.arange(n_lin), lcol
    at = start[empty] + 1
    num[at], var[at] = zero, 0
    word[start[qrows] + 1 + nl[qrows]] = np.where(nl[qrows] > 0, _OPEN_AFTER, _OPEN)
    at = start[qr] + 2 + nl[qr] + np.arange(n_q) - np.repeat(np.cumsum(nq) - nq, nq)
    word[at], num[at], var[at], times[at] = _signs(qc, qr), n_lin + np.arange(n_q), qi, np.where(qi == qj, tabs.n, qj)
    word[start[qrows] + 2 + nl[qrows] + nq[qrows]] = close
    if tails is not None:
        at = start + total - 1
        word[at], num[at] = _OPS + tails[0], n_lin + n_q + np.arange(m)

    head_len = _lengths(heads + [""])
    width = (head_len[head] + tabs.words_len[word] + nums.str.len_bytes().to_numpy().astype(np.int64)[num]
             + tabs.var_len[var] + tabs.times_len[times] + 1)
    before = np.cumsum(width) - width
    bucket = (before - np.repeat(before[start], total)) // WRAP
    first = np.zeros(size, bool)
    first[start] = True
    newline = np.zeros(size, bool)
    newline[1:] = bucket[1:] != bucket[:-1]
    sep = np.where(first, 0, np.where(newline, 1, 2))
    return concat([_SEPS.gather(sep), strings(heads + [""]).gather(head), tabs.words.gather(word), nums.gather(num),
                   tabs.var.gather(var), tabs.times.gather(times)])


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


def _objective(model: Model, tabs: _Tables) -> bytes:
    i, j, c = model.obj_q
    used = np.zeros(model.n_vars, dtype=bool)
    used[model.A.indices] = True
    used[np.concatenate([i, j, model.q_rows[1], model.q_rows[2]])] = True
    # CPLEX drops a variable that only appears under Bounds/Generals: give it a `+ 0 x` objective term
    cols = np.flatnonzero((model.obj != 0) | ~used)
    lin = (np.zeros(len(cols), np.int64), model.obj[cols], cols)
    quad = (np.zeros(len(c), np.int64), 2.0 * c, i, j)  # `[ ] / 2` halves: write 2x
    return _expressions(tabs, [f" {OBJ_NAME}:"], None, lin, quad, _CLOSE_HALF)


def _constraints(model: Model, tabs: _Tables, rn: np.ndarray) -> Iterator[bytes]:
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
        tails = (model.sense[lo:hi].astype(np.int64), model.rhs[lo:hi])
        yield _expressions(tabs, [f" {x}:" for x in names[lo:hi]], tails, lin, quad, _CLOSE)


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
    tabs = _Tables(vn)
    yield f"\\Problem name: {file_label(model.name)}\nMinimize".encode("ascii")
    yield _objective(model, tabs)
    yield b"\nSubject To"
    yield from _constraints(model, tabs, rn)
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
