"""HiGHS: the solution file (`solution_file`, raw style 0 or sparse style 4) and the log, docs/solvers.md 4-5
(HiGHS 1.15 executable and 1.16 through highspy)."""

from __future__ import annotations

import math
import re

from lipgen.parsers import record as rec
from lipgen.parsers.common import (NUM, LogInfo, SolutionFile, assemble, first_error, is_file, last, last_run, number,
                                   percent, read_text, truncated)

SOLVER = "highs"
GAP_CLOSED = 1e-9  # |primal - dual| below this (relative) counts as a closed gap
DEFAULT_REL_GAP = 1e-4  # HiGHS's mip_rel_gap, assumed when no log tells
PRUNE_ABS = 1e-6  # mip_feasibility_tolerance and mip_abs_gap by default: HiGHS prunes nodes this close to its incumbent

# HiGHS's model status words (utilModelStatusToString), the same in the file and the log
STATUS = {
    "Optimal": rec.OPTIMAL,
    "Infeasible": rec.INFEASIBLE,
    "Primal infeasible or unbounded": rec.INFEASIBLE,
    "Unbounded": rec.UNBOUNDED,
    "Time limit reached": rec.TIME_LIMIT,
    "Memory limit reached": rec.MEMORY_LIMIT,
    "Iteration limit reached": rec.INTERRUPTED,
    "Solution limit reached": rec.INTERRUPTED,  # also HiGHS's node and leaf limits
    "Bound on objective reached": rec.INTERRUPTED,
    "Target for objective reached": rec.INTERRUPTED,
    "Interrupted by user": rec.INTERRUPTED,
    "Interrupted by HiGHS": rec.INTERRUPTED,
    "Load error": rec.CRASHED,
    "Model error": rec.CRASHED,
    "Presolve error": rec.CRASHED,
    "Solve error": rec.CRASHED,
    "Postsolve error": rec.CRASHED,
    "Empty": rec.UNKNOWN,
    "Not Set": rec.UNKNOWN,
    "Unknown": rec.UNKNOWN,
}
NOTES = {"Primal infeasible or unbounded": "HiGHS reported infeasible or unbounded (not told apart)",
         "Solution limit reached": "HiGHS stopped at a solution, node or leaf limit"}
INFEASIBLE_NOTE = "HiGHS says its solution violates its tolerances"

_M = re.MULTILINE
# the solution file: header, then the primal section; `# Columns -K` marks the sparse style
_SOL_HEAD = re.compile(r"\AModel status\n(?P<words>[^\n]*)\n\n# Primal solution values\n(?P<kind>None|Feasible|"
                       r"Infeasible)\n")
_SOL_OBJ = re.compile(rf"Objective ({NUM})\n")
_SOL_EXTRA = re.compile(rf"([A-Za-z_]+) ({NUM})\n")  # HiGHS 1.16 on: Objective_bound b, MIP_rel_gap g
_SOL_COLUMNS = re.compile(r"# Columns (-?\d+)\n")
_SOL_ROWS = re.compile(r"# Rows (\d+)\n")
_DUAL_HEAD = "\n# Dual solution values\n"

_BANNER = re.compile(r"^Running HiGHS (\d+\.\d+\.\d+)", _M)
# the MIP solver's closing "Solving report" block
_REPORT = re.compile(r"^Solving report$", _M)
_STATUS = re.compile(r"^  Status +(.+?)\s*$", _M)
_PRIMAL = re.compile(rf"^  Primal bound +({NUM})\s*$", _M)
_DUAL = re.compile(rf"^  Dual bound +({NUM})\s*$", _M)
_GAP = re.compile(rf"^  Gap +({NUM}%|inf)(?: \(tolerance: ({NUM}%|inf)\))?\s*$", _M)
_SOLUTION = re.compile(r"^  Solution status +(\S+)\s*$", _M)
_TIMING = re.compile(rf"^  Timing +({NUM})\s*$", _M)
_NODES = re.compile(r"^  Nodes +(\d+)\s*$", _M)
# an LP's summary (a model without integers)
_LP_STATUS = re.compile(r"^Model status +: (.+?)\s*$", _M)
_LP_OBJ = re.compile(rf"^Objective value +: +({NUM})\s*$", _M)
_LP_TIME = re.compile(rf"^HiGHS run time +: +({NUM})\s*$", _M)
_ERRORS = (re.compile(r"^ERROR: .*$", _M), re.compile(r"^Error loading file$", _M))


