"""`lipgen run --split auto`: the split tree (lipgen.split, no solver) before or beside the MIPs, when it pays.

Rule (benchmarks/split_first.md, measured on the library's trained nets): with an l2 norm on either side and at
most `FIRST_MAX_UNSTABLE` unstable neurons at the root (the run's bounds method), the tree runs first, for at most
`first_seconds(time_limit)`. On such problems the MIP's objective is a nonconvex quadratic that the solvers
branch on for minutes, while the tree finishes the root by enumerating its few activation regions and takes
each region's spectral norm (0.05 s against an unsolved minute on digits-64-16-10's 0.01-ball). With l1/l-inf
norms the MIPs are linear and prove such problems in seconds; the tree's enumeration may take longer (inf->1
over 679 regions: 22 s against the MIP's 2 s), so `auto` leaves them to the MIPs.

For l2 -> l2 the tree runs first whatever the count, for half of --time-limit (at most 60 s): each node it cannot
prune by the Jacobian bound gets the SDP bound (lipgen/bounds/sdp.py) of its own region, which prunes most of them
(digits-64-32-32-10, l2, the 0.1-ball test2 with 23 unstable neurons: proved by the tree alone in 6.6 s, against
gap 0.31 for the MIPs after 60 s; digits-64-16-10's box: 11.7 s alone, 63 s beside the MIPs).

Otherwise, with more than `FIRST_MAX_UNSTABLE` unstable neurons, the tree runs *beside* the MIPs, in a process of
its own, from their start until they end (or --time-limit): on such nets the MIPs' dual bounds move
slowly and the tree's Jacobian bounds over sub-boxes and phases move faster (digits-64-32-32-10 on [0,1]^64, l-inf:
upper 418 after 120 s against the MIP's 646; benchmarks/split_first.md). It costs the solvers a share of the CPU.

When the tree closes the gap first, `run` solves no MIP (its instances are written as always): its result is the
tree's, certified the same way (`lipgen split`). Otherwise the MIPs run as without it while the tree goes on beside
them from its saved state (wine-13-16-3 on its data box, l2: not closed in the first 15 s, closed by the tree at 14 s
of a 60 s budget while the MIPs stayed at the Jacobian bound), and the tree's certified bounds join the summary's
sources: the smaller upper bound and the larger lower bound are reported.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import atomic
from ..bounds.methods import ALIASES
from ..bounds.sdp import MAX_DIM as SDP_MAX_DIM
from ..bounds.sdp import sdp_order
from ..domain import Box
from ..errors import LipgenError
from ..instance.naming import norm_tag
from ..network import Network
from ..parsers import record as rec
from ..results.bounds import clean_gap, combine
from ..results.records import RunSummary
from ..split.driver import Drive, Progress, drive, prepare
from ..split.plan import BESIDE, FIRST, FIRST_MAX_UNSTABLE, SPLIT_CHOICES, exact_max_for, split_plan
from ..split.state import STATE
from ..split.tree import SplitResult, TreeOptions

FIRST_SECONDS = 30.0
FIRST_SHARE = 0.25  # of --time-limit
SDP_FIRST_SECONDS, SDP_FIRST_SHARE = 60.0, 0.5  # digits-64-16-10's box, l2: the tree alone 11.7 s, beside 63 s
BESIDE_SECONDS = 1e7  # a tree beside MIPs without a time limit runs until they end
FIRST_THEN_BESIDE = "first, then beside"
STOP = "beside.stop"  # the parent's "stop" to lipgen/run/split_beside.py: a file, which a child still starting misses not
READY = "beside.ready"  # the child's "started": before it, a stop kills it (it has nothing to give yet)
SPLIT_UPPER = "split tree (max over leaves)"
SPLIT_LOWER = "split tree (certified point)"
SPLIT_FOLDER = "split"
ANCHOR_FIELDS = ("sampled_certified", "sampled_estimate", "search_lower", "naive_upper", "jacobian_upper",
                 "jacobian_method", "sdp_upper")


def first_seconds(time_limit: float | None, sdp: bool = False) -> float:
    """The tree's wall-clock budget before the MIPs: a quarter of --time-limit, at most 30 s; with the SDP at its
    nodes (l2 -> l2), where the tree usually beats the nonconvex MIPs, half of it, at most 60 s."""
    share, most = (SDP_FIRST_SHARE, SDP_FIRST_SECONDS) if sdp else (FIRST_SHARE, FIRST_SECONDS)
    return most if time_limit is None else max(min(most, share * time_limit), 0.5)


def first_folder(workdir: Path, net: Network, box: Box, alpha: str, beta: str) -> Path:
    """The tree's folder inside a run's working folder: one per network (by digest), norms and domain."""
    return Path(workdir) / SPLIT_FOLDER / f"{net.name}-{net.digest()[:12]}__{norm_tag(alpha, beta)}__{box.tag()}"


def unstable_count(run: Drive) -> int:
    return int(sum(int(s.unstable.sum()) for s in run.tree.root_stab))


def split_data(net: Network, box: Box, run: Drive) -> dict:
    """A tree's result in `run`'s schema (upper, best_lower, gap, status, network, norms, domain, ...) plus its
    statistics under `split`."""
    tree = run.tree
    res: SplitResult = tree.result()
    closed = res.status == "closed"
    status = rec.OPTIMAL if closed else {"time_budget": rec.TIME_LIMIT, "node_budget": rec.NODE_LIMIT,
                                         "stopped": rec.TIME_LIMIT}.get(res.status, res.status)
    # certified values only: a certified point's, or 0 (L >= 0 always) once the tree proved L = 0
    best_lower = res.lower if res.lower_point is not None or res.lower > 0 else (0.0 if res.upper == 0 else None)
    gap = None if best_lower is None else clean_gap(res.gap)
    return {"status": status, "consistency": "ok", "upper": res.upper, "upper_source": SPLIT_UPPER,
            "upper_mip": None, "lower": None, "certified_lower": best_lower, "best_lower": best_lower,
            "lower_source": None if best_lower is None else SPLIT_LOWER, "gap": gap,
            "sampled_certified": None, "sampled_estimate": None, "search_lower": None, "naive_upper": None,
            "premise": {"established": True, "reasons": []}, "network": net.name,
            "norms": {"input": tree.alpha, "output": tree.beta}, "domain": box.tag(),
            "domain_bounds": {"kind": box.kind, "lower": box.lower.tolist(), "upper": box.upper.tolist()},
            "eps": None, "mode": "split", "bounds_method": tree.options.bounds, "solver": "split",
            "solver_requested": "split", "solver_version": None, "workdir": str(run.state_path.parent),
            "reused": False, "problems": {},
            "split": {**res.to_dict(), "closed": closed, "options": tree.options.to_dict(),
                      "leaves_solved": tree.stats["leaves_solved"], "leaves_tightened": tree.stats["leaves_tightened"],
                      "network_digest": net.digest(), "rounds": run.rounds, "resumed": run.resumed,
                      "wall_time": run.wall, "leaf_rounds": run.leaf_rounds, "state_file": str(run.state_path),
                      "state_bytes": run.state_bytes, "state_write_seconds": run.state_write_seconds}}


def split_summary(data: dict) -> RunSummary:
    return RunSummary(network=data["network"], norms=(data["norms"]["input"], data["norms"]["output"]),
                      status=data["status"], consistency=data["consistency"], upper=data["upper"],
                      best_lower=data["best_lower"], gap=data["gap"], workdir=data["workdir"], problems={}, data=data)


@dataclass(frozen=True)
class FirstSplit:
    """The tree that ran before a run's MIPs: its result (split_data's schema) and why it ran."""

    data: dict
    reason: str
    unstable: int
    budget: float
    when: str = "first"  # "beside" or "first, then beside" (run_first)

    @property
    def closed(self) -> bool:
        """The tree proved L: both bounds certified and met."""
        return bool(self.data["split"]["closed"]) and self.data["best_lower"] is not None


def first_record(first: FirstSplit) -> dict:
    """What a run's summary says about its tree (`split_first`)."""
    data, s = first.data, first.data["split"]
    return {"when": first.when, "reason": first.reason, "unstable": first.unstable, "budget": first.budget,
            "closed": s["closed"], "upper": data["upper"], "lower": data["best_lower"], "status": data["status"], "nodes": s["nodes"],
            "regions": s["regions"], "lps": s["lps"], "seconds": s["wall_time"], "resumed": s["resumed"],
            "folder": data["workdir"]}


