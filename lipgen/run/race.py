"""`lipgen run --mode race`: the upper problem in both modes at once, the first proof stops the rest.

Both modes' upper problems bound the same L: they share the forward pass (x, z, a, s), so both take the
maximum of ||J_s|| over the same patterns. Once one ends optimal (or at its gap limit), the other cannot
report a bound better by more than the gap tolerance: it is stopped. The lower (strict) problem runs once, in
the mode `auto` takes: its optimum is the same in both modes, and a fourth solver on a small machine would slow
the racers; it is stopped too once the certified bounds meet (a proof), as in a plain run. Stopped runs are
recorded as interrupted (redone, never reused, by a later run).
"""

from __future__ import annotations

from ..parsers import record as rec
from ..results.bounds import combine
from ..results.records import Result

RACE = "race"
# a proof: the certified upper bound and the certified lower bound meet within the solver's relative gap plus
# this: the widening of a dual bound (1e-6 absolute and relative on an order-one scaled objective) keeps even an
# exact answer a little apart
GAP_SLACK = 1e-5
DEFAULT_PROOF_GAP = 1e-4  # the gap tolerance when the solver's is unknown (CPLEX's default)
WON = (rec.OPTIMAL, rec.GAP_LIMIT)  # an upper run ending so has the non-strict problem's optimum


def proof_gap(gap_tol: float | None) -> float:
    """The relative gap at which the certified bounds count as met."""
    return (DEFAULT_PROOF_GAP if gap_tol is None else gap_tol) + GAP_SLACK


def closed(gap: float | None, gap_tol: float | None) -> bool:
    """Whether a relative gap between certified bounds is a proof of L (within the tolerances)."""
    return gap is not None and gap <= proof_gap(gap_tol)


def best_lower_quantities(results: list[dict | None]) -> dict | None:
    """The lipschitz quantities of the lower run with the best certified value (None: none has one)."""
    los = [r["lipschitz"] for r in results if r and r["bound"] == "lower" and r.get("lipschitz")]
    return max(los, key=lambda q: max(q.get("lower") or 0.0, q.get("certified_lower") or 0.0), default=None)


class ProofJudge:
    """`solve_all(..., judge=ProofJudge(sidecars, gap))`: called as each run ends, names the runs to stop: a race's
    other upper runs once one ends with the optimum, and in any run the strict (lower) problems once the certified
    bounds meet (the upper run's own solution, certified in its region, often proves L at once)."""

    def __init__(self, sidecars: list[dict], gap_tol: float | None):
        self.modes = {sc["instance"]: sc["mode"] for sc in sidecars if sc["bound"] == "upper"}
        self.lowers = [sc["instance"] for sc in sidecars if sc["bound"] == "lower"]
        self.anchors = sidecars[0]["anchors"]
        self.gap_tol = gap_tol
        self.ended: dict[str, dict] = {}
        self.first: str | None = None  # the mode whose upper run ended first with the optimum

    def __call__(self, result: dict) -> dict[str, str]:
        self.ended[result["instance"]] = result
        q = result.get("lipschitz") or {}
        if result["bound"] != "upper" or result["status"] not in WON or q.get("upper") is None:
            return {}
        mode = self.modes[result["instance"]]
        self.first = self.first or mode
        stop = {name: f"the {mode} upper problem ended {result['status']} first" for name in self.modes
                if name not in self.ended}
        summary = combine(q, best_lower_quantities(list(self.ended.values())), self.anchors)
        certs = [(r.get("lipschitz") or {}).get("certified_lower") for r in self.ended.values()]
        lower = max([v for v in certs + [summary["best_lower"]] if v is not None], default=None)
        if lower is not None and summary["upper"] and closed((summary["upper"] - lower) / summary["upper"],
                                                              self.gap_tol):
            stop.update({name: f"the bounds met when the {mode} upper problem ended (L proved within the gap)"
                         for name in self.lowers if name not in self.ended})
        return stop


def pick_upper(uppers: list[Result]) -> Result:
    """The upper run whose bound is reported: the smallest certified upper bound (both bound the same L); else
    one whose bound awaits a second solver; else the first."""
    certified = [r for r in uppers if (r.lipschitz or {}).get("upper") is not None]
    if certified:
        return min(certified, key=lambda r: r.lipschitz["upper"])  # type: ignore[index]
    return next((r for r in uppers if (r.lipschitz or {}).get("upper_unverified") is not None), uppers[0])


def race_record(uppers: list[Result], sidecars: dict[str, dict], chosen: Result) -> dict:
    """The summary's `race`: per mode its status, certified upper bound and time, and which mode won."""
    out: dict = {}
    for r in uppers:
        mode = sidecars[r.instance]["mode"]
        out[mode] = {"status": r.status, "status_text": r.status_text, "upper": (r.lipschitz or {}).get("upper"),
                     "time": r.time, "wall_time": r.data.get("wall_time"), "run_dir": r.data.get("run_dir"),
                     "stopped": r.status == rec.INTERRUPTED, "reused": r.reused, "instance": r.instance}
    out["winner"] = sidecars[chosen.instance]["mode"] if (chosen.lipschitz or {}).get("upper") is not None else None
    return out
