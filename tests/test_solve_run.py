"""`lipgen solve`, `lipgen run` and `lipgen parse` with real solver processes, checked against the exact oracle."""

from __future__ import annotations

import contextlib
import json
import re
import stat
import sys
from pathlib import Path

import pytest

from helpers.cli import run_cli
from helpers.highs_samples import real_highs
from helpers.networks import oracle_value, random_network, tiny_network, unit_box

from lipgen import pipeline
from lipgen.domain import Box
from lipgen.instance import generate
from lipgen.run.batch import AUTO_ORDER, solve_all
from lipgen.instance import find_instances
from lipgen.solvers import SolveOptions
from lipgen.io import save

pytestmark = pytest.mark.solver  # every test here runs a solver

REL = 1e-5
SOLVED = {"optimal", "gap_limit"}  # gap_limit: stopped at the requested (tiny) gap
OPTS = SolveOptions(time_limit=120, threads=1, gap=1e-7)


def check_against_oracle(results: list[dict], exact: float) -> None:
    by = {r["bound"]: r for r in results}
    up, lo = by["upper"]["lipschitz"], by["lower"]["lipschitz"]
    assert {by["upper"]["status"], by["lower"]["status"]} <= SOLVED, results
    assert up["upper"] >= exact * (1 - 1e-7) and up["upper"] == pytest.approx(exact, rel=REL)
    assert lo["lower"] == pytest.approx(exact, rel=REL)
    for q in (up, lo):
        if q["certified_lower"] is not None:
            assert q["certified_lower"] <= exact * (1 + 1e-12)
    assert lo["certified_lower"] == pytest.approx(exact, rel=REL)


@pytest.mark.parametrize("solver,case,norm,fmt,gz", [
    ("scip", 2, "2", "mps", True),
    ("scip", 4, "inf", "lp", False),
    ("gurobi", 0, "2", "mps", True),
    ("gurobi", 4, "2", "lp", False),  # nonconvex objective + ball
    ("cplex", 0, "2", "mps", False),
    ("cplex", 7, "inf", "lp", True),
    ("cplex", 4, "1", "mps", False),
    ("cbc", 1, "inf", "mps", False),
    ("cbc", 2, "1", "mps", False),
    ("highs", 1, "inf", "mps", True),
    ("highs", 2, "1", "lp", False),
    ("highs", 7, "inf", "lp", True),
    ("highs", 4, "1", "mps", False),
    ("highs", 3, "inf", "mps", False),
])
def test_each_backend_agrees_with_oracle(solver, case, norm, fmt, gz, tmp_path):
    net = tiny_network(case)
    generate(net, Box(*unit_box(net.n_inputs)), tmp_path / "inst", alpha=norm, beta=norm, fmt=fmt, gzip=gz)
    results = solve_all(find_instances([tmp_path / "inst"]), solver, tmp_path / "runs", OPTS, jobs=2)
    check_against_oracle(results, oracle_value(case, norm, norm))
    for r in results:
        rdir = tmp_path / "runs" / (r["instance"].split(".")[0] + f"__{solver}")
        assert (rdir / "result.json").exists() and (rdir / "run.sol").exists()
        assert r["solver_version"], r
        assert r["invocation"]["argv"][0]
        assert (r["solver"], r["solver_requested"]) == (solver, solver)
        if solver in ("highs", "cplex", "gurobi"):  # formats that list every variable: the checker sees it all
            assert r["check"]["ok"] and r["check"]["missing"] == 0, r["check"]


def test_scip_warm_start_and_reuse(tmp_path):
    net = tiny_network(6)
    generate(net, Box(*unit_box(2)), tmp_path / "inst", alpha="2", beta="2")
    inst = find_instances([tmp_path / "inst"])
    results = solve_all(inst, "scip", tmp_path / "runs", OPTS, warm_start=True)
    check_against_oracle(results, oracle_value(6, "2", "2"))
    log = (tmp_path / "runs" / (inst[0].name.split(".")[0] + "__scip") / "run.log").read_text()
    assert "start.mst" in log
    logs = {p: p.stat().st_mtime_ns for p in (tmp_path / "runs").glob("*/run.log")}
    again = solve_all(inst, "scip", tmp_path / "runs", OPTS, warm_start=True)
    assert all(r["reused"] for r in again)
    assert {p: p.stat().st_mtime_ns for p in logs} == logs  # nothing ran again
    assert [r["lipschitz"] for r in again] == [r["lipschitz"] for r in results]
    cold = solve_all(inst, "scip", tmp_path / "runs", OPTS, warm_start=False)  # other settings: redone
    assert not any(r["reused"] for r in cold)
    assert all(r["settings"]["warm_start"] is False for r in cold)
    forced = solve_all(inst, "scip", tmp_path / "runs", OPTS, force=True)
    assert not any(r["reused"] for r in forced)


