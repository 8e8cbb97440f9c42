"""Runs that survive faults (issue 9), done the way users do them: real `lipgen` processes, real signals sent
to the PIDs the test started, two lipgens on one directory, re-runs after a kill, reuse with changed options,
and `lipgen parse` on bad files. Timing assertions allow seconds: the machine may be loaded."""

from __future__ import annotations

import json
import re
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers.cli import run_cli
from helpers.networks import random_network, tiny_network, unit_box

from lipgen.domain import Box
from lipgen.network import Network
from lipgen.instance import generate
from lipgen.io import save

pytestmark = pytest.mark.solver  # every test here runs a solver

SAMPLES = Path(__file__).parent / "data" / "solver-samples"
STOPPED_WITHIN = 4.0  # seconds from the signal until the solvers are gone (1-2 s expected, the rest is slack)


# -- processes, as /proc shows them -------------------------------------------------------------------------
def _procs() -> dict[int, tuple[int, int, str]]:
    """pid -> (ppid, process group, state) for every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(") ", 1)[1].split()
            except (OSError, IndexError):
                continue
            table[int(entry)] = (int(fields[1]), int(fields[2]), fields[0])
    return table


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def solvers_of(pid: int) -> list[int]:
    """The solver processes (command lines naming run.log) whose parent is `pid`."""
    return sorted(p for p, (ppid, _, state) in _procs().items()
                  if ppid == pid and state not in "ZX" and b"run.log" in _cmdline(p))


def alive(pid: int) -> bool:
    return pid in (p for p, (_, _, state) in _procs().items() if state not in "ZX")


def group_alive(pgid: int) -> bool:
    return any(group == pgid and state not in "ZX" for _, group, state in _procs().values())


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def start_cli(*args, cwd=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lipgen", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd)


def running_solvers(p: subprocess.Popen, n: int, timeout: float = 60) -> list[int]:
    def enough():
        if p.poll() is not None:
            raise AssertionError(f"lipgen ended early ({p.returncode}): {p.stderr.read()}")
        found = solvers_of(p.pid)
        return found if len(found) >= n else None
    return wait_until(enough, timeout, f"{n} solver processes")


@pytest.fixture
def reaper():
    """Pids a test saw started on its behalf; any still alive at the end are killed (by their id)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


# -- instances that keep SCIP busy for minutes (3-32-32-1, l2 norm), and tiny ones ----------------------------
def slow_network():
    return random_network(5, 3, [32, 32], 1, name="slow")


@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    d = tmp_path_factory.mktemp("slow")
    net = slow_network()
    save(d / "slow.h5", net)
    generate(net, Box(*unit_box(3)), d / "inst", alpha="2", beta="2")
    return d


def registered(runs: Path) -> list[int]:
    """Solver pids recorded in the run directories' lock files."""
    pids = []
    for lock in runs.glob("*/.lock"):
        try:
            pid = json.loads(lock.read_text() or "{}").get("solver_pid")
        except (OSError, ValueError):
            continue
        if pid:
            pids.append(pid)
    return pids


def read_results(runs: Path) -> dict[str, dict]:
    return {json.loads(p.read_text())["bound"]: json.loads(p.read_text()) for p in runs.glob("*/result.json")}


# -- 3. and 1.: SIGINT / SIGTERM stop every solver; the interrupted runs are redone --------------------------
def test_sigint_and_sigterm_stop_the_solvers_and_the_runs_are_redone(slow, tmp_path, reaper):
    # no time limit and no split tree first (the tree proves this net in seconds): minutes of MIP work
    args = ("run", slow / "slow.h5", "--box=-1,1", "--split", "never", "-o", tmp_path / "work")
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        p = start_cli(*args)
        solvers = running_solvers(p, 2)  # on the second round: not reused, solved again
        reaper += solvers
        # lipgen has registered both (it records the solver's pid in the run's lock after registering it)
        wait_until(lambda: len(registered(tmp_path / "work" / "runs")) == 2, 30, "both runs to be registered")
        sent = time.monotonic()
        p.send_signal(sig)
        wait_until(lambda: not any(group_alive(s) for s in solvers), STOPPED_WITHIN + 2,  # noqa: B023 (called here)
                   "the solvers to stop")
        assert time.monotonic() - sent < STOPPED_WITHIN
        out, err = p.communicate(timeout=30)
        assert p.returncode == code, err
        name = signal.Signals(sig).name
        assert err.splitlines() == [err.strip()] and err.startswith(f"lipgen: interrupted by {name}"), err
        assert "stopped 2 solver runs" in err and out == ""
        results = read_results(tmp_path / "work" / "runs")
        assert {r["status"] for r in results.values()} == {"interrupted"}
        assert {r["stopped_by"] for r in results.values()} == {name}
        assert all(r["lipschitz"] is None for r in results.values())


