"""The certified lower bound (docs/formulation.md, section 6): a Jacobian norm that trusts no solver.

From a point x (and optionally a direction v) the forward pass is recomputed in float64 together with a
proven bound of its rounding error. x certifies the Jacobian J_s of the pattern s when every unstable
neuron's pre-activation is farther from 0 than that error bound: then an open set around x, met by the
interior of the box, lies in the region of s (stable neurons keep their state on the whole interior). The
value reported is ||J_s v||_beta / ||v||_alpha for the best direction v found (the norm's maximiser where it
is cheap: a column, a row's signs, the top singular vector; else the best of a few directions and the given
v), evaluated with a proven bound of every rounding error (the Jacobian's, the product's, the norms'), so it
never exceeds L. No SVD accuracy is assumed: the SVD only proposes the direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bounds import Stability, interval_bounds, stabilities
from ..domain import Box
from ..io.covector import fold_error_norm
from ..network import Network, operator_norm_upper, operator_norm_with_direction, vector_norm
from ..rounding import UNIT_ROUNDOFF, gamma

# A solver's point may leave the box by its feasibility tolerance (1e-6 in the scaled input x' in [-1, 1]):
# up to BOX_TOL times the box's half width it is clipped back, beyond that it is refused.
BOX_TOL = 1e-6


@dataclass
class Certificate:
    value: float | None  # a lower bound of L, or None when the point could not be certified
    reason: str  # why not, or how it was obtained
    margin: float | None = None  # smallest |pre-activation| / its rounding bound over unstable neurons
    pattern: list[np.ndarray] | None = None  # the certified activation pattern

    def to_dict(self) -> dict:
        return {"value": self.value, "reason": self.reason, "margin": self.margin}


def forward_with_error(network: Network, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Pre-activations z_1..z_K at x and, per layer, a bound of |computed z - exact z| (x taken as exact)."""
    a = np.asarray(x, dtype=np.float64)
    err = np.zeros_like(a)
    zs, errs = [], []
    for w, b in zip(network.weights, network.biases):
        z = w @ a + b
        absw = np.abs(w)
        # the new rounding of this layer plus the propagated error of its input (relu is 1-Lipschitz)
        e = gamma(w.shape[1] + 4) * (absw @ np.abs(a) + np.abs(b)) + absw @ err
        e = e * (1 + gamma(w.shape[1] + 4))
        zs.append(z)
        errs.append(e)
        a, err = np.maximum(z, 0.0), e
    return zs, errs


def jacobian_rounding(network: Network, pattern: list[np.ndarray], alpha: str, beta: str) -> float:
    """A bound of the error of ||J_s||_{alpha->beta} as computed in float64 (products and norm)."""
    j = np.abs(network.weights[0])
    for s, w in zip(pattern, network.weights[1:]):
        j = np.abs(w) @ (np.asarray(s, dtype=np.float64)[:, None] * j)
    depth_terms = sum(w.shape[1] for w in network.weights) + 8 * max(j.shape)
    return gamma(depth_terms) * operator_norm_upper(j, alpha, beta) * 2


def directional_lower(j: np.ndarray, v: np.ndarray, alpha: str, beta: str, j_error: float) -> float:
    """A proven lower bound of ||J||_{alpha->beta} from the direction v, where the float matrix j is within j_error
    (in that operator norm) of the exact J: ||J v|| / ||v|| with the product's and the norms' rounding bounded."""
    j = np.atleast_2d(j)
    m, n = j.shape
    nv = float(vector_norm(v, alpha))
    if not (nv > 0 and np.isfinite(nv)):
        return 0.0
    nv_up = nv * (1 + gamma(n + 2))
    y = j @ v
    # |fl(j v) - j v| <= gamma_n |j| |v| entrywise; each norm below is off by at most gamma_{m+2} relative
    product_error = float(vector_norm(gamma(n) * (np.abs(j) @ np.abs(v)), beta)) * (1 + gamma(m + 3))
    ny = float(vector_norm(y, beta)) * (1 - gamma(m + 2))
    value = (ny - product_error - j_error * nv_up * (1 + 4 * UNIT_ROUNDOFF)) * (1 - 4 * UNIT_ROUNDOFF)
    return max(0.0, value / nv_up * (1 - 2 * UNIT_ROUNDOFF))