def proved_summary(first: FirstSplit, workdir: Path, anchors: dict) -> RunSummary:
    """`run`'s summary when the tree closed the gap: the tree's result (no solver ran) beside the anchors of the
    written instances' sidecar."""
    shown = {k: v for k, v in combine(None, None, anchors).items() if k in ANCHOR_FIELDS}
    return split_summary(dict(first.data, **shown, workdir=str(workdir), split_first=first_record(first)))


def merge(summary: RunSummary, first: FirstSplit) -> RunSummary:
    """The MIPs' summary with the tree's certified bounds among its sources (the better of each is reported)."""
    s, data = dict(summary.data), first.data
    if data["upper"] is not None and (s["upper"] is None or data["upper"] < s["upper"]):
        s["upper"], s["upper_source"] = data["upper"], SPLIT_UPPER
    if data["best_lower"] is not None and (s["best_lower"] is None or data["best_lower"] > s["best_lower"]):
        s["best_lower"], s["lower_source"] = data["best_lower"], SPLIT_LOWER
    if s["upper"] is not None and s["best_lower"] is not None:
        if s["upper"] < s["best_lower"]:
            s["consistency"], s["gap"] = "inconsistent", None
        else:
            s["gap"] = clean_gap((s["upper"] - s["best_lower"]) / s["upper"] if s["upper"] > 0 else 0.0)
    if s["consistency"] != "ok":
        s["status"] = s["consistency"]
    elif first.closed and data["upper"] <= s["upper"] and data["best_lower"] >= (s["best_lower"] or 0.0):
        s["status"] = rec.OPTIMAL  # the tree proved L (the MIPs it stopped say interrupted)
    s["split_first"] = first_record(first)
    return dataclasses.replace(summary, status=s["status"], consistency=s["consistency"], upper=s["upper"],
                               best_lower=s["best_lower"], gap=s["gap"], data=s)


