"""`lipgen jobs`: array scripts for SLURM, PBS and LSF rendered from the shipped templates, checked with
`bash -n`, run by bash as a scheduler would start a task, with names full of spaces, quotes and `$`."""

from __future__ import annotations

import json
import os
import shutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.cli import run_cli
from helpers.networks import tiny_network, unit_box

from lipgen.cluster.schedulers import job_memory_mb, parse_duration, wall_formats, wall_seconds
from lipgen.templating import template_dir
from lipgen.domain import Box
from lipgen.errors import LipgenError
from lipgen.instance import generate
from lipgen.instance import find_instances

pytestmark = pytest.mark.slow  # dozens of `lipgen` subprocesses

# what a shell must not expand or split: spaces, both quotes, $, backticks, a glob
WEIRD_DIR = "in st 'sq' $HOME `id` *"
WEIRD_JOB = 'jo b "dq" \'sq\' $HOME `id` ;'
INDEX_VAR = {"slurm": "SLURM_ARRAY_TASK_ID", "pbs": "PBS_ARRAY_INDEX", "lsf": "LSB_JOBINDEX"}
README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def inst_dir(tmp_path_factory) -> Path:
    """Six tiny instances: three networks, upper and lower problems; CPLEX cannot take tiny4's l2 ones."""
    base = tmp_path_factory.mktemp("jobs") / WEIRD_DIR
    generate(tiny_network(1), Box(*unit_box(2)), base, alpha="inf", beta="inf")
    generate(tiny_network(3), Box(*unit_box(4)), base, alpha="1", beta="1")
    generate(tiny_network(4), Box(*unit_box(2)), base, alpha="2", beta="2")  # 3 outputs: nonconvex MIQCQP
    return base


def args_of(script: Path, scheduler: str, task: int) -> list[str]:
    """Run a task of a script made with `--lipgen-command "printf '%s\\n'"`: each argument comes back on a line."""
    env = dict(os.environ, **{INDEX_VAR[scheduler]: str(task)})
    r = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    return lines[lines.index("solve"):] if "solve" in lines else lines


@pytest.mark.parametrize("scheduler", ["slurm", "pbs", "lsf"])
def test_script_renders_parses_and_passes_every_path_intact(scheduler, inst_dir, tmp_path):
    job = tmp_path / WEIRD_JOB
    runs = tmp_path / "ru ns $x 'y'"
    r = run_cli("jobs", inst_dir, "--scheduler", scheduler, "--solver", "gurobi", "-o", job, "--runs", runs,
                "--time-limit", "600", "--mem", "2000", "--threads", "2", "--array-chunk", "4", "--max-parallel", "2",
                "--partition", "main", "--account", "proj-1", "--solver-path", "/opt/my solver's/gurobi_cl",
                "--lipgen-command", "printf '%s\\n'")
    assert r.returncode == 0, r.stderr
    script = job / f"job.{scheduler}"
    assert os.access(script, os.X_OK)
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    # 6 instances, 4 per task: 2 tasks; wall = 4 x (600 + 60 grace + 60 start) = 48 min; memory 2000 + 200 + 300
    expected = {
        "slurm": ["#SBATCH --array=1-2%2", "#SBATCH --time=0-00:48:00", "#SBATCH --mem=2500M",
                  "#SBATCH --cpus-per-task=2", "#SBATCH --partition=main", "#SBATCH --account=proj-1",
                  "#SBATCH --output=logs/%x-%A_%a.out"],
        "pbs": ["#PBS -J 1-2%2", "#PBS -l walltime=0:48:00", "#PBS -l select=1:ncpus=2:mem=2500mb", "#PBS -q main",
                "#PBS -A proj-1"],
        "lsf": ['#BSUB -J "lipgen-gurobi[1-2]%2"', "#BSUB -W 0:48", "#BSUB -M 2500MB", "#BSUB -n 2", "#BSUB -q main",
                "#BSUB -P proj-1"],
    }[scheduler]
    for line in expected:
        assert line in text.splitlines(), (line, text)
    lines = (job / "tasks.txt").read_text().splitlines()
    assert lines == [os.path.abspath(p) for p in find_instances([inst_dir])]
    first, second = args_of(script, scheduler, 1), args_of(script, scheduler, 2)
    head = ["solve", "-o", str(runs), "--solver", "gurobi", "--threads", "2", "--jobs", "1", "--time-limit", "600",
            "--gap", "1e-06", "--mem-limit", "2000", "--solver-path", "/opt/my solver's/gurobi_cl", "--"]
    assert first == head + lines[:4]
    assert second == head + lines[4:]
    beyond = subprocess.run(["bash", str(script)], capture_output=True, text=True,
                            env=dict(os.environ, **{INDEX_VAR[scheduler]: "3"}))
    assert beyond.returncode == 0 and "no instance" in beyond.stdout
    if scheduler != "pbs":  # a PBS script also runs as a plain job (task 1)
        unset = subprocess.run(["bash", str(script)], capture_output=True, text=True,
                               env={k: v for k, v in os.environ.items() if k != INDEX_VAR[scheduler]})
        assert unset.returncode != 0 and INDEX_VAR[scheduler] in unset.stderr
    meta = json.loads((job / "job.json").read_text())
    assert meta["variables"]["n_tasks"] == 2 and meta["scheduler"] == scheduler
    settings = sorted(p.name for p in (job / "settings").iterdir())
    assert len(settings) == 6 and all(s.endswith(".gurobi.prm") for s in settings)
    assert "TimeLimit  600" in (job / "settings" / settings[0]).read_text()