def best_direction(j: np.ndarray, alpha: str, beta: str, v=None) -> tuple[float, np.ndarray]:
    """(float64 value, direction): the norm's maximiser (or the best of a few) or v when v does better."""
    value, direction = operator_norm_with_direction(j, alpha, beta)
    if v is not None:
        v = np.asarray(v, dtype=np.float64).ravel()
        nv = float(vector_norm(v, alpha)) if v.shape == (j.shape[1],) and np.all(np.isfinite(v)) else 0.0
        if nv > 0 and (given := float(vector_norm(j @ v, beta)) / nv) > value:
            value, direction = given, v
    return value, direction


def certify_point(network: Network, box: Box, alpha: str, beta: str, x, v=None,
                  stability: list[Stability] | None = None, covector: dict | None = None) -> Certificate:
    """Certified lower bound of L from an input point x of the box (and direction v).

    covector: the record of a folded output covector (default: network.meta's); its folding error bound is
    subtracted too, so the value is a lower bound of the constant of c^T f with the original c and W_K.
    A value whose error bound reaches it certifies nothing: 0, and the reason says so.
    """
    if covector is None:
        covector = network.meta.get("covector")
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.shape != (network.n_inputs,) or not np.all(np.isfinite(x)):
        return Certificate(None, "the input point is not finite" if x.shape == (network.n_inputs,) else
                           f"the input point has {x.size} values, the network {network.n_inputs} inputs")
    half = (box.upper - box.lower) / 2
    outside = np.maximum(box.lower - x, 0) + np.maximum(x - box.upper, 0)
    worst = int(np.argmax(outside / half))
    if outside[worst] > BOX_TOL * half[worst]:
        return Certificate(None, f"the input x_{worst} = {x[worst]:.9g} is outside the domain "
                                 f"[{box.lower[worst]:.9g}, {box.upper[worst]:.9g}]")
    x = np.clip(x, box.lower, box.upper)  # in the closed box: its region meets the interior
    if stability is None:
        stability = stabilities(network, interval_bounds(network, box.lower, box.upper))
    zs, errs = forward_with_error(network, x)
    pattern, margin = [], None
    for k, (z, e, st) in enumerate(zip(zs[:-1], errs[:-1], stability), start=1):
        unst = np.flatnonzero(st.unstable)
        if unst.size:
            ratio = np.abs(z[unst]) / np.maximum(e[unst], np.finfo(float).tiny)
            i = int(np.argmin(ratio))
            if ratio[i] <= 2.0:
                n = int(unst[i])
                return Certificate(None, f"pre-activation z{k}_{n} = {z[n]:.3g} at the input point is within its "
                                         f"rounding error ({e[n]:.2g}) of a ReLU boundary, so the point certifies no "
                                         "region", float(ratio[i]))
            margin = float(ratio[i]) if margin is None else min(margin, float(ratio[i]))
        pattern.append(np.where(st.unstable, z > 0, st.active).astype(float))
    j = network.jacobian_of_pattern(pattern)
    value, direction = best_direction(j, alpha, beta, v)
    fold = fold_error_norm(covector, alpha)
    computed = directional_lower(j, direction, alpha, beta, jacobian_rounding(network, pattern, alpha, beta)) - fold
    if not computed > 0:
        error = value - computed
        return Certificate(0.0, f"the Jacobian's norm computed at the point ({value:.3g}) is within its rounding error "
                                f"bound ({error:.3g}): it certifies nothing beyond 0", margin, pattern)
    return Certificate(float(computed), "norm of the Jacobian recomputed in float64 at the input point, "
                                        "minus its rounding error bound", margin, pattern)
