"""Batched anchors: the same values as the one-pattern-at-a-time computation, rigorous upper bounds."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from helpers.networks import random_network

from lipgen.bounds import naive_upper_bound
from lipgen.lower.sampling import (MIN_POINTS, sample_count, sample_points, sampled_lower_bound,
                            sampling_cost)
from lipgen.bounds import hidden_stability, interval_bounds
from lipgen.network import (NORMS, operator_norm, operator_norm_upper, operator_norm_with_direction, operator_norms,
                            spectral_norm_upper, vector_norm)

PAIRS = list(product(NORMS, NORMS))


def reference_sampled(net, lower, upper, alpha, beta, n, seed=0):
    """The first implementation: every distinct pattern's Jacobian from the input side, one at a time."""
    xs = sample_points(lower, upper, n, seed)
    zs = net.preactivations(xs)
    bits = np.hstack([z > 0 for z in zs[:-1]])
    _, first = np.unique(bits, axis=0, return_index=True)
    best = None
    for i in np.sort(first):
        val, _ = operator_norm_with_direction(net.jacobian_of_pattern([(z[i] > 0).astype(int) for z in zs[:-1]]),
                                              alpha, beta)
        if best is None or val > best[0]:
            best = (val, i)
    return best[0], xs[best[1]]


NETS = [(3, [12, 9], 2), (20, [15], 4), (5, [10, 10, 6], 18), (24, [8], 1)]  # both multiplication sides


@pytest.mark.parametrize("alpha,beta", PAIRS)
@pytest.mark.parametrize("shape", range(len(NETS)))
def test_sampled_bound_matches_reference(shape, alpha, beta):
    n_in, hidden, n_out = NETS[shape]
    net = random_network(40 + shape, n_in, hidden, n_out)
    lo, hi = -np.ones(n_in), np.ones(n_in)
    got = sampled_lower_bound(net, lo, hi, alpha, beta, n=300)
    value, x = reference_sampled(net, lo, hi, alpha, beta, 300)
    assert got.value == pytest.approx(value, rel=1e-12)
    assert np.array_equal(got.x, x)  # the same winning point
    assert got.n_points == 300
    j = net.jacobians(got.x)[0]
    assert vector_norm(j @ got.v, beta) / vector_norm(got.v, alpha) == pytest.approx(got.value, rel=1e-12)
    assert [p.tolist() for p in got.pattern] == [(z[0] > 0).astype(int).tolist() for z in net.preactivations(got.x)[:-1]]


def test_sampled_bound_is_deterministic_and_streams_the_same_points():
    net = random_network(3, 6, [20, 20], 3)
    lo, hi = np.zeros(6), np.ones(6)
    a = sampled_lower_bound(net, lo, hi, "2", "2", n=700, seed=4)
    b = sampled_lower_bound(net, lo, hi, "2", "2", n=700, seed=4)
    assert a.value == b.value and np.array_equal(a.x, b.x) and np.array_equal(a.v, b.v)
    # points come in batches from one generator: the same stream as drawing all at once
    assert any(np.array_equal(a.x, p) for p in sample_points(lo, hi, 700, seed=4))


def test_work_budget_caps_the_points_deterministically():
    net = random_network(0, 30, [40, 40], 5)
    cost = sampling_cost(net)
    assert sample_count(net, 1000, work_budget=None) == 1000
    assert sample_count(net, 1000, work_budget=250 * cost) == 250
    assert sample_count(net, 1000, work_budget=1.0) == MIN_POINTS
    lo, hi = -np.ones(30), np.ones(30)
    s = sampled_lower_bound(net, lo, hi, "inf", "inf", n=1000, work_budget=250 * cost)
    assert s.n_points == 250
    assert s.value == sampled_lower_bound(net, lo, hi, "inf", "inf", n=250, work_budget=None).value
    assert sampled_lower_bound(net, lo, hi, "inf", "inf", n=1000, time_budget=0.0).n_points == 128  # one batch


