"""The Jacobian bound as an anchor (issue 20, item 2a): certified against the exact oracle, reported as the upper bound
when it beats the MIP's and the naive bound, and an unverified MIP bound above it needs no second solver."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import hostile
from helpers.cli import run_cli
from helpers.exact_oracle import exact_lipschitz, operator_norm_enclosure, regions
from helpers.networks import tiny_network, unit_box

from lipgen.bounds import compute_bounds, stabilities
from lipgen.domain import Box
from lipgen.formulation import scale_anchor
from lipgen.instance.generate import compute_anchors, objective_estimate
from lipgen.io import covector as cv
from lipgen.io import save
from lipgen.results.bounds import JACOBIAN_SOURCE, MIP_SOURCE, NAIVE_SOURCE, SUPERSEDED, combine
from lipgen.run.batch import check_premise
from lipgen.solvers import SolveOptions

NORM_PAIRS = [("1", "1"), ("2", "2"), ("inf", "inf"), ("inf", "1"), ("2", "inf")]
NETS = [tiny_network(i) for i in (1, 2)] + hostile.all_nets()


def _box(net) -> Box:
    lo, hi = unit_box(net.n_inputs)
    return Box(np.asarray(lo, float), np.asarray(hi, float))


@pytest.mark.fast
@pytest.mark.parametrize("net", NETS, ids=[n.name for n in NETS])
def test_anchor_is_above_the_exact_constant(net):
    """The sidecar's `jacobian_upper` is >= L (exact rational enclosure), hostile nets included; the scale anchor
    is the least certified upper bound when nothing certifies a positive lower bound."""
    box = _box(net)
    stab = stabilities(net, compute_bounds(net, box.lower, box.upper, "linear"))
    jacobians = list(regions(net, box.lower, box.upper))  # exact, once: the norms below reuse them
    for alpha, beta in NORM_PAIRS:
        anchors = compute_anchors(net, box, alpha, beta, n_samples=50, stability=stab)
        lo = max((float(operator_norm_enclosure(j, alpha, beta)[0]) for j in jacobians), default=0.0)
        assert anchors["jacobian_method"] in ("linear", "interval")
        assert anchors["jacobian_upper"] >= lo, (net.name, alpha, beta)
        if max(anchors["sampled_certified"], anchors.get("search_lower", 0.0)) == 0:
            assert objective_estimate(anchors) == min(anchors["naive_upper"], anchors["jacobian_upper"])


@pytest.mark.fast
def test_anchor_widened_by_the_covector_fold():
    """A folded covector's rounding is added as for the naive bound: the anchor bounds the unfolded c^T f."""
    base, c = hostile.covector_cancel()
    net = cv.with_covector(base, c, "cx", {"kind": "weights"})
    box = Box(np.zeros(1), np.ones(1))
    for alpha, beta in NORM_PAIRS:
        anchors = compute_anchors(net, box, alpha, beta, n_samples=20)
        lo, _ = exact_lipschitz(base, box.lower, box.upper, alpha, beta, covector=c)
        assert anchors["jacobian_upper"] >= lo
        assert anchors["jacobian_upper"] >= cv.fold_error_norm(net.meta["covector"], alpha)


@pytest.mark.fast
def test_scale_anchor_rule():
    assert scale_anchor(3.0, [10.0, 5.0]) == 3.0  # a certified lower bound wins
    assert scale_anchor(0.0, [10.0, 5.0]) == 5.0  # else the least certified upper bound
    assert scale_anchor(None, [10.0, None, float("inf")]) == 10.0
    assert scale_anchor(0.0, []) == 0.0  # nothing known: Lambda 1


def _quantities(upper):
    return {"bound": "upper", "upper": upper, "certified_lower": 1.0, "lower": None}


@pytest.mark.fast
def test_combine_reports_the_least_upper_bound_and_its_source():
    anchors = {"naive_upper": 10.0, "jacobian_upper": 4.0, "jacobian_method": "linear", "sampled_certified": 1.0}
    s = combine(_quantities(6.0), None, anchors)
    assert (s["upper"], s["upper_source"], s["upper_mip"]) == (4.0, JACOBIAN_SOURCE, 6.0)
    assert s["jacobian_upper"] == 4.0 and s["jacobian_method"] == "linear" and s["gap"] == pytest.approx(0.75)
    s = combine(_quantities(3.0), None, anchors)
    assert (s["upper"], s["upper_source"]) == (3.0, MIP_SOURCE)
    s = combine(_quantities(4.0), None, anchors)  # a tie names the MIP
    assert s["upper_source"] == MIP_SOURCE
    s = combine(None, None, {"naive_upper": 2.0, "jacobian_upper": 4.0})
    assert s["upper_source"] == NAIVE_SOURCE and s["upper"] == pytest.approx(2.0)
    s = combine(_quantities(None), None, {"naive_upper": 2.0})  # an old sidecar: no Jacobian bound
    assert s["upper_source"] == NAIVE_SOURCE and s["jacobian_upper"] is None


@pytest.mark.fast
def test_combine_still_flags_a_mip_bound_below_the_certified_lower_bound():
    s = combine(_quantities(0.5), None, {"naive_upper": 10.0, "jacobian_upper": 4.0})
    assert s["consistency"] == "inconsistent" and s["upper"] == 0.5


@pytest.mark.fast
def test_unverified_mip_bound_above_the_jacobian_bound_is_superseded(tmp_path):
    """No second solver is run (there is none here: the instance path does not even exist) when the Jacobian bound
    is already below the MIP's unverified bound; the run does not fail for it."""
    up = {"solver": "scip", "lipschitz": {"bound": "upper", "upper": None, "upper_unverified": 7.0,
                                          "certified_lower": None,
                                          "premise": {"established": False, "reasons": ["a row mixes 1e-6 and 1e6"]}}}
    sidecar = {"anchors": {"naive_upper": 100.0, "jacobian_upper": 5.0}, "solvers": {}, "scaling": {}}
    out = check_premise(up, sidecar, tmp_path / "missing.mps", tmp_path / "runs", SolveOptions())
    assert out["verdict"] == SUPERSEDED and "Jacobian bound" in out["reason"]
    assert up["lipschitz"]["upper"] is None  # the MIP's bound stays unused
    s = combine(up["lipschitz"], None, sidecar["anchors"])
    assert (s["upper"], s["upper_source"]) == (5.0, JACOBIAN_SOURCE)


@pytest.mark.solver
def test_run_json_shows_the_jacobian_bound(tmp_path):
    """`lipgen run --json` carries the anchor and names the source of the upper bound it reports."""
    net = tiny_network(1)
    path = tmp_path / "net.h5"
    save(path, net, domain_lower=np.zeros(net.n_inputs), domain_upper=np.ones(net.n_inputs))
    res = run_cli("run", path, "--norm", "inf", "--json", "--time-limit", "60", "-o", tmp_path / "w")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["jacobian_upper"] >= out["best_lower"] and out["jacobian_method"] in ("linear", "interval")
    assert out["upper"] == min(v for v in (out["upper_mip"], out["jacobian_upper"], out["naive_upper"] * (1 + 1e-10))
                               if v is not None)
    assert out["upper_source"] in (MIP_SOURCE, JACOBIAN_SOURCE, NAIVE_SOURCE)
    sidecar = json.loads(next((tmp_path / "w" / "instances").glob("*__upper__*.json")).read_text())
    assert sidecar["anchors"]["jacobian_upper"] == out["jacobian_upper"]
