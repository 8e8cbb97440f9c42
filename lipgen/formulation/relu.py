"""The rows that tie a binary s to a ReLU (docs/formulation.md, section 3), in scaled units.

For an unstable neuron with bounds l < 0 < u of its pre-activation z:

  big-M:      a >= z,  a <= u s,  a <= z - l (1 - s)                       (a >= 0 is a's bound)
  bilinear:   a >= z,  a = s z
  sign:       z >= m s + l (1 - s),  z <= u s - m (1 - s)      (s = 1 => z >= m, s = 0 => z <= -m)
  bilinear:   (2 s - 1) z >= m

The sign rows carry the strict problem's margin m > 0; with m = 0 they are implied by the ReLU rows and
are only written where no a exists (the last hidden layer).

For a derivative t in [p, q] (p <= 0 <= q) and the product y = s t, exact for binary s:

  big-M:      y <= q s,  y >= p s,  y <= t - p (1 - s),  y >= t - q (1 - s)
  bilinear:   y = s t
"""

from __future__ import annotations

import numpy as np

from ..model import SENSE_EQ, SENSE_GE, SENSE_LE, ModelBuilder


def suffixes(idx: np.ndarray, tail: str) -> np.ndarray:
    return np.char.add(np.asarray(idx).astype(str), tail)


def relu_rows(b: ModelBuilder, k: int, idx: np.ndarray, z, a, s, l, u, quadratic: bool) -> None:
    n = len(idx)
    b.add_rows(f"relu{k}_", n, SENSE_GE, 0, terms=[(a, 1), (z, -1)], suffixes=suffixes(idx, "_ge"))
    if quadratic:
        r = b.add_rows(f"relu{k}_", n, SENSE_EQ, 0, terms=[(a, 1)], suffixes=suffixes(idx, "_eq"))
        b.add_quadratic(r, s, z, -1.0)
    else:
        b.add_rows(f"relu{k}_", n, SENSE_LE, 0, terms=[(a, 1), (s, -u)], suffixes=suffixes(idx, "_on"))
        b.add_rows(f"relu{k}_", n, SENSE_LE, -l, terms=[(a, 1), (z, -1), (s, -l)], suffixes=suffixes(idx, "_off"))


def sign_rows(b: ModelBuilder, k: int, idx: np.ndarray, z, s, l, u, margin, quadratic: bool) -> None:
    n = len(idx)
    if quadratic:
        # a scalar margin: the bilinear row holds only one right-hand side per neuron anyway
        r = b.add_rows(f"sgn{k}_", n, SENSE_GE, margin, terms=[(z, -1)], suffixes=idx)
        b.add_quadratic(r, s, z, 2.0)
        return
    b.add_rows(f"sgn{k}_", n, SENSE_GE, l, terms=[(z, 1), (s, l - margin)], suffixes=suffixes(idx, "_pos"))
    b.add_rows(f"sgn{k}_", n, SENSE_LE, -margin, terms=[(z, 1), (s, -(u + margin))], suffixes=suffixes(idx, "_neg"))


def product_rows(b: ModelBuilder, prefix: str, idx: np.ndarray, y, t, s, p, q, quadratic: bool) -> None:
    n = len(idx)
    if quadratic:
        r = b.add_rows(prefix, n, SENSE_EQ, 0, terms=[(y, 1)], suffixes=idx)
        b.add_quadratic(r, s, t, -1.0)
        return
    b.add_rows(prefix, n, SENSE_LE, 0, terms=[(y, 1), (s, -q)], suffixes=suffixes(idx, "_on_hi"))
    b.add_rows(prefix, n, SENSE_GE, 0, terms=[(y, 1), (s, -p)], suffixes=suffixes(idx, "_on_lo"))
    b.add_rows(prefix, n, SENSE_LE, -p, terms=[(y, 1), (t, -1), (s, -p)], suffixes=suffixes(idx, "_off_hi"))
    b.add_rows(prefix, n, SENSE_GE, -q, terms=[(y, 1), (t, -1), (s, -q)], suffixes=suffixes(idx, "_off_lo"))


def affine_rows(b: ModelBuilder, prefix: str, idx: np.ndarray, lhs: np.ndarray, w: np.ndarray, cols: np.ndarray,
                rhs) -> None:
    """Rows lhs_i - sum_j w_ij cols_j = rhs_i (dense w; zeros are dropped by the builder)."""
    m, n = w.shape
    local = np.repeat(np.arange(m), n)
    b.add_rows(prefix, m, SENSE_EQ, rhs, terms=[(lhs, 1.0)], coo=(local, np.tile(cols, m), -w.ravel()),
               suffixes=idx)
