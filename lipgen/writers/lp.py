"""CPLEX LP in the portable spelling SCIP, Gurobi and CPLEX all read identically (SOLVERS.md 2).

Long expressions are wrapped: a term starts a new (space-indented) line once its row passes another
WRAP characters, so a line holds at most WRAP characters plus one term.
"""

from __future__ import annotations

import numpy as np

from ..model import CONTINUOUS, Model
from .mps import OBJ_NAME, check_model, file_label, format_numbers, true_binaries

WRAP = 200
# words an LP reader may take as a keyword (or an exponent, e1) where a name is expected
_KEYWORDS = {"min", "max", "minimize", "maximize", "minimum", "maximum", "minimise", "maximise", "st", "s.t.",
             "subject", "such", "that", "to", "bound", "bounds", "bin", "binary", "binaries", "gen", "general",
             "generals", "int", "integer", "integers", "semi", "semis", "semi-continuous", "sos", "sos1", "sos2",
             "end", "free", "inf", "infinity", "e", "lazy", "user", "cuts", "pwl", "general_constraints"}


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


def _signed_terms(coefs: np.ndarray, first: np.ndarray, body: list[str]) -> list[str]:
    """'3 x', '- 3 x' for the first term of an expression, '+ 3 x' / '- 3 x' after it."""
    neg = coefs < 0
    mags = format_numbers(np.abs(coefs)).tolist()
    sign = np.where(neg, "- ", np.where(first, "", "+ ")).tolist()
    return [f"{s}{m} {b}" for s, m, b in zip(sign, mags, body)]


def _first_of_group(groups: np.ndarray) -> np.ndarray:
    return np.concatenate([[True], groups[1:] != groups[:-1]]) if len(groups) else np.zeros(0, dtype=bool)


def _quad_bodies(vn: np.ndarray, i: np.ndarray, j: np.ndarray) -> list[str]:
    return [f"{a} ^2" if a == b else f"{a} * {b}" for a, b in zip(vn[i].tolist(), vn[j].tolist())]


def _expressions(m: int, heads: list[str], tails: list[str], lin, quad, close: str, filler: str) -> str:
    """Lines of m expressions `head lin + [ quad close tail`, wrapped; lin/quad = (row, coef, body).

    Rows of each part must be sorted. A row with no term at all gets `filler` (a zero term).
    """
    lr, lc, lb = lin
    qr, qc, qb = quad
    has_lin = np.bincount(lr, minlength=m) > 0
    has_quad = np.bincount(qr, minlength=m) > 0
    qrows = np.flatnonzero(has_quad)
    empty = np.flatnonzero(~has_lin & ~has_quad)
    toks = (heads + _signed_terms(lc, _first_of_group(lr), lb) + [filler] * len(empty)
            + np.where(has_lin[qrows], "+ [", "[").tolist() + _signed_terms(qc, _first_of_group(qr), qb)
            + [close] * len(qrows) + tails)
    rows = np.concatenate([np.arange(m), lr, empty, qrows, qr, qrows, np.arange(m)])
    part = np.concatenate([np.full(m, 0), np.full(len(lr), 1), np.full(len(empty), 1), np.full(len(qrows), 2),
                           np.full(len(qr), 3), np.full(len(qrows), 4), np.full(m, 5)])
    order = np.argsort(rows * 6 + part, kind="stable")  # stable keeps each part's term order
    toks_arr = np.array(toks, dtype=object)[order]
    rows = rows[order]
    keep = toks_arr != ""
    toks_arr, rows = toks_arr[keep], rows[keep]
    width = np.fromiter(map(len, toks_arr.tolist()), dtype=np.int64, count=len(toks_arr)) + 1
    before = np.cumsum(width) - width
    first = _first_of_group(rows)
    starts = np.flatnonzero(first)
    offset = before - np.repeat(before[starts], np.diff(np.append(starts, len(rows))))
    bucket = offset // WRAP
    newline = np.concatenate([[False], bucket[1:] != bucket[:-1]]) & ~first
    seps = np.where(first, "\n", np.where(newline, "\n ", " ")).tolist()
    return "".join([s + t for s, t in zip(seps, toks_arr.tolist())])


def _objective(model: Model, vn: np.ndarray) -> str:
    i, j, c = model.obj_q
    used = np.zeros(model.n_vars, dtype=bool)
    used[model.A.indices] = True
    used[np.concatenate([i, j, model.q_rows[1], model.q_rows[2]])] = True
    # CPLEX drops a variable that only appears under Bounds/Generals: give it a `+ 0 x` objective term
    cols = np.flatnonzero((model.obj != 0) | ~used)
    lin = (np.zeros(len(cols), np.int64), model.obj[cols], vn[cols].tolist())
    quad = (np.zeros(len(c), np.int64), 2.0 * c, _quad_bodies(vn, i, j))  # `[ ] / 2` halves: write 2x
    return _expressions(1, [f" {OBJ_NAME}:"], [""], lin, quad, "] / 2", f"0 {vn[0]}")


def _constraints(model: Model, vn: np.ndarray, rn: np.ndarray) -> str:
    m = model.n_rows
    if m == 0:
        return ""
    a = model.A
    lr = np.repeat(np.arange(m), np.diff(a.indptr))
    r, i, j, c = model.q_rows
    ops = np.array(["<=", ">=", "="], dtype=object)[model.sense]
    tails = [f"{o} {v}" for o, v in zip(ops.tolist(), format_numbers(model.rhs).tolist())]
    heads = [f" {name}:" for name in rn.tolist()]
    return _expressions(m, heads, tails, (lr, a.data, vn[a.indices].tolist()), (r, c, _quad_bodies(vn, i, j)),
                        "]", f"0 {vn[0]}")


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


def render_lp(model: Model) -> bytes:
    """The whole LP file as ASCII bytes (deterministic: same Model, same bytes)."""
    vn, rn = check_model(model)
    _check_lp_names(vn, "variable")
    _check_lp_names(rn, "row")
    if model.obj_constant != 0:
        raise ValueError(f"model {model.name!r}: an objective constant cannot be written portably in LP "
                         "(Gurobi reads it as a variable); write MPS instead")
    bins = true_binaries(model)
    ints = (model.vtype != CONTINUOUS) & ~bins
    out = [f"\\Problem name: {file_label(model.name)}", "Minimize" + _objective(model, vn),
           "Subject To" + _constraints(model, vn, rn), "Bounds"]
    out += _bounds(model, vn)
    if np.any(bins):
        out += ["Binaries"] + [f" {x}" for x in vn[bins].tolist()]
    if np.any(ints):
        out += ["Generals"] + [f" {x}" for x in vn[ints].tolist()]
    out.append("End")
    return ("\n".join(out) + "\n").encode("ascii")


def write_lp(model: Model, path) -> None:
    """Write `model` as CPLEX LP (gzip-compressed if `path` ends in .gz), atomically."""
    from . import write_model

    write_model(model, path, "lp")
