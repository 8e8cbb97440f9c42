"""Pre-activation bounds by interval arithmetic, and the stable/unstable split of neurons."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import Network


@dataclass
class LayerBounds:
    """Bounds l <= z <= u of one layer's pre-activations on the whole domain."""

    lower: np.ndarray
    upper: np.ndarray


def interval_propagate(w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of w @ x for lo <= x <= hi (no bias)."""
    wp, wm = np.maximum(w, 0.0), np.minimum(w, 0.0)
    return wp @ lo + wm @ hi, wp @ hi + wm @ lo


def interval_bounds(network: Network, lower: np.ndarray, upper: np.ndarray) -> list[LayerBounds]:
    """Sound bounds of z_1 .. z_K for inputs in the box [lower, upper] (FORMULATION.md 2)."""
    lo, hi = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    out = []
    for k, (w, b) in enumerate(zip(network.weights, network.biases)):
        zl, zu = interval_propagate(w, lo, hi)
        zl, zu = zl + b, zu + b
        out.append(LayerBounds(zl, zu))
        lo, hi = np.maximum(zl, 0.0), np.maximum(zu, 0.0)
    return out


@dataclass
class Stability:
    """Masks of one hidden layer's neurons; exactly one is true per neuron."""

    active: np.ndarray
    inactive: np.ndarray
    unstable: np.ndarray

    def counts(self) -> dict:
        return {"active": int(self.active.sum()), "inactive": int(self.inactive.sum()),
                "unstable": int(self.unstable.sum())}


def classify(bounds: LayerBounds, eps: float | None = None) -> Stability:
    """Split neurons into stably active/inactive and unstable.

    Non-strict problem (eps None): active if l > 0, inactive if u < 0. Strict problem with
    margin eps: active if l >= eps, inactive if u <= -eps (FORMULATION.md 2).
    """
    l, u = bounds.lower, bounds.upper
    if eps is None:
        active, inactive = l > 0, u < 0
    else:
        active, inactive = l >= eps, u <= -eps
    inactive = inactive & ~active
    return Stability(active, inactive, ~(active | inactive))


def hidden_stability(bounds: list[LayerBounds], eps: float | None = None) -> list[Stability]:
    return [classify(b, eps) for b in bounds[:-1]]
