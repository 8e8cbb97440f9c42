"""The first (per-line Python) MPS/LP writers, kept as byte-exact oracles for the vectorised ones.

Not used by lipgen itself: tests render the same models with both and compare the bytes.
"""

from __future__ import annotations

import re

import numpy as np

from lipgen.model import BINARY, CONTINUOUS, SENSE_CHARS, Model

OBJ_NAME = "obj"
MAX_NAME = 250
_BAD_NAME = re.compile(rf"^(?![A-Za-z_][A-Za-z0-9_.]{{0,{MAX_NAME - 1}}}$).*$", re.M)


# ---------------------------------------------------------------------------------------- shared helpers
def format_numbers(values) -> np.ndarray:
    """Shortest round-trip text of each float (1.0 -> '1', 0.1 -> '0.1'), as an object array.

    Only the distinct values are formatted: instance matrices repeat coefficients (+-1, big-M) a lot.
    """
    vals = np.asarray(values, dtype=np.float64).ravel() + 0.0  # + 0.0 turns -0.0 into 0.0
    if len(vals) == 0:
        return np.zeros(0, dtype=object)
    uniq, inv = np.unique(vals, return_inverse=True)
    text = np.empty(len(uniq), dtype=object)
    whole = (uniq == np.round(uniq)) & (np.abs(uniq) < 2.0**53)  # exact as an int: '3', not repr's '3.0'
    text[whole] = list(map(str, uniq[whole].astype(np.int64).tolist()))
    text[~whole] = list(map(repr, uniq[~whole].tolist()))
    return text[inv.ravel()]


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


# ---------------------------------------------------------------------------------------- MPS sections
def _columns(model: Model, vn: np.ndarray, rn_ext: np.ndarray) -> np.ndarray:
    """COLUMNS lines: column order, objective entry first, integer runs wrapped in MARKER lines."""
    n = model.n_vars
    csc = model.A.tocsc()
    csc.sort_indices()
    counts = np.diff(csc.indptr)
    obj_cols = np.flatnonzero(model.obj != 0)
    has_entry = counts > 0
    has_entry[obj_cols] = True
    lonely = np.flatnonzero(~has_entry)  # must still be declared: give it `obj 0`
    cols = np.concatenate([obj_cols, lonely, np.repeat(np.arange(n), counts)])
    rows = np.concatenate([np.full(len(obj_cols) + len(lonely), -1), csc.indices])
    vals = np.concatenate([model.obj[obj_cols], np.zeros(len(lonely)), csc.data])
    order = np.argsort(cols, kind="stable")  # stable: objective first, then rows in order
    cols, rows, vals = cols[order], rows[order], vals[order]
    lines = np.array([f"    {c}  {r}  {v}" for c, r, v in
                      zip(vn[cols].tolist(), rn_ext[rows + 1].tolist(), format_numbers(vals).tolist())],
                     dtype=object)
    start = np.searchsorted(cols, np.arange(n + 1))
    edges = np.diff(np.concatenate([[0], (model.vtype != CONTINUOUS).astype(np.int8), [0]]))
    opens, closes = start[np.flatnonzero(edges == 1)], start[np.flatnonzero(edges == -1)]
    markers = ["    MARKER  'MARKER'  'INTORG'"] * len(opens) + ["    MARKER  'MARKER'  'INTEND'"] * len(closes)
    return np.insert(lines, np.concatenate([opens, closes]), np.array(markers, dtype=object))


def _rhs(model: Model, rn: np.ndarray) -> list[str]:
    nz = np.flatnonzero(model.rhs != 0)
    lines = [f"    RHS  {r}  {v}" for r, v in zip(rn[nz].tolist(), format_numbers(model.rhs[nz]).tolist())]
    if model.obj_constant != 0:  # all three readers take offset = -RHS of the objective row
        lines.append(f"    RHS  {OBJ_NAME}  {format_numbers([-model.obj_constant])[0]}")
    return lines


def _bounds(model: Model, vn: np.ndarray) -> list[str]:
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
    return [f" {k} BND  {x}  {v}" if v else f" {k} BND  {x}" for k, x, v in
            zip(pairs[keep].tolist(), names[keep].tolist(), vals[keep].tolist())]


def _quadobj(model: Model, vn: np.ndarray) -> list[str]:
    i, j, c = model.obj_q
    if len(c) == 0:
        return []
    coef = np.where(i == j, 2.0 * c, c)  # QUADOBJ carries an implicit 1/2 (upper triangle only)
    return ["QUADOBJ"] + [f"    {a}  {b}  {v}" for a, b, v in
                          zip(vn[i].tolist(), vn[j].tolist(), format_numbers(coef).tolist())]


def _qcmatrix(model: Model, vn: np.ndarray, rn: np.ndarray) -> list[str]:
    r, i, j, c = model.q_rows
    if len(c) == 0:
        return []
    off = i != j
    # full symmetric matrix, no 1/2: an off-diagonal pair is split evenly over (i, j) and (j, i)
    rr = np.concatenate([r, r[off]])
    ii = np.concatenate([i, j[off]])
    jj = np.concatenate([j, i[off]])
    cc = np.concatenate([np.where(off, 0.5 * c, c), 0.5 * c[off]])
    order = np.lexsort((jj, ii, rr))
    rr, ii, jj, cc = rr[order], ii[order], jj[order], cc[order]
    lines = np.array([f"    {a}  {b}  {v}" for a, b, v in
                      zip(vn[ii].tolist(), vn[jj].tolist(), format_numbers(cc).tolist())], dtype=object)
    starts = np.flatnonzero(np.concatenate([[True], rr[1:] != rr[:-1]]))
    heads = np.array([f"QCMATRIX   {name}" for name in rn[rr[starts]].tolist()], dtype=object)
    return np.insert(lines, starts, heads).tolist()


def render_mps(model: Model) -> bytes:
    """The whole MPS file as ASCII bytes (deterministic: same Model, same bytes)."""
    vn, rn = check_model(model)
    rn_ext = np.concatenate([np.array([OBJ_NAME], dtype=object), rn])
    out = [f"NAME {file_label(model.name)} FREE", "ROWS", f" N  {OBJ_NAME}"]
    out += [f" {s}  {r}" for s, r in zip(SENSE_CHARS[model.sense].tolist(), rn.tolist())]
    out.append("COLUMNS")
    out += _columns(model, vn, rn_ext).tolist()
    out.append("RHS")
    out += _rhs(model, rn)
    out.append("BOUNDS")
    out += _bounds(model, vn)
    out += _quadobj(model, vn)
    out += _qcmatrix(model, vn, rn)
    out.append("ENDATA")
    return ("\n".join(out) + "\n").encode("ascii")


# ------------------------------------------------------------------------------------------- LP

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


def _lp_bounds(model: Model, vn: np.ndarray) -> list[str]:
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
    out += _lp_bounds(model, vn)
    if np.any(bins):
        out += ["Binaries"] + [f" {x}" for x in vn[bins].tolist()]
    if np.any(ints):
        out += ["Generals"] + [f" {x}" for x in vn[ints].tolist()]
    out.append("End")
    return ("\n".join(out) + "\n").encode("ascii")

