"""Parsers on the real sample outputs of docs/solvers.md and on files the five solvers write here for tiny models.

The samples are maximisation runs: numbers are checked exactly as the solvers printed them (no sign flips).
The tiny models written below are minimisation problems, as lipgen's instances are.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from helpers import highs_samples
import pytest


from lipgen.errors import LipgenError
from lipgen.parsers import PARSERS, cbc, cplex, gurobi, highs, parse, scip, sniff
from lipgen.parsers import record as rec
from lipgen.parsers.live import LogFollower

SAMPLES = Path(__file__).parent / "data" / "solver-samples"
APPROX = dict(rel=1e-12, abs=1e-12)

# min x^2 - 2.5 x + 2 y + 0.5 z  s.t.  x + y + z >= 2.5,  x - y <= 1,  x, y in {0..3}, 0 <= z <= 0.75.
# Optimum 0.75 at x = 1, y = 1, z = 0.5 (enumerate x, y: z takes the rest of the cover constraint).
TINY = highs_samples.LINEAR.replace("ENDATA\n", "QUADOBJ\n    x         x         2\nENDATA\n")
TINY_OPT, TINY_X = 0.75, {"x": 1.0, "y": 1.0, "z": 0.5}
# The same without the square (for CBC): min -2.5 x + 2 y + 0.5 z: x = 3 forces y >= 2, optimum -3.5.
LINEAR = highs_samples.LINEAR
LINEAR_OPT, LINEAR_X = -3.5, {"x": 3.0, "y": 2.0}
INFEAS = highs_samples.INFEAS  # x integer with 2.5 <= x <= 2.2: infeasible
# min -x^2 on [0, 2]: a nonconvex objective, refused by Gurobi with NonConvex=0 and by CPLEX.
NONCONVEX = """NAME          NC FREE
ROWS
 N  obj
 L  c1
COLUMNS
    x         obj       1
    x         c1        1
RHS
    RHS       c1        1
BOUNDS
 LO BND       x         0
 UP BND       x         2
QUADOBJ
    x         x         -2
