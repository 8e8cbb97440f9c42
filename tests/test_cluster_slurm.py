"""A real one-node SLURM: `lipgen jobs --submit` runs an array job, and `lipgen collect` on its runs equals a local run.

The fixture installs Debian's slurmctld, slurmd, slurm-client and munge when they are missing (root and apt-get
needed), writes a slurm.conf in a temporary folder, starts munged, slurmctld and slurmd there, and at the end
stops exactly the processes it started, by pid. Without root or apt the test is skipped with the reason, unless
LIPGEN_REQUIRE_SLURM=1 (set by .ci/run), where that is a failure: CI cannot skip it silently.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from helpers.networks import tiny_network, unit_box

from lipgen.domain import Box
from lipgen.instance import generate

pytestmark = pytest.mark.slurm  # a real SLURM, started as root

REQUIRED = os.environ.get("LIPGEN_REQUIRE_SLURM") == "1"
PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
PROGRAMS = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo"]
SBIN = os.pathsep.join(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])


def unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"LIPGEN_REQUIRE_SLURM=1 but the SLURM test cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


def which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=SBIN)


def tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no file)"


def ensure_installed() -> None:
    if all(which(p) for p in PROGRAMS):
        return
    if os.geteuid() != 0:
        unavailable("SLURM is not installed, and installing it needs root")
    if shutil.which("apt-get") is None:
        unavailable("SLURM is not installed, and there is no apt-get to install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", *PACKAGES]
    r = subprocess.run(install, capture_output=True, text=True, env=env, timeout=1200)
    if r.returncode != 0:  # cold package lists on a fresh machine
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, text=True, env=env, timeout=600)
        r = subprocess.run(install, capture_output=True, text=True, env=env, timeout=1200)
    if r.returncode != 0 or not all(which(p) for p in PROGRAMS):
        unavailable("apt-get could not install " + " ".join(PACKAGES) + ": " + (r.stderr or r.stdout)[-500:])


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_for(predicate, timeout: float, what: str, logs: list[Path]):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    pytest.fail(f"SLURM: {what} within {timeout:.0f} s\n" + "\n".join(f"--- {p}\n{tail(p)}" for p in logs),
                pytrace=False)


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class Cluster:
    """munged, slurmctld and slurmd of one node, all files under one temporary folder."""

    def __init__(self, root: Path):
        self.root = root
        self.conf = root / "slurm.conf"
        self.env = dict(os.environ, SLURM_CONF=str(self.conf))
        self.pids: dict[str, int] = {}

    def run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([which(argv[0]) or argv[0], *argv[1:]], capture_output=True, text=True,
                              env=self.env, timeout=timeout)

    def start(self) -> None:
        d = self.root
        d.chmod(0o755)  # munged wants its socket's folder searchable
        key = d / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        sock = d / "munge.sock"
        r = subprocess.run([which("munged"), "--force", f"--key-file={key}", f"--log-file={d / 'munged.log'}",
                            f"--seed-file={d / 'munged.seed'}", f"--pid-file={d / 'munged.pid'}",
                            f"--socket={sock}"], capture_output=True, text=True, timeout=60)
        self._started("munged", d / "munged.pid", r)
        host = socket.gethostname().split(".")[0]
        # declared above the real count (config_overrides): array tasks that mostly wait on process starts
        # overlap, which keeps the 200-task fault scenario within minutes on a 2-core machine
        cpus = max(8, len(os.sched_getaffinity(0)))
        mem_mb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal")) ) // 1024 * 9 // 10
        ctld_port, d_port = free_ports(2)  # not 6817/6818: another SLURM may run on this machine
        for sub in ("state", "spool"):
            (d / sub).mkdir()
        self.conf.write_text("\n".join([
            "ClusterName=lipgentest", f"SlurmctldHost={host}(127.0.0.1)", f"SlurmctldPort={ctld_port}",
            f"SlurmdPort={d_port}", "SlurmUser=root", "SlurmdUser=root", "AuthType=auth/munge",
            f"AuthInfo=socket={sock}", "CredType=cred/munge", "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none", "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core",
            f"StateSaveLocation={d / 'state'}", f"SlurmdSpoolDir={d / 'spool'}",
            f"SlurmctldPidFile={d / 'slurmctld.pid'}", f"SlurmdPidFile={d / 'slurmd.pid'}",
            f"SlurmctldLogFile={d / 'slurmctld.log'}", f"SlurmdLogFile={d / 'slurmd.log'}",
            "ReturnToService=2", "SlurmdParameters=config_overrides", "MpiDefault=none", "SwitchType=switch/none", "JobAcctGatherType=jobacct_gather/none",
            f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem_mb} State=UNKNOWN",
            f"PartitionName=main Nodes={host} Default=YES MaxTime=INFINITE State=UP", ""]))
        self._started("slurmctld", d / "slurmctld.pid", self.run("slurmctld", "-f", str(self.conf)))
        self._started("slurmd", d / "slurmd.pid", self.run("slurmd", "-f", str(self.conf)))
        wait_for(lambda: "idle" in self.run("sinfo", "-h", "-o", "%T").stdout, 60, "the node did not become idle",
                 [d / "slurmctld.log", d / "slurmd.log"])

    def _started(self, name: str, pid_file: Path, r: subprocess.CompletedProcess) -> None:
        if r.returncode != 0:
            pytest.fail(f"{name} did not start: {r.stderr or r.stdout}", pytrace=False)
        wait_for(lambda: read_pid(pid_file) is not None, 20, f"{name} wrote no pid file",
                 [self.root / f"{name}.log"])
        self.pids[name] = read_pid(pid_file)

    def stop(self) -> None:
        """Stop the daemons this fixture started (by their pids, newest first), nothing else."""
        for name in ("slurmd", "slurmctld", "munged"):
            pid = self.pids.get(name)
            if pid is None or not _is(pid, name):
                continue
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while _is(pid, name) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _is(pid, name):
                os.kill(pid, signal.SIGKILL)


def _is(pid: int, name: str) -> bool:
    """The process `pid` is still alive and still the program we started (pids get reused)."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        state = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                     if line.startswith("State:"))
    except (OSError, StopIteration):
        return False
    return comm == name[:15] and "zombie" not in state


