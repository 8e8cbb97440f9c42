"""What `lipgen inspect` reports: layers, domain, neuron stability and the cheap anchors."""

from __future__ import annotations

import numpy as np

from .anchors import naive_upper_bound, sampled_lower_bound
from .bounds import interval_bounds, stabilities
from .degeneracy import warnings as degeneracy_warnings
from .domain import Box
from .network import NORMS, Network


def inspect_network(net: Network, box: Box, n_samples: int = 1000, seed: int = 0) -> dict:
    bounds = interval_bounds(net, box.lower, box.upper)
    stab = stabilities(net, bounds)
    layers = []
    for k, (w, b) in enumerate(zip(net.weights, net.biases)):
        hidden = k < len(net.weights) - 1
        # numbered from 1, like the variables (z1_i, s1_i, ...) and every message
        entry = {"index": k + 1, "shape": list(w.shape), "activation": "relu" if hidden else "linear",
                 "lower_min": float(bounds[k].lower.min()), "upper_max": float(bounds[k].upper.max())}
        if hidden:
            entry.update(stab[k].counts())
        layers.append(entry)
    per_norm = {}
    for p in NORMS:
        s = sampled_lower_bound(net, box.lower, box.upper, p, p, n=n_samples, seed=seed)
        per_norm[p] = {"sampled_lower": s.value, "naive_upper": naive_upper_bound(net, p, p, stab)}
    return {
        "name": net.name,
        "layout": net.meta.get("layout", "?"),
        "inputs": net.n_inputs,
        "outputs": net.n_outputs,
        "widths": net.widths,
        "layers": layers,
        "unstable_total": int(sum(s.unstable.sum() for s in stab)),
        "domain": dict(box.to_json(), tag=box.tag()),
        "samples": n_samples,
        "bounds": per_norm,
        "warnings": degeneracy_warnings(net, stab, box.lower, box.upper),
    }
