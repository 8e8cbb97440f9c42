"""Per-instance metadata in the style of MIPLIB 2017's collection table, with QPLIB's problem-type code.

    status   easy  solved by SCIP on one thread in under EASY_SECONDS (MIPLIB's rule: one hour, one core)
             hard  solved, but only by another solver or with more time or threads
             open  no run solved it (a limit stopped every run, or none was made)

"Solved" is a run's outcome as the report counts it (optimal, stopped at its gap, proven infeasible) with a
solution the checker did not reject. The QPLIB code (Furini et al., QPLIB, 2019) has three letters, objective /
variables / constraints: L linear, Q nonconvex quadratic objective; C continuous, B binary, M binary and
continuous variables; L linear, D convex quadratic, Q nonconvex quadratic constraints.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from lipgen.formulation import CONVEX_MIQCP, MILP, NONCONVEX_MIQCQP, NONCONVEX_MIQP
from lipgen.report.gather import Run
from lipgen.report.rows import SOLVED, outcome
from lipgen.report.solu import SoluEntry

EASY_SECONDS = 3600.0
EASY, HARD, OPEN = "easy", "hard", "open"
STATUS_SOLVER = "scip"


def qplib_code(problem_class: str, statistics: dict, encoding: str) -> str:
    """QPLIB's three-letter problem type of a lipgen instance (from its sidecar or manifest entry).

    lipgen's quadratic objectives maximise a sum of squares (written as a minimisation: concave, so Q); its
    only convex quadratic row is the l2 ball of the direction or covector; the quadratic encoding's rows are
    bilinear (nonconvex).
    """
    objective = "Q" if statistics.get("quadratic_objective_terms", 0) else "L"
    binaries = statistics.get("binary", 0) + statistics.get("integer", 0)
    continuous = statistics.get("continuous", 0)
    variables = "M" if binaries and continuous else ("B" if binaries else "C")
    if not statistics.get("quadratic_constraints", 0):
        constraints = "L"
    elif encoding == "quadratic":
        constraints = "Q"
    else:
        constraints = "D"
    code = objective + variables + constraints
    expected = {MILP: ("LML", "LBL", "LCL"), CONVEX_MIQCP: ("LMD", "LCD"),
                NONCONVEX_MIQP: ("QML", "QCL"), NONCONVEX_MIQCQP: ("QMD", "LMQ", "QMQ", "QCD", "LCQ", "QCQ")}
    if problem_class in expected and code not in expected[problem_class]:
        raise ValueError(f"problem class {problem_class!r} with QPLIB code {code}: the statistics do not fit")
    return code


def solved(run: Run) -> bool:
    return outcome(run) == SOLVED


@dataclass
class Status:
    status: str  # easy | hard | open
    run: Run | None  # the run that decided it (the fastest solving run), None when open
    attempts: int  # runs of the instance

    @property
    def solver(self) -> str | None:
        if self.run is None:
            return None
        return f"{self.run.solver} {self.run.result.get('solver_version') or ''}".strip()

    @property
    def time(self) -> float | None:
        return None if self.run is None else self.run.result.get("time")


def _threads(run: Run) -> int | None:
    return (run.result.get("options") or {}).get("threads")


def _time(run: Run) -> float:
    t = run.result.get("time")
    return float(t) if isinstance(t, (int, float)) else float("inf")


def instance_status(runs: list[Run]) -> Status:
    """The MIPLIB-style status of one instance from all its runs (any solver, any machine)."""
    done = sorted((r for r in runs if solved(r)), key=lambda r: (_time(r), r.solver, str(r.path)))
    easy = [r for r in done if r.solver == STATUS_SOLVER and _threads(r) in (1, None) and _time(r) < EASY_SECONDS]
    if easy:
        return Status(EASY, easy[0], len(runs))
    if done:
        return Status(HARD, done[0], len(runs))
    return Status(OPEN, None, len(runs))


COLUMNS = ("instance", "status", "variables", "binaries", "integers", "continuous", "constraints",
           "quadratic_constraints", "nonzeros", "problem_class", "qplib_code", "objective", "solu", "dual_bound",
           "solved_by", "time", "runs", "network", "norms", "domain", "bound", "encoding", "mode", "tags")


def metadata_row(name: str, description: dict | None, runs: list[Run], solu: SoluEntry | None) -> dict:
    """One instance's metadata. description: its sidecar or manifest entry (sizes and class), None if unknown."""
    d = description or {}
    st = d.get("statistics") or {}
    status = instance_status(runs)
    encoding = d.get("encoding")
    norms = d.get("norms") or {}
    norm = (f"L{norms.get('input')}" if norms.get("input") == norms.get("output")
            else f"L{norms.get('input')}to{norms.get('output')}") if norms else None
    domain = d.get("domain")
    domain = domain.get("tag") if isinstance(domain, dict) else domain
    network = d.get("network")
    network = network.get("name") if isinstance(network, dict) else network
    mode = d.get("mode") or ("backward" if str(name).endswith("-bwd") else ("forward" if encoding else None))
    row = {
        "instance": name, "status": status.status,
        "variables": st.get("variables"), "binaries": st.get("binary"), "integers": st.get("integer"),
        "continuous": st.get("continuous"), "constraints": st.get("constraints"),
        "quadratic_constraints": st.get("quadratic_constraints"), "nonzeros": st.get("nonzeros"),
        "problem_class": d.get("problem_class"),
        "qplib_code": qplib_code(d["problem_class"], st, encoding) if st and d.get("problem_class") else None,
        "objective": None if solu is None else solu.primal, "solu": None if solu is None else solu.kind,
        "dual_bound": None if solu is None or solu.kind == "opt" else solu.dual,
        "solved_by": status.solver, "time": status.time, "runs": status.attempts,
        "network": network, "norms": norm, "domain": domain, "bound": d.get("bound"), "encoding": encoding,
        "mode": mode,
    }
    row["tags"] = " ".join(str(row[k]) for k in ("network", "norms", "bound", "encoding", "mode") if row[k])
    return row


def metadata_rows(runs: list[Run], entries: list[SoluEntry]) -> list[dict]:
    """The metadata of every instance the runs solved (sizes from the sidecars the runs were checked against)."""
    by_name: dict[str, list[Run]] = {}
    for r in runs:
        by_name.setdefault(r.name, []).append(r)
    solu = {e.name: e for e in entries}
    return [metadata_row(name, next((r.sidecar for r in group if r.sidecar), None), group, solu.get(name))
            for name, group in sorted(by_name.items())]


def render_rows_csv(rows: list[dict], columns: tuple[str, ...] = COLUMNS) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow(["" if row.get(c) is None else (repr(row[c]) if isinstance(row[c], float) else row[c])
                    for c in columns])
    return buf.getvalue()