def parse_solution(path) -> SolutionFile:
    """A raw (style 0: every column, then the rows) or sparse (style 4: `name value index` for nonzero columns)
    HiGHS solution file. A raw file is complete only up to its `# Dual solution values` section."""
    text = read_text(path, "HiGHS solution file")
    if not text.strip():
        return truncated(path, "empty file")
    if not text.endswith("\n"):
        return truncated(path, "the last line is cut")
    head = _SOL_HEAD.match(text)
    if head is None:
        return truncated(path, "no 'Model status' / '# Primal solution values' header")
    words, kind = head.group("words"), head.group("kind")
    status = STATUS.get(words, rec.UNKNOWN)
    out = SolutionFile(status=status, raw_status=words, message=NOTES.get(words, ""))
    pos = head.end()
    if kind == "None":
        if not text.startswith(_DUAL_HEAD, pos):
            return truncated(path, "no dual section after 'None'")
        return out
    obj = _SOL_OBJ.match(text, pos)
    if obj is None:
        return truncated(path, "no 'Objective' line")
    pos = obj.end()
    while (extra := _SOL_EXTRA.match(text, pos)):
        if extra.group(1) == "Objective_bound":
            out.dual = number(extra.group(2))
        elif extra.group(1) == "MIP_rel_gap":
            out.gap = number(extra.group(2))
        pos = extra.end()
    cols = _SOL_COLUMNS.match(text, pos)
    if cols is None:
        return truncated(path, "no '# Columns' line")
    count, pos = int(cols.group(1)), cols.end()
    sparse = count < 0
    lines = text[pos:].split("\n")
    width = 3 if sparse else 2
    rows = [line.split() for line in lines[:abs(count)]]
    if len(rows) < abs(count) or any(len(r) != width for r in rows):
        return truncated(path, f"fewer than {abs(count)} value lines of the form 'name value"
                               + (" index'" if sparse else "'"))
    try:
        values = {r[0]: float(r[1]) for r in rows}
    except ValueError as exc:
        return truncated(path, str(exc))
    if not sparse:  # raw: the row values, then the dual section must follow
        rest = "\n".join(lines[count:])
        n_rows = _SOL_ROWS.match(rest)
        if n_rows is None:
            return truncated(path, "no '# Rows' line")
        after = rest[n_rows.end():].split("\n")
        if len(after) < int(n_rows.group(1)) + 1 or not "\n".join(
                after[int(n_rows.group(1)):]).startswith(_DUAL_HEAD):
            return truncated(path, "the row values or the dual section are missing")
    out.objective, out.values = float(obj.group(1)), values
    if kind == "Infeasible":
        out.message = "; ".join(m for m in (out.message, INFEASIBLE_NOTE) if m)
    return out


