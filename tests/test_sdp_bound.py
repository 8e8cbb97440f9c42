"""The SDP upper bound of l2 constants (lipgen/bounds/sdp.py): never below L (exact rational oracle, hostile nets
included), its float64 check refuses what is not proven, and it reaches run's sources for l2 only."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.exact_oracle import exact_lipschitz
from helpers.hostile import all_nets
from helpers.networks import SHAPES, tiny_network, unit_box

from lipgen.bounds import interval_bounds, stabilities
from lipgen.bounds.sdp import _kept, _pieces, _solve, sdp_upper, verified
from lipgen.domain import Box
from lipgen.instance.generate import generate
from lipgen.network import Network
from lipgen.results.bounds import SDP_SOURCE, combine

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