class Beside:
    """The tree in a process of its own while the MIPs run (lipgen/run/split_beside.py). `finish()` stops it and
    gives its result."""

    JOIN_SECONDS = 60.0  # a node being bounded when asked to stop finishes first

    def __init__(self, net: Network, box: Box, run: Drive, reason: str, unstable: int, budget: float,
                 when: str = BESIDE, before: FirstSplit | None = None):
        self.net, self.box, self.reason, self.unstable, self.budget = net, box, reason, unstable, budget
        self.when, self.before = when, before  # before: the tree's result when it ran first
        self.folder = run.state_path.parent
        for stale in ("result.json", STOP, READY):  # what finish() reads is this run's
            (self.folder / stale).unlink(missing_ok=True)
        job = self.folder / "beside.pickle"
        atomic.write_bytes(job, pickle.dumps({"net": net, "box": box, "alpha": run.tree.alpha, "beta": run.tree.beta,
                                              "folder": str(self.folder), "options": run.tree.options,
                                              "budget": budget, "cap": run.tree.cap}))
        with open(self.folder / "beside.log", "wb") as log:  # the child's errors, if any
            self._proc = subprocess.Popen([sys.executable, "-m", "lipgen.run.split_beside", str(job),
                                           str(os.getpid())], stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def proved(self) -> bool:
        """The tree ended by itself with the gap closed (its result written): the MIPs may stop."""
        if self._proc.poll() is None:
            return False
        path = self.folder / "result.json"
        try:
            return bool(json.loads(path.read_text())["split"]["closed"])
        except (OSError, ValueError, KeyError, TypeError):
            return False

    def finish(self) -> FirstSplit | None:
        """Stop the tree and take its result; None when it left none (it failed: the MIPs' result stands alone)."""
        (self.folder / STOP).touch()
        if not (self.folder / READY).exists():  # still starting up: nothing to wait for
            self._proc.kill()
        try:
            self._proc.wait(timeout=self.JOIN_SECONDS)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        path = self.folder / "result.json"
        if not path.is_file():
            return self.before
        return FirstSplit(json.loads(path.read_text()), self.reason, self.unstable, self.budget, self.when)


class TreeJudge:
    """A batch's judge (lipgen/run/batch.py) that stops every run once the tree beside proved L, and otherwise asks
    `inner` (a race's judge, or nobody)."""

    def __init__(self, beside: Beside, instances: list[str], inner=None):
        self.beside, self.instances, self.inner, self.fired = beside, instances, inner, False

    def __call__(self, result: dict) -> dict[str, str]:
        return self.inner(result) if self.inner is not None else {}

    def poll(self) -> dict[str, str]:
        if self.fired or not self.beside.proved():
            return {}
        self.fired = True
        return {name: "the split tree beside the MIPs proved L" for name in self.instances}


def judge_with(tree: FirstSplit | Beside | None, instances: list[str], inner=None):
    """The judge of a run's MIP batch: `inner`, and with a tree beside, a stop once the tree proves L."""
    return TreeJudge(tree, instances, inner) if isinstance(tree, Beside) else inner


def finished(net: Network, box: Box, run: Drive, reason: str, unstable: int, budget: float) -> FirstSplit:
    data = split_data(net, box, run)
    atomic.write_json(run.state_path.parent / "result.json", data)
    return FirstSplit(data, reason, unstable, budget, FIRST)


def run_first(net: Network, box: Box, workdir: Path, *, alpha: str, beta: str, choice: str = "auto",
              time_limit: float | None = None, gap: float = 1e-6, bounds: str = "linear", fresh: bool = False,
              on_progress: Callable[[Progress], None] | None = None,
              cap: float | None = None) -> FirstSplit | Beside | None:
    """The tree of a run when the rule takes it, in its folder of the run's working folder (first_folder); a saved
    tree of an earlier run is continued, not redone (`fresh`, as `run --force`: started over). `first`: driven
    here, its result returned when it closed the gap, else continued beside the MIPs; `beside`: started in a process
    of its own (Beside) for the caller to finish once the MIPs are done; None: no tree. `cap`: a certified upper
    bound known before (the instances' best anchor): the tree closes once its lower bound meets it."""
    if choice not in SPLIT_CHOICES:
        raise LipgenError(f"--split {choice!r} is not supported: use {', '.join(SPLIT_CHOICES)}")
    if choice == "never":
        return None
    folder = first_folder(workdir, net, box, alpha, beta)
    options = TreeOptions(rel_gap=gap, exact_max=exact_max_for(alpha, beta, FIRST_MAX_UNSTABLE),
                          bounds=ALIASES.get(bounds, bounds))
    if fresh:
        (folder / STATE).unlink(missing_ok=True)
    try:
        run = prepare(net, box, alpha, beta, folder, options, resume=(folder / STATE).is_file())
    except LipgenError:  # a saved tree of other options (another --gap or --bounds): this run's tree replaces it
        (folder / STATE).unlink()
        run = prepare(net, box, alpha, beta, folder, options, resume=False)
    if cap is not None:
        run.tree.cap = float(cap)
    unstable = unstable_count(run)
    sdp = alpha == beta == "2" and sdp_order(net, run.tree.root_stab) <= SDP_MAX_DIM
    plan = split_plan(choice, alpha, beta, unstable, sdp)
    if plan is None:
        return None
    when, reason = plan
    folder.mkdir(parents=True, exist_ok=True)
    if when == BESIDE:
        return Beside(net, box, run, reason, unstable, BESIDE_SECONDS if time_limit is None else time_limit)
    budget = first_seconds(time_limit, sdp)
    drive(run, time_limit=budget, node_limit=1_000_000, on_progress=on_progress)
    first = finished(net, box, run, reason, unstable, budget)
    if first.closed:
        return first
    # not closed in its share of the time: it goes on beside the MIPs (its saved state is continued)
    return Beside(net, box, run, reason + "; not closed first, continued beside the MIPs", unstable,
                  BESIDE_SECONDS if time_limit is None else time_limit, FIRST_THEN_BESIDE, first)


def finish(tree: FirstSplit | Beside | None) -> FirstSplit | None:
    """A run's tree once its MIPs are done: a thread beside them stopped and its result taken."""
    return tree.finish() if isinstance(tree, Beside) else tree