def test_scip_through_a_real_executable_path(tmp_path):
    """--solver-path pointing at an executable file: the `scip` code path, end to end."""
    exe = tmp_path / "scip"
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} -m lipgen.solvers.scip_shell \"$@\"\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    net = tiny_network(3)
    generate(net, Box(*unit_box(4)), tmp_path / "inst", alpha="1", beta="1")
    results = solve_all(find_instances([tmp_path / "inst"]), "scip", tmp_path / "runs", OPTS, solver_path=str(exe))
    check_against_oracle(results, oracle_value(3, "1", "1"))
    assert results[0]["invocation"]["kind"] == "executable"


def test_run_main_job_json(tmp_path):
    path = tmp_path / "tiny.h5"
    save(path, tiny_network(0))
    # one solver at a time, the upper problem first: its solution proves L, so the strict one is never started
    r = run_cli("run", path, "--norm", "2", "--box", "-1,1", "--split", "never", "--jobs", "1", "--json", "-o",
                tmp_path / "work")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    for key in ("lower", "upper", "certified_lower", "gap", "status"):
        assert key in res
    exact = oracle_value(0, "2", "2")
    assert res["certified_lower"] <= exact * (1 + 1e-12) <= res["upper"] * (1 + 1e-7)
    assert res["upper"] == pytest.approx(exact, rel=REL) and res["best_lower"] == pytest.approx(exact, rel=REL)
    assert res["status"] in SOLVED and 0 <= res["gap"] < 1e-4
    assert res["problems"]["upper"]["status"] in SOLVED and res["problems"]["lower"]["status"] == "interrupted"
    assert res["lower"] is None and res["lower_source"] == "certified (upper problem)"
    assert res["reused"] is False and not any(p["reused"] for p in res["problems"].values())
    logs = {p: p.stat().st_mtime_ns for p in (tmp_path / "work" / "runs").glob("*/run.log")}
    assert len(logs) == 1
    r = run_cli("run", path, "--norm", "2", "--box", "-1,1", "--split", "never", "--jobs", "1", "-o",
                tmp_path / "work", "--json")  # reuses the upper run; the strict one is still not needed
    assert r.returncode == 0, r.stderr
    again = json.loads(r.stdout)
    assert again["reused"] is True and again["problems"]["upper"]["reused"]
    assert {p: p.stat().st_mtime_ns for p in logs} == logs
    assert (again["upper"], again["certified_lower"]) == (res["upper"], res["certified_lower"])
    r = run_cli("run", path, "--norm", "2", "--box", "-1,1", "--split", "never", "-o", tmp_path / "work")
    assert r.returncode == 0 and "lower bound (certified)" in r.stdout and "(reused)" in r.stdout


def test_pipeline_run_hooks_see_every_stage_and_run(tmp_path):
    """pipeline.run as the CLI drives it: its solve hook solves every batch, stage wraps generation and the tree,
    and the summary's runs are the runs the hook returned."""
    stages, batches = [], []

    def solve(instances, runs, jobs, judge=None):
        batches.append(sorted(p.name for p in instances))
        return pipeline.solve_found(instances, "scip", runs, OPTS, jobs=jobs, judge=judge)

    def stage(what):
        stages.append(what)
        return contextlib.nullcontext()

    net = tiny_network(1)
    s = pipeline.run(net, Box(*unit_box(net.n_inputs)), alpha="inf", beta="inf", opts=OPTS, workdir=tmp_path / "w",
                     split="never", solve=solve, stage=stage, log=lambda line: None)
    exact = oracle_value(1, "inf", "inf")
    assert s.ok and s.best_lower <= exact * (1 + 1e-12) and s.upper >= exact * (1 - 1e-9)
    assert [w.split(" ")[0] for w in stages] == ["generating", "splitting"]
    assert len(batches) == 1 and len(batches[0]) == 2  # both problems in one batch
    assert sorted(r.bound for r in s.runs) == ["lower", "upper"] and all(any(p is r for r in s.runs) for p in s.problems.values())


