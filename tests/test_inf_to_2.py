"""The l-inf -> l2 norm (and 2 -> 1, its transpose) beyond sign enumeration: Nesterov's SDP bound and the branch and
bound over signs (lipgen/bounds/inf_to_2.py), checked against enumerating every sign vector, on hostile matrices
too; the split tree's leaves with more than 16 inputs (inf -> 2) or outputs (2 -> 1) closed on L."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from helpers.halts import halt_after
from helpers.networks import random_network
from helpers.oracle import regions
from lipgen.bounds import compute_bounds, stabilities
from lipgen.bounds.inf_to_2 import inf_to_2_exact, inf_to_2_upper
from lipgen.domain import Box
from lipgen.network import inf_to_2_by_signs, operator_norm_upper
from lipgen.split import Node, bound_node, enumerate_regions, split

pytestmark = pytest.mark.fast


def enumerated(a: np.ndarray) -> float:
    """max over all sign vectors s of ||A s||_2, in float64 (an independent check, not a proof)."""
    signs = np.array(list(product((-1.0, 1.0), repeat=a.shape[1])))
    e = int(np.frexp(np.max(np.abs(a)))[1]) if np.any(a) else 0  # scaled by a power of two: no square underflows
    return float(np.ldexp(np.linalg.norm(signs @ np.ldexp(a, -e).T, axis=1).max(), e))


def matrices() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    out = [(f"random{k}", rng.normal(size=(int(rng.integers(1, 6)), int(rng.integers(2, 13))))) for k in range(6)]
    scaled = rng.normal(size=(4, 10)) * 10.0 ** rng.uniform(-6, 6, size=(1, 10))  # per-column scales 1e-6..1e6
    zero = rng.normal(size=(3, 9))
    zero[:, [0, 4]] = 0.0
    rank_one = np.outer(rng.normal(size=4), rng.normal(size=11))
    dup = rng.normal(size=(3, 5))
    out += [("scaled", scaled), ("zero-columns", zero), ("rank-one", rank_one), ("duplicates", np.hstack([dup, -dup])),
            ("one-row", rng.normal(size=(1, 12))), ("one-column", rng.normal(size=(5, 1))),
            ("tiny", rng.normal(size=(3, 8)) * 1e-200), ("huge", rng.normal(size=(3, 8)) * 1e150)]
    return out


@pytest.mark.parametrize("name,a", matrices(), ids=[n for n, _ in matrices()])
def test_sdp_bound_is_above_the_norm_and_below_the_row_norm_bound(name, a):
    exact = enumerated(a)
    up = inf_to_2_upper(a)
    assert up >= exact * (1 - 1e-15)
    assert up <= operator_norm_upper(a, "inf", "2") * (1 + 1e-6)  # never looser than the bound it replaces
    value, s = inf_to_2_by_signs(a)
    assert value <= exact * (1 + 1e-12) and np.linalg.norm(a @ s) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("name,a", matrices(), ids=[n for n, _ in matrices()])
def test_branch_and_bound_closes_on_the_enumerated_norm(name, a):
    exact = enumerated(a)
    r = inf_to_2_exact(a)
    assert r.closed and r.value <= exact * (1 + 1e-12) and r.upper >= exact * (1 - 1e-15)
    assert r.upper <= exact * (1 + 1e-6)
    assert np.linalg.norm(a @ r.signs) == pytest.approx(r.value, rel=1e-12) and set(np.abs(r.signs)) == {1.0}


def test_stopped_branch_and_bound_still_bounds_the_norm():
    a = np.random.default_rng(3).normal(size=(5, 14))
    exact = enumerated(a)
    for r in (inf_to_2_exact(a, max_nodes=1), inf_to_2_exact(a, enough=1e9), inf_to_2_exact(a, halt=lambda: True)):
        assert r.upper >= exact * (1 - 1e-15) and r.value <= exact * (1 + 1e-12)
    assert inf_to_2_exact(a, enough=1e9).closed  # nothing above `enough` is left open
    assert inf_to_2_upper(np.array([[np.inf, 1.0]])) == np.inf


def oracle_l(net, lo, hi, alpha: str, beta: str) -> float:
    """L over the box: every region of the oracle (one LP each), its Jacobian's norm by enumerating signs."""
    best = 0.0
    for pattern in regions(net, lo, hi):
        m = net.jacobian_of_pattern([np.asarray(p, float) for p in pattern])
        best = max(best, enumerated(m if alpha == "inf" else m.T))
    return best


@pytest.mark.parametrize("alpha,beta,shape", [("inf", "2", (17, [3], 4)), ("2", "1", (3, [3], 17))],
                         ids=["inf->2, 17 inputs", "2->1, 17 outputs"])
def test_split_tree_closes_mixed_norms_beyond_enumeration(alpha, beta, shape):
    n_in, hidden, n_out = shape
    net = random_network(11, n_in, hidden, n_out)
    lo, hi = -np.ones(n_in), np.ones(n_in)
    exact = oracle_l(net, lo, hi, alpha, beta)
    r = split(net, Box(lo, hi), alpha, beta, time_budget=60, rel_gap=1e-6)
    assert r.lower <= exact * (1 + 1e-9) and r.upper >= exact * (1 - 1e-9)
    assert r.status == "closed" and r.gap <= 1e-6



@pytest.mark.parametrize("every", [2, 3, 5])
def test_a_budget_inside_a_region_branch_and_bound_redoes_that_region(every):
    """halt() firing inside a region's branch and bound stops the enumeration before that region; resumed, the
    region gets its branch and bound to the end: the pieces together are one uninterrupted enumeration."""
    net = random_network(11, 17, [3], 4)
    lo, hi = -np.ones(17), np.ones(17)
    nb = bound_node(net, Node(lo, hi), "inf", "2")
    root_stab = stabilities(net, compute_bounds(net, lo, hi))
    whole = enumerate_regions(net, nb, "inf", "2", Box(lo, hi), root_stab, prune=False)
    pieces, resume = [], None
    for _ in range(200):
        ex = enumerate_regions(net, nb, "inf", "2", Box(lo, hi), root_stab, prune=False, halt=halt_after(every),
                               resume=resume)
        pieces.append(ex)
        if ex.complete:
            break
        resume = ex.resume
    assert pieces[-1].complete and len(pieces) > 1
    assert sum(p.regions for p in pieces) == whole.regions
    assert max(p.upper for p in pieces) == pytest.approx(whole.upper, rel=1e-12)
    assert max(p.lower for p in pieces) == pytest.approx(whole.lower, rel=1e-12)
