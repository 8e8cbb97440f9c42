"""The certificate and the interval bounds on hand-computed networks: values a small bug would change."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from lipgen.bounds import interval_bounds, stabilities
from lipgen.lower.certificate import best_direction, certify_point, directional_lower
from lipgen.results.check import check_solution
from lipgen.domain import Box
from lipgen.formulation import Spec, build
from lipgen.network import Network

# f(x) = relu(x1) + 2 relu(x2) - relu(x1 + x2 - 1) on [-1, 1]^2: three unstable neurons
HAND = Network([np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([[1.0, 2.0, -1.0]])],
               [np.array([0.0, 0.0, -1.0]), np.zeros(1)], name="hand")
BOX = Box(-np.ones(2), np.ones(2))


def test_a_zero_pre_activation_that_is_not_the_most_negative_is_refused():
    # at (0, -0.5): z = (0, -0.5, -1.5); the zero is z1_0, the most negative is z1_2
    c = certify_point(HAND, BOX, "2", "2", np.array([0.0, -0.5]))
    assert c.value is None and "z1_0" in c.reason


def test_a_regular_point_gives_the_jacobian_norm():
    c = certify_point(HAND, BOX, "2", "2", np.array([0.5, 0.7]))  # z = (0.5, 0.7, 0.2): gradient (0, 1)
    assert c.value == pytest.approx(1.0, rel=1e-14) and c.value <= 1.0
    c = certify_point(HAND, BOX, "2", "2", np.array([0.5, -0.7]))  # gradient (1, 0)
    assert c.value == pytest.approx(1.0, rel=1e-14)
    c = certify_point(HAND, BOX, "inf", "inf", np.array([0.2, 0.3]))  # gradient (1, 2): l_inf -> |1| + |2|
    assert c.value == pytest.approx(3.0, rel=1e-14) and c.value <= 3.0


@pytest.mark.parametrize("outside,accepted", [(1e-3, False), (1e-8, True)])
def test_points_outside_the_box(outside, accepted):
    c = certify_point(HAND, BOX, "2", "2", np.array([1.0 + outside, 0.5]))
    if accepted:  # clipped back to (1, 0.5): z = (1, 0.5, 0.5), gradient (1, 2) - (1, 1) = (0, 1)
        assert c.value == pytest.approx(1.0, rel=1e-14)
    else:
        assert c.value is None and "outside the domain" in c.reason


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_points_are_refused(bad):
    assert certify_point(HAND, BOX, "2", "2", np.array([bad, 0.0])).value is None


def test_face_neuron_at_the_face_is_certified():
    """relu(x) on [0, 1] is stably active: x = 0 (z = 0, on the face) still certifies slope 1."""
    net = Network([np.array([[1.0], [-1.0]]), np.array([[1.0, 5.0]])], [np.zeros(2), np.zeros(1)])
    c = certify_point(net, Box(np.zeros(1), np.ones(1)), "2", "2", np.zeros(1))
    assert c.value == pytest.approx(1.0, rel=1e-14)


def test_interval_bounds_and_counts_by_hand():
    """Layer 1: z1 = x1 - 2 x2 + 0.5 in [-1.5, 1.5] (unstable), z2 = 0.5 x1 + x2 - 3 in [-3, -1.5] (inactive);
    layer 2 sees a2 = relu(z2) = 0 (the ReLU clamps it): z = a1 + a2 in [0, 1.5] (active, l = 0 on a face),
    z' = -a1 + 4 a2 + 1 in [-0.5, 1] (unstable)."""
    net = Network([np.array([[1.0, -2.0], [0.5, 1.0]]), np.array([[1.0, 1.0], [-1.0, 4.0]]), np.array([[1.0, 1.0]])],
                  [np.array([0.5, -3.0]), np.array([0.0, 1.0]), np.zeros(1)])
    b = interval_bounds(net, np.zeros(2), np.ones(2))
    for got, want in ((b[0].lower, [-1.5, -3.0]), (b[0].upper, [1.5, -1.5]), (b[1].lower, [0.0, -0.5]),
                      (b[1].upper, [1.5, 1.0])):
        assert got == pytest.approx(want, abs=1e-14)
        assert np.all(got <= np.array(want) + 1e-14)
    assert b[1].lower[0] == 0.0  # no rounding to widen: a face stays a face
    st = stabilities(net, b)
    assert [s.counts() for s in st] == [{"active": 0, "inactive": 1, "unstable": 1, "constant": 0},
                                        {"active": 1, "inactive": 0, "unstable": 1, "constant": 0}]


