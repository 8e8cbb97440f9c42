"""Nodes that need no solver: the value of an activation region, and a depth-first enumeration of a node's regions.

On a region with interior the network is affine, its Jacobian J_s is one matrix, and the region's contribution to
L is ||J_s||_{alpha->beta}. Three facts make that value certified (docs/formulation.md, sections 1 and 6):

- **Is the region empty?** In the box mapped to [-1, 1]^n (x = c + h xi) every constrained neuron is affine in xi
  on the region, z = a xi + c0, computed in float64 with a rigorous error bound e (gamma times the magnitude of the
  products). The LP maximises the inradius t of {xi in [-1, 1]^n : sg (a xi + c0) + e >= t ||a||} (HiGHS, as in
  tests/oracle.py). It holds the true region, so when the LP's *safe dual bound* of t (Neumaier-Shcherbina: any
  multipliers mu >= 0 give t <= mu.b - sum min(r l, r u) with r = c + A^T mu, evaluated with its rounding error)
  is < 0, the region is empty. Only then is it dropped: an LP tolerance never removes a region.
- **Upper bound**: rigorous entry bounds of the exact product J_s (`jacobian_bounds` with every neuron stable,
  interval method: outward rounding), then ||J|| <= max over the extreme directions of ||mid v| + rad |v|||, rounded
  up: exact for alpha = 1 or beta = inf or 2->2 (`norm_upper`), by enumeration of the input sign vectors for
  inf->beta (at most 16 inputs) and of the output sign vectors for 2->1 (||J||_{2->1} = max_u ||J^T u||_2) and
  inf->1 (= max_u ||J^T u||_1), at most 16 outputs. Otherwise inf->2 and 2->1 go to a branch and bound over sign
  vectors with Nesterov's SDP bound at its nodes (bounds/inf_to_2.py), inf->1 keeps the entry-bound one.
- **Lower bound**: `certify_point` at the LP's centre (it re-checks the pattern in float64 with an error bound),
  with the maximising direction for inf->1 when its own norm would not be exact (`best_direction`).

A region the LP cannot prove empty but too thin to certify still counts with its upper bound: sound, and only
possible for weights not in general position.
"""

from __future__ import annotations

from collections.abc import Callable

from dataclasses import dataclass, field
from itertools import product

import numpy as np

from ..bounds import Stability, jacobian_bounds
from ..bounds.inf_to_2 import inf_to_2_exact
from ..lower.certificate import certify_point
from ..lower.region_lp import region_lp
from ..domain import Box
from ..network import Network
from ..rounding import gamma, round_up

MAX_ENUM = 16  # sign-vector enumeration up to 2^15 vectors (v and -v give the same norm)
LEAF_NODES = 2000  # branch-and-bound nodes for one region's inf->2 or 2->1 norm (bounds/inf_to_2.py: 5-20 ms each),
# the most: a node with u unstable neurons gives each of its (at most 2^u) regions 4000 / 2^u, at least 50


def _half_signs(k: int) -> np.ndarray:
    rest = np.array(list(product((-1.0, 1.0), repeat=k - 1)), dtype=np.float64).reshape(2 ** (k - 1), k - 1)
    return np.hstack([np.ones((len(rest), 1)), rest])


def exact_norm_upper(jb, alpha: str, beta: str, enough: float = 0.0) -> float:
    """A certified upper bound of ||J|| for every J in the entry bounds `jb.jacobian`, tight for a point enclosure
    (`enough`: a value below which the bound need not be tight)."""
    return exact_norm_upper_with_direction(jb, alpha, beta, enough)[0]


