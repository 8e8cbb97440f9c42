"""lipgen-v2's values: two-solver confirmation and MIPLIB's easy / hard / open tiers, from result.json records.

A value is *confirmed* when two runs of different solvers both solved the instance, their incumbents agree
within AGREE_REL_TOL (relative to max(1, |value|)) and each run's proven dual bound reaches its own incumbent
within the same tolerance (so each dual is within twice the tolerance of the other's incumbent: a solver that
stops at its gap, with an incumbent that uses its feasibility tolerance, sits at the edge of one). Only confirmed
values are `=opt=` in v2's .solu; disagreements are listed, never averaged.

    easy  confirmed, and some run that agrees took under EASY_SECONDS, unsplit, on one machine (MIPLIB's rule)
    hard  confirmed, but only by runs over EASY_SECONDS or by split runs (a long run, a split run, or the
          two-solver confirmation of a long run); or the exact value, matched by the incumbent of a solver run
          that ran EASY_SECONDS without proving it (two solutions agree, the tree's dual confirms them: MINLPLib)
    open  not confirmed (no run solved it, or one solver's value awaits its second)

A split run is a result.json with `"split": true` (what `lipgen split` is to write); an exact region
enumeration (`"split": {"exact": true}`) counts as a solver of its own, so it can confirm one solver's value.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from lipgen.report.gather import Run
from lipgen.report.rows import LIMIT, SOLVED, outcome
from lipgen.report.solu import proven_dual

AGREE_REL_TOL = 1e-6
EASY_SECONDS = 3600.0
EASY, HARD, OPEN = "easy", "hard", "open"


def is_split(run: Run) -> bool:
    return bool(run.result.get("split"))


def family(run: Run) -> str:
    """The solver family a run counts for: its solver, or `exact` for an exact region enumeration."""
    split = run.result.get("split")
    return "exact" if isinstance(split, dict) and split.get("exact") else run.solver


def _time(run: Run) -> float:
    t = run.result.get("time")
    return float(t) if isinstance(t, (int, float)) else float("inf")


def _tol(value: float) -> float:
    # the 1e-9 covers rounding: a run stopped at relative gap AGREE_REL_TOL proves its dual exactly that far from
    # its own incumbent, and two solvers' incumbents differ in their last digits
    return (AGREE_REL_TOL + 1e-9) * max(1.0, abs(value))


def agree(a: Run, b: Run) -> bool:
    """Both incumbents within tolerance, and each run's dual bound within tolerance of its own incumbent."""
    pa, pb = a.result.get("primal"), b.result.get("primal")
    if not isinstance(pa, (int, float)) or not isinstance(pb, (int, float)):
        return False
    tol = _tol(min(pa, pb))
    da, db = proven_dual(a), proven_dual(b)
    return (abs(pa - pb) <= tol and da is not None and db is not None
            and da >= pa - tol and db >= pb - tol)


def witnesses(runs: list[Run], solved: list[Run]) -> list[tuple[Run, Run]]:
    """(exact run, solver run) pairs whose values agree, the solver's run solved or stopped by its limit."""
    exact = [r for r in solved if family(r) == "exact"]
    held = [r for r in runs if family(r) != "exact" and outcome(r) in (SOLVED, LIMIT)
            and isinstance(r.result.get("primal"), (int, float))]
    return [(e, r) for e in exact for r in held
            if abs(e.result["primal"] - r.result["primal"]) <= _tol(min(e.result["primal"], r.result["primal"]))]


@dataclass
class Tier:
    status: str
    value: float | None = None
    confirmed_by: tuple[str, ...] = ()
    run: Run | None = None  # the fastest agreeing run: how the value was obtained
    disagreements: list[str] = field(default_factory=list)
    pending: bool = False  # one solver's value, awaiting a second

    @property
    def how(self) -> str | None:
        if self.run is None:
            return None
        if is_split(self.run):
            return "exact enumeration" if family(self.run) == "exact" else "split"
        return "run" if _time(self.run) < EASY_SECONDS else "long run"


def classify(runs: list[Run]) -> Tier:
    """The tier of one instance from all its runs (every solver, every machine)."""
    solved = [r for r in runs if outcome(r) == SOLVED and isinstance(r.result.get("primal"), (int, float))]
    pairs = [(a, b) for a, b in itertools.combinations(solved, 2) if family(a) != family(b)]
    good = [(a, b) for a, b in pairs if agree(a, b)]
    agreed = {id(r) for pair in good for r in pair}
    bad = [f"{a.solver} {a.result['primal']!r} vs {b.solver} {b.result['primal']!r}" for a, b in pairs
           if not agree(a, b) and not (id(a) in agreed and id(b) in agreed)]
    if not good:
        held = [(e, r) for e, r in witnesses(runs, solved) if outcome(r) == LIMIT and _time(r) >= 0.99 * EASY_SECONDS]
        if held and not bad:
            exact = held[0][0]
            return Tier(HARD, exact.result["primal"], tuple(sorted({"exact", *(r.solver for _, r in held)})), exact)
        return Tier(OPEN, disagreements=bad, pending=bool(solved) and not bad)
    members = [r for r in solved if id(r) in agreed]
    quick = [r for r in members if not is_split(r) and _time(r) < EASY_SECONDS]
    fastest = min(quick or members, key=lambda r: (_time(r), r.solver))
    families = tuple(sorted({family(r) for r in members}))
    value = min(r.result["primal"] for r in members)  # the best incumbent, as in a .solu: never an average
    return Tier(EASY if quick else HARD, value, families, fastest, bad)


def tier_columns(tier: Tier, dates: dict[str, str]) -> dict:
    """Metadata columns saying how the value was obtained (dates: run folder -> UTC date it finished)."""
    r = tier.run
    opts = (r.result.get("options") or {}) if r else {}
    return {"status": tier.status, "value": tier.value, "confirmed_by": "+".join(tier.confirmed_by) or None,
            "how": tier.how, "solved_by": r.solver if r else None, "time": r.result.get("time") if r else None,
            "threads": opts.get("threads"), "split": (is_split(r) if r else None),
            "date": dates.get(str(r.path.parent.name)) if r else None,
            "pending_confirmation": tier.pending, "disagreements": "; ".join(tier.disagreements) or None}
