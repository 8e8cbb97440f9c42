"""A MIP start from the best sampled point: every variable of an instance, by the sidecar's naming scheme."""

from __future__ import annotations

import numpy as np

from .network import Network


def start_values(network: Network, sidecar: dict) -> dict[str, float]:
    """Values of the instance's variables at the sidecar's sampled point (x, v)."""
    from .instance import formulation_of

    x = np.asarray(sidecar["anchors"]["sampled_x"], dtype=np.float64)
    v = np.asarray(sidecar["anchors"]["sampled_v"], dtype=np.float64)
    return formulation_of(sidecar, network).values(x, v)
