"""SCIP: the solution file of `write solution` / `writeBestSol` and the log (`-l` or stdout), docs/solvers.md 4-5."""

from __future__ import annotations

import re

from lipgen.parsers import record as rec
from lipgen.parsers.common import (NUM, LogInfo, SolutionFile, assemble, first_error, is_file, last, last_run, number,
                                   percent, read_text, truncated)

SOLVER = "scip"
INFINITY = 1e20  # SCIP's infinity: a bound of +-1e20 means "none"
AUXILIARY = frozenset({"qmatrixvar", "quadobjvar"})  # SCIP's variable for a quadratic objective; not ours

# SCIP's status words (the same in `SCIP Status : ... [words]` and `solution status: words`)
STATUS = {
    "optimal solution found": rec.OPTIMAL,
    "infeasible": rec.INFEASIBLE,
    "unbounded": rec.UNBOUNDED,
    "infeasible or unbounded": rec.INFEASIBLE,
    "time limit reached": rec.TIME_LIMIT,
    "memory limit reached": rec.MEMORY_LIMIT,
    "gap limit reached": rec.GAP_LIMIT,
    "node limit reached": rec.NODE_LIMIT,
    "total node limit reached": rec.NODE_LIMIT,
    "stall node limit reached": rec.NODE_LIMIT,
    "user interrupt": rec.INTERRUPTED,
    "termination signal received": rec.INTERRUPTED,
    "solution limit reached": rec.INTERRUPTED,
    "best solution limit reached": rec.INTERRUPTED,
    "solution improvement limit reached": rec.INTERRUPTED,
    "restart limit reached": rec.INTERRUPTED,
    "primal limit reached": rec.INTERRUPTED,
    "dual limit reached": rec.INTERRUPTED,
    "unknown": rec.UNKNOWN,
}
NOTES = {"infeasible or unbounded": "SCIP reported infeasible or unbounded (not told apart)"}

_M = re.MULTILINE
_SOL_STATUS = re.compile(r"^solution status:\s*(.*?)\s*$", _M)
_SOL_OBJ = re.compile(rf"^objective value:\s*({NUM})\s*$", _M)
_SOL_NONE = re.compile(r"^no solution available\s*$", _M)
_SOL_VALUE = re.compile(r"^(\S+)[ \t]+(\S+)[ \t]+\(obj:(\S+)\)[ \t]*$", _M)
_NONBLANK = re.compile(r"^[ \t]*\S", _M)

_BANNER = re.compile(r"^SCIP version (\S+)", _M)
_STATUS = re.compile(r"^SCIP Status\s*:\s*(.*?)\s*\[(.*?)\]", _M)
_TIME = re.compile(rf"^Solving Time \(sec\)\s*:\s*({NUM})", _M)
_NODES = re.compile(r"^Solving Nodes\s*:\s*(\d+)(?: \(total of (\d+) nodes in (\d+) runs\))?", _M)
_PRIMAL = re.compile(r"^Primal Bound\s*:\s*(\S+)(?:\s*\((\d+) solutions?\))?", _M)  # or "infeasible"
_DUAL = re.compile(r"^Dual Bound\s*:\s*(\S+)", _M)
_GAP = re.compile(rf"^Gap\s*:\s*({NUM}\s*%|infinite)", _M)
_ERRORS = (re.compile(r"^file <.*> not found$", _M), re.compile(r"^.*error reading file.*$", _M),
           re.compile(r"^(?:\[[^\]\n]*\] )?ERROR: .*$", _M),
           re.compile(r"^.*SCIP Error \(-?\d+\).*$", _M))


def parse_solution(path) -> SolutionFile:
    """A SCIP solution file; the auxiliary `qmatrixvar`/`quadobjvar` are left out of the values."""
    text = read_text(path, "SCIP solution file")
    if not text.strip():
        return truncated(path, "empty file")
    if not text.endswith("\n"):
        return truncated(path, "the last line is cut")
    found = _SOL_STATUS.search(text)
    words = found.group(1) if found else None
    status = None if words is None else STATUS.get(words, rec.UNKNOWN)
    expected = len(_NONBLANK.findall(text)) - (found is not None) - 1  # value lines after the header
    if _SOL_NONE.search(text):
        if expected != 0:
            return truncated(path, "unexpected lines beside 'no solution available'")
        return SolutionFile(status=status, raw_status=words, message=NOTES.get(words, ""))
    objective = _SOL_OBJ.search(text)
    if objective is None:
        return truncated(path, "no 'objective value:' line")
    rows = _SOL_VALUE.findall(text)
    if len(rows) != expected:
        return truncated(path, "a value line is not of the form 'name value (obj:c)'")
    try:
        values = {name: float(value) for name, value, _ in rows if name not in AUXILIARY}
    except ValueError as exc:
        return truncated(path, str(exc))
    return SolutionFile(status=status, objective=float(objective.group(1)), values=values, raw_status=words,
                        message=NOTES.get(words, ""))


def parse_log(path) -> LogInfo:
    return parse_log_text(read_text(path, "SCIP log"))


def parse_log_text(text: str) -> LogInfo:
    banner = last(_BANNER, text)
    info = LogInfo(version=banner.group(1) if banner else None)
    text = last_run(text, _BANNER)
    found = last(_STATUS, text)
    if found:
        info.raw_status = found.group(2)
        info.status = STATUS.get(found.group(2), rec.UNKNOWN)
        info.message = NOTES.get(found.group(2), "")
    if (m := last(_TIME, text)):
        info.time = number(m.group(1))
    if (m := last(_NODES, text)):
        info.nodes = int(m.group(2) or m.group(1))  # the total over restarts
    if (m := last(_PRIMAL, text)):
        info.primal = number(m.group(1), INFINITY)
        info.n_solutions = None if m.group(2) is None else int(m.group(2))
        info.has_incumbent = info.primal is not None and info.n_solutions != 0
    if (m := last(_DUAL, text)):
        info.dual = number(m.group(1), INFINITY)
    if (m := last(_GAP, text)):
        info.gap = None if m.group(1) == "infinite" else percent(m.group(1))
    if info.status is None and (error := first_error(text, _ERRORS)):
        info.status, info.message, info.has_incumbent = rec.CRASHED, error, False
    return info


def read_result(solution_path, log_path=None) -> rec.SolveRecord:
    """Status from the file's `solution status:` line when present (the shell writes it, pyscipopt does not)."""
    sol = parse_solution(solution_path) if is_file(solution_path) else None
    log = parse_log(log_path) if is_file(log_path) else None
    return assemble(SOLVER, solution_path, sol, log)
