"""Jacobian entry bounds inside the problem (issue 20, item 2 b and c): the derivative variables' bounds and the
upper problem's objective row hold at every point of the box (region boundaries included), nothing gets looser
than without them, and solving still brackets the exact constant."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import hostile
from helpers.exact_oracle import exact_lipschitz
from helpers.networks import random_network
from helpers.oracle import regions
from helpers.scip import scip_solve

from lipgen.domain import Box
from lipgen.formulation import Spec, prepare
from lipgen.instance import generate
from lipgen.instance.sidecar import formulation_of, rebuild_model
from lipgen.network import Network, operator_norm
from lipgen.results.bounds import combine, lipschitz_quantities

NORMS = ("1", "2", "inf")
PAIRS = list(itertools.product(NORMS, NORMS))
MODES = ("forward", "backward")
TOL = 1e-9  # relative: values are float64 recomputations, the bounds rigorous


def nets() -> list[Network]:
    return ([random_network(s, 2, [4, 3], m) for s, m in ((1, 1), (2, 2), (3, 3))]
            + [random_network(7, 3, [5, 4, 3], 2)] + hostile.all_nets())


def unit(net: Network) -> Box:
    return Box(-np.ones(net.n_inputs), np.ones(net.n_inputs))


def boundary_points(net: Network, box: Box, rng, n: int = 12) -> np.ndarray:
    """Points on (or within rounding of) first-layer hyperplanes in the box: bisection between samples of two
    patterns stops where a neuron changes sign."""
    xs = rng.uniform(box.lower, box.upper, size=(2 * n, net.n_inputs))
    out = []
    for a, b in zip(xs[:n], xs[n:]):
        za, zb = net.preactivations(a)[0][0], net.preactivations(b)[0][0]
        if np.array_equal(za > 0, zb > 0):
            continue
        for _ in range(60):
            m = 0.5 * (a + b)
            if np.array_equal(net.preactivations(m)[0][0] > 0, za > 0):
                a = m
            else:
                b = m
        out += [a, b]
    return np.array(out).reshape(-1, net.n_inputs)


def directions(n: int, alpha: str, rng) -> list[np.ndarray]:
    """Unit vectors of the alpha-ball: random ones and the ball's vertices (a few)."""
    out = [v / np.linalg.norm(v, {"1": 1, "2": 2, "inf": np.inf}[alpha]) for v in rng.standard_normal((6, n))]
    if alpha == "inf":
        out += [np.array(s, float) for s in itertools.islice(itertools.product((-1.0, 1.0), repeat=n), 8)]
    else:
        out += list(np.eye(n))
    return out


def check_point(plan, model, idx: dict, x, v) -> None:
    """Every variable of `plan.values(x, v)` within its bounds in `model` (idx its var_index), and the objective
    row kept."""
    vals = plan.values(x, v)
    names = [k for k in vals if k in idx]
    cols = np.array([idx[k] for k in names])
    val = np.array([vals[k] for k in names])
    slack = TOL * np.maximum(1.0, np.abs(val))
    low, up = val < model.lb[cols] - slack, val > model.ub[cols] + slack
    assert not (low.any() or up.any()), [(names[i], val[i], model.lb[cols[i]], model.ub[cols[i]])
                                          for i in np.flatnonzero(low | up)]
    rows = np.flatnonzero(model.row_names == "objbound")
    if rows.size and not plan.spec.strict:
        x_full = np.zeros(model.n_vars)
        x_full[cols] = val
        r, i, j, c = model.q_rows
        act = model.A[rows[0]] @ x_full + np.sum(c[r == rows[0]] * x_full[i[r == rows[0]]] * x_full[j[r == rows[0]]])
        assert act <= model.rhs[rows[0]] * (1 + TOL) + TOL, (act, model.rhs[rows[0]])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("net", nets(), ids=lambda n: n.name)
def test_sampled_points_keep_the_jacobian_bounds(net, mode):
    box = unit(net)
    rng = np.random.default_rng(0)
    pts = np.vstack([rng.uniform(box.lower, box.upper, size=(16, net.n_inputs)), boundary_points(net, box, rng),
                     [box.lower, box.upper]])
    # the strict problem's derivative bounds are the same; only the upper problem has the objective row
    for alpha, beta in (("1", "inf"), ("2", "2"), ("inf", "1"), ("inf", "inf")):
        plan = prepare(net, box.lower, box.upper, Spec(alpha=alpha, beta=beta, mode=mode))
        assert plan.jacobian is not None
        model = plan.model("t")
        idx = model.var_index()
        for x in pts:
            for v in directions(net.n_inputs, alpha, rng)[:1 if mode == "backward" else 5]:  # backward: w is chosen
                check_point(plan, model, idx, x, v)


