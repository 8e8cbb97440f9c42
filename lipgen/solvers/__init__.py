"""Solver backends (SCIP, Gurobi, CPLEX, CBC), lipgen's solver launchers, and the subprocess runner."""

from lipgen.solvers.backends import (BACKENDS, SOLVERS, Backend, Executable, Invocation, SolveOptions, get_backend,
                                     write_mip_start)
from lipgen.solvers.runner import RunOutcome, log_tail, run

__all__ = ["BACKENDS", "SOLVERS", "Backend", "Executable", "Invocation", "SolveOptions", "RunOutcome",
           "get_backend", "log_tail", "run", "write_mip_start"]