def test_rounding_widens_inexact_bounds_outwards():
    net = Network([np.array([[0.1, 0.2, 0.3]]), np.ones((1, 1))], [np.array([0.1]), np.zeros(1)])
    b = interval_bounds(net, -np.ones(3), np.ones(3))
    exact_hi = 0.1 + 0.2 + 0.3 + 0.1
    assert b[0].upper[0] > exact_hi and b[0].upper[0] - exact_hi < 1e-14
    assert b[0].lower[0] < -0.5 and b[0].lower[0] + 0.5 > -1e-14


def test_checker_on_hand_values():
    form = build(HAND, BOX.lower, BOX.upper, Spec(alpha="inf", beta="inf", bound="upper"), estimate=3.0)
    point = form.plan.values(np.array([0.2, 0.3]), np.array([1.0, 1.0]))
    assert form.objective_scale == 4.0  # the power of two nearest the estimate 3
    good = check_solution(form.model, point, -3.0 / 4.0, complete=True)  # g = J v = (1, 2) . (1, 1) = 3
    assert good.ok and good.max_violation < 1e-12, good
    wrong_obj = check_solution(form.model, point, -0.5, complete=True)
    assert not wrong_obj.ok and "objective" in wrong_obj.message
    missing = dict(point)
    missing.pop("x_0")
    assert not check_solution(form.model, missing, None, complete=True).ok
    foreign = dict(point, bogus=1.0)
    res = check_solution(form.model, foreign, None, complete=True)
    assert not res.ok and "another instance" in res.message
    shifted = dict(point, x_0=point["x_0"] + 0.1)  # a row no longer holds
    res = check_solution(form.model, shifted, None, complete=True)
    assert not res.ok and res.worst.startswith("row fwd1_") and res.max_violation == pytest.approx(0.1, rel=0.5)


def _exact_ratio_squared(j: np.ndarray, v: np.ndarray, alpha: str, beta: str) -> Fraction:
    """(||J v||_beta / ||v||_alpha) in exact rationals, squared for l2 (no square root needed to compare)."""
    jv = [sum((Fraction(a) * Fraction(b) for a, b in zip(row, v)), Fraction(0)) for row in j.tolist()]
    norm = {"1": lambda x: sum(abs(t) for t in x), "inf": lambda x: max(abs(t) for t in x),
            "2": lambda x: sum(t * t for t in x)}
    num, den = norm[beta](jv), norm[alpha]([Fraction(t) for t in v.tolist()])
    if (beta == "2") != (alpha == "2"):  # one side squared: square the other
        num, den = (num * num, den) if alpha == "2" else (num, den * den)
    return num / den


@pytest.mark.fast
@pytest.mark.parametrize("alpha,beta", [(a, b) for a in ("1", "2", "inf") for b in ("1", "2", "inf")])
def test_the_directional_value_never_exceeds_the_exact_ratio_and_loses_almost_nothing(alpha, beta):
    rng = np.random.default_rng(7)
    for trial in range(20):
        scale = 10.0 ** rng.integers(-150, 150)
        j = rng.standard_normal((rng.integers(1, 6), rng.integers(1, 6))) * scale
        if trial % 4 == 0:
            j[:, 0] = j[:, 1:].sum(axis=1) if j.shape[1] > 1 else j[:, 0]  # cancellation in the product
        value, v = best_direction(j, alpha, beta)
        lower = directional_lower(j, v, alpha, beta, 0.0)
        exact = _exact_ratio_squared(j, v, alpha, beta)
        squared = "2" in (alpha, beta)
        assert Fraction(lower) ** (2 if squared else 1) <= exact
        assert lower >= value * (1 - 1e-13)


@pytest.mark.fast
def test_the_directional_value_subtracts_the_matrix_error():
    j = np.array([[3.0, 4.0]])
    v = np.array([0.6, 0.8])
    assert directional_lower(j, v, "2", "2", 0.0) == pytest.approx(5.0, rel=1e-14)
    assert directional_lower(j, v, "2", "2", 1.0) == pytest.approx(4.0, rel=1e-14)
    assert directional_lower(j, v, "2", "2", 1.0) < 4.0 + 1e-14
    assert directional_lower(j, v, "2", "2", 6.0) == 0.0