def exact_norm_upper_with_direction(jb, alpha: str, beta: str, enough: float = 0.0,
                                    halt: Callable[[], bool] | None = None,
                                    nodes: int = LEAF_NODES) -> tuple[float, np.ndarray | None]:
    """(`exact_norm_upper`, the maximising direction where the bound came with one: inf->2 and 2->1 by a branch and
    bound of at most `nodes` nodes, stopped early by `halt()`, else None)."""
    base = float(jb.norm_upper(alpha, beta))
    if base <= enough:
        return base, None  # below what is needed already
    if alpha == "1" or beta == "inf" or (alpha == "2" and beta == "2"):
        return base, None  # norm_upper is already tight there (column / row norms, certified spectral norm)
    lo, hi = jb.jacobian.lower, jb.jacobian.upper
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        return base, None
    mid = lo + 0.5 * (hi - lo)
    rad = np.nextafter(np.maximum(hi - mid, mid - lo) * (1.0 + 2.0 ** -51), np.inf)
    m, n = mid.shape
    if alpha == "inf" and n <= MAX_ENUM:  # max over vertices v of the inf-ball of ||J v||_beta
        v = _half_signs(n)
        y = np.abs(v @ mid.T) + (rad.sum(axis=1) + gamma(n + 2) * np.abs(mid).sum(axis=1)) * (1 + 2 * gamma(n + 2))
    elif beta == "1" and alpha in ("inf", "2") and m <= MAX_ENUM:
        # ||J||_{a->1} = max over sign vectors u of ||J^T u||_{a*}: inf->1 takes the l1 norm, 2->1 the l2 norm
        u = _half_signs(m)
        y = np.abs(u @ mid) + (rad.sum(axis=0) + gamma(m + 2) * np.abs(mid).sum(axis=0)) * (1 + 2 * gamma(m + 2))
    elif (alpha, beta) in (("inf", "2"), ("2", "1")):
        # ||mid||_{inf->2} by branch and bound over signs (SDP bounds), plus the radius: ||J v|| <= ||mid v|| +
        # ||rad |v|||; 2->1 is inf->2 of the transpose, its direction J^T u / ||J^T u|| for the signs u found
        mid_t, rad_t = (mid, rad) if alpha == "inf" else (mid.T, rad.T)
        spread = round_up(float(np.linalg.norm(rad_t.sum(axis=1))), rad_t.size)
        bb = inf_to_2_exact(mid_t, enough=enough, max_nodes=nodes, halt=halt)
        direction = bb.signs if alpha == "inf" else mid.T @ bb.signs
        if alpha == "2" and np.any(direction):
            direction = direction / np.linalg.norm(direction)
        return min(base, float(np.nextafter(bb.upper + spread, np.inf))), direction
    else:
        return base, None
    y = np.nextafter(y, np.inf)
    scale = -int(np.frexp(max(float(np.max(y)), 1e-300))[1])  # exact power of two: no square under- or overflows
    ys = np.ldexp(y, scale)
    if alpha == "2":  # 2->1: the l2 norm of J^T u
        vals = np.sqrt(np.sum(ys * ys, axis=1))
    elif beta == "1":
        vals = ys.sum(axis=1)
    else:  # beta == "2"
        vals = np.sqrt(np.sum(ys * ys, axis=1))
    value = float(np.nextafter(np.ldexp(round_up(float(vals.max()), ys.shape[1]), -scale), np.inf))
    return min(base, value), None


def best_direction(network: Network, pattern, alpha: str, beta: str) -> np.ndarray | None:
    """A maximising direction where `certify_point`'s own norm is not exact: inf->1 with many inputs, few outputs
    (v = sign(J^T u) for the best output sign vector u). None otherwise."""
    if not (alpha == "inf" and beta == "1"):
        return None
    j = network.jacobian_of_pattern([np.asarray(p, float) for p in pattern])
    m, n = j.shape
    if n <= MAX_ENUM or m > MAX_ENUM:
        return None
    cand = _half_signs(m) @ j
    return np.sign(cand[int(np.argmax(np.abs(cand).sum(axis=1)))])


@dataclass
class ExactResult:
    """The enumeration's certified bounds over a node: lower <= L(node) ... upper >= L(node)."""

    lower: float = 0.0
    upper: float = 0.0
    lower_point: np.ndarray | None = None
    regions: int = 0  # regions evaluated (LP not proving them empty)
    lps: int = 0
    pruned: int = 0  # branches closed by their Jacobian bound
    empty: int = 0  # branches proven empty
    complete: bool = True  # False when the region budget stopped it: upper then bounds only the part enumerated
    values: list = field(default_factory=list)  # (upper, lower) per region, in order
    # where an incomplete enumeration stopped: the branch signs (1 active, 0 inactive) from the root of the
    # depth-first order down to the first branch not begun; every branch before it is finished and in `upper`
    resume: list[float] | None = None


