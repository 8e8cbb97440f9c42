"""The solution checker: does a solution file belong to this instance, and how well does it satisfy it?

Like MIPLIB's checker, it rebuilds the instance's rows (here from the sidecar's network, domain and spec,
through the same code that wrote the file), then reports the largest violation of the rows, bounds and
integrality, and whether the objective value the file states matches the one recomputed from its values.
A solution that names variables the instance does not have, lacks variables its format always lists,
or violates the instance by more than the tolerance is refused.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .model import BINARY, INTEGER, SENSE_EQ, SENSE_GE, SENSE_LE, Model

# Violations are measured in the scaled instance, where every row is of order one.
FEASIBILITY_TOL = 1e-5
INTEGRALITY_TOL = 1e-5
OBJECTIVE_TOL = 1e-6


@dataclass
class CheckResult:
    ok: bool
    message: str
    max_violation: float | None = None  # largest violation (rows: relative to max(1, |rhs|))
    worst: str | None = None  # the row or variable where it occurs
    objective_stated: float | None = None
    objective_recomputed: float | None = None
    missing: int = 0  # variables of the instance absent from the file
    unknown: int = 0  # names in the file that the instance does not have

    def to_dict(self) -> dict:
        return asdict(self)


def lists_every_variable(solver: str, values: dict, path=None) -> bool:
    """Whether the solution format lists zeros too, so that a missing variable means a cut file.

    Gurobi's .sol and CPLEX's XML always list every variable, and so does HiGHS's raw style (`# Columns n`,
    which lipgen asks for), unlike its sparse one (`# Columns -k`); SCIP lists zeros only with `printzeros`
    (lipgen sets it: then some value is 0); CBC and Gurobi's .json never do.
    """
    if solver == "cplex":
        return True
    if solver == "highs":
        from .parsers.highs import lists_every_column

        return path is None or lists_every_column(path)
    if solver == "gurobi":
        return path is None or not str(path).endswith(".json")
    if solver == "scip":
        return any(v == 0 for v in values.values())
    return False


def row_activity(model: Model, x: np.ndarray) -> np.ndarray:
    act = model.A @ x
    r, i, j, c = model.q_rows
    if len(r):
        np.add.at(act, r, c * x[i] * x[j])
    return act


def objective_value(model: Model, x: np.ndarray) -> float:
    i, j, c = model.obj_q
    return float(model.obj @ x + np.sum(c * x[i] * x[j]) + model.obj_constant)


def check_solution(model: Model, values: dict[str, float], objective: float | None, complete: bool) -> CheckResult:
    """Check `values` (name -> value; names left out are 0 unless `complete`) against `model`."""
    index = model.var_index()
    unknown = [n for n in values if n not in index]
    if unknown:
        return CheckResult(False, f"the solution names {len(unknown)} variable(s) this instance does not have (e.g. "
                                  f"{unknown[0]!r}): it belongs to another instance", unknown=len(unknown))
    missing = [n for n in model.var_names.tolist() if n not in values]
    if complete and missing:
        return CheckResult(False, f"{len(missing)} of the instance's {model.n_vars} variables are missing (e.g. "
                                  f"{missing[0]!r}): the file is cut short or belongs to another instance",
                           missing=len(missing))
    x = np.zeros(model.n_vars)
    if values:
        x[[index[n] for n in values]] = list(values.values())
    if not np.all(np.isfinite(x)):
        bad = model.var_names[int(np.argmax(~np.isfinite(x)))]
        return CheckResult(False, f"the value of {bad} is not finite", missing=len(missing))
    act = row_activity(model, x)
    viol = np.zeros(model.n_rows)
    le, ge, eq = model.sense == SENSE_LE, model.sense == SENSE_GE, model.sense == SENSE_EQ
    viol[le] = act[le] - model.rhs[le]
    viol[ge] = model.rhs[ge] - act[ge]
    viol[eq] = np.abs(act[eq] - model.rhs[eq])
    viol = np.maximum(viol, 0) / np.maximum(1.0, np.abs(model.rhs))
    bound_viol = np.maximum(np.maximum(model.lb - x, x - model.ub), 0) / np.maximum(1.0, np.abs(x))
    integer = (model.vtype == BINARY) | (model.vtype == INTEGER)
    int_viol = np.where(integer, np.abs(x - np.round(x)), 0.0)
    # (ratio to its tolerance, description, largest violation) of rows, bounds and integrality
    kinds = [(arr.max(initial=0) / tol, f"{what} {names[int(np.argmax(arr))]}", float(arr.max(initial=0)))
             for arr, tol, what, names in ((viol, FEASIBILITY_TOL, "row", model.row_names),
                                           (bound_viol, FEASIBILITY_TOL, "the bounds of", model.var_names),
                                           (int_viol, INTEGRALITY_TOL, "the integrality of", model.var_names))]
    ratio, worst, largest = max(kinds, key=lambda k: k[0])
    recomputed = objective_value(model, x)
    res = CheckResult(True, "", largest, worst if largest > 0 else None, objective, recomputed, len(missing))
    if ratio > 1:
        res.ok = False
        res.message = (f"the solution violates {worst} by {largest:.3g} (tolerance {FEASIBILITY_TOL:g})"
                       + ("; this format leaves zeros out, so a file cut short shows as violated rows"
                          if not complete and missing else ""))
    elif objective is not None and abs(objective - recomputed) > OBJECTIVE_TOL * max(1.0, abs(recomputed)):
        res.ok = False
        res.message = (f"the stated objective {objective!r} differs from the one its values give ({recomputed!r}): "
                       "the file is cut short or belongs to another instance")
    else:
        res.message = f"feasible within {FEASIBILITY_TOL:g} (largest violation {largest:.3g})"
    return res


def check_record(record, sidecar: dict, network, solution_path=None) -> CheckResult | None:
    """Check a parsed solution against the instance its sidecar describes (None when it holds no solution)."""
    from .instance import rebuild_model

    if record.primal is None:
        return None
    # An objective value with no variable at all is a header whose variable section is missing: SCIP lists
    # nonzeros at least (lipgen's runs every variable), so for SCIP that file is cut short whatever it says.
    complete = (record.solver == "scip" and not record.values) or lists_every_variable(record.solver, record.values,
                                                                                        solution_path)
    return check_solution(rebuild_model(sidecar, network), record.values, record.primal, complete)
