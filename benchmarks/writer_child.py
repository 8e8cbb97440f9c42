"""One measurement of `compare_writers.py`, run in its own process (so its peak memory is its own).

Usage: python benchmarks/writer_child.py TOOL NETWORK.h5 NORM OUTDIR
TOOL: lipgen, lipgen-lp, lipgen-gz, gurobipy, gurobipy-gz, highspy, cplex, pulp (-lp: LP files, -gz: .mps.gz).

Builds lipgen's upper and lower models of the network on the box [0,1]^n (the common input), then
times TOOL building and writing both as free MPS. For lipgen the build is lipgen's own formulation
(network -> Model) and the write is `write_model`; for the solver APIs the build is passing the same
Model through their bulk API and the write is their own MPS writer. Prints one JSON line.
Solvers without quadratic constraints (HiGHS, PuLP) get the linear part of a quadratic model.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from lipgen.bounds import interval_bounds
from lipgen.formulation import Spec, build
from lipgen.model import BINARY, CONTINUOUS, SENSE_EQ, SENSE_GE, SENSE_LE, Model
from lipgen.io import load
from lipgen.writers import write_model

INF = 1e30


def lipgen_models(net, lower, upper, norm):
    bounds = interval_bounds(net, lower, upper)
    return [build(net, lower, upper, Spec(norm, norm, kind), name=f"bench_{kind}", bounds=bounds).model
            for kind in ("upper", "lower")]


def quadratic_parts(model: Model) -> bool:
    return len(model.q_rows[0]) + len(model.obj_q[0]) > 0


# ------------------------------------------------------------------------------------------------ tools
def run_gurobipy(model: Model, path: Path) -> tuple[float, float]:
    import gurobipy as gp
    import scipy.sparse as sp

    t0 = time.perf_counter()
    env = gp.Env(params={"OutputFlag": 0})
    m = gp.Model(model.name, env=env)
    vt = np.array(["C", "B", "I"])[model.vtype]
    x = m.addMVar(model.n_vars, lb=model.lb, ub=model.ub, obj=model.obj, vtype=vt,
                  name=model.var_names.astype(object))
    sense = np.array(["<", ">", "="])[model.sense]
    r, i, j, c = model.q_rows
    lin = np.setdiff1d(np.arange(model.n_rows), r)
    m.addMConstr(model.A[lin], x, sense[lin], model.rhs[lin], name=model.row_names[lin].astype(object))
    for row in np.unique(r):
        k = r == row
        q = sp.coo_matrix((c[k], (i[k], j[k])), shape=(model.n_vars, model.n_vars)).tocsr()
        m.addMQConstr(q, model.A.getrow(row).toarray().ravel(), sense[row], model.rhs[row], x, x, x,
                      name=str(model.row_names[row]))
    oi, oj, oc = model.obj_q
    if len(oc):
        q = sp.coo_matrix((oc, (oi, oj)), shape=(model.n_vars, model.n_vars)).tocsr()
        m.setMObjective(q, model.obj, model.obj_constant, x, x, x)
    m.update()
    t1 = time.perf_counter()
    m.write(str(path))
    t2 = time.perf_counter()
    m.dispose()
    env.dispose()
    return t1 - t0, t2 - t1


def run_highspy(model: Model, path: Path) -> tuple[float, float]:
    import highspy

    t0 = time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = model.n_vars, model.n_rows
    lp.col_cost_ = model.obj
    lp.col_lower_ = np.where(np.isinf(model.lb), -INF, model.lb)
    lp.col_upper_ = np.where(np.isinf(model.ub), INF, model.ub)
    rhs = model.rhs
    lp.row_lower_ = np.where(model.sense == SENSE_LE, -INF, rhs)
    lp.row_upper_ = np.where(model.sense == SENSE_GE, INF, rhs)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = model.A.indptr
    lp.a_matrix_.index_ = model.A.indices
    lp.a_matrix_.value_ = model.A.data
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = model.n_vars, model.n_rows
    lp.integrality_ = [highspy.HighsVarType.kContinuous if t == CONTINUOUS else highspy.HighsVarType.kInteger
                       for t in model.vtype.tolist()]
    lp.col_names_ = model.var_names.tolist()
    lp.row_names_ = model.row_names.tolist()
    h.passModel(lp)
    t1 = time.perf_counter()
    h.writeModel(str(path))
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def run_cplex(model: Model, path: Path) -> tuple[float, float]:
    import cplex

    t0 = time.perf_counter()
    c = cplex.Cplex()
    for stream in (c.set_log_stream, c.set_results_stream, c.set_warning_stream, c.set_error_stream):
        stream(None)
    types = "".join(np.array(["C", "B", "I"])[model.vtype].tolist())
    c.variables.add(obj=model.obj.tolist(), lb=np.where(np.isinf(model.lb), -cplex.infinity, model.lb).tolist(),
                    ub=np.where(np.isinf(model.ub), cplex.infinity, model.ub).tolist(), types=types,
                    names=model.var_names.tolist())
    a = model.A
    ind, val, ptr = a.indices.tolist(), a.data.tolist(), a.indptr.tolist()
    quad = set(np.unique(model.q_rows[0]).tolist())
    lin_rows = [k for k in range(model.n_rows) if k not in quad]
    senses = np.array(["L", "G", "E"])[model.sense]
    c.linear_constraints.add(lin_expr=[[ind[ptr[k]:ptr[k + 1]], val[ptr[k]:ptr[k + 1]]] for k in lin_rows],
                             senses="".join(senses[lin_rows].tolist()), rhs=model.rhs[lin_rows].tolist(),
                             names=model.row_names[lin_rows].tolist())
    r, i, j, q = model.q_rows
    for row in sorted(quad):
        k = r == row
        c.quadratic_constraints.add(lin_expr=[ind[ptr[row]:ptr[row + 1]], val[ptr[row]:ptr[row + 1]]],
                                    quad_expr=[i[k].tolist(), j[k].tolist(), q[k].tolist()], sense=senses[row],
                                    rhs=float(model.rhs[row]), name=str(model.row_names[row]))
    oi, oj, oc = model.obj_q
    if len(oc):
        c.objective.set_quadratic_coefficients([(int(a_), int(b_), float(2 * v if a_ == b_ else v))
                                                for a_, b_, v in zip(oi, oj, oc)])
    t1 = time.perf_counter()
    c.write(str(path))
    t2 = time.perf_counter()
    c.end()
    return t1 - t0, t2 - t1


def run_pulp(model: Model, path: Path) -> tuple[float, float]:
    import pulp

    t0 = time.perf_counter()
    prob = pulp.LpProblem(model.name, pulp.LpMinimize)
    cats = {CONTINUOUS: pulp.LpContinuous, BINARY: pulp.LpBinary}
    xs = [pulp.LpVariable(name, None if lo == -np.inf else lo, None if up == np.inf else up,
                          cats.get(t, pulp.LpInteger))
          for name, lo, up, t in zip(model.var_names.tolist(), model.lb.tolist(), model.ub.tolist(),
                                     model.vtype.tolist())]
    prob.setObjective(pulp.LpAffineExpression([(xs[k], v) for k, v in enumerate(model.obj.tolist()) if v]))
    a = model.A
    ind, val, ptr = a.indices.tolist(), a.data.tolist(), a.indptr.tolist()
    sense = {SENSE_LE: pulp.LpConstraintLE, SENSE_GE: pulp.LpConstraintGE, SENSE_EQ: pulp.LpConstraintEQ}
    for k, (name, s, rhs) in enumerate(zip(model.row_names.tolist(), model.sense.tolist(), model.rhs.tolist())):
        expr = pulp.LpAffineExpression([(xs[c], v) for c, v in zip(ind[ptr[k]:ptr[k + 1]], val[ptr[k]:ptr[k + 1]])])
        prob.addConstraint(pulp.LpConstraint(expr, sense[s], name, rhs))
    t1 = time.perf_counter()
    prob.writeMPS(str(path))
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


SOLVER_TOOLS = {"gurobipy": run_gurobipy, "highspy": run_highspy, "cplex": run_cplex, "pulp": run_pulp}
LINEAR_ONLY = {"highspy", "pulp"}


def main() -> None:
    tool, net_path, norm, outdir = sys.argv[1], Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    base, _, variant = tool.partition("-")
    suffix = {"": ".mps", "lp": ".lp", "gz": ".mps.gz"}[variant]
    outdir.mkdir(parents=True, exist_ok=True)
    net = load(net_path)
    lower, upper = np.zeros(net.n_inputs), np.ones(net.n_inputs)
    t0 = time.perf_counter()
    models = lipgen_models(net, lower, upper, norm)
    t_model = time.perf_counter() - t0
    build_s = write_s = 0.0
    size = 0
    note = ""
    for model in models:
        path = outdir / f"{tool}_{model.name}{suffix}"
        if base == "lipgen":
            t = time.perf_counter()
            write_model(model, path)
            write_s += time.perf_counter() - t
        else:
            if base in LINEAR_ONLY and quadratic_parts(model):
                note = "linear part only"
            b, w = SOLVER_TOOLS[base](model, path)
            build_s += b
            write_s += w
        size += path.stat().st_size
        path.unlink()
    if base == "lipgen":
        build_s = t_model
    print(json.dumps({"tool": tool, "build_s": build_s, "write_s": write_s, "bytes": size, "note": note,
                      "nonzeros": int(sum(m.A.nnz for m in models)), "pid": os.getpid()}))


if __name__ == "__main__":
    main()
