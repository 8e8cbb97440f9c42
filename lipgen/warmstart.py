"""A MIP start from the best certified point found before solving: every variable of an instance, by name."""

from __future__ import annotations

import numpy as np

from .network import Network


def start_values(network: Network, sidecar: dict) -> dict[str, float]:
    """Values of the instance's variables at the sidecar's best certified point (the region walk's, else the best
    sampled point) and its direction."""
    from .instance import formulation_of

    anchors = sidecar["anchors"]
    sampled = anchors.get("sampled_certified", anchors.get("sampled_lower", 0.0))  # sidecar version 2: sampled_lower
    key = "search" if anchors.get("search_lower", 0.0) > sampled else "sampled"
    x = np.asarray(anchors[f"{key}_x"], dtype=np.float64)
    v = np.asarray(anchors[f"{key}_v"], dtype=np.float64)
    return formulation_of(sidecar, network).values(x, v)
