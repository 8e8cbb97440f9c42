"""Makespan of a split run on N workers (issue 21), from a `lipgen split` result.json with leaf rounds, and the
driver's overhead on a large tree (state file size and write time, bookkeeping per node).

    python benchmarks/split_scale.py RESULT.json          # simulated makespans for N = 2, 16, 256, 4096
    python benchmarks/split_scale.py --overhead 100000    # a tree with that many open nodes: state size, write time
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from lipgen.domain import Box
from lipgen.network import Network
from lipgen.split import Node, Tree, TreeOptions
from lipgen.split.makespan import simulate
from lipgen.split.state import load_state, save_state


def makespans(path: Path) -> None:
    t = json.loads(path.read_text())["split"]
    print(f"real run: {t['wall_time']:.2f} s wall; tree {sum(r['seconds'] for r in t['rounds']):.2f} s; "
          f"{sum(len(r['leaf_times']) for r in t['leaf_rounds'])} leaves in {len(t['leaf_rounds'])} rounds")
    for n in (1, 2, 16, 256, 4096):
        print(f"N = {n:5d}: {simulate(t['rounds'], t['leaf_rounds'], n):.2f} s")


def overhead(count: int) -> None:
    rng = np.random.default_rng(0)
    net = Network([rng.standard_normal((64, 64)), rng.standard_normal((10, 64))], [np.zeros(64), np.zeros(10)],
                  name="scale")
    box = Box(np.zeros(64), np.ones(64))
    tree = Tree(net, box, "inf", "inf", TreeOptions(branching="phase"))
    start = time.perf_counter()
    for j in range(count):  # bookkeeping only: a node per push, as the tree makes them
        tree.push(Node(box.lower, box.upper, ((0, j % 64, j % 2),), 1, 1.0, j + 1), float(rng.random()))
    per_node = (time.perf_counter() - start) / count
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        size = save_state(Path(d) / "tree.npz", tree)
        write = time.perf_counter() - start
        start = time.perf_counter()
        load_state(Path(d) / "tree.npz", net, box, "inf", "inf", tree.options)
        read = time.perf_counter() - start
    print(f"{count} open nodes: push {1e6 * per_node:.1f} us/node, state {size / 1e6:.1f} MB written in "
          f"{write:.2f} s, read in {read:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("result", nargs="?", type=Path)
    ap.add_argument("--overhead", type=int, default=0)
    args = ap.parse_args()
    if args.result:
        makespans(args.result)
    if args.overhead:
        overhead(args.overhead)


if __name__ == "__main__":
    main()
