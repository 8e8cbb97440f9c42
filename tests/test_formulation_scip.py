"""Instance files written to disk, read back by SCIP (pyscipopt), bounds checked against the exact oracle."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHAPES, oracle_value, tiny_network, unit_box
from pyscipopt import Model as ScipModel

from lipgen.domain import Box
from lipgen.instance import generate
from lipgen.network import Network
from lipgen.parsers.record import OPTIMAL, SolveRecord
from lipgen.results import combine, lipschitz_quantities

FORMATS = [("mps", False), ("lp", False), ("mps", True), ("lp", True)]
REL = 1e-5


def scip_solve(path) -> SolveRecord:
    """Read an instance file from disk with SCIP and solve it to optimality."""
    m = ScipModel()
    m.hideOutput()
    m.readProblem(str(path))
    m.setParam("limits/gap", 0.0)
    m.optimize()
    assert m.getStatus() == "optimal"
    sol = m.getBestSol()
    values = {v.name: m.getSolVal(sol, v) for v in m.getVars()}
    return SolveRecord("scip", status=OPTIMAL, primal=m.getObjVal(), dual=m.getDualbound(), values=values,
                       n_solutions=1)


def solve_bounds(net: Network, box: Box, tmp_path, **kw) -> dict:
    written = generate(net, box, tmp_path, **kw)
    per_kind = {}
    for g in written:
        assert g.path.exists() and g.sidecar_path.exists()
        per_kind[g.sidecar["bound"]] = lipschitz_quantities(scip_solve(g.path), g.sidecar, net)
    return combine(per_kind.get("upper"), per_kind.get("lower"), written[0].sidecar["anchors"])


def assert_sound_and_tight(res: dict, exact: float, tight: bool = True) -> None:
    assert res["upper"] >= exact * (1 - 1e-7), (res, exact)  # sound: never below L
    assert res["certified_lower"] <= exact * (1 + 1e-12), (res, exact)  # sound: never above L
    assert res["sampled_certified"] <= exact * (1 + 1e-12) <= res["naive_upper"] * (1 + 1e-12)
    if tight:
        # the upper bound is the dual bound widened by the solvers' tolerances: about 2e-6 of the objective's
        # scale, which is all there is when L = 0 (case 5)
        assert res["upper"] == pytest.approx(exact, rel=REL, abs=1e-5)
        assert res["lower"] == pytest.approx(exact, rel=REL)
        assert res["certified_lower"] == pytest.approx(exact, rel=REL)


@pytest.mark.parametrize("norm", ["1", "2", "inf"])
@pytest.mark.parametrize("case", range(len(SHAPES)))
def test_bounds_match_oracle(case, norm, tmp_path):
    net = tiny_network(case)
    fmt, gz = FORMATS[(case + "12i".index(norm[0])) % len(FORMATS)]
    res = solve_bounds(net, Box(*unit_box(net.n_inputs)), tmp_path, alpha=norm, beta=norm, fmt=fmt, gzip=gz)
    assert_sound_and_tight(res, oracle_value(case, norm, norm))


@pytest.mark.parametrize("case,alpha,beta", [(2, "1", "inf"), (4, "inf", "2"), (7, "2", "1"), (4, "2", "inf"),
                                             (6, "inf", "1")])
def test_mixed_norms(case, alpha, beta, tmp_path):
    net = tiny_network(case)
    res = solve_bounds(net, Box(*unit_box(net.n_inputs)), tmp_path, alpha=alpha, beta=beta)
    assert_sound_and_tight(res, oracle_value(case, alpha, beta))


@pytest.mark.parametrize("case,norm,fmt", [(1, "2", "mps"), (4, "inf", "lp"), (2, "1", "mps")])
def test_quadratic_encoding(case, norm, fmt, tmp_path):
    net = tiny_network(case)
    res = solve_bounds(net, Box(*unit_box(net.n_inputs)), tmp_path, alpha=norm, beta=norm, encoding="quadratic",
                       fmt=fmt)
    assert_sound_and_tight(res, oracle_value(case, norm, norm))


def duplicated_neuron_network() -> Network:
    """f = relu(x1 + x2) - relu(x1 + x2) + 0.5 relu(x1 - x2 + 0.1): the first two neurons cancel."""
    w1 = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, -1.0]])
    b1 = np.array([0.0, 0.0, 0.1])
    w2 = np.array([[1.0, -1.0, 0.5]])
    return Network([w1, w2], [b1, np.zeros(1)], name="dup")


def test_degenerate_duplicated_neuron(tmp_path):
    """On the hyperplane x1 + x2 = 0 the non-strict problem may switch one twin on and the other off, a pattern
    no region has: the upper bound is then ||(1,1) + 0.5 (1,-1)|| = sqrt(2.5), while L = lower = 0.5 sqrt(2)."""
    net = duplicated_neuron_network()
    res = solve_bounds(net, Box(*unit_box(2)), tmp_path, alpha="2", beta="2")
    exact = 0.5 * np.sqrt(2)
    assert res["lower"] == pytest.approx(exact, rel=REL)
    assert res["certified_lower"] == pytest.approx(exact, rel=REL)
    assert res["upper"] == pytest.approx(np.sqrt(2.5), rel=REL)
    assert res["certified_lower"] < res["upper"]


def test_eps_too_large_cuts_thin_regions(tmp_path):
    """A region thinner than eps disappears from the strict problem: the lower bound drops but stays sound."""
    # f = relu(x) + 50 relu(x - 0.9) on [-1, 1]: slopes 0, 1 and 51, the last on a region of width 0.1
    w1 = np.array([[1.0], [1.0]])
    b1 = np.array([0.0, -0.9])
    w2 = np.array([[1.0, 50.0]])
    net = Network([w1, w2], [b1, np.zeros(1)], name="thin")
    box = Box(np.array([-1.0]), np.array([1.0]))
    res = solve_bounds(net, box, tmp_path, alpha="2", beta="2", eps=0.2, bounds=("lower",))
    assert res["lower"] == pytest.approx(1.0, rel=REL)  # the 51-slope region (0.9, 1] is thinner than eps
    res = solve_bounds(net, box, tmp_path / "small", alpha="2", beta="2", eps=1e-4)
    assert res["lower"] == pytest.approx(51.0, rel=REL) and res["upper"] == pytest.approx(51.0, rel=REL)