def test_a_task_really_solves_into_the_runs_layout(inst_dir, tmp_path):
    """The rendered SLURM script, started by bash as slurmd would, runs lipgen and SCIP on quoted paths."""
    job = tmp_path / WEIRD_JOB
    runs = tmp_path / 'ru ns "dq" $x'
    only = sorted(inst_dir.glob("tiny1__*.mps"))
    r = run_cli("jobs", *only, "--solver", "scip", "-o", job, "--runs", runs, "--time-limit", "60")
    assert r.returncode == 0, r.stderr
    env = dict(os.environ, SLURM_ARRAY_TASK_ID="2")
    p = subprocess.run(["bash", str(job / "job.slurm")], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    done = json.loads((runs / (only[1].name.removesuffix(".mps") + "__scip") / "result.json").read_text())
    assert done["status"] == "optimal" and done["instance_path"] == str(only[1].resolve())
    assert not (runs / (only[0].name.removesuffix(".mps") + "__scip")).exists()
    again = subprocess.run(["bash", str(job / "job.slurm")], capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0 and "reused" in again.stdout  # re-submitted: nothing redone


def test_margins_and_durations():
    assert wall_seconds(None, 3) is None
    assert wall_seconds(600, 1) == 720  # 600 + max(10, 60) + 60
    assert wall_seconds(5, 2) == 180  # 2 x (5 + 10 + 60) = 150 s, rounded up to whole minutes
    assert job_memory_mb(None) is None
    assert job_memory_mb(500) == 500 + 100 + 300 and job_memory_mb(4000) == 4000 + 400 + 300
    assert [parse_duration(t) for t in ("90", "45:00", "2:00:00", "1-12", "1-00:30:00")] == [
        90, 2700, 7200, 129600, 88200]
    for bad in ("", "1h", "0", "-5", "1:2:3:4"):
        with pytest.raises(LipgenError):
            parse_duration(bad)
    assert wall_formats(90061) == {"wall_seconds": 90061, "wall_slurm": "1-01:01:01", "wall_hms": "25:01:01",
                                   "wall_hhmm": "25:02"}


def test_chunks_wall_time_override_and_no_time_limit(inst_dir, tmp_path):
    r = run_cli("jobs", inst_dir, "-o", tmp_path / "j", "--array-chunk", "5", "--wall-time", "1-00:00:00")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "j" / "job.slurm").read_text()
    assert "#SBATCH --array=1-2\n" in text and "#SBATCH --time=1-00:00:00" in text and "--mem" not in text
    r = run_cli("jobs", inst_dir, "-o", tmp_path / "k")
    assert r.returncode == 0 and "--time" not in (tmp_path / "k" / "job.slurm").read_text()
    assert "no --time-limit" in r.stderr
    before = {f: (tmp_path / "k" / f).read_bytes() for f in ("job.slurm", "tasks.txt", "job.json")}
    assert run_cli("jobs", inst_dir, "-o", tmp_path / "k").returncode == 0
    assert before == {f: (tmp_path / "k" / f).read_bytes() for f in before}  # deterministic re-run


def test_instances_a_solver_cannot_take_are_left_out(inst_dir, tmp_path):
    r = run_cli("jobs", inst_dir, "--solver", "cplex", "-o", tmp_path / "spaced")
    assert r.returncode == 2 and "CPLEX cannot read a path containing spaces" in r.stderr  # the nodes could not
    assert not (tmp_path / "spaced").exists()
    plain = tmp_path / "plain"
    shutil.copytree(inst_dir, plain)
    r = run_cli("jobs", plain, "--solver", "cplex", "-o", tmp_path / "j")
    assert r.returncode == 0, r.stderr
    assert len((tmp_path / "j" / "tasks.txt").read_text().splitlines()) == 4
    assert r.stderr.count("left out") == 2 and "cplex cannot take it" in r.stderr
    l2 = sorted(plain.glob("tiny4__*.mps"))
    r = run_cli("jobs", *l2, "--solver", "cplex", "-o", tmp_path / "none")
    assert r.returncode == 2 and r.stderr.startswith("lipgen: error: no instance left for cplex")
    assert not (tmp_path / "none").exists()


def test_only_unfinished(inst_dir, tmp_path):
    first = sorted(inst_dir.glob("tiny1__*.mps"))[0]
    assert run_cli("solve", first, "-o", tmp_path / "runs").returncode == 0
    r = run_cli("jobs", inst_dir, "-o", tmp_path / "j", "--runs", tmp_path / "runs", "--only-unfinished")
    assert r.returncode == 0, r.stderr
    lines = (tmp_path / "j" / "tasks.txt").read_text().splitlines()
    assert len(lines) == 5 and str(first) not in lines and "finished" in r.stderr


@pytest.mark.parametrize("args,message", [
    (["--partition", "a b"], "--partition 'a b' is not a plain name"),
    (["--account", "x;rm"], "--account"),
    (["--job-name", "9lives"], "--job-name"),
    (["--scheduler", "condor"], "--scheduler 'condor' is not supported"),
    (["--solver", "xpress"], "--solver 'xpress' is not supported"),
    (["--array-chunk", "0"], "--array-chunk must be at least 1"),
    (["--max-parallel", "0"], "--max-parallel must be at least 1"),
    (["--time-limit", "-3"], "invalid time limit"),
    (["--wall-time", "soon"], "--wall-time 'soon'"),
])
def test_bad_options_write_nothing(args, message, inst_dir, tmp_path):
    r = run_cli("jobs", inst_dir, "-o", tmp_path / "j", *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("lipgen: error: ") and message in r.stderr and len(r.stderr.splitlines()) == 1
    assert not (tmp_path / "j").exists()


def test_user_template(inst_dir, tmp_path):
    mine = tmp_path / "site" / "slurm.sh.j2"
    mine.parent.mkdir()
    shipped = (template_dir() / "jobs" / "slurm.sh.j2").read_text()
    mine.write_text(shipped.replace("#SBATCH --ntasks=1\n", "#SBATCH --ntasks=1\n#SBATCH --constraint=avx2\n")
                    .replace("set -u\n", "set -u\nmodule load scip/9 2>/dev/null || true\n"))
    r = run_cli("jobs", inst_dir, "-o", tmp_path / "j", "--template", mine, "--time-limit", "60")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "j" / "job.slurm").read_text()
    assert "#SBATCH --constraint=avx2" in text and "module load scip/9" in text
    assert subprocess.run(["bash", "-n", str(tmp_path / "j" / "job.slurm")]).returncode == 0
    broken = tmp_path / "site" / "broken.sh.j2"
    broken.write_text("#!/bin/bash\n#SBATCH --qos={{ qos }}\n")
    r = run_cli("jobs", inst_dir, "-o", tmp_path / "b", "--template", broken)
    assert r.returncode == 2 and "'qos' is undefined" in r.stderr and not (tmp_path / "b").exists()
    bad = tmp_path / "site" / "bad.sh.j2"
    bad.write_text("#!/bin/bash\n{% if %}\n")
    r = run_cli("jobs", inst_dir, "-o", tmp_path / "c", "--template", bad)
    assert r.returncode == 2 and "line 2" in r.stderr
    r = run_cli("jobs", inst_dir, "-o", tmp_path / "d", "--template", tmp_path / "missing.j2")
    assert r.returncode == 2 and "no such file" in r.stderr


def test_submit_without_the_scheduler_says_how(inst_dir, tmp_path):
    env = dict(os.environ, PATH=str(tmp_path / "empty"))
    r = subprocess.run([sys.executable, "-m", "lipgen", "jobs", str(inst_dir), "--scheduler", "pbs", "-o",
                        str(tmp_path / "j"), "--submit"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2 and "qsub not found" in r.stderr and "qsub job.pbs" in r.stderr
    assert not (tmp_path / "j" / "job_id").exists()


def test_readme_documents_every_template_variable(inst_dir, tmp_path):
    assert run_cli("jobs", inst_dir, "-o", tmp_path / "j").returncode == 0
    variables = json.loads((tmp_path / "j" / "job.json").read_text())["variables"]
    readme = README.read_text()
    section = readme[readme.index("### Template variables"):]
    for name in variables:
        assert re.search(rf"`{name}`", section), f"README does not document the template variable {name}"


@pytest.mark.parametrize("name,stdout,code,stderr,active", [
    ("slurm", "123_1\n123_2\n", 0, "", True),
    ("slurm", "", 0, "", False),
    ("slurm", "", 1, "slurm_load_jobs error: Invalid job id specified", False),
    ("pbs", "Job id            Name             User              Time Use S Queue\n"
            "----------------  ---------------- ----------------  -------- - -----\n"
            "12[1].srv         lipgen-leaves-1  me                00:00:01 R main\n", 0, "", True),
    ("pbs", "12[1].srv         lipgen-leaves-1  me                00:00:09 F main\n", 0, "", False),
    ("pbs", "", 153, "qstat: Unknown Job Id 12[].srv", False),
    ("lsf", "DONE\nPEND\n", 0, "", True),
    ("lsf", "DONE\nEXIT\n", 0, "", False),
    ("lsf", "", 255, "Job <12> is not found", False),
])
def test_scheduler_query_reads_whether_tasks_remain(monkeypatch, name, stdout, code, stderr, active):
    """The query commands' outputs as SLURM, PBS and LSF print them: queued or running tasks keep a job active; a
    job the scheduler has forgotten has ended; any other failure is an error, not an ended job."""
    import subprocess

    from lipgen.cluster.schedulers import get_scheduler

    seen = []

    def fake(argv, **kw):
        seen.append(argv)
        return subprocess.CompletedProcess(argv, code, stdout, stderr)

    monkeypatch.setattr(subprocess, "run", fake)
    assert get_scheduler(name).active("12") is active
    assert seen[0][-1] == "12"


def test_scheduler_query_failure_is_an_error(monkeypatch):
    import subprocess

    from lipgen.cluster.schedulers import get_scheduler
    from lipgen.errors import LipgenError

    monkeypatch.setattr(subprocess, "run", lambda argv, **kw: subprocess.CompletedProcess(
        argv, 1, "", "squeue: error: Unable to contact slurm controller (connect failure)"))
    with pytest.raises(LipgenError, match="connect failure"):
        get_scheduler("slurm").active("12")
