"""Gurobi: the `.sol` file (values, no status), the `.json` result file (status, bound, gap, ...) and the
log (`LogFile=`), docs/solvers.md 4-5. gurobi_cl and lipgen's `lipgen-gurobi-cl` print errors as `Error <code>: ...`."""

from __future__ import annotations

import json
import re
from pathlib import Path

from lipgen.parsers import record as rec
from lipgen.parsers.common import (NUM, LogInfo, SolutionFile, assemble, first_error, is_file, last, last_run, number,
                                   percent, read_text, truncated)

SOLVER = "gurobi"
GAP_CLOSED = 1e-9  # |primal - dual| below this (relative) counts as a closed gap
NO_VALUE = 1e100  # Gurobi's "undefined" (ObjVal without a solution, MIPGap without a bound)
LICENSE_NOTE = ("Gurobi's size-limited license refused the model (at most 2000 variables and 2000 constraints, "
                "and at most 200 variables once any quadratic term exists)")

# Status codes (GRB.Status) -> lipgen statuses
CODES = {
    1: rec.UNKNOWN,  # LOADED: not solved
    2: rec.OPTIMAL,
    3: rec.INFEASIBLE,
    4: rec.INFEASIBLE,  # INF_OR_UNBD
    5: rec.UNBOUNDED,
    6: rec.INTERRUPTED,  # CUTOFF
    7: rec.INTERRUPTED,  # ITERATION_LIMIT
    8: rec.NODE_LIMIT,
    9: rec.TIME_LIMIT,
    10: rec.INTERRUPTED,  # SOLUTION_LIMIT
    11: rec.INTERRUPTED,
    12: rec.UNKNOWN,  # NUMERIC
    13: rec.UNKNOWN,  # SUBOPTIMAL
    14: rec.UNKNOWN,  # INPROGRESS
    15: rec.INTERRUPTED,  # USER_OBJ_LIMIT
    16: rec.TIME_LIMIT,  # WORK_LIMIT (deterministic time)
    17: rec.MEMORY_LIMIT,
    18: rec.UNKNOWN,  # LOCALLY_OPTIMAL: not a global optimum
    19: rec.UNKNOWN,  # LOCALLY_INFEASIBLE
}
CODE_NOTES = {4: "Gurobi reported infeasible or unbounded (not told apart)",
              12: "Gurobi stopped on numerical trouble", 13: "Gurobi stopped with a sub-optimal solution "
              "(optimality tolerances not met)", 18: "Gurobi found a locally optimal solution only",
              19: "Gurobi found the model locally infeasible only"}

# The log's closing status line (prefix) -> lipgen status; longer prefixes first.
LOG_STATUS = (
    ("Optimal solution found at node", None),  # a progress line, not the end
    ("Optimal solution found", rec.OPTIMAL),
    ("Time limit reached", rec.TIME_LIMIT),
    ("Work limit reached", rec.TIME_LIMIT),
    ("Model is infeasible or unbounded", rec.INFEASIBLE),
    ("Model is infeasible", rec.INFEASIBLE),
    ("Model is unbounded", rec.UNBOUNDED),
    ("Node limit reached", rec.NODE_LIMIT),
    ("Memory limit reached", rec.MEMORY_LIMIT),
    ("Solution limit reached", rec.INTERRUPTED),
    ("Iteration limit reached", rec.INTERRUPTED),
    ("Interrupt request received", rec.INTERRUPTED),
    ("Solve interrupted", rec.INTERRUPTED),
    ("Optimization achieved user objective limit", rec.INTERRUPTED),
    ("Model objective exceeds cutoff", rec.INTERRUPTED),
    ("Objective cutoff exceeded", rec.INTERRUPTED),
    ("Optimal objective", rec.OPTIMAL),  # continuous models
    ("Infeasible or unbounded model", rec.INFEASIBLE),
    ("Infeasible model", rec.INFEASIBLE),
    ("Unbounded model", rec.UNBOUNDED),
    ("Sub-optimal termination", rec.UNKNOWN),
    ("Numerical trouble encountered", rec.UNKNOWN),
    ("Numeric error", rec.UNKNOWN),
    ("Numerical error encountered", rec.UNKNOWN),
)
_LOG_STATUS = dict(LOG_STATUS)
LOG_NOTES = {"Model is infeasible or unbounded": CODE_NOTES[4], "Infeasible or unbounded model": CODE_NOTES[4],
             "Sub-optimal termination": CODE_NOTES[13]}

