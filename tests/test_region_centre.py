"""A solution on a region's boundary still certifies its pattern's norm (lipgen/lower/region_lp.py): the non-strict
problem's optimum usually sits where a pre-activation is 0, and its binaries name the region whose Jacobian gave the
objective; the certificate moves into that region's interior. Plain runs then stop the strict problem once the
certified bounds meet (lipgen/run/race.py's ProofJudge)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import run_cli
from helpers.exact_oracle import exact_lipschitz
from helpers.networks import oracle_value, random_network, tiny_network

from lipgen import pipeline
from lipgen.bounds import interval_bounds, stabilities
from lipgen.domain import Box
from lipgen.instance.generate import generate
from lipgen.io import save
from lipgen.lower.certificate import certify_point
from lipgen.lower.region_lp import pattern_rows, region_centre
from lipgen.network import Network, operator_norm
from lipgen.results.bounds import certify
from lipgen.run.race import ProofJudge
from lipgen.solvers import SolveOptions

pytestmark = pytest.mark.fast

# z1_0 = x_0 is 0 at the origin; the pattern (1, 1) has J = [2, 1] and ||J||_{inf->inf} = 3
KINK = Network([np.eye(2), np.array([[2.0, 1.0]])], [np.array([0.0, 0.5]), np.zeros(1)], name="kink")
BOX = Box(-np.ones(2), np.ones(2))


def test_the_centre_of_a_pattern_region_certifies_its_norm_where_the_boundary_point_cannot():
    stab = stabilities(KINK, interval_bounds(KINK, BOX.lower, BOX.upper))
    assert not certify_point(KINK, BOX, "inf", "inf", np.zeros(2), stability=stab).value  # on the kink
    centre = region_centre(KINK, BOX, [np.array([1.0, 1.0])], stab)
    assert centre is not None and centre[0] > 0 and centre[1] > -0.5
    cert = certify_point(KINK, BOX, "inf", "inf", centre, stability=stab)
    assert cert.value == pytest.approx(3.0, rel=1e-12) and cert.value <= 3.0
    assert [list(p) for p in cert.pattern] == [[1.0, 1.0]]


def test_a_pattern_without_interior_gives_no_centre():
    # z1_0 = x_0 and z1_1 = -x_0: both active only on the line x_0 = 0
    net = Network([np.array([[1.0, 0.0], [-1.0, 0.0]]), np.ones((1, 2))], [np.zeros(2), np.zeros(1)], name="thin")
    stab = stabilities(net, interval_bounds(net, BOX.lower, BOX.upper))
    assert region_centre(net, BOX, [np.array([1.0, 1.0])], stab) is None
    assert region_centre(net, BOX, [np.array([1.0, 0.0])], stab) is not None


@pytest.mark.parametrize("seed", range(6))
def test_every_region_centre_lies_in_its_region_and_certifies_at_most_l(seed):
    net = random_network(seed, 3, [5, 4], 2)
    box = Box(-np.ones(3), np.ones(3))
    stab = stabilities(net, interval_bounds(net, box.lower, box.upper))
    _, hi = exact_lipschitz(net, box.lower, box.upper, "inf", "1")
    rng = np.random.default_rng(seed)
    for x in rng.uniform(-1, 1, size=(20, 3)):
        pattern = [(z[0] > 0).astype(float) for z in net.preactivations(x)[:-1]]
        rows, consts = pattern_rows(net, box, pattern, stab)
        centre = region_centre(net, box, pattern, stab)
        assert centre is not None
        xi = (centre - (box.lower + box.upper) / 2) / ((box.upper - box.lower) / 2)
        assert np.all(rows @ xi + consts > 0)
        cert = certify_point(net, box, "inf", "1", centre, stability=stab)
        j = net.jacobian_of_pattern(pattern)
        assert cert.value is not None and cert.value <= hi
        assert cert.value == pytest.approx(operator_norm(j, "inf", "1"), rel=1e-9)


def test_a_solution_on_the_kink_is_certified_from_its_binaries(tmp_path):
    written = generate(KINK, BOX, tmp_path, alpha="inf", beta="inf", bounds=("upper",), mode="forward")
    sc = written[0].sidecar
    values = {name: 0.0 for name in sc["input_vars"]}
    values.update({name: 1.0 for name in sc["direction_vars"]})
    values.update({"s1_0": 1.0, "s1_1": 1.0})
    cert = certify(KINK, sc, values)
    assert cert.value == pytest.approx(3.0, rel=1e-12) and cert.value <= 3.0
    assert "centre of the region" in cert.reason
    values.update({"s1_0": 0.0})  # the other side of the kink: J = [0, 1], norm 1
    assert certify(KINK, sc, values).value == pytest.approx(1.0, rel=1e-12)


def _sidecar(name: str, bound: str) -> dict:
    return {"instance": name, "bound": bound, "mode": "backward", "anchors": {"naive_upper": 10.0, "search_lower": 1.0}}


def _done(name: str, bound: str, status: str, upper=None, certified=None) -> dict:
    return {"instance": name, "bound": bound, "status": status,
            "lipschitz": {"bound": bound, "upper": upper, "lower": None, "certified_lower": certified}}


def test_a_plain_run_stops_its_strict_problem_once_the_upper_run_proves_l():
    judge = ProofJudge([_sidecar("u", "upper"), _sidecar("l", "lower")], gap_tol=1e-6)
    assert judge(_done("u", "upper", "optimal", upper=2.0, certified=1.5)) == {}  # apart: the strict one runs on
    judge = ProofJudge([_sidecar("u", "upper"), _sidecar("l", "lower")], gap_tol=1e-6)
    assert judge(_done("u", "upper", "time_limit", upper=2.0, certified=2.0)) == {}  # no optimum, no proof
    judge = ProofJudge([_sidecar("u", "upper"), _sidecar("l", "lower")], gap_tol=1e-6)
    assert set(judge(_done("u", "upper", "optimal", upper=2.0, certified=2.0 * (1 - 1e-6)))) == {"l"}


def test_every_run_with_both_problems_has_a_judge_and_one_problem_alone_none(tmp_path):
    both = generate(KINK, BOX, tmp_path / "both", alpha="inf", beta="inf")
    alone = generate(KINK, BOX, tmp_path / "alone", alpha="inf", beta="inf", bounds=("upper",))
    assert isinstance(pipeline.proof_judge(both, SolveOptions()), ProofJudge)
    assert pipeline.proof_judge(alone, SolveOptions()) is None


@pytest.mark.solver
def test_run_stops_the_strict_problem_once_proved_and_collect_counts_the_row_solved(tmp_path):
    path = tmp_path / "tiny.h5"
    save(path, tiny_network(0))
    r = run_cli("run", path, "--norm", "inf", "--box", "-1,1", "--split", "never", "--jobs", "1", "--json",
                "-o", tmp_path / "work")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    exact = oracle_value(0, "inf", "inf")
    assert res["best_lower"] <= exact * (1 + 1e-12) <= res["upper"] * (1 + 1e-7) and res["gap"] < 1e-4
    assert res["status"] == "optimal" and res["problems"]["lower"]["status"] == "interrupted"  # never started
    assert "bounds met" in r.stderr
    r = run_cli("collect", tmp_path / "work", "-o", tmp_path / "table", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads((tmp_path / "table" / "results.json").read_text())["rows"]
    assert [row["status"] for row in rows] == ["solved"]


def _slow_lower_scip(tmp_path) -> str:
    """SCIP that first sleeps on the strict problem: the upper run always ends first."""
    scip = Path(sys.executable).parent / "lipgen-scip"
    wrapper = tmp_path / "scip-slow-lower"
    wrapper.write_text(f'#!/bin/sh\ncase "$*" in *__lower__*) sleep 300;; esac\nexec "{scip}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


@pytest.mark.solver
def test_a_running_strict_problem_is_killed_once_the_upper_run_proves_l(tmp_path):
    net = tiny_network(1)
    s = pipeline.run(net, Box(-np.ones(2), np.ones(2)), alpha="inf", beta="1", workdir=tmp_path / "work",
                     split="never", solver_path=_slow_lower_scip(tmp_path)).data
    exact = oracle_value(1, "inf", "1")
    assert s["best_lower"] <= exact * (1 + 1e-12) <= s["upper"] * (1 + 1e-7) and s["gap"] < 1e-4
    lo = s["problems"]["lower"]
    assert s["status"] == "optimal" and lo["status"] == "interrupted" and lo["wall_time"] < 60
    on_disk = json.loads((Path(lo["run_dir"]) / "result.json").read_text())
    assert on_disk["stopped_by"] == "lipgen" and "bounds met" in on_disk["status_text"]
    r = run_cli("collect", tmp_path / "work", "-o", tmp_path / "table", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads((tmp_path / "table" / "results.json").read_text())["rows"]
    assert [(row["status"], row["statuses"]["lower"]) for row in rows] == [("solved", "interrupted")]
