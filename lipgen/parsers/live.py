"""What a solver's log says while the solver runs: its latest incumbent, best bound and gap (min sense).

`LogFollower(solver, path).update()` reads only what the log gained since the last call, so following a
log that grows for hours costs little. The final numbers always come from the finished run's files
(`parsers.parse`); these are for the progress display only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from lipgen.parsers.common import NUM, number, percent
from lipgen.parsers.cplex import node_line as cplex_node_line

READ_AT_MOST = 1 << 20  # bytes per update: a log that grew more than this is read from its last MB
SCIP_INFINITY = 1e20
CBC_NONE = 1e50  # CBC's "no solution" incumbent

_CBC_NODES = re.compile(rf"^Cbc0010I After \d+ nodes, \d+ on tree, ({NUM}) best solution, best possible ({NUM})")
_CBC_SOLUTION = re.compile(rf"^Cbc00(?:04|12)I Integer solution of ({NUM})")
_CPLEX_HEADER = re.compile(r"^\s*Node\s+Left\s+Objective\s+IInf\s+Best Integer\s+Best Bound")
# HiGHS's node table: [source letter] Proc. InQueue Leaves Expl.% BestBound BestSol Gap Cuts InLp Confl. LpIters Time
_HIGHS_NODE = re.compile(r"^ ?[A-Za-z]?\s+\d+\s+\d+\s+\d+\s+\d+\.\d+%\s+(\S+)\s+(\S+)\s+(\S+)\s+\d+\s+\d+\s+\d+\s+\d+"
                         r"\s+\d+(?:\.\d+)?s\s*$")


@dataclass
class LiveBounds:
    primal: float | None = None  # incumbent objective
    dual: float | None = None  # best bound
    gap: float | None = None  # relative, as a fraction

    def relative_gap(self) -> float | None:
        """The solver's gap, else |primal - dual| / |primal| when both are known."""
        if self.gap is not None:
            return self.gap
        if self.primal is None or self.dual is None:
            return None
        return abs(self.primal - self.dual) / max(abs(self.primal), 1e-10)


class LogFollower:
    def __init__(self, solver: str, path: str | os.PathLike):
        self.solver, self.path = solver, path
        self.offset = 0
        self.partial = ""
        self.bounds = LiveBounds()
        self.columns: dict[str, int] | None = None  # SCIP: where its table's columns are; CPLEX: table seen
        self._line = {"scip": self._scip, "gurobi": self._gurobi, "cplex": self._cplex, "highs": self._highs,
                      "cbc": self._cbc}[solver]

    def update(self) -> LiveBounds:
        try:
            with open(self.path, "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                if size < self.offset:  # rewritten: start over
                    self.offset, self.partial = 0, ""
                if size - self.offset > READ_AT_MOST:
                    self.offset, self.partial = size - READ_AT_MOST, ""
                fh.seek(self.offset)
                data = fh.read(size - self.offset)
        except OSError:
            return self.bounds
        self.offset += len(data)
        lines = (self.partial + data.decode("utf-8", errors="replace")).split("\n")
        self.partial = lines.pop()
        for line in lines:
            self._line(line.rstrip("\r"))
        return self.bounds

    # -- one line of each solver's log ----------------------------------------------------------------------
    def _scip(self, line: str) -> None:
        if "|" not in line:
            return
        cells = [c.strip() for c in line.split("|")]
        if "dualbound" in cells and "primalbound" in cells:
            self.columns = {name: cells.index(name) for name in ("dualbound", "primalbound", "gap") if name in cells}
            self.columns["width"] = len(cells)
            return
        if self.columns is None or len(cells) != self.columns["width"]:
            return
        b = self.bounds
        b.dual = number(cells[self.columns["dualbound"]], SCIP_INFINITY)
        b.primal = number(cells[self.columns["primalbound"]], SCIP_INFINITY)
        b.gap = percent(cells[self.columns["gap"]]) if "gap" in self.columns else None

    def _gurobi(self, line: str) -> None:
        # node lines: ... | Incumbent BestBd Gap | It/Node Time, e.g. "H    0     0   6.13   6.28  2.36%   -   0s"
        tokens = line.split()
        if len(tokens) < 6 or not re.fullmatch(r"\d+s", tokens[-1]):
            return
        explored = tokens[1] if tokens[0] in ("H", "*") else tokens[0].lstrip("H*")
        if not explored.isdigit():
            return
        incumbent, bound, gap = tokens[-5], tokens[-4], tokens[-3]
        if bound != "-" and number(bound) is None:
            return
        self.bounds = LiveBounds(primal=number(incumbent), dual=number(bound), gap=percent(gap))

    def _cplex(self, line: str) -> None:
        if _CPLEX_HEADER.match(line):
            self.columns = {}
            return
        if self.columns is None:
            return
        parsed = cplex_node_line(line)
        if parsed is not None:
            incumbent, bound, gap = parsed
            b = self.bounds
            b.primal = incumbent if incumbent is not None else b.primal
            b.dual = bound if bound is not None else b.dual
            b.gap = gap if gap is not None else b.gap

    def _highs(self, line: str) -> None:
        if (m := _HIGHS_NODE.match(line)):  # -inf / inf: no bound or no incumbent yet; gap "Large" or "inf"
            self.bounds = LiveBounds(primal=number(m.group(2)), dual=number(m.group(1)), gap=percent(m.group(3)))

    def _cbc(self, line: str) -> None:
        if (m := _CBC_NODES.match(line)):
            self.bounds.primal = number(m.group(1), CBC_NONE)
            self.bounds.dual = number(m.group(2), CBC_NONE)
            self.bounds.gap = None
        elif (m := _CBC_SOLUTION.match(line)):
            self.bounds.primal = number(m.group(1), CBC_NONE)
            self.bounds.gap = None
