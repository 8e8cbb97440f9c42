"""Solver backends (SCIP, Gurobi, CPLEX, HiGHS, CBC), lipgen's solver launchers, and the subprocess runner."""

from lipgen.solvers.backends import (BACKENDS, SOLVERS, Backend, Executable, Invocation, SolveOptions, get_backend,
                                     write_mip_start)
from lipgen.solvers.runner import RunOutcome, SolverProcess, kill_leftovers, log_tail, run, stop_all

__all__ = ["BACKENDS", "SOLVERS", "Backend", "Executable", "Invocation", "SolveOptions", "RunOutcome",
           "SolverProcess", "get_backend", "kill_leftovers", "log_tail", "run", "stop_all", "write_mip_start"]