def harder_network():
    return random_network(7, 3, [16, 16], 1, name="harder")  # ~8 s to optimality, unfinished after 0.2 s


def test_time_limit_keeps_bounds_valid(tmp_path):
    net = harder_network()
    box = Box(*unit_box(3))
    generate(net, box, tmp_path / "inst", alpha="2", beta="2")
    inst = find_instances([tmp_path / "inst"])
    quick = solve_all(inst, "scip", tmp_path / "quick", SolveOptions(time_limit=0.2, threads=1, gap=0), jobs=2)
    full = solve_all(inst, "scip", tmp_path / "full", SolveOptions(threads=1, gap=1e-9), jobs=2)
    by_full = {r["bound"]: r["lipschitz"] for r in full}
    exact_hi, exact_lo = by_full["upper"]["upper"], by_full["lower"]["lower"]
    assert exact_lo == pytest.approx(exact_hi, rel=1e-5)
    assert "time_limit" in {r["status"] for r in quick}
    for r in quick:
        q = r["lipschitz"]
        assert r["status"] in ("time_limit", "optimal")
        if r["bound"] == "upper":
            assert q["upper"] is not None and q["upper"] >= exact_hi * (1 - 1e-6)
        if q["certified_lower"] is not None:
            assert q["certified_lower"] <= exact_hi * (1 + 1e-6)
        if r["status"] == "time_limit" and not q.get("incumbent_value"):
            assert q["lower"] is None and q["certified_lower"] is None


