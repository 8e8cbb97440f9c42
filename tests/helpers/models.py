"""Models for the writer tests (Model A and B of docs/solvers.md, a kitchen sink of every case) and the
three solvers' readers that give back what a file holds."""

from __future__ import annotations

import pytest
# optional libraries: without them these tests are skipped, not a collection error
cplex = pytest.importorskip("cplex")
gp = pytest.importorskip("gurobipy")
from pathlib import Path

import numpy as np
from pyscipopt import Model as ScipModel
from pyscipopt import quicksum

from lipgen.model import BINARY, CONTINUOUS, INTEGER, SENSE_EQ, SENSE_GE, SENSE_LE, Model, ModelBuilder
from lipgen.writers import (file_suffix, write_model)


INF = np.inf
OPT_A, OPT_B = -6.136502, -6.836502  # docs/solvers.md 1.1 (maximisation there, negated here)
SCIP_AUX = {"qmatrixvar", "quadobjvar"}  # SCIP moves a quadratic objective into a constraint + variable
SCIP_AUX_CONS = {"qmatrix", "quadobj"}


# ----------------------------------------------------------------------------------------------- models
def model_ab(bilinear: bool) -> Model:
    """docs/solvers.md's model A (B with the bilinear row c2: y - s*t = 0), as min of the negated objective."""
    b = ModelBuilder("QTEST-B" if bilinear else "QTEST-A")
    x1, x2 = b.add_vars("x", 2, lb=-INF, ub=[INF, 0.8], suffixes=["1", "2"])
    (s,) = b.add_vars("s", 1, lb=0, ub=1, vtype=BINARY, suffixes=[""])
    (t,) = b.add_vars("t", 1, lb=0, ub=3, vtype=INTEGER, suffixes=[""])
    b.add_objective([x1, x2, s, t], [-3, -4, -3, -1])
    b.add_objective_quadratic([x1, x1, x2, t], [x1, x2, x2, t], [1, 1.5, 2, 0.5])
    (c1,) = b.add_rows("c1", 1, SENSE_LE, 1, suffixes=[""])
    b.add_quadratic([c1, c1], [x1, x2], [x1, x2], [1, 1])
    (c3,) = b.add_rows("c3", 1, SENSE_LE, 1.2, suffixes=[""])
    b.add_quadratic([c3] * 3, [x1, x1, x2], [x1, x2, x2], [1, 1, 1])
    b.add_rows("lin", 1, SENSE_LE, 3, coo=([0, 0, 0], [x1, s, t], [1, 1, 1]), suffixes=[""])
    if bilinear:
        (y,) = b.add_vars("y", 1, lb=-10, ub=10, suffixes=[""])
        b.add_objective([y], [-0.7])
        (c2,) = b.add_rows("c2", 1, SENSE_EQ, 0, coo=([0], [y], [1]), suffixes=[""])
        b.add_quadratic([c2], [s], [t], [-1])
    return b.build()


SINK_VARS = [  # every bound case; integer and continuous columns alternate (several MARKER blocks)
    ("b0", 0, 1, BINARY), ("x_free", -INF, INF, CONTINUOUS), ("i_box", -3, 4, INTEGER),
    ("c_neg", -INF, -2, CONTINUOUS), ("i_dflt", 0, INF, INTEGER), ("c_fix", 1.5, 1.5, CONTINUOUS),
    ("i_free", -INF, INF, INTEGER), ("c_lo", -1.25, INF, CONTINUOUS), ("b1", 0, 1, BINARY),
    ("c_box", 0.5, 7, CONTINUOUS), ("c_unused", -1, 1, CONTINUOUS), ("b_fix", 1, 1, BINARY),
    ("i_neg", -INF, -1, INTEGER), ("c_upneg", 0, -0.5, CONTINUOUS), ("y", -20, 20, CONTINUOUS),
    ("c_negbox", -5, -1, CONTINUOUS), ("q1", -2, 2, CONTINUOUS), ("q2", -2, 2, CONTINUOUS),
    ("i_fix", 2, 2, INTEGER),
]


