"""`lipgen parse`: one existing solution file read back into Lipschitz bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .. import pipeline
from .options import FAILED_EXIT
from .render import emit_json, err, fmt_num, out


def parse(
    solution: Path = typer.Argument(..., help="A solver's solution file (e.g. back from a cluster)."),
    instance: Path = typer.Option(..., "--instance", help="The instance's sidecar .json (or the instance file)."),
    solver: str = typer.Option(..., "--solver", help="scip, gurobi, cplex, highs or cbc."),
    log: Optional[Path] = typer.Option(None, "--log", help="The solver's log (status, dual bound, time)."),
    gap: Optional[float] = typer.Option(None, "--gap", help="Relative gap the solver ran with; an optimal run whose "
                                                            "files give no dual bound proves obj - gap |obj| "
                                                            "[default: the tolerance a HiGHS log names, else "
                                                            "1e-4, CPLEX's and HiGHS's default]."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Read one existing solution file back into Lipschitz bounds.

    Exit code 0 when the file gives the problem's bound, 1 when it does not (e.g. a file cut short: the table
    says why), 2 on bad input (a file of another solver, or no solution file at all).
    """
    sidecar, res = pipeline.parse(solution, instance, solver, log=log, gap=gap)
    if res["status"] == "refused":
        if as_json:
            emit_json(res)
        err.print(f"{solution}: {res['status_text']}", markup=False, soft_wrap=True)
        raise typer.Exit(FAILED_EXIT)
    if as_json:
        emit_json(res)
    else:
        _parse_table(solution, solver, sidecar, res)
    if not pipeline.Result.from_json(res).ok:
        err.print(f"no {sidecar['bound']} bound: {res['status_text']}", markup=False, soft_wrap=True)
        raise typer.Exit(FAILED_EXIT)


def _parse_table(solution: Path, solver: str, sidecar: dict, res: dict) -> None:
    q = res["lipschitz"]
    t = Table(title=f"{solution.name} ({solver}, {sidecar['bound']} problem of {sidecar['instance']})")
    t.add_column("quantity")
    t.add_column("value")
    for k in ("status_text", "primal", "dual", "gap", "time", "nodes"):
        t.add_row(k.replace("_text", ""), fmt_num(res[k]) if k != "status_text" else res[k])
    for k in ("upper", "lower", "certified_lower"):
        t.add_row(k.replace("_", " "), fmt_num(q[k], 8))
    out.print(t)
    if q["certificate"] and q["certified_lower"] is None:
        err.print(f"not certified: {q['certificate']['reason']}", markup=False, soft_wrap=True)
