"""One row per network x norms x domain x encoding x mode x solver, from the upper- and lower-bound runs.

A run's outcome, as SCIP's check scripts count them: `solved` (optimal, stopped at the requested gap,
or proven infeasible, with the bound it is meant to give), `limit` (time, node or memory limit,
interrupted) or `fail` (killed, crashed, no or cut solution file, refused by a license, a solution the
checker rejected, ...). A row is `fail` when one of its runs failed or its bounds contradict each
other, `solved` when all its runs are solved, `limit` otherwise. Time and nodes of a row are the sums
over its runs: the effort for its bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from lipgen.instance import norm_tag
from lipgen.parsers import record as rec
from lipgen.report.gather import Run
from lipgen.results.bounds import combine
from lipgen.run.race import closed

SOLVED, LIMIT, FAIL = "solved", "limit", "fail"
SOLVED_STATUSES = (rec.OPTIMAL, rec.GAP_LIMIT, rec.INFEASIBLE)
LIMIT_STATUSES = (rec.TIME_LIMIT, rec.NODE_LIMIT, rec.MEMORY_LIMIT, rec.INTERRUPTED)
BEST_REL_TOL = 1e-9  # solvers whose bounds are this close to the best one share the "best" mark


def outcome(run: Run) -> str:
    r = run.result
    status = r.get("status")
    if run.check_failed:
        return FAIL
    if status in SOLVED_STATUSES:
        if status == rec.INFEASIBLE:
            return SOLVED
        q = r.get("lipschitz") or {}
        wanted = q.get("upper") if r.get("bound") == "upper" else q.get("lower")
        return SOLVED if wanted is not None else FAIL  # "optimal" without its bound: something went wrong
    return LIMIT if status in LIMIT_STATUSES else FAIL


def group_key(run: Run) -> str:
    """The instance stem without its bound kind: `net__L2__box-1a2b__bigm` pairs the upper and lower problems."""
    parts = run.name.split("__")
    bound = str(run.result.get("bound"))
    if len(parts) >= 2 and parts[-2] == bound:
        del parts[-2]
    elif bound in parts:
        del parts[len(parts) - 1 - parts[::-1].index(bound)]
    return "__".join(parts)


def run_mode(run: Run) -> str:
    """forward or backward: the sidecar's `mode`, else the instance name's encoding tag (`-bwd` for backward)."""
    mode = (run.sidecar or {}).get("mode")
    if mode in ("forward", "backward"):
        return str(mode)
    return "backward" if run.name.split("__")[-1].endswith("-bwd") else "forward"


def norms_tag(norms: dict | None) -> str:
    """The instance name's norm tag (L2, L1toinf) of a result's norms; `?` for a missing one."""
    norms = norms or {}
    return norm_tag(norms.get("input", "?"), norms.get("output", "?"))


def _quantities(run: Run | None) -> dict | None:
    """The run's Lipschitz quantities, or None when the run may not give a bound (check failed)."""
    if run is None or run.check_failed:
        return None
    q = run.result.get("lipschitz")
    if not isinstance(q, dict) or not q:  # an interrupted or refused run: no quantity at all
        return None
    return {"upper": None, "lower": None, "certified_lower": None, "bound": run.result.get("bound"), **q}


def _sum(values) -> float | None:
    vals = [v for v in values if rec.finite(v)]
    return sum(vals) if vals else None


