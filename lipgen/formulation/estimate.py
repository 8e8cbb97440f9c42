"""The value the objective's scale Lambda is taken from (docs/formulation.md, section 4): one rule for every caller."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def scale_anchor(certified_lower: float | None, upper_bounds: Iterable[float | None]) -> float:
    """The best certified lower bound when it is positive, else the smallest rigorous upper bound (naive, Jacobian).

    Never an uncertified float: the float64 Jacobian of a network whose weights cancel is rounding noise (1e-17),
    and a Lambda taken from it once made SCIP call the upper problem unbounded. 0 when nothing is known (Lambda 1).
    """
    if certified_lower is not None and certified_lower > 0:
        return float(certified_lower)
    uppers = [float(u) for u in upper_bounds if u is not None and np.isfinite(u) and u >= 0]
    return min(uppers, default=0.0)
