"""Interval bounds are sound; the cheap anchors bracket the exact constant; the oracle agrees with hand values."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.networks import SHAPES, oracle_value, random_network, tiny_network, unit_box
from helpers.oracle import exact_lipschitz

from lipgen.bounds import naive_upper_bound
from lipgen.lower.sampling import sample_points, sampled_lower_bound
from lipgen.bounds import hidden_stability, interval_bounds
from lipgen.network import Network, operator_norm


@pytest.mark.parametrize("seed", range(6))
def test_interval_bounds_contain_every_sampled_point(seed):
    rng = np.random.default_rng(seed)
    net = random_network(seed, int(rng.integers(2, 6)), [int(w) for w in rng.integers(3, 20, size=3)], 2)
    lower = rng.uniform(-2, 0, net.n_inputs)
    upper = lower + rng.uniform(0.01, 3, net.n_inputs)
    bounds = interval_bounds(net, lower, upper)
    xs = np.vstack([sample_points(lower, upper, 20000, seed), lower, upper])
    for z, b in zip(net.preactivations(xs), bounds):
        assert np.all(z >= b.lower - 1e-12) and np.all(z <= b.upper + 1e-12)
    for z, st in zip(net.preactivations(xs)[:-1], hidden_stability(bounds)):
        assert np.all(z[:, st.active] > 0) and np.all(z[:, st.inactive] < 0)


@pytest.mark.slow
@pytest.mark.parametrize("norm", ["1", "2", "inf"])
@pytest.mark.parametrize("case", range(len(SHAPES)))
def test_anchors_bracket_the_exact_constant(case, norm):
    net = tiny_network(case)
    lo, hi = unit_box(net.n_inputs)
    exact = oracle_value(case, norm, norm)
    stab = hidden_stability(interval_bounds(net, lo, hi))
    sampled = sampled_lower_bound(net, lo, hi, norm, norm, n=500)
    assert sampled.value <= exact * (1 + 1e-12)
    assert naive_upper_bound(net, norm, norm, stab) >= exact * (1 - 1e-12)
    # the returned direction attains the sampled value at the returned point
    j = net.jacobians(sampled.x)[0]
    from lipgen.network import vector_norm
    assert vector_norm(j @ sampled.v, norm) / vector_norm(sampled.v, norm) == pytest.approx(sampled.value)


def test_oracle_on_hand_computed_networks():
    # f(x) = relu(x1) - 2 relu(-x2) on [-1,1]^2: regions give gradients (0,0), (1,0), (0,2), (1,2)
    net = Network([np.array([[1.0, 0.0], [0.0, -1.0]]), np.array([[1.0, -2.0]])], [np.zeros(2), np.zeros(1)])
    box = unit_box(2)
    assert exact_lipschitz(net, *box, "2", "2") == pytest.approx(np.sqrt(5))
    assert exact_lipschitz(net, *box, "inf", "inf") == pytest.approx(3.0)
    assert exact_lipschitz(net, *box, "1", "1") == pytest.approx(2.0)
    # on [0.5, 1] x [0.5, 1] the second neuron is off: only gradient (1, 0)
    assert exact_lipschitz(net, np.array([0.5, 0.5]), np.ones(2), "2", "2") == pytest.approx(1.0)


@pytest.mark.parametrize("alpha,beta", [("inf", "1"), ("inf", "2"), ("2", "1")])
def test_hard_operator_norms_by_enumeration(alpha, beta):
    rng = np.random.default_rng(3)
    j = rng.normal(size=(3, 4))
    # brute force over many random unit vectors never beats the enumerated value
    v = rng.normal(size=(20000, 4))
    v /= np.linalg.norm(v, ord={"1": 1, "2": 2, "inf": np.inf}[alpha], axis=1, keepdims=True)
    brute = np.linalg.norm(v @ j.T, ord={"1": 1, "2": 2, "inf": np.inf}[beta], axis=1).max()
    exact = operator_norm(j, alpha, beta)
    assert brute <= exact * (1 + 1e-12)
    assert brute >= exact * 0.9