def kitchen_sink(bilinear: bool = True, constant: float = 0.0, empty_infeasible: bool = False,
                 quadratic: bool = True) -> Model:
    """A small bounded MIQCQP with every bound/type case, an empty row, a convex QC and (optionally) y = b1*i_box.

    c_upneg has the empty domain [0, -0.5] if empty_infeasible, else [-1, -0.5]. quadratic=False: a MILP.
    """
    b = ModelBuilder("sink-model")
    v = {}
    for name, lb, ub, vt in SINK_VARS:
        if name == "c_upneg" and not empty_infeasible:
            lb = -1
        (v[name],) = b.add_vars(name, 1, lb=lb, ub=ub, vtype=vt, suffixes=[""])
    obj = {"b0": -1, "x_free": 0.5, "i_box": 1, "c_neg": -1, "i_dflt": 2, "i_free": 1, "c_lo": 1, "b1": 3,
           "c_box": -0.1, "i_neg": 0.25, "y": -1, "c_negbox": 1, "q1": -1, "c_upneg": 1e-7, "i_fix": 0.5}
    b.add_objective([v[k] for k in obj], list(obj.values()))
    if quadratic:  # convex: x_free^2 + 0.5 x_free q1 + q1^2 + 2 q2^2
        b.add_objective_quadratic([v["x_free"], v["q1"], v["q1"], v["q2"]],
                                  [v["x_free"], v["x_free"], v["q1"], v["q2"]], [1, 0.5, 1, 2])
    else:
        b.add_rows("xf", 1, SENSE_GE, -3, coo=([0], [v["x_free"]], [1]), suffixes=[""])
    b.add_objective_constant(constant)
    b.add_rows("r", 4, [SENSE_LE, SENSE_GE, SENSE_LE, SENSE_EQ], [10, -5, 0, 1.5],
               coo=([0, 0, 0, 1, 1, 2, 2, 3, 3],
                    [v["i_box"], v["i_dflt"], v["b1"], v["i_free"], v["c_lo"], v["x_free"], v["i_free"], v["c_box"],
                     v["c_fix"]],
                    [1, 1, 1, 1, 1, 1, -1, 1, 1e-7]))
    if quadratic:
        (ball,) = b.add_rows("ball", 1, SENSE_LE, 4, suffixes=[""])
        b.add_quadratic([ball] * 3, [v["q1"], v["q1"], v["q2"]], [v["q1"], v["q2"], v["q2"]], [1, 0.5, 1])
    b.add_rows("nothing", 1, SENSE_LE, 1, suffixes=[""])  # no terms at all: kept as an empty row
    if bilinear and quadratic:
        (prod,) = b.add_rows("prod", 1, SENSE_EQ, 0, coo=([0], [v["y"]], [1]), suffixes=[""])
        b.add_quadratic([prod], [v["b1"]], [v["i_box"]], [-1])
    b.add_rows("lnk", 1, SENSE_GE, -30, coo=([0, 0], [v["y"], v["i_neg"]], [1, 1]), suffixes=[""])
    return b.build()


def api_optimum(model: Model) -> float:
    """The optimum of `model` built directly through SCIP's API (no file): the writers' independent oracle."""
    m = ScipModel()
    m.hideOutput()
    xs = [m.addVar(name, vtype="CBI"[t], lb=None if lo == -INF else lo, ub=None if up == INF else up)
          for name, lo, up, t in zip(model.var_names.tolist(), model.lb.tolist(), model.ub.tolist(),
                                     model.vtype.tolist())]
    a = model.A
    r, qi, qj, qc = model.q_rows
    for k in range(model.n_rows):
        lo, hi = a.indptr[k], a.indptr[k + 1]
        expr = quicksum(c * xs[j] for j, c in zip(a.indices[lo:hi].tolist(), a.data[lo:hi].tolist()))
        expr += quicksum(c * xs[i] * xs[j] for i, j, c in zip(qi[r == k].tolist(), qj[r == k].tolist(),
                                                                qc[r == k].tolist()))
        rhs = float(model.rhs[k])
        m.addCons({SENSE_LE: expr <= rhs, SENSE_GE: expr >= rhs, SENSE_EQ: expr == rhs}[int(model.sense[k])])
    z = m.addVar("zobj", lb=None)
    oi, oj, oc = model.obj_q
    m.addCons(z >= quicksum(c * xs[i] * xs[j] for i, j, c in zip(oi.tolist(), oj.tolist(), oc.tolist())))
    m.setObjective(quicksum(c * x for x, c in zip(xs, model.obj.tolist())) + z + model.obj_constant)
    m.optimize()
    assert m.getStatus() == "optimal"
    return m.getObjVal()