def enumerate_regions(network: Network, nb, alpha: str, beta: str, root_box: Box, root_stab: list[Stability],
                      best_lower: float = 0.0, max_regions: int = 100_000, prune_rel: float = 0.0,
                      prune: bool = True, prune_method: str = "interval",
                      halt: Callable[[], bool] | None = None, resume: list[float] | None = None) -> ExactResult:
    """All regions with interior of a node (a `NodeBound`), depth first in layer order, one LP per branch.

    The neurons unstable in the node's (clamped) stability are branched; neurons unstable on the plain sub-box but
    stable in the node (fixed phases and their consequences) get their constraint row too, so the LP's set is
    exactly the node's part of the region. A branch whose interval Jacobian bound (remaining neurons d in [0, 1])
    is <= the best certified value so far times (1 + prune_rel) is pruned and counts with that bound (unless
    `prune` is False: every region is then visited, as the tests compare with the oracle). `prune_method`: the
    Jacobian bounds method of that test (interval or linear). `halt()` true (a time budget spent, a stop asked)
    ends the enumeration early, incomplete, like `max_regions`; its certified lower value stays valid, and
    `resume` (an earlier result's) continues it: the branches before that path are skipped, so the maximum of both
    results' `upper` bounds the node once the second is complete.
    """
    node = nb.node
    lower, upper = np.asarray(node.lower, float), np.asarray(node.upper, float)
    center, half = (lower + upper) / 2, (upper - lower) / 2
    n = network.n_inputs
    n_hidden = network.n_hidden_layers
    depth_terms = sum(network.widths) + 8
    stab, box_stab = nb.stability, nb.box_stability
    res = ExactResult(lower=best_lower)
    pattern = [np.where(s.active, 1.0, 0.0) for s in stab]
    unstable = [s.unstable.copy() for s in stab]
    # a region's norm by branch and bound (inf->2, 2->1): the more regions the node may have, the fewer nodes each
    leaf_nodes = int(np.clip(LEAF_NODES * 2 >> min(sum(int(u.sum()) for u in unstable), 20), 50, LEAF_NODES))
    path: list[float] = []  # the signs of the branches being descended, root first
    skip = list(resume or [])  # while `path` follows it, the branches it passed are finished: skipped

    def partial_bound() -> float:
        st = [Stability(np.array(p > 0.5) & ~u, np.array(p < 0.5) & ~u, u.copy()) for p, u in zip(pattern, unstable)]
        return float(jacobian_bounds(network, stability=st, method=prune_method).norm_upper(alpha, beta))

    last = {"consts": None, "lp": None}  # the last branch's LP: the leaf reuses it when no row was added since

    def leaf(rows, consts):
        if last["consts"] is consts:
            t, t_safe, xi = last["lp"]
        else:
            res.lps += 1
            t, t_safe, xi = region_lp(rows, consts, n)
        if t_safe < 0:
            res.empty += 1
            return
        st = [Stability(p > 0.5, p < 0.5, np.zeros(len(p), bool)) for p in pattern]
        jb = jacobian_bounds(network, stability=st, method="interval")
        # a region resumed into gets its branch and bound to the end (progress); otherwise a budget that stops it
        # stops the enumeration before this region, which the next run redoes from here
        again = resume is not None and path == skip
        cut = halt if halt is not None and not again else None
        up, direction = exact_norm_upper_with_direction(jb, alpha, beta, enough=res.lower * (1 + prune_rel), halt=cut,
                                                        nodes=leaf_nodes)
        if cut is not None and cut():
            res.complete = False
            if res.resume is None:
                res.resume = list(path)
            return
        res.regions += 1
        low = 0.0
        if t > 0:
            if direction is None:
                direction = best_direction(network, pattern, alpha, beta)
            cert = certify_point(network, root_box, alpha, beta, center + half * xi, direction, stability=root_stab)
            if cert.value is not None:
                low = float(cert.value)
                if low > res.lower:
                    res.lower, res.lower_point = low, center + half * xi
        res.upper = max(res.upper, up)
        res.values.append((up, low))

    def add_row(rows, consts, a_i, c_i, e_i, sg):
        """Row sg (a xi + c) + e >= t ||a||, normalised; None when a zero row makes it impossible."""
        norm = float(np.linalg.norm(a_i))
        if norm == 0.0:
            return (rows, consts) if sg * c_i + e_i >= 0 else None
        return np.vstack([rows, sg * a_i / norm]), np.append(consts, (sg * c_i + e_i) / norm)

    def within(inside, rows, consts):
        """`inside` if it is still strictly inside after the last row was added (else None: an LP must decide)."""
        if inside is None or not len(rows) or rows[-1] @ inside + consts[-1] > 0:
            return inside
        return None

    def layer(k, a, c, mag, cmag, rows, consts, inside):
        if not res.complete:
            return
        if k == n_hidden:
            leaf(rows, consts)
            return
        w, b = network.weights[k], network.biases[k]
        zA, zC = w @ a, w @ c + b
        zmag, zcmag = np.abs(w) @ mag, np.abs(w) @ cmag + np.abs(b)
        err = 2 * gamma(depth_terms) * (zmag.sum(axis=1) + zcmag)  # |float form - exact z| on the box
        for i in np.flatnonzero(box_stab[k].unstable & ~stab[k].unstable):  # stable only inside the node
            out = add_row(rows, consts, zA[i], zC[i], err[i], 1.0 if pattern[k][i] > 0.5 else -1.0)
            if out is None:
                res.empty += 1
                return
            inside = within(inside, *out) if out[1] is not consts else inside
            rows, consts = out
        todo = list(np.flatnonzero(stab[k].unstable))
        branch(k, todo, 0, zA, zC, zmag, zcmag, err, rows, consts, inside)

    def branch(k, todo, j, zA, zC, zmag, zcmag, err, rows, consts, inside):
        """`inside`: a point strictly inside the branch's polyhedron, or None. A child that keeps it inside is not
        empty, so it needs no LP (one of the two children keeps it, unless it lies on the new hyperplane)."""
        if not res.complete:
            return
        if j == len(todo):
            d = pattern[k]
            layer(k + 1, d[:, None] * zA, d * zC, d[:, None] * zmag, d * zcmag, rows, consts, inside)
            return
        i = todo[j]
        d = len(path)
        following = d < len(skip) and path == skip[:d]
        for sign in (1.0, 0.0):
            if following and sign > skip[d]:  # 1 comes before 0: finished before the resumed stop
                continue
            back = following and sign == skip[d]  # back into the branch of the stop: no check, so it progresses
            if not back and (res.regions >= max_regions or (halt is not None and halt())):
                res.complete = False
                if res.resume is None:  # the deepest call stops first: its path is the precise one
                    res.resume = path + [sign]
                return
            out = add_row(rows, consts, zA[i], zC[i], err[i], 1.0 if sign else -1.0)
            if out is None:
                res.empty += 1
                continue
            pattern[k][i], unstable[k][i] = sign, False
            # the bound first: it is cheaper than the LP, and a pruned branch needs no emptiness proof
            bound = partial_bound() if prune else np.inf
            if prune and bound <= res.lower * (1 + prune_rel):
                res.pruned += 1
                res.upper = max(res.upper, bound)
            else:
                child = within(inside, *out) if out[1] is not consts else inside
                empty = False
                if child is None:
                    res.lps += 1
                    lp = region_lp(*out, n)
                    last["consts"], last["lp"] = out[1], lp
                    empty, child = lp[1] < 0, (lp[2] if lp[0] > 0 else None)
                if empty:
                    res.empty += 1
                else:
                    path.append(sign)
                    branch(k, todo, j + 1, zA, zC, zmag, zcmag, err, *out, child)
                    path.pop()
            pattern[k][i], unstable[k][i] = 0.0, True
            if not res.complete:
                return

    layer(0, np.diag(half), center.copy(), np.diag(np.abs(half)), np.abs(center), np.zeros((0, n)), np.zeros(0),
          np.zeros(n))  # the box's centre is inside while there is no row
    return res


