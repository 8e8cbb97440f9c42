"""Leaf MIP instances of the split tree (issue 21), solved in rounds with `solve_all`.

A leaf is an open node of the tree written as an ordinary lipgen instance: the upper-bound problem (`generate`)
over the node's *sub-box*. Its fixed phases are recorded in the sidecar but not imposed on the MIP: the sub-box
contains the node's region, so the MIP's certified upper bound over the sub-box bounds L over the node (sound, and
as tight as the node when it has no fixed phase; phase-fixed leaves only gain what their box gains). Each leaf gets
its own folder `leaves/leaf-<ident, 9 digits>` (names sort in creation order) and its sidecar a `split` table with
the tree's digest and the node's ident: a result is applied to a node only when its instance checksum, the tree's
digest and the ident all match, so a result of another leaf or another tree is refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import atomic
from ..domain import Box
from ..instance import generate
from ..parsers import record as rec
from ..solvers import SolveOptions
from ..split.node import Node
from ..split.state import tree_digest
from ..split.tree import Tree
from .batch import solve_all

LEAVES = "leaves"
FINISHED = (rec.OPTIMAL, rec.GAP_LIMIT, rec.INFEASIBLE)  # the MIP's bound is the node's value (up to its gap)


@dataclass
class Leaf:
    """One written leaf instance."""

    ident: int
    bound: float  # the node's bound when it was written
    path: Path
    sidecar: dict


def leaf_folder(workdir: Path, ident: int) -> Path:
    return Path(workdir) / LEAVES / f"leaf-{ident:09d}"


def write_leaf(tree: Tree, workdir: Path, bound: float, node: Node, bounds_method: str = "linear",
               folder: Path | None = None, gzip: bool = False) -> Leaf:
    """The node's upper-bound instance over its sub-box, its sidecar marked with the tree's digest and the ident;
    in its own leaf folder of `workdir`, or in `folder` (a library's family folder, shared by many leaves)."""
    folder = leaf_folder(workdir, node.ident) if folder is None else Path(folder)
    net = replace(tree.network, name=f"{tree.network.name}-leaf{node.ident:09d}")
    box = Box(node.lower, node.upper, kind="box", meta={"split_node": node.ident})
    g = generate(net, box, folder, alpha=tree.alpha, beta=tree.beta, bounds=("upper",), bounds_method=bounds_method,
                 gzip=gzip)[0]
    sidecar = dict(g.sidecar)
    sidecar["split"] = {"tree": tree_digest(tree), "node": node.ident, "depth": node.depth,
                        "phases": [list(p) for p in node.phases], "node_bound": bound}
    atomic.write_json(g.sidecar_path, sidecar)
    return Leaf(node.ident, bound, g.path, sidecar)


def leaf_problem(tree: Tree, leaf: Leaf, result: dict) -> str | None:
    """Why `result` may not be applied to `leaf` (None: it may)."""
    mark = leaf.sidecar.get("split") or {}
    if mark.get("tree") != tree_digest(tree):
        return f"leaf {leaf.ident}: its sidecar belongs to another split tree"
    if mark.get("node") != leaf.ident:
        return f"leaf {leaf.ident}: its sidecar describes node {mark.get('node')}"
    if result.get("instance_sha256") != leaf.sidecar.get("instance_sha256"):
        return f"leaf {leaf.ident}: the result solved another instance ({str(result.get('instance'))[:60]})"
    return None


def apply_result(tree: Tree, leaf: Leaf, result: dict) -> str | None:
    """The leaf's certified bounds into the tree; the reason when the result is refused (None: applied)."""
    why = leaf_problem(tree, leaf, result)
    if why:
        return why
    q = result.get("lipschitz") or {}
    tree.apply_leaf(leaf.ident, q.get("upper"), result.get("status") in FINISHED, q.get("certified_lower"))
    return None


@dataclass
class LeafRound:
    """What one round of leaves did: their times (the makespan simulation's input) and refusals."""

    leaves: int
    seconds: float
    leaf_times: list[float]
    refused: list[str]
    time_limit: float


LeafSolver = Callable[[list[Path], Path, float], list[dict]]  # (instances, runs folder, time limit) -> results


def solve_leaves(tree: Tree, workdir: Path, count: int, solver: str, time_limit: float, *, jobs: int = 1,
                 bounds_method: str = "linear", solver_path: str | None = None,
                 solve: LeafSolver | None = None) -> LeafRound:
    """Write the `count` open nodes of largest bound as leaves, solve them `jobs` at a time (or by `solve`, e.g.
    as an array job: lipgen.cluster.leaf_rounds), apply their bounds. A leaf without a result ({}) stays open."""
    start = time.perf_counter()
    leaves = [write_leaf(tree, workdir, b, node, bounds_method) for b, node in tree.open_nodes(count)]
    runs = Path(workdir) / LEAVES / "runs"
    if solve is None:
        def solve(paths: list[Path], runs_dir: Path, limit: float) -> list[dict]:
            return solve_all(paths, solver, runs_dir, SolveOptions(time_limit=limit), jobs=jobs,
                             solver_path=solver_path)
    results = solve([lf.path for lf in leaves], runs, time_limit) if leaves else []
    refused = [why for lf, r in zip(leaves, results) if r and (why := apply_result(tree, lf, r))]
    times = [float(t) for r in results if (t := r.get("wall_time") or r.get("time")) is not None
             and np.isfinite(t)]
    return LeafRound(len(leaves), time.perf_counter() - start, times, refused, time_limit)
