"""Solver solution files and logs -> SolveRecord, one module per solver.

`parse(solver, solution_path, log_path=None, result_json=None)` is the entry point; each module also
exposes `parse_solution(path)`, `parse_log(path)` and `read_result(solution_path, log_path)`.
"""

from __future__ import annotations

from lipgen.errors import LipgenError
from lipgen.parsers import cbc, cplex, gurobi, highs, scip
from lipgen.parsers.common import LogInfo, SolutionFile
from lipgen.parsers.record import SolveRecord

PARSERS = {"scip": scip, "gurobi": gurobi, "cplex": cplex, "highs": highs, "cbc": cbc}


def parse(solver: str, solution_path, log_path=None, result_json=None) -> SolveRecord:
    """One run's SolveRecord from its solution file (None or absent: none written), its log and, for Gurobi,
    its `.json` result file."""
    module = PARSERS.get(solver)
    if module is None:
        raise LipgenError(f"unknown solver '{solver}': use one of {', '.join(PARSERS)}")
    if result_json is not None:
        if module is not gurobi:
            raise LipgenError(f"{result_json}: only Gurobi writes a .json result file, not {solver}")
        return gurobi.read_result(solution_path, log_path, result_json)
    return module.read_result(solution_path, log_path)


__all__ = ["PARSERS", "LogInfo", "SolutionFile", "SolveRecord", "parse"]