_M = re.MULTILINE
_SOL_OBJ = re.compile(rf"^#\s*Objective value\s*=\s*({NUM})\s*$", _M)
_SOL_ROW = re.compile(r"^([^#\s]\S*)[ \t]+(\S+)[ \t]*$", _M)
_SOL_DATA = re.compile(r"^[ \t]*[^#\s]", _M)

_RUN = re.compile(r"^.*logging started.*$", _M)
_VERSION = re.compile(r"^Gurobi Optimizer version (\d[\w.]*)|^Gurobi (\d+\.\d+\.\d+) \(", _M)
_EXPLORED = re.compile(rf"^Explored (\d+) nodes \((\d+) simplex iterations\) in ({NUM}) seconds", _M)
_SOLVED = re.compile(rf"^Solved in \d+ iterations and ({NUM}) seconds", _M)  # continuous models
_LP_OBJ = re.compile(rf"^Optimal objective\s+({NUM})", _M)
_COUNT = re.compile(r"^Solution count (\d+)", _M)
_BEST = re.compile(rf"^Best objective ({NUM}|-), best bound ({NUM}|-), gap ({NUM}%|-)", _M)
_END = re.compile("^(" + "|".join(re.escape(p) for p, _ in LOG_STATUS) + ").*$", _M)
_LICENSE = (re.compile(r"^.*Model too large for size-limited license.*$", _M),
            re.compile(r"^.*\b(?:error|ERROR)\b\D{0,20}10010\b.*$", _M))
_ERRORS = (re.compile(r"^.*Unable to read file.*$", _M),
           re.compile(r"^.*(?:Error|ERROR|GurobiError)\s*(?:code\s*=?\s*)?\d{5}\b.*$", _M))


def parse_solution(path) -> SolutionFile:
    """A `.sol` (objective and values, no status) or a `.json` result file (status, bound, gap, ...)."""
    if Path(path).suffix.lower() == ".json":
        return parse_json(path)
    text = read_text(path, "Gurobi solution file")
    if not text.strip():
        return truncated(path, "empty file")
    if not text.endswith("\n"):
        return truncated(path, "the last line is cut")
    objective = _SOL_OBJ.search(text)
    if objective is None:
        return truncated(path, "no '# Objective value =' line")
    rows = _SOL_ROW.findall(text)
    data = len(_SOL_DATA.findall(text))
    if data == 0 or len(rows) != data:  # Gurobi lists every variable, zeros included
        return truncated(path, "value lines missing or not of the form 'name value'")
    try:
        values = {name: float(value) for name, value in rows}
    except ValueError as exc:
        return truncated(path, str(exc))
    return SolutionFile(objective=float(objective.group(1)), values=values)


def parse_json(path) -> SolutionFile:
    """Gurobi's JSON result file (`ResultFile=x.json`), written even without a solution."""
    text = read_text(path, "Gurobi JSON result file")
    try:
        data = json.loads(text)
        info = data["SolutionInfo"]
        code = int(info["Status"])
    except (ValueError, KeyError, TypeError) as exc:
        return truncated(path, f"not a complete Gurobi JSON result ({exc})")
    count = info.get("SolCount")
    objective = _defined(info.get("ObjVal"))
    if count == 0:
        objective = None
    values = {}
    if objective is not None:
        try:
            values = {v["VarName"]: float(v["X"]) for v in data.get("Vars", [])}  # zeros are left out
        except (KeyError, TypeError, ValueError) as exc:
            return truncated(path, f"bad 'Vars' entry ({exc})")
    nodes = info.get("NodeCount")
    return SolutionFile(status=CODES.get(code, rec.UNKNOWN), objective=objective, values=values, raw_status=str(code),
                        message=CODE_NOTES.get(code, ""), dual=_defined(info.get("ObjBound")),
                        gap=_defined(info.get("MIPGap")), time=_defined(info.get("Runtime")),
                        nodes=None if nodes is None else int(nodes),
                        n_solutions=None if count is None else int(count))


