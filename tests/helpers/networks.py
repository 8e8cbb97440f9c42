"""Tiny networks for every test and their exact Lipschitz constants (the oracle's regions, cached)."""

from __future__ import annotations

from functools import cache

import numpy as np
from hypothesis import strategies as st

from lipgen.domain import Box
from lipgen.network import Network, operator_norm

from .oracle import regions

# (inputs, hidden widths, outputs): 2-4 inputs, up to 16 hidden neurons, 1-3 outputs
SHAPES = [
    (2, [16], 1),
    (2, [6, 5], 1),
    (3, [8], 2),
    (4, [6], 1),
    (2, [5, 4], 3),
    (3, [4, 4, 3], 1),
    (2, [10], 2),
    (4, [5, 3], 2),
]


def random_network(seed: int, n_in: int, hidden: list[int], n_out: int, name: str | None = None) -> Network:
    rng = np.random.default_rng(seed)
    dims = [n_in] + list(hidden) + [n_out]
    weights = [rng.normal(size=(dims[k + 1], dims[k])) / np.sqrt(dims[k]) for k in range(len(dims) - 1)]
    biases = [rng.normal(scale=0.5, size=dims[k + 1]) for k in range(len(dims) - 1)]
    return Network(weights, biases, name=name or f"rand{seed}")


def tiny_network(case: int) -> Network:
    n_in, hidden, n_out = SHAPES[case]
    return random_network(100 + case, n_in, hidden, n_out, name=f"tiny{case}")


def unit_box(n: int):
    return -np.ones(n), np.ones(n)


@cache
def _patterns(case: int):
    net = tiny_network(case)
    return [tuple(map(tuple, p)) for p in regions(net, *unit_box(net.n_inputs))]


def oracle_value(case: int, alpha: str, beta: str) -> float:
    """Exact L of tiny_network(case) on [-1, 1]^n (regions cached per network)."""
    net = tiny_network(case)
    return max(operator_norm(net.jacobian_of_pattern([np.array(s) for s in p]), alpha, beta)
               for p in _patterns(case))


@st.composite
def awkward_networks(draw):
    """(network, box, general_position): random shapes and scales, with degenerate neurons mixed in.

    Built on the box [-1, 1]^n with unit weights, edited, then mapped to the box [c - h, c + h] and scaled
    (W_k -> s W_k, b_k -> s^k b_k), which keeps the regions and multiplies L by s^K / h.
    """
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    n_in = draw(st.integers(1, 3))
    hidden = draw(st.lists(st.integers(2, 5), min_size=1, max_size=2))
    net = random_network(seed, n_in, hidden, draw(st.sampled_from([1, 1, 2])), name="awk")
    kinds = draw(st.lists(st.sampled_from(["dead", "zero_row", "duplicate", "mirror", "bias_free", "face"]),
                          max_size=2, unique=True))
    w0, b0 = net.weights[0], net.biases[0]
    for kind in kinds:
        i, j = rng.choice(w0.shape[0], size=2, replace=False)
        if kind == "dead":
            b0[i] = -10 * (np.abs(w0[i]).sum() + abs(b0[i]))
        elif kind == "zero_row":
            w0[i] = 0.0
            b0[i] = draw(st.sampled_from([0.0, 1e-7, -1e-7, 1.0]))
        elif kind == "duplicate":
            w0[i], b0[i] = w0[j] * 2.0, b0[j] * 2.0
        elif kind == "mirror":
            w0[i], b0[i] = -w0[j], -b0[j]
        elif kind == "bias_free":
            for b in net.biases:
                b[:] = 0.0
        elif kind == "face":
            w0[i] = 0.0
            w0[i, int(rng.integers(n_in))] = 1.0
            b0[i] = 1.0  # zero on the face x = lower of the box
    half = 10.0 ** draw(st.floats(-4, 3))
    center = 0.0 if "bias_free" in kinds else draw(st.floats(-2, 2)) * half
    scale = 10.0 ** draw(st.floats(-6, 4))
    net.biases[0] = net.biases[0] - net.weights[0] @ np.full(n_in, center / half)
    net.weights[0] = net.weights[0] / half
    net.weights = [w * scale for w in net.weights]
    net.biases = [b * scale ** (k + 1) for k, b in enumerate(net.biases)]
    box = Box(np.full(n_in, center - half), np.full(n_in, center + half))
    return net, box, not (set(kinds) & {"duplicate", "mirror", "bias_free"})
