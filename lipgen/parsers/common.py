"""Shapes and helpers shared by the per-solver parsers: what a solution file and a log say, and how the two
are combined into one SolveRecord."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
import os
import re
from dataclasses import dataclass, field

from lipgen.errors import LipgenError
from lipgen.parsers import record as rec

# A number as solvers print it (docs/solvers.md section 5), including infinities.
NUM = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf(?:inity)?)"

# Statuses after which no incumbent is implied by the status itself.
NO_INCUMBENT = (rec.INFEASIBLE, rec.UNBOUNDED)


@dataclass
class SolutionFile:
    """What one solution file says. `objective` is None when the file holds no incumbent."""

    status: str | None = None  # None: the format has no status field (Gurobi .sol, pyscipopt's file)
    objective: float | None = None
    values: dict[str, float] = field(default_factory=dict)
    complete: bool = True  # False: cut short or unparsable (then objective is None and values empty)
    raw_status: str | None = None  # the solver's own words or code
    message: str = ""
    # Some formats carry more (Gurobi's .json, CPLEX's XML header); None when absent.
    dual: float | None = None
    gap: float | None = None
    time: float | None = None
    nodes: int | None = None
    n_solutions: int | None = None


@dataclass
class LogInfo:
    """What one log says; every field None when the log does not tell."""

    status: str | None = None
    primal: float | None = None
    dual: float | None = None
    gap: float | None = None  # fraction
    time: float | None = None
    nodes: int | None = None
    n_solutions: int | None = None
    version: str | None = None
    has_incumbent: bool | None = None  # False: the log says the run ended without any solution
    raw_status: str | None = None
    message: str = ""  # the error line for LICENSE_LIMIT / CRASHED, or a note on the status
    gap_tolerance: float | None = None  # a relative gap the solver was told it may stop at (CBC's ratioGap)


def read_text(path: str | os.PathLike, what: str) -> str:
    """A whole file as text (undecodable bytes replaced); LipgenError naming it when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", errors="replace").replace("\r\n", "\n")
    except FileNotFoundError:
        raise LipgenError(f"{path}: no such {what}") from None
    except OSError as exc:
        raise LipgenError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None


def is_file(path) -> bool:
    return path is not None and os.path.isfile(path)


def number(text: str | None, infinity: float = math.inf) -> float | None:
    """A printed number; None for '-', empty or an infinite value (|v| >= `infinity`, e.g. SCIP's 1e20)."""
    if text is None:
        return None
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or abs(value) >= infinity:
        return None
    return value


def number_floor(text: str | None, infinity: float = math.inf) -> float | None:
    """A printed number's smallest possible value: its value minus half a unit of its last printed digit.

    Logs that round a bound (CPLEX's node table prints 4 decimals) give it only to that precision; a bound
    read from them must be moved by the rounding to stay a bound.
    """
    value = number(text, infinity)
    if value is None:
        return None
    try:
        exponent = Decimal(text.strip()).as_tuple().exponent
    except InvalidOperation:
        return value
    return value - 0.5 * 10.0 ** exponent if isinstance(exponent, int) else value


def percent(text: str | None) -> float | None:
    """'0.46 %' or '53.0433%' -> fraction; None for '-', 'infinite', 'Inf'."""
    if text is None:
        return None
    value = number(text.replace("%", ""))
    return None if value is None else value / 100.0


def last(pattern: re.Pattern, text: str) -> re.Match | None:
    """The last match of `pattern` in `text` (logs may hold several solves: the last one counts)."""
    found = None
    for found in pattern.finditer(text):  # noqa: B007 (the loop only runs to the last match)
        pass
    return found


def last_run(text: str, marker: re.Pattern) -> str:
    """The part of an appended-to log from the last start-of-run marker on (all of it when none)."""
    found = last(marker, text)
    return text if found is None else text[found.start():]


def first_error(text: str, patterns: tuple[re.Pattern, ...]) -> str | None:
    """The first line matching one of `patterns`, tried in order of preference (root causes first)."""
    for pattern in patterns:
        found = pattern.search(text)
        if found:
            return found.group(0).strip()
    return None


def truncated(path, why: str) -> SolutionFile:
    return SolutionFile(complete=False, message=f"solution file {path} is cut short or unreadable: {why}")


def assemble(solver: str, solution_path, sol: SolutionFile | None, log: LogInfo | None,
             status_of=None) -> rec.SolveRecord:
    """Combine a solution file (None: missing) and a log (None: none) into a SolveRecord.

    Status comes from the solution file when it has one (`status_of(sol, log)` may refine it), else from
    the log; objective and values from the file; bound, gap, time and nodes from the file's extras or the log.
    """
    r = rec.SolveRecord(solver=solver)
    notes = []
    if log is not None:
        r.solver_version, r.dual, r.gap, r.time = log.version, log.dual, log.gap, log.time
        r.nodes, r.n_solutions = log.nodes, log.n_solutions
        if log.message:
            notes.append(log.message)
    failed = log is not None and log.status in (rec.LICENSE_LIMIT, rec.CRASHED)
    if sol is not None and not sol.complete:
        # a run that failed may leave a half-written file: the log's error is the cause
        r.status = log.status if failed else rec.TRUNCATED_SOLUTION
        notes.insert(len(notes) if failed else 0, sol.message)
    elif sol is not None:
        for name in ("dual", "gap", "time", "nodes", "n_solutions"):
            if getattr(sol, name) is not None:  # the file's numbers are exact, the log's are rounded
                setattr(r, name, getattr(sol, name))
        status = sol.status if status_of is None else status_of(sol, log)
        if status is None:
            status = log.status if log is not None and log.status is not None else rec.UNKNOWN
            if log is None:
                notes.append(f"{solution_path} has no status field and there is no log")
        r.status = status
        if sol.objective is not None:
            r.primal, r.values = sol.objective, dict(sol.values)
        if sol.message:
            notes.append(sol.message)
    elif log is None:
        r.status = rec.MISSING_SOLUTION
        notes.append(f"no solution file {solution_path} and no log")
    elif failed:
        r.status = log.status
    elif log.status is not None and (log.has_incumbent is False or log.status in NO_INCUMBENT):
        r.status = log.status  # a normal end without a solution: no file is expected
    elif log.status is None and log.has_incumbent is False:
        r.status = rec.UNKNOWN
        notes.append(f"no solution exists and the log has no status line (no solution file {solution_path})")
    else:
        r.status = rec.MISSING_SOLUTION
        said = f"; the log says {log.status or 'nothing about the status'}"
        if log.primal is not None:
            said += f" with incumbent {log.primal!r}"
        notes.insert(0, f"solution file {solution_path} is missing{said}")
    if r.primal is None:
        r.values = {}
        r.gap = None  # a gap needs an incumbent
        said_none = (sol.complete and sol.objective is None) if sol is not None else (
            log is not None and log.has_incumbent is False)
        if r.n_solutions is None and (said_none or r.status in NO_INCUMBENT):
            r.n_solutions = 0
    r.message = "; ".join(n for n in notes if n)
    return r