def test_killed_solver(tmp_path):
    exe = tmp_path / "sleepy"
    exe.write_text("#!/bin/sh\necho 'SCIP version 0 (fake)'\n[ \"$1\" = -v ] && exit 0\nsleep 60\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    generate(tiny_network(1), Box(*unit_box(2)), tmp_path / "inst", bounds=("upper",))
    res = solve_all(find_instances([tmp_path / "inst"]), "scip", tmp_path / "runs", SolveOptions(time_limit=0.5),
                    solver_path=str(exe), kill_grace=0.5)[0]
    assert res["status"] == "killed" and res["killed"]
    assert res["lipschitz"]["upper"] is None and "fake" in res["status_text"]


def test_infeasible_lower_problem_is_explained(tmp_path):
    net = tiny_network(1)
    generate(net, Box(*unit_box(2)), tmp_path / "inst", bounds=("lower",), eps=100.0)
    res = solve_all(find_instances([tmp_path / "inst"]), "scip", tmp_path / "runs", OPTS)[0]
    assert res["status"] == "infeasible"
    assert "eps" in res["status_text"] and res["lipschitz"]["lower"] is None


def test_license_limit_refusal(tmp_path):
    net = random_network(3, 4, [40, 40], 1, name="big")  # > 200 variables with the l2 ball
    generate(net, Box(*unit_box(4)), tmp_path / "inst", alpha="2", beta="2", bounds=("upper",))
    res = solve_all(find_instances([tmp_path / "inst"]), "gurobi", tmp_path / "runs", OPTS)[0]
    assert res["status"] == "license_limit", res
    assert "200" in res["status_text"] and res["lipschitz"]["upper"] is None
    r = run_cli("solve", tmp_path / "inst", "--solver", "gurobi", "-o", tmp_path / "runs2")
    assert r.returncode == 1 and "license" in r.stderr


def test_unsupported_and_bad_solver(tmp_path):
    generate(tiny_network(0), Box(*unit_box(2)), tmp_path / "inst", alpha="2", beta="2", bounds=("upper",))
    res = solve_all(find_instances([tmp_path / "inst"]), "cbc", tmp_path / "runs", OPTS)[0]
    assert res["status"] == "unsupported" and "linear" in res["status_text"]
    res = solve_all(find_instances([tmp_path / "inst"]), "highs", tmp_path / "runs", OPTS)[0]
    assert res["status"] == "unsupported" and "HiGHS takes no quadratic term" in res["status_text"]
    assert res["lipschitz"] is None and not (tmp_path / "runs" / (res["instance"][:-4] + "__highs")).exists()
    r = run_cli("solve", tmp_path / "inst", "--solver", "highs", "-o", tmp_path / "runs")
    assert r.returncode == 1 and "HiGHS takes no quadratic term" in r.stderr
    r = run_cli("solve", tmp_path / "inst", "--solver", "xpress", "-o", tmp_path / "runs")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    r = run_cli("solve", tmp_path / "nothing", "-o", tmp_path / "runs")
    assert r.returncode == 2 and "no such" in r.stderr


def test_parse_command_and_truncated_solution(tmp_path):
    net = tiny_network(2)
    generate(net, Box(*unit_box(3)), tmp_path / "inst", alpha="inf", beta="inf")
    inst = find_instances([tmp_path / "inst"])
    results = solve_all(inst, "scip", tmp_path / "runs", OPTS)
    exact = oracle_value(2, "inf", "inf")
    for r in results:
        rdir = tmp_path / "runs" / (r["instance"].split(".")[0] + "__scip")
        sidecar = tmp_path / "inst" / r["sidecar"]
        p = run_cli("parse", rdir / "run.sol", "--instance", sidecar, "--solver", "scip", "--log", rdir / "run.log",
                    "--json")
        assert p.returncode == 0, p.stderr
        q = json.loads(p.stdout)["lipschitz"]
        value = q["upper"] if r["bound"] == "upper" else q["lower"]
        assert value == pytest.approx(exact, rel=REL)
        text = (rdir / "run.sol").read_text()
        cut = tmp_path / f"cut_{r['bound']}.sol"
        cut.write_text(text[: len(text) // 2].rsplit("\n", 1)[0] + "\nx_0   0.12")
        p = run_cli("parse", cut, "--instance", sidecar, "--solver", "scip", "--json")
        assert p.returncode == 1, p.stderr  # no bound from a file cut short
        res = json.loads(p.stdout)
        assert res["status"] == "truncated_solution", res
        assert res["lipschitz"]["lower"] is None and res["lipschitz"]["certified_lower"] is None
        assert len(p.stderr.strip().splitlines()) == 1 and "cut short" in p.stderr


# ---------------------------------------------------------------------------------------------------- HiGHS
HARDER_LINF = 1.0659240647905055  # tests/oracle.py on harder_network(), l-inf: 876 regions, 32 s, so not redone here


@pytest.fixture(scope="module")
def harder_linf(tmp_path_factory):
    d = tmp_path_factory.mktemp("harder")
    generate(harder_network(), Box(*unit_box(3)), d / "inst", alpha="inf", beta="inf")
    return find_instances([d / "inst"])


def test_highs_time_and_gap_limits_keep_the_bounds_valid(harder_linf, tmp_path):
    full = solve_all(harder_linf, "highs", tmp_path / "full", SolveOptions(threads=1, gap=1e-9), jobs=2)
    check_against_oracle(full, HARDER_LINF)
    quick = solve_all(harder_linf, "highs", tmp_path / "quick", SolveOptions(time_limit=0.5, threads=1, gap=0), jobs=2)
    assert {r["status"] for r in quick} == {"time_limit"}, quick
    loose = solve_all(harder_linf, "highs", tmp_path / "loose", SolveOptions(threads=1, gap=0.5), jobs=2)
    assert {r["status"] for r in loose} == {"gap_limit"}, loose
    for r in quick + loose:
        q = r["lipschitz"]
        assert r["dual"] is not None and (r["primal"] is None or r["dual"] < r["primal"]), r
        if r["bound"] == "upper":  # HiGHS's dual bound (with the pruning its gap allowed): still above L
            assert HARDER_LINF <= q["upper"] <= -r["dual"] * (1 + 1e-5), r
        if q["certified_lower"] is not None:
            assert q["certified_lower"] <= HARDER_LINF * (1 + 1e-12)
        if r["check"] is not None:
            assert r["check"]["ok"], r["check"]
    # read back by hand without --gap: the log's tolerance (50%) stands in for it, not a default of 1e-4
    up = next(r for r in loose if r["bound"] == "upper")
    rdir, sidecar = Path(up["run_dir"]), harder_linf[0].parent / up["sidecar"]
    p = run_cli("parse", rdir / "run.sol", "--instance", sidecar, "--solver", "highs", "--log", rdir / "run.log",
                "--json")
    assert p.returncode == 0, p.stderr
    assert HARDER_LINF <= json.loads(p.stdout)["lipschitz"]["upper"] <= up["lipschitz"]["upper"] * (1 + 1e-2)


def test_highs_warm_start_real_executable_and_parse(tmp_path):

    net = tiny_network(7)
    generate(net, Box(*unit_box(net.n_inputs)), tmp_path / "inst", alpha="1", beta="1")
    inst = find_instances([tmp_path / "inst"])
    exe = real_highs(tmp_path / "bin")
    results = solve_all(inst, "highs", tmp_path / "runs", OPTS, warm_start=True, solver_path=str(exe))
    check_against_oracle(results, oracle_value(7, "1", "1"))
    for r in results:
        rdir = Path(r["run_dir"])
        assert r["invocation"]["kind"] == "executable" and r["invocation"]["argv"][0] == str(exe)
        log = (rdir / "run.log").read_text()
        assert f'Set option read_solution_file to "{rdir / "start.mst"}"' in log
        assert re.search(r"^MIP start solution is (feasible|infeasible)", log, re.M)
        assert r["check"]["ok"]
        p = run_cli("parse", rdir / "run.sol", "--instance", tmp_path / "inst" / r["sidecar"], "--solver", "highs",
                    "--log", rdir / "run.log", "--json")
        assert p.returncode == 0, p.stderr
        parsed = json.loads(p.stdout)
        assert (parsed["status"], parsed["primal"], parsed["check"]["ok"]) == (r["status"], r["primal"], True)
        p = run_cli("parse", rdir / "run.sol", "--instance", tmp_path / "inst" / r["sidecar"], "--solver", "scip")
        assert p.returncode == 2 and "a HiGHS solution file, not a SCIP one (use --solver highs)" in p.stderr
        p = run_cli("check", rdir / "run.sol", "--instance", tmp_path / "inst" / r["sidecar"], "--solver", "highs")
        assert p.returncode == 0, p.stderr


def test_solver_auto_picks_per_class_and_says_which_ran(net_file, tmp_path):
    net = tiny_network(0)
    for norm in ("1", "2"):  # a MILP and a convex MIQCP in one directory
        generate(net, Box(*unit_box(2)), tmp_path / "inst", alpha=norm, beta=norm)
    results = solve_all(find_instances([tmp_path / "inst"]), "auto", tmp_path / "runs", OPTS, jobs=2)
    ran = {(r["norms"]["input"], r["bound"]): r["solver"] for r in results}
    assert ran == {(n, b): AUTO_ORDER[0] for n in ("1", "2") for b in ("upper", "lower")}  # SCIP: measured best
    for r in results:
        assert r["solver_requested"] == "auto" and Path(r["run_dir"]).name.endswith("__" + r["solver"])
        stored = json.loads((Path(r["run_dir"]) / "result.json").read_text())
        assert stored["solver"] == r["solver"] and stored["settings"]["solver"] == r["solver"]
    # the runs of an explicit --solver are the same runs: reused
    again = solve_all(find_instances([tmp_path / "inst"]), "scip", tmp_path / "runs", OPTS)
    assert [r["reused"] for r in again] == [True] * 4
    path = net_file(net)
    r = run_cli("run", path, "--norm", "inf", "--box=-1,1", "--solver", "auto", "--json", "-o", tmp_path / "work")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert (res["solver"], res["solver_requested"]) == ("scip", "auto")
    assert {p["solver"] for p in res["problems"].values()} == {"scip"}
    assert res["upper"] == pytest.approx(oracle_value(0, "inf", "inf"), rel=REL)
    r = run_cli("solve", tmp_path / "inst", "--solver", "auto", "-o", tmp_path / "runs", "--json", "--time-limit", "120",
                "--gap", "1e-7")  # OPTS
    assert r.returncode == 0, r.stderr
    assert sorted((x["solver"], x["solver_requested"], x["reused"]) for x in json.loads(r.stdout)) == [
        ("scip", "auto", True)] * 4
    r = run_cli("solve", tmp_path / "inst", "--solver", "auto", "--solver-path", sys.executable, "-o", tmp_path / "x")
    assert r.returncode == 2 and "--solver auto may run several" in r.stderr and not (tmp_path / "x").exists()