@dataclass
class Row:
    group: str
    network: str
    norms: str
    domain: str
    encoding: str
    problem_class: str
    solver: str
    mode: str  # forward | backward (split for a `lipgen split` row): two rows of one network x norms x domain x encoding may differ only by it
    solver_version: str | None
    upper: float | None  # the best valid upper bound: the solver's (MIP dual bound) or the naive one
    upper_mip: float | None  # the solver's own upper bound
    upper_source: str | None
    lower: float | None  # the strict problem's value at the solution
    certified_lower: float | None  # the solver's certified lower bound
    best_lower: float | None  # certified lower or the sampled anchor, whichever is larger
    lower_source: str | None
    gap: float | None  # (upper - best_lower) / upper
    consistency: str  # ok | inconsistent (an upper bound below a certified lower one)
    status: str  # solved | limit | fail
    statuses: dict  # bound kind -> the run's own status
    time: float | None
    nodes: int | None
    wall_time: float | None
    checked: str  # ok | failed | not checked | partly
    runs: dict = field(default_factory=dict)  # bound kind -> result.json path
    best_upper: bool = False
    best_certified_lower: bool = False

    @property
    def benchmark(self) -> str:
        return f"{self.norms}-{self.encoding}"

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["benchmark"] = self.benchmark
        return d


def _checked(runs: list[Run]) -> str:
    states = {("failed" if r.check_failed else "ok") if isinstance(r.result.get("check"), dict) else "not checked"
              for r in runs}
    return states.pop() if len(states) == 1 else ("failed" if "failed" in states else "partly")


def make_rows(pairs: dict[tuple[str, str], dict[str, Run]]) -> list[Row]:
    """pairs: (group, solver) -> {bound kind: run}."""
    rows = []
    for (group, solver), by_kind in sorted(pairs.items()):
        runs = [by_kind[k] for k in ("upper", "lower") if k in by_kind]
        first = runs[0]
        sidecar = next((r.sidecar for r in runs if r.sidecar), None) or {}
        summary = combine(_quantities(by_kind.get("upper")), _quantities(by_kind.get("lower")),
                          sidecar.get("anchors") or {})
        consistency = summary.get("consistency", "ok")
        proved = consistency == "ok" and closed(summary.get("gap"), None)
        # a strict problem lipgen stopped once the bounds met (lipgen/run/race.py) did its part
        outcomes = [SOLVED if proved and r.result.get("stopped_by") == "lipgen" else outcome(r) for r in runs]
        status = FAIL if FAIL in outcomes or consistency != "ok" else \
            SOLVED if all(o == SOLVED for o in outcomes) else LIMIT
        times = [r.result.get("time") if rec.finite(r.result.get("time")) else r.result.get("wall_time") for r in runs]
        nodes = _sum(r.result.get("nodes") for r in runs)
        rows.append(Row(
            group=group, network=str(first.result.get("network") or group.split("__")[0]),
            norms=norms_tag(first.result.get("norms")), domain=str(first.result.get("domain") or "?"),
            encoding=str(first.result.get("encoding") or "?"), mode=run_mode(first),
            problem_class=str((by_kind.get("upper") or first).result.get("problem_class") or "?"),
            solver=solver, solver_version=next((r.result.get("solver_version") for r in runs
                                                if r.result.get("solver_version")), None),
            upper=summary["upper"], upper_mip=summary.get("upper_mip", summary["upper"]),
            upper_source=summary.get("upper_source"), lower=summary["lower"],
            certified_lower=summary["certified_lower"], best_lower=summary["best_lower"],
            lower_source=summary.get("lower_source"), gap=summary["gap"], consistency=consistency, status=status,
            statuses={k: r.result.get("status") for k, r in by_kind.items()},
            time=_sum(times), nodes=None if nodes is None else int(nodes),
            wall_time=_sum(r.result.get("wall_time") for r in runs), checked=_checked(runs),
            runs={k: str(r.path) for k, r in by_kind.items()}))
    mark_best(rows)
    return rows


def mark_best(rows: list[Row]) -> None:
    """Flag, per network x norms x domain x encoding, the solvers with the best upper and certified lower bound."""
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.group, []).append(r)
    for group in groups.values():  # the solvers' own bounds: a naive or sampled anchor is nobody's merit
        uppers = [r.upper_mip for r in group if r.upper_mip is not None]
        lowers = [r.certified_lower for r in group if r.certified_lower is not None]
        for r in group:
            if uppers and r.upper_mip is not None:
                r.best_upper = r.upper_mip <= min(uppers) + BEST_REL_TOL * abs(min(uppers))
            if lowers and r.certified_lower is not None:
                r.best_certified_lower = r.certified_lower >= max(lowers) - BEST_REL_TOL * abs(max(lowers))