ENDATA
"""


def models(folder: Path) -> Path:
    for name, text in (("tiny", TINY), ("linear", LINEAR), ("infeas", INFEAS), ("nonconvex", NONCONVEX)):
        (folder / f"{name}.mps").write_text(text)
    return folder


def cut(src: Path, dst: Path, keep: int | float) -> Path:
    """A copy of `src` cut short: `keep` bytes, or that fraction of them."""
    data = src.read_bytes()
    dst.write_bytes(data[: keep if isinstance(keep, int) else int(len(data) * keep)])
    return dst


def keep_lines(src: Path, dst: Path, n: int) -> Path:
    dst.write_text("".join(src.read_text().splitlines(keepends=True)[:n]))
    return dst


def assert_truncated(record: rec.SolveRecord) -> None:
    assert record.status == rec.TRUNCATED_SOLUTION
    assert record.primal is None and record.values == {} and record.gap is None
    assert "cut short" in record.message


def assert_tiny_optimum(record: rec.SolveRecord, solver: str) -> None:
    assert record.solver == solver and record.status == rec.OPTIMAL and record.message == ""
    assert record.primal == pytest.approx(TINY_OPT, abs=1e-6)
    assert {k: record.values.get(k, 0.0) for k in TINY_X} == pytest.approx(TINY_X, abs=1e-6)
    assert set(record.values) <= set(TINY_X)  # no solver-internal variables


# ---------------------------------------------------------------------------------------------------- SCIP
SCIP_RUNS = {  # name: status, primal, dual, gap, time, nodes, n_solutions
    "A": (rec.OPTIMAL, 6.13650403572621, 6.13650403572621, 0.0, 0.01, 1, 3),
    "cvp45": (rec.TIME_LIMIT, 5273.77790177234, -2165.03727252837, None, 10.0, 1, 24),
    "msplit": (rec.TIME_LIMIT, None, 0.0, None, 5.0, 56598, 0),
    "infeas": (rec.INFEASIBLE, None, None, None, 0.0, 0, 0),
}


@pytest.mark.parametrize("name", SCIP_RUNS)
def test_scip_samples(name):
    status, primal, dual, gap, time, nodes, n_sol = SCIP_RUNS[name]
    r = scip.read_result(SAMPLES / "scip" / f"{name}.sol", SAMPLES / "scip" / f"{name}.log")
    assert (r.status, r.primal, r.dual, r.gap, r.time, r.nodes, r.n_solutions) == (
        status, primal, dual, gap, time, nodes, n_sol)
    assert r.solver_version == "10.0.2" and r.message == ""
    assert "qmatrixvar" not in r.values


def test_scip_sample_details():
    a = scip.parse_solution(SAMPLES / "scip" / "A.sol")
    assert a.status == rec.OPTIMAL and a.raw_status == "optimal solution found" and a.complete
    assert a.values == {"s": 1.0, "t": 1.0, "x1": 0.700637909192146, "x2": 0.561728133087877}
    cvp = scip.parse_solution(SAMPLES / "scip" / "cvp45.sol")
    assert len(cvp.values) == 33 and cvp.values["x26"] == -3.0 and cvp.values["x44"] == -2.0
    assert "qmatrixvar" not in cvp.values
    for name, status in (("msplit", rec.TIME_LIMIT), ("infeas", rec.INFEASIBLE)):
        s = scip.parse_solution(SAMPLES / "scip" / f"{name}.sol")
        assert (s.status, s.objective, s.values, s.complete) == (status, None, {}, True)
    log = scip.parse_log(SAMPLES / "scip" / "cvp45.log")  # the log also holds a copy of the solution text
    assert (log.status, log.primal, log.has_incumbent, log.gap) == (rec.TIME_LIMIT, 5273.77790177234, True, None)
    log = scip.parse_log(SAMPLES / "scip" / "msplit.log")
    assert (log.primal, log.has_incumbent, log.n_solutions) == (None, False, 0)  # +1e20 (0 solutions)
    assert scip.parse_log(SAMPLES / "scip" / "infeas.log").dual is None  # +1e20 is infinity


def test_scip_log_restarts_and_gap(tmp_path):
    # the final block as docs/solvers.md section 5 shows it after restarts
    log = tmp_path / "restarts.log"
    log.write_text("SCIP Status        : solving was interrupted [time limit reached]\n"
                   "Solving Time (sec) : 8.00\n"
                   "Solving Nodes      : 413 (total of 1463 nodes in 3 runs)\n"
                   "Primal Bound       : +8.93470000000000e+04 (586 solutions)\n"
                   "Dual Bound         : +8.97586168781426e+04\n"
                   "Gap                : 0.46 %\n")
    info = scip.parse_log(log)
    assert (info.status, info.nodes, info.n_solutions, info.time) == (rec.TIME_LIMIT, 1463, 586, 8.0)
    assert (info.primal, info.dual) == (89347.0, 89758.6168781426)
    assert info.gap == pytest.approx(0.0046, **APPROX)


def test_scip_gap_limit_is_not_optimal(tmp_path):
    """A run SCIP stopped at its gap limit is `gap_limit`, in the log, in the solution file and read together:
    read as optimal, its incumbent would pass for L."""
    sample = (SAMPLES / "scip" / "A.log").read_text()
    log = tmp_path / "gap.log"
    log.write_text(sample.replace("SCIP Status        : problem is solved [optimal solution found]",
                                  "SCIP Status        : solving was interrupted [gap limit reached]")
                   .replace("Dual Bound         : +6.13650403572621e+00", "Dual Bound         : +6.13000000000000e+00")
                   .replace("Gap                : 0.00 %", "Gap                : 0.11 %"))
    sol = tmp_path / "gap.sol"
    sol.write_text((SAMPLES / "scip" / "A.sol").read_text().replace("solution status: optimal solution found",
                                                                    "solution status: gap limit reached"))
    assert scip.parse_log(log).status == rec.GAP_LIMIT
    assert scip.parse_solution(sol).status == rec.GAP_LIMIT
    r = scip.read_result(sol, log)
    assert (r.status, r.primal, r.dual) == (rec.GAP_LIMIT, 6.13650403572621, 6.13)


@pytest.fixture(scope="module")
def scip_runs(tmp_path_factory):
    """pyscipopt (no `solution status:` line in its file) and the real SCIP shell (with it)."""
    import pyscipopt

    d = models(tmp_path_factory.mktemp("scip"))
    for name in ("tiny", "infeas"):
        m = pyscipopt.Model()
        m.hideOutput()
        m.setLogfile(str(d / f"{name}.py.log"))
        m.readProblem(str(d / f"{name}.mps"))
        m.optimize()
        m.writeBestSol(str(d / f"{name}.py.sol"), write_zeros=False)
        m.freeProb()
    shell = [sys.executable, "-m", "lipgen.solvers.scip_shell", "-q"]
    subprocess.run(shell + ["-l", "tiny.sh.log", "-c", "read tiny.mps", "-c", "optimize", "-c",
                            "write solution tiny.sh.sol", "-c", "quit"], cwd=d, check=True, timeout=60)
    (d / "bad.mps").write_text("NAME BAD FREE\nROWS\n N obj\nCOLUMNS\n x obj 1 extra\nENDATA\n")
    for name in ("missing", "bad"):  # never "write solution" without a problem: SCIP 10 segfaults on it
        subprocess.run(shell + ["-l", f"{name}.sh.log", "-c", f"read {name}.mps", "-c", "optimize", "-c", "quit"],
                       cwd=d, timeout=60, capture_output=True)
    return d


def test_scip_real_files(scip_runs):
    d = scip_runs
    sol = scip.parse_solution(d / "tiny.py.sol")
    assert sol.status is None and sol.complete  # pyscipopt writes no status line ...
    r = scip.read_result(d / "tiny.py.sol", d / "tiny.py.log")
    assert_tiny_optimum(r, "scip")  # ... so it comes from the log
    assert r.dual == pytest.approx(TINY_OPT, abs=1e-6) and r.gap == 0.0 and r.nodes >= 1
    assert "qmatrixvar" in (d / "tiny.sh.sol").read_text()  # SCIP's own variable, skipped
    sh = scip.parse_solution(d / "tiny.sh.sol")
    assert sh.status == rec.OPTIMAL and sh.raw_status == "optimal solution found"
    r = scip.read_result(d / "tiny.sh.sol", d / "tiny.sh.log")
    assert_tiny_optimum(r, "scip")
    assert r.solver_version == "10.0.2"

    assert (d / "infeas.py.sol").read_text() == "no solution available\n"
    r = scip.read_result(d / "infeas.py.sol", d / "infeas.py.log")
    assert (r.status, r.primal, r.dual, r.gap, r.n_solutions) == (rec.INFEASIBLE, None, None, None, 0)

    r = scip.read_result(d / "missing.sh.sol", d / "missing.sh.log")
    assert (r.status, r.message) == (rec.CRASHED, "file <missing.mps> not found")
    r = scip.read_result(d / "bad.sh.sol", d / "bad.sh.log")
    assert (r.status, r.message) == (rec.CRASHED, "error reading file <bad.mps>")


def test_scip_truncated(scip_runs, tmp_path):
    d = scip_runs
    src = d / "tiny.sh.sol"
    for dst in (cut(src, tmp_path / "half.sol", 0.6),  # mid-line
                cut(src, tmp_path / "nonl.sol", len(src.read_bytes()) - 1),  # last newline missing
                keep_lines(src, tmp_path / "head.sol", 1),  # status line only: objective line missing
                cut(src, tmp_path / "empty.sol", 0)):
        assert not scip.parse_solution(dst).complete
        assert_truncated(scip.read_result(dst, d / "tiny.sh.log"))


# -------------------------------------------------------------------------------------------------- Gurobi
def test_gurobi_samples():
    g = SAMPLES / "gurobi"
    a = gurobi.read_result(g / "A.sol", g / "A.log", g / "A.json")
    # "Optimal solution found (tolerance 1.00e-04)" with a gap of 2.1e-5 left: the gap limit, not optimality
    assert (a.status, a.primal, a.dual, a.gap, a.nodes, a.n_solutions) == (
        rec.GAP_LIMIT, 6.1365024969373989, 6.1366341233482844, 2.1449744533010474e-05, 1, 2)
    assert a.time == 2.8550624847412109e-03 and a.solver_version == "13.0.3"
    assert a.values == {"x1": 7.0058086579591394e-01, "x2": 5.6178778362207282e-01, "s": 1.0, "t": 1.0}

    c = gurobi.read_result(g / "cvp45.sol", g / "cvp45.log", g / "cvp45.json")
    assert (c.status, c.primal, c.dual, c.gap, c.nodes, c.n_solutions, c.time) == (
        rec.TIME_LIMIT, 1755.3501870373439, 824.25405328132979, 0.53043326661075274, 61179, 7, 10.000828027725220)
    assert len(c.values) == 45 and c.values["x3"] == 0.0 and c.values["x22"] == 3.0  # .sol lists zeros
    js = gurobi.parse_solution(g / "cvp45.json")
    assert len(js.values) == 35 and "x3" not in js.values and js.values["x44"] == -2.0  # .json skips them

    m = gurobi.read_result(g / "msplit.sol", g / "msplit.log", g / "msplit.json")  # no .sol was written
    assert (m.status, m.primal, m.dual, m.gap, m.nodes, m.n_solutions) == (rec.TIME_LIMIT, None, 0.0, None, 142362, 0)
    i = gurobi.read_result(None, g / "infeas.log", g / "infeas.json")
    assert (i.status, i.primal, i.dual, i.gap, i.nodes, i.n_solutions) == (rec.INFEASIBLE, None, None, None, 0, 0)


def test_gurobi_sample_logs():
    g = SAMPLES / "gurobi"
    a = gurobi.parse_log(g / "A.log")  # appended to twice: the last run counts
    assert (a.status, a.primal, a.dual, a.nodes, a.n_solutions, a.time, a.version) == (
        rec.OPTIMAL, 6.136502496937, 6.136634123348, 1, 2, 0.0, "13.0.3")
    assert a.gap == pytest.approx(2.1e-5, **APPROX)
    c = gurobi.parse_log(g / "cvp45.log")
    assert (c.status, c.primal, c.dual, c.nodes, c.time) == (
        rec.TIME_LIMIT, 1755.350187037, 824.2540532813, 61179, 10.0)
    assert c.gap == pytest.approx(0.530433, **APPROX)
    m = gurobi.parse_log(g / "msplit.log")
    assert (m.status, m.primal, m.dual, m.gap, m.has_incumbent) == (rec.TIME_LIMIT, None, 0.0, None, False)
    i = gurobi.parse_log(g / "infeas.log")
    assert (i.status, i.primal, i.dual, i.gap, i.n_solutions) == (rec.INFEASIBLE, None, None, None, 0)
    # the log alone (no .json) gives the same statuses
    r = gurobi.read_result(g / "cvp45.sol", g / "cvp45.log")
    assert (r.status, r.primal, r.dual, r.time) == (rec.TIME_LIMIT, 1755.3501870373439, 824.2540532813, 10.0)
    r = gurobi.read_result(g / "msplit.sol", g / "msplit.log")
    assert (r.status, r.primal, r.dual) == (rec.TIME_LIMIT, None, 0.0)


def test_gurobi_json_codes(tmp_path):
    for code, status in ((2, rec.OPTIMAL), (3, rec.INFEASIBLE), (4, rec.INFEASIBLE), (5, rec.UNBOUNDED),
                         (7, rec.INTERRUPTED), (8, rec.NODE_LIMIT), (9, rec.TIME_LIMIT), (10, rec.INTERRUPTED),
                         (11, rec.INTERRUPTED), (13, rec.UNKNOWN), (16, rec.TIME_LIMIT), (17, rec.MEMORY_LIMIT)):
        f = tmp_path / f"s{code}.json"
        f.write_text(f'{{"SolutionInfo": {{"Status": {code}, "ObjVal": 1e+100, "SolCount": 0}}}}')
        s = gurobi.parse_solution(f)
        assert (s.status, s.objective, s.raw_status) == (status, None, str(code))


@pytest.fixture(scope="module")
def gurobi_runs(tmp_path_factory):
    import gurobipy as gp

    d = models(tmp_path_factory.mktemp("gurobi"))
    for name in ("tiny", "infeas"):
        with gp.Env(empty=True) as env:
            env.setParam("LogToConsole", 0)
            env.setParam("LogFile", str(d / f"{name}.log"))
            env.start()
            with gp.read(str(d / f"{name}.mps"), env) as m:
                m.setParam("ResultFile", str(d / f"{name}.json"))
                m.optimize()
                if m.SolCount:
                    m.write(str(d / f"{name}.sol"))
    # 201 variables and one square: over the size-limited license; lipgen's launcher logs the error
    lines = ["NAME BIG FREE", "ROWS", " N  obj", "COLUMNS"] + [f"    v{i} obj 1" for i in range(201)]
    lines += ["RHS", "BOUNDS"] + [f" UP BND v{i} 1" for i in range(201)] + ["QUADOBJ", "    v0 v0 2", "ENDATA"]
    (d / "big.mps").write_text("\n".join(lines) + "\n")
    launcher = [sys.executable, "-m", "lipgen.solvers.gurobi_launcher", "LogToConsole=0"]
    for name, extra in (("big", []), ("nonconvex", ["NonConvex=0"])):
        subprocess.run(launcher + [f"LogFile={name}.log", f"ResultFile={name}.sol"] + extra + [f"{name}.mps"],
                       cwd=d, timeout=120, capture_output=True)
    return d


def test_gurobi_real_files(gurobi_runs):
    d = gurobi_runs
    sol = gurobi.parse_solution(d / "tiny.sol")
    assert sol.status is None and sol.objective == pytest.approx(TINY_OPT, abs=1e-6)
    r = gurobi.read_result(d / "tiny.sol", d / "tiny.log", d / "tiny.json")
    assert_tiny_optimum(r, "gurobi")
    assert r.dual == pytest.approx(TINY_OPT, abs=1e-6) and r.n_solutions >= 1 and r.solver_version
    r_log = gurobi.read_result(d / "tiny.sol", d / "tiny.log")  # without the .json: status from the log
    assert_tiny_optimum(r_log, "gurobi")
    assert parse("gurobi", d / "tiny.json", d / "tiny.log", result_json=d / "tiny.json").primal == r.primal

    assert not (d / "infeas.sol").exists()
    r = gurobi.read_result(d / "infeas.sol", d / "infeas.log", d / "infeas.json")
    assert (r.status, r.primal, r.dual, r.n_solutions) == (rec.INFEASIBLE, None, None, 0)
    r = gurobi.read_result(d / "infeas.sol", d / "infeas.log")
    assert (r.status, r.primal) == (rec.INFEASIBLE, None)

    r = gurobi.read_result(d / "big.sol", d / "big.log")
    assert r.status == rec.LICENSE_LIMIT and "200 variables" in r.message and "10010" in r.message
    r = gurobi.read_result(d / "nonconvex.sol", d / "nonconvex.log")
    assert r.status == rec.CRASHED and r.message.startswith("Error 10020")


def test_gurobi_truncated(gurobi_runs, tmp_path):
    d = gurobi_runs
    for dst in (cut(d / "tiny.sol", tmp_path / "half.sol", 0.8), keep_lines(d / "tiny.sol", tmp_path / "head.sol", 2),
                keep_lines(d / "tiny.sol", tmp_path / "noobj.sol", 1)):
        assert_truncated(gurobi.read_result(dst, d / "tiny.log", d / "tiny.json"))
    half = cut(d / "tiny.json", tmp_path / "half.json", 0.5)
    assert not gurobi.parse_solution(half).complete
    assert_truncated(gurobi.read_result(None, d / "tiny.log", half))


# --------------------------------------------------------------------------------------------------- CPLEX
def test_cplex_samples():
    c = SAMPLES / "cplex"
    a = cplex.parse_solution(c / "A.sol")
    assert (a.status, a.raw_status, a.objective, a.nodes) == (
        rec.GAP_LIMIT, "102 integer optimal, tolerance", 6.1365037922977246, 0)
    assert a.values == {"x1": 0.70076364785854428, "x2": 0.56159280225928188, "s": 1.0, "t": 1.0}
    r = cplex.read_result(c / "A.sol", c / "A.log")
    assert (r.status, r.primal, r.dual, r.gap, r.time, r.nodes, r.solver_version) == (
        rec.GAP_LIMIT, 6.1365037922977246, 6.13645, 0.0, 0.02, 0, "22.2.0.0")

    r = cplex.read_result(c / "cvp45.sol", c / "cvp45.log")
    assert (r.status, r.primal, r.time, r.nodes) == (rec.TIME_LIMIT, 2088.16835986363, 10.0, 3500)
    assert r.dual == pytest.approx(235.89835, rel=1e-15)  # the printed 235.8984 minus half its last digit
    assert r.gap == pytest.approx(0.887, **APPROX) and r.values["x15"] == 3.0 and len(r.values) == 45

    r = cplex.read_result(c / "msplit.sol", c / "msplit.log")  # no .sol: CPLEX had no solution to write
    assert (r.status, r.primal, r.dual, r.gap, r.time) == (rec.TIME_LIMIT, None, -0.00005, None, 5.0)
    r = cplex.read_result(c / "infeas.sol", c / "infeas.log")  # the library log has no status line
    assert (r.status, r.primal, r.dual) == (rec.UNKNOWN, None, None) and "no status line" in r.message


def test_cplex_sample_logs():
    c = SAMPLES / "cplex"
    a = cplex.parse_log(c / "A.log")
    assert (a.status, a.primal, a.dual, a.gap, a.time, a.has_incumbent) == (None, 6.1365, 6.13645, 0.0, 0.02, True)
    v = cplex.parse_log(c / "cvp45.log")  # last node line: "*  3486+ 2774  2088.1684  235.8984  88.70%"
    assert (v.status, v.primal, v.time) == (rec.TIME_LIMIT, 2088.1684, 10.0)
    assert v.dual == pytest.approx(235.89835, rel=1e-15)
    m = cplex.parse_log(c / "msplit.log")  # "156033  1173    infeasible    0.0000   356373"
    assert (m.status, m.primal, m.dual, m.gap, m.has_incumbent) == (rec.TIME_LIMIT, None, -0.00005, None, False)
    i = cplex.parse_log(c / "infeas.log")  # error 1217 (no solution to write) is not a failure
    assert (i.status, i.has_incumbent, i.time, i.message) == (None, False, 0.0, "")


@pytest.mark.parametrize("line, expected", [
    ("      0     2        0.0045    45     3812.3533        9.7818      376   99.74%", (3812.3533, 9.78175, 0.9974)),
    ("*  3486+ 2774                         2088.1684      235.8984            88.70%", (2088.1684, 235.89835, 0.887)),
    ("    105    95        cutoff           2481.5643        9.7818     2502   99.61%", (2481.5643, 9.78175, 0.9961)),
    ("      0     0        cutoff              0.7500                     15    0.00%", (0.75, None, 0.0)),
    ("*   120    12      integral     0       12.0000       11.0000      345    8.33%", (12.0, 10.99995, 0.0833)),
    ("      0     0        6.1365     1        5.6365     Cuts: 3       40    8.87%", (5.6365, None, 0.0887)),
    ("      0     0        0.0744    45                      0.0744      292         ", (None, 0.07435, None)),  # the printed bound's rounded-down end
    ("      0     0        6.2544     0                     Cone: 3        5         ", (None, None, None)),
    ("Elapsed time = 8.91 sec. (22815.17 ticks, tree = 0.56 MB, solutions = 9)", None),
])
def test_cplex_node_lines(line, expected):
    got = cplex.node_line(line)
    if expected is None:
        assert got is None
    else:
        assert [g if g is None else pytest.approx(g, **APPROX) for g in got] == list(expected)


@pytest.fixture(scope="module")
def cplex_runs(tmp_path_factory):
    """The callable library (log without status lines) and lipgen's interactive launcher (with them)."""
    import cplex as cpx

    d = models(tmp_path_factory.mktemp("cplex"))

    def library(name, build):
        c = cpx.Cplex()
        with open(d / f"{name}.lib.log", "w") as fh:
            for stream in (c.set_results_stream, c.set_log_stream, c.set_warning_stream, c.set_error_stream):
                stream(fh)
            build(c)
            try:
                c.solve()
                c.solution.write(str(d / f"{name}.lib.sol"))
            except cpx.exceptions.CplexError:
                pass  # 1217 no solution, 1016 size limit, 5002 nonconvex: all in the log
        c.end()

    library("tiny", lambda c: c.read(str(d / "tiny.mps")))
    library("infeas", lambda c: c.read(str(d / "infeas.mps")))
    library("nonconvex", lambda c: c.read(str(d / "nonconvex.mps")))
    library("big", lambda c: c.variables.add(obj=[1.0] * 1001, ub=[1.0] * 1001))  # 1001 > 1000 variables
    launcher = [sys.executable, "-m", "lipgen.solvers.cplex_launcher", "-c"]
    for name in ("tiny", "infeas"):
        subprocess.run(launcher + [f"set logfile {name}.int.log", f"read {name}.mps", "set timelimit 20", "optimize",
                                   f"write {name}.int.sol", "quit"], cwd=d, timeout=120, capture_output=True)
    return d


