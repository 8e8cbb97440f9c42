"""Does a log belong to this instance and agree with itself? Checked before a log's numbers become bounds.

A log is refused when it carries none of its solver's marks (random bytes, another program's output), when
the instance files it names are all other instances, and a record is refused when its dual bound lies on the
wrong side of its primal (every lipgen instance is a minimisation: dual <= primal).
"""

from __future__ import annotations

import math
import os
import re

from lipgen.parsers import sniff

LOG_HEAD = 1 << 20  # bytes of a log searched for the instance it read (solvers name it near the top)
# an instance file name as solvers print it: after a space, quote, `<`, `/` ...
_INSTANCE_NAME = re.compile(r"([A-Za-z0-9_.+=,@%-]+\.(?:mps|lp)(?:\.gz)?)\b")
CONTRADICTION_TOL = 1e-6  # relative: a dual bound this far above the primal is a solver's rounding, not a lie


def _read_head(path: str | os.PathLike, size: int = LOG_HEAD) -> str:
    with open(path, "rb") as fh:
        return fh.read(size).decode("utf-8", errors="replace")


def _stem(name: str) -> str:
    for suffix in (".gz", ".mps", ".lp"):
        name = name.removesuffix(suffix)
    return name


def log_problem(path: str | os.PathLike, solver: str, instance: str) -> str | None:
    """Why the log at `path` cannot be read as `solver`'s log of `instance` (a file name), or None."""
    text = _read_head(path)
    if not text.strip():
        return None  # an empty log says nothing: the solution file alone decides
    if not sniff.has_log_mark(text, solver):
        return f"not a {sniff.NAMES[solver]} log (none of its marks in the first {LOG_HEAD // 1024} KB)"
    named = {m.group(1) for m in _INSTANCE_NAME.finditer(text)}
    named = {n for n in named if not n.startswith(("run.", "lipgen.", "start."))}  # lipgen's own run files
    if named and _stem(instance) not in {_stem(n) for n in named}:
        return f"a log of another instance ({sorted(named)[0]}), not of {instance}"
    return None


def record_problem(primal: float | None, dual: float | None) -> str | None:
    """Why a primal and dual bound contradict each other (the dual above the primal in a minimisation), or None."""
    if primal is None or dual is None or not (math.isfinite(primal) and math.isfinite(dual)):
        return None
    if dual > primal + CONTRADICTION_TOL * max(1.0, abs(primal)):
        return f"its dual bound {dual!r} is above its primal value {primal!r} in a minimisation: it contradicts itself"
    return None
