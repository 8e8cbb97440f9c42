"""A MIPLIB-style .solu file: the objective values known for each instance, in the file's own (minimisation)
sense, so solver developers can check their runs with their usual tools.

Per instance, over all its accepted runs (every solver, every runs folder), leaving out runs the solution
checker rejected and runs that did not end normally:

    =opt=      NAME VALUE   best incumbent and best dual bound meet: primal - dual <= OPT_REL_TOL * max(1, |primal|)
    =best=     NAME VALUE   otherwise the best (smallest) incumbent ...
    =bestdual= NAME VALUE   ... and the best (largest) proven dual bound
    =inf=      NAME         a run proved the instance infeasible (and none found a solution)
    =unkn=     NAME         runs, but neither an incumbent nor a dual bound

Duals are the solvers' own (result.json `dual`), without the safety margin lipgen subtracts before turning
them into Lipschitz bounds; a run that stopped "optimal" (or at its gap) also proves primal - gap x |primal|
(gap: the run's relative gap option, else 1e-4), which is what CPLEX and CBC runs without a final bound
contribute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lipgen.parsers import record as rec
from lipgen.report.gather import Run
from lipgen.results import DEFAULT_GAP_TOL

OPT_REL_TOL = 1e-6
SLACK = 1e-12  # floating-point noise when a solver stops exactly at a gap of OPT_REL_TOL
INFINITE = 1e19


@dataclass
class SoluEntry:
    name: str
    kind: str  # opt | best | inf | unkn
    primal: float | None
    dual: float | None
    runs: int

    def lines(self) -> list[str]:
        if self.kind == "opt":
            return [f"=opt=  {self.name}  {_num(self.primal)}"]
        if self.kind == "inf":
            return [f"=inf=  {self.name}"]
        if self.kind == "unkn":
            return [f"=unkn=  {self.name}"]
        out = []
        if self.primal is not None:
            out.append(f"=best=  {self.name}  {_num(self.primal)}")
        if self.dual is not None:
            out.append(f"=bestdual=  {self.name}  {_num(self.dual)}")
        return out

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "primal": self.primal, "dual": self.dual, "runs": self.runs}


def _num(x: float) -> str:
    return repr(float(x))


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and abs(x) < INFINITE


def _normal(run: Run) -> bool:
    return run.result.get("status") in rec.NORMAL_END and not run.check_failed


def proven_dual(run: Run) -> float | None:
    """The dual bound a run proves (min sense), as the solver states it."""
    res = run.result
    dual = res.get("dual") if _finite(res.get("dual")) else None
    primal = res.get("primal")
    if res.get("status") in (rec.OPTIMAL, rec.GAP_LIMIT) and _finite(primal):
        gap = (res.get("options") or {}).get("gap")
        proven = primal - (DEFAULT_GAP_TOL if gap is None else gap) * abs(primal)
        dual = proven if dual is None else max(dual, proven)
    return dual


def solu_entries(runs: list[Run]) -> tuple[list[SoluEntry], list[str]]:
    """The .solu entries of every instance, and messages about runs that contradict each other."""
    by_name: dict[str, list[Run]] = {}
    for r in runs:
        by_name.setdefault(r.name, []).append(r)
    entries, messages = [], []
    for name, group in sorted(by_name.items()):
        normal = [r for r in group if _normal(r)]
        infeasible = any(r.result.get("status") == rec.INFEASIBLE for r in normal)
        feasible = [r for r in normal if r.result.get("status") != rec.INFEASIBLE]
        primals = [r.result["primal"] for r in feasible if _finite(r.result.get("primal"))]
        duals = [d for d in map(proven_dual, feasible) if d is not None]
        primal = min(primals) if primals else None
        dual = max(duals) if duals else None
        if infeasible and primal is not None:
            messages.append(f"{name}: a run says infeasible, another found a solution of value {primal!r}; "
                            "the .solu keeps the solution")
        if primal is not None and dual is not None and dual - primal > OPT_REL_TOL * max(1.0, abs(primal)):
            messages.append(f"{name}: the best dual bound {dual!r} exceeds the best incumbent {primal!r}: "
                            "the runs contradict each other")
        tol = OPT_REL_TOL * max(1.0, abs(primal)) + SLACK if primal is not None else 0.0
        if infeasible and primal is None:
            kind = "inf"
        elif primal is not None and dual is not None and abs(primal - dual) <= tol:
            kind = "opt"
        elif primal is None and dual is None:
            kind = "unkn"
        else:
            kind = "best"
        entries.append(SoluEntry(name, kind, primal, dual, len(group)))
    return entries, messages


def render_solu(entries: list[SoluEntry]) -> str:
    return "".join(line + "\n" for e in entries for line in e.lines())