def test_cplex_real_files(cplex_runs):
    d = cplex_runs
    for kind in ("lib", "int"):
        r = cplex.read_result(d / f"tiny.{kind}.sol", d / f"tiny.{kind}.log")
        assert_tiny_optimum(r, "cplex")
        assert r.solver_version == "22.2.0.0" and r.nodes is not None and r.time is not None
    assert cplex.parse_log(d / "tiny.int.log").status == rec.OPTIMAL  # "MIP - Integer optimal solution: ..."

    assert not (d / "infeas.int.sol").exists()
    r = cplex.read_result(d / "infeas.int.sol", d / "infeas.int.log")  # "MIP - Integer infeasible."
    assert (r.status, r.primal, r.n_solutions, r.message) == (rec.INFEASIBLE, None, 0, "")
    r = cplex.read_result(d / "infeas.lib.sol", d / "infeas.lib.log")
    assert (r.status, r.primal) == (rec.UNKNOWN, None)

    r = cplex.read_result(d / "big.lib.sol", d / "big.lib.log")
    assert r.status == rec.LICENSE_LIMIT and "1000 variables" in r.message and "1016" in r.message
    r = cplex.read_result(d / "nonconvex.lib.sol", d / "nonconvex.lib.log")
    assert r.status == rec.CRASHED and r.message == "CPLEX Error  5002: objective is not convex."


