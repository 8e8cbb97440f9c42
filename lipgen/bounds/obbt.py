"""Optimisation-based bound tightening (docs/formulation.md, section 2): each unstable neuron's pre-activation
minimised and maximised over the LP relaxation of the layers before it, layer by layer, with HiGHS.

The LP (in the scaled units of formulation/scaling.py, so its rows are of order one): the input box, then per
earlier layer z = W a + b, and for unstable neurons the triangle a >= 0, a >= z, a <= lam (z - l). Only the
objective changes from one solve to the next, so HiGHS starts each from the last basis.

A solver's LP optimum is not a bound by itself (it is exact only up to the LP tolerances), so the bound used is
the *safe dual bound* of Neumaier and Shcherbina: for any multipliers pi of the rows,

    c^T y = pi^T (A y) + (c - A^T pi)^T y >= sum_r min(pi_r L_r, pi_r U_r) + sum_i min(rho_i l_i, rho_i u_i)

for every y with L <= A y <= U and l <= y <= u, evaluated with outward rounding. HiGHS's row duals make it as
tight as the LP optimum; any error in them only loosens it.
"""

from __future__ import annotations

import numpy as np

from ..network import Network
from ..rounding import UNIT_ROUNDOFF, gamma
from .highs import quiet_highs
from .interval import LayerBounds


INF = np.inf


class _LP:
    """The growing relaxation: columns with bounds, rows L <= A y <= U (kept in Python too, for the safe bound)."""

    def __init__(self, n_inputs: int):
        import highspy

        self.h = quiet_highs()
        self._optimal = highspy.HighsModelStatus.kOptimal
        self.lo, self.hi = [], []
        self.rows = []  # (cols, vals, L, U)
        self.add_cols(-np.ones(n_inputs), np.ones(n_inputs))

    @property
    def n_cols(self) -> int:
        return len(self.lo)

    def add_cols(self, lo, hi) -> np.ndarray:
        lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
        first = self.n_cols
        self.h.addVars(len(lo), lo, hi)
        self.lo += lo.tolist()
        self.hi += hi.tolist()
        return np.arange(first, first + len(lo))

    def add_row(self, cols, vals, lower: float, upper: float) -> None:
        cols, vals = np.asarray(cols, dtype=np.int32), np.asarray(vals, dtype=np.float64)
        keep = vals != 0
        cols, vals = cols[keep], vals[keep]
        self.h.addRow(lower, upper, len(cols), cols, vals)
        self.rows.append((cols, vals, lower, upper))

    def safe_min(self, cols: np.ndarray, coefs: np.ndarray) -> float:
        """A rigorous lower bound of min sum coefs * y[cols] over the relaxation (or of the box alone)."""
        n = self.n_cols
        c = np.zeros(n)
        c[cols] = coefs
        self.h.changeColsCost(n, np.arange(n, dtype=np.int32), c)
        self.h.setMinimize()
        self.h.run()
        pi = np.zeros(len(self.rows))
        if self.h.getModelStatus() == self._optimal and self.rows:
            pi = np.asarray(self.h.getSolution().row_dual, dtype=np.float64)
        return self._dual_bound(c, pi)

    def _dual_bound(self, c: np.ndarray, pi: np.ndarray) -> float:
        lo, hi = np.asarray(self.lo), np.asarray(self.hi)
        total, mag = 0.0, 0.0
        at = c.copy()  # rho = c - A^T pi, with a bound of its rounding error
        err = np.zeros_like(c)
        for r, (cols, vals, rl, ru) in enumerate(self.rows):
            p = pi[r]
            # a multiplier of the wrong sign for an infinite side would give -inf: drop it instead
            if (p > 0 and rl == -INF) or (p < 0 and ru == INF):
                p = 0.0
            if p == 0.0:
                continue
            term = min(p * rl, p * ru)
            total += term
            mag += abs(term)
            at[cols] -= p * vals
            err[cols] += np.abs(p * vals)
        n_terms = max((len(r[0]) for r in self.rows), default=0) + len(self.rows)
        err = gamma(len(self.rows) + 4) * (err + np.abs(c))
        box = np.minimum((at - err) * lo, (at - err) * hi)
        box = np.minimum(box, np.minimum((at + err) * lo, (at + err) * hi))
        total += float(box.sum())
        mag += float(np.abs(box).sum())
        return total - gamma(n_terms + len(lo) + 8) * mag * 2


