"""Networks not in general position (docs/formulation.md, section 7): where the upper bound may be loose.

The non-strict problem may pick, at a point where several neurons' hyperplanes meet, an activation pattern
that no region has (two duplicated neurons, one on and one off). Its optimum is then above L. The strict
problem only picks patterns of regions with interior, so the lower bound stays exact.
"""

from __future__ import annotations

import numpy as np

from ..bounds import Stability
from ..network import Network

ROUND = 9  # digits kept when comparing normalised rows


def coinciding_neurons(w: np.ndarray, b: np.ndarray, candidates: np.ndarray) -> list[list[int]]:
    """Groups of neurons (among `candidates`) whose hyperplanes w_i x + b_i = 0 coincide (rows [w b] parallel)."""
    rows = np.hstack([w[candidates], b[candidates, None]])
    norms = np.linalg.norm(rows, axis=1)
    ok = norms > 0
    rows, idx = rows[ok] / norms[ok, None], candidates[ok]
    if not len(idx):
        return []
    # one orientation per hyperplane: the first clearly nonzero entry positive
    lead = np.argmax(np.abs(rows) > 1e-12, axis=1)
    rows = rows * np.sign(rows[np.arange(len(rows)), lead])[:, None]
    _, inverse, counts = np.unique(np.round(rows, ROUND) + 0.0, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    return [idx[inverse == g].tolist() for g in np.flatnonzero(counts > 1)]


def general_position_warnings(network: Network, stability: list[Stability], lower: np.ndarray, upper: np.ndarray) -> list[str]:
    """Plain-words warnings about the ways this network is not in general position."""
    out = []
    for k, st in enumerate(stability, start=1):
        w, b = network.weights[k - 1], network.biases[k - 1]
        unst = np.flatnonzero(st.unstable)
        groups = coinciding_neurons(w, b, unst)
        if groups:
            shown = ", ".join("{" + ", ".join(str(i + 1) for i in g) + "}" for g in groups[:3])
            out.append(f"layer {k}: {sum(len(g) for g in groups)} unstable neurons share hyperplanes with another "
                       f"(duplicated or mirrored neurons: {shown}{', ...' if len(groups) > 3 else ''})")
        if len(unst) > 1 and not np.any(b[unst]):
            through = "x = 0" if k == 1 else "the origin of its input"
            inside = k > 1 or bool(np.all((lower <= 0) & (upper >= 0)))
            if inside:
                out.append(f"layer {k} has no biases: all {len(unst)} unstable hyperplanes meet at {through}")
    if out:
        out.append("where hyperplanes meet, the upper-bound problem may combine activations no region has, so its "
                   "bound may stay above L; the lower bound (strict problem) is still exact there")
    return out
