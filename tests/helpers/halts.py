"""Budgets for tests: a halt() that says stop after a given number of calls."""

from __future__ import annotations

from collections.abc import Callable


def halt_after(calls: int) -> Callable[[], bool]:
    """A halt() that says stop from its `calls`-th call on."""
    count = {"n": 0}

    def halt() -> bool:
        count["n"] += 1
        return count["n"] >= calls
    return halt
