"""The SDP upper bound of l2 constants (lipgen/bounds/sdp.py): never below L (exact rational oracle, hostile nets
included), its float64 check refuses what is not proven, and it reaches run's sources for l2 only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.exact_oracle import exact_lipschitz
from helpers.hostile import all_nets
from helpers.networks import SHAPES, random_network, tiny_network, unit_box

from lipgen.bounds import interval_bounds, stabilities
from lipgen.bounds.sdp import CLARABEL_DIM, _barrier, _certify, _kept, _pieces, _solve, sdp_upper, verified
from lipgen.domain import Box
from lipgen.instance.generate import generate
from lipgen.network import Network
from lipgen.results.bounds import SDP_SOURCE, combine
from lipgen.split.plan import split_plan
from lipgen.split.tree import split

pytestmark = pytest.mark.fast


def _stab(net: Network, lo, hi):
    return stabilities(net, interval_bounds(net, np.asarray(lo, float), np.asarray(hi, float)))


@pytest.mark.parametrize("net", [tiny_network(c) for c in range(len(SHAPES))] + all_nets(), ids=lambda n: n.name)
def test_the_sdp_bound_is_never_below_l(net):
    lo, hi = unit_box(net.n_inputs)
    r = sdp_upper(net, _stab(net, lo, hi))
    low, _ = exact_lipschitz(net, lo, hi, "2", "2")
    if r.value is None:  # allowed (the check may refuse), but then it says why
        assert r.reason
        return
    assert r.value >= low, (r.value, low, r.reason)


def test_a_one_layer_net_gets_a_tight_bound():
    net = tiny_network(3)  # (4, [6], 1): L 1.6814409, the SDP 1.6814412
    lo, hi = unit_box(4)
    low, high = exact_lipschitz(net, lo, hi, "2", "2")
    r = sdp_upper(net, _stab(net, lo, hi))
    assert low <= r.value <= high * (1 + 1e-6)


@pytest.mark.parametrize("case", range(len(SHAPES)))
def test_the_barrier_method_is_as_tight_as_clarabel(case):
    net = tiny_network(case)
    lo, hi = unit_box(net.n_inputs)
    ws = _kept(net, _stab(net, lo, hi))
    d, offsets, g, v = _pieces(ws)
    ours = min(c for c in (_certify(d, offsets, g, v, ws[-1], f) for f in _barrier(d, offsets, g, v, ws)) if c)
    theirs = _certify(d, offsets, g, v, ws[-1], _solve(d, offsets, g, v, ws[-1], 0.0))
    assert ours[0] <= theirs[0] * (1 + 1e-6), (ours, theirs)


def test_a_net_too_large_for_clarabel_gets_a_bound_between_sampled_norms_and_the_norm_product():
    net = random_network(5, 20, [60, 60], 5)
    lo, hi = unit_box(20)
    r = sdp_upper(net, _stab(net, lo, hi))
    assert r.dim > CLARABEL_DIM and "barrier" in r.reason
    rng = np.random.default_rng(0)
    sampled = 0.0
    for x in rng.uniform(lo, hi, size=(300, 20)):  # each point's Jacobian: a lower bound of L
        jac, h = np.eye(20), x
        for w, b in zip(net.weights[:-1], net.biases[:-1]):
            u = w @ h + b
            jac, h = (w * (u > 0)[:, None]) @ jac, np.maximum(u, 0)
        sampled = max(sampled, np.linalg.norm(net.weights[-1] @ jac, 2))
    product = np.prod([np.linalg.norm(w, 2) for w in net.weights])
    assert sampled <= r.value < product, (sampled, r.value, product)


def test_the_float64_check_refuses_a_rho_below_the_optimum():
    net = tiny_network(1)
    lo, hi = unit_box(net.n_inputs)
    ws = _kept(net, _stab(net, lo, hi))
    d, offsets, g, v = _pieces(ws)
    t, rho = _solve(d, offsets, g, v, ws[-1], 0.0)
    assert verified(d, offsets, g, v, t, rho * 1.01, ws[-1])
    assert not verified(d, offsets, g, v, t, rho * 0.9, ws[-1])  # below the optimum no T works
    assert not verified(d, offsets, g, v, np.zeros_like(t), rho * 10, ws[-1])  # T = 0 leaves F^T F > 0


def test_too_large_a_matrix_and_an_affine_net_give_no_bound_and_say_why():
    net = tiny_network(0)
    lo, hi = unit_box(net.n_inputs)
    r = sdp_upper(net, _stab(net, lo, hi), max_dim=3)
    assert r.value is None and "order" in r.reason
    dead = Network([np.eye(2), np.ones((1, 2))], [np.full(2, -5.0), np.zeros(1)], name="dead")  # never active
    r = sdp_upper(dead, _stab(dead, -np.ones(2), np.ones(2)))
    assert r.value is None and "affine" in r.reason


def test_l2_instances_carry_the_sdp_anchor_and_the_summary_uses_it(tmp_path):
    net = tiny_network(3)
    box = Box(*unit_box(4))
    sc = generate(net, box, tmp_path / "l2", alpha="2", beta="2", bounds=("upper",))[0].sidecar
    anchors = sc["anchors"]
    assert anchors["sdp_upper"] is not None and "LipSDP" in anchors["sdp_reason"]
    s = combine(None, None, anchors)
    assert s["upper"] == anchors["sdp_upper"] and s["upper_source"] == SDP_SOURCE
    sc = generate(net, box, tmp_path / "inf", alpha="inf", beta="inf", bounds=("upper",))[0].sidecar
    assert "sdp_upper" not in sc["anchors"]


@pytest.mark.parametrize("net", [tiny_network(c) for c in range(len(SHAPES))] + all_nets(), ids=lambda n: n.name)
def test_a_tree_with_the_sdp_at_every_node_brackets_l(net):
    """Phase splits only, no enumeration: every node the Jacobian bound leaves open is bounded by its region's SDP."""
    lo, hi = unit_box(net.n_inputs)
    low, high = exact_lipschitz(net, lo, hi, "2", "2")
    r = split(net, Box(lo, hi), "2", "2", branching="phase", exact_max=0, node_budget=200, time_budget=30)
    assert r.upper >= low * (1 - 1e-12), (r.upper, low)
    assert r.lower <= high * (1 + 1e-12), (r.lower, high)