@pytest.mark.parametrize("shape", [(3, [7, 5], 2), (2, [6], 9)])
def test_pattern_jacobians_match_one_at_a_time(shape):
    n_in, hidden, n_out = shape
    net = random_network(11, n_in, hidden, n_out)
    rng = np.random.default_rng(0)
    masks = [rng.random((6, h)) < 0.5 for h in hidden]
    js = net.pattern_jacobians(masks)
    for k in range(6):
        ref = net.jacobian_of_pattern([m[k].astype(int) for m in masks])
        assert np.allclose(js[k], ref, rtol=1e-12, atol=1e-14)
    assert np.allclose(net.pattern_jacobians(masks, np.float32), js, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alpha,beta", PAIRS)
def test_batched_norms_match_operator_norm(alpha, beta):
    rng = np.random.default_rng(2)
    for m, n in [(3, 5), (5, 3), (2, 20), (20, 2), (17, 4), (4, 17)]:
        js = rng.normal(size=(4, m, n))
        batched = operator_norms(js, alpha, beta)
        single = np.array([operator_norm(j, alpha, beta) for j in js])
        if (alpha, beta) == ("inf", "2") and n > 16 or (alpha, beta) == ("2", "1") and m > 16:
            # beyond enumeration operator_norm adds an alternating-sign search to the batch's candidates
            assert np.all(batched <= single * (1 + 1e-12))
        else:
            assert batched == pytest.approx(single, rel=1e-12)


# ------------------------------------------------------------------------------------------ upper bounds
def _spectral(w):
    return np.linalg.svd(w, compute_uv=False)[0] if w.size else 0.0


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (30, 30), (90, 150), (150, 90), (5, 400)])
def test_spectral_bound_is_above_and_close(shape):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    for w in (rng.normal(size=shape), rng.normal(size=shape) * 1e-200, rng.normal(size=shape) * 1e200,
              np.outer(rng.normal(size=shape[0]), rng.normal(size=shape[1]))):
        true = _spectral(w)
        bound = spectral_norm_upper(w)
        assert true <= bound <= true * (1 + 2e-9)


def test_spectral_bound_large_uses_lanczos():
    w = np.random.default_rng(1).normal(size=(260, 240))  # Gram side > 200: the Lanczos estimate
    true = _spectral(w)
    assert true <= spectral_norm_upper(w) <= true * (1 + 2e-9)


def test_spectral_bound_degenerate_cases():
    assert spectral_norm_upper(np.zeros((3, 4))) == 0.0
    assert spectral_norm_upper(np.zeros((0, 4))) == 0.0
    assert 1.0 <= spectral_norm_upper(np.eye(400)) <= 1 + 2e-9  # a 400-fold top eigenvalue
    ones = np.ones((230, 310))
    assert np.sqrt(230 * 310) <= spectral_norm_upper(ones) <= np.sqrt(230 * 310) * (1 + 2e-9)


@pytest.mark.parametrize("alpha,beta", PAIRS)
def test_operator_norm_upper_is_an_upper_bound(alpha, beta):
    rng = np.random.default_rng(9)
    for m, n in [(3, 4), (6, 2), (12, 12)]:
        w = rng.normal(size=(m, n))
        exact = operator_norm(w, alpha, beta)  # exact here: small enough to enumerate
        upper = operator_norm_upper(w, alpha, beta)
        assert upper >= exact
        if alpha == "1" or beta == "inf" or alpha == beta == "2":
            assert upper <= exact * (1 + 2e-9)  # the tight cases stay tight


@pytest.mark.parametrize("scale", [1e-170, 1e170])
def test_operator_norm_upper_survives_extreme_scales(scale):
    w = np.random.default_rng(4).normal(size=(5, 7)) * scale
    for alpha, beta in PAIRS:
        upper = operator_norm_upper(w, alpha, beta)
        assert np.isfinite(upper) and upper >= operator_norm(w / scale, alpha, beta) * scale * (1 - 1e-12)
        assert upper <= operator_norm_upper(w / scale, alpha, beta) * scale * (1 + 1e-12)


@pytest.mark.parametrize("norm", NORMS)
def test_naive_bound_close_to_plain_product(norm):
    net = random_network(5, 30, [40, 35], 6)
    lo, hi = -np.ones(30), np.ones(30)
    stab = hidden_stability(interval_bounds(net, lo, hi))
    keeps = [np.arange(30)] + [np.flatnonzero(~s.inactive) for s in stab] + [np.arange(6)]
    mats = [w[np.ix_(keeps[k + 1], keeps[k])] for k, w in enumerate(net.weights)]

    def plain(a, b, w):  # the exact values where cheap, the row-norm bound elsewhere
        if a == "1" or b == "inf" or a == b == "2":
            return operator_norm(w, a, b)
        return float(vector_norm(vector_norm(w, {"1": "inf", "2": "2", "inf": "1"}[a], axis=1), b))

    expected = min(plain(norm, g, mats[0]) * plain(g, g, mats[1]) * plain(g, norm, mats[2]) for g in NORMS)
    got = naive_upper_bound(net, norm, norm, stab)
    assert expected <= got <= expected * (1 + 1e-8)
    assert got == naive_upper_bound(net, norm, norm, stab)
