"""The same instance files read by gurobipy and the cplex package: same sizes, and the same optimum as SCIP
where the free licenses allow (Gurobi: 200 variables once a quadratic term exists; CPLEX: 1000)."""

from __future__ import annotations

import pytest
# optional libraries: without them these tests are skipped, not a collection error
cplex = pytest.importorskip("cplex")
gp = pytest.importorskip("gurobipy")

from helpers.networks import oracle_value, tiny_network, unit_box
from helpers.scip import scip_solve

from lipgen.domain import Box
from lipgen.formulation import lipschitz_from_objective
from lipgen.instance import generate

pytestmark = pytest.mark.solver  # every test here runs a solver

CASES = [  # (network case, alpha, beta, format, gzip, encoding)
    (0, "2", "2", "mps", False, "bigm"),
    (1, "inf", "inf", "lp", True, "bigm"),
    (2, "1", "1", "mps", True, "bigm"),
    (3, "2", "2", "lp", False, "bigm"),
    (4, "inf", "2", "mps", False, "bigm"),  # nonconvex objective, no quadratic constraint: CPLEX with OT=3
    (4, "2", "2", "lp", False, "bigm"),  # nonconvex objective + l2 ball: not for CPLEX
    (6, "2", "inf", "mps", True, "bigm"),
    (1, "2", "2", "mps", False, "quadratic"),  # bilinear: not for CPLEX
]


@pytest.fixture(scope="module")
def gurobi_env():
    env = gp.Env(empty=True)
    env.setParam("OutputFlag", 0)
    env.start()
    yield env
    env.dispose()


def quiet_cplex(path) -> cplex.Cplex:
    c = cplex.Cplex()
    for stream in (c.set_results_stream, c.set_log_stream, c.set_warning_stream, c.set_error_stream):
        stream(None)
    c.read(str(path))
    return c


def gurobi_fits(stats: dict) -> bool:
    quad = stats["quadratic_constraint_terms"] + stats["quadratic_objective_terms"] > 0
    return stats["variables"] <= (200 if quad else 2000) and stats["constraints"] <= 2000


@pytest.mark.parametrize("case,alpha,beta,fmt,gz,encoding", CASES)
def test_gurobi_and_cplex_read_and_solve(case, alpha, beta, fmt, gz, encoding, tmp_path, gurobi_env):
    net = tiny_network(case)
    written = generate(net, Box(*unit_box(net.n_inputs)), tmp_path, alpha=alpha, beta=beta, fmt=fmt, gzip=gz,
                       encoding=encoding)
    exact = oracle_value(case, alpha, beta)
    for g in written:
        st, sc = g.sidecar["statistics"], g.sidecar
        scip_obj = scip_solve(g.path).primal

        m = gp.read(str(g.path), env=gurobi_env)
        assert m.NumVars == st["variables"]
        assert m.NumBinVars == st["binary"]
        assert m.NumConstrs == st["linear_constraints"]
        assert m.NumQConstrs == st["quadratic_constraints"]
        if not st["quadratic_constraints"]:  # Gurobi counts the linear part of a quadratic row elsewhere
            assert m.NumNZs == st["nonzeros"]
        assert gurobi_fits(st), f"test network too large for the Gurobi pip license: {st}"
        m.Params.MIPGap = 0
        m.Params.NonConvex = 2
        m.optimize()
        assert m.Status == gp.GRB.OPTIMAL
        assert m.ObjVal == pytest.approx(scip_obj, rel=1e-5, abs=1e-7)
        if sc["bound"] == "upper":
            assert lipschitz_from_objective(m.ObjBound, sc["objective_transform"], sc["scaling"]["objective_scale"]) >= exact * (1 - 1e-7)

        c = quiet_cplex(g.path)
        assert c.variables.get_num() == st["variables"]
        assert c.variables.get_num_binary() == st["binary"]
        assert c.linear_constraints.get_num() == st["linear_constraints"]
        assert c.quadratic_constraints.get_num() == st["quadratic_constraints"]
        assert max(st["variables"], st["constraints"]) <= 1000
        if not sc["solvers"]["cplex"]["ok"]:
            with pytest.raises(cplex.exceptions.CplexError, match="5002|not convex|1017"):
                c.solve()
            continue
        if sc["solvers"]["cplex"].get("params", {}).get("optimalitytarget"):
            c.parameters.optimalitytarget.set(3)
        c.parameters.mip.tolerances.mipgap.set(0)
        c.solve()
        assert c.solution.get_status() in (101, 102)
        assert c.solution.get_objective_value() == pytest.approx(scip_obj, rel=1e-5, abs=1e-7)