def test_the_sdp_at_the_nodes_closes_a_tree_that_the_jacobian_bound_leaves_open():
    net = random_network(7, 6, [12, 12], 3)
    box = Box(*unit_box(6))
    kw = dict(branching="phase", exact_max=0, node_budget=60, time_budget=30, rel_gap=1e-4)
    with_sdp, without = split(net, box, "2", "2", **kw), split(net, box, "2", "2", sdp=False, **kw)
    assert with_sdp.upper < without.upper and with_sdp.gap < without.gap, (with_sdp, without)


def test_l2_runs_put_the_tree_first_when_its_nodes_get_the_sdp():
    assert split_plan("auto", "2", "2", 40, sdp=True)[0] == "first"
    assert split_plan("auto", "2", "2", 40, sdp=False)[0] == "beside"
    assert split_plan("auto", "2", "inf", 40, sdp=True)[0] == "beside"  # no SDP for mixed norms


def test_inspect_shows_the_sdp_bound_for_l2_and_the_split_rule_that_run_follows():
    from lipgen import pipeline

    net = random_network(5, 20, [60, 60], 5)  # 17+ unstable neurons: beside the MIPs without the SDP
    box = Box(*unit_box(20))
    info = pipeline.inspect(net, box, samples=50, methods="linear")
    two = info["bounds"]["2"]
    assert two["sdp_upper"] == sdp_upper(net, _stab(net, box.lower, box.upper)).value
    assert two["sampled_certified"] <= two["sdp_upper"] and "barrier" in two["sdp_reason"]
    assert two["split"] == "first" and info["bounds"]["inf"]["sdp_upper"] is None


@pytest.mark.parametrize("case", range(len(SHAPES)))
def test_a_barrier_stopped_early_still_gives_a_sound_bound(case):
    """`enough` (a pruning threshold) and `useless` (a better bound known) stop the barrier early: whatever it gives
    then is still verified, never below L, and the full solve is at least as tight."""
    net = tiny_network(case)
    lo, hi = unit_box(net.n_inputs)
    stab = _stab(net, lo, hi)
    low, _ = exact_lipschitz(net, lo, hi, "2", "2")
    full = sdp_upper(net, stab).value
    for kw in ({"enough": 10 * full}, {"useless": 0.5 * low}, {"rtol": 1e-3}):
        early = sdp_upper(net, stab, fallback=False, **kw).value
        assert early is None or full * (1 - 1e-9) <= early and early >= low, (kw, early, full, low)


def test_the_sdp_at_the_nodes_proves_a_trained_net_on_its_data_box():
    """digits-64-16-10 on [0, 1]^64, l2: 16 unstable neurons, open in instances/v1 (the MIPs end at gap 0.034 after
    60 s); the tree with the SDP at its nodes, enumerating from 8 unstable neurons down, closes it in about 1 s."""
    from lipgen.io import load
    from lipgen.split.plan import exact_max_for

    net = load(Path(__file__).resolve().parents[1] / "instances" / "networks" / "digits-64-16-10.h5")
    box = Box(np.asarray(net.domain_lower, float), np.asarray(net.domain_upper, float))
    r = split(net, box, "2", "2", exact_max=exact_max_for("2", "2"), time_budget=60)
    assert r.status == "closed" and 32.1190 <= r.lower <= r.upper <= 32.11904 * (1 + 1e-6), r
