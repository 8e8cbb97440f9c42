"""`lipgen check`: a solution against its instance, like MIPLIB's solution checker."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .. import pipeline
from .options import FAILED_EXIT
from .render import emit_json, err, fmt_num, out


def check(
    solution: Path = typer.Argument(..., help="A solver's solution file."),
    instance: Path = typer.Option(..., "--instance", help="The instance's sidecar .json (or the instance file)."),
    solver: str = typer.Option(..., "--solver", help="scip, gurobi, cplex, highs or cbc: the format of the solution "
                                                     "file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Check a solution against its instance, like MIPLIB's solution checker.

    The instance's rows are rebuilt from the sidecar's network; the report gives the largest violation of
    rows, bounds and integrality and whether the stated objective matches the values. Exit code 0 when the
    solution is feasible within 1e-5 and its objective matches, 1 when it is refused, 2 on bad input.
    """
    sidecar, res = pipeline.check_solution(solution, instance, solver)
    if as_json:
        emit_json(res)
    else:
        t = Table(title=f"{solution.name} against {sidecar['instance']} ({solver})")
        t.add_column("check")
        t.add_column("value")
        t.add_row("verdict", "accepted" if res["ok"] else "refused")
        t.add_row("values in the file", str(res["values"]))
        for key, label in (("missing", "instance variables missing"), ("unknown", "names not in the instance"),
                           ("max_violation", "largest violation"), ("worst", "where"),
                           ("objective_stated", "objective stated"), ("objective_recomputed", "objective recomputed")):
            if key in res:
                t.add_row(label, fmt_num(res[key], 10))
        out.print(t)
        (out if res["ok"] else err).print(res["message"], markup=False, soft_wrap=True)
    if not res["ok"]:
        raise typer.Exit(FAILED_EXIT)
