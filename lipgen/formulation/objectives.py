"""The direction's unit ball and the output norm as an objective (docs/formulation.md, section 3)."""

from __future__ import annotations

import numpy as np

from ..model import BINARY, CONTINUOUS, SENSE_EQ, SENSE_LE, ModelBuilder
from .relu import suffixes


def direction(b: ModelBuilder, n: int, alpha: str) -> np.ndarray:
    """v with ||v||_alpha <= 1: bounds for inf, sum v^2 <= 1 for 2, v = vp - vm, sum(vp + vm) <= 1 for 1."""
    v = b.add_vars("v_", n, lb=-1, ub=1)
    if alpha == "2":
        r = b.add_rows("ball", 1, SENSE_LE, 1.0, suffixes=[""])
        b.add_quadratic(np.repeat(r, n), v, v, 1.0)
    elif alpha == "1":
        vp = b.add_vars("vp_", n, lb=0, ub=1)
        vm = b.add_vars("vm_", n, lb=0, ub=1)
        b.add_rows("split_", n, SENSE_EQ, 0, terms=[(v, 1), (vp, -1), (vm, 1)])
        b.add_rows("ball", 1, SENSE_LE, 1.0, coo=(np.zeros(2 * n, np.int64), np.concatenate([vp, vm]),
                                                   np.ones(2 * n)), suffixes=[""])
    return v


def output_norm(b: ModelBuilder, g: np.ndarray, gl: np.ndarray, gu: np.ndarray, beta: str,
                symmetric: bool = True, fix_signs: bool = True) -> np.ndarray | None:
    """Minimise minus ||g||_beta; returns the columns whose sum is -obj (None for a sum of squares).

    symmetric: the problem may flip the sign of the whole g (forward mode: v -> -v), so one output needs no
    absolute value and beta = inf only max_j g_j; otherwise (backward mode, a fixed covector) every absolute
    value is modelled. Where the bounds [gl, gu] prove an entry's sign (an interval without 0 inside), its sign
    variable is fixed and continuous: |g_j| is g_j or -g_j there, exactly (fix_signs=False keeps every sign binary,
    as instances written before this rule have them).
    """
    n = len(g)
    if beta == "2" and (n > 1 or not symmetric):
        b.add_objective_quadratic(g, g, -1.0)
        return None
    if n == 1 and symmetric:
        b.add_objective(g, -1.0)
        return g
    if beta == "inf":
        # w <= +-g_j + M (1 - c_j), exactly one selector on: over the g_j (and the -g_j unless symmetric)
        signs = (1.0,) if symmetric else (1.0, -1.0)
        hi = float(np.max(gu)) if symmetric else float(np.max(np.maximum(np.abs(gl), np.abs(gu))))
        lo = float(np.min(gl)) if symmetric else 0.0
        w = b.add_vars("w", 1, lb=lo, ub=hi, suffixes=[""])
        picks = []
        for sgn in signs:
            low = gl if sgn > 0 else -gu
            tag = "" if symmetric else ("p" if sgn > 0 else "m")
            # picking -g_j where the bounds prove g_j >= 0 (or +g_j where g_j < 0) never gives the max: fixed off
            dominated = np.zeros(n, bool) if symmetric or not fix_signs else (gl >= 0 if sgn < 0 else gu < 0)
            c = b.add_vars(f"c{tag}_", n, lb=0, ub=np.where(dominated, 0.0, 1.0),
                           vtype=np.where(dominated, CONTINUOUS, BINARY))
            m = hi - low
            b.add_rows(f"pick{tag}_", n, SENSE_LE, m, terms=[(np.repeat(w, n), 1), (g, -sgn), (c, m)])
            picks.append(c)
        allc = np.concatenate(picks)
        b.add_rows("select", 1, SENSE_EQ, 1.0, coo=(np.zeros(len(allc), np.int64), allc, np.ones(len(allc))),
                   suffixes=[""])
        b.add_objective(w, -1.0)
        return w
    # beta == "1": w_j <= |g_j| through a sign binary
    big = np.maximum(np.abs(gl), np.abs(gu))
    w = b.add_vars("w_", n, lb=0, ub=big)
    # sg = 1 takes w <= g, sg = 0 w <= -g; where the bounds prove the sign the right side is fixed, no binary
    fixed = np.where(gl >= 0, 1.0, np.where(gu < 0, 0.0, np.nan)) if fix_signs else np.full(n, np.nan)
    known = ~np.isnan(fixed)
    sg = b.add_vars("sg_", n, lb=np.where(known, fixed, 0.0), ub=np.where(known, fixed, 1.0),
                    vtype=np.where(known, CONTINUOUS, BINARY))
    idx = np.arange(n)
    b.add_rows("abs_", n, SENSE_LE, big - gl, terms=[(w, 1), (g, -1), (sg, big - gl)],
               suffixes=suffixes(idx, "_pos"))
    b.add_rows("abs_", n, SENSE_LE, 0, terms=[(w, 1), (g, 1), (sg, -(big + gu))], suffixes=suffixes(idx, "_neg"))
    b.add_objective(w, -1.0)
    return w


def cap_objective(b: ModelBuilder, cols: np.ndarray | None, g: np.ndarray, cap: float | None,
                  quadratic_rows: bool) -> bool:
    """The row `objbound`: -obj <= cap, i.e. sum cols <= cap (a linear objective) or sum g^2 <= cap (a sum of
    squares; a convex row, written only where the problem has quadratic rows already, so that its class and the
    solvers that take it stay the same). Returns whether the row was written."""
    if cap is None or (cols is None and not quadratic_rows):
        return False
    if cols is None:
        r = b.add_rows("objbound", 1, SENSE_LE, cap, suffixes=[""])
        b.add_quadratic(np.repeat(r, len(g)), g, g, 1.0)
    else:
        b.add_rows("objbound", 1, SENSE_LE, cap, coo=(np.zeros(len(cols), np.int64), cols, np.ones(len(cols))),
                   suffixes=[""])
    return True


def objective_values(g: np.ndarray, beta: str, symmetric: bool = True) -> dict[str, float]:
    """Values of the objective's helper variables at g (for symmetric problems g's sign chosen by the caller)."""
    n = len(g)
    vals: dict[str, float] = {}
    if beta == "2" or (n == 1 and symmetric):
        return vals
    if beta == "inf":
        if symmetric:
            lead = int(np.argmax(g))
            vals["w"] = float(g[lead])
            vals.update({f"c_{j}": float(j == lead) for j in range(n)})
        else:
            lead = int(np.argmax(np.abs(g)))
            vals["w"] = float(abs(g[lead]))
            up = g[lead] >= 0
            vals.update({f"cp_{j}": float(j == lead and up) for j in range(n)})
            vals.update({f"cm_{j}": float(j == lead and not up) for j in range(n)})
    else:
        vals.update({f"w_{j}": float(abs(g[j])) for j in range(n)})
        vals.update({f"sg_{j}": float(g[j] >= 0) for j in range(n)})
    return vals