@pytest.fixture(scope="module")
def slurm():
    if os.geteuid() != 0:
        unavailable("a one-node SLURM needs root (slurmd runs as root)")
    ensure_installed()
    root = Path(tempfile.mkdtemp(prefix="lipgen-slurm-"))
    cluster = Cluster(root)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def lipgen(*args, env=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lipgen", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def wait_job(cluster: Cluster, job_id: str, timeout: float = 600) -> None:
    wait_for(lambda: cluster.run("squeue", "-h", "-j", job_id).stdout.strip() == "", timeout,
             f"job {job_id} did not finish", [cluster.root / "slurmctld.log", cluster.root / "slurmd.log"])


def comparable(report: Path) -> tuple[list[dict], str]:
    data = json.loads((report / "results.json").read_text())
    keys = ("group", "solver", "status", "statuses", "upper", "lower", "certified_lower", "best_lower", "gap")
    return [{k: r[k] for k in keys} for r in data["rows"]], (report / "results.solu").read_text()


def test_slurm_array_job_matches_a_local_run(slurm, tmp_path):
    base = tmp_path / "clu ster 'q' $HOME"
    inst = base / "instances `x`"
    generate(tiny_network(1), Box(*unit_box(2)), inst, alpha="inf", beta="inf")
    generate(tiny_network(2), Box(*unit_box(3)), inst, alpha="2", beta="2")
    job = base / 'job "dq" $x'
    runs = base / "runs 'a' $y"
    r = lipgen("jobs", inst, "--scheduler", "slurm", "--solver", "scip", "-o", job, "--runs", runs, "--time-limit",
               "120", "--mem", "1000", "--array-chunk", "2", "--max-parallel", "2", "--partition", "main",
               "--submit", env=slurm.env)
    assert r.returncode == 0, r.stdout + r.stderr
    job_id = (job / "job_id").read_text().strip()
    assert job_id.isdigit() and f"submitted job {job_id}" in r.stdout
    wait_job(slurm, job_id)
    logs = sorted(p.name for p in (job / "logs").iterdir())
    assert logs == [f"lipgen-scip-{job_id}_1.out", f"lipgen-scip-{job_id}_2.out"], logs
    for log in (job / "logs").iterdir():
        assert "lipgen task" in log.read_text(), log.read_text()
    results = sorted(runs.glob("*/result.json"))
    assert len(results) == 4, [tail(p) for p in (job / "logs").iterdir()]

    local = lipgen("solve", inst, "-o", base / "local runs", "--solver", "scip", "--time-limit", "120",
                   "--mem-limit", "1000")
    assert local.returncode == 0, local.stderr
    for name, folder in (("cluster", runs), ("local", base / "local runs")):
        c = lipgen("collect", folder, "-o", base / f"report {name}")
        assert c.returncode == 0, c.stderr
    cluster_rows, cluster_solu = comparable(base / "report cluster")
    local_rows, local_solu = comparable(base / "report local")
    assert len(cluster_rows) == 2 and all(r["status"] == "solved" for r in cluster_rows)
    for a, b in zip(cluster_rows, local_rows):
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == (pytest.approx(b[k], rel=1e-9) if isinstance(a[k], float) else b[k]), (k, a, b)
    assert cluster_solu == local_solu and cluster_solu.count("=opt=") == 4

    # re-submitted: every task finds its runs finished and redoes nothing
    stamps = {p: p.stat().st_mtime_ns for p in results}
    again = lipgen("jobs", inst, "--solver", "scip", "-o", job, "--runs", runs, "--time-limit", "120", "--mem",
                   "1000", "--array-chunk", "2", "--submit", env=slurm.env)
    assert again.returncode == 0, again.stderr
    second = (job / "job_id").read_text().strip()
    assert second != job_id
    wait_job(slurm, second)
    assert {p: p.stat().st_mtime_ns for p in results} == stamps
    assert all("reused" in (job / "logs" / f"lipgen-scip-{second}_{t}.out").read_text() for t in (1, 2))


# --- cluster-scale faults (issue 18) ---------------------------------------------------------------------------
N_FAST_DOMAINS, N_SLOW_DOMAINS = 98, 2  # x (upper, lower) = 200 instances, one array task each
SLOW_SECONDS = 40  # how long a slow instance's first solver start sleeps: time to kill or requeue its task
CANCELLED = (150, 151, 152, 153, 154, 155)  # array indices cancelled while still pending


def _make_instances(inst: Path) -> list[Path]:
    """200 tiny MILPs: the slow network's four come first in the task list (its name sorts first)."""
    import numpy as np

    from helpers.networks import random_network

    for name, count in (("aslow", N_SLOW_DOMAINS), ("fast", N_FAST_DOMAINS)):
        net = random_network(3, 2, [4], 1, name=name)
        for k in range(count):
            generate(net, Box(np.array([-1.0, -1.0]), np.array([1.0 + k / 64, 1.0])), inst, alpha="inf", beta="inf")
    return sorted(inst.glob("*.mps"))


def _wrapper(path: Path, marks: Path) -> Path:
    """A solver executable that, for an `aslow` instance, sleeps on its first start only, then runs the real SCIP
    shell: the tasks to kill are asleep in a known place, and their reruns are quick."""
    scip = Path(sys.executable).parent / "lipgen-scip"
    path.write_text(f"""#!/bin/bash
case "$*" in
  *aslow__*)
    name=$(printf '%s' "$*" | grep -o 'aslow__[A-Za-z0-9_.-]*' | head -1)
    if mkdir {shlex.quote(str(marks))}/"$name" 2>/dev/null; then sleep {SLOW_SECONDS}; fi ;;
esac
exec {shlex.quote(str(scip))} "$@"
""")
    path.chmod(0o755)
    return path


def _pids_with(*pieces: str) -> list[int]:
    """Live processes whose command line holds every piece."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next(x for x in Path(f"/proc/{entry}/status").read_text().splitlines() if x.startswith("State:"))
        except (OSError, StopIteration):
            continue
        if all(p in cmd for p in pieces) and "zombie" not in state:
            found.append(int(entry))
    return sorted(found)


def _wait_pids(what: str, *pieces: str, timeout: float = 120) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = _pids_with(*pieces)
        if pids:
            return pids
        time.sleep(0.3)
    pytest.fail(f"no process {what} within {timeout:.0f} s", pytrace=False)


def test_slurm_faults_resubmission_gives_one_result_per_instance(slurm, tmp_path):
    from lipgen.parsers import parse as parse_files
    from lipgen.parsers.verify import log_problem

    start = time.monotonic()
    inst, job, runs = tmp_path / "inst", tmp_path / "job", tmp_path / "runs"
    instances = _make_instances(inst)
    assert len(instances) == 200 and all(p.name.startswith("aslow") for p in instances[:4])
    marks = tmp_path / "marks"
    marks.mkdir()
    solver = _wrapper(tmp_path / "slow-scip", marks)
    args = ["jobs", inst, "--solver", "scip", "--solver-path", solver, "-o", job, "--runs", runs,
            "--time-limit", "60", "--array-chunk", "1", "--partition", "main"]
    r = lipgen(*args, "--submit", env=slurm.env)
    assert r.returncode == 0, r.stdout + r.stderr
    job_id = (job / "job_id").read_text().strip()
    lines = (job / "tasks.txt").read_text().splitlines()
    assert len(lines) == 200
    for index in CANCELLED:  # still pending: the node runs a few tasks at a time
        c = slurm.run("scancel", f"{job_id}_{index}")
        assert c.returncode == 0, c.stderr

    def instance_of(task: int) -> str:
        return lines[task - 1]

    # task 1: SIGKILL of the solver (asleep in the wrapper); task 2: SIGKILL of the task's lipgen
    def solver_of(task: int) -> list[int]:  # the wrapper, asleep: its command line names run.log, lipgen's does not
        return _wait_pids(f"solving task {task}", str(solver), "run.log", Path(instance_of(task)).name)

    os.kill(solver_of(1)[0], signal.SIGKILL)
    solver_of(2)
    lipgen_pids = [p for p in _pids_with("-m lipgen solve", instance_of(2)) if p not in _pids_with("run.log")]
    assert len(lipgen_pids) == 1, lipgen_pids
    os.kill(lipgen_pids[0], signal.SIGKILL)
    # task 3: requeued by the scheduler while its solver sleeps
    solver_of(3)
    q = slurm.run("scontrol", "requeue", f"{job_id}_3")
    assert q.returncode == 0, q.stderr
    wait_job(slurm, job_id, timeout=900)

    def result_of(line: str) -> Path:
        from lipgen.run.batch import run_dir

        return run_dir(runs, Path(line), "scip") / "result.json"

    def finished(line: str) -> bool:
        try:
            return json.loads(result_of(line).read_text())["status"] == "optimal"
        except (OSError, ValueError, KeyError):
            return False

    done_first = {line for line in lines if finished(line)}
    missing = set(lines) - done_first
    assert {instance_of(t) for t in (1, 2, *CANCELLED)} <= missing, sorted(missing)
    assert len(missing) <= len(CANCELLED) + 3, sorted(missing)  # task 3's rerun may have finished it
    assert not result_of(instance_of(2)).exists()  # killed with its lipgen: no result at all
    crashed = json.loads(result_of(instance_of(1)).read_text())
    assert crashed["status"] != "optimal" and crashed["returncode"] != 0
    stamps = {line: result_of(line).stat().st_mtime_ns for line in done_first}

    # resubmit what is missing: the new task list names exactly the unfinished instances
    r = lipgen(*args, "--only-unfinished", "--submit", env=slurm.env)
    assert r.returncode == 0, r.stdout + r.stderr
    second = (job / "job_id").read_text().strip()
    assert second != job_id
    assert set((job / "tasks.txt").read_text().splitlines()) == missing
    wait_job(slurm, second, timeout=600)

    # every instance: exactly one run directory, its result optimal; nothing finished was redone
    run_dirs = sorted(p.parent for p in runs.glob("*/result.json"))
    assert len(run_dirs) == 200 and all(finished(line) for line in lines), \
        [line for line in lines if not finished(line)]
    assert {line: result_of(line).stat().st_mtime_ns for line in done_first} == stamps
    # no run mixes two runs: its solution and its log are of its instance and give the numbers it records
    for line in lines:
        rdir = result_of(line).parent
        result = json.loads(result_of(line).read_text())
        record = parse_files("scip", rdir / "run.sol", rdir / "run.log")
        assert record.primal == pytest.approx(result["primal"], rel=1e-12, abs=1e-12), rdir
        assert record.dual == pytest.approx(result["dual"], rel=1e-12, abs=1e-12), rdir
        assert log_problem(rdir / "run.log", "scip", Path(line).name) is None, rdir
        assert result["instance"] == Path(line).name and result["instance_verified"] is True
    # collect counts each instance once
    c = lipgen("collect", runs, "-o", tmp_path / "report")
    assert c.returncode == 0, c.stderr
    assert "refused" not in c.stderr and "runs of" not in c.stderr, c.stderr
    report = json.loads((tmp_path / "report" / "results.json").read_text())
    assert len(report["rows"]) == 100 and all(row["status"] == "solved" for row in report["rows"])
    solu = (tmp_path / "report" / "results.solu").read_text().splitlines()
    names = [entry.split()[1] for entry in solu]
    assert len(names) == 200 == len(set(names)) and all(entry.startswith("=opt=") for entry in solu)
    print(f"fault scenario: {time.monotonic() - start:.0f} s")


# --- split rounds as array jobs (issue 21) ---------------------------------------------------------------------
def test_split_leaf_rounds_run_as_array_jobs(slurm, tmp_path):
    """`lipgen split --scheduler slurm`: each round of leaf MIPs is one array job, waited for with squeue; a job
    cancelled while its solver runs is submitted again, its leaf is counted once, and the result brackets L."""
    from helpers.networks import oracle_value, tiny_network

    from lipgen.io import save

    save(tmp_path / "net.h5", tiny_network(2))  # 3 inputs: one leaf per round, several rounds
    exact = oracle_value(2, "inf", "inf")
    marks = tmp_path / "marks"
    marks.mkdir()
    wrapper = tmp_path / "scip-slow-once"
    wrapper.write_text(f"""#!/bin/bash
if mkdir {shlex.quote(str(marks))}/first 2>/dev/null; then sleep 60; fi
exec {shlex.quote(str(Path(sys.executable).parent / "lipgen-scip"))} "$@"
""")
    wrapper.chmod(0o755)
    work = tmp_path / "split"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lipgen", "split", str(tmp_path / "net.h5"), "--box=-1,1", "--norm", "inf",
         "--branching", "input", "--exact-max", "0", "--gap", "1e-4", "--leaf-solver", "scip", "--leaves", "1",
         "--leaf-time", "20", "--round-nodes", "2", "--time-limit", "300", "--scheduler", "slurm",
         "--partition", "main", "--solver-path", str(wrapper), "-o", str(work), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=slurm.env)
    try:
        first = work / "leaves" / "jobs" / "round-0001-1" / "job_id"
        wait_for(lambda: (marks / "first").exists() and first.is_file(), 120, "the first leaf did not start",
                 [slurm.root / "slurmctld.log"])
        cancelled = first.read_text().strip()
        assert slurm.run("scancel", cancelled).returncode == 0
        out, errs = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, errs
    s = json.loads(out)
    t = s["split"]
    assert s["upper"] >= exact * (1 - 1e-9) and s["best_lower"] <= exact * (1 + 1e-12)
    assert s["upper"] == pytest.approx(exact, rel=1e-4)
    rounds = t["leaf_rounds"]
    assert len(rounds) >= 2 and all(r["scheduler"] == "slurm" and r["missing"] == 0 for r in rounds)
    assert len(rounds[0]["jobs"]) == 2 and rounds[0]["jobs"][0] == cancelled  # submitted again once
    assert all(len(r["jobs"]) == 1 for r in rounds[1:])
    leaves = sorted((work / "leaves").glob("leaf-*"))
    results = sorted((work / "leaves" / "runs").glob("*/result.json"))
    assert len(results) == len(leaves) == sum(r["leaves"] for r in rounds)
    assert t["leaves_solved"] + t["leaves_tightened"] == len(leaves)  # each leaf's result applied once
    assert all(not r["refused"] for r in rounds)
