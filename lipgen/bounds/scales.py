"""The scaled coordinates in which lipgen works (docs/formulation.md, section 4): the input box mapped to
[-1, 1]^n and each hidden neuron's row normalised, all by powers of two. OBBT solves its LPs in them and the
formulation writes its instances in them."""

from __future__ import annotations

import numpy as np

from ..network import Network
from ..rounding import power_of_two
from .stability import Stability


def input_map(lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(c, h): the box centre and a power of two at least its half width."""
    lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    center = lower / 2 + upper / 2
    return center, power_of_two((upper - lower) / 2, up=True)


def layer_scales(network: Network, halfwidth: np.ndarray, stability: list[Stability]) -> list[np.ndarray]:
    """sigma_k per hidden layer: the power of two nearest the l2 norm of each scaled row.

    Inactive neurons of the layer before are left out of the norm: their output is always 0.
    """
    sigmas = []
    prev, keep = halfwidth, np.ones(network.n_inputs, dtype=bool)
    for k, st in enumerate(stability):
        w = network.weights[k]
        norms = np.linalg.norm(w[:, keep] * prev[keep], axis=1)
        sigma = power_of_two(norms)
        sigmas.append(sigma)
        prev, keep = sigma, ~st.inactive
    return sigmas
