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

from dataclasses import dataclass
from pathlib import Path

from lipgen.errors import LipgenError
from lipgen.parsers import record as rec
from lipgen.report.gather import Run
from lipgen.results.bounds import DEFAULT_GAP_TOL

OPT_REL_TOL = 1e-6
SLACK = 1e-12  # floating-point noise when a solver stops exactly at a gap of OPT_REL_TOL


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


def _normal(run: Run) -> bool:
    return run.result.get("status") in rec.NORMAL_END and not run.check_failed


def proven_dual(run: Run) -> float | None:
    """The dual bound a run proves (min sense), as the solver states it."""
    res = run.result
    dual = res.get("dual") if rec.finite(res.get("dual")) else None
    primal = res.get("primal")
    if res.get("status") in (rec.OPTIMAL, rec.GAP_LIMIT) and rec.finite(primal):
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
        primals = [r.result["primal"] for r in feasible if rec.finite(r.result.get("primal"))]
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


# -------------------------------------------------------------------------------- comparing with a known .solu

COMPARE_REL_TOL = 1e-5  # relative to max(1, |known value|): two runs that each stopped at a gap of 1e-6 agree
OK, CONSISTENT, FAIL, BETTER, UNKNOWN = "ok", "consistent", "fail", "better", "unknown"


def read_solu(path) -> dict[str, SoluEntry]:
    """A MIPLIB-style .solu file (=opt=, =best=, =bestdual=, =inf=, =unkn=; other lines are ignored)."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LipgenError(f"--solu {path}: cannot read it ({exc.__class__.__name__})") from None
    found: dict[str, SoluEntry] = {}
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if not parts or not parts[0].startswith("=") or not parts[0].endswith("="):
            continue
        kind = parts[0].strip("=")
        if kind not in ("opt", "best", "bestdual", "inf", "unkn") or len(parts) < 2:
            raise LipgenError(f"--solu {path}, line {number}: not a .solu line: {line.strip()!r}")
        name = parts[1]
        value = None
        if kind in ("opt", "best", "bestdual"):
            try:
                value = float(parts[2])
            except (IndexError, ValueError):
                raise LipgenError(f"--solu {path}, line {number}: {parts[0]} needs a number: "
                                  f"{line.strip()!r}") from None
        e = found.setdefault(name, SoluEntry(name, "unkn", None, None, 0))
        if kind == "opt":
            e.kind, e.primal, e.dual = "opt", value, value
        elif kind == "best":
            e.primal, e.kind = value, "best" if e.kind != "opt" else e.kind
        elif kind == "bestdual":
            e.dual, e.kind = value, "best" if e.kind != "opt" else e.kind
        elif kind == "inf":
            e.kind = "inf"
    return found


def compare_entry(ours: SoluEntry, known: SoluEntry | None) -> tuple[str, str]:
    """(verdict, why) for one instance, as SCIP's check scripts judge a run against the .solu:

    fail        a solution better than a proven bound, a bound beyond a known solution, or feasibility disputed
    ok          solved, and the value is the known one within COMPARE_REL_TOL
    better      no contradiction, and a bound better than the known ones (the .solu can be improved)
    consistent  no contradiction (a run stopped by a limit, or nothing to compare)
    unknown     the .solu does not know the instance
    """
    if known is None or known.kind == "unkn":
        return UNKNOWN, "not in the .solu"
    if known.kind == "inf" or ours.kind == "inf":
        if known.kind == ours.kind:
            return OK, "infeasible, as known"
        if known.kind == "inf" and ours.primal is not None:
            return FAIL, f"the .solu says infeasible, a run found {ours.primal!r}"
        if ours.kind == "inf" and known.primal is not None:
            return FAIL, f"a run says infeasible, the .solu has a solution of value {known.primal!r}"
        return CONSISTENT, "no value to compare"
    ref = known.primal if known.primal is not None else known.dual
    tol = COMPARE_REL_TOL * max(1.0, abs(ref))
    if ours.primal is not None and known.dual is not None and ours.primal < known.dual - tol:
        return FAIL, f"solution {ours.primal!r} below the known dual bound {known.dual!r}"
    if ours.dual is not None and known.primal is not None and ours.dual > known.primal + tol:
        return FAIL, f"dual bound {ours.dual!r} above the known solution {known.primal!r}"
    if ours.kind == "opt" and known.kind == "opt":
        return OK, f"optimal {ours.primal!r}, known {known.primal!r}"
    if (ours.primal is not None and (known.primal is None or ours.primal < known.primal - tol)) or \
            (ours.dual is not None and (known.dual is None or ours.dual > known.dual + tol)):
        return BETTER, "tighter than the .solu"
    return CONSISTENT, "within the known bounds"


def compare(entries: list[SoluEntry], known: dict[str, SoluEntry]) -> list[dict]:
    """One row per instance of `entries`: our value and bound, the known ones, the verdict."""
    out = []
    for e in entries:
        k = known.get(e.name)
        verdict, why = compare_entry(e, k)
        out.append({"instance": e.name, "verdict": verdict, "kind": e.kind, "primal": e.primal, "dual": e.dual,
                    "known_kind": None if k is None else k.kind, "known_primal": None if k is None else k.primal,
                    "known_dual": None if k is None else k.dual, "why": why})
    return out
