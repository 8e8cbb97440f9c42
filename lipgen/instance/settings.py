"""Solver settings files next to instances (SCIP `.set`, Gurobi `.prm`, CPLEX command file), from templates.

They let someone without lipgen run a solver by hand with the settings lipgen would use: the
parameters recommended in the sidecar (`sidecar["solvers"][name]["params"]`, possibly empty; e.g.
Gurobi NonConvex=2, CPLEX optimalitytarget 3 for a nonconvex objective), then the caller's parameters
and limits, later ones winning.

    <stem>.scip.set     scip -s <stem>.scip.set -f <instance>
    <stem>.gurobi.prm   gurobi_cl InputFile=<stem>.gurobi.prm ResultFile=<stem>.sol <instance>
    <stem>.cplex.cmd    cplex -f <stem>.cplex.cmd   (reads the instance by its file name: run it there)

CBC has no settings file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from .. import __version__, atomic
from ..errors import LipgenError
from ..solvers.backends import format_value
from ..templating import render
from .lists import find_instances
from .naming import instance_stem_of, sidecar_for
from .sidecar import load_sidecar

SETTINGS_SOLVERS = ("scip", "gurobi", "cplex")
SUFFIX = {"scip": ".scip.set", "gurobi": ".gurobi.prm", "cplex": ".cplex.cmd"}
TEMPLATE = {"scip": "settings/scip.set.j2", "gurobi": "settings/gurobi.prm.j2", "cplex": "settings/cplex.cmd.j2"}


def settings_path(instance: str | Path, solver: str, outdir: str | Path | None = None) -> Path:
    instance = Path(instance)
    return Path(outdir or instance.parent) / (instance_stem_of(instance.name) + SUFFIX[solver])


def _value(solver: str, v) -> str:
    if solver == "scip" and isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    text = format_value(v)
    if "\n" in text:
        raise LipgenError(f"{solver} parameter value {text!r} contains a line break")
    return text


def _name(solver: str, name: str) -> tuple[str, str]:
    """(key for overriding, name as the file spells it): CPLEX `mip.tolerances.mipgap` -> `mip tolerances mipgap`;
    Gurobi's names are case-insensitive."""
    if solver == "cplex":
        spelled = " ".join(re.split(r"[./\s]+", name.strip()))
        return spelled.lower(), spelled
    return (name.lower() if solver == "gurobi" else name), name


def limit_params(solver: str, *, time_limit=None, threads=None, gap=None, mem_limit=None, seed=None) -> dict:
    """The limits of `lipgen solve` in the solver's own parameter names (as lipgen's backends pass them)."""
    given = {}
    if solver == "scip":  # SCIP's `optimize` is sequential: no thread count
        given = {"limits/time": time_limit, "limits/gap": gap, "limits/memory": mem_limit,
                 "randomization/randomseedshift": seed}
    elif solver == "gurobi":
        given = {"TimeLimit": time_limit, "Threads": threads, "MIPGap": gap,
                 "SoftMemLimit": None if mem_limit is None else mem_limit / 1024, "Seed": seed}  # GB
    elif solver == "cplex":
        given = {"timelimit": time_limit, "threads": threads, "mip tolerances mipgap": gap, "workmem": mem_limit,
                 "mip limits treememory": mem_limit, "randomseed": seed}
    return {k: v for k, v in given.items() if v is not None}


def merged_params(solver: str, *layers: dict | None) -> list[dict]:
    """[{name, value}] in first-seen order, a later layer overriding an earlier one's value."""
    merged: dict[str, dict] = {}
    for layer in layers:
        for name, value in (layer or {}).items():
            key, spelled = _name(solver, str(name))
            if key in merged:
                merged[key]["value"] = _value(solver, value)
            else:
                merged[key] = {"name": spelled, "value": _value(solver, value)}
    return list(merged.values())


def render_settings(instance: Path, sidecar: dict, solver: str, solver_params: dict | None = None,
                    outdir: str | Path | None = None, limits: dict | None = None) -> tuple[Path, str]:
    """(path, text) of one settings file."""
    recommended = (sidecar.get("solvers", {}).get(solver) or {}).get("params") or {}
    params = merged_params(solver, recommended, solver_params, limit_params(solver, **(limits or {})))
    path = settings_path(instance, solver, outdir)
    text = render(TEMPLATE[solver], {
        "solver": solver, "instance": instance.name, "file_name": path.name, "stem": path.name.removesuffix(
            SUFFIX[solver]), "problem_class": sidecar.get("problem_class", ""), "params": params,
        "lipgen_version": __version__})
    return path, text


def write_settings_files(instances: str | Path | Iterable[str | Path], solver_params: dict | None = None, *,
                         solvers: Iterable[str] = SETTINGS_SOLVERS, outdir: str | Path | None = None,
                         time_limit: float | None = None, threads: int | None = None, gap: float | None = None,
                         mem_limit: float | None = None, seed: int | None = None) -> list[Path]:
    """Write a settings file per instance and solver that can take it; return the paths written.

    instances: instance files or directories of them. solver_params: {solver: {parameter: value}} added to
    (and overriding) the sidecar's recommended parameters. outdir: where to write (default: next to
    each instance). The limits are those of `lipgen solve` (seconds, threads, relative gap, MB, seed).
    """
    if isinstance(instances, (str, Path)):
        instances = [instances]
    limits = {"time_limit": time_limit, "threads": threads, "gap": gap, "mem_limit": mem_limit, "seed": seed}
    solvers = list(solvers)
    unknown = [s for s in solvers if s not in SETTINGS_SOLVERS]
    if unknown:
        raise LipgenError(f"no settings file for {', '.join(unknown)}: only {', '.join(SETTINGS_SOLVERS)}")
    files = []
    for instance in find_instances(list(instances)):
        sidecar = load_sidecar(sidecar_for(instance))
        for solver in solvers:
            if not (sidecar.get("solvers", {}).get(solver) or {}).get("ok", False):
                continue  # that solver cannot take the file: a settings file would mislead
            files.append(render_settings(instance, sidecar, solver, (solver_params or {}).get(solver), outdir,
                                         limits))
    for path, text in files:
        atomic.write_text(path, text)
    return [p for p, _ in files]
