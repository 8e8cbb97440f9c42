"""Jacobian entry bounds (lipgen/bounds/jacobian.py): every Clarke-Jacobian element, at random points, on region
boundaries and for arbitrary derivative values of unstable neurons, lies inside the bounds of every partial
product; the norm bounds stay above the exact L; linear is never looser than interval; exact where nothing is
unstable; degenerate and hostile networks."""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest
from helpers.networks import SHAPES, oracle_value, random_network, tiny_network, unit_box
from helpers.oracle import regions

from lipgen.bounds import compute_bounds, stabilities
from lipgen.bounds.jacobian import jacobian_bounds, jacobian_upper_bound
from lipgen.network import NORMS, Network, operator_norm, operator_norm_upper

METHODS = ("interval", "linear")


def partial_products(net: Network, ds: list[np.ndarray], cov: np.ndarray | None = None):
    """forward[i] (B, n_{i+1}, n_0) and backward[i] (B, m, n_i) for a batch of derivative vectors ds[k] (B, n_k)."""
    fwd = [np.broadcast_to(net.weights[0], (len(ds[0]) if ds else 1,) + net.weights[0].shape)]
    for d, w in zip(ds, net.weights[1:]):
        fwd.append(np.einsum("ij,bj,bjk->bik", w, d, fwd[-1]))
    c = np.eye(net.n_outputs) if cov is None else np.atleast_2d(cov)
    bwd = [np.broadcast_to(c @ net.weights[-1], (len(fwd[0]),) + (c.shape[0], net.weights[-1].shape[1]))]
    for d, w in zip(reversed(ds), reversed(net.weights[:-1])):
        bwd.append(np.einsum("bmj,bj,jk->bmk", bwd[-1], d, w))
    return fwd, bwd[::-1]


def sample_derivatives(stab, rng, n: int) -> list[np.ndarray]:
    """Derivative vectors: stable neurons fixed, unstable ones 0, 1 or uniform in between (mixed patterns)."""
    out = []
    for s in stab:
        r = rng.random((n, len(s.active)))
        r = np.where(r < 0.35, 0.0, np.where(r > 0.65, 1.0, rng.random(r.shape)))
        out.append(np.where(s.unstable[None], r, np.where(s.active, 1.0, 0.0)[None] * np.ones((n, 1))))
    return out


def region_derivatives(net: Network, lower, upper, rng, n: int, stab) -> list[np.ndarray]:
    """Patterns at random points of the box and at points on first-layer hyperplanes (the neuron at 0 gets a random
    derivative in [0, 1]: an element of the Clarke Jacobian there). Stable neurons keep their classification: on the
    box relu(z) is z (or 0) as a function, even where z = 0 on a set with interior (a zero bias behind a dead
    neuron), so that is their only derivative."""
    xs = lower + rng.random((n, len(lower))) * (upper - lower)
    w, b = net.weights[0], net.biases[0]
    i = rng.integers(0, w.shape[0], n)
    rows = w[i]
    norms = np.sum(rows * rows, axis=1)
    step = np.where(norms > 0, (np.sum(rows * xs, axis=1) + b[i]) / np.where(norms > 0, norms, 1), 0.0)
    on = xs - step[:, None] * rows
    inside = np.all((on >= lower) & (on <= upper), axis=1)
    pts = np.vstack([xs, on[inside]])
    zs = net.preactivations(pts)[:-1]
    ds = [(z > 0).astype(float) for z in zs]
    if len(ds):
        k = len(xs) + np.arange(inside.sum())
        ds[0][k, i[inside]] = rng.random(inside.sum())
    for d, s in zip(ds, stab):
        d[:, s.active] = 1.0
        d[:, s.inactive] = 0.0
    return ds


