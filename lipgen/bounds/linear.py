"""Linear-relaxation bounds (CROWN / DeepPoly style): each layer's pre-activations bounded by pulling a linear
function back through the relaxed ReLUs of the layers before it, down to the input box
(docs/formulation.md, section 2).

For an unstable neuron with bounds l < 0 < u, relu(z) lies between lam_l z and lam_u (z - l), with
lam_u = u / (u - l) and lam_l = 1 when u > -l, else 0. To bound c . a from above, positive coefficients take
the upper line and negative ones the lower line (the other way round for a lower bound); stable neurons pass
z through (active) or vanish (inactive). The result is intersected with the interval bounds.

Rounding: the float64 result is widened by gamma_N times a magnitude that dominates every term of the
computation (|W_k| ... |W_1| |x| plus the biases and relaxation offsets pulled through |W|), with N the total
inner dimension, which bounds the rounding of all the products and sums.
"""

from __future__ import annotations

import numpy as np

from ..network import Network
from ..rounding import gamma
from .interval import LayerBounds, affine_interval, interval_bounds


def _relaxation(lb: LayerBounds) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(upper slope, upper offset, lower slope, unstable mask) of relu over [l, u], per neuron."""
    l, u = lb.lower, lb.upper
    active, inactive = (l >= 0) & (u > 0), u <= 0
    unstable = ~(active | inactive)
    up_slope = np.where(active, 1.0, 0.0)
    up_off = np.zeros_like(l)
    lo_slope = np.where(active, 1.0, 0.0)
    if unstable.any():
        lu, uu = l[unstable], u[unstable]
        lam = uu / (uu - lu)
        up_slope[unstable] = lam
        up_off[unstable] = -lam * lu
        lo_slope[unstable] = (uu > -lu).astype(float)
    return up_slope, up_off, lo_slope, unstable


def _pull_back(network: Network, k: int, coef: np.ndarray, const: np.ndarray, upper: bool,
               relax: list) -> tuple[np.ndarray, np.ndarray]:
    """coef @ a_{k-1} + const bounded (above if `upper`) by a linear function of x: (coef_x, const)."""
    for j in range(k - 1, -1, -1):
        up_slope, up_off, lo_slope, _ = relax[j]
        pos, neg = np.maximum(coef, 0.0), np.minimum(coef, 0.0)
        if upper:
            mu = pos * up_slope + neg * lo_slope
            const = const + pos @ up_off
        else:
            mu = pos * lo_slope + neg * up_slope
            const = const + neg @ up_off
        const = const + mu @ network.biases[j]
        coef = mu @ network.weights[j]
    return coef, const


def linear_bounds(network: Network, lower: np.ndarray, upper: np.ndarray,
                  start: list[LayerBounds] | None = None) -> list[LayerBounds]:
    """Sound bounds of z_1 .. z_K on the box: linear relaxation intersected with interval bounds."""
    lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    interval = start or interval_bounds(network, lower, upper)
    xmag = np.maximum(np.abs(lower), np.abs(upper))
    out = [interval[0]]  # the first layer's interval bounds are exact up to rounding
    relax = [_relaxation(interval[0])]
    # magnitude dominating every term met when pulling back to layer j's pre-activations
    mag = np.abs(network.weights[0]) @ xmag + np.abs(network.biases[0])
    depth = network.weights[0].shape[1]
    for k in range(1, len(network.weights)):
        w, b = network.weights[k], network.biases[k]
        _, up_off, _, _ = relax[k - 1]
        mag = np.abs(w) @ (mag + np.abs(up_off)) + np.abs(b)
        depth += w.shape[1] + 4
        bounds = []
        for is_upper in (False, True):
            coef, const = _pull_back(network, k, w, b.copy(), is_upper, relax)
            cpos, cneg = np.maximum(coef, 0.0), np.minimum(coef, 0.0)
            if is_upper:
                value = cpos @ upper + cneg @ lower + const
            else:
                value = cpos @ lower + cneg @ upper + const
            bounds.append(value)
        slack = gamma(depth + len(network.weights) * 4) * mag * 2
        lo = np.maximum(bounds[0] - slack, interval[k].lower)
        hi = np.minimum(bounds[1] + slack, interval[k].upper)
        lb = LayerBounds(lo, np.maximum(hi, lo))
        out.append(lb)
        relax.append(_relaxation(lb))
        if k + 1 < len(network.weights):
            # later layers' interval bounds start from the tightened ones
            interval = interval[:k + 1] + _interval_from(network, k + 1, lb, interval[k + 1:])
    return out


def _interval_from(network: Network, k: int, prev: LayerBounds, old: list[LayerBounds]) -> list[LayerBounds]:
    """Interval bounds of layers k.. given layer k-1's bounds, intersected with the old ones."""
    lo, hi = np.maximum(prev.lower, 0.0), np.maximum(prev.upper, 0.0)
    out = []
    for w, b, o in zip(network.weights[k:], network.biases[k:], old):
        zl, zu = affine_interval(w, b, lo, hi)
        zl, zu = np.maximum(zl, o.lower), np.minimum(zu, o.upper)
        out.append(LayerBounds(zl, zu))
        lo, hi = np.maximum(zl, 0.0), np.maximum(zu, 0.0)
    return out
