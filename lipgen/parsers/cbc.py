"""CBC: the `-solu` solution file and the log (CBC's stdout), docs/solvers.md 4-5 (CBC 2.10.3 as bundled with pulp)."""

from __future__ import annotations

import re

import numpy as np

from lipgen.parsers import record as rec
from lipgen.parsers.common import (NUM, LogInfo, SolutionFile, assemble, first_error, is_file, last, last_run, number,
                                   read_text, truncated)

SOLVER = "cbc"
BUG_NOTE = ("CBC said infeasible when its time limit ran out without a solution (a known CBC 2.10 fault): "
            "read as time limit without incumbent")

# First words of the solution file -> lipgen status
SOL_STATUS = {
    "Optimal": rec.OPTIMAL,
    "Optimal (within gap tolerance)": rec.GAP_LIMIT,
    "Infeasible": rec.INFEASIBLE,
    "Integer infeasible": rec.INFEASIBLE,
    "Unbounded": rec.UNBOUNDED,
    "Stopped on time": rec.TIME_LIMIT,
    "Stopped on iterations": rec.INTERRUPTED,  # iteration, node or solution limits
    "Stopped on ctrl-c": rec.INTERRUPTED,
    "Stopped on difficulties": rec.UNKNOWN,
    "Status unknown": rec.UNKNOWN,
}
NO_SOLUTION_SUFFIX = " (no integer solution - continuous used)"  # the values are the LP relaxation's

# `Result - ...` of the log -> lipgen status
RESULT = {
    "Optimal solution found": rec.OPTIMAL,
    "Optimal solution found (within gap tolerance)": rec.GAP_LIMIT,
    "Problem proven infeasible": rec.INFEASIBLE,
    "Linear relaxation infeasible": rec.INFEASIBLE,
    "Linear relaxation unbounded": rec.UNBOUNDED,
    "Stopped on time limit": rec.TIME_LIMIT,
    "Stopped on node limit": rec.NODE_LIMIT,
    "Stopped on iterations limit": rec.INTERRUPTED,
    "Stopped on solution limit": rec.INTERRUPTED,
    "Stopped on user ctrl-c": rec.INTERRUPTED,
}

_M = re.MULTILINE
_FIRST = re.compile(rf"\A(?P<words>[^\n]*?) - objective value (?P<obj>{NUM})[ \t]*\n")
_ROW = re.compile(r"^[ \t]*(?:\*\*[ \t]*)?(\d+)[ \t]+(\S+)[ \t]+(\S+)[ \t]+(\S+)[ \t]*$", _M)
_NONBLANK = re.compile(r"^[ \t]*\S", _M)

_RUN = re.compile(r"^Welcome to the CBC MILP Solver", _M)
_VERSION = re.compile(r"^Version:\s*(\S+)", _M)
_RESULT = re.compile(r"^Result - (.*?)\s*$", _M)
_OBJ = re.compile(rf"^Objective value:\s*({NUM})", _M)
_BOUND = re.compile(rf"^(?:Lower|Upper) bound:\s*({NUM})", _M)
_GAP = re.compile(rf"^Gap:\s*({NUM})", _M)
_NODES = re.compile(r"^Enumerated nodes:\s*(\d+)", _M)
_RATIO = re.compile(rf"^ratioGap was changed from {NUM} to ({NUM})", _M)
_WALL = re.compile(rf"^Time \(Wallclock seconds\):\s*({NUM})", _M | re.IGNORECASE)
_TOTAL = re.compile(rf"^Total time \(CPU seconds\):\s*{NUM}\s*\(Wallclock seconds\):\s*({NUM})", _M)
_CPU = re.compile(rf"^Time \(CPU seconds\):\s*({NUM})", _M)
_LIMIT = re.compile(rf"^seconds was changed from \S+ to ({NUM})", _M)
_NOSOL = re.compile(r"^No feasible solution found", _M)
# Logs without a `Result -` line: pure LPs and infeasibility found before branching.
_LP = re.compile(rf"^(Optimal|PrimalInfeasible|DualInfeasible) objective ({NUM})", _M)
_LP_STATUS = {"Optimal": rec.OPTIMAL, "PrimalInfeasible": rec.INFEASIBLE, "DualInfeasible": rec.UNBOUNDED}
_EARLY = ((re.compile(r"^Problem is infeasible", _M), rec.INFEASIBLE, ""),
          (re.compile(r"^Pre-processing says infeasible or unbounded", _M), rec.INFEASIBLE,
           "CBC reported infeasible or unbounded (not told apart)"))
_ERRORS = (re.compile(r"^Unable to open file.*$", _M), re.compile(r"^.*Bad image at line.*$", _M),
           re.compile(r"^.*read with [1-9]\d* errors.*$", _M), re.compile(r"^terminate called.*$", _M),
           re.compile(r"^\*\* Current model not valid.*$", _M))


