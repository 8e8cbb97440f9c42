"""Best-first branch and bound over nodes (issue 21): certified bounds of L without a solver.

Soundness: the open and closed leaves of the tree always cover the domain (node.py: children cover their parent).
L is the maximum of L over the leaves, so

- certified upper = max over every leaf of its certified upper bound: open leaves (their Jacobian bound), nodes
  closed by pruning (their bound, <= lower (1 + rel_gap)), nodes proven empty (0) and nodes finished exactly
  (the enumeration's upper bound, exact.py);
- certified lower = the best `certify_point` value from any point of the domain (sampling at every node, the
  centres of exact regions), each recomputed in float64 with its rounding error bound.

Rule (documented, deterministic): pop the open node with the largest upper bound (ties: the older node). When it
is at most lower (1 + rel_gap), every open node is, and the tree is closed. Otherwise

- a node with at most `exact_max` unstable neurons is finished by `enumerate_regions` (no further splitting);
- else, *input split* when the input has at most `input_dim_max` dimensions (`branching="auto"`), or always with
  `branching="input"`: bisect the input j of largest width_j * g_j, g_j the largest bound of |dJ/dx_j| (column j
  of the Jacobian's entry bounds): the dimension along which the Jacobian's range can matter most;
- else *phase split*: the unstable neuron of largest (sum over outputs of |backward bound of its column|) times
  (u - l), its pre-activation range on the node: the neuron whose relaxation costs the bound most (BaBSR-like).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np

from ..bounds import compute_bounds, jacobian_bounds, stabilities
from ..domain import Box
from ..errors import LipgenError
from ..network import Network
from .exact import enumerate_regions, node_region_lp
from .node import Node, NodeBound, bound_node, sample_lower

BRANCHINGS = ("auto", "input", "phase")
NORMS = ("1", "2", "inf")


@dataclass
class SplitResult:
    """Certified lower <= L <= upper over the whole domain, and the tree's statistics."""

    lower: float
    upper: float
    status: str  # "closed" (gap <= rel_gap), "node_budget", "time_budget" or "inexact_leaves" (no open node, but a
    # region's norm could only be bounded: inf->2, or inf->beta / 2->1 with more than 16 inputs / outputs)
    nodes: int  # nodes bounded (the root included)
    pruned: int  # nodes closed by their bound
    empty: int  # nodes (or their regions) proven empty
    exact_leaves: int  # nodes finished by region enumeration
    regions: int  # regions evaluated by the enumerations
    lps: int  # region LPs solved
    open: int  # nodes left open when a budget stopped the tree
    max_depth: int
    seconds: float
    branching: str
    lower_point: np.ndarray | None = None

    @property
    def gap(self) -> float:
        """(upper - lower) / upper, 0 when upper is 0."""
        return 0.0 if self.upper <= 0 else (self.upper - self.lower) / self.upper

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("lower", "upper", "status", "nodes", "pruned", "empty", "exact_leaves",
                                           "regions", "lps", "open", "max_depth", "seconds", "branching")}
        d["gap"] = self.gap
        d["lower_point"] = None if self.lower_point is None else [float(v) for v in self.lower_point]
        return d


def input_split_dim(nb: NodeBound) -> int:
    """The input of largest width times the bound of |dJ/dx_j| (the widest one if every bound is 0)."""
    width = nb.node.upper - nb.node.lower
    g = nb.jac.jacobian.magnitude().max(axis=0)
    score = width * np.where(np.isfinite(g), g, np.finfo(float).max)
    if not np.any(score > 0):
        score = width
    return int(np.argmax(score))


def phase_split_neuron(network: Network, nb: NodeBound) -> tuple[int, int]:
    """The unstable neuron (layer, index) of largest backward-bound column sum times its pre-activation range."""
    jb = jacobian_bounds(network, stability=nb.stability, method="interval", sides="backward")
    best, pick = -1.0, None
    for k, st in enumerate(nb.stability):
        units = np.flatnonzero(st.unstable)
        if not len(units):
            continue
        out = jb.backward[k + 1].magnitude()[:, units].sum(axis=0)
        rng = nb.layer_bounds[k].upper[units] - nb.layer_bounds[k].lower[units]
        score = np.nan_to_num(out * rng, nan=np.inf, posinf=np.finfo(float).max)
        j = int(np.argmax(score))
        if score[j] > best:
            best, pick = float(score[j]), (k, int(units[j]))
    return pick


