"""What a solver run tells us, in one shape for every solver.

Every lipgen instance is a minimisation problem, so `primal` is the incumbent's objective
(an upper bound of the optimum) and `dual` the solver's best bound (a lower bound of it).
Status is kept apart from the numbers: a number is only meaningful with its status.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

# Statuses every parser maps to.
OPTIMAL = "optimal"
TIME_LIMIT = "time_limit"  # stopped by the time limit (with or without an incumbent: see n_solutions)
GAP_LIMIT = "gap_limit"  # stopped because the requested relative gap was reached
NODE_LIMIT = "node_limit"
MEMORY_LIMIT = "memory_limit"
INTERRUPTED = "interrupted"  # user interrupt or other limit
INFEASIBLE = "infeasible"
UNBOUNDED = "unbounded"
LICENSE_LIMIT = "license_limit"  # size-limited license refused the model
NOT_INSTALLED = "not_installed"
KILLED = "killed"  # the hard wall-clock kill or a signal
CRASHED = "crashed"  # non-zero exit, read error, ...
MISSING_SOLUTION = "missing_solution"  # run finished but the solution file is absent
TRUNCATED_SOLUTION = "truncated_solution"  # solution file cut short / unparsable
UNKNOWN = "unknown"

INFINITE = 1e19  # solvers write +-1e20 (SCIP) or 1e100 (Gurobi) for "no value"


def finite(x) -> bool:
    """A solver's number that is a value: a finite int or float below the solvers' infinity."""
    return isinstance(x, (int, float)) and math.isfinite(x) and abs(x) < INFINITE

# Statuses after which the solver's numbers (primal/dual) may be trusted as bounds.
NORMAL_END = (OPTIMAL, TIME_LIMIT, GAP_LIMIT, NODE_LIMIT, MEMORY_LIMIT, INTERRUPTED, INFEASIBLE)


@dataclass
class SolveRecord:
    solver: str
    status: str = UNKNOWN
    primal: float | None = None  # incumbent objective, min sense; None when there is no incumbent
    dual: float | None = None  # best bound, min sense; None when unknown
    gap: float | None = None  # relative gap as the solver reports it (fraction, not %); None if unknown/infinite
    time: float | None = None  # solver-reported solving time, seconds
    nodes: int | None = None
    n_solutions: int | None = None
    values: dict[str, float] = field(default_factory=dict)  # incumbent values; omitted names are 0
    solver_version: str | None = None
    message: str = ""  # plain-words explanation (error line, log tail) for non-normal ends

    @property
    def has_solution(self) -> bool:
        return self.primal is not None

    def to_dict(self, with_values: bool = True) -> dict:
        d = asdict(self)
        if not with_values:
            d.pop("values")
        return d
