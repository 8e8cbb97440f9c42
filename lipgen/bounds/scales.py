"""The scaled coordinates in which lipgen works (docs/formulation.md, section 4): the input box mapped to
[-1, 1]^n and each hidden neuron's row normalised, all by powers of two. OBBT solves its LPs in them and the
formulation writes its instances in them."""

from __future__ import annotations

from dataclasses import replace

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


def equilibrate(network: Network, sweeps: int = 4) -> tuple[Network, list[np.ndarray]]:
    """The same function with every hidden neuron rescaled by a power of two, and the exponents per layer.

    ReLU is positively homogeneous: multiplying neuron i's row and bias by 2^e and the next layer's column i by
    2^-e leaves f unchanged, exactly in float64 (only exponents move; no factor here under- or overflows a
    network's finite weights by construction of the clip). e balances the row's and the column's largest
    magnitudes (their geometric mean), a few sweeps over the layers. The instance's own rows are already
    normalised per neuron (sigma_k, tau_k), which such a rescaling leaves unchanged; what it changes is every
    product of layer norms, the naive bound first (a net with neuron scales from 1e-6 to 1e6 had a naive bound
    1e12 times its constant)."""
    ws = [w.copy() for w in network.weights]
    bs = [b.copy() for b in network.biases]
    total = [np.zeros(w.shape[0], dtype=np.int64) for w in ws[:-1]]
    for _ in range(sweeps):
        moved = False
        for k in range(len(ws) - 1):
            rows = np.max(np.abs(np.column_stack([ws[k], bs[k]])), axis=1)
            cols = np.max(np.abs(ws[k + 1]), axis=0)
            ok = (rows > 0) & (cols > 0)
            e = np.zeros_like(total[k])
            e[ok] = np.clip(np.round(0.5 * (np.log2(cols[ok]) - np.log2(rows[ok]))), -300, 300).astype(np.int64)
            if np.any(e):
                moved = True
                ws[k] = np.ldexp(ws[k], e[:, None])
                bs[k] = np.ldexp(bs[k], e)
                ws[k + 1] = np.ldexp(ws[k + 1], -e[None, :])
                total[k] += e
        if not moved:
            break
    if not all(np.all(np.isfinite(w)) for w in ws):  # an exponent pushed a weight out of range: keep the original
        return network, [np.zeros(w.shape[0], dtype=np.int64) for w in network.weights[:-1]]
    return replace(network, weights=ws, biases=bs), total