def split(network: Network, box: Box, alpha: str, beta: str, *, branching: str = "auto", node_budget: int = 10_000,
          time_budget: float = 60.0, rel_gap: float = 1e-6, exact_max: int = 12, input_dim_max: int = 8,
          bounds: str = "linear", jacobian: str = "linear", samples: int = 32, root_samples: int = 512,
          max_regions: int = 20_000) -> SplitResult:
    """Certified bounds of L_{alpha->beta} of `network` on `box` by best-first branch and bound (module docstring).

    node_budget counts bounded nodes; time_budget is in seconds (the only source of non-determinism, when hit).
    """
    alpha, beta = str(alpha), str(beta)
    if alpha not in NORMS or beta not in NORMS:
        raise LipgenError(f"norms must be among {', '.join(NORMS)}")
    if branching not in BRANCHINGS:
        raise LipgenError(f"branching must be one of {', '.join(BRANCHINGS)}")
    start = time.perf_counter()
    lo, hi = np.asarray(box.lower, float), np.asarray(box.upper, float)
    root_stab = stabilities(network, compute_bounds(network, lo, hi, bounds))
    mode = branching if branching != "auto" else ("input" if network.n_inputs <= input_dim_max else "phase")
    stats = dict(nodes=0, pruned=0, empty=0, exact_leaves=0, regions=0, lps=0, max_depth=0)
    state = {"lower": 0.0, "point": None, "closed_upper": 0.0, "ident": 0}
    heap: list = []

    def offer_lower(value, x):
        if value > state["lower"]:
            state["lower"], state["point"] = float(value), x

    def close(upper):
        state["closed_upper"] = max(state["closed_upper"], float(upper))

    def process(node: Node):
        stats["nodes"] += 1
        stats["max_depth"] = max(stats["max_depth"], node.depth)
        nb = bound_node(network, node, alpha, beta, bounds=bounds, jacobian=jacobian)
        if not nb.empty and node.phases:
            stats["lps"] += 1
            nb.empty, centre = node_region_lp(network, nb)
            if centre is not None:
                nb.info["centre"] = centre
        if nb.empty:
            stats["empty"] += 1
            return
        offer_lower(*sample_lower(network, node, alpha, beta, box, root_stab, state["lower"],
                                  n=root_samples if node.depth == 0 else samples, extra=nb.info.get("centre")))
        if nb.upper <= state["lower"] * (1 + rel_gap):
            stats["pruned"] += 1
            close(nb.upper)
            return
        if nb.n_unstable <= exact_max:
            ex = enumerate_regions(network, nb, alpha, beta, box, root_stab, best_lower=state["lower"],
                                   max_regions=max_regions, prune_rel=rel_gap)
            stats["regions"] += ex.regions
            stats["lps"] += ex.lps
            offer_lower(ex.lower, ex.lower_point)
            if ex.complete:
                stats["exact_leaves"] += 1
                close(min(ex.upper, nb.upper))  # both bound the node; the least is still an upper bound
                return
        heapq.heappush(heap, (-nb.upper, node.ident, nb))

    def new_ident():
        state["ident"] += 1
        return state["ident"]

    process(Node(lo.copy(), hi.copy()))
    status = "closed"
    while heap:
        neg, _, nb = heap[0]
        if -neg <= state["lower"] * (1 + rel_gap):
            stats["pruned"] += len(heap)
            close(-neg)
            heap = []
            break
        if stats["nodes"] >= node_budget:
            status = "node_budget"
            break
        if time.perf_counter() - start >= time_budget:
            status = "time_budget"
            break
        heapq.heappop(heap)
        node = nb.node
        if mode == "input" or nb.n_unstable == 0:
            j = input_split_dim(nb)
            mid = node.lower[j] + (node.upper[j] - node.lower[j]) / 2
            left_hi, right_lo = node.upper.copy(), node.lower.copy()
            left_hi[j] = right_lo[j] = mid  # the two closed halves cover the node
            children = [node.child(new_ident(), nb.upper, upper=left_hi), node.child(new_ident(), nb.upper, lower=right_lo)]
        else:
            k, i = phase_split_neuron(network, nb)
            children = [node.child(new_ident(), nb.upper, phase=(k, i, 1)), node.child(new_ident(), nb.upper, phase=(k, i, 0))]
        for ch in children:
            process(ch)
    open_upper = max((-h[0] for h in heap), default=0.0)
    upper = max(state["closed_upper"], open_upper)
    if status == "closed" and upper > state["lower"] * (1 + rel_gap):
        status = "inexact_leaves"  # every node finished, but some region's norm is only bounded (hard norm pair)
    return SplitResult(state["lower"], upper, status, stats["nodes"], stats["pruned"], stats["empty"],
                       stats["exact_leaves"], stats["regions"], stats["lps"], len(heap), stats["max_depth"],
                       time.perf_counter() - start, mode, state["point"])
