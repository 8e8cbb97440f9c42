"""Output covectors: the Lipschitz constant of a scalar c^T f (a logit difference e_I - e_J, or any weights c).

The covector is folded into the last layer (W_K -> fl(c^T W_K), b_K -> fl(c^T b_K)), giving a network with one
output; the formulations and the checker see an ordinary one-output network. Folding rounds: with cancellation in
c^T W_K (c = [0.1, 0.2, -0.3]) the folded row can be all rounding. So the fold records a rigorous bound of what it
changed in the Jacobian, `fold_error` (a row m over the inputs with |J_exact(x) - J_folded(x)| <= m entrywise for
every pattern); the certificate subtracts ||m||_{alpha*} and every upper bound adds it (docs/formulation.md, 3b).
The name says which covector it is and the sidecar records it.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from .domain import load_vector
from .errors import LipgenError
from .network import Network, dual_norm, gamma, round_up, vector_norm


def parse_margin(text: str, n_outputs: int) -> tuple[int, int]:
    """'I,J' -> (I, J), two different output indices counted from 0."""
    parts = str(text).replace(" ", "").split(",")
    try:
        i, j = (int(p) for p in parts)
        if len(parts) != 2:
            raise ValueError
    except ValueError:
        raise LipgenError(f"--margin {text!r} is not I,J (two output indices, e.g. 3,5)") from None
    for k in (i, j):
        if not 0 <= k < n_outputs:
            raise LipgenError(f"--margin {text}: output {k} does not exist (the network has {n_outputs} outputs, "
                              f"numbered 0 to {n_outputs - 1})")
    if i == j:
        raise LipgenError(f"--margin {text}: the two outputs must differ")
    return i, j


def load_weights(path: str | Path, n_outputs: int) -> np.ndarray:
    c = load_vector(path, "--output-weights", n_outputs, "outputs")
    if not np.any(c):
        raise LipgenError(f"--output-weights {path}: the weights are all zero")
    from .weights import magnitude_problem

    if why := magnitude_problem(c):
        raise LipgenError(f"--output-weights {path}: {why}")
    return c


def fold_error(network: Network, c: np.ndarray) -> np.ndarray:
    """A row m (one entry per input) bounding |c^T J_s - fl(c^T W_K) D ... W_1| entrywise, for every pattern s.

    The folded row's error is at most gamma_{m+2} |c|^T |W_K| (a dot product of m terms); the rest of the chain
    multiplies it by |W_{K-1}| ... |W_1| at most (patterns are 0/1). The products are computed in floats and
    raised by their own gamma bound, so m is an upper bound despite rounding.
    """
    absw = [np.abs(w) for w in network.weights]
    row = gamma(len(c) + 2) * (np.abs(c) @ absw[-1])
    terms = len(c) + 2
    for w in reversed(absw[:-1]):
        row = row @ w
        terms += w.shape[0]
    return np.nextafter(row * (1 + 2 * gamma(terms + 4)), np.inf)


def fold_error_norm(covector: dict | None, alpha: str) -> float:
    """||m||_{alpha*} of a covector record's `fold_error`, rounded up: how far folding can move ||J|| (0 without
    a fold, or for records written before lipgen measured it)."""
    m = (covector or {}).get("fold_error")
    if not m:
        return 0.0
    m = np.asarray(m, dtype=np.float64)
    return round_up(float(vector_norm(m, dual_norm(alpha))), m.size) if np.any(m) else 0.0


def with_covector(network: Network, c: np.ndarray, label: str, meta: dict) -> Network:
    """The one-output network x -> c^T f(x), with the bound of its folding error in meta['covector']."""
    c = np.asarray(c, dtype=np.float64)
    weights = network.weights[:-1] + [(c @ network.weights[-1])[None, :]]
    biases = network.biases[:-1] + [np.array([c @ network.biases[-1]])]
    covector = dict(meta, weights=c.tolist(), base_network=network.name, base_digest=network.digest(),
                    fold_error=fold_error(network, c).tolist())
    from .weights import validate

    folded = replace(network, weights=weights, biases=biases)
    validate(folded, source=f"the network folded with its output covector {label}")  # c^T W_K may leave the range
    return replace(network, weights=weights, biases=biases, name=f"{network.name}-{label}",
                   meta=dict(network.meta, covector=covector))


def apply(network: Network, output_weights: str | Path | None = None, margin: str | None = None) -> Network:
    """The network itself, or its scalar c^T f for --output-weights / --margin (not both)."""
    if output_weights is not None and margin is not None:
        raise LipgenError("give --output-weights or --margin, not both")
    if margin is not None:
        i, j = parse_margin(margin, network.n_outputs)
        c = np.zeros(network.n_outputs)
        c[i], c[j] = 1.0, -1.0
        return with_covector(network, c, f"m{i}-{j}", {"kind": "margin", "margin": [i, j]})
    if output_weights is not None:
        c = load_weights(output_weights, network.n_outputs)
        tag = hashlib.sha256(c.astype("<f8").tobytes()).hexdigest()[:8]
        return with_covector(network, c, f"c{tag}", {"kind": "weights", "file": str(output_weights)})
    return network