def parse_solution(path) -> SolutionFile:
    """A CBC `-solu` file: a status line, then `index name value reduced-cost` lines (nonzeros only)."""
    text = read_text(path, "CBC solution file")
    if not text.strip():
        return truncated(path, "empty file")
    if not text.endswith("\n"):
        return truncated(path, "the last line is cut")
    first = _FIRST.match(text)
    if first is None:
        return truncated(path, "no '<status> - objective value <v>' first line")
    words = first.group("words")
    no_solution = words.endswith(NO_SOLUTION_SUFFIX)
    base = words[: -len(NO_SOLUTION_SUFFIX)] if no_solution else words
    status = SOL_STATUS.get(base, rec.UNKNOWN)
    rows = _ROW.findall(text, first.end())
    if len(rows) != len(_NONBLANK.findall(text, first.end())):
        return truncated(path, "a value line is not of the form 'index name value reduced-cost'")
    incumbent = not no_solution and status not in (rec.INFEASIBLE, rec.UNBOUNDED, rec.UNKNOWN)
    if not incumbent:
        return SolutionFile(status=status, raw_status=words)
    try:
        values = _values(rows)
    except ValueError as exc:
        return truncated(path, str(exc))
    return SolutionFile(status=status, objective=float(first.group("obj")), values=values, raw_status=words)


def _values(rows) -> dict[str, float]:
    """Column values; with `-printingOptions all` rows come first and the index restarts at 0 for columns."""
    if not rows:
        return {}
    index = np.array([int(r[0]) for r in rows])
    restarts = np.flatnonzero(np.diff(index) <= 0)
    start = int(restarts[-1]) + 1 if restarts.size else 0
    return {name: float(value) for _, name, value, _ in rows[start:]}


def parse_log(path) -> LogInfo:
    return parse_log_text(read_text(path, "CBC log"))


def parse_log_text(text: str) -> LogInfo:
    text = last_run(text, _RUN)
    info = LogInfo()
    if (m := last(_VERSION, text)):
        info.version = m.group(1)
    if (m := last(_OBJ, text)):
        info.primal, info.has_incumbent = number(m.group(1)), True
    if _NOSOL.search(text):
        info.primal, info.has_incumbent = None, False
    if (m := last(_BOUND, text)):
        info.dual = number(m.group(1))
    if (m := last(_GAP, text)):
        info.gap = number(m.group(1))  # CBC prints a fraction (negative for -max runs)
    if (m := last(_NODES, text)):
        info.nodes = int(m.group(1))
    if (m := last(_RATIO, text)):
        info.gap_tolerance = number(m.group(1))
    if (m := last(_WALL, text) or last(_TOTAL, text)):
        info.time = number(m.group(1))
    if (m := last(_RESULT, text)):
        info.raw_status = m.group(1)
        info.status = RESULT.get(m.group(1), rec.INTERRUPTED if m.group(1).startswith("Stopped") else rec.UNKNOWN)
        if m.group(1) == "Problem proven infeasible" and _out_of_time(text):
            info.status, info.has_incumbent, info.message = rec.TIME_LIMIT, False, BUG_NOTE
    elif (m := last(_LP, text)):
        info.raw_status, info.status = m.group(0), _LP_STATUS[m.group(1)]
        if info.status == rec.OPTIMAL:
            info.primal, info.has_incumbent = number(m.group(2)), True
    else:
        for pattern, status, note in _EARLY:
            if (m := pattern.search(text)):
                info.raw_status, info.status, info.message = m.group(0), status, note
                break
    if info.status in (rec.INFEASIBLE, rec.UNBOUNDED):
        info.primal, info.has_incumbent = None, False
    if info.status is None and (error := first_error(text, _ERRORS)):
        info.status, info.message, info.has_incumbent = rec.CRASHED, error, False
    return info


def _out_of_time(text: str) -> bool:
    """Whether CBC's CPU time reached its `-sec` limit (its time limit counts CPU seconds)."""
    limit, cpu = last(_LIMIT, text), last(_CPU, text)
    return bool(limit and cpu) and number(cpu.group(1)) >= number(limit.group(1)) - 0.01


def _status_of(sol: SolutionFile, log: LogInfo | None) -> str | None:
    """The file's status, unless the log is more precise (node limit, or the infeasible-at-time-limit fault)."""
    if log is None or log.status is None:
        return sol.status
    if sol.status == rec.OPTIMAL and log.gap_tolerance:
        # CBC prunes within its ratio gap and reports no bound: "optimal" proves only that gap
        return rec.GAP_LIMIT
    if sol.status == rec.INFEASIBLE and log.status == rec.TIME_LIMIT and log.message == BUG_NOTE:
        return rec.TIME_LIMIT
    if sol.status == rec.INTERRUPTED and log.status in (rec.NODE_LIMIT, rec.TIME_LIMIT, rec.GAP_LIMIT):
        return log.status  # the file says "Stopped on iterations" for every count limit
    return sol.status


def read_result(solution_path, log_path=None) -> rec.SolveRecord:
    """Status and values from the file (its status refined by the log's `Result -`), bound/gap/nodes/time from
    the log."""
    sol = parse_solution(solution_path) if is_file(solution_path) else None
    log = parse_log(log_path) if is_file(log_path) else None
    return assemble(SOLVER, solution_path, sol, log, status_of=_status_of)
