"""Forward and backward modes, tightened bounds, output covectors, the region walk and recommended solver
parameters, each against the exact oracle."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from helpers.cli import run_cli
from helpers.networks import SHAPES, awkward_networks, oracle_value, random_network, tiny_network, unit_box
from helpers.oracle import exact_lipschitz
from helpers.scip import scip_solve

from lipgen.lower.region_walk import region_walk
from lipgen.bounds import compute_bounds, interval_bounds, stabilities
from lipgen.domain import Box
from lipgen.formulation import Spec, resolve_mode
from lipgen.instance import generate
from lipgen.network import Network
from lipgen.results.bounds import combine, lipschitz_quantities
from lipgen.instance import find_instances
from lipgen.run.batch import solve_all
from lipgen.solvers import SolveOptions
from lipgen.io import save

pytestmark = pytest.mark.solver  # every test here runs a solver

NORM_PAIRS = [("1", "1"), ("2", "2"), ("inf", "inf"), ("1", "inf"), ("inf", "2"), ("2", "1")]
REL = 1e-5


def bounds_of(net, box, tmp_path, alpha, beta, **kw) -> dict:
    written = generate(net, box, tmp_path, alpha=alpha, beta=beta, **kw)
    q = {g.sidecar["bound"]: lipschitz_quantities(scip_solve(g.path), g.sidecar, net) for g in written}
    res = combine(q["upper"], q["lower"], written[0].sidecar["anchors"])
    res["sidecar"] = written[0].sidecar
    return res


@pytest.mark.parametrize("case,alpha,beta", [(case, *NORM_PAIRS[(case + shift) % len(NORM_PAIRS)])
                                             for case in range(len(SHAPES)) for shift in (0, 3)])
def test_both_modes_give_the_exact_constant(case, alpha, beta, tmp_path):
    net = tiny_network(case)
    exact = oracle_value(case, alpha, beta)
    for mode in ("forward", "backward"):
        res = bounds_of(net, Box(*unit_box(net.n_inputs)), tmp_path / mode, alpha, beta, mode=mode)
        assert res["sidecar"]["mode"] == mode
        assert res["upper_mip"] >= exact and res["upper_mip"] == pytest.approx(exact, rel=REL, abs=2e-3)
        assert res["lower"] == pytest.approx(exact, rel=REL) and res["best_lower"] <= exact * (1 + 1e-12)


def test_auto_mode_rule():
    one_out = Spec(alpha="inf", beta="inf")
    assert resolve_mode(one_out, 5, 1) == "backward"  # a constant covector: exact first products
    assert resolve_mode(Spec(alpha="2", beta="2"), 5, 1) == "forward"  # backward would maximise a sum of squares
    assert resolve_mode(Spec(alpha="inf", beta="2"), 4, 2) == "backward"  # convex MIQCP instead of nonconvex
    assert resolve_mode(Spec(alpha="1", beta="1"), 2, 3) == "forward"  # more outputs than inputs
    assert resolve_mode(Spec(alpha="1", beta="1", mode="forward"), 5, 1) == "forward"


@pytest.mark.parametrize("mode", ["forward", "backward"])
@pytest.mark.parametrize("alpha,beta", [("1", "1"), ("2", "2"), ("inf", "inf")])
def test_constant_network_is_exactly_zero_in_both_modes(mode, alpha, beta, tmp_path):
    """A zero last layer: L = 0 exactly, the naive bound included (no subnormal rounding, no overflowing scale)."""
    net = tiny_network(1)
    net.weights[-1][:] = 0.0
    res = bounds_of(net, Box(*unit_box(net.n_inputs)), tmp_path, alpha, beta, mode=mode)
    assert res["sidecar"]["mode"] == mode and res["sidecar"]["anchors"]["naive_upper"] == 0.0
    assert res["upper"] == 0.0 and res["best_lower"] == 0.0


def test_backward_one_output_has_no_derivative_big_m_in_the_last_layer(tmp_path):
    """With one output the covector is a constant: the last hidden layer's products are exact."""
    net = tiny_network(0)  # 2-16-1
    written = generate(net, Box(*unit_box(2)), tmp_path, alpha="inf", beta="inf", mode="backward", bounds=("upper",))
    st_ = written[0].sidecar
    assert st_["problem_class"] == "MILP" and st_["mode"] == "backward" and st_["direction_vars"] == []
    assert written[0].path.name.endswith("__upper__bigm-bwd.mps")


# -- tightened bounds -----------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(case=awkward_networks())
def test_tightened_bounds_never_cut_a_point(case):
    net, box, _ = case
    xs = np.vstack([box.sample(3000, 1), box.lower, box.upper])
    zs = net.preactivations(xs)
    previous = None
    for method in ("interval", "linear", "obbt"):
        bounds = compute_bounds(net, box.lower, box.upper, method)
        for z, b in zip(zs, bounds):
            assert np.all(z >= b.lower) and np.all(z <= b.upper), method
        width = sum(float(np.sum(b.upper - b.lower)) for b in bounds)
        if previous is not None:
            assert width <= previous * (1 + 1e-9), method  # each method at least as tight as the one before
        previous = width


@pytest.mark.parametrize("case,alpha", [(1, "inf"), (3, "1"), (5, "2"), (7, "inf")])
def test_obbt_keeps_the_exact_constant(case, alpha, tmp_path):
    net = tiny_network(case)
    exact = oracle_value(case, alpha, alpha)
    res = bounds_of(net, Box(*unit_box(net.n_inputs)), tmp_path, alpha, alpha, bounds_method="obbt")
    assert res["sidecar"]["bounds_method"] == "obbt"
    assert res["upper"] >= exact and res["upper"] == pytest.approx(exact, rel=REL, abs=2e-3)
    assert res["best_lower"] == pytest.approx(exact, rel=REL)