def test_cplex_truncated(cplex_runs, tmp_path):
    d = cplex_runs
    src = d / "tiny.lib.sol"
    text = src.read_text()
    unclosed = tmp_path / "unclosed.sol"
    unclosed.write_text(text.replace("</CPLEXSolution>", ""))
    for dst in (cut(src, tmp_path / "half.sol", 0.5), cut(src, tmp_path / "most.sol", 0.97), unclosed,
                cut(src, tmp_path / "empty.sol", 0)):
        assert not cplex.parse_solution(dst).complete
        assert_truncated(cplex.read_result(dst, d / "tiny.lib.log"))


# ----------------------------------------------------------------------------------------------------- CBC
def test_cbc_samples():
    c = SAMPLES / "cbc"
    r = cbc.read_result(c / "opt.sol", c / "opt.log")  # an LP: no "Result -" line
    assert (r.status, r.primal, r.values, r.solver_version) == (rec.OPTIMAL, 7.0, {"MYVAR": 1.0, "X2": 3.0}, "2.10.3")
    r = cbc.read_result(c / "mknap2.sol", c / "mknap2.log")  # -max: numbers as CBC wrote them
    assert (r.status, r.primal, r.dual, r.gap, r.nodes, r.time) == (
        rec.TIME_LIMIT, 89295.0, 89821.866, -0.01, 50149, 3.48)
    assert len(r.values) == 104 and r.values["x0"] == 1.0 and "x1" not in r.values
    r = cbc.read_result(c / "intinf.sol", c / "intinf.log")
    assert (r.status, r.primal, r.values, r.n_solutions) == (rec.INFEASIBLE, None, {}, 0)


