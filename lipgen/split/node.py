"""A node of the split tree: a sub-box of the input domain and a set of neurons with a fixed phase (issue 21).

The node's *region* is {x in the sub-box : z_{k,i}(x) >= 0 for every neuron fixed active, <= 0 for every neuron
fixed inactive}. Children of a node cover it: two halves of a box cover the box, and the two phases of one neuron
cover every point (z >= 0 or z <= 0). Every activation region with interior in the parent meets a child in a set
with interior, so L restricted to the parent is the maximum of L over its children, and a node's upper bound
only has to hold for the regions with interior inside it.

Bounding (`bound_node`), and why it is sound:

- pre-activation bounds of the *unrestricted* sub-box (`compute_bounds`) hold on the node's region, a subset;
- a fixed-active neuron's bounds are clamped to [max(l, 0), u], a fixed-inactive one's to [l, min(u, 0)] and its
  output to 0: exactly the phase constraint, true at every point of the region. The clamped intervals are pushed
  through the following layers (interval arithmetic, rounded outwards) and intersected with the sub-box's bounds;
  an empty intersection proves the region empty;
- the hidden layers are classified from the clamped bounds and every fixed neuron is *stable* in its phase: on the
  interior of an activation region inside the node the neuron has that sign, so its derivative is that phase's
  (where z = 0 on a set with interior its row is zero and either value gives the same Jacobian). Fixing D to the
  phase therefore only removes Clarke-Jacobian elements outside the node, and `jacobian_bounds(...).norm_upper`
  with this stability bounds ||J|| on every region of the node;
- with `bounds="obbt"` and fixed phases, the clamped linear bounds are tightened by OBBT over the LP relaxation of
  the region itself (bounds/obbt.py: each fixed neuron's phase as a constraint, a = z or a = 0), then clamped
  again: every point of the region is feasible for that LP, so its safe dual bounds hold there;
- a child's bound is also capped by its parent's (its region is a subset).

The certified lower bound (`sample_lower`) is `certify_point` with the *root* box and the root's stability: a
certificate from any point of the domain is a lower bound of the global L, whatever node sampled it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..bounds import LayerBounds, Stability, compute_bounds, jacobian_bounds, stabilities
from ..bounds.methods import region_obbt
from ..lower.certificate import certify_point
from ..domain import Box
from ..network import Network, operator_norm
from ..rounding import gamma

Phase = tuple[int, int, int]  # (hidden layer index from 0, neuron, 1 active / 0 inactive)


@dataclass(frozen=True)
class Node:
    """A sub-box [lower, upper] and fixed phases; `parent_upper` caps its bound (inf at the root)."""

    lower: np.ndarray
    upper: np.ndarray
    phases: tuple[Phase, ...] = ()
    depth: int = 0
    parent_upper: float = float("inf")
    ident: int = 0  # creation order: the deterministic tie-break and sampling seed

    def fixed(self) -> dict[tuple[int, int], int]:
        return {(k, i): s for k, i, s in self.phases}

    def child(self, ident: int, parent_upper: float, lower=None, upper=None, phase: Phase | None = None) -> Node:
        return Node(self.lower if lower is None else lower, self.upper if upper is None else upper,
                    self.phases + ((phase,) if phase is not None else ()), self.depth + 1, parent_upper, ident)


@dataclass
class NodeBound:
    """The bounds of one node. `empty`: its region is proven to have no interior (upper = 0)."""

    node: Node
    upper: float
    empty: bool = False
    layer_bounds: list[LayerBounds] | None = None  # clamped, valid on the node's region
    box_stability: list[Stability] | None = None  # classification of the unrestricted sub-box
    stability: list[Stability] | None = None  # clamped: fixed neurons stable in their phase
    jac: object = None  # the JacobianBounds
    n_unstable: int = 0
    lower: float = 0.0  # best certified lower bound found at the node (a lower bound of the global L)
    lower_point: np.ndarray | None = None
    info: dict = field(default_factory=dict)


def _affine_up(w: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Rigorous bounds of w x + b over lo <= x <= hi: float result widened by gamma_{n+4} times its terms' magnitude."""
    wp, wm = np.maximum(w, 0.0), np.maximum(-w, 0.0)
    g = gamma(w.shape[1] + 4)
    low = (wp @ lo - wm @ hi + b) - g * (wp @ np.abs(lo) + wm @ np.abs(hi) + np.abs(b))
    up = (wp @ hi - wm @ lo + b) + g * (wp @ np.abs(hi) + wm @ np.abs(lo) + np.abs(b))
    return low, up