def exact_pattern_value(network: Network, pattern: list[np.ndarray], alpha: str, beta: str) -> float:
    """A certified upper bound of ||J_s||_{alpha->beta} for one pattern (exact up to rounding where enumerable)."""
    st = [Stability(np.asarray(p) > 0.5, np.asarray(p) < 0.5, np.zeros(len(p), bool)) for p in pattern]
    return exact_norm_upper(jacobian_bounds(network, stability=st, method="interval"), alpha, beta)


def node_region_lp(network: Network, nb) -> tuple[bool, np.ndarray | None]:
    """Is the node's region proven empty by its linear part? (proven_empty, an interior point of that part or None).

    The layers before the first one with an unstable neuron (in the node's clamped stability) are affine on the
    region, so every neuron of the layers up to and including that one has an exact affine form there; the
    constraints of their fixed phases (and of the neurons stable only inside the node) are linear. The region lies in
    this polyhedron, so a safe dual bound < 0 (see `region_lp`) proves it empty.
    """
    node = nb.node
    if not node.phases:
        return False, None
    lower, upper = np.asarray(node.lower, float), np.asarray(node.upper, float)
    center, half = (lower + upper) / 2, (upper - lower) / 2
    n = network.n_inputs
    depth_terms = sum(network.widths) + 8
    a, c, mag, cmag = np.diag(half), center.copy(), np.diag(np.abs(half)), np.abs(center)
    rows, consts = [], []
    for k in range(network.n_hidden_layers):
        w, b = network.weights[k], network.biases[k]
        zA, zC = w @ a, w @ c + b
        zmag, zcmag = np.abs(w) @ mag, np.abs(w) @ cmag + np.abs(b)
        err = 2 * gamma(depth_terms) * (zmag.sum(axis=1) + zcmag)
        st, bst = nb.stability[k], nb.box_stability[k]
        for i in np.flatnonzero(bst.unstable & ~st.unstable):
            sg = 1.0 if st.active[i] else -1.0
            norm = float(np.linalg.norm(zA[i]))
            if norm == 0.0:
                if sg * zC[i] + err[i] < 0:
                    return True, None
                continue
            rows.append(sg * zA[i] / norm)
            consts.append((sg * zC[i] + err[i]) / norm)
        if st.unstable.any():
            break
        d = st.active.astype(float)
        a, c, mag, cmag = d[:, None] * zA, d * zC, d[:, None] * zmag, d * zcmag
    if not rows:
        return False, None
    t, t_safe, xi = region_lp(np.array(rows), np.array(consts), n)
    if t_safe < 0:
        return True, None
    return False, (center + half * xi if t > 0 else None)