def assert_contains(jb, net, ds, cov=None, rel=0.0):
    fwd, bwd = partial_products(net, ds, cov)
    if jb.forward is not None:
        for p, e in zip(fwd, jb.forward):
            tol = rel * e.magnitude()
            assert np.all(p >= e.lower - tol) and np.all(p <= e.upper + tol)
    if jb.backward is not None:
        for p, e in zip(bwd, jb.backward):
            tol = rel * e.magnitude()
            assert np.all(p >= e.lower - tol) and np.all(p <= e.upper + tol)
    jac = bwd[0]
    tol = rel * jb.jacobian.magnitude()
    assert np.all(jac >= jb.jacobian.lower - tol) and np.all(jac <= jb.jacobian.upper + tol)
    if jb.row_l1 is not None:
        assert np.all(np.abs(jac).sum(axis=2) <= jb.row_l1 * (1 + rel))
    if jb.col_l1 is not None and cov is None:
        assert np.all(np.abs(jac).sum(axis=1) <= jb.col_l1 * (1 + rel))


# ----------------------------------------------------------------------------------------------- hostile nets
def hostile_networks() -> list[tuple[Network, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    out = []
    # cancellation: every hidden neuron duplicated with opposite output weights, and a mirrored twin (w, -w)
    w1 = rng.normal(size=(4, 3))
    w1 = np.vstack([w1, w1, -w1])
    b1 = np.concatenate([rng.normal(size=4)] * 2 + [-rng.normal(size=4)])
    w2 = rng.normal(size=(5, 12))
    w2[:, 4:8] = -w2[:, :4]
    w3 = rng.normal(size=(2, 5))
    out.append((Network([w1, w2, w3], [b1, rng.normal(size=5) * 0.3, np.zeros(2)], name="cancel"), *unit_box(3)))
    # per-neuron scales 1e-6 .. 1e6
    net = random_network(11, 3, [6, 5], 2)
    s1, s2 = 10.0 ** rng.uniform(-6, 6, 6), 10.0 ** rng.uniform(-6, 6, 5)
    out.append((Network([s1[:, None] * net.weights[0], s2[:, None] * net.weights[1] / s1[None, :],
                         net.weights[2] / s2[None, :]], [s1 * net.biases[0], s2 * net.biases[1], net.biases[2]],
                        name="scales"), *unit_box(3)))
    # bias-free layers: every hyperplane through the origin, the centre of the box
    net = random_network(12, 2, [6, 6], 1)
    out.append((Network(net.weights, [np.zeros(6), np.zeros(6), np.zeros(1)], name="biasfree"), *unit_box(2)))
    # huge and tiny layers (1e150 and 1e-150: the product is of order one)
    net = random_network(13, 3, [5, 4], 2)
    out.append((Network([net.weights[0] * 1e150, net.weights[1] * 1e-150, net.weights[2]],
                        [net.biases[0] * 1e150, net.biases[1], net.biases[2]], name="hugetiny"), *unit_box(3)))
    # a one-output net on a narrow ball
    net = random_network(14, 4, [8, 8, 8], 1)
    c = rng.normal(size=4)
    out.append((net, c - 0.05, c + 0.05))
    return out


CASES = [(tiny_network(i), *unit_box(SHAPES[i][0])) for i in range(len(SHAPES))] + hostile_networks()


@pytest.mark.parametrize("case", range(len(CASES)), ids=[c[0].name for c in CASES])
@pytest.mark.parametrize("method", METHODS)
def test_entry_bounds_contain_clarke_jacobians(case, method):
    net, lower, upper = CASES[case]
    stab = stabilities(net, compute_bounds(net, lower, upper, "linear"))
    jb = jacobian_bounds(net, lower, upper, method=method, sides="both")
    rng = np.random.default_rng(case)
    assert_contains(jb, net, sample_derivatives(stab, rng, 3000), rel=1e-13)
    assert_contains(jb, net, region_derivatives(net, lower, upper, rng, 2000, stab), rel=1e-13)
    # the one-sided (auto) bounds too, and with a margin covector
    assert_contains(jacobian_bounds(net, lower, upper, method=method), net, sample_derivatives(stab, rng, 500),
                    rel=1e-13)
    if net.n_outputs >= 2:
        cov = np.zeros(net.n_outputs)
        cov[0], cov[1] = 1.0, -1.0
        jc = jacobian_bounds(net, lower, upper, method=method, covectors=cov, sides="both")
        assert jc.jacobian.shape == (1, net.n_inputs)
        assert_contains(jc, net, sample_derivatives(stab, rng, 1000), cov=cov, rel=1e-13)


@pytest.mark.parametrize("case", range(len(SHAPES)))
def test_norm_bounds_above_exact_lipschitz(case):
    net = tiny_network(case)
    lo, hi = unit_box(net.n_inputs)
    bounds = {m: jacobian_bounds(net, lo, hi, method=m, sides="both") for m in METHODS}
    for a in NORMS:
        for b in NORMS:
            exact = oracle_value(case, a, b)
            lin, itv = bounds["linear"].norm_upper(a, b), bounds["interval"].norm_upper(a, b)
            assert lin >= exact and itv >= exact
            assert lin <= itv  # linear is never looser than interval


# the hostile nets small enough for the enumeration oracle (the others are covered by the sampling tests)
ORACLE_SIZED = [i for i, (net, _, _) in enumerate(hostile_networks())
                if net.n_inputs <= 3 and sum(w.shape[0] for w in net.weights[:-1]) <= 14]


@pytest.mark.parametrize("case", ORACLE_SIZED)
def test_norm_bounds_hostile(case):
    net, lo, hi = hostile_networks()[case]
    jl = jacobian_bounds(net, lo, hi, method="linear", sides="both")
    ji = jacobian_bounds(net, lo, hi, method="interval", sides="both")
    assert np.all(jl.jacobian.lower >= ji.jacobian.lower) and np.all(jl.jacobian.upper <= ji.jacobian.upper)
    js = [net.jacobian_of_pattern(p) for p in regions(net, lo, hi)]
    for a in NORMS:
        for b in NORMS:
            exact = max(operator_norm(j, a, b) for j in js)
            assert jl.norm_upper(a, b) >= exact * (1 - 1e-12)


def test_linear_never_looser_entrywise():
    for net, lo, hi in CASES:
        for sides in ("forward", "backward"):
            jl = jacobian_bounds(net, lo, hi, method="linear", sides=sides)
            ji = jacobian_bounds(net, lo, hi, method="interval", sides=sides)
            for el, ei in zip(getattr(jl, sides), getattr(ji, sides)):
                assert np.all(el.lower >= ei.lower) and np.all(el.upper <= ei.upper)


def test_linear_strictly_tighter_on_a_deep_net():
    net = tiny_network(5)  # 3-4-4-3-1
    net = random_network(21, 3, [12, 12, 12], 2)
    lo, hi = unit_box(3)
    assert jacobian_upper_bound(net, lo, hi, "inf", "inf", method="linear") < \
        jacobian_upper_bound(net, lo, hi, "inf", "inf", method="interval") * 0.99


def test_exact_without_unstable_neurons():
    rng = np.random.default_rng(3)
    ws = [np.abs(rng.normal(size=(5, 3))), rng.normal(size=(4, 5)) * 0.1 + 0.5, rng.normal(size=(2, 4))]
    net = Network(ws, [np.ones(5), np.ones(4), np.zeros(2)])
    lo, hi = np.zeros(3), np.ones(3)
    stab = stabilities(net, compute_bounds(net, lo, hi))
    assert not any(s.unstable.any() for s in stab)
    j = net.jacobian_of_pattern([s.active.astype(float) for s in stab])
    for m in METHODS:
        jb = jacobian_bounds(net, lo, hi, method=m, sides="both")
        assert np.allclose(jb.jacobian.lower, j, rtol=1e-13, atol=0) and np.allclose(jb.jacobian.upper, j, rtol=1e-13)
        assert jb.jacobian.contains(j)
        for a in NORMS:
            assert jb.norm_upper(a, a) == pytest.approx(operator_norm(j, a, a), rel=1e-9) or a != "2"


def test_degenerate_networks():
    rng = np.random.default_rng(4)
    lo, hi = unit_box(3)
    w = [rng.normal(size=(4, 3)), rng.normal(size=(4, 4)), rng.normal(size=(2, 4))]
    dead = Network(w, [np.full(4, -100.0), rng.normal(size=4), np.zeros(2)])  # first layer dead on the box
    zero = Network([np.zeros((4, 3)), np.zeros((2, 4))], [np.ones(4), np.ones(2)])  # a constant network
    zero_row = Network([w[0] * np.array([[0], [1], [1], [0]]), w[2][:, :4]], [np.ones(4), np.zeros(2)])
    for m in METHODS:
        for net in (dead, zero):
            jb = jacobian_bounds(net, lo, hi, method=m, sides="both")
            assert np.all(jb.jacobian.lower == 0) and np.all(jb.jacobian.upper == 0)
            assert all(jb.norm_upper(a, b) == 0.0 for a in NORMS for b in NORMS)
        jb = jacobian_bounds(zero_row, lo, hi, method=m, sides="both")
        assert_contains(jb, zero_row, sample_derivatives(stabilities(zero_row, compute_bounds(zero_row, lo, hi)),
                                                         rng, 200))
    # no hidden layer: J = W exactly, and the norm bound is operator_norm_upper's
    lin = Network([w[0]], [np.zeros(4)])
    for m in METHODS:
        jb = jacobian_bounds(lin, lo, hi, method=m, sides="both")
        assert np.array_equal(jb.jacobian.lower, w[0]) and np.array_equal(jb.jacobian.upper, w[0])
        assert jb.norm_upper("2", "2") == operator_norm_upper(w[0], "2", "2")


@pytest.mark.parametrize("scale", [1e-150, 1e150])
def test_huge_and_tiny_weights_scale_exactly(scale):
    net = random_network(31, 3, [6, 5], 2)
    lo, hi = unit_box(3)
    # J scaled by scale^2 (1e-300 or 1e300: still normal floats), every layer far from order one
    scaled = Network([net.weights[0] * scale, net.weights[1] * scale, net.weights[2]],
                     [net.biases[0] * scale, net.biases[1] * scale ** 2, net.biases[2] * scale ** 2])
    for m in METHODS:
        a = jacobian_bounds(net, lo, hi, method=m, sides="both")
        b = jacobian_bounds(scaled, lo, hi, method=m, sides="both")
        f = scale ** 2
        assert np.all(np.isfinite(b.jacobian.upper))
        assert np.allclose(b.jacobian.upper / f, a.jacobian.upper, rtol=1e-9, atol=1e-9 * np.max(a.jacobian.upper))
        stab = stabilities(scaled, compute_bounds(scaled, lo, hi))
        assert_contains(b, scaled, sample_derivatives(stab, np.random.default_rng(0), 500), rel=1e-13)


def test_underflowing_products_are_covered():
    """Weights spread over 300 orders of magnitude inside a layer: products underflow, the bounds stay sound
    (checked against exact rational arithmetic at every vertex of the derivative box)."""
    rng = np.random.default_rng(5)
    w1 = rng.normal(size=(3, 2)) * np.array([[1e-160], [1.0], [1e-170]])
    w2 = rng.normal(size=(3, 3)) * np.array([[1e-160, 1.0, 1e-150]] * 3)
    w3 = rng.normal(size=(1, 3))
    net = Network([w1, w2, w3], [np.zeros(3), np.zeros(3), np.zeros(1)])
    check_exact_at_vertices(net, *unit_box(2))
    # one entry is a single path of two tiny weights: 1e-340 is below the smallest float, the bound must not be 0
    tiny = Network([np.array([[1.0, 0.0], [0.0, 1e-170]]), np.array([[1.0, 0.0], [0.0, 1.0]]),
                    np.array([[1.0, 1e-170]])], [np.array([0.0, 5.0]), np.array([0.0, 1.0]), np.zeros(1)])
    check_exact_at_vertices(tiny, *unit_box(2))
    jb = jacobian_bounds(tiny, *unit_box(2), method="linear")
    assert jb.jacobian.upper[0, 1] > 0 and jb.norm_upper("inf", "inf") > 0


def check_exact_at_vertices(net, lo, hi):
    stab = stabilities(net, compute_bounds(net, lo, hi))
    unstable = [np.flatnonzero(s.unstable) for s in stab]
    n_un = sum(len(u) for u in unstable)
    assert n_un <= 10
    fr = [[[Fraction(float(x)) for x in row] for row in w] for w in net.weights]
    for m in METHODS:
        jb = jacobian_bounds(net, lo, hi, method=m, sides="both")
        for code in range(2 ** n_un):
            bits = [(code >> i) & 1 for i in range(n_un)]
            ds, pos = [], 0
            for s, u in zip(stab, unstable):
                d = [1 if a else 0 for a in s.active]
                for i in u:
                    d[i] = bits[pos]
                    pos += 1
                ds.append(d)
            j = fr[0]
            for d, w in zip(ds, fr[1:]):
                j = [[sum(w[r][q] * d[q] * j[q][c] for q in range(len(d))) for c in range(len(j[0]))]
                     for r in range(len(w))]
            for r in range(len(j)):
                for c in range(len(j[0])):
                    lo_rc, hi_rc = jb.jacobian.lower[r, c], jb.jacobian.upper[r, c]
                    assert Fraction(float(lo_rc)) <= j[r][c] <= Fraction(float(hi_rc))


def test_rounding_is_outward_exactly():
    """Exact rational check on random tiny nets with awkward weights (no tolerance)."""
    for seed in range(4):
        net = random_network(40 + seed, 2, [3, 3], 2)
        check_exact_at_vertices(net, *unit_box(2))


def test_interval_fast_on_a_wide_net():
    rng = np.random.default_rng(6)
    dims = [784, 1024, 1024, 10]
    ws = [rng.uniform(-1, 1, size=(dims[k + 1], dims[k])) / np.sqrt(dims[k]) for k in range(3)]
    net = Network(ws, [rng.uniform(-0.03, 0.03, size=d) for d in dims[1:]])
    x = rng.random(784)
    lo, hi = np.clip(x - 0.01, 0, 1), np.clip(x + 0.01, 0, 1)
    stab = stabilities(net, compute_bounds(net, lo, hi))
    start = time.perf_counter()
    jb = jacobian_bounds(net, method="interval", stability=stab)
    bound = jb.norm_upper("inf", "inf")
    assert time.perf_counter() - start < 2.0  # about 0.05 s alone; generous for shared cores
    assert np.isfinite(bound) and bound > 0


def test_random_sweep():
    """Random shapes (1-4 hidden layers, 1-8 neurons), per-neuron scales 1e-3..1e3 on layers scaled alternately
    by up to 1e+-140, zero biases, duplicated neurons, random balls and covectors: every sampled element inside."""
    rng = np.random.default_rng(123)
    for trial in range(50):
        dims = [int(rng.integers(1, 7))] + [int(rng.integers(1, 9)) for _ in range(rng.integers(1, 5))] + \
            [int(rng.integers(1, 4))]
        sgn = rng.choice([-1, 1])
        ws = [rng.normal(size=(dims[k + 1], dims[k])) * 10.0 ** rng.uniform(-3, 3, size=(dims[k + 1], 1))
              * 10.0 ** (sgn * (-1) ** k * rng.integers(0, 140)) for k in range(len(dims) - 1)]
        bs = [rng.normal(size=dims[k + 1]) * (0 if rng.random() < 0.2 else 1) for k in range(len(dims) - 1)]
        if rng.random() < 0.3 and dims[1] >= 2:
            ws[0][1], bs[0][1] = ws[0][0], bs[0][0]
        net = Network(ws, bs)
        c, r = rng.normal(size=dims[0]), 10.0 ** rng.uniform(-2, 1)
        lo, hi = c - r, c + r
        stab = stabilities(net, compute_bounds(net, lo, hi, METHODS[trial % 2]))
        cov = rng.normal(size=(2, dims[-1])) if trial % 4 == 0 else None
        for m in METHODS:
            jb = jacobian_bounds(net, method=m, stability=stab, sides="both", covectors=cov)
            assert_contains(jb, net, sample_derivatives(stab, rng, 200), cov=cov, rel=1e-13)
            assert_contains(jb, net, region_derivatives(net, lo, hi, rng, 200, stab), cov=cov, rel=1e-13)


def test_inspect_reports_the_jacobian_bound(tmp_path):
    import json

    from typer.testing import CliRunner

    from lipgen.cli.app import app
    from lipgen.io import save

    path = tmp_path / "deep.h5"
    save(path, random_network(21, 3, [12, 12, 12], 2, name="deep"))
    runner = CliRunner()  # in-process: the subprocess form is tested in test_cli_generate.py
    r = runner.invoke(app, ["inspect", str(path), "--box", "-1,1", "--json", "--bounds", "interval,linear",
                            "--samples", "200"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["jacobian_method"] == "linear"
    for p in NORMS:
        b = info["bounds"][p]
        assert b["sampled_certified"] <= b["jacobian_upper"]
    assert info["bounds"]["inf"]["jacobian_upper"] < info["bounds"]["inf"]["naive_upper"]
    r = runner.invoke(app, ["inspect", str(path), "--box", "-1,1", "--bounds", "linear", "--samples", "200"],
                      env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "Jacobian bound (linear)" in r.stdout


@pytest.mark.parametrize("case", [1, 7])
def test_branch_and_bound_above_exact_and_below_root(case):
    from lipgen.bounds.jacobian import branch_and_bound_norm

    net = tiny_network(case)
    lo, hi = unit_box(net.n_inputs)
    stab = stabilities(net, compute_bounds(net, lo, hi))
    for a, b in (("inf", "inf"), ("2", "2"), ("1", "inf"), ("inf", "2")):
        bound, info = branch_and_bound_norm(net, a, b, stability=stab, budget=20)
        assert oracle_value(case, a, b) <= bound <= info["root"]
    # enough budget to fix every unstable neuron: the bound is the largest norm over 0/1 patterns
    bound, info = branch_and_bound_norm(net, "inf", "inf", stability=stab, budget=400)
    assert oracle_value(case, "inf", "inf") <= bound <= info["root"]


@pytest.mark.parametrize("case", [0, 2, 4, 5, 7])
def test_derivative_variable_bounds(case):
    """The bounds item (b) will give the derivative variables: t_k = F_k v (forward, ||v||_alpha <= 1) and
    r_k = G_k^T w (backward, ||w||_{beta*} <= 1, or w = 1 for one output) contain every sampled value."""
    from lipgen.bounds.jacobian import backward_derivative_bounds, forward_derivative_bounds

    net = tiny_network(case)
    lo, hi = unit_box(net.n_inputs)
    stab = stabilities(net, compute_bounds(net, lo, hi))
    rng = np.random.default_rng(case)
    ds = sample_derivatives(stab, rng, 400)
    fwd, bwd = partial_products(net, ds)
    for m in METHODS:
        jb = jacobian_bounds(net, lo, hi, method=m, sides="both")
        for alpha in NORMS:
            v = rng.normal(size=(400, net.n_inputs))
            v = v / np.linalg.norm(v, ord={"1": 1, "2": 2, "inf": np.inf}[alpha], axis=1, keepdims=True)
            for p, bound in zip(fwd, forward_derivative_bounds(jb, alpha)):
                t = np.einsum("bij,bj->bi", p, v)
                assert np.all(np.abs(t) <= bound * (1 + 1e-13))
        for beta in NORMS:
            w = rng.normal(size=(400, net.n_outputs))
            w = w / np.linalg.norm(w, ord={"1": np.inf, "2": 2, "inf": 1}[beta], axis=1, keepdims=True)
            if net.n_outputs == 1:
                w = np.ones((400, 1))
            for p, e in zip(bwd, backward_derivative_bounds(jb, beta)):
                r = np.einsum("bmi,bm->bi", p, w)
                tol = 1e-13 * e.magnitude()
                assert np.all(r >= e.lower - tol) and np.all(r <= e.upper + tol)
