"""Pre-activation bounds and the stable/unstable split of neurons (docs/formulation.md, section 2).

Three methods, each sound and each at least as tight as the one before:
  interval  interval arithmetic, rounded outwards;
  linear    a linear (CROWN / DeepPoly style) relaxation pulled back to the input box, cheap (also `lp`);
  obbt      each unstable neuron minimised and maximised over the LP relaxation of the layers before it (HiGHS),
            starting from the linear bounds: two LPs per unstable neuron.
"""

import numpy as np

from .interval import LayerBounds, affine_interval, gamma, interval_bounds, interval_propagate
from .jacobian import EntryBounds, JacobianBounds, jacobian_bounds, jacobian_upper_bound
from .stability import ACTIVE, INACTIVE, UNSTABLE, Stability, classify, stabilities

BOUNDS_METHODS = ("interval", "linear", "obbt")
ALIASES = {"lp": "linear", "crown": "linear", "symbolic": "linear"}


def bounds_method(name: str) -> str:
    """The canonical name of a bounds method (`lp` is `linear`); LipgenError for an unknown one."""
    from ..errors import LipgenError

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
    from .linear import linear_bounds

    bounds = linear_bounds(network, lower, upper, bounds)
    if method == "linear":
        return bounds
    from ..formulation.scaling import input_map, layer_scales
    from .obbt import obbt_bounds

    center, halfwidth = input_map(lower, upper)
    scales = layer_scales(network, halfwidth, stabilities(network, bounds))
    return obbt_bounds(network, lower, upper, bounds, scales, halfwidth, center)


def hidden_stability(bounds: list[LayerBounds], network=None) -> list[Stability]:
    """Classification of the hidden layers; with the network, constant neurons are detected too."""
    if network is not None:
        return stabilities(network, bounds)
    return [classify(b) for b in bounds[:-1]]


__all__ = ["ACTIVE", "BOUNDS_METHODS", "INACTIVE", "UNSTABLE", "EntryBounds", "JacobianBounds", "LayerBounds",
           "Stability", "affine_interval", "bounds_method", "classify", "compute_bounds", "gamma", "hidden_stability",
           "interval_bounds", "interval_propagate", "jacobian_bounds", "jacobian_upper_bound", "stabilities"]