def test_obbt_fixes_neurons_interval_arithmetic_cannot():
    net = random_network(0, 2, [20, 20, 20, 20], 2)
    lo, hi = unit_box(2)
    counts = {m: sum(s.counts()["unstable"] for s in stabilities(net, compute_bounds(net, lo, hi, m)))
              for m in ("interval", "linear", "obbt")}
    assert counts["interval"] > counts["linear"] > counts["obbt"], counts


# -- output covectors -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["forward", "backward"])
def test_margin_and_output_weights(mode, tmp_path):
    net = random_network(3, 3, [8, 6], 4, name="four")
    path = tmp_path / "four.h5"
    save(path, net)
    margin = Network(net.weights[:-1] + [(net.weights[-1][0] - net.weights[-1][2])[None]],
                     net.biases[:-1] + [np.array([net.biases[-1][0] - net.biases[-1][2]])])
    exact = exact_lipschitz(margin, *unit_box(3), "inf", "inf")
    r = run_cli("run", path, "--box=-1,1", "--norm", "inf", "--margin", "0,2", "--mode", mode, "--json",
                "-o", tmp_path / "m")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["network"] == "four-m0-2" and res["upper"] >= exact and res["upper"] == pytest.approx(exact, rel=REL)
    sidecar = json.loads(next((tmp_path / "m" / "instances").glob("four-m0-2__*__upper__*.json")).read_text())
    assert sidecar["network"]["covector"]["margin"] == [0, 2]
    c = np.array([0.5, -1.0, 0.0, 2.0])
    np.save(tmp_path / "c.npy", c)
    r = run_cli("run", path, "--box=-1,1", "--norm", "2", "--output-weights", tmp_path / "c.npy", "--mode", mode,
                "--json", "-o", tmp_path / "c")
    assert r.returncode == 0, r.stderr
    scalar = Network(net.weights[:-1] + [(c @ net.weights[-1])[None]], net.biases[:-1] + [np.array([c @ net.biases[-1]])])
    assert json.loads(r.stdout)["upper"] == pytest.approx(exact_lipschitz(scalar, *unit_box(3), "2", "2"), rel=REL)
    for bad in ("0,0", "0,9", "x"):
        r = run_cli("run", path, "--box=-1,1", "--margin", bad, "-o", tmp_path / "bad")
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()


# -- the primal side --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", [1, 2, 6, 7])
def test_region_walk_is_certified_and_climbs(case):
    net = tiny_network(case)
    box = Box(*unit_box(net.n_inputs))
    stab = stabilities(net, interval_bounds(net, box.lower, box.upper))
    exact = oracle_value(case, "inf", "inf")
    found = region_walk(net, box, "inf", "inf", stab)
    from lipgen.lower.sampling import sampled_lower_bound

    sampled = sampled_lower_bound(net, box.lower, box.upper, "inf", "inf", n=256).value
    assert found.certificate.value is not None and found.value <= exact * (1 + 1e-12)
    assert found.value >= sampled * (1 - 1e-9)


def test_runs_start_from_the_walk_and_use_recommended_parameters(tmp_path):
    net = random_network(0, 4, [10, 10], 1, name="w")
    generate(net, Box(*unit_box(4)), tmp_path / "inst", alpha="inf", beta="inf", bounds=("upper",))
    inst = find_instances([tmp_path / "inst"])
    opts = SolveOptions(time_limit=60, threads=1, gap=1e-6)
    res = solve_all(inst, "scip", tmp_path / "runs", opts)[0]
    assert res["settings"]["warm_start"] is True and res["settings"]["extra"] == {"separating/maxrounds": 0,
                                                                          "separating/maxroundsroot": 0}
    rdir = tmp_path / "runs" / (inst[0].name.split(".")[0] + "__scip")
    log = (rdir / "run.log").read_text()
    assert "start.mst" in log and "reading user parameter file <lipgen.set>" in log
    assert (rdir / "lipgen.set").read_text() == "separating/maxrounds = 0\nseparating/maxroundsroot = 0\n"
    plain = solve_all(inst, "scip", tmp_path / "runs", opts, solver_defaults=True, warm_start=False)[0]
    assert not plain["reused"] and plain["settings"]["extra"] == {} and plain["settings"]["warm_start"] is False
    assert plain["lipschitz"]["upper"] == pytest.approx(res["lipschitz"]["upper"], rel=1e-5)


def test_inspect_compares_the_bounds_methods(net_file):
    path = net_file(random_network(0, 2, [20, 20, 20, 20], 2, name="deep"))
    r = run_cli("inspect", path, "--box=-1,1", "--json")
    methods = json.loads(r.stdout)["bounds_methods"]
    assert list(methods) == ["interval", "linear", "obbt"]
    assert methods["interval"]["unstable_total"] > methods["linear"]["unstable_total"] > methods["obbt"]["unstable_total"]
    assert methods["interval"]["largest_big_m"] > methods["linear"]["largest_big_m"] > methods["obbt"]["largest_big_m"]
    r = run_cli("inspect", path, "--box=-1,1", "--bounds", "interval,lp")
    assert r.returncode == 0 and "Bounds methods" in r.stdout and "obbt" not in r.stdout
    r = run_cli("inspect", path, "--box=-1,1", "--bounds", "magic")
    assert r.returncode == 2 and "--bounds 'magic'" in r.stderr
