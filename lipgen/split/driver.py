"""Driving the split tree in a working folder: rounds under a wall-clock budget, the state saved after each round
(split/state.py), resumption, and a progress snapshot for the live line.

A *round* runs the tree for at most `round_seconds` (and the node budget); the state file is then rewritten
atomically, so a kill loses at most one round of work and a resumed run never redoes a saved round. Each round
records its time, node count and the global bounds after it (`rounds` in the result's `split` table).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..domain import Box
from ..errors import LipgenError
from ..network import Network
from .state import STATE, load_state, save_state
from .tree import Tree, TreeOptions

ROUND_SECONDS = 5.0  # between two saves of the state: at most this much work is lost to a kill


@dataclass
class Progress:
    """What the live line shows."""

    lower: float
    upper: float
    gap: float
    open: int
    pruned: int
    exact: int
    nodes: int
    elapsed: float
    round: int


@dataclass
class Drive:
    """A driven tree and its bookkeeping: rounds (this run's and the resumed ones'), state writes."""

    tree: Tree
    state_path: Path
    rounds: list[dict] = field(default_factory=list)
    leaf_rounds: list[dict] = field(default_factory=list)  # rounds of leaf MIPs (lipgen.run.split_leaves)
    resumed: int = 0  # how many times this tree was resumed
    state_bytes: int = 0
    state_write_seconds: float = 0.0
    wall: float = 0.0  # this run's wall time

    def extra(self) -> dict:
        return {"rounds": self.rounds, "leaf_rounds": self.leaf_rounds, "resumed": self.resumed}

    def snapshot(self, started: float) -> Progress:
        t, st = self.tree, self.tree.stats
        return Progress(t.lower, t.upper, t.gap, len(t.heap), st["pruned"], st["exact_leaves"], st["nodes"],
                        time.perf_counter() - started, len(self.rounds))

    def save(self) -> None:
        start = time.perf_counter()
        self.state_bytes = save_state(self.state_path, self.tree, self.extra())
        self.state_write_seconds += time.perf_counter() - start


def prepare(network: Network, box: Box, alpha: str, beta: str, workdir: Path, options: TreeOptions,
            resume: bool) -> Drive:
    """The tree to drive: a saved one (resume: refused when it is another problem's) or a new one. Writes nothing."""
    path = Path(workdir) / STATE
    if resume:
        if not path.is_file():
            raise LipgenError(f"--resume: no tree state {path} to resume")
        tree, extra = load_state(path, network, box, alpha, beta, options)
        return Drive(tree, path, list(extra.get("rounds") or []), list(extra.get("leaf_rounds") or []),
                     int(extra.get("resumed", 0)) + 1)
    if path.exists():
        raise LipgenError(f"{workdir} holds a split tree state ({STATE}): give --resume to continue it, or another "
                          "folder to start over")
    return Drive(Tree(network, box, alpha, beta, options), path)


def drive(run: Drive, *, time_limit: float, node_limit: int, round_seconds: float = ROUND_SECONDS,
          on_progress: Callable[[Progress], None] | None = None, stop: Callable[[], bool] | None = None) -> Drive:
    """Rounds until the tree closes, a budget ends or `stop()` is true: the state is saved after every round."""
    started = time.perf_counter()
    tree = run.tree
    tick = (lambda t: on_progress(run.snapshot(started))) if on_progress is not None else None
    while True:
        left = time_limit - (time.perf_counter() - started)
        t0, n0 = time.perf_counter(), tree.stats["nodes"]
        status = tree.run(node_limit, max(min(round_seconds, left), 0.0), on_tick=tick, stop=stop)
        run.rounds.append({"round": len(run.rounds) + 1, "seconds": time.perf_counter() - t0,
                           "nodes": tree.stats["nodes"] - n0, "lower": tree.lower, "upper": tree.upper,
                           "open": len(tree.heap), "ended_at": time.time()})  # epoch: orders tree and leaf rounds
        run.save()
        if on_progress is not None:
            on_progress(run.snapshot(started))
        if status != "time_budget" or time.perf_counter() - started >= time_limit:
            break
    run.wall = time.perf_counter() - started
    return run