# ----------------------------------------------------------------------------------------------- readers
def _inf(v: float) -> float:
    return -INF if v <= -1e20 else INF if v >= 1e20 else v


class Read:
    """What a solver read from a file: {name: (type, lb, ub)}, constraint counts, objective offset, solve()."""

    def __init__(self, variables, n_linear, n_quadratic, offset, solve):
        self.variables, self.n_linear, self.n_quadratic, self.offset, self.solve = (
            variables, n_linear, n_quadratic, offset, solve)


def read_scip(path: Path) -> Read:
    m = ScipModel()
    m.hideOutput()
    m.readProblem(str(path))
    types = {"BINARY": "B", "INTEGER": "I", "CONTINUOUS": "C"}
    variables = {v.name: (types[v.vtype()], _inf(v.getLbOriginal()), _inf(v.getUbOriginal()))
                 for v in m.getVars() if v.name not in SCIP_AUX}
    conss = [(c.name, c.getConshdlrName()) for c in m.getConss() if c.name not in SCIP_AUX_CONS]
    assert {h for _, h in conss} <= {"linear", "nonlinear"}

    def solve() -> float:
        m.setParam("limits/gap", 0.0)
        m.optimize()
        assert m.getStatus() == "optimal"
        return m.getObjVal()

    return Read(variables, sum(h == "linear" for _, h in conss), sum(h == "nonlinear" for _, h in conss),
                m.getObjoffset(), solve)


def read_gurobi(path: Path) -> Read:
    with gp.Env(params={"OutputFlag": 0}) as env:
        m = gp.read(str(path), env)
        variables = {v.VarName: (v.VType, v.LB, v.UB) for v in m.getVars()}
        n_lin, n_quad, offset = m.NumConstrs, m.NumQConstrs, m.ObjCon
        m.dispose()

    def solve() -> float:
        with gp.Env(params={"OutputFlag": 0}) as env2:
            model = gp.read(str(path), env2)
            model.Params.MIPGap = 1e-9
            model.optimize()
            assert model.Status == gp.GRB.OPTIMAL
            value = model.ObjVal
            model.dispose()
        return value

    return Read(variables, n_lin, n_quad, offset, solve)


def _cplex(path: Path) -> cplex.Cplex:
    c = cplex.Cplex()
    for stream in (c.set_log_stream, c.set_results_stream, c.set_warning_stream, c.set_error_stream):
        stream(None)
    c.read(str(path))
    return c


def read_cplex(path: Path) -> Read:
    c = _cplex(path)
    names = c.variables.get_names()
    continuous = c.get_problem_type() in (c.problem_type.LP, c.problem_type.QP, c.problem_type.QCP)
    types = ["C"] * len(names) if continuous else c.variables.get_types()
    variables = {n: (t, _inf(lo), _inf(up)) for n, t, lo, up in
                 zip(names, types, c.variables.get_lower_bounds(), c.variables.get_upper_bounds())}

    def solve() -> float:
        c.parameters.mip.tolerances.mipgap.set(1e-9)
        c.solve()
        assert c.solution.get_status() in (1, 101, 102), c.solution.get_status_string()
        return c.solution.get_objective_value()

    return Read(variables, c.linear_constraints.get_num(), c.quadratic_constraints.get_num(),
                c.objective.get_offset(), solve)


READERS = {"scip": read_scip, "gurobi": read_gurobi, "cplex": read_cplex}


def expected_vars(model: Model) -> dict:
    true_bin = (model.vtype == BINARY) & (model.lb == 0) & (model.ub == 1)
    types = np.where(true_bin, "B", np.where(model.vtype == CONTINUOUS, "C", "I"))
    return {n: (t, lo, up) for n, t, lo, up in
            zip(model.var_names.tolist(), types.tolist(), model.lb.tolist(), model.ub.tolist())}


def write(model: Model, tmp_path: Path, fmt: str, gz: bool) -> Path:
    path = tmp_path / f"m{file_suffix(fmt, gz)}"
    write_model(model, path)
    return path


def assert_same_structure(read: Read, model: Model) -> None:
    st = model.stats()
    assert read.variables == expected_vars(model)
    assert (read.n_linear, read.n_quadratic) == (st["linear_constraints"], st["quadratic_constraints"])