def test_cbc_time_limit_reported_as_infeasible():
    """msplit: CBC's file and log say infeasible, but the 3 s limit ran out (the other solvers time out too)."""
    c = SAMPLES / "cbc"
    s = cbc.parse_solution(c / "msplit.sol")
    assert (s.status, s.objective, s.values, s.raw_status) == (rec.INFEASIBLE, None, {}, "Integer infeasible")
    log = cbc.parse_log(c / "msplit.log")
    assert (log.status, log.raw_status, log.has_incumbent) == (rec.TIME_LIMIT, "Problem proven infeasible", False)
    r = cbc.read_result(c / "msplit.sol", c / "msplit.log")
    assert (r.status, r.primal, r.values, r.nodes, r.time) == (rec.TIME_LIMIT, None, {}, 581843, 3.79)
    assert r.message == cbc.BUG_NOTE


def test_cbc_solution_words(tmp_path):
    cases = (("Optimal", rec.OPTIMAL, 3.0), ("Stopped on time", rec.TIME_LIMIT, 3.0),
             ("Stopped on time (no integer solution - continuous used)", rec.TIME_LIMIT, None),
             ("Integer infeasible", rec.INFEASIBLE, None), ("Infeasible", rec.INFEASIBLE, None),
             ("Unbounded", rec.UNBOUNDED, None), ("Stopped on iterations", rec.INTERRUPTED, 3.0))
    for words, status, objective in cases:
        f = tmp_path / "s.sol"
        f.write_text(f"{words} - objective value 3.00000000\n      0 x          1.5          0\n")
        s = cbc.parse_solution(f)
        assert (s.status, s.objective, s.values) == (status, objective, {"x": 1.5} if objective else {})