# -- 4.: SIGKILL of lipgen: its solvers die with it; a re-run cleans up what escaped ------------------------------
def test_sigkill_of_lipgen_takes_its_solvers_along(slow, tmp_path, reaper):
    p = start_cli("solve", slow / "inst", "-o", tmp_path / "runs", "-j", "2")
    solvers = running_solvers(p, 2)
    reaper += solvers
    p.kill()
    p.communicate(timeout=30)
    wait_until(lambda: not any(alive(s) for s in solvers), 5, "the solvers of a SIGKILLed lipgen to die")


def test_rerun_after_sigkill_kills_leftovers_and_redoes_the_run(slow, tmp_path, reaper):
    # A wrapper script that does not `exec`: its child escapes the parent-death signal, as with many site scripts.
    wrapper = tmp_path / "scip-wrapper"
    wrapper.write_text(f'#!/bin/sh\n"{sys.executable}" -m lipgen.solvers.scip_shell "$@"\n')
    wrapper.chmod(0o755)
    inst = slow / "inst" / "slow__L2__box-419fe162__upper__bigm.mps"
    assert inst.exists()
    runs = tmp_path / "runs"
    p = start_cli("solve", inst, "-o", runs, "--solver-path", wrapper)
    shell = running_solvers(p, 1)[0]
    inner = wait_until(lambda: solvers_of(shell), 30, "the wrapper's solver")[0]
    reaper += [shell, inner]
    p.kill()
    p.communicate(timeout=30)
    wait_until(lambda: not alive(shell), 5, "the wrapper to die with lipgen")
    assert alive(inner)  # escaped: only a re-run can find it (its environment names the run directory)
    r = run_cli("solve", inst, "-o", runs, "--solver-path", wrapper, "--time-limit", "1", "--json")
    assert r.returncode == 0, r.stderr
    assert not alive(inner)
    res = json.loads(r.stdout)[0]
    assert res["leftovers_killed"] == [inner] and res["status"] == "time_limit" and not res["reused"]
    assert f"pid {inner}" in r.stderr


# -- 5.: two lipgens on one directory: the second skips (or waits for) the first's runs ---------------------------
def test_concurrent_solves_do_not_destroy_each_other(slow, tmp_path, reaper):
    runs = tmp_path / "runs"
    common = ("solve", slow / "inst", "-o", runs, "--time-limit", "6", "--json")
    first = start_cli(*common, "-j", "2")
    reaper += running_solvers(first, 2)
    second = run_cli(*common)
    assert second.returncode == 1
    assert [r["status"] for r in json.loads(second.stdout)] == ["locked", "locked"]
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 2 and all(f"lipgen pid {first.pid} is working on" in x and "--wait" in x for x in lines)
    waiting = start_cli(*common, "--wait")
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    mine = json.loads(out)
    assert [r["status"] for r in mine] == ["time_limit", "time_limit"] and not any(r["reused"] for r in mine)
    for r in mine:  # the second lipgen left the first's files alone
        assert {"run.sol", "run.log", "result.json"} <= {p.name for p in Path(r["run_dir"]).iterdir()}
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    theirs = json.loads(out)
    assert all(r["reused"] for r in theirs)
    assert [r["lipschitz"] for r in theirs] == [r["lipschitz"] for r in mine]


