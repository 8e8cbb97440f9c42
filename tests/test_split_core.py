"""The solver-free core of the split (lipgen/split, issue 21): on the oracle's tiny nets the certified interval
[lower, upper] contains the exact L and closes to it, for all nine norm pairs and both branching kinds; exact region
enumeration agrees with the oracle region by region; a one-unstable-neuron l2 ball is exact at the root; budgets
stop the tree with a still-sound interval; phases that contradict the box are proven empty."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.networks import oracle_value, random_network, tiny_network, unit_box
from lipgen.bounds import compute_bounds, stabilities
from lipgen.domain import Box
from lipgen.network import NORMS, operator_norm
from lipgen.split import Node, bound_node, enumerate_regions, exact_pattern_value, split
from helpers.oracle import exact_lipschitz, regions

PAIRS = [(a, b) for a in NORMS for b in NORMS]
REL = 1e-6


def assert_brackets(r, exact):
    assert r.lower <= exact * (1 + 1e-12) + 1e-300, (r.lower, exact)
    assert r.upper >= exact * (1 - 1e-12), (r.upper, exact)


@pytest.mark.parametrize("alpha,beta", PAIRS)
@pytest.mark.parametrize("branching,exact_max", [("input", 3), ("phase", 0)])
def test_split_closes_on_L(alpha, beta, branching, exact_max):
    case = 4  # 2 inputs, two hidden layers (5, 4), 3 outputs: every norm pair differs
    net = tiny_network(case)
    exact = oracle_value(case, alpha, beta)
    r = split(net, Box(*unit_box(net.n_inputs)), alpha, beta, branching=branching, exact_max=exact_max,
              node_budget=2000, time_budget=30, rel_gap=REL)
    assert_brackets(r, exact)
    assert r.status == "closed" and r.gap <= REL
    assert r.nodes > 1  # the branching really ran
    assert r.branching == branching


@pytest.mark.parametrize("case,alpha,beta", [(3, "2", "2"), (3, "inf", "2")])
def test_phase_split_other_shapes(case, alpha, beta):
    net = tiny_network(case)
    exact = oracle_value(case, alpha, beta)
    r = split(net, Box(*unit_box(net.n_inputs)), alpha, beta, branching="phase", exact_max=0, node_budget=2000,
              time_budget=30)
    assert_brackets(r, exact)
    assert r.status == "closed" and r.gap <= REL


@pytest.mark.parametrize("case", [1])
def test_enumeration_matches_oracle_regions(case):
    """Without pruning, the enumeration visits exactly the oracle's regions, each with its exact norm."""
    net = tiny_network(case)
    lo, hi = unit_box(net.n_inputs)
    box = Box(lo, hi)
    nb = bound_node(net, Node(lo, hi), "2", "2")
    root_stab = stabilities(net, compute_bounds(net, lo, hi))
    ex = enumerate_regions(net, nb, "2", "2", box, root_stab, prune=False)
    pats = list(regions(net, lo, hi))
    assert ex.complete and ex.regions == len(pats) and ex.pruned == 0
    want = sorted(operator_norm(net.jacobian_of_pattern(p), "2", "2") for p in pats)
    got = sorted(up for up, _ in ex.values)
    assert np.allclose(got, want, rtol=1e-8)
    assert all(low <= up for up, low in ex.values)
    assert ex.upper == pytest.approx(max(want), rel=1e-8) and ex.lower == pytest.approx(max(want), rel=1e-8)


@pytest.mark.parametrize("alpha,beta", PAIRS)
def test_exact_pattern_value_is_a_tight_upper_bound(alpha, beta):
    net = tiny_network(4)
    for p in list(regions(net, *unit_box(2)))[:3]:
        true = operator_norm(net.jacobian_of_pattern(p), alpha, beta)
        up = exact_pattern_value(net, p, alpha, beta)
        assert true <= up <= true * (1 + 1e-8) + 1e-300