def best_solvers(rows: list[Row]) -> list[dict]:
    """Per network x norms x domain x encoding: which solvers gave the best bounds."""
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.group, []).append(r)
    return [{"group": g, "network": rs[0].network, "norms": rs[0].norms, "domain": rs[0].domain,
             "encoding": rs[0].encoding,
             "best_upper": sorted(r.solver for r in rs if r.best_upper),
             "best_certified_lower": sorted(r.solver for r in rs if r.best_certified_lower)}
            for g, rs in sorted(groups.items())]


def shifted_geometric_mean(values: list[float], shift: float) -> float | None:
    """(prod (v_i + shift))^(1/n) - shift, the mean SCIP's check scripts report (robust to tiny values)."""
    vals = [max(float(v), 0.0) for v in values if rec.finite(v)]
    if not vals:
        return None
    return math.exp(sum(math.log(v + shift) for v in vals) / len(vals)) - shift


TIME_SHIFT = 1.0  # seconds
NODE_SHIFT = 100.0


def solver_summary(rows: list[Row]) -> list[dict]:
    """Per solver: rows, solved / limit / fail counts, shifted geometric means of time and nodes, totals."""
    by: dict[str, list[Row]] = {}
    for r in rows:
        by.setdefault(r.solver, []).append(r)
    out = []
    for solver, rs in sorted(by.items()):
        times = [r.time for r in rs if r.time is not None]
        nodes = [r.nodes for r in rs if r.nodes is not None]
        out.append({"solver": solver, "rows": len(rs),
                    "solved": sum(r.status == SOLVED for r in rs), "limit": sum(r.status == LIMIT for r in rs),
                    "fail": sum(r.status == FAIL for r in rs),
                    "best_upper": sum(r.best_upper for r in rs),
                    "best_certified_lower": sum(r.best_certified_lower for r in rs),
                    "time_sgm": shifted_geometric_mean(times, TIME_SHIFT), "time_total": sum(times) if times else None,
                    "nodes_sgm": shifted_geometric_mean(nodes, NODE_SHIFT),
                    "nodes_total": sum(nodes) if nodes else None})
    return out


def split_group(d: dict) -> str:
    """The row group of a `lipgen split` result: network, norms, domain, `split`."""
    return "__".join((str(d["network"]), norms_tag(d["norms"]), str(d["domain"]), "split"))


def split_rows(splits: list[tuple[Path, dict]]) -> list[Row]:
    """One row per `lipgen split` result (network x norms x domain): its certified bounds, `solved` when the tree
    closed its gap, `limit` otherwise; solver and encoding `split`. The latest file wins for one group."""
    by_group: dict[str, tuple[Path, dict]] = {}
    for path, d in sorted(splits, key=lambda s: str(s[0])):
        by_group[split_group(d)] = (path, d)
    rows = []
    for group, (path, d) in sorted(by_group.items()):
        t = d["split"]
        rows.append(Row(
            group=group, network=str(d["network"]), norms=norms_tag(d["norms"]), domain=str(d["domain"]),
            encoding="split", problem_class="split", solver="split", mode="split", solver_version=None, upper=d.get("upper"),
            upper_mip=None, upper_source=d.get("upper_source"), lower=None, certified_lower=d.get("best_lower"),
            best_lower=d.get("best_lower"), lower_source=d.get("lower_source"), gap=d.get("gap"),
            consistency=str(d.get("consistency", "ok")), status=SOLVED if t.get("closed") else LIMIT,
            statuses={"split": d.get("status")}, time=t.get("seconds"), nodes=t.get("nodes"),
            wall_time=t.get("seconds"), checked="not checked", runs={"split": str(path)},
            best_upper=True, best_certified_lower=d.get("best_lower") is not None))
    return rows
