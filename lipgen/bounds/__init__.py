"""Pre-activation bounds and the stable/unstable split of neurons (docs/formulation.md, section 2)."""

from .interval import LayerBounds, affine_interval, gamma, interval_bounds, interval_propagate
from .stability import ACTIVE, INACTIVE, UNSTABLE, Stability, classify, stabilities


def hidden_stability(bounds: list[LayerBounds], network=None) -> list[Stability]:
    """Classification of the hidden layers; with the network, constant neurons are detected too."""
    if network is not None:
        return stabilities(network, bounds)
    return [classify(b) for b in bounds[:-1]]


__all__ = ["ACTIVE", "INACTIVE", "UNSTABLE", "LayerBounds", "Stability", "affine_interval", "classify", "gamma",
           "hidden_stability", "interval_bounds", "interval_propagate", "stabilities"]