def obbt_bounds(network: Network, lower: np.ndarray, upper: np.ndarray, start: list[LayerBounds],
                scales: list[np.ndarray], halfwidth: np.ndarray, center: np.ndarray,
                fixed: dict[tuple[int, int], int] | None = None) -> list[LayerBounds]:
    """Tighten `start` (sound bounds of z_1..z_K) neuron by neuron; returns new sound bounds.

    scales: sigma_k per hidden layer (powers of two), halfwidth/center: the input map x = center + h x'.
    fixed: {(hidden layer, neuron): 1 active / 0 inactive}, phases imposed on the region (a split node's): an active
    neuron's z >= 0 and a = z, an inactive one's z <= 0 (its row kept: it constrains the layers before) and a = 0.
    `start` must hold on that region, and so do the bounds returned (a phase against the bounds ends the tightening
    early; the caller's clamp then finds the region empty).
    """
    fixed = fixed or {}
    lp = _LP(network.n_inputs)
    out = [LayerBounds(b.lower.copy(), b.upper.copy()) for b in start]
    # x' lives in [-1, 1] only up to the box's own extent within it
    xl = np.maximum((lower - center) / halfwidth, -1.0)
    xh = np.minimum((upper - center) / halfwidth, 1.0)
    for i in range(network.n_inputs):
        lp.h.changeColBounds(i, float(np.nextafter(xl[i], -INF)), float(np.nextafter(xh[i], INF)))
        lp.lo[i], lp.hi[i] = float(np.nextafter(xl[i], -INF)), float(np.nextafter(xh[i], INF))
    prev_cols = np.arange(network.n_inputs)  # columns holding a'_{k-1} (scaled), per neuron of layer k-1
    prev_scale = halfwidth
    n_hidden = len(network.weights) - 1
    for k in range(n_hidden + 1):
        w, b = network.weights[k], network.biases[k]
        sigma = scales[k] if k < n_hidden else np.ones(w.shape[0])
        offset = b + (w @ center if k == 0 else 0.0)
        present = prev_cols >= 0
        rows = w[:, present] * prev_scale[present] / sigma[:, None]
        cols = prev_cols[present]
        lb = out[k]
        if k > 0:  # layer 1's interval bounds are already the LP's
            unstable = np.flatnonzero((lb.lower < 0) & (lb.upper > 0))
            for i in unstable:
                const = offset[i] / sigma[i]
                extra = gamma(4) * abs(const)
                low = lp.safe_min(cols, rows[i]) + const - extra
                high = -lp.safe_min(cols, -rows[i]) + const + extra
                lb.lower[i] = max(lb.lower[i], low * sigma[i])
                lb.upper[i] = min(lb.upper[i], high * sigma[i])
                if lb.upper[i] < lb.lower[i]:
                    lb.upper[i] = lb.lower[i]
        if k == n_hidden:
            break
        # add layer k's relaxation: z' (non-inactive neurons), a' for unstable ones
        zl, zu = lb.lower / sigma, lb.upper / sigma
        on = np.full(w.shape[0], -1)  # this layer's fixed phases: 1 active, 0 inactive, -1 free
        for (kk, j), phase in fixed.items():
            if kk == k:
                on[j] = phase
        zl, zu = np.where(on == 1, np.maximum(zl, 0.0), zl), np.where(on == 0, np.minimum(zu, 0.0), zu)
        if np.any(zl > zu):  # a phase against the bounds: no point of the region
            return out
        active, inactive = ((zl >= 0) & (zu > 0)) | ((on == 1) & (zu >= 0)), (zu <= 0) & (on != 1)
        unstable = ~(active | inactive)
        new_cols = np.full(w.shape[0], -1)
        keep = np.flatnonzero(~inactive | (on == 0))  # a fixed inactive neuron's z row constrains the layers before
        zc = lp.add_cols(zl[keep], zu[keep])
        # z' - W' a' = b' up to the rounding of the centred offset b' (a range keeps every real point)
        slack = gamma(len(cols) + 8) * (np.abs(offset) / sigma + np.abs(rows) @ np.ones(len(cols)) * 4)
        for j, col in zip(keep, zc):
            rhs = offset[j] / sigma[j]
            lp.add_row(np.append(cols, col), np.append(-rows[j], 1.0), rhs - slack[j], rhs + slack[j])
        new_cols[keep] = zc
        new_cols[on == 0] = -1  # a = 0: nothing of it reaches the next layer
        un = np.flatnonzero(unstable)
        if un.size:
            ac = lp.add_cols(np.zeros(un.size), zu[un])
            for j, col in zip(un, ac):
                z = new_cols[j]
                lam = zu[j] / (zu[j] - zl[j])
                lp.add_row([col, z], [1.0, -1.0], 0.0, INF)  # a >= z
                # a <= lam (z - l), raised by a bound of lam's rounding so the line stays above relu
                lp.add_row([col, z], [1.0, -lam], -INF, -lam * zl[j] + 8 * UNIT_ROUNDOFF * (abs(zu[j]) + abs(zl[j])))
                new_cols[j] = col
        prev_cols, prev_scale = new_cols, sigma
    return out