# -- 1. and 2.: reuse only normal ends with the same settings --------------------------------------------------
def test_reuse_needs_the_same_settings(tmp_path):
    generate(tiny_network(5), Box(*unit_box(3)), tmp_path / "inst", alpha="2", beta="2", bounds=("lower",))
    runs = tmp_path / "runs"

    def solve(*extra):
        r = run_cli("solve", tmp_path / "inst", "-o", runs, "--json", "--time-limit", "30", *extra)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)[0]

    first = solve()
    assert not first["reused"] and first["status"] in ("optimal", "gap_limit")
    assert first["settings"]["time_limit"] == 30 and first["settings"]["solver_version"]
    log = Path(first["run_dir"]) / "run.log"
    stamp = log.stat().st_mtime_ns
    again = solve()
    assert again["reused"] and log.stat().st_mtime_ns == stamp
    assert again["lipschitz"] == first["lipschitz"]
    for extra in (["--time-limit", "60"], ["--gap", "1e-4"], ["--seed", "3"], ["--threads", "2"], ["--warm-start"]):
        assert not solve(*extra)["reused"], extra
    table = run_cli("solve", tmp_path / "inst", "-o", runs, "--time-limit", "30", "--warm-start")
    assert table.returncode == 0 and "reused" in table.stdout  # the latest settings are reused in turn
    # a failed run is not kept: it is redone
    result = Path(first["run_dir"]) / "result.json"
    result.write_text(json.dumps(dict(json.loads(result.read_text()), status="missing_solution")))
    assert not solve("--warm-start")["reused"]
    # and so is the run of an instance that changed under the same name (another eps)
    generate(tiny_network(5), Box(*unit_box(3)), tmp_path / "inst", alpha="2", beta="2", bounds=("lower",), eps=1e-3)
    res = solve("--warm-start")
    assert not res["reused"] and res["instance_sha256"] != first["instance_sha256"]


def test_a_killed_run_is_redone(tmp_path):
    fake = tmp_path / "sleepy"
    fake.write_text("#!/bin/sh\necho 'SCIP version 0 (fake)'\n[ \"$1\" = -v ] && exit 0\nsleep 60\n")
    fake.chmod(0o755)
    generate(tiny_network(1), Box(*unit_box(2)), tmp_path / "inst", bounds=("upper",))
    from lipgen.instance import find_instances
    from lipgen.run.batch import solve_all
    from lipgen.solvers import SolveOptions

    def once():
        return solve_all(find_instances([tmp_path / "inst"]), "scip", tmp_path / "runs", SolveOptions(time_limit=0.5),
                         solver_path=str(fake), kill_grace=0.5)[0]

    first = once()
    assert first["status"] == "killed" and not first["reused"]
    second = once()
    assert second["status"] == "killed" and not second["reused"]


# -- 6.: exit codes of `lipgen parse` ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    d = tmp_path_factory.mktemp("solved")
    generate(tiny_network(2), Box(*unit_box(3)), d / "inst", alpha="inf", beta="inf", bounds=("upper",))
    r = run_cli("solve", d / "inst", "-o", d / "runs", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)[0]
    return Path(res["run_dir"]), d / "inst" / res["sidecar"]