def _defined(value) -> float | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    return number(str(value), NO_VALUE)


def parse_log(path) -> LogInfo:
    return parse_log_text(read_text(path, "Gurobi log"))


def parse_log_text(text: str) -> LogInfo:
    text = last_run(text, _RUN)
    info = LogInfo()
    if (m := last(_VERSION, text)):
        info.version = m.group(1) or m.group(2)
    if (m := last(_EXPLORED, text)):
        info.nodes, info.time = int(m.group(1)), number(m.group(3))
    if (m := last(_SOLVED, text)):
        info.time = number(m.group(1))
    if (m := last(_LP_OBJ, text)):
        info.primal, info.has_incumbent = number(m.group(1)), True
    if (m := last(_COUNT, text)):
        info.n_solutions = int(m.group(1))
        info.has_incumbent = info.n_solutions > 0
    if (m := last(_BEST, text)):
        info.primal, info.dual, info.gap = number(m.group(1)), number(m.group(2)), percent(m.group(3))
        if info.primal is None:
            info.has_incumbent = False
    # the closing status line comes after the summary ("Explored ..." / "Solution count ...")
    tail_from = max((m.end() for m in (last(_EXPLORED, text), last(_COUNT, text), last(_SOLVED, text)) if m),
                    default=0)
    for m in _END.finditer(text, tail_from):
        prefix = m.group(1)
        status = _LOG_STATUS[prefix]
        if status is not None:
            info.status, info.raw_status = status, m.group(0).strip()
            info.message = LOG_NOTES.get(prefix, "")
            break
    if (line := first_error(text, _LICENSE)):
        info.status, info.message, info.has_incumbent = rec.LICENSE_LIMIT, f"{LICENSE_NOTE}: {line}", False
    elif info.status is None and (line := first_error(text, _ERRORS)):
        info.status, info.message, info.has_incumbent = rec.CRASHED, line, False
    return info


def read_result(solution_path, log_path=None, result_json=None) -> rec.SolveRecord:
    """Status, bound, gap, nodes and time from the `.json` when given (exact), else from the log;
    values from the `.sol` (all variables) or else the `.json` (nonzeros only)."""
    if solution_path is not None and Path(solution_path).suffix.lower() == ".json" and (
            result_json is None or Path(result_json) == Path(solution_path)):
        solution_path, result_json = None, solution_path  # only the .json was given
    sol = parse_solution(solution_path) if is_file(solution_path) else None
    res = parse_json(result_json) if is_file(result_json) else None
    log = parse_log(log_path) if is_file(log_path) else None
    merged = _merge(sol, res)
    r = assemble(SOLVER, solution_path if solution_path is not None else result_json, merged, log)
    if r.status == rec.OPTIMAL and r.primal is not None and r.dual is not None and (
            abs(r.primal - r.dual) > GAP_CLOSED * max(1.0, abs(r.primal))):
        # Gurobi says "optimal" whenever MIPGap is reached; a gap left open is the gap limit
        r.status = rec.GAP_LIMIT
    return r


def _merge(sol: SolutionFile | None, res: SolutionFile | None) -> SolutionFile | None:
    if sol is None or res is None:
        return sol or res
    if not sol.complete:
        return sol
    if not res.complete:  # the .sol alone still holds the solution; status then comes from the log
        sol.message = res.message
        return sol
    res.objective, res.values = sol.objective, sol.values
    return res
