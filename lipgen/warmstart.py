"""A MIP start from the best sampled point: every variable of an instance, by the sidecar's naming scheme."""

from __future__ import annotations

import numpy as np

from .bounds import classify, interval_bounds
from .domain import Box
from .network import Network


def start_values(network: Network, sidecar: dict) -> dict[str, float]:
    """Values of the instance's variables at the sidecar's sampled point (x, v) (FORMULATION.md 3-5)."""
    box = Box.from_json(sidecar["domain"])
    alpha, beta = sidecar["norms"]["input"], sidecar["norms"]["output"]
    eps = sidecar["eps"] if sidecar["bound"] == "lower" else None
    x = np.asarray(sidecar["anchors"]["sampled_x"], dtype=np.float64)
    v = np.asarray(sidecar["anchors"]["sampled_v"], dtype=np.float64)
    bounds = interval_bounds(network, box.lower, box.upper)
    zs = [z[0] for z in network.preactivations(x)]
    j = network.jacobians(x)[0]
    g = j @ v
    n_out = network.n_outputs
    # v -> -v flips g: pick the sign that makes the objective's chosen component positive
    lead = int(np.argmax(np.abs(g))) if n_out > 1 else 0
    if g[lead] < 0:
        v, g = -v, -g
    vals: dict[str, float] = {}

    def put(prefix: str, idx: np.ndarray, arr: np.ndarray) -> None:
        vals.update(zip((f"{prefix}{i}" for i in idx.tolist()), np.asarray(arr, dtype=np.float64).tolist()))

    every = np.arange(network.n_inputs)
    put("x_", every, x)
    put("v_", every, v)
    if alpha == "1":
        put("vp_", every, np.maximum(v, 0))
        put("vm_", every, np.maximum(-v, 0))
    y_prev = v
    n_hidden = network.n_hidden_layers
    for k in range(1, n_hidden + 1):
        st = classify(bounds[k - 1], eps)
        z = zs[k - 1]
        keep, unst = np.flatnonzero(~st.inactive), np.flatnonzero(st.unstable)
        s = (z > 0).astype(float)
        put(f"z{k}_", unst if k == n_hidden else keep, z[unst] if k == n_hidden else z[keep])
        put(f"s{k}_", unst, s[unst])
        if k < n_hidden:
            put(f"a{k}_", unst, np.maximum(z[unst], 0))
        t = network.weights[k - 1] @ y_prev
        put(f"t{k}_", keep, t[keep])
        y_prev = s * t
        put(f"y{k}_", unst, y_prev[unst])
    put("g_", np.arange(n_out), g)
    if n_out > 1 and beta == "inf":
        vals["w"] = float(g[lead])
        put("c_", np.arange(n_out), np.arange(n_out) == lead)
    elif n_out > 1 and beta == "1":
        put("w_", np.arange(n_out), np.abs(g))
        put("sg_", np.arange(n_out), g >= 0)
    return vals