@pytest.fixture(scope="module")
def cbc_runs(tmp_path_factory):
    import pulp

    d = models(tmp_path_factory.mktemp("cbc"))
    binary = pulp.apis.coin_api.pulp_cbc_path  # the bundled binary (PULP_CBC_CMD().path, without its warning)
    for name, model in (("linear", "linear.mps"), ("infeas", "infeas.mps"), ("missing", "missing.mps")):
        with open(d / f"{name}.log", "w") as out:
            subprocess.run([binary, model, "-sec", "5", "-solve", "-solu", f"{name}.sol"], cwd=d, stdout=out,
                           stderr=subprocess.STDOUT, timeout=60)
    return d


def test_cbc_real_files(cbc_runs):
    d = cbc_runs
    r = cbc.read_result(d / "linear.sol", d / "linear.log")
    assert (r.status, r.primal, r.solver_version, r.message) == (rec.OPTIMAL, LINEAR_OPT, "2.10.3", "")
    assert {k: r.values.get(k, 0.0) for k in LINEAR_X} == LINEAR_X and r.values.get("z", 0.0) == 0.0
    assert cbc.parse_log(d / "linear.log").raw_status == "Optimal solution found"
    r = cbc.read_result(d / "infeas.sol", d / "infeas.log")
    assert (r.status, r.primal, r.values) == (rec.INFEASIBLE, None, {})
    assert (d / "infeas.sol").read_text().startswith("Infeasible - objective value")  # LP values, not a solution
    r = cbc.read_result(d / "missing.sol", d / "missing.log")
    assert r.status == rec.CRASHED and r.message == "Unable to open file ./missing.mps"


def test_cbc_truncated(cbc_runs, tmp_path):
    d = cbc_runs
    src = d / "linear.sol"
    for dst in (cut(src, tmp_path / "half.sol", 0.5), cut(src, tmp_path / "nonl.sol", len(src.read_bytes()) - 1),
                cut(src, tmp_path / "first.sol", 20), cut(src, tmp_path / "empty.sol", 0)):
        assert not cbc.parse_solution(dst).complete
        assert_truncated(cbc.read_result(dst, d / "linear.log"))


# --------------------------------------------------------------------------------------------------- HiGHS
# HiGHS ends a search it finished by pruning within its gap tolerance (printed "0.01%", mip_rel_gap 1e-4) with the
# incumbent as its bound: the bound proven is primal - tolerance |primal|, the tolerance read as 1e-4 * 1.01 + 1e-7
OPT_PROVEN = -3.5 - 3.5 * (1e-4 * 1.01 + 1e-7)
HIGHS_RUNS = {  # name: status, primal, dual, gap, time, nodes, n_solutions, version (tests/highs_samples.py)
    "opt": (rec.OPTIMAL, -3.5, OPT_PROVEN, 0.0, 0.0, 0, None, "1.16.0"),
    "exe-opt": (rec.OPTIMAL, -3.5, OPT_PROVEN, 0.0, 0.0, 0, None, "1.15.1"),
    "timelimit": (rec.TIME_LIMIT, 16.9999999999991, 0.0, 1.0, 1.0, 814, None, "1.16.0"),
    "exe-timelimit": (rec.TIME_LIMIT, 15.0, 0.0, 1.0, 1.0, 509, None, "1.15.1"),
    "msplit": (rec.TIME_LIMIT, None, 63.0, None, 1.0, 805, 0, "1.16.0"),
    "exe-msplit": (rec.TIME_LIMIT, None, 63.0, None, 1.0, 607, 0, "1.15.1"),
    "infeas": (rec.INFEASIBLE, None, None, None, 0.0, 0, 0, "1.16.0"),
    "exe-infeas": (rec.INFEASIBLE, None, None, None, 0.0, 0, 0, "1.15.1"),
}
HIGHS = SAMPLES / "highs"


