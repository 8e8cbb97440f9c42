"""Instances solved in-process by SCIP (pyscipopt), read back into bounds."""

from __future__ import annotations

from pyscipopt import Model as ScipModel

from lipgen.domain import Box
from lipgen.instance import generate
from lipgen.network import Network
from lipgen.parsers.record import OPTIMAL, SolveRecord
from lipgen.results.bounds import combine, lipschitz_quantities


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
