"""Solver backends, launchers and the runner, with the real solvers on tiny hand-written models."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.highs_samples import real_highs

from lipgen.errors import LipgenError
from lipgen.solvers import SolveOptions, get_backend, log_tail, run, write_mip_start
from lipgen.solvers.backends import Executable, GurobiBackend

NUM = r"[-+]?\d+\.?\d*(?:[eE][-+]?\d+)?"

# min -x - 2y + 0.5z  s.t.  x + y <= 3.5,  x - y >= -1.5,  z - y >= -0.5;  x, y in {0..5}, z in [0, 10]
# optimum -4.25 at x=1, y=2, z=1.5 (checked by hand over the few integer points)
MILP = """NAME TINY FREE
ROWS
 N obj
 L cap
 G lnk
 G zy
COLUMNS
    MARKER 'MARKER' 'INTORG'
    x obj -1 cap 1
    x lnk 1
    y obj -2 cap 1
    y lnk -1 zy -1
    MARKER 'MARKER' 'INTEND'
    z obj 0.5 zy 1
RHS
    RHS cap 3.5 lnk -1.5
    RHS zy -0.5
BOUNDS
 LO BND x 0
 UP BND x 5
 LO BND y 0
 UP BND y 5
 LO BND z 0
 UP BND z 10
ENDATA
"""
MILP_OPT = -4.25
MILP_X = {"x": 1.0, "y": 2.0, "z": 1.5}

# min -x - y + 0.1 y^2  s.t.  x^2 + y^2 <= 2.5;  x in {0..3}, y in [0, 3]
# x=1 (x=0 is worse, x>=2 infeasible), y = sqrt(1.5): -1 - sqrt(1.5) + 0.15
MIQCP = """NAME QTINY FREE
ROWS
 N obj
 L ball
COLUMNS
    MARKER 'MARKER' 'INTORG'
    x obj -1
    MARKER 'MARKER' 'INTEND'
    y obj -1
RHS
    RHS ball 2.5
BOUNDS
 LO BND x 0
 UP BND x 3
 LO BND y 0
 UP BND y 3
QUADOBJ
    y y 0.2
QCMATRIX ball
    x x 1
    y y 1
ENDATA
"""
MIQCP_OPT = -1 - 1.5 ** 0.5 + 0.15

# a nonconvex objective with linear constraints: min -x - y - x^2/2, optimum -1.625 (x=0.5, y=1)
NCOBJ_LP = """Minimize
 obj: - x - y + [ - x ^2 ] / 2
Subject To
 c: x + y <= 1.5
Bounds
 0 <= x <= 1
 0 <= y <= 1
Generals
 y