def lists_every_column(path) -> bool:
    """Whether a HiGHS solution file is of the raw style (every column), not the sparse one (nonzeros only)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096).decode("utf-8", errors="replace")  # the line comes before any value
    except OSError:
        return True
    found = _SOL_COLUMNS.search(head)
    return found is None or int(found.group(1)) >= 0


def parse_log(path) -> LogInfo:
    return parse_log_text(read_text(path, "HiGHS log"))


def parse_log_text(text: str) -> LogInfo:
    """The last run of an appended-to log: the MIP `Solving report` block, or an LP's `Model status :` summary."""
    banner = last(_BANNER, text)
    info = LogInfo(version=banner.group(1) if banner else None)
    text = last_run(text, _BANNER)
    report = last(_REPORT, text)
    if report is not None:
        block = text[report.end():]
        if (m := _STATUS.search(block)):
            info.raw_status = m.group(1)
        if (m := _PRIMAL.search(block)):
            info.primal = number(m.group(1))
        if (m := _DUAL.search(block)):
            info.dual = number(m.group(1))
        if (m := _GAP.search(block)):
            info.gap = None if m.group(1) == "inf" else percent(m.group(1))
            # an infinite gap is printed without its tolerance (none is needed: no incumbent, or one of value 0)
            info.gap_tolerance = None if m.group(1) == "inf" else _tolerance(m.group(2))
        if (m := _SOLUTION.search(block)):
            info.has_incumbent = m.group(1) != "-"
        if (m := _TIMING.search(block)):
            info.time = number(m.group(1))
        if (m := _NODES.search(block)):
            info.nodes = int(m.group(1))
    elif (m := last(_LP_STATUS, text)):
        info.raw_status = m.group(1)
        if (obj := last(_LP_OBJ, text)):
            info.primal = number(obj.group(1))
        if (t := last(_LP_TIME, text)):
            info.time = number(t.group(1))
    if info.raw_status is not None:
        info.status = STATUS.get(info.raw_status, rec.UNKNOWN)
        info.message = NOTES.get(info.raw_status, "")
        if report is None:  # an LP: optimal means a solution and a closed gap, with no node pruned
            info.has_incumbent = info.status == rec.OPTIMAL
            info.dual = info.primal if info.has_incumbent else None
            info.gap_tolerance = 0.0
    if info.status in (rec.INFEASIBLE, rec.UNBOUNDED):
        info.primal, info.dual, info.has_incumbent = None, None, False
    if info.has_incumbent is False:
        info.primal, info.gap = None, None
    if info.status in (None, rec.CRASHED) and (error := first_error(text, _ERRORS)):
        info.status, info.message = rec.CRASHED, error
        info.has_incumbent = False if info.has_incumbent is None else info.has_incumbent
    return info


def _tolerance(text: str | None) -> float | None:
    """The relative gap tolerance of `Gap  x% (tolerance: t%)`, at least the one HiGHS used; 0 when the line names
    none (mip_rel_gap 0), inf for `inf`.

    HiGHS prints t = 100 g with an absolute accuracy of max(min(1e-2, g / 10), 1e-6) (getGapString), which
    %g-style printing may show with its trailing zeros dropped: g <= t / 100 * 1.01 + 1e-7 in every case."""
    if text is None:
        return 0.0
    if text == "inf":
        return math.inf
    value = percent(text)
    return None if value is None else value * 1.01 + 1e-7


def proven_bound(primal: float, dual: float, rel_tol: float) -> float | None:
    """The bound a HiGHS run proves. HiGHS prunes every node whose bound comes within its tolerances of the
    incumbent (computeNewUpperLimit: primal - max(mip_rel_gap |primal|, mip_abs_gap, feasibility tolerance)), and
    a search it finishes that way ends with the incumbent itself as its bound: only that limit is proven."""
    if math.isinf(rel_tol):
        return None
    return min(dual, primal - max(rel_tol * abs(primal), PRUNE_ABS))


def read_result(solution_path, log_path=None) -> rec.SolveRecord:
    """Status and values from the file, bound, gap, nodes and time from the log (the file's own bound and gap,
    which HiGHS 1.16 writes, take precedence). A run HiGHS calls optimal with its gap left open stopped at its
    gap tolerance (`mip_rel_gap`, 1e-4 by default): `gap_limit`. The bound is the one proven (`proven_bound`)."""
    sol = parse_solution(solution_path) if is_file(solution_path) else None
    log = parse_log(log_path) if is_file(log_path) else None
    r = assemble(SOLVER, solution_path, sol, log)
    if r.status == rec.OPTIMAL and r.primal is not None and r.dual is not None and (
            abs(r.primal - r.dual) > GAP_CLOSED * max(1.0, abs(r.primal))):
        r.status = rec.GAP_LIMIT
    if r.primal is not None and r.dual is not None:
        tol = log.gap_tolerance if log is not None and log.gap_tolerance is not None else DEFAULT_REL_GAP
        r.dual = proven_bound(r.primal, r.dual, tol)
    return r
