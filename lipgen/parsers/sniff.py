"""Which solver wrote a file, from its first bytes: tells a wrong `--solver` or a foreign file from a cut one."""

from __future__ import annotations

import os
import re

from lipgen.parsers.common import NUM

NAMES = {"scip": "SCIP", "gurobi": "Gurobi", "cplex": "CPLEX", "highs": "HiGHS", "cbc": "CBC"}
HEAD = 4096  # bytes looked at

# How each solver's solution file starts (first non-blank line).
_SOLUTION_STARTS = {
    "scip": (re.compile(r"solution status:"), re.compile(r"objective value:"), re.compile(r"no solution available")),
    "gurobi": (re.compile(r"# Solution for model"), re.compile(r"# Objective value ="),
               re.compile(r'\{\s*"SolutionInfo"')),
    "cplex": (re.compile(r"<\?xml.*\n?.*<CPLEXSolution", re.S), re.compile(r"<CPLEXSolutions?\b")),
    "highs": (re.compile(r"Model status\n"),),  # the raw and sparse styles lipgen reads
    "cbc": (re.compile(rf"[^\n]* - objective value {NUM}"),),
}
# Text that only one solver's log has.
_LOG_MARKS = {
    "scip": re.compile(r"^SCIP version \d", re.M),
    "gurobi": re.compile(r"^Gurobi Optimizer version|^Gurobi \d+\.\d+\.\d+ \(|^Set parameter \w+ to value", re.M),
    "cplex": re.compile(r"IBM\(R\) ILOG\(R\) CPLEX|^Version identifier: \d|^Log started \(V\d|^CPXPARAM_", re.M),
    "highs": re.compile(r"^Running HiGHS \d+\.\d+\.\d+", re.M),
    "cbc": re.compile(r"^Welcome to the CBC MILP Solver|^Coin0506I|^Cbc\d{4}I", re.M),
}
# The full first words each format starts with, to recognise a file cut inside them.
_PREFIXES = {"scip": ("solution status:", "objective value:", "no solution available"),
             "gurobi": ("# Solution for model", "# Objective value =", '{ "SolutionInfo"'),
             "cplex": ("<?xml version", "<CPLEXSolution"), "highs": ("Model status",)}


def _head(path: str | os.PathLike) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read(HEAD)
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n")


def solution_kind(path: str | os.PathLike) -> str | None:
    """The solver whose solution file this looks like; None when empty or not recognised."""
    text = _head(path).lstrip()
    if not text:
        return None
    for solver, starts in _SOLUTION_STARTS.items():
        if any(p.match(text) for p in starts):
            return solver
    if "\n" not in text:  # a single, unfinished line: possibly a header cut short
        for solver, words in _PREFIXES.items():
            if any(w.startswith(text) for w in words):
                return solver
    return None


def log_kind(path: str | os.PathLike) -> str | None:
    """The one solver whose marks this log carries; None when none or several do."""
    text = _head(path)
    found = [s for s, mark in _LOG_MARKS.items() if mark.search(text)]
    return found[0] if len(found) == 1 else None


def is_empty(path: str | os.PathLike) -> bool:
    return not _head(path).strip()


def has_log_mark(text: str, solver: str) -> bool:
    """Whether `text` (a log's beginning) carries a mark that only `solver`'s logs have."""
    return _LOG_MARKS[solver].search(text) is not None
