"""Pre-activation bounds by interval arithmetic, rounded outwards (docs/formulation.md, section 2).

Every bound is computed in float64 and then widened by a proven bound of the rounding error of that
computation, so no point of the box can leave it. Where the computation is exact (a weight times an
exact zero, as on a face of the box) nothing is widened: a neuron whose hyperplane is a face of the
box keeps the bound 0 and is classified stable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..network import Network
from ..rounding import gamma


@dataclass
class LayerBounds:
    """Bounds l <= z <= u of one layer's pre-activations on the whole domain."""

    lower: np.ndarray
    upper: np.ndarray


def interval_propagate(w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of w @ x for lo <= x <= hi (no bias), rounded outwards."""
    return affine_interval(w, np.zeros(w.shape[0]), lo, hi)


def affine_interval(w: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rigorous bounds of w @ x + b over the box lo <= x <= hi.

    Each float64 result is widened by gamma_{n+4} times the sum of the magnitudes of its own terms (e.g.
    w+ @ |lo| + |w-| @ |hi| + |b| for the lower bound), which bounds the rounding of the sum (gamma_{n+1}),
    of the magnitude itself and of the widening step. Terms that are exact zeros widen nothing.
    """
    w = np.asarray(w, dtype=np.float64)
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    wp, wm = np.maximum(w, 0.0), -np.minimum(w, 0.0)
    g = gamma(w.shape[1] + 4)
    low = (wp @ lo - wm @ hi + b) - g * (wp @ np.abs(lo) + wm @ np.abs(hi) + np.abs(b))
    up = (wp @ hi - wm @ lo + b) + g * (wp @ np.abs(hi) + wm @ np.abs(lo) + np.abs(b))
    return low, up


def interval_bounds(network: Network, lower: np.ndarray, upper: np.ndarray) -> list[LayerBounds]:
    """Sound bounds of z_1 .. z_K for inputs in the box [lower, upper]."""
    lo, hi = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    out = []
    for w, b in zip(network.weights, network.biases):
        zl, zu = affine_interval(w, b, lo, hi)
        out.append(LayerBounds(zl, zu))
        lo, hi = np.maximum(zl, 0.0), np.maximum(zu, 0.0)
    return out
