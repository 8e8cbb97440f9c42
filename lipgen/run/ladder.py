"""The eps ladder of `lipgen run` (issue 20, "thin regions"): when the strict problem was solved but its certified
value stays below a solved upper problem's, an activation region thinner than about 2 eps (scaled units,
docs/formulation.md, section 4) may carry the maximum: the strict problem cannot enter it. The ladder solves
the strict problem again with eps / 10, eps / 100, ... down to EPS_FLOOR, keeps the best certified value and
stops as soon as the bounds meet.

Every rung's value counts only once certified (its point realises its pattern, recomputed in float64), so a
small eps can cost time, never soundness.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..domain import Box
from ..instance import generate
from ..network import Network
from ..parsers import record as rec
from ..results.records import Result
from .race import closed

# The smallest margin worth a rung: the solvers' feasibility tolerance (1e-6 on the scaled, order-one rows). At
# it a solver may put a point on the hyperplane it should keep eps away from (the certificate then refuses the
# point); below it the strict rows force nothing the non-strict ones do not.
EPS_FLOOR = 1e-6
EPS_STEP = 10.0  # each rung divides eps by this
LADDER_DIR = "ladder"  # work/ladder/eps-1e-05/{instances,runs}: apart from runs/, so `collect work/runs` sees no rung
SOLVED = (rec.OPTIMAL, rec.GAP_LIMIT)  # a problem solved to its optimum (within the gap)
STRICT_SOLVED = SOLVED + (rec.INFEASIBLE,)  # infeasible: eps left no region, a smaller one may


def rungs(eps: float) -> list[float]:
    """The margins below `eps`, a factor EPS_STEP apart, down to EPS_FLOOR."""
    out: list[float] = []
    while (eps := eps / EPS_STEP) >= EPS_FLOOR * (1 - 1e-9):
        out.append(float(f"{eps:.3g}"))  # 1e-05, not 1.0000000000000002e-05: the folder names say it
    return out


def rung_dir(work: Path, eps: float) -> Path:
    return work / LADDER_DIR / f"eps-{eps:.0e}"


def wanted(summary: dict, upper: Result, lower: Result, gap_tol: float | None) -> bool:
    """Whether the ladder can help: both problems solved (so the strict problem's optimum, not a time limit, is
    what stays below) and the certified bounds apart."""
    return (upper.status in SOLVED and (upper.lipschitz or {}).get("upper") is not None
            and lower.status in STRICT_SOLVED and summary.get("consistency") == "ok"
            and summary.get("best_lower") is not None and not closed(summary.get("gap"), gap_tol))


def rung_value(result: Result) -> float | None:
    """What a rung's run certifies: its realised value or its point's certificate, the larger."""
    q = result.lipschitz or {}
    return max([v for v in (q.get("lower"), q.get("certified_lower")) if v is not None], default=None)


def climb(net: Network, box: Box, work: Path, *, alpha: str, beta: str, eps: float, upper: float,
          best_lower: float, gap_tol: float | None, solve: Callable[[list[Path], Path], list[Result]],
          generate_options: dict, log: Callable[[str], None] | None = None) -> list[tuple[dict, Result]]:
    """The rungs below `eps`, each the strict problem generated into work/ladder/eps-<e>/instances and solved by
    `solve(instances, runs)`, until the certified bounds meet; per rung its record and its run."""
    out = []
    for e in rungs(eps):
        folder = rung_dir(work, e)
        written = generate(net, box, folder / "instances", alpha=alpha, beta=beta, bounds=("lower",), eps=e,
                           target="any", **generate_options)
        result = solve([written[0].path], folder / "runs")[0]
        value = rung_value(result)
        best_lower = max(best_lower, value or 0.0)
        met = closed((upper - best_lower) / upper if upper > 0 else 0.0, gap_tol)
        out.append(({"eps": e, "lower": value, "status": result.status, "time": result.time,
                     "reused": result.reused, "run_dir": result.data.get("run_dir"), "closed": met}, result))
        if log is not None:
            log(f"eps ladder: strict problem at eps={e:g}: {result.status}, certified "
                f"{'-' if value is None else f'{value:.9g}'}" + (" (the bounds meet)" if met else ""))
        if met:
            break
    return out
