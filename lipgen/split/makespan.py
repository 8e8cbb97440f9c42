"""What N workers would make of a split run: list scheduling over measured times, one round after another.

Within a round the leaves are independent: greedy list scheduling (longest first, each job to the worker that
frees first) gives a makespan within 4/3 of the optimum (Graham). Rounds are sequential, and the tree's own work
between them runs on one process (the driver), so a run's simulated time is the sum over rounds of the tree's
time plus the leaves' makespan.
"""

from __future__ import annotations

import heapq

import numpy as np


def list_schedule(times, workers: int) -> float:
    """The makespan of `times` (seconds) on `workers` identical workers, longest job first."""
    jobs = np.sort(np.asarray(times, dtype=np.float64))[::-1]
    if workers >= len(jobs):
        return float(jobs[0]) if len(jobs) else 0.0
    free = [0.0] * workers
    for t in jobs:
        heapq.heapreplace(free, free[0] + float(t))
    return max(free)


def simulate(rounds: list[dict], leaf_rounds: list[dict], workers: int) -> float:
    """A split run's wall time on `workers` workers: the tree's rounds serially, each leaf round scheduled."""
    tree = sum(float(r.get("seconds", 0.0)) for r in rounds)
    return tree + sum(list_schedule(r.get("leaf_times") or [], workers) for r in leaf_rounds)
