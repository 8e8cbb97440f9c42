"""Issue 17: certified bounds on ill-conditioned networks, against an exact rational oracle.

Hostile nets (tests/helpers/hostile.py): cancellation to L = 0, tiny L by cancellation, per-neuron scales from 1e-6
to 1e6, tiny weights, a covector with cancellation, a region 1e-9 thick. Every run that ends without a failure
reason (what makes `lipgen run` exit 0) must bracket L; any other run must say why."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from helpers import hostile
from helpers.cli import run_cli
from helpers.exact_oracle import exact_lipschitz, open_feasible
from helpers.networks import random_network
from helpers.oracle import exact_lipschitz as float_oracle

from lipgen.bounds import equilibrate, naive_upper_bound
from lipgen.domain import Box
from lipgen.instance import generate
from lipgen.io import covector as cv
from lipgen.lower.certificate import certify_point
from lipgen.network import Network
from lipgen.results import bounds as results
from lipgen.results.bounds import below_estimate, combine, confirm_upper, failure_reason, premise_reasons
from lipgen.run.batch import check_premise, solve_all
from lipgen.solvers import SolveOptions

pytestmark = pytest.mark.solver  # most tests here solve the hostile nets' instances

NORM_PAIRS = list(itertools.product(("1", "2", "inf"), repeat=2))


def unit(net: Network) -> Box:
    return Box(-np.ones(net.n_inputs), np.ones(net.n_inputs))


def bracket_run(net: Network, box: Box, tmp_path, alpha: str, beta: str, mode: str, bounds: str, solver: str,
                **kw) -> dict:
    """What `lipgen run` does, in process: generate, solve both problems, the premise check, the summary."""
    written = generate(net, box, tmp_path / "inst", alpha=alpha, beta=beta, mode=mode, bounds_method=bounds, **kw)
    opts = SolveOptions(time_limit=30)
    res = solve_all([g.path for g in written], solver, tmp_path / "runs", opts, jobs=2)
    by = {r["bound"]: r for r in res}
    up_sidecar = next(g.sidecar for g in written if g.sidecar["bound"] == "upper")
    up_path = next(g.path for g in written if g.sidecar["bound"] == "upper")
    premise = check_premise(by["upper"], up_sidecar, up_path, tmp_path / "runs", opts)
    summary = combine(by["upper"].get("lipschitz"), by["lower"].get("lipschitz"), written[0].sidecar["anchors"])
    summary["premise"] = premise
    return summary


def assert_brackets(summary: dict, lo: float, hi: float, what) -> None:
    """Exit-0 runs bracket L = [lo, hi] (the oracle's enclosure); others carry a reason."""
    why = failure_reason(summary)
    if why is None:
        assert summary["best_lower"] <= hi and summary["upper"] >= lo, (what, lo, hi, summary)
    else:
        assert why, (what, summary)
    for key in ("lower", "certified_lower", "sampled_certified", "search_lower"):  # certified wherever reported
        if summary.get(key) is not None:
            assert summary[key] <= hi, (what, key, lo, hi, summary)


# ------------------------------------------------------------------------------------------- the oracle itself

@pytest.mark.parametrize("seed", range(3))
def test_exact_oracle_agrees_with_the_lp_oracle(seed):
    net = random_network(seed, 2, [3, 2], 2)
    box = unit(net)
    for alpha, beta in NORM_PAIRS:
        lo, hi = exact_lipschitz(net, box.lower, box.upper, alpha, beta)
        assert lo <= hi <= lo * (1 + 1e-14) + 1e-300
        assert float_oracle(net, box.lower, box.upper, alpha, beta) == pytest.approx(lo, rel=1e-9, abs=1e-300)


def test_fourier_motzkin_decides_open_sets_exactly():
    x_gt = ((Fraction(1), Fraction(0)), Fraction(0))  # x > 0
    assert open_feasible([x_gt, ((Fraction(-1), Fraction(0)), Fraction(1, 10 ** 30))], 2)  # 0 < x < 1e-30
    assert not open_feasible([x_gt, ((Fraction(-1), Fraction(0)), Fraction(0))], 2)  # 0 < x < 0
    assert open_feasible([((Fraction(1), Fraction(1)), Fraction(-1)), ((Fraction(-1), Fraction(-1)), Fraction(2))], 2)


# --------------------------------------------------------------------------------- certified numbers (no solver)

def test_cancellation_certifies_nothing_and_says_so():
    """L = 0 exactly; float64 finds ||J|| ~ 1e-3 at every point: the certificate gives 0 with the reason."""
    net = hostile.cancel_zero()
    box = unit(net)
    assert exact_lipschitz(net, box.lower, box.upper, "2", "2") == (0.0, 0.0)
    assert abs(net.jacobians(np.array([[0.5]]))[0, 0, 0]) > 1e-4  # the float noise the issue saw
    for alpha, beta in NORM_PAIRS:
        cert = certify_point(net, box, alpha, beta, np.array([0.5]))
        assert cert.value == 0.0 and "rounding error" in cert.reason


def test_sampled_estimate_is_not_a_lower_bound(tmp_path):
    net = hostile.cancel_zero()
    anchors = generate(net, unit(net), tmp_path, alpha="inf", beta="inf")[0].sidecar["anchors"]
    assert anchors["sampled_estimate"] > 0 and anchors["sampled_certified"] == 0.0
    summary = combine(None, None, anchors)
    assert summary["best_lower"] == 0.0 and summary["sampled_estimate"] > 0
    assert "sampled_lower" not in summary  # estimates never carry "lower" in their name


def test_covector_folding_error_is_charged():
    base, c = hostile.covector_cancel()
    net = cv.with_covector(base, c, "cx", {"kind": "weights"})
    box = unit(net)
    lo, hi = exact_lipschitz(base, box.lower, box.upper, "2", "2", covector=c)
    folded = float(abs(net.weights[1] @ net.weights[0])[0, 0])
    assert folded > 1.5 * hi  # folding in float64 alone would overstate L
    fold = cv.fold_error_norm(net.meta["covector"], "2")
    assert fold >= abs(folded - lo)
    for alpha, beta in NORM_PAIRS:
        cert = certify_point(net, box, alpha, beta, np.array([0.5]))
        assert cert.value is not None and cert.value <= hi
        assert naive_upper_bound(net, alpha, beta) + cv.fold_error_norm(net.meta["covector"], alpha) >= lo


def test_equilibration_is_exact_and_leaves_the_instance_unchanged(tmp_path):
    net = hostile.per_neuron_scaled(0, widths=(4, 4, 2, 2, 2))
    balanced, exps = equilibrate(net)
    assert any(np.any(e) for e in exps)
    xs = np.random.default_rng(0).uniform(-1, 1, (500, 4))
    assert np.array_equal(net.forward(xs), balanced.forward(xs))  # bit for bit: only exponents moved
    for w in balanced.weights[:-1]:  # no row mixes 1e-6 and 1e6 any more
        assert np.max(np.abs(w)) / np.min(np.abs(w[w != 0])) < 1e4
    box = unit(net)
    a = generate(net, box, tmp_path / "a", alpha="1", beta="1", bounds_method="interval")
    b = generate(replace(balanced, name=net.name), box, tmp_path / "b", alpha="1", beta="1", bounds_method="interval")
    for x, y in zip(a, b):
        assert x.path.read_bytes() == y.path.read_bytes()
    assert a[0].sidecar["equilibration"]["exponents"] == [e.tolist() for e in exps]
    # the naive bound of the balanced twin: 1e15 -> about 10 on this net
    assert naive_upper_bound(net, "2", "2") < 100 < float(np.prod([np.linalg.norm(w, 2) for w in net.weights]))


def test_premise_reasons_and_confirmation():
    sidecar = {"conditioning": {"max_row_ratio": 1e12}, "anchors": {"naive_upper": 1e7},
               "scaling": {"objective_scale": 1.0}}
    reasons = premise_reasons(sidecar)
    assert len(reasons) == 2 and "1e+12" in reasons[0]
    assert premise_reasons({"anchors": {}, "scaling": {}}) == []  # version-2 sidecars: not measured
    assert confirm_upper(1.0, 1.00001, 1.0) == (1.00001, "")
    value, why = confirm_upper(1.26e7, 4.89e16, 2.0 ** 50)
    assert value is None and "disagree" in why
    assert confirm_upper(1.0, None, 1.0)[0] is None


def test_a_dual_bound_below_the_sampled_estimate_needs_a_second_opinion():
    """The post-solve half of the premise check: a MIP bound below a Jacobian norm sampled in the box is suspect."""
    anchors = {"sampled_estimate": 2.0, "sampled_certified": 1.9}
    assert below_estimate({"anchors": anchors}, 2.0 * (1 + 1e-6)) == []  # the widening keeps an exact bound above
    assert below_estimate({"anchors": anchors}, 2.0) == []  # equal: rounding, not a contradiction
    (why,) = below_estimate({"anchors": anchors}, 1.5)
    assert "1.5" in why and "below" in why
    assert below_estimate({"anchors": {"sampled_lower": 3.0}}, 1.5)  # version-2 sidecars: their estimate
    assert below_estimate({"anchors": {}}, 1.5) == []


# ------------------------------------------------------------------------------ solvers against the exact oracle

def _cases():
    """A deterministic spread over nets x nine norm pairs x modes x bounds methods (scip), HiGHS on MILPs."""
    nets = hostile.all_nets()
    bounds = ("interval", "linear", "obbt")
    out = []
    for n, net in enumerate(nets):
        for p, (alpha, beta) in enumerate(NORM_PAIRS):
            if (n + p) % 3:
                continue  # a third of the pairs per net, a different third for the next net
            mode = ("forward", "backward")[(n + p // 3) % 2]
            out.append((net.name, alpha, beta, mode, bounds[(n + p // 3) % 3], "scip"))
        milp = [(a, b) for a, b in NORM_PAIRS if a != "2" and (b != "2" or net.n_outputs == 1)]
        a, b = milp[n % len(milp)]
        out.append((net.name, a, b, ("backward", "forward")[n % 2], bounds[n % 3], "highs"))
    return out


NETS = {net.name: net for net in hostile.all_nets()}


@pytest.mark.parametrize("name,alpha,beta,mode,bounds,solver", _cases())
def test_hostile_runs_bracket_the_exact_constant(tmp_path, name, alpha, beta, mode, bounds, solver):
    net = NETS[name]
    box = unit(net)
    lo, hi = exact_lipschitz(net, box.lower, box.upper, alpha, beta)
    summary = bracket_run(net, box, tmp_path, alpha, beta, mode, bounds, solver)
    assert_brackets(summary, lo, hi, (name, alpha, beta, mode, bounds, solver))


@pytest.mark.parametrize("solver,alpha", [("gurobi", "inf"), ("cplex", "1")])
def test_hostile_commercial_solvers(tmp_path, solver, alpha):
    net = hostile.cancel_tiny(1)
    box = unit(net)
    lo, hi = exact_lipschitz(net, box.lower, box.upper, alpha, alpha)
    assert_brackets(bracket_run(net, box, tmp_path, alpha, alpha, "auto", "linear", solver), lo, hi, solver)


def test_premise_failure_is_confirmed_by_a_second_solver(tmp_path, monkeypatch):
    """With the premise made to fail, the upper MIP bound is not used until HiGHS confirms SCIP's."""
    monkeypatch.setattr(results, "PREMISE_AMPLIFICATION", 0.0)
    net = hostile.per_neuron_scaled(1)
    box = unit(net)
    lo, hi = exact_lipschitz(net, box.lower, box.upper, "inf", "inf")
    summary = bracket_run(net, box, tmp_path, "inf", "inf", "forward", "linear", "scip")
    assert summary["premise"]["established"] is False
    assert summary["premise"]["verdict"] == "confirmed" and summary["premise"]["second_solver"] == "highs"
    assert summary["upper_mip"] is not None
    assert_brackets(summary, lo, hi, "premise")


# ------------------------------------------------------------------------------------------ the command line

def test_run_on_the_issues_nets_exits_0_with_a_bracket(tmp_path, net_file):
    """The crash (backward, l2 input) and the covector case, through `lipgen run --json`."""
    net = hostile.cancel_zero()
    path = net_file(net, domain_lower=np.array([-1.0]), domain_upper=np.array([1.0]))
    res = run_cli("run", path, "--norm", "2", "--mode", "backward", "--json", "-o", tmp_path / "a")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["best_lower"] == 0.0 and out["upper"] >= 0 and out["sampled_estimate"] > 0
    base, c = hostile.covector_cancel()
    path = net_file(base, domain_lower=np.array([-1.0]), domain_upper=np.array([1.0]))
    np.save(tmp_path / "c.npy", c)
    res = run_cli("run", path, "--output-weights", tmp_path / "c.npy", "--norm", "inf", "--json", "-o", tmp_path / "b")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    lo, hi = exact_lipschitz(base, [-1.0], [1.0], "inf", "inf", covector=c)
    assert out["best_lower"] <= hi and out["upper"] >= lo
