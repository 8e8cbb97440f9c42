"""Which neurons need a binary: stably active, stably inactive, constant and unstable neurons
(docs/formulation.md, section 2).

- stably active: l >= 0 (z < 0 nowhere; z = 0 at most on a set without interior, e.g. a face of the box);
- stably inactive: u <= 0;
- constant: the neuron's pre-activation does not depend on x on the box (a zero row, or a row that is
  zero once the stable neurons before it are accounted for, such as two duplicated neurons that cancel):
  active if its constant is > 0, else inactive. It can cut no region, so it never gets a binary;
- unstable: everything else.

The classification is the same in the upper- and the lower-bound problem: the strict margin applies to
unstable neurons only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..network import Network
from .interval import LayerBounds

ACTIVE, INACTIVE, UNSTABLE = "A", "I", "U"


@dataclass
class Stability:
    """Masks of one hidden layer's neurons; exactly one of active/inactive/unstable is true per neuron."""

    active: np.ndarray
    inactive: np.ndarray
    unstable: np.ndarray
    constant: np.ndarray | None = None  # subset of active | inactive

    def counts(self) -> dict:
        out = {"active": int(self.active.sum()), "inactive": int(self.inactive.sum()),
               "unstable": int(self.unstable.sum())}
        if self.constant is not None:
            out["constant"] = int(self.constant.sum())
        return out

    def code(self) -> str:
        """One letter per neuron (A, I or U), as stored in the sidecar."""
        letters = np.full(len(self.active), UNSTABLE)
        letters[self.active] = ACTIVE
        letters[self.inactive] = INACTIVE
        return "".join(letters.tolist())

    @classmethod
    def from_code(cls, code: str) -> Stability:
        letters = np.array(list(code), dtype="<U1") if code else np.zeros(0, dtype="<U1")
        return cls(letters == ACTIVE, letters == INACTIVE, letters == UNSTABLE)


def classify(bounds: LayerBounds, constant: np.ndarray | None = None, value: np.ndarray | None = None) -> Stability:
    """Split one layer's neurons by their bounds; `constant` neurons (with their `value`) are fixed by sign."""
    l, u = bounds.lower, bounds.upper
    inactive = u <= 0
    active = (l >= 0) & ~inactive
    if constant is not None and constant.any():
        active = np.where(constant, value > 0, active)
        inactive = np.where(constant, value <= 0, inactive)
    return Stability(active, inactive, ~(active | inactive), None if constant is None else constant.copy())


def stabilities(network: Network, bounds: list[LayerBounds]) -> list[Stability]:
    """Classification of every hidden layer, constant neurons detected (see `constant_neurons`)."""
    out = []
    rows, consts, known = None, None, None
    for k in range(network.n_hidden_layers):
        w, b = network.weights[k], network.biases[k]
        if k == 0:
            rows, consts, known = w.copy(), b.copy(), np.ones(len(b), dtype=bool)
        else:
            prev = out[-1]
            # a neuron keeps an exact affine form when every input it uses is inactive or affine and active
            act = prev.active & known
            usable = prev.inactive | act
            known = ~np.any(w[:, ~usable] != 0, axis=1)
            rows = w[:, act] @ rows[act]
            consts = w[:, act] @ consts[act] + b
        constant = known & ~np.any(rows, axis=1)
        out.append(classify(bounds[k], constant, consts))
    return out


__all__ = ["ACTIVE", "INACTIVE", "UNSTABLE", "Stability", "classify", "stabilities"]