End
"""


def big_model(n: int, quadratic: bool) -> str:
    """n variables in [0, 1], one row sum <= 1; with one x0^2 term in the objective if asked."""
    cols = "".join(f"    v{i} obj -1 s 1\n" for i in range(n))
    bounds = "".join(f" UP BND v{i} 1\n" for i in range(n))
    quad = "QUADOBJ\n    v0 v0 2\n" if quadratic else ""
    return f"NAME BIG FREE\nROWS\n N obj\n L s\nCOLUMNS\n{cols}RHS\n    RHS s 1\nBOUNDS\n{bounds}{quad}ENDATA\n"


@pytest.fixture
def models(tmp_path):
    d = tmp_path / "models"
    d.mkdir()
    (d / "milp.mps").write_text(MILP)
    (d / "miqcp.mps").write_text(MIQCP)
    (d / "ncobj.lp").write_text(NCOBJ_LP)
    return d


def solve(solver, model, workdir, opts=None, solver_path=None, time_limit=60):
    backend = get_backend(solver)
    exe = backend.locate(solver_path)
    inv = backend.command(exe, model, workdir, opts or SolveOptions())
    return exe, inv, run(inv, workdir, time_limit)


def sol_objective(solver: str, path: Path) -> float:
    text = path.read_text()
    pattern = {"scip": rf"^objective value:\s+({NUM})", "gurobi": rf"^# Objective value = ({NUM})",
               "cplex": rf'objectiveValue="({NUM})"', "cbc": rf"^Optimal - objective value ({NUM})",
               "highs": rf"^Objective ({NUM})$"}[solver]
    return float(re.search(pattern, text, re.M).group(1))


# ---------------------------------------------------------------------------------------------------
# command lines against the solvers' documented syntax

FULL = dict(time_limit=60, threads=2, gap=0.01, mem_limit=2048, seed=7)


def test_scip_argv(models, tmp_path):
    start = write_mip_start("scip", tmp_path / "start.mst", MILP_X)
    exe = Executable("scip", ["/opt/scip/bin/scip"], "executable", "/opt/scip/bin/scip")
    inv = get_backend("scip").command(exe, models / "milp.mps", tmp_path / "w", SolveOptions(mip_start=start, **FULL))
    assert inv.argv == [
        "/opt/scip/bin/scip", "-l", "run.log", "-q",
        "-c", "set limits time 60", "-c", "set limits gap 0.01", "-c", "set limits memory 2048",
        "-c", "set randomization randomseedshift 7", "-c", "set write printzeros TRUE",
        "-c", f"read {models / 'milp.mps'}", "-c", f"read {start}",
        "-c", "optimize", "-c", "display statistics", "-c", "write solution run.sol", "-c", "quit"]
    assert inv.solution_path == tmp_path / "w" / "run.sol" and inv.log_path == tmp_path / "w" / "run.log"
    assert inv.notes == ["SCIP solves with one thread: threads=2 ignored"]
    # a path with a space is quoted for the SCIP shell, which takes "quoted words"
    spaced = tmp_path / "my dir"
    spaced.mkdir()
    (spaced / "m.mps").write_text(MILP)
    inv = get_backend("scip").command(exe, spaced / "m.mps", tmp_path / "w", SolveOptions())
    assert f'read "{spaced / "m.mps"}"' in inv.argv


def test_gurobi_argv(models, tmp_path):
    start = write_mip_start("gurobi", tmp_path / "start.mst", MILP_X)
    opts = SolveOptions(mip_start=start, nonconvex=True, extra={"Presolve": 2}, **FULL)
    backend = get_backend("gurobi")
    real = Executable("gurobi", ["/opt/gurobi/bin/gurobi_cl"], "executable", "gurobi_cl")
    inv = backend.command(real, models / "milp.mps", tmp_path, opts)
    assert inv.argv == ["/opt/gurobi/bin/gurobi_cl", "TimeLimit=60", "Threads=2", "MIPGap=0.01", "Seed=7",
                        "SoftMemLimit=2", "NonConvex=2", "Presolve=2", "LogFile=run.log", "LogToConsole=0",
                        "ResultFile=run.sol", f"InputFile={start}", str(models / "milp.mps")]
    launcher = backend.locate()
    assert launcher.kind == "launcher" and launcher.description.startswith("lipgen-gurobi-cl (gurobipy ")
    inv = backend.command(launcher, models / "milp.mps", tmp_path, SolveOptions())
    assert inv.argv[len(launcher.argv):] == ["LogFile=run.log", "LogToConsole=0", "ResultFile=run.sol",
                                             "ResultFile=run.json", str(models / "milp.mps")]
    assert inv.extra_outputs == [tmp_path / "run.json"]


def test_cplex_argv(models, tmp_path):
    start = write_mip_start("cplex", tmp_path / "start.mst", MILP_X)
    exe = Executable("cplex", ["cplex"], "executable", "cplex")
    opts = SolveOptions(mip_start=start, nonconvex=True, extra={"mip.limits.nodes": 100}, **FULL)
    inv = get_backend("cplex").command(exe, models / "ncobj.lp", tmp_path, opts)
    assert inv.argv == ["cplex", "-c", "set logfile run.log", f"read {models / 'ncobj.lp'}", f"read {start}",
                        "set timelimit 60", "set threads 2", "set mip tolerances mipgap 0.01", "set workmem 2048",
                        "set mip limits treememory 2048", "set randomseed 7", "set optimalitytarget 3",
                        "set mip limits nodes 100", "optimize", "write run.sol", "quit"]
    spaced = tmp_path / "my dir"
    spaced.mkdir()
    (spaced / "m.mps").write_text(MILP)
    with pytest.raises(LipgenError, match="spaces"):
        get_backend("cplex").command(exe, spaced / "m.mps", tmp_path, SolveOptions())


def test_highs_argv(models, tmp_path):
    start = write_mip_start("highs", tmp_path / "start.sol", MILP_X)
    exe = Executable("highs", ["/opt/highs/bin/highs"], "executable", "/opt/highs/bin/highs")
    backend = get_backend("highs")
    inv = backend.command(exe, models / "milp.mps", tmp_path / "w",
                          SolveOptions(mip_start=start, extra={"mip_max_nodes": 100, "presolve": "off"}, **FULL))
    assert inv.argv == ["/opt/highs/bin/highs", "--model_file", str(models / "milp.mps"), "--options_file",
                        "lipgen.opt", "--solution_file", "run.sol", "--time_limit", "60", "--threads", "2",
                        "--random_seed", "7", "--read_solution_file", str(start)]
    # what the command line has no flag for goes to HiGHS's options file, lipgen's file settings last
    assert inv.inputs == {"lipgen.opt": "mip_rel_gap = 0.01\nmip_max_nodes = 100\npresolve = off\nlog_file = run.log\n"
                                        "log_to_console = false\nwrite_solution_style = 0\n"}
    assert inv.notes == ["HiGHS has no memory limit: mem_limit ignored"]
    assert (inv.solution_path, inv.log_path) == (tmp_path / "w" / "run.sol", tmp_path / "w" / "run.log")
    inv = backend.command(exe, models / "milp.mps", tmp_path / "w", SolveOptions())
    assert inv.argv[1:] == ["--model_file", str(models / "milp.mps"), "--options_file", "lipgen.opt",
                            "--solution_file", "run.sol"]
    with pytest.raises(LipgenError, match="only linear"):
        backend.command(exe, models / "ncobj.lp", tmp_path / "w", SolveOptions(nonconvex=True))
    launcher = backend.locate()
    assert launcher.kind == "launcher" and re.fullmatch(r"lipgen-highs \(highspy \d+\.\d+\.\d+\)", launcher.description)
    assert launcher.version == launcher.description.split()[-1].rstrip(")")


def test_cbc_argv_and_refusals(models, tmp_path):
    backend = get_backend("cbc")
    exe = backend.locate()
    start = write_mip_start("cbc", tmp_path / "start.mst", MILP_X)
    inv = backend.command(exe, models / "milp.mps", tmp_path, SolveOptions(mip_start=start, **FULL))
    assert inv.argv[1:] == [str(models / "milp.mps"), "-sec", "60", "-threads", "2", "-ratio", "0.01",
                            "-randomSeed", "7", "-randomCbcSeed", "7", "-mips", str(start), "-solve", "-solu",
                            "run.sol"]
    assert inv.stdout_path == inv.log_path  # CBC's log is its screen output
    assert inv.notes == ["CBC has no memory limit: mem_limit ignored"]
    (models / "milp.mps.gz").write_bytes(b"")
    with pytest.raises(LipgenError, match="compressed"):
        backend.command(exe, models / "milp.mps.gz", tmp_path, SolveOptions())
    with pytest.raises(LipgenError, match="instance file not found"):
        backend.command(exe, models / "nope.mps", tmp_path, SolveOptions())
    with pytest.raises(LipgenError, match="invalid time limit"):
        backend.command(exe, models / "milp.mps", tmp_path, SolveOptions(time_limit=-1))
    with pytest.raises(LipgenError, match="unknown solver 'xpress'"):
        get_backend("xpress")


# ---------------------------------------------------------------------------------------------------
# finding the solvers

def fake_executable(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def test_locate_order(tmp_path, monkeypatch):
    backend = get_backend("scip")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.delenv("LIPGEN_SCIP", raising=False)
    launcher = backend.locate()  # nothing on PATH: the bundled shell
    assert launcher.kind == "launcher" and launcher.argv == [str(Path(sys.executable).parent / "lipgen-scip")]
    assert re.fullmatch(r"lipgen-scip \(pyscipopt \S+, SCIP \d+\.\d+\.\d+\)", launcher.description)
    on_path = fake_executable(bindir / "scip", 'echo "SCIP version 9.9.9 [fake]"')
    exe = backend.locate()
    assert (exe.kind, exe.argv, exe.version) == ("executable", [str(on_path)], "9.9.9")
    env_exe = fake_executable(tmp_path / "scip-env", "true")
    monkeypatch.setenv("LIPGEN_SCIP", str(env_exe))
    assert backend.locate().argv == [str(env_exe)]
    explicit = fake_executable(tmp_path / "scip-explicit", "true")
    assert backend.locate(str(explicit)).argv == [str(explicit)]
    with pytest.raises(LipgenError, match="not an executable file"):
        backend.locate(str(tmp_path / "missing"))


def test_not_installed_names_the_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("LIPGEN_GUROBI", raising=False)
    backend = GurobiBackend()
    backend.package = "lipgen_no_such_package"  # a package that is genuinely absent
    with pytest.raises(LipgenError, match=r"pip install gurobipy .*lipgen\[gurobi\]"):
        backend.locate()


# ---------------------------------------------------------------------------------------------------
# end to end: each solver on a MILP (with a MIP start) and a convex MIQCP

@pytest.mark.solver
def test_scip_launcher_end_to_end(models, tmp_path):
    start = write_mip_start("scip", tmp_path / "start.mst", MILP_X)
    exe, inv, out = solve("scip", models / "milp.mps", tmp_path / "a",
                          SolveOptions(time_limit=30, gap=0, seed=3, mip_start=start))
    assert exe.kind == "launcher" and out.returncode == 0 and not out.killed
    assert sol_objective("scip", out.solution_path) == pytest.approx(MILP_OPT, abs=1e-9)
    log = out.log_path.read_text()
    assert "SCIP Status        : problem is solved [optimal solution found]" in log
    assert "limits/time = 30" in log and "randomization/randomseedshift = 3" in log
    assert f"partial primal solution from solution file <{start}> was accepted" in log

    _, _, out = solve("scip", models / "miqcp.mps", tmp_path / "b", SolveOptions(time_limit=30))
    assert sol_objective("scip", out.solution_path) == pytest.approx(MIQCP_OPT, abs=1e-5)
    assert re.search(rf"^Primal Bound\s*:\s*({NUM})", out.log_path.read_text(), re.M)


@pytest.mark.solver
def test_scip_real_executable_path(models, tmp_path, monkeypatch):
    """A wrapper script given as solver path / LIPGEN_SCIP runs as a real `scip` would."""
    wrapper = fake_executable(tmp_path / "scip", f'exec "{Path(sys.executable).parent / "lipgen-scip"}" "$@"')
    exe, _, out = solve("scip", models / "milp.mps", tmp_path / "a", SolveOptions(extra={"limits/solutions": 1}),
                        solver_path=str(wrapper))
    assert exe.kind == "executable" and exe.argv == [str(wrapper)] and exe.version.count(".") == 2
    log = out.log_path.read_text()
    assert "reading user parameter file <lipgen.set>" in log
    assert "SCIP Status        : solving was interrupted [solution limit reached]" in log
    monkeypatch.setenv("LIPGEN_SCIP", str(wrapper))
    exe, _, out = solve("scip", models / "milp.mps", tmp_path / "b")
    assert exe.argv == [str(wrapper)] and out.returncode == 0
    assert sol_objective("scip", out.solution_path) == pytest.approx(MILP_OPT)


def test_scip_shell_as_module_exits_like_scip(tmp_path):
    done = subprocess.run([sys.executable, "-m", "lipgen.solvers.scip_shell", "-c", "read nothing.mps", "-c", "quit"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0  # SCIP's shell reports a bad read and goes on, as the real one does
    assert "file <nothing.mps> not found" in done.stdout


@pytest.mark.solver
def test_gurobi_launcher_end_to_end(models, tmp_path):
    start = write_mip_start("gurobi", tmp_path / "start.mst", MILP_X)
    _, inv, out = solve("gurobi", models / "milp.mps", tmp_path / "a",
                        SolveOptions(time_limit=30, threads=1, gap=0, seed=3, mem_limit=1024, mip_start=start))
    assert out.returncode == 0
    assert sol_objective("gurobi", out.solution_path) == pytest.approx(MILP_OPT)
    log = out.log_path.read_text()
    assert "Gurobi Optimizer version" in log and "Optimal solution found" in log
    assert "Loaded user MIP start with objective -4.25" in log
    assert re.search(r"Set parameter SoftMemLimit to value 1\b", log)
    info = json.loads((tmp_path / "a" / "run.json").read_text())["SolutionInfo"]
    assert info["Status"] == 2 and info["ObjVal"] == pytest.approx(MILP_OPT)
    assert "Gurobi" not in out.stdout_path.read_text()  # LogToConsole=0: the log only in run.log

    _, _, out = solve("gurobi", models / "miqcp.mps", tmp_path / "b", SolveOptions(time_limit=30))
    assert sol_objective("gurobi", out.solution_path) == pytest.approx(MIQCP_OPT, abs=1e-5)
    assert re.search(rf"^Best objective ({NUM}), best bound ({NUM})", out.log_path.read_text(), re.M)


@pytest.mark.solver
def test_gurobi_license_limit_and_no_solution(tmp_path):
    (tmp_path / "big.mps").write_text(big_model(201, quadratic=True))
    _, _, out = solve("gurobi", tmp_path / "big.mps", tmp_path / "a")
    line = "Error 10010: Model too large for size-limited license"
    assert out.returncode != 0 and line in out.log_path.read_text() and line in out.stdout_path.read_text()
    assert not out.solution_path.exists()

    # infeasible: no solution, so gurobi_cl's warning instead of run.sol; the .json still tells the status
    (tmp_path / "inf.lp").write_text("Minimize\n obj: x\nSubject To\n c: x >= 2\nBounds\n 0 <= x <= 1\n"
                                     "Generals\n x\nEnd\n")
    _, _, out = solve("gurobi", tmp_path / "inf.lp", tmp_path / "b")
    assert out.returncode == 0 and not out.solution_path.exists()
    assert "Warning: unable to write requested result file 'run.sol'" in out.log_path.read_text()
    assert json.loads((tmp_path / "b" / "run.json").read_text())["SolutionInfo"]["Status"] == 3


def test_gurobi_launcher_bad_parameter(models, tmp_path):
    launcher = get_backend("gurobi").locate().argv
    done = subprocess.run(launcher + ["LogFile=x.log", "NoSuchParam=1", str(models / "milp.mps")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Error 10007: Unknown parameter 'NoSuchParam'" in done.stdout
    assert "Error 10007" in (tmp_path / "x.log").read_text()


@pytest.mark.solver
def test_cplex_launcher_end_to_end(models, tmp_path):
    # a partial start in another order than the model's columns: CPLEX matches by name
    start = write_mip_start("cplex", tmp_path / "start.mst", {"y": 2.0, "x": 1.0})
    _, _, out = solve("cplex", models / "milp.mps", tmp_path / "a",
                      SolveOptions(time_limit=30, threads=1, gap=0, seed=3, mem_limit=512, mip_start=start))
    assert out.returncode == 0
    assert sol_objective("cplex", out.solution_path) == pytest.approx(MILP_OPT)
    log = out.log_path.read_text()
    assert "MIP start 'lipgen_start' defined initial solution with objective -4.2500." in log
    assert "MIP - Integer optimal solution:  Objective = -4.2500000000e+00" in log
    assert re.search(r"^Solution time =\s+\d+\.\d\d sec\.  Iterations = \d+  Nodes = \d+ \(\d+\)$", log, re.M)
    assert "CPXPARAM_TimeLimit                               30" in log
    assert not (tmp_path / "a" / "cplex.log").exists()

    _, _, out = solve("cplex", models / "miqcp.mps", tmp_path / "b", SolveOptions(time_limit=30))
    assert sol_objective("cplex", out.solution_path) == pytest.approx(MIQCP_OPT, abs=1e-5)
    status = re.search(rf"^MIP - Integer optimal(?: solution|, tolerance \(.*\)):\s+Objective =\s*({NUM})$",
                       out.log_path.read_text(), re.M)
    assert float(status.group(1)) == pytest.approx(MIQCP_OPT, abs=1e-5)


@pytest.mark.solver
def test_cplex_nonconvex_objective_and_errors(models, tmp_path):
    _, _, out = solve("cplex", models / "ncobj.lp", tmp_path / "a", SolveOptions(nonconvex=True))
    assert out.returncode == 0 and sol_objective("cplex", out.solution_path) == pytest.approx(-1.625)

    _, _, out = solve("cplex", models / "ncobj.lp", tmp_path / "b")
    log = out.log_path.read_text()
    assert out.returncode == 1 and "CPLEX Error  5002: objective is not convex." in log
    assert "CPLEX Error  1217: No solution exists." in log and not out.solution_path.exists()

    (tmp_path / "big.mps").write_text(big_model(1001, quadratic=False))
    _, _, out = solve("cplex", tmp_path / "big.mps", tmp_path / "c")
    assert out.returncode == 1
    assert "CPLEX Error  1016: Community Edition. Problem size limits exceeded." in out.stdout_path.read_text()


def test_cplex_launcher_command_file(models, tmp_path):
    (tmp_path / "cmds").write_text(f"read {models / 'milp.mps'}\nset mip tol mipg 0\nopt\nwr out.sol\nquit\n")
    launcher = get_backend("cplex").locate().argv
    done = subprocess.run(launcher + ["-f", "cmds"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout
    assert "New value for mixed integer optimality gap tolerance: 0" in done.stdout  # abbreviations work
    assert sol_objective("cplex", tmp_path / "out.sol") == pytest.approx(MILP_OPT)
    assert "MIP - Integer optimal solution" in (tmp_path / "cplex.log").read_text()  # the default log


def test_cbc_end_to_end(models, tmp_path):
    start = write_mip_start("cbc", tmp_path / "start.sol", MILP_X)
    exe, _, out = solve("cbc", models / "milp.mps", tmp_path / "a",
                        SolveOptions(time_limit=30, threads=1, gap=0, seed=5, mip_start=start))
    assert exe.version == "2.10.3" or re.fullmatch(r"\d+\.\d+\.\d+", exe.version)
    assert out.returncode == 0 and sol_objective("cbc", out.solution_path) == pytest.approx(MILP_OPT)
    log = out.log_path.read_text()
    assert "Result - Optimal solution found" in log and "MIPStart provided solution with cost -4.25" in log


@pytest.mark.solver
def test_highs_launcher_end_to_end(models, tmp_path):
    start = write_mip_start("highs", tmp_path / "start.mst", {"y": 2.0, "x": 1.0, "z": 1.5})  # matched by name
    exe, inv, out = solve("highs", models / "milp.mps", tmp_path / "a",
                          SolveOptions(time_limit=30, threads=1, gap=0, seed=3, mip_start=start))
    assert exe.kind == "launcher" and out.returncode == 0 and not out.killed
    assert sol_objective("highs", out.solution_path) == pytest.approx(MILP_OPT)
    log = out.log_path.read_text()
    assert log.startswith("Running HiGHS ")
    assert re.search(r"^MIP start solution is feasible[,:] objective value is -4.25$", log, re.M)  # 1.15, 1.16
    assert re.search(r"^  Status +Optimal$", log, re.M) and re.search(r"^  Gap +0%$", log, re.M)  # mip_rel_gap 0
    assert out.stdout_path.read_text() == ""  # log_to_console = false: the log only in run.log
    (models / "milp.mps.gz").write_bytes(gzip.compress(MILP.encode()))  # HiGHS reads gzipped models
    _, _, out = solve("highs", models / "milp.mps.gz", tmp_path / "b", SolveOptions(time_limit=30))
    assert out.returncode == 0 and sol_objective("highs", out.solution_path) == pytest.approx(MILP_OPT)


@pytest.fixture(scope="module")
def highs_exe(tmp_path_factory):
    """The real `highs` executable (highsbox's binary), as a file named highs."""
    return real_highs(tmp_path_factory.mktemp("highs-bin"))


def test_highs_real_executable(models, tmp_path, highs_exe, monkeypatch):
    """The real `highs` on PATH, by $LIPGEN_HIGHS and by --solver-path, with lipgen's command line."""
    monkeypatch.setenv("PATH", f"{highs_exe.parent}:{os.environ['PATH']}")
    monkeypatch.delenv("LIPGEN_HIGHS", raising=False)
    start = write_mip_start("highs", tmp_path / "start.mst", MILP_X)
    exe, inv, out = solve("highs", models / "milp.mps", tmp_path / "a",
                          SolveOptions(time_limit=30, threads=1, gap=0, seed=3, mip_start=start))
    assert (exe.kind, exe.argv) == ("executable", [str(highs_exe)]) and re.fullmatch(r"\d+\.\d+\.\d+", exe.version)
    assert out.returncode == 0 and sol_objective("highs", out.solution_path) == pytest.approx(MILP_OPT)
    log = out.log_path.read_text()
    # the executable logs what it was told: the command line's options and the options file's
    for line in ("Set option threads to 1", "Set option time_limit to 30", "Set option random_seed to 3",
                 'Set option log_file to "run.log"', 'Set option solution_file to "run.sol"',
                 "Set option mip_rel_gap to 0", f'Set option read_solution_file to "{start}"'):
        assert line in log
    assert "MIP start solution is feasible, objective value is -4.25" in log
    monkeypatch.setenv("LIPGEN_HIGHS", str(highs_exe))
    assert get_backend("highs").locate().argv == [str(highs_exe)]
    exe, _, out = solve("highs", models / "milp.mps", tmp_path / "b", solver_path=str(highs_exe))
    assert exe.argv == [str(highs_exe)] and sol_objective("highs", out.solution_path) == pytest.approx(MILP_OPT)


@pytest.mark.solver
def test_highs_launcher_writes_what_the_executable_writes(models, tmp_path, highs_exe):
    """The same command line through both: the same solution file (HiGHS 1.16 adds its bound and gap lines),
    the same errors and exit codes."""
    (models / "miqp.lp").write_text("Minimize\n obj: x + [ x ^2 ] / 2\nSubject To\n c: x >= 1\nGenerals\n x\nEnd\n")
    launcher = get_backend("highs").locate().argv
    for args in (["--model_file", "milp.mps", "--solution_file", "s.sol", "--time_limit", "10"],
                 ["milp.mps", "--solution_file=s.sol", "--threads=1"]):
        files = []
        for argv in (launcher, [str(highs_exe)]):
            done = subprocess.run(argv + args, cwd=models, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stdout
            files.append(re.sub(r"^(Objective_bound|MIP_rel_gap) .*\n", "", (models / "s.sol").read_text(), flags=re.M))
            assert done.stdout.startswith("Running HiGHS ")  # log_to_console is true by default
        assert files[0] == files[1]
    for model, code, says in (("miqcp.mps", 255, "ERROR:   Quadratic rows not supported by HiGHS"),
                              ("miqp.lp", 255, "ERROR:   Cannot solve MIQP problems with HiGHS"),
                              ("missing.mps", 105, "--model_file: File does not exist: missing.mps")):
        for argv in (launcher, [str(highs_exe)]):
            done = subprocess.run(argv + ["--model_file", model, "--solution_file", "x.sol"], cwd=models,
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == code and says in done.stdout, (argv, done.stdout)
            assert not (models / "x.sol").exists()
    version = subprocess.run(launcher + ["--version"], capture_output=True, text=True, timeout=60).stdout
    assert re.match(r"HiGHS version \d+\.\d+\.\d+ Githash \w+\.", version)


# ---------------------------------------------------------------------------------------------------
# MIP start files and the runner

def test_mip_start_formats(tmp_path):
    values = {"x": 1.0, "y": 0.0, "z": 1.5}
    assert write_mip_start("scip", tmp_path / "s.mst", values).read_text() == "x 1\ny 0\nz 1.5\n"
    assert write_mip_start("gurobi", tmp_path / "g.mst", values).read_text() == "x 1\ny 0\nz 1.5\n"
    cbc = write_mip_start("cbc", tmp_path / "c.sol", values).read_text().splitlines()
    assert cbc[1:] == ["0 x 1", "1 y 0", "2 z 1.5"] and not cbc[0][0].isdigit()
    highs = write_mip_start("highs", tmp_path / "h.sol", values).read_text()
    assert highs.endswith("\n# Columns -3\nx 1 0\ny 0 1\nz 1.5 2\n") and highs.startswith("Model status\n")
    xml = write_mip_start("cplex", tmp_path / "c.mst", {"a<b": 2.0}).read_text()
    assert '<variable name="a&lt;b" index="0" value="2"/>' in xml and "<CPLEXSolutions" in xml
    with pytest.raises(LipgenError, match=r"must end in \.mst"):
        write_mip_start("scip", tmp_path / "s.sol", values)
    with pytest.raises(LipgenError, match="'y' is not finite"):
        write_mip_start("scip", tmp_path / "bad.mst", {"x": 1.0, "y": float("nan")})
    assert not (tmp_path / "bad.mst").exists()


def test_runner_kills_process_group(models, tmp_path):
    """A solver that outlives its limit is SIGKILLed with its children."""
    fake = fake_executable(tmp_path / "slow-solver", "sleep 60 &\necho $! > child.pid\nwait")
    backend = get_backend("scip")
    inv = backend.command(backend.locate(str(fake)), models / "milp.mps", tmp_path / "w", SolveOptions(time_limit=0.5))
    out = run(inv, tmp_path / "w", time_limit=0.5, kill_grace=0.5)
    assert out.killed and out.returncode == -9 and 0.9 <= out.wall_time < 10
    child = int((tmp_path / "w" / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[1].startswith("Z"))  # zombies are dead


def test_runner_without_time_limit_and_log_tail(models, tmp_path):
    fake = fake_executable(tmp_path / "chatty", 'i=0; while [ $i -lt 500 ]; do echo "line $i"; i=$((i+1)); done; '
                                                 'echo oops >&2; exit 3')
    backend = get_backend("scip")
    inv = backend.command(backend.locate(str(fake)), models / "milp.mps", tmp_path / "w", SolveOptions())
    out = run(inv, tmp_path / "w", time_limit=None)
    assert (out.returncode, out.killed) == (3, False)
    assert log_tail(out.stdout_path, 3) == "line 498\nline 499\noops"
    assert log_tail(tmp_path / "nothing.log") == ""
    assert len(log_tail(out.stdout_path, 1000).splitlines()) == 501