@pytest.mark.parametrize("name", HIGHS_RUNS)
def test_highs_samples(name):
    status, primal, dual, gap, time, nodes, n_sol, version = HIGHS_RUNS[name]
    r = highs.read_result(HIGHS / f"{name}.sol", HIGHS / f"{name}.log")
    assert (r.status, r.primal, r.dual, r.gap, r.time, r.nodes, r.n_solutions, r.solver_version) == (
        status, primal, dual, gap, time, nodes, n_sol, version)
    assert r.message == ""
    assert parse("highs", HIGHS / f"{name}.sol", HIGHS / f"{name}.log") == r
    assert sniff.solution_kind(HIGHS / f"{name}.sol") == "highs" and sniff.log_kind(HIGHS / f"{name}.log") == "highs"


def test_highs_sample_details():
    opt = highs.parse_solution(HIGHS / "opt.sol")  # HiGHS 1.16 writes its bound and gap into the file
    assert (opt.status, opt.raw_status, opt.objective, opt.dual, opt.gap) == (rec.OPTIMAL, "Optimal", -3.5, -3.5, 0.0)
    assert opt.values == highs_samples.LINEAR_X and opt.complete
    old = highs.parse_solution(HIGHS / "exe-opt.sol")  # 1.15 does not
    assert (old.objective, old.dual, old.gap, old.values) == (-3.5, None, None, highs_samples.LINEAR_X)
    tl = highs.parse_solution(HIGHS / "timelimit.sol")  # every column, zeros too (raw style)
    assert len(tl.values) == 50 and tl.values["x0"] == 0.0 and tl.raw_status == "Time limit reached"
    assert highs.lists_every_column(HIGHS / "timelimit.sol")
    for name, status in (("msplit", rec.TIME_LIMIT), ("infeas", rec.INFEASIBLE)):
        s = highs.parse_solution(HIGHS / f"{name}.sol")
        assert (s.status, s.objective, s.values, s.complete) == (status, None, {}, True)
    log = highs.parse_log(HIGHS / "timelimit.log")
    assert (log.status, log.primal, log.dual, log.has_incumbent, log.gap) == (rec.TIME_LIMIT, 17.0, 0.0, True, 1.0)
    assert log.gap_tolerance == pytest.approx(1e-4 * 1.01 + 1e-7, rel=1e-15)  # "Gap  100% (tolerance: 0.01%)"
    log = highs.parse_log(HIGHS / "opt.log")  # the bound as HiGHS prints it: the incumbent
    assert (log.status, log.primal, log.dual, log.gap) == (rec.OPTIMAL, -3.5, -3.5, 0.0)
    log = highs.parse_log(HIGHS / "msplit.log")
    assert (log.primal, log.dual, log.has_incumbent) == (None, 63.0, False)  # "Primal bound inf", "Solution status -"
    assert highs.parse_log(HIGHS / "exe-infeas.log").dual is None  # "-inf"
    # the live display reads the node table's last line
    live = LogFollower("highs", HIGHS / "exe-timelimit.log").update()
    assert (live.primal, live.dual) == (15.0, 0.0) and live.gap == 1.0
    assert LogFollower("highs", HIGHS / "msplit.log").update().primal is None  # "inf" until an incumbent


def test_highs_log_variants(tmp_path):
    # an LP (no integer column) ends with the LP summary instead of the MIP solver's report
    lp = tmp_path / "lp.log"
    lp.write_text("Running HiGHS 1.15.1 (git hash: 04024d7): Copyright (c) 2026 under MIT licence terms\n"
                  "Model name          : lp\nModel status        : Optimal\n"
                  "Objective value     : -5.0000000000e+00\nP-D objective error :  0.0000000000e+00\n"
                  "HiGHS run time      :          0.00\n")
    info = highs.parse_log(lp)
    assert (info.status, info.primal, info.dual, info.time, info.version) == (rec.OPTIMAL, -5.0, -5.0, 0.0, "1.15.1")
    # a run stopped at its gap tolerance: "optimal" with the gap left open
    gap = tmp_path / "gap.log"
    gap.write_text("Running HiGHS 1.16.0 (git hash: f3f113d)\n\nSolving report\n  Status            Optimal\n"
                   "  Primal bound      -1.06592406479\n  Dual bound        -1.21027743166\n"
                   "  Gap               13.54% (tolerance: 20%)\n  Solution status   feasible\n"
                   "  Timing            2.32\n  Nodes             119\n")
    info = highs.parse_log(gap)
    assert (info.status, info.gap, info.nodes) == (rec.OPTIMAL, 0.1354, 119)
    assert info.gap_tolerance == pytest.approx(0.2 * 1.01 + 1e-7, rel=1e-15)
    sol = tmp_path / "gap.sol"
    sol.write_text("Model status\nOptimal\n\n# Primal solution values\nFeasible\nObjective -1.0659240647905\n"
                   "# Columns -1\nx_0 1 0\n")  # the sparse style: nonzeros only, `name value index`
    r = highs.read_result(sol, gap)
    assert (r.status, r.primal, r.values) == (rec.GAP_LIMIT, -1.0659240647905, {"x_0": 1.0})
    # nodes within 20% of the incumbent were pruned: the bound printed holds only down to that limit
    assert r.dual == pytest.approx(-1.0659240647905 * (1 + 0.2 * 1.01 + 1e-7), rel=1e-15)
    assert not highs.lists_every_column(sol)
    # a log appended to twice: the last run counts
    twice = tmp_path / "twice.log"
    twice.write_text((HIGHS / "exe-infeas.log").read_text() + (HIGHS / "opt.log").read_text())
    assert (highs.parse_log(twice).status, highs.parse_log(twice).version) == (rec.OPTIMAL, "1.16.0")


