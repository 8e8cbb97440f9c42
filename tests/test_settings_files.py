"""Solver settings files written next to instances (and into job folders), read by the real solvers by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.networks import tiny_network, unit_box

from lipgen.instance.settings import write_settings_files
from lipgen.domain import Box
from lipgen.errors import LipgenError
from lipgen.instance import generate

BIN = Path(sys.executable).parent


def run_by_hand(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_generate_writes_settings_for_the_solvers_that_can_take_the_file(tmp_path):
    generate(tiny_network(1), Box(*unit_box(2)), tmp_path / "milp", alpha="inf", beta="inf", bounds=("upper",))
    generate(tiny_network(4), Box(*unit_box(2)), tmp_path / "ncvx", alpha="2", beta="2", bounds=("upper",))
    milp = sorted(p.name for p in (tmp_path / "milp").iterdir() if p.is_file())
    stem = "tiny1__Linf__box-d7ed107d__upper__bigm-bwd"  # one output: auto is backward
    assert {f"{stem}.scip.set", f"{stem}.gurobi.prm", f"{stem}.cplex.cmd"} <= set(milp)
    ncvx = {p.name.split(".", 1)[1] for p in (tmp_path / "ncvx").iterdir() if p.is_file()}
    assert "cplex.cmd" not in ncvx and {"scip.set", "gurobi.prm"} <= ncvx  # CPLEX cannot take it: no file
    prm = next((tmp_path / "ncvx").glob("*.gurobi.prm")).read_text()
    assert "NonConvex  2" in prm.splitlines()  # what `lipgen solve` sets for a nonconvex objective


def test_params_limits_and_overrides(tmp_path):
    generate(tiny_network(1), Box(*unit_box(2)), tmp_path, alpha="inf", beta="inf", bounds=("upper",))
    sidecar_path = next(tmp_path.glob("*__upper__bigm*.json"))
    sidecar = json.loads(sidecar_path.read_text())
    # what the recommended-parameters work will put into the sidecar
    sidecar["solvers"]["scip"]["params"] = {"limits/nodes": 5, "misc/catchctrlc": False}
    sidecar["solvers"]["gurobi"]["params"] = {"MIPFocus": 1, "Presolve": 2}
    sidecar["solvers"]["cplex"]["params"] = {"mip.strategy.search": 1, "emphasis/mip": 2}
    sidecar_path.write_text(json.dumps(sidecar))
    written = write_settings_files(tmp_path, {"gurobi": {"presolve": 0}, "cplex": {"mip tolerances mipgap": 0.5}},
                                   time_limit=30, threads=2, gap=0.01, mem_limit=1024, seed=7)
    assert len(written) == 3
    text = {p.name.split(".", 1)[1]: p.read_text() for p in written}
    assert [line for line in text["scip.set"].splitlines() if not line.startswith("#")] == [
        "limits/nodes = 5", "misc/catchctrlc = FALSE", "limits/time = 30", "limits/gap = 0.01",
        "limits/memory = 1024", "randomization/randomseedshift = 7"]
    assert [line for line in text["gurobi.prm"].splitlines() if not line.startswith("#")] == [
        "MIPFocus  1", "Presolve  0", "TimeLimit  30", "Threads  2", "MIPGap  0.01", "SoftMemLimit  1", "Seed  7"]
    assert text["cplex.cmd"].splitlines() == [
        "set mip strategy search 1", "set emphasis mip 2", "set mip tolerances mipgap 0.01", "set timelimit 30",
        "set threads 2", "set workmem 1024", "set mip limits treememory 1024", "set randomseed 7",
        f"read {sidecar['instance']}", "optimize", f"write {sidecar['instance'].removesuffix('.mps')}.cplex.sol",
        "quit"]
    with pytest.raises(LipgenError, match="no settings file for cbc"):
        write_settings_files(tmp_path, solvers=["cbc"])


def test_real_solvers_run_by_hand_with_the_files(tmp_path):
    """Someone without lipgen: scip -s, gurobi_cl InputFile=, cplex -f; here through lipgen's launchers, which take
    the same command lines."""
    generate(tiny_network(1), Box(*unit_box(2)), tmp_path, alpha="inf", beta="inf", bounds=("upper",))
    write_settings_files(tmp_path, {"scip": {"limits/nodes": 1}, "gurobi": {"MIPFocus": 1}}, time_limit=30)
    stem = "tiny1__Linf__box-d7ed107d__upper__bigm-bwd"  # one output: auto is backward
    inst = f"{stem}.mps"
    scip = run_by_hand([str(BIN / "lipgen-scip"), "-s", f"{stem}.scip.set", "-f", inst, "-l", "scip.log"], tmp_path)
    log = (tmp_path / "scip.log").read_text()
    assert scip.returncode == 0 and f"reading user parameter file <{stem}.scip.set>" in log
    assert "node limit reached" in log or "optimal solution found" in log
    grb = run_by_hand([str(BIN / "lipgen-gurobi-cl"), f"InputFile={stem}.gurobi.prm", f"ResultFile={stem}.sol",
                       "LogFile=grb.log", inst], tmp_path)
    log = (tmp_path / "grb.log").read_text()
    assert grb.returncode == 0 and "Set parameter MIPFocus to value 1" in log and "TimeLimit to value 30" in log
    cpx = run_by_hand([str(BIN / "lipgen-cplex"), "-f", f"{stem}.cplex.cmd"], tmp_path)
    assert cpx.returncode == 0, cpx.stdout + cpx.stderr
    sol = (tmp_path / f"{stem}.cplex.sol").read_text()
    assert 'solutionStatusString="integer optimal solution"' in sol
