"""Floating-point rounding: the unit roundoff, error bounds of float sums, directed rounding, powers of two,
and numbers rounded for people.

Every rigorous bound in lipgen (interval bounds, operator norms, the certificate, the scaling) rounds through
these helpers, so there is one place that says how.
"""

from __future__ import annotations

import numpy as np

UNIT_ROUNDOFF = 2.0**-53


def gamma(k: int) -> float:
    """gamma_k = k u / (1 - k u): the relative error bound of a k-term float sum or dot product."""
    ku = k * UNIT_ROUNDOFF
    if ku >= 0.5:
        raise ValueError("too many terms for a rounding-error bound")
    return ku / (1.0 - ku)


def round_up(value: float, terms: int) -> float:
    """`value`, computed in floats as a norm of `terms` numbers, raised past its worst rounding error."""
    return float(np.nextafter(value * (1.0 + 2.0 * gamma(terms + 4)), np.inf))


def mul_up(a: float, b: float) -> float:
    """An upper bound of the exact product of two non-negative floats (0 when a factor is 0: that product is exact,
    and a constant network's naive bound stays 0 rather than a subnormal)."""
    if a == 0 or b == 0:
        return 0.0
    return float(np.nextafter(a * b, np.inf))


def power_of_two(x, up: bool = False) -> np.ndarray:
    """2^round(log2 x) (or 2^ceil with up=True) elementwise; 1 where x is 0 or not finite."""
    x = np.asarray(x, dtype=np.float64)
    out = np.ones_like(x)
    ok = np.isfinite(x) & (x > 0)
    mant, expo = np.frexp(x[ok])  # x = mant * 2^expo, mant in [0.5, 1)
    if up:
        e = np.where(mant == 0.5, expo - 1, expo)
    else:
        e = np.where(mant >= np.sqrt(0.5), expo, expo - 1)
    out[ok] = np.ldexp(1.0, e)
    return out


def format_number(x, digits: int = 6) -> str:
    """A number for a table or a progress line: `digits` significant digits, `-` for none, never `-0`."""
    return "-" if x is None else f"{x + 0.0:.{digits}g}"  # + 0.0 turns -0.0 into 0.0
