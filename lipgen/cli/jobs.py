"""`lipgen jobs`: an array job for SLURM, PBS or LSF."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Optional

import typer

from .. import pipeline
from .options import GapOpt, InstancesArg, SeedOpt, SolverDefaultsOpt, SolverOpt, TimeOpt, WarmOpt
from .render import err, out


def jobs(
    instances: list[Path] = InstancesArg,
    output: Path = typer.Option(..., "-o", "--output", help="Job folder: script, task list, logs/, settings/."),
    scheduler: str = typer.Option("slurm", "--scheduler", help="slurm (sbatch), pbs (qsub) or lsf (bsub)."),
    solver: str = SolverOpt,
    runs: Optional[Path] = typer.Option(None, "--runs", help="Where the tasks write their runs, as `lipgen solve "
                                                            "-o` [default: JOB_DIR/runs]."),
    time_limit: Optional[float] = TimeOpt,
    threads: int = typer.Option(1, "--threads", help="Threads per solver run (the CPUs each task asks for)."),
    gap: float = GapOpt,
    mem_limit: Optional[float] = typer.Option(None, "--mem-limit", "--mem", help="Memory limit per solver run, MB, "
                                              "as `lipgen solve --mem-limit` (the job asks for it plus a margin)."),
    seed: Optional[int] = SeedOpt,
    warm_start: bool = WarmOpt,
    solver_defaults: bool = SolverDefaultsOpt,
    solver_path: Optional[str] = typer.Option(None, "--solver-path", help="Solver executable on the compute nodes."),
    partition: Optional[str] = typer.Option(None, "--partition", help="Partition (SLURM) or queue (PBS, LSF)."),
    account: Optional[str] = typer.Option(None, "--account", help="Account (SLURM, PBS) or project (LSF)."),
    max_parallel: Optional[int] = typer.Option(None, "--max-parallel", help="Array tasks running at once."),
    array_chunk: int = typer.Option(1, "--array-chunk", help="Instances per array task (solved one after another)."),
    wall_time: Optional[str] = typer.Option(None, "--wall-time", help="Wall time per task (seconds, HH:MM:SS or "
                                                                     "D-HH:MM:SS) [default: from --time-limit]."),
    job_name: Optional[str] = typer.Option(None, "--job-name", help="Job name [default: lipgen-SOLVER]."),
    template: Optional[Path] = typer.Option(None, "--template", help="Your copy of templates/jobs/SCHEDULER.sh.j2 "
                                                                     "(site modules, extra directives)."),
    lipgen_command: Optional[str] = typer.Option(None, "--lipgen-command", help="How compute nodes start lipgen, "
                                                 "e.g. 'lipgen' [default: this Python with -m lipgen]."),
    only_unfinished: bool = typer.Option(False, "--only-unfinished", help="Leave out instances whose run in "
                                                                          "--runs is finished."),
    submit: bool = typer.Option(False, "--submit", help="Submit the array job and store its id in JOB_DIR/job_id."),
):
    """Write an array job (one task per instance, or --array-chunk per task) for SLURM, PBS or LSF.

    Each task runs `lipgen solve` on its lines of the task list into the runs folder; re-submitting redoes
    only unfinished runs. Collect the results with `lipgen collect`.
    """
    command_words = pipeline.lipgen_command_words(lipgen_command, solver_path)
    req = pipeline.JobRequest(instances=instances, job_dir=output, scheduler=scheduler, solver=solver, runs_dir=runs,
                              time_limit=time_limit, threads=threads, gap=gap, mem_limit=mem_limit, seed=seed,
                              warm_start=warm_start, solver_defaults=solver_defaults, solver_path=solver_path,
                              partition=partition, account=account, max_parallel=max_parallel, chunk=array_chunk,
                              wall_time=pipeline.parse_duration(wall_time) if wall_time else None,
                              job_name=job_name, template=template,
                              lipgen_command=command_words,
                              only_unfinished=only_unfinished)
    job = pipeline.make_job(req)
    v = job.variables
    memory = f"{v['job_mem_mb']} MB" if v["job_mem_mb"] else "the partition's default"
    out.print(f"{job.script}: {v['n_instances']} instance(s) in {v['n_tasks']} task(s), solver {solver}, wall time "
              f"{v['wall_hms'] or 'the partition default'}, memory {memory}", markup=False)
    out.print(f"task list {job.task_list}, runs into {job.runs_dir}", markup=False)
    for inst, why in job.skipped:
        err.print(f"left out {inst}: {why}", markup=False, soft_wrap=True)
    for note in job.notes:
        err.print(f"note: {note}", markup=False, soft_wrap=True)
    if submit:
        job_id = pipeline.submit_job(job)
        out.print(f"submitted job {job_id} (stored in {job.job_dir / 'job_id'})", markup=False)
    else:
        out.print(f"submit with: cd {shlex.quote(str(job.job_dir))} && "
                  f"{pipeline.get_scheduler(scheduler).manual_submit()}", markup=False)
