"""Choosing and running a pre-activation bounds method (interval, linear or OBBT) on a box."""

from __future__ import annotations

import numpy as np

from ..errors import LipgenError
from .interval import LayerBounds, interval_bounds
from .linear import linear_bounds
from .obbt import obbt_bounds
from .scales import input_map, layer_scales
from .stability import Stability, classify, stabilities

BOUNDS_METHODS = ("interval", "linear", "obbt")
ALIASES = {"lp": "linear", "crown": "linear", "symbolic": "linear"}


def bounds_method(name: str) -> str:
    """The canonical name of a bounds method (`lp` is `linear`); LipgenError for an unknown one."""
    key = ALIASES.get(str(name).lower(), str(name).lower())
    if key not in BOUNDS_METHODS:
        raise LipgenError(f"--bounds {name!r} is not supported: use interval, linear (lp) or obbt")
    return key


def compute_bounds(network, lower, upper, method: str = "linear") -> list[LayerBounds]:
    """Sound bounds of every layer's pre-activations on the box [lower, upper] by `method`."""
    method = bounds_method(method)
    lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    bounds = interval_bounds(network, lower, upper)
    if method == "interval":
        return bounds
    bounds = linear_bounds(network, lower, upper, bounds)
    if method == "linear":
        return bounds
    center, halfwidth = input_map(lower, upper)
    scales = layer_scales(network, halfwidth, stabilities(network, bounds))
    return obbt_bounds(network, lower, upper, bounds, scales, halfwidth, center)


def region_obbt(network, lower, upper, start: list[LayerBounds],
                fixed: dict[tuple[int, int], int]) -> list[LayerBounds]:
    """OBBT on the part of the box [lower, upper] where the neurons of `fixed` have their phase ({(hidden layer,
    neuron): 1 active / 0 inactive}); `start`: sound bounds on that region (e.g. clamped linear bounds)."""
    lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    center, halfwidth = input_map(lower, upper)
    scales = layer_scales(network, halfwidth, stabilities(network, start))
    return obbt_bounds(network, lower, upper, start, scales, halfwidth, center, fixed)


def hidden_stability(bounds: list[LayerBounds], network=None) -> list[Stability]:
    """Classification of the hidden layers; with the network, constant neurons are detected too."""
    if network is not None:
        return stabilities(network, bounds)
    return [classify(b) for b in bounds[:-1]]
