"""Array jobs for SLURM, PBS and LSF: a job folder with the script, the task list and solver settings files.

    JOB_DIR/job.slurm (job.pbs, job.lsf)   the array job script, rendered from templates/jobs/
    JOB_DIR/tasks.txt                      one instance per line; each task runs `lipgen solve` on its lines
    JOB_DIR/logs/                          the scheduler's output files (paths relative to JOB_DIR)
    JOB_DIR/settings/                      the solver's settings files with the job's limits (by hand runs)
    JOB_DIR/job.json                       what was rendered, with every template variable
    JOB_DIR/job_id                         the id of the last submission (--submit)

Every task solves into the same runs layout as a local `lipgen solve -o RUNS`, which reuses finished
runs, so re-submitting the array redoes only unfinished work.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lipgen import __version__, atomic
from lipgen.cluster import shell
from lipgen.cluster.schedulers import get_scheduler, job_memory_mb, wall_formats, wall_seconds
from lipgen.cluster.settings import SETTINGS_SOLVERS, write_settings_files
from lipgen.cluster.tasks import TASK_LIST, n_tasks, task_lines
from lipgen.cluster.templating import render
from lipgen.errors import LipgenError

JOB_JSON = "job.json"
JOB_ID = "job_id"
LOG_DIR = "logs"
SETTINGS_DIR = "settings"


@dataclass
class JobRequest:
    instances: list[str | Path]  # instance files or directories of them
    job_dir: str | Path
    scheduler: str = "slurm"
    solver: str = "scip"
    runs_dir: str | Path | None = None  # default JOB_DIR/runs
    time_limit: float | None = None  # seconds, per solver run
    threads: int = 1
    gap: float | None = 1e-6  # as `lipgen solve`
    mem_limit: float | None = None  # MB, per solver run
    seed: int | None = None
    warm_start: bool = True
    solver_defaults: bool = False  # ignore the solver parameters the sidecars recommend
    solver_path: str | None = None  # the solver on the compute nodes
    partition: str | None = None
    account: str | None = None
    max_parallel: int | None = None  # array tasks running at once
    chunk: int = 1  # instances per array task
    wall_time: int | None = None  # seconds; default from the time limit (schedulers.wall_seconds)
    job_name: str | None = None
    template: str | Path | None = None  # a user's copy of templates/jobs/<scheduler>.sh.j2
    lipgen_command: list[str] | None = None  # how nodes start lipgen; default this Python's `-m lipgen`
    only_unfinished: bool = False  # leave out instances whose run already has its result.json


@dataclass
class Job:
    job_dir: Path
    script: Path
    task_list: Path
    runs_dir: Path
    instances: list[Path]
    skipped: list[tuple[Path, str]]  # (instance, why it is not in the task list)
    settings: list[Path]
    variables: dict
    scheduler: str
    job_id: str | None = None
    notes: list[str] = field(default_factory=list)


def solve_argv(req: JobRequest, runs_dir: Path, lipgen_command: list[str]) -> list[str]:
    """`lipgen solve` with the job's options; the task's instances follow `--`."""
    argv = list(lipgen_command) + ["solve", "-o", os.path.abspath(runs_dir), "--solver", req.solver,
                                   "--threads", str(req.threads), "--jobs", "1"]
    for flag, value in (("--time-limit", req.time_limit), ("--gap", req.gap), ("--mem-limit", req.mem_limit),
                        ("--seed", req.seed), ("--solver-path", req.solver_path)):
        if value is not None:
            argv += [flag, _arg(value)]
    if not req.warm_start:
        argv.append("--no-warm-start")
    if req.solver_defaults:
        argv.append("--solver-defaults")
    return argv


def _arg(value) -> str:
    return repr(value) if isinstance(value, float) and not value.is_integer() else (
        str(int(value)) if isinstance(value, float) else str(value))


def _validate(req: JobRequest) -> None:
    from lipgen.solvers import SolveOptions
    from lipgen.solvers.backends import SOLVERS

    if req.solver not in SOLVERS:
        raise LipgenError(f"--solver {req.solver!r} is not supported: use one of {', '.join(SOLVERS)}")
    SolveOptions(time_limit=req.time_limit, threads=req.threads, gap=req.gap, mem_limit=req.mem_limit,
                 seed=req.seed).validate()
    if req.threads < 1:
        raise LipgenError(f"--threads must be at least 1, got {req.threads}")
    if req.max_parallel is not None and req.max_parallel < 1:
        raise LipgenError(f"--max-parallel must be at least 1, got {req.max_parallel}")
    if req.wall_time is not None and req.wall_time <= 0:
        raise LipgenError(f"--wall-time must be positive, got {req.wall_time}")
    if req.partition is not None:
        shell.identifier(req.partition, "--partition")
    if req.account is not None:
        shell.identifier(req.account, "--account")


def finished_here(req: JobRequest, rdir: Path, sidecar: dict) -> bool:
    """Whether `lipgen solve` on a node would reuse the run in `rdir` (same settings, a normal end). The solver's
    version is the one the run recorded: the nodes' solver cannot be asked from here."""
    from lipgen.solve import RESULT, effective_options, reusable, settings_record
    from lipgen.solvers import Executable, SolveOptions

    try:
        old = json.loads((rdir / RESULT).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    if not isinstance(old, dict):
        return False
    version = (old.get("settings") or {}).get("solver_version") or "unknown"
    nodes = Executable(req.solver, [req.solver_path or req.solver], "executable", "the nodes' solver", version)
    opts = SolveOptions(time_limit=req.time_limit, threads=req.threads, gap=req.gap, mem_limit=req.mem_limit,
                        seed=req.seed)
    opts = effective_options(opts, sidecar, req.solver, req.solver_defaults)
    return reusable(old, settings_record(req.solver, nodes, opts, req.warm_start, sidecar))


def _path_problem(req: JobRequest, inst: Path, rdir: Path) -> str | None:
    """Why the solver could not read this instance's path on a node (a quote for SCIP, a space for CPLEX), or None."""
    from lipgen.solvers import Executable, SolveOptions, get_backend

    nodes = Executable(req.solver, [req.solver_path or req.solver], "executable", "the nodes' solver", None)
    try:
        get_backend(req.solver).preflight(nodes, inst, rdir, SolveOptions(), req.warm_start)
    except LipgenError as exc:
        return str(exc)
    return None


def select_instances(req: JobRequest, runs_dir: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The instances the solver can take (and, with only_unfinished, that have no finished run)."""
    from lipgen.instance import load_sidecar, sidecar_for
    from lipgen.solve import find_instances, run_dir

    kept, skipped = [], []
    for inst in find_instances(list(req.instances)):
        sidecar = load_sidecar(sidecar_for(inst))
        verdict = sidecar.get("solvers", {}).get(req.solver) or {"ok": False, "why": "not in the sidecar"}
        if not verdict.get("ok", False):
            skipped.append((inst, f"{req.solver} cannot take it: {verdict.get('why', '')}"))
        elif req.solver == "cbc" and sidecar.get("gzip"):
            skipped.append((inst, "CBC cannot read gzipped files"))
        elif req.only_unfinished and finished_here(req, run_dir(runs_dir, inst, req.solver), sidecar):
            skipped.append((inst, "finished"))
        elif why := _path_problem(req, inst, run_dir(runs_dir, inst, req.solver)):
            skipped.append((inst, why))
        else:
            kept.append(inst)
    return kept, skipped


def make_job(req: JobRequest) -> Job:
    """Render and write the job folder (nothing is written when anything is wrong)."""
    from lipgen.paths import check_output_dir

    _validate(req)
    sched = get_scheduler(req.scheduler)
    job_dir = Path(req.job_dir)
    runs_dir = Path(req.runs_dir) if req.runs_dir is not None else job_dir / "runs"
    check_output_dir(job_dir)
    check_output_dir(runs_dir, "--runs")
    name = shell.job_name(req.job_name or f"lipgen-{req.solver}")
    instances, skipped = select_instances(req, runs_dir)
    if not instances:
        why = "; ".join(sorted({w for _, w in skipped})) or "none found"
        raise LipgenError(f"no instance left for {req.solver}: {why}")
    tasks = n_tasks(len(instances), req.chunk)
    lines = task_lines(instances)
    lipgen_command = req.lipgen_command or [sys.executable, "-m", "lipgen"]
    if not lipgen_command:
        raise LipgenError("--lipgen-command is empty")
    wall = req.wall_time if req.wall_time is not None else wall_seconds(req.time_limit, min(req.chunk, len(instances)))
    variables = {
        "scheduler": sched.name, "solver": req.solver, "job_name": name, "script_name": sched.script,
        "n_instances": len(instances), "n_tasks": tasks, "chunk": req.chunk, "max_parallel": req.max_parallel,
        "threads": req.threads, "time_limit": req.time_limit, "gap": req.gap, "mem_mb": req.mem_limit,
        "job_mem_mb": job_memory_mb(req.mem_limit), **wall_formats(wall),
        "partition": req.partition, "account": req.account,
        "job_dir": os.path.abspath(job_dir), "task_list": os.path.abspath(job_dir / TASK_LIST),
        "runs_dir": os.path.abspath(runs_dir), "log_dir": LOG_DIR,
        "settings_dir": os.path.abspath(job_dir / SETTINGS_DIR),
        "lipgen_command": shell.join(lipgen_command),
        "solve_command": shell.join(solve_argv(req, runs_dir, lipgen_command)),
        "lipgen_version": __version__,
    }
    text = render(sched.template, variables, req.template)
    settings = []
    if req.solver in SETTINGS_SOLVERS:  # rendered in full before the first write
        settings = write_settings_files(instances, solvers=[req.solver], outdir=job_dir / SETTINGS_DIR,
                                        time_limit=req.time_limit, threads=req.threads, gap=req.gap,
                                        mem_limit=req.mem_limit, seed=req.seed)
    script = job_dir / sched.script
    atomic.write_text(job_dir / TASK_LIST, lines)
    atomic.write_text(script, text)
    script.chmod(0o755)
    (job_dir / LOG_DIR).mkdir(exist_ok=True)
    runs_dir.mkdir(parents=True, exist_ok=True)
    job = Job(job_dir, script, job_dir / TASK_LIST, runs_dir, instances, skipped, settings, variables, sched.name)
    if req.time_limit is None and req.wall_time is None:
        job.notes.append("no --time-limit or --wall-time: the job asks for no wall time (the partition's default "
                         "applies, and may stop a solver before it writes its files)")
    atomic.write_json(job_dir / JOB_JSON, {
        "lipgen_version": __version__, "scheduler": sched.name, "script": sched.script, "task_list": TASK_LIST,
        "template": str(req.template) if req.template else sched.template,
        "instances": [str(p) for p in instances], "skipped": [{"instance": str(p), "why": w} for p, w in skipped],
        "settings": [str(p) for p in settings], "variables": variables})
    return job


def submit_job(job: Job) -> str:
    """Submit the job folder's script; store and return the job id."""
    job_id = get_scheduler(job.scheduler).submit(job.job_dir.resolve())
    atomic.write_text(job.job_dir / JOB_ID, job_id + "\n")
    job.job_id = job_id
    return job_id
