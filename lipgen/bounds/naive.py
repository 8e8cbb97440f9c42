"""The naive upper bound of L: the product of the layers' operator norms."""

from __future__ import annotations

import numpy as np

from ..network import NORMS, Network, operator_norm_upper
from ..rounding import mul_up
from .scales import equilibrate
from .stability import Stability


def naive_upper_bound(network: Network, alpha: str, beta: str, stability: list[Stability] | None = None) -> float:
    """Product of layer operator norms (stably inactive neurons removed), best over the middle norm, the smaller
    of the network's and of its per-neuron equilibrated twin's (the same function exactly, bounds.scales.equilibrate:
    a product of norms is not invariant under neuron rescaling, the constant is).

    Rigorous: every factor is a certified upper bound of its norm and the products are rounded up.
    """
    balanced, _ = equilibrate(network)
    return min(_naive(network, alpha, beta, stability), _naive(balanced, alpha, beta, stability))


def _naive(network: Network, alpha: str, beta: str, stability: list[Stability] | None) -> float:
    keeps = [np.arange(network.n_inputs)]
    for k in range(network.n_hidden_layers):
        keeps.append(np.flatnonzero(~stability[k].inactive) if stability else np.arange(network.widths[k + 1]))
    keeps.append(np.arange(network.n_outputs))
    mats = [w[np.ix_(keeps[k + 1], keeps[k])] for k, w in enumerate(network.weights)]
    cache: dict[tuple[int, str, str], float] = {}

    def norm(k: int, a: str, b: str) -> float:
        if (k, a, b) not in cache:
            cache[(k, a, b)] = operator_norm_upper(mats[k], a, b)
        return cache[(k, a, b)]

    if len(mats) == 1:
        return norm(0, alpha, beta)
    best = np.inf
    for gamma in NORMS:
        val = mul_up(norm(0, alpha, gamma), norm(len(mats) - 1, gamma, beta))
        for k in range(1, len(mats) - 1):
            val = mul_up(val, norm(k, gamma, gamma))
        best = min(best, val)
    return float(best)