def clamp_bounds(network: Network, bounds: list[LayerBounds], fixed: dict[tuple[int, int], int]):
    """Bounds valid on the node's region: phases clamped, pushed forward, intersected. None if proven empty."""
    out = [LayerBounds(b.lower.copy(), b.upper.copy()) for b in bounds]
    if not fixed:
        return out
    first = min(k for k, _ in fixed)
    for k in range(first, network.n_hidden_layers):
        lo, hi = out[k].lower, out[k].upper
        for (kk, i), s in fixed.items():
            if kk != k:
                continue
            if s:
                lo[i] = max(lo[i], 0.0)
            else:
                hi[i] = min(hi[i], 0.0)
        if np.any(lo > hi):
            return None
        off = np.array([fixed.get((k, i), 1) == 0 for i in range(len(hi))], dtype=bool)
        post_lo, post_hi = np.maximum(lo, 0.0), np.where(off, 0.0, np.maximum(hi, 0.0))
        nlo, nhi = _affine_up(network.weights[k + 1], network.biases[k + 1], post_lo, post_hi)
        nxt = out[k + 1]
        nxt.lower, nxt.upper = np.maximum(nxt.lower, nlo), np.minimum(nxt.upper, nhi)
        if np.any(nxt.lower > nxt.upper):
            return None
    return out


def fix_stability(stab: list[Stability], fixed: dict[tuple[int, int], int]) -> list[Stability]:
    """A copy of `stab` with every fixed neuron stable in its phase."""
    out = [Stability(s.active.copy(), s.inactive.copy(), s.unstable.copy()) for s in stab]
    for (k, i), s in fixed.items():
        out[k].active[i], out[k].inactive[i], out[k].unstable[i] = bool(s), not s, False
    return out


def bound_node(network: Network, node: Node, alpha: str, beta: str, *, bounds: str = "linear",
               jacobian: str = "linear") -> NodeBound:
    """Pre-activation and Jacobian bounds of a node (module docstring); no lower bound yet."""
    fixed = node.fixed()
    phased_obbt = bounds == "obbt" and bool(fixed)  # OBBT under the node's phases, after the clamp below
    raw = compute_bounds(network, node.lower, node.upper, "linear" if phased_obbt else bounds)
    box_stab = stabilities(network, raw)
    for (k, i), s in fixed.items():  # a phase against the sub-box's own sign: no interior (see docstring)
        if (s and raw[k].upper[i] < 0) or (not s and raw[k].lower[i] > 0):
            return NodeBound(node, 0.0, empty=True)
    clamped = clamp_bounds(network, raw, fixed)
    if clamped is not None and phased_obbt:
        clamped = clamp_bounds(network, region_obbt(network, node.lower, node.upper, clamped, fixed), fixed)
    if clamped is None:
        return NodeBound(node, 0.0, empty=True)
    stab = fix_stability(stabilities(network, clamped), fixed)
    jb = jacobian_bounds(network, stability=stab, method=jacobian)
    upper = min(float(jb.norm_upper(alpha, beta)), node.parent_upper)
    n_unst = int(sum(int(s.unstable.sum()) for s in stab))
    return NodeBound(node, upper, False, clamped, box_stab, stab, jb, n_unst)


def satisfies(network: Network, xs: np.ndarray, fixed: dict[tuple[int, int], int]) -> np.ndarray:
    """Which points of a batch lie strictly inside the node's phases (float64 check, used only to choose points)."""
    ok = np.ones(len(xs), dtype=bool)
    if fixed:
        zs = network.preactivations(xs)
        for (k, i), s in fixed.items():
            ok &= (zs[k][:, i] > 0) if s else (zs[k][:, i] < 0)
    return ok


def sample_lower(network: Network, node: Node, alpha: str, beta: str, root_box: Box, root_stab: list[Stability],
                 best: float = 0.0, n: int = 32, certify: int = 2, extra=None) -> tuple[float, np.ndarray | None]:
    """The best certified lower bound of L from `n` points of the node's sub-box (deterministic, seeded by the node).

    Points inside the node's phases come first; the `certify` best float64 estimates (one per distinct pattern) are
    certified with `certify_point` on the root box: each certificate is a lower bound of the global L. Points whose
    estimate is not above `best` are not certified (a certificate never exceeds the estimate by more than rounding).
    `extra`: a point to try first (e.g. an LP's interior point of the node).
    """
    rng = np.random.default_rng(1_000_003 + node.ident)
    xs = node.lower + (node.upper - node.lower) * rng.random((n, len(node.lower)))
    xs = np.vstack(([np.asarray(extra, float)] if extra is not None else []) + [(node.lower + node.upper) / 2, xs])
    inside = satisfies(network, xs, node.fixed())
    zs = network.preactivations(xs)
    masks = [(z > 0) for z in zs[:-1]]
    js = network.pattern_jacobians(masks)
    keys, cand = set(), []
    for j, m_in, x, *pat in zip(js, inside, xs, *masks):
        key = b"".join(np.packbits(p).tobytes() for p in pat)
        if key in keys:
            continue
        keys.add(key)
        cand.append((not m_in, -operator_norm(j, alpha, beta, exact=False), len(cand), x))
    cand.sort(key=lambda c: c[:3])
    best_x, floor = None, best
    exact_estimate = alpha == "1" or beta == "inf" or alpha == beta == "2"  # else the estimate may be low
    for _, neg, _, x in cand[:certify]:
        if exact_estimate and -neg <= floor * (1 + 1e-12):
            continue
        cert = certify_point(network, root_box, alpha, beta, x, stability=root_stab)
        if cert.value is not None and cert.value > best:
            best, best_x = float(cert.value), x
    return best, best_x
