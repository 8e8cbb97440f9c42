"""CPLEX: the XML solution file (`CPLEXSolution`) and the log, docs/solvers.md 4-5.

The log is either the callable library's (node table, `Total (root+branch&cut) = T sec.`, no status line)
or the interactive optimizer's / `lipgen-cplex`'s, which adds `MIP - <status>[:  Objective = v]`,
`Current MIP best bound = ...` and `Solution time = ...` after it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from lipgen.parsers import record as rec
from lipgen.parsers.common import (NUM, LogInfo, SolutionFile, assemble, first_error, is_file, last, last_run, number,
                                   number_floor,
                                   percent, read_text, truncated)

SOLVER = "cplex"
LICENSE_NOTE = ("the CPLEX Community Edition refused the model (at most 1000 variables and 1000 constraints, "
                "linear and quadratic counted together)")

# solution.status codes (CPX_STAT_* and CPXMIP_*) -> (lipgen status, has an incumbent)
CODES = {
    1: (rec.OPTIMAL, True), 2: (rec.UNBOUNDED, False), 3: (rec.INFEASIBLE, False), 4: (rec.INFEASIBLE, False),
    5: (rec.OPTIMAL, True), 6: (rec.UNKNOWN, True), 10: (rec.INTERRUPTED, True), 11: (rec.TIME_LIMIT, True),
    12: (rec.INTERRUPTED, True), 13: (rec.INTERRUPTED, True), 21: (rec.INTERRUPTED, True),
    22: (rec.INTERRUPTED, True), 23: (rec.UNKNOWN, True), 24: (rec.UNKNOWN, True), 25: (rec.TIME_LIMIT, True),
    101: (rec.OPTIMAL, True), 102: (rec.GAP_LIMIT, True), 103: (rec.INFEASIBLE, False),
    104: (rec.INTERRUPTED, True), 105: (rec.NODE_LIMIT, True), 106: (rec.NODE_LIMIT, False),
    107: (rec.TIME_LIMIT, True), 108: (rec.TIME_LIMIT, False), 109: (rec.CRASHED, True),
    110: (rec.CRASHED, False), 111: (rec.MEMORY_LIMIT, True), 112: (rec.MEMORY_LIMIT, False),
    113: (rec.INTERRUPTED, True), 114: (rec.INTERRUPTED, False), 115: (rec.OPTIMAL, True),
    116: (rec.MEMORY_LIMIT, True), 117: (rec.MEMORY_LIMIT, False), 118: (rec.UNBOUNDED, False),
    119: (rec.INFEASIBLE, False), 127: (rec.UNKNOWN, True), 128: (rec.INTERRUPTED, True),
    129: (rec.OPTIMAL, True), 130: (rec.OPTIMAL, True), 131: (rec.TIME_LIMIT, True),
    132: (rec.TIME_LIMIT, False), 133: (rec.UNBOUNDED, False),
}
CODE_NOTES = {4: "CPLEX reported infeasible or unbounded (not told apart)", 119: "CPLEX reported infeasible or "
              "unbounded (not told apart)", 5: "optimal with unscaled infeasibilities", 115: "optimal with unscaled "
              "infeasibilities", 6: "CPLEX stopped on numerical difficulties", 24: "first-order (local) optimum only",
              109: "CPLEX stopped on an error", 110: "CPLEX stopped on an error"}

# Words of the interactive's status line -> lipgen status, tried in order.
WORDS = (("infeasible or unbounded", rec.INFEASIBLE), ("integer infeasible", rec.INFEASIBLE),
         ("optimal", rec.OPTIMAL), ("infeasible", rec.INFEASIBLE), ("unbounded", rec.UNBOUNDED),
         ("time limit", rec.TIME_LIMIT), ("node limit", rec.NODE_LIMIT), ("memory limit", rec.MEMORY_LIMIT),
         ("out of memory", rec.MEMORY_LIMIT), ("aborted", rec.INTERRUPTED), ("limit", rec.INTERRUPTED),
         ("error", rec.CRASHED))

_M = re.MULTILINE
_RUN = re.compile(r"^Log started \(V.*$", _M)
_VERSION = re.compile(r"^Version identifier: (\S+)|^Log started \(V(\S+)\)|Interactive Optimizer (\d[\d.]*\d)", _M)
_INTERACTIVE = re.compile(r"^(?:MIP|MILP|MIQP|MIQCP|LP|QP|QCP|Dual simplex|Primal simplex|Barrier|Network) - "
                          rf"(?P<words>[^:\n]*?)(?::\s+Objective\s*=\s*(?P<obj>{NUM}))?\.?[ \t]*$", _M)
_BOUND = re.compile(rf"^Current MIP best bound\s*=\s*(?P<bound>{NUM})\s*\((?:gap\s*=\s*{NUM},\s*(?P<gap>{NUM})%"
                    r"|gap is infinite)\)", _M)
_SOLTIME = re.compile(rf"^Solution time\s*=\s*({NUM}) sec\.\s+Iterations\s*=\s*(\d+)\s+Nodes\s*=\s*(\d+)", _M)
_TOTAL = re.compile(rf"^Total \(root\+branch&cut\)\s*=\s*({NUM}) sec\.", _M)
_TIMELIMIT = re.compile(rf"^CPXPARAM_TimeLimit\s+({NUM})", _M)
_HEADER = re.compile(r"^\s*Node\s+Left\s+Objective\s+IInf\s+Best Integer\s+Best Bound", _M)
_NOSOL = re.compile(r"^CPLEX Error\s+1217:", _M)
_LICENSE = (re.compile(r"^.*CPLEX Error\s+1016:.*$", _M), re.compile(r"^.*Problem size limits exceeded.*$", _M))
_ERRORS = (re.compile(r"^.*CPLEX Error\s+(?!1217:|3020:)\d+:.*$", _M),)


def parse_solution(path) -> SolutionFile:
    """A `CPLEXSolution` XML file (or the first solution of a `CPLEXSolutions` file)."""
    text = read_text(path, "CPLEX solution file")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        return truncated(path, f"XML error ({exc})")
    if root.tag == "CPLEXSolutions":
        root = root.find("CPLEXSolution")
    header = None if root is None or root.tag != "CPLEXSolution" else root.find("header")
    if header is None:
        return truncated(path, "no CPLEXSolution header")
    try:
        code = int(header.get("solutionStatusValue"))
        objective = float(header.get("objectiveValue"))
    except (TypeError, ValueError):
        return truncated(path, "header without solutionStatusValue or objectiveValue")
    status, incumbent = CODES.get(code, (rec.UNKNOWN, True))
    variables = root.find("variables")
    if incumbent and variables is None:
        return truncated(path, "no <variables> element")
    try:
        values = {v.get("name"): float(v.get("value")) for v in (variables if incumbent else ())}
    except (TypeError, ValueError):
        return truncated(path, "a <variable> without name or value")
    nodes = header.get("MIPNodes")
    return SolutionFile(status=status, objective=objective if incumbent else None, values=values,
                        raw_status=f"{code} {header.get('solutionStatusString', '')}".strip(),
                        message=CODE_NOTES.get(code, ""), nodes=int(nodes) if nodes and nodes.isdigit() else None)


def parse_log(path) -> LogInfo:
    return parse_log_text(read_text(path, "CPLEX log"))


def parse_log_text(text: str) -> LogInfo:
    text = last_run(text, _RUN)
    info = LogInfo()
    if (m := last(_VERSION, text)):
        info.version = next(g for g in m.groups() if g)
    _node_table(text, info)
    if (m := last(_TOTAL, text)):
        info.time = number(m.group(1))
    if (m := last(_SOLTIME, text)):
        info.time, info.nodes = number(m.group(1)), int(m.group(3))
    if (m := last(_INTERACTIVE, text)):
        words = m.group("words").strip()
        info.raw_status = words
        info.status = next((s for w, s in WORDS if w in words.lower()), rec.UNKNOWN)
        if m.group("obj") is not None:
            info.primal, info.has_incumbent = number(m.group("obj")), True
        elif "no integer solution" in words.lower() or info.status in (rec.INFEASIBLE, rec.UNBOUNDED):
            info.primal, info.has_incumbent = None, False
        if "infeasible or unbounded" in words.lower():
            info.message = CODE_NOTES[119]
        if (b := _BOUND.search(text, m.end())):
            info.dual, info.gap = number(b.group("bound")), percent(b.group("gap"))
    elif (info.time is not None and (limit := last(_TIMELIMIT, text))
          and info.time >= number(limit.group(1)) - 0.01):
        # the library log has no status line; reaching the time limit is the one end it shows
            info.status, info.raw_status = rec.TIME_LIMIT, "time limit reached (from the library log's times)"
    if _NOSOL.search(text) and info.status is None:
        info.has_incumbent = False
    license_line = first_error(text, _LICENSE)
    if license_line:
        info.status, info.message, info.has_incumbent = rec.LICENSE_LIMIT, f"{LICENSE_NOTE}: {license_line}", False
    elif info.status is None and (error := first_error(text, _ERRORS)):
        info.status, info.message, info.has_incumbent = rec.CRASHED, error, False
    return info


def _node_table(text: str, info: LogInfo) -> None:
    """Incumbent, best bound and gap from the node table's last line (its bound may be blank: then None)."""
    header = last(_HEADER, text)
    if header is None:
        return
    for line in reversed(text[header.end():].splitlines()):
        parsed = node_line(line)
        if parsed is not None:
            incumbent, bound, gap = parsed
            info.primal, info.dual, info.gap = incumbent, bound, gap
            info.has_incumbent = incumbent is not None  # the Gap column shows once there is an incumbent
            return


