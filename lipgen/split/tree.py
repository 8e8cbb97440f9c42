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
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..bounds import compute_bounds, jacobian_bounds, stabilities
from ..bounds.sdp import sdp_upper
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


@dataclass(frozen=True)
class TreeOptions:
    """What decides the tree's shape (a saved state is resumed only with the same options)."""

    branching: str = "auto"
    rel_gap: float = 1e-6
    exact_max: int = 12
    input_dim_max: int = 8
    bounds: str = "linear"
    jacobian: str = "linear"
    samples: int = 32
    root_samples: int = 512
    max_regions: int = 20_000
    sdp: bool = True  # l2: a node the Jacobian bound cannot prune also gets the SDP bound (bounds/sdp.py)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


STATS = ("nodes", "pruned", "empty", "exact_leaves", "regions", "lps", "max_depth", "leaves_solved",
         "leaves_tightened", "sdp")


class Tree:
    """The branch and bound as an object: its state (open heap, certified values, counters) survives between
    `run` calls, so a driver can stop it, save it (split/state.py) and resume it (module docstring: the rule).

    The heap holds (-upper, ident, node, bound): `bound` is the node's `NodeBound`, or None for a node restored
    from a saved state; it is recomputed when the node is branched (bound_node is deterministic).
    """

    def __init__(self, network: Network, box: Box, alpha: str, beta: str, options: TreeOptions | None = None):
        alpha, beta = str(alpha), str(beta)
        if alpha not in NORMS or beta not in NORMS:
            raise LipgenError(f"norms must be among {', '.join(NORMS)}")
        self.options = opts = options or TreeOptions()
        if opts.branching not in BRANCHINGS:
            raise LipgenError(f"branching must be one of {', '.join(BRANCHINGS)}")
        self.network, self.box, self.alpha, self.beta = network, box, alpha, beta
        self.root_lower, self.root_upper = np.asarray(box.lower, float), np.asarray(box.upper, float)
        self.root_stab = stabilities(network, compute_bounds(network, self.root_lower, self.root_upper, opts.bounds))
        self.mode = opts.branching if opts.branching != "auto" else \
            ("input" if network.n_inputs <= opts.input_dim_max else "phase")
        self.stats = dict.fromkeys(STATS, 0)
        self.lower, self.point, self.closed_upper, self.ident = 0.0, None, 0.0, 0
        self.heap: list = []
        self.started, self.status, self.seconds = False, "open", 0.0
        self._halt: Callable[[], bool] | None = None
        # open nodes whose region enumeration a budget stopped: ident -> {"resume": path, "upper": the bound of the
        # part enumerated}; popped again, such a node continues its enumeration instead of being split
        self.partial: dict[int, dict] = {}
        # a certified upper bound of L known from elsewhere (an SDP bound, the Jacobian bound): the tree's own upper
        # bound never reports more, and the tree closes once its lower bound meets it; not part of the saved state
        self.cap = float("inf")

    # ------------------------------------------------------------------------------------------ bookkeeping
    def offer_lower(self, value: float, x) -> None:
        if value > self.lower:
            self.lower, self.point = float(value), x

    def close(self, upper: float) -> None:
        self.closed_upper = max(self.closed_upper, float(upper))

    def new_ident(self) -> int:
        self.ident += 1
        return self.ident

    @property
    def open_upper(self) -> float:
        return max((-h[0] for h in self.heap), default=0.0)

    @property
    def upper(self) -> float:
        """The certified upper bound now: every leaf, open or closed, counts (module docstring); at most `cap`."""
        return min(max(self.closed_upper, self.open_upper), self.cap)

    @property
    def gap(self) -> float:
        up = self.upper
        return 0.0 if up <= 0 else (up - self.lower) / up

    def closing(self) -> bool:
        """True when the largest open bound is within the gap of the certified lower bound (or nothing is open)."""
        return not self.heap or min(-self.heap[0][0], self.cap) <= self.lower * (1 + self.options.rel_gap)

    # ------------------------------------------------------------------------------------------ one node
    def bound(self, node: Node) -> NodeBound:
        o = self.options
        return bound_node(self.network, node, self.alpha, self.beta, bounds=o.bounds, jacobian=o.jacobian)

    def process(self, node: Node) -> None:
        """Bound a new node: drop it (empty), close it (pruned or exact) or push it on the heap."""
        o, st = self.options, self.stats
        st["nodes"] += 1
        st["max_depth"] = max(st["max_depth"], node.depth)
        nb = self.bound(node)
        if not nb.empty and node.phases:
            st["lps"] += 1
            nb.empty, centre = node_region_lp(self.network, nb)
            if centre is not None:
                nb.info["centre"] = centre
        if nb.empty:
            st["empty"] += 1
            return
        self.offer_lower(*sample_lower(self.network, node, self.alpha, self.beta, self.box, self.root_stab,
                                       self.lower, n=o.root_samples if node.depth == 0 else o.samples,
                                       extra=nb.info.get("centre")))
        if nb.upper > self.lower * (1 + o.rel_gap) and o.sdp and self.alpha == self.beta == "2":
            # sound on the node's region: its stably inactive and fixed-inactive neurons are zero there
            # to 1e-6 only, stopped once it prunes or cannot beat the Jacobian bound; no Clarabel (seconds a node)
            sdp = sdp_upper(self.network, nb.stability, rtol=1e-6, enough=self.lower * (1 + o.rel_gap),
                            useless=nb.upper, fallback=False)
            nb.upper = min(nb.upper, sdp.value or nb.upper)
            st["sdp"] += 1
        if nb.upper <= self.lower * (1 + o.rel_gap):
            st["pruned"] += 1
            self.close(nb.upper)
            return
        if nb.n_unstable <= o.exact_max and self.enumerate(node, nb):
            return
        self.push(node, nb.upper, nb)

    def enumerate(self, node: Node, nb: NodeBound) -> bool:
        """Enumerate the node's regions (continuing a stopped enumeration of it): True when it is finished and
        closed; else the stop is kept in `partial` for the next call."""
        o, st = self.options, self.stats
        before = self.partial.pop(node.ident, None)
        done = before["regions"] if before else 0
        ex = enumerate_regions(self.network, nb, self.alpha, self.beta, self.box, self.root_stab,
                               best_lower=self.lower, max_regions=o.max_regions - done, prune_rel=o.rel_gap,
                               halt=self._halt, resume=before["resume"] if before else None)
        st["regions"] += ex.regions
        st["lps"] += ex.lps
        self.offer_lower(ex.lower, ex.lower_point)
        upper = max(ex.upper, before["upper"] if before else 0.0)  # the parts enumerated before and now
        if ex.complete:
            st["exact_leaves"] += 1
            self.close(min(upper, nb.upper))  # both bound the node; the least is still an upper bound
            return True
        if ex.resume is not None and done + ex.regions < o.max_regions:  # a budget stopped it, not the cap
            self.partial[node.ident] = {"resume": [float(v) for v in ex.resume], "upper": float(upper),
                                        "regions": done + ex.regions}
        return False

    def push(self, node: Node, upper: float, nb: NodeBound | None = None) -> None:
        heapq.heappush(self.heap, (-float(upper), node.ident, node, nb))

    def children(self, node: Node, upper: float, nb: NodeBound) -> list[Node]:
        """The two children of a branched node (input bisection or one neuron's two phases)."""
        if self.mode == "input" or nb.n_unstable == 0:
            j = input_split_dim(nb)
            mid = node.lower[j] + (node.upper[j] - node.lower[j]) / 2
            left_hi, right_lo = node.upper.copy(), node.lower.copy()
            left_hi[j] = right_lo[j] = mid  # the two closed halves cover the node
            return [node.child(self.new_ident(), upper, upper=left_hi),
                    node.child(self.new_ident(), upper, lower=right_lo)]
        k, i = phase_split_neuron(self.network, nb)
        return [node.child(self.new_ident(), upper, phase=(k, i, 1)),
                node.child(self.new_ident(), upper, phase=(k, i, 0))]

    def prune_all(self) -> None:
        """Every open node is within the gap: all of them close with their bounds."""
        self.stats["pruned"] += len(self.heap)
        self.close(self.open_upper)
        self.heap = []

    # ------------------------------------------------------------------------------------------ the loop
    def run(self, node_budget: int = 10_000, time_budget: float = 60.0, on_tick=None, tick: float = 0.5,
            stop=None) -> str:
        """Branch until closed, `node_budget` nodes in all (counted over every run of this tree), `time_budget`
        seconds of this call or `stop()` true (status "stopped"); returns and records the status. `on_tick(tree)` is
        called every `tick` seconds."""
        start = last = time.perf_counter()
        # an enumeration inside one node obeys the budget too (it is left incomplete, the node stays open)
        self._halt = lambda: time.perf_counter() - start >= time_budget or (stop is not None and stop())
        try:
            if not self.started:
                self.started = True
                self.process(Node(self.root_lower.copy(), self.root_upper.copy()))
            self.status = "closed"
            while self.heap:
                if self.closing():
                    self.prune_all()
                    break
                if self.stats["nodes"] >= node_budget:
                    self.status = "node_budget"
                    break
                now = time.perf_counter()
                if now - start >= time_budget:
                    self.status = "time_budget"
                    break
                if stop is not None and stop():
                    self.status = "stopped"
                    break
                if on_tick is not None and now - last >= tick:
                    last = now
                    on_tick(self)
                neg, _, node, nb = heapq.heappop(self.heap)
                if nb is None:
                    nb = self.bound(node)
                if node.ident in self.partial:  # its enumeration goes on where a budget stopped it
                    if not self.enumerate(node, nb):
                        self.push(node, -neg, nb)
                    continue
                for ch in self.children(node, -neg, nb):
                    self.process(ch)
            if self.status == "closed" and self.upper > self.lower * (1 + self.options.rel_gap):
                self.status = "inexact_leaves"  # every node finished, but some region's norm is only bounded
        finally:
            self.seconds += time.perf_counter() - start
        return self.status

    # ------------------------------------------------------------------------------------------ leaf MIPs
    def open_nodes(self, count: int) -> list[tuple[float, Node]]:
        """The `count` open nodes of largest bound, (bound, node), largest first: the next leaf instances."""
        return [(-h[0], h[2]) for h in heapq.nsmallest(count, self.heap, key=lambda h: (h[0], h[1]))]

    def apply_leaf(self, ident: int, upper: float | None, finished: bool, lower: float | None = None,
                   point=None) -> bool:
        """A leaf's certified MIP bounds: `upper` (the solver's widened dual bound over the node's sub-box, hence
        over the node) caps the node's bound; `finished` (optimal or at the gap) closes the node with it; a
        certified `lower` is a lower bound of the global L wherever it came from. False if the node is not open."""
        if lower is not None:
            self.offer_lower(lower, point)
        at = next((j for j, h in enumerate(self.heap) if h[1] == ident), None)
        if at is None:
            return False
        neg, _, node, nb = self.heap[at]
        if upper is None:
            return True
        bound = min(-neg, float(upper))
        self.heap[at] = self.heap[-1]
        self.heap.pop()
        heapq.heapify(self.heap)
        if finished or bound <= self.lower * (1 + self.options.rel_gap):
            self.stats["leaves_solved"] += 1
            self.close(bound)
            self.partial.pop(ident, None)
        else:
            self.stats["leaves_tightened"] += 1
            self.push(node, bound, nb)
        return True

    def result(self) -> SplitResult:
        st = self.stats
        return SplitResult(self.lower, self.upper, self.status, st["nodes"], st["pruned"], st["empty"],
                           st["exact_leaves"], st["regions"], st["lps"], len(self.heap), st["max_depth"],
                           self.seconds, self.mode, self.point)


def split(network: Network, box: Box, alpha: str, beta: str, *, branching: str = "auto", node_budget: int = 10_000,
          time_budget: float = 60.0, rel_gap: float = 1e-6, exact_max: int = 12, input_dim_max: int = 8,
          bounds: str = "linear", jacobian: str = "linear", samples: int = 32, root_samples: int = 512,
          max_regions: int = 20_000, sdp: bool = True) -> SplitResult:
    """Certified bounds of L_{alpha->beta} of `network` on `box` by best-first branch and bound (module docstring).

    node_budget counts bounded nodes; time_budget is in seconds (the only source of non-determinism, when hit).
    """
    tree = Tree(network, box, alpha, beta, TreeOptions(branching, rel_gap, exact_max, input_dim_max, bounds,
                                                       jacobian, samples, root_samples, max_regions,
                                                       sdp))
    tree.run(node_budget, time_budget)
    return tree.result()