@pytest.fixture(scope="module")
def highs_runs(tmp_path_factory):
    """Fresh runs, as lipgen makes them, through lipgen's launcher and through the real executable; and the
    failures (a quadratic model, a model that cannot be read)."""
    d = tmp_path_factory.mktemp("highs")
    exe = highs_samples.real_highs(d / "bin")
    runs = {}
    for kind, executable in (("launcher", None), ("exe", exe)):
        for name in ("opt", "infeas", "msplit"):
            runs[kind, name] = highs_samples.solve(name, d / kind, executable)
        folder = d / kind / "bad"
        folder.mkdir()
        (folder / "tiny.mps").write_text(TINY)  # a square in the objective, integers: "Cannot solve MIQP problems"
        # a quadratic row: HiGHS's reader refuses the file
        (folder / "ball.mps").write_text("NAME BALL FREE\nROWS\n N obj\n L ball\nCOLUMNS\n x obj -1\nRHS\n RHS ball 1\n"
                                         "QCMATRIX ball\n x x 1\nENDATA\n")
        argv = [str(exe)] if executable else [sys.executable, "-m", "lipgen.solvers.highs_launcher"]
        for name in ("tiny", "ball"):
            (folder / f"{name}.opt").write_text(f"log_file = {name}.log\nlog_to_console = false\n")
            done = subprocess.run(argv + ["--model_file", f"{name}.mps", "--options_file", f"{name}.opt",
                                          "--solution_file", f"{name}.sol"], cwd=folder, timeout=60, capture_output=True)
            runs[kind, name] = folder / f"{name}.sol", folder / f"{name}.log", done.returncode
    return runs


@pytest.mark.solver
@pytest.mark.parametrize("kind", ["launcher", "exe"])
def test_highs_real_files(highs_runs, kind):
    sol, log, code = highs_runs[kind, "opt"]
    r = highs.read_result(sol, log)
    assert code == 0 and (r.status, r.primal, r.dual, r.gap, r.message) == (rec.OPTIMAL, -3.5, OPT_PROVEN, 0.0, "")
    assert r.values == highs_samples.LINEAR_X and r.nodes is not None and r.time is not None
    assert re.fullmatch(r"\d+\.\d+\.\d+", r.solver_version)
    sol, log, _ = highs_runs[kind, "infeas"]
    r = highs.read_result(sol, log)
    assert (r.status, r.primal, r.dual, r.n_solutions) == (rec.INFEASIBLE, None, None, 0)
    sol, log, _ = highs_runs[kind, "msplit"]
    r = highs.read_result(sol, log)
    assert (r.status, r.primal, r.values, r.n_solutions) == (rec.TIME_LIMIT, None, {}, 0) and r.dual is not None
    for name, says in (("tiny", "ERROR:   Cannot solve MIQP problems with HiGHS"),
                       ("ball", "ERROR:   Quadratic rows not supported by HiGHS")):
        sol, log, code = highs_runs[kind, name]
        assert code == 255 and not sol.exists()
        r = highs.read_result(sol, log)
        assert r.status == rec.CRASHED and r.message.startswith(says) and r.primal is None


def test_highs_truncated(highs_runs, tmp_path):
    src, log, _ = highs_runs["launcher", "opt"]
    text = src.read_text()
    for dst in (cut(src, tmp_path / "half.sol", 0.5),  # mid-line
                cut(src, tmp_path / "nonl.sol", len(src.read_bytes()) - 1),  # last newline missing
                keep_lines(src, tmp_path / "cols.sol", text.splitlines().index("# Rows 2")),  # values, no rows
                keep_lines(src, tmp_path / "head.sol", 4),  # the header only
                cut(src, tmp_path / "empty.sol", 0)):
        assert not highs.parse_solution(dst).complete
        assert_truncated(highs.read_result(dst, log))
    none, log, _ = highs_runs["launcher", "infeas"]
    assert_truncated(highs.read_result(keep_lines(none, tmp_path / "none.sol", 5), log))  # "None", then cut


# ---------------------------------------------------------------------------------------- dispatch, errors
def test_dispatch():
    assert set(PARSERS) == {"scip", "gurobi", "cplex", "highs", "cbc"}
    for solver, sol, log in (("scip", "A.sol", "A.log"), ("cplex", "A.sol", "A.log"), ("cbc", "opt.sol", "opt.log"),
                             ("gurobi", "A.sol", "A.log"), ("highs", "opt.sol", "opt.log")):
        r = parse(solver, SAMPLES / solver / sol, SAMPLES / solver / log)
        # the CPLEX (status 102) and Gurobi (gap 2.1e-5) samples stopped at their gap tolerance
        assert r.solver == solver and r.status == (rec.GAP_LIMIT if solver in ("cplex", "gurobi") else rec.OPTIMAL)
        assert r.primal is not None
    with pytest.raises(LipgenError, match="unknown solver 'xpress'"):
        parse("xpress", "a.sol")
    with pytest.raises(LipgenError, match="only Gurobi"):
        parse("cplex", SAMPLES / "cplex" / "A.sol", result_json=SAMPLES / "gurobi" / "A.json")


def test_missing_files(tmp_path):
    for module in (scip, gurobi, cplex, highs, cbc):
        with pytest.raises(LipgenError, match="nope.sol: no such"):
            module.parse_solution(tmp_path / "nope.sol")
        with pytest.raises(LipgenError, match="nope.log: no such"):
            module.parse_log(tmp_path / "nope.log")
    # an optimal run whose solution file is gone: not a result, and the log's incumbent is only quoted
    r = scip.read_result(tmp_path / "gone.sol", SAMPLES / "scip" / "A.log")
    assert (r.status, r.primal, r.dual, r.values) == (rec.MISSING_SOLUTION, None, 6.13650403572621, {})
    assert "gone.sol is missing" in r.message and "6.13650403572621" in r.message
    r = gurobi.read_result(tmp_path / "gone.sol", SAMPLES / "gurobi" / "cvp45.log")
    assert (r.status, r.primal) == (rec.MISSING_SOLUTION, None)
    r = cbc.read_result(tmp_path / "gone.sol", None)
    assert r.status == rec.MISSING_SOLUTION and "no log" in r.message
