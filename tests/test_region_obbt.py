"""OBBT under a split node's fixed phases (issue 21: re-bounding a node with its phase constraints): the bounds hold
at every sampled point of the region, for hostile nets too, are never looser than the clamped linear bounds, and a
split tree with `--bounds obbt` still brackets the exact L."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.hostile import all_nets
from helpers.networks import oracle_value, tiny_network, unit_box

from lipgen import pipeline
from lipgen.bounds import compute_bounds
from lipgen.bounds.methods import region_obbt
from lipgen.domain import Box
from lipgen.split.node import clamp_bounds, satisfies

pytestmark = pytest.mark.fast
NETS = [tiny_network(c) for c in (1, 3, 4)] + all_nets()


@pytest.mark.parametrize("index", range(len(NETS)))
def test_region_bounds_hold_on_the_region(index):
    net = NETS[index]
    rng = np.random.default_rng(index)
    lo, hi = unit_box(net.n_inputs)
    xs = rng.uniform(lo, hi, size=(4000, net.n_inputs))
    zs = net.preactivations(xs)
    for trial in range(4):
        # fix the phases of the point xs[trial] on a few neurons that are unstable on the box
        start = compute_bounds(net, lo, hi, "linear")
        cand = [(k, i) for k in range(net.n_hidden_layers) for i in range(len(start[k].lower))
                if start[k].lower[i] < 0 < start[k].upper[i]]
        picks = [cand[j] for j in rng.permutation(len(cand))[: max(1, len(cand) // 3)]] if cand else []
        fixed = {(k, i): int(zs[k][trial, i] > 0) for k, i in picks}
        clamped = clamp_bounds(net, start, fixed)
        assert clamped is not None  # x0 lies in the region
        out = clamp_bounds(net, region_obbt(net, lo, hi, clamped, fixed), fixed)
        assert out is not None
        inside = satisfies(net, xs, fixed)
        for k, b in enumerate(out):
            z = zs[k][inside]
            scale = 1e-9 * (1 + np.abs(z))
            assert np.all(z >= b.lower - scale) and np.all(z <= b.upper + scale), (k, trial)
            assert np.all(b.lower >= clamped[k].lower) and np.all(b.upper <= clamped[k].upper)


def test_region_obbt_tightens_somewhere():
    net = tiny_network(4)
    lo, hi = unit_box(net.n_inputs)
    start = compute_bounds(net, lo, hi, "linear")
    k, i = next((k, i) for k in range(net.n_hidden_layers) for i in range(len(start[k].lower))
                if start[k].lower[i] < 0 < start[k].upper[i])
    gained = 0.0
    for phase in (0, 1):
        clamped = clamp_bounds(net, start, {(k, i): phase})
        out = clamp_bounds(net, region_obbt(net, lo, hi, clamped, {(k, i): phase}), {(k, i): phase})
        gained += sum(float(np.sum((c.upper - c.lower) - (o.upper - o.lower))) for c, o in zip(clamped, out))
    assert gained > 0


@pytest.mark.parametrize("alpha,beta", [("2", "2"), ("inf", "1"), ("1", "inf")])
def test_split_with_region_obbt_equals_L(tmp_path, alpha, beta):
    net = tiny_network(4)
    exact = oracle_value(4, alpha, beta)
    s = pipeline.split(net, Box(*unit_box(net.n_inputs)), tmp_path, alpha=alpha, beta=beta,
                       options=pipeline.SplitOptions(branching="phase", exact_max=0, bounds="obbt"), time_limit=60)
    assert s.data["split"]["closed"]
    assert s.best_lower <= exact * (1 + 1e-12) and s.upper >= exact * (1 - 1e-12)