def _derivative_bounds(plan) -> list[tuple[np.ndarray, np.ndarray]]:
    if plan.spec.mode == "forward":
        return [(d.tlo, d.thi) for d in plan.derivative] + [(plan.glo, plan.ghi)]
    return [(c.rlo, c.rhi) for c in plan.covector]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("net", nets(), ids=lambda n: n.name)
def test_nothing_gets_looser(net, mode):
    box = unit(net)
    for alpha, beta in PAIRS:
        spec = Spec(alpha=alpha, beta=beta, mode=mode)
        on = prepare(net, box.lower, box.upper, spec)
        off = prepare(net, box.lower, box.upper, spec, jacobian=False)
        for (lo1, hi1), (lo0, hi0) in zip(_derivative_bounds(on), _derivative_bounds(off)):
            assert np.all(lo1 >= lo0) and np.all(hi1 <= hi0)
        assert off.objective_cap is None and on.objective_cap is not None or not np.isfinite(on.jacobian.upper)


@pytest.mark.parametrize("net", [n for n in nets() if n.n_inputs <= 2], ids=lambda n: n.name)
def test_objective_bound_is_above_the_constant(net):
    box = unit(net)
    jacobians = [net.jacobian_of_pattern(p) for p in regions(net, box.lower, box.upper)]  # the LP oracle's regions
    for alpha, beta in PAIRS:
        lo = max((operator_norm(j, alpha, beta) for j in jacobians), default=0.0) * (1 - 1e-9)
        for mode in MODES:
            plan = prepare(net, box.lower, box.upper, Spec(alpha=alpha, beta=beta, mode=mode))
            assert plan.jacobian.upper >= lo, (alpha, beta, mode)
            cap = plan.objective_cap
            if cap is not None:  # the row's right-hand side, in L's units, is never below the bound
                sq = plan.spec.mode == "backward" and alpha == "2" or (
                    plan.spec.mode == "forward" and beta == "2" and net.n_outputs > 1)
                value = plan.scaling.objective * (np.sqrt(cap) if sq else cap)
                assert value >= plan.jacobian.upper * (1 - 1e-15), (alpha, beta, mode)


def test_sidecar_records_and_rebuilds_the_jacobian_bounds(tmp_path):
    net = random_network(5, 3, [6, 5], 2)
    box = unit(net)
    for flag in (True, False):
        out = tmp_path / str(flag)
        for g in generate(net, box, out, alpha="inf", beta="inf", mode="forward", jacobian_bounds=flag):
            rec = g.sidecar["formulation"]["jacobian_bounds"]
            if flag:
                assert rec["method"] == "linear" and rec["sides"] == "both" and rec["objective_bound"] > 0
                assert (rec["objective_cap"] is None) == (g.sidecar["bound"] == "lower")
            else:
                assert rec is None
            rebuild_model(g.sidecar, net)  # the same rows again (statistics compared)
            assert (formulation_of(g.sidecar, net).jacobian is None) == (not flag)
    old = dict(g.sidecar)
    old.pop("formulation")  # sidecars before issue 20: built without Jacobian bounds
    assert formulation_of(old, net).jacobian is None


# ----------------------------------------------------------------------------------- SCIP against the oracle
def _solve(net: Network, box: Box, tmp_path, alpha: str, beta: str, mode: str) -> dict:
    written = generate(net, box, tmp_path, alpha=alpha, beta=beta, mode=mode)
    per_kind = {g.sidecar["bound"]: lipschitz_quantities(scip_solve(g.path), g.sidecar, net) for g in written}
    return combine(per_kind["upper"], per_kind["lower"], written[0].sidecar["anchors"])


SOLVED = [random_network(1, 2, [4, 3], 1, name="jf1"), random_network(2, 2, [4, 3], 2, name="jf2"),
          random_network(3, 2, [5], 3, name="jf3"), hostile.per_neuron_scaled(0), hostile.thin_region(0)]


@pytest.mark.solver
@pytest.mark.parametrize("net", SOLVED, ids=lambda n: n.name)
def test_scip_brackets_the_exact_constant(net, tmp_path):
    box = unit(net)
    for (alpha, beta), mode in itertools.product(PAIRS, MODES):
        lo, hi = exact_lipschitz(net, box.lower, box.upper, alpha, beta)
        res = _solve(net, box, tmp_path / f"{alpha}{beta}{mode}", alpha, beta, mode)
        what = (alpha, beta, mode, lo, hi, res)
        assert res["consistency"] == "ok", what
        assert res["best_lower"] <= hi * (1 + 1e-9) and res["upper"] >= lo * (1 - 1e-9), what
