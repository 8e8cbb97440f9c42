"""The direction's unit ball and the output norm as an objective (docs/formulation.md, section 3)."""

from __future__ import annotations

import numpy as np

from ..model import BINARY, SENSE_EQ, SENSE_LE, ModelBuilder
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


def output_norm(b: ModelBuilder, g: np.ndarray, gl: np.ndarray, gu: np.ndarray, beta: str) -> None:
    """Minimise minus ||g||_beta (max g for one output: v -> -v flips g)."""
    n = len(g)
    if n == 1:
        b.add_objective(g, -1.0)
    elif beta == "2":
        b.add_objective_quadratic(g, g, -1.0)
    elif beta == "inf":
        # w <= g_j + M_j (1 - c_j), exactly one selector c_j on
        w_hi = float(np.max(gu))
        w = b.add_vars("w", 1, lb=float(np.min(gl)), ub=w_hi, suffixes=[""])
        c = b.add_vars("c_", n, lb=0, ub=1, vtype=BINARY)
        m = w_hi - gl
        b.add_rows("pick_", n, SENSE_LE, m, terms=[(np.repeat(w, n), 1), (g, -1), (c, m)])
        b.add_rows("select", 1, SENSE_EQ, 1.0, coo=(np.zeros(n, np.int64), c, np.ones(n)), suffixes=[""])
        b.add_objective(w, -1.0)
    else:  # beta == "1": w_j <= |g_j| through a sign binary
        big = np.maximum(np.abs(gl), np.abs(gu))
        w = b.add_vars("w_", n, lb=0, ub=big)
        sg = b.add_vars("sg_", n, lb=0, ub=1, vtype=BINARY)
        idx = np.arange(n)
        b.add_rows("abs_", n, SENSE_LE, big - gl, terms=[(w, 1), (g, -1), (sg, big - gl)],
                   suffixes=suffixes(idx, "_pos"))
        b.add_rows("abs_", n, SENSE_LE, 0, terms=[(w, 1), (g, 1), (sg, -(big + gu))], suffixes=suffixes(idx, "_neg"))
        b.add_objective(w, -1.0)


def objective_values(g: np.ndarray, beta: str) -> dict[str, float]:
    """Values of the objective's helper variables at output derivative g (g's sign chosen by the caller)."""
    n = len(g)
    vals: dict[str, float] = {}
    if n > 1 and beta == "inf":
        lead = int(np.argmax(g))
        vals["w"] = float(g[lead])
        vals.update({f"c_{j}": float(j == lead) for j in range(n)})
    elif n > 1 and beta == "1":
        vals.update({f"w_{j}": float(abs(g[j])) for j in range(n)})
        vals.update({f"sg_{j}": float(g[j] >= 0) for j in range(n)})
    return vals