def node_line(line: str) -> tuple[float | None, float | None, float | None] | None:
    """(incumbent, bound, gap) of one node-table line, or None when it is not one.

    Columns: Node Left Objective IInf | Best Integer, Best Bound, ItCnt, Gap. Heuristic lines (`*  12+  3 ...`)
    have no Objective, IInf or ItCnt; `cutoff`/`infeasible` nodes have no IInf; cut rounds show `Cuts: 3`
    in place of the bound; the bound may be blank.
    """
    tokens = line.strip().lstrip("*").split()
    if len(tokens) < 3 or not _count(tokens[0]) or not _count(tokens[1]):
        return None
    body = tokens[2:]
    gap = percent(body.pop()) if body[-1].endswith("%") else None
    if not tokens[0].endswith("+"):
        if body and body[-1].isdigit():
            body.pop()  # ItCnt (the bound always has decimals)
        first = body.pop(0) if body else ""
        if (number(first) is not None or first == "integral") and body and body[0].isdigit():
            body.pop(0)  # IInf
    if any(":" in t for t in body):  # cut information in the bound column
        body = body[:1] if gap is not None else []
    numbers = [number(t) for t in body]
    if None in numbers or len(numbers) > 2:
        return None
    # the bound column is rounded to a few decimals: only its rounded-down end is a bound
    bound = number_floor(body[-1]) if body and (gap is None or len(numbers) == 2) else None
    if gap is not None:
        return (numbers[0], bound, gap) if numbers else None
    return None, bound, None


def _count(token: str) -> bool:
    return token.rstrip("+").isdigit()


def read_result(solution_path, log_path=None) -> rec.SolveRecord:
    """Status, objective, values and nodes from the XML; bound, gap and time from the log."""
    sol = parse_solution(solution_path) if is_file(solution_path) else None
    log = parse_log(log_path) if is_file(log_path) else None
    r = assemble(SOLVER, solution_path, sol, log)
    if r.status == rec.OPTIMAL and r.primal is not None:
        # status 101 proves the incumbent optimal; the node table's last bound and gap are older than that
        r.dual, r.gap = r.primal, 0.0
    return r