def one_unstable_ball():
    """A 6-[12]-4 net and a small l-inf ball on the hyperplane of neuron 0 where only that neuron is unstable."""
    net = random_network(7, 6, [12], 4)
    rng = np.random.default_rng(3)
    w, b = net.weights[0], net.biases[0]
    for _ in range(200):
        x = rng.uniform(-1, 1, 6)
        x = x - (w[0] @ x + b[0]) / (w[0] @ w[0]) * w[0]  # on neuron 0's hyperplane
        z = w @ x + b
        r = 0.5 * np.min(np.abs(z[1:]) / np.abs(w[1:]).sum(axis=1))
        if r > 1e-3:
            return net, x - r, x + r
    raise AssertionError("no ball found")


def test_one_unstable_neuron_l2_is_exact_at_the_root():
    net, lo, hi = one_unstable_ball()
    st = stabilities(net, compute_bounds(net, lo, hi))
    assert sum(int(s.unstable.sum()) for s in st) == 1
    exact = exact_lipschitz(net, lo, hi, "2", "2")
    r = split(net, Box(lo, hi), "2", "2")
    assert_brackets(r, exact)
    assert r.status == "closed" and r.nodes == 1 and r.exact_leaves == 1 and 1 <= r.regions <= 2  # the second may be pruned by its bound
    assert r.gap <= 1e-8


def test_budget_keeps_the_interval_sound():
    case = 7
    net = tiny_network(case)
    exact = oracle_value(case, "inf", "1")
    r = split(net, Box(*unit_box(net.n_inputs)), "inf", "1", branching="input", exact_max=0, node_budget=15)
    assert r.status == "node_budget" and r.open > 0
    assert_brackets(r, exact)
    assert r.upper > r.lower


def test_contradicting_phase_is_empty_and_children_cover():
    net = tiny_network(0)
    lo, hi = unit_box(2)
    bounds = compute_bounds(net, lo, hi)
    st = stabilities(net, bounds)
    k = 0
    dead = int(np.flatnonzero(st[k].inactive)[0]) if st[k].inactive.any() else None
    if dead is not None:  # a stably inactive neuron fixed active: no interior
        assert bound_node(net, Node(lo, hi, ((k, dead, 1),)), "2", "2").empty
    i = int(np.flatnonzero(st[k].unstable)[0])
    parent = bound_node(net, Node(lo, hi), "2", "2")
    kids = [bound_node(net, Node(lo, hi, ((k, i, s),)), "2", "2") for s in (0, 1)]
    assert not any(c.empty for c in kids)
    assert all(c.n_unstable <= parent.n_unstable - 1 for c in kids)


def test_deterministic():
    net = tiny_network(3)
    box = Box(*unit_box(net.n_inputs))
    a = split(net, box, "inf", "1", branching="phase", exact_max=0)
    b = split(net, box, "inf", "1", branching="phase", exact_max=0)
    assert (a.lower, a.upper, a.nodes, a.lps) == (b.lower, b.upper, b.nodes, b.lps)


def test_region_lp_safe_bound_is_above_the_lp_value():
    """The safe dual bound of the inradius is >= HiGHS's optimum and close to it; a box-only LP has t = 1."""
    from lipgen.split import region_lp

    rng = np.random.default_rng(5)
    t, safe, xi = region_lp(np.zeros((0, 3)), np.zeros(0), 3)
    assert t == pytest.approx(1.0) and safe >= 1.0
    for _ in range(20):
        rows = rng.normal(size=(6, 3))
        rows /= np.linalg.norm(rows, axis=1)[:, None]
        consts = rng.normal(scale=0.7, size=6)
        t, safe, xi = region_lp(rows, consts, 3)
        assert safe >= t and safe - t <= 1e-7 * max(1.0, abs(t))
        if t > 0:
            assert np.all(rows @ xi + consts >= t - 1e-9) and np.all(np.abs(xi) <= 1 - t + 1e-9)
