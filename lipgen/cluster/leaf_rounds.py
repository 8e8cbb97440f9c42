"""Rounds of a split tree's leaf MIPs as array jobs (issue 21): one job per round through `make_job`, waited for
with the scheduler's own query, its results read from the runs folder.

A leaf whose task never ended by itself (cancelled, its node lost, killed by the scheduler) is submitted again with the
round's unfinished leaves only (`only_unfinished`), up to `resubmits` times; a finished leaf is never solved twice,
and each leaf's result is read once, so nothing is counted twice. Job folders sort by round and attempt:
`leaves/jobs/round-0001-1`, `round-0001-2`, ...
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from lipgen import shell
from lipgen.cluster.jobs import JobRequest, make_job, select_instances, submit_job
from lipgen.cluster.schedulers import get_scheduler
from lipgen.errors import LipgenError
from lipgen.run.batch import RESULT, ended_by_itself, run_dir

JOBS = "jobs"


@dataclass(frozen=True)
class ClusterOptions:
    """Where and how the leaf rounds run: the scheduler, its partition and account, tasks at once, how often to
    ask the scheduler, and how many times a round's unfinished leaves are submitted again."""

    scheduler: str = "slurm"
    partition: str | None = None
    account: str | None = None
    max_parallel: int | None = None
    poll_seconds: float = 2.0
    resubmits: int = 2
    lipgen_command: list[str] | None = None

    def check(self) -> None:
        get_scheduler(self.scheduler)
        if not 0 <= self.resubmits <= 100:
            raise LipgenError(f"--resubmits {self.resubmits}: give a count from 0 to 100")
        if not 0 < self.poll_seconds <= 3600:
            raise LipgenError(f"poll interval {self.poll_seconds}: give seconds, more than 0 and at most 3600")
        if self.max_parallel is not None and self.max_parallel < 1:
            raise LipgenError(f"--max-parallel must be at least 1, got {self.max_parallel}")
        if self.partition is not None:
            shell.identifier(self.partition, "--partition")
        if self.account is not None:
            shell.identifier(self.account, "--account")


@dataclass
class ArrayRound:
    """The jobs one round submitted (ids in order) and how many leaves were left without a result."""

    jobs: list[str] = field(default_factory=list)
    missing: int = 0


def _read_result(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def wait_for_job(scheduler: str, job_id: str, poll_seconds: float) -> None:
    """Until no task of the job is queued or running."""
    sched = get_scheduler(scheduler)
    while sched.active(job_id):
        time.sleep(poll_seconds)


def array_round_solver(workdir: Path, solver: str, cfg: ClusterOptions, *, solver_path: str | None = None):
    """A `solve(paths, runs_dir, time_limit) -> list[dict]` for lipgen.run.split_leaves that runs each round as an
    array job; `solve.rounds` lists what each round submitted."""
    rounds: list[ArrayRound] = []
    job_root = Path(workdir) / JOBS

    def solve(paths: list[Path], runs_dir: Path, time_limit: float) -> list[dict]:
        record = ArrayRound()
        rounds.append(record)
        number = 1 + sum(1 for _ in job_root.glob("round-*-1")) if job_root.is_dir() else 1
        results: list[dict] = [{} for _ in paths]
        for attempt in range(1, cfg.resubmits + 2):
            req = JobRequest(instances=list(paths), job_dir=job_root / f"round-{number:04d}-{attempt}",
                             scheduler=cfg.scheduler, solver=solver, runs_dir=runs_dir, time_limit=time_limit,
                             solver_path=solver_path, partition=cfg.partition, account=cfg.account,
                             max_parallel=cfg.max_parallel, job_name=f"lipgen-leaves-{number}",
                             lipgen_command=cfg.lipgen_command, only_unfinished=True)
            if not select_instances(req, Path(runs_dir))[0]:
                break  # every leaf of the round has its result already (a resumed round)
            job_id = submit_job(make_job(req))
            record.jobs.append(job_id)
            wait_for_job(cfg.scheduler, job_id, cfg.poll_seconds)
            results = [_read_result(run_dir(runs_dir, p, solver) / RESULT) for p in paths]
            if all(map(ended_by_itself, results)):
                break
        record.missing = sum(1 for r in results if not ended_by_itself(r))
        return results  # a leaf whose run was cut short keeps what it proved (its dual bound is still valid)

    solve.rounds = rounds  # type: ignore[attr-defined]
    return solve