@pytest.mark.parametrize("case,solver,code,says", [
    ("good", "scip", 0, None),
    ("truncated", "scip", 1, "cut short"),
    ("empty", "scip", 1, "empty file"),
    ("foreign", "scip", 2, "not a SCIP solution file"),
    ("instance", "scip", 2, "not a SCIP solution file"),
    ("gurobi", "scip", 2, "a Gurobi solution file, not a SCIP one (use --solver gurobi)"),
    ("cplex", "cbc", 2, "a CPLEX solution file, not a CBC one"),
    ("scip", "gurobi", 2, "a SCIP solution file, not a Gurobi one"),
    ("wrong log", "scip", 2, "a Gurobi log, not a SCIP one"),
])
def test_parse_exit_codes(solved, tmp_path, case, solver, code, says):
    rdir, sidecar = solved
    sol, log = rdir / "run.sol", None
    text = sol.read_text()
    files = {"truncated": text[: len(text) // 2], "empty": "", "foreign": "hello, this is not a solution\n"}
    if case in files:
        sol = tmp_path / "x.sol"
        sol.write_text(files[case])
    elif case == "instance":
        sol = sidecar.with_suffix(".mps")
    elif case in ("gurobi", "cplex"):
        sol = SAMPLES / case / "A.sol"
    elif case == "wrong log":
        log = SAMPLES / "gurobi" / "A.log"
    args = ["parse", sol, "--instance", sidecar, "--solver", solver] + (["--log", log] if log else [])
    r = run_cli(*args)
    assert r.returncode == code, (r.stdout, r.stderr)
    if says:
        assert len(r.stderr.strip().splitlines()) == 1 and says in r.stderr, r.stderr
    if code == 2:
        assert r.stderr.startswith("lipgen: error: ") and r.stdout == ""


# -- 7. and 8.: every option checked before anything is written; an output path that is a file ---------------------
@pytest.mark.parametrize("option,says", [
    (["--time-limit", "-1"], "--time-limit -1"),
    (["--threads", "0"], "--threads 0"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--gap", "-1"], "--gap -1"),
    (["--solver", "glpk"], "--solver 'glpk' is not supported"),
    (["--solver-path", "/nonexistent"], "'/nonexistent' is not an executable file"),
])
def test_run_checks_options_before_writing(net_file, tmp_path, option, says):
    work = tmp_path / "work"
    r = run_cli("run", net_file(tiny_network(0)), "--box=-1,1", "-o", work, *option)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("lipgen: error: ") and len(r.stderr.splitlines()) == 1 and says in r.stderr, r.stderr
    assert not work.exists()


def test_output_path_that_is_a_file(net_file, tmp_path):
    weights = net_file(tiny_network(0))
    generate(tiny_network(0), Box(*unit_box(2)), tmp_path / "inst", bounds=("upper",))
    a_file = tmp_path / "some.h5"
    a_file.write_text("not a directory")
    for args in (("solve", tmp_path / "inst", "-o", a_file), ("solve", tmp_path / "inst", "-o", a_file / "runs"),
                 ("run", weights, "--box=-1,1", "-o", a_file), ("generate", weights, "--box=-1,1", "-o", a_file)):
        r = run_cli(*args)
        assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, (args, r.stderr)
        assert r.stderr.startswith("lipgen: error: ") and "is a file, not a directory" in r.stderr
    assert a_file.read_text() == "not a directory"


# -- 9.: two networks with the same name in one instance directory --------------------------------------------
def test_two_networks_with_one_name_are_refused(tmp_path):
    for sub, case in (("a", 0), ("b", 6)):  # both 2 inputs, other weights
        (tmp_path / sub).mkdir()
        save(tmp_path / sub / "net.h5", tiny_network(case))
    r = run_cli("generate", tmp_path / "a" / "net.h5", "--box=-1,1", "-o", tmp_path / "inst")
    assert r.returncode == 0, r.stderr
    before = {p: p.read_bytes() for p in (tmp_path / "inst").rglob("*") if p.is_file()}
    r = run_cli("generate", tmp_path / "b" / "net.h5", "--box=-1,1", "-o", tmp_path / "inst")
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
    assert str(tmp_path / "a" / "net.h5") in r.stderr and str(tmp_path / "b" / "net.h5") in r.stderr
    assert {p: p.read_bytes() for p in (tmp_path / "inst").rglob("*") if p.is_file()} == before
    r = run_cli("generate", tmp_path / "a" / "net.h5", "--box=-1,1", "--norm", "1", "-o", tmp_path / "inst")
    assert r.returncode == 0, r.stderr  # the same network again is fine


# -- 10.: cosmetics ----------------------------------------------------------------------------------------------
def test_no_negative_zero_and_labelled_run_json(net_file, tmp_path):
    net = tiny_network(1)
    net.weights[-1][:] = 0.0  # a constant network: L = 0, the objective's -0 must not show
    weights = net_file(net, name="flat")
    r = run_cli("run", weights, "--box=-1,1", "--split", "never", "-o", tmp_path / "work", "--json")
    assert r.returncode == 0, r.stderr
    assert "-0.0" not in r.stdout
    res = json.loads(r.stdout)
    assert res["upper"] == 0 and res["gap"] == 0
    assert res["eps"] > 0 and res["solver_version"] and res["reused"] is False
    assert res["domain_bounds"] == {"kind": "box", "lower": [-1.0, -1.0], "upper": [1.0, 1.0]}
    r = run_cli("run", weights, "--box=-1,1", "--split", "never", "-o", tmp_path / "work")
    assert r.returncode == 0 and not re.search(r"(^|[\s│])-0(\.0*)?([\s│]|$)", r.stdout) and "(reused)" in r.stdout


def test_run_status_names_each_problem(net_file, tmp_path):
    # z1 = x_0 and z2 = -x_0: the pattern (1, 1) has J = (2, 0) on the line x_0 = 0 only, where the non-strict
    # problem finds its optimum 2 and nothing certifies it (L = 1): the bounds stay apart, the strict problem runs
    net = Network([np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([[1.0, -1.0]])], [np.zeros(2), np.zeros(1)],
                  name="wide")
    # a margin far larger than the box: the strict problem is infeasible, the upper problem is not
    r = run_cli("run", net_file(net), "--box=-1,1", "--split", "never", "-o", tmp_path / "work", "--eps", "100",
                "--no-eps-ladder", "--json")
    assert r.returncode == 0, r.stderr  # the upper problem's certified point still gives a lower bound
    res = json.loads(r.stdout)
    assert res["upper"] is not None and res["best_lower"] is not None
    assert res["status"] == f"upper: {res['problems']['upper']['status']}, lower: infeasible"
    assert "lower problem: infeasible" in r.stderr


def test_inspect_numbers_layers_from_one(net_file):
    r = run_cli("inspect", net_file(tiny_network(1)), "--box=-1,1", "--json")
    assert [layer["index"] for layer in json.loads(r.stdout)["layers"]] == [1, 2, 3]
    r = run_cli("inspect", net_file(tiny_network(1)), "--box=-1,1")
    assert "box box-" not in r.stdout and "Domain (box from --box, tag box-" in r.stdout


def test_gap_noise_is_zero():
    from lipgen.cli.render import fmt_num
    from lipgen.pipeline import clean_gap

    assert clean_gap(-3.8e-16) == 0 and clean_gap(0.25) == 0.25 and clean_gap(None) is None
    assert clean_gap(-0.5) == -0.5  # a real contradiction stays visible
    assert fmt_num(-0.0) == "0"


# -- 11.: live progress on a terminal ------------------------------------------------------------------------------
def test_progress_shows_bounds_while_solving(slow, tmp_path):
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "lipgen", "solve", str(slow / "inst"), "-o", str(tmp_path / "runs"),
                          "-j", "2", "--time-limit", "3"], stdout=subprocess.DEVNULL, stderr=slave,
                         stdin=subprocess.DEVNULL, env=dict(os.environ, COLUMNS="200", TERM="xterm"))
    os.close(slave)
    screen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 1 << 16)
            except OSError:  # the terminal's other end is closed
                break
            if not data:
                break
            screen += data
        elif p.poll() is not None:
            break
    os.close(master)
    assert p.wait(timeout=60) == 0
    text = screen.decode(errors="replace")
    assert "solving with scip: 0/2 done" in text
    assert "(best bound), incumbent" in text and "(incumbent), best bound" in text and " gap " in text


def test_two_instances_for_one_run_directory_are_refused(tmp_path):
    from lipgen.errors import LipgenError
    from lipgen.instance import find_instances
    from lipgen.run.batch import solve_all
    from lipgen.solvers import SolveOptions

    for sub, fmt in (("a", "mps"), ("b", "lp")):  # the same stem twice: one run directory
        generate(tiny_network(5), Box(*unit_box(3)), tmp_path / sub, bounds=("upper",), fmt=fmt)
    found = find_instances([tmp_path / "a", tmp_path / "a", tmp_path / "b"])
    assert len(found) == 2  # a file named twice counts once
    with pytest.raises(LipgenError, match="would share the run directory"):
        solve_all(found, "scip", tmp_path / "runs", SolveOptions())
    assert not (tmp_path / "runs").exists()
