"""What differs between SLURM, PBS and LSF: the template, how to submit, how the job id comes back,
and the hard limits a job asks for.

Hard limits leave the solver room to stop by itself and write its files, as SCIP's cluster scripts do:
a solver that hits the scheduler's wall or memory limit is killed without a solution file.

- wall time per task = instances per task x (time limit + lipgen's kill grace + STARTUP_S), rounded up
  to a whole minute (the kill grace is max(10 s, 10 % of the time limit), see lipgen.solvers.runner);
- memory = solver memory limit + max(100 MB, 10 %) + LIPGEN_MEM_MB for lipgen's own Python process.
"""

from __future__ import annotations

import math
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lipgen.errors import LipgenError
from lipgen.solvers.runner import default_grace

STARTUP_S = 60  # lipgen's own start, reading the instance, certifying the answer
LIPGEN_MEM_MB = 300  # lipgen's Python process (numpy, scipy, h5py) beside the solver
MEM_MARGIN_MB = 100
MEM_MARGIN_FRACTION = 0.1


@dataclass(frozen=True)
class Scheduler:
    name: str
    script: str  # the job script's file name in the job folder
    submit_argv: tuple[str, ...]  # the script's name is appended, or fed on stdin
    script_on_stdin: bool  # LSF reads #BSUB lines only from a script given on stdin
    id_pattern: str  # the job id in the submit command's output
    manual: str  # how a person submits the script by hand, from the job folder
    query_argv: tuple[str, ...] = ()  # lists the job's tasks still queued or running (the job id is appended)
    active_pattern: str = r"\S"  # a line of the query's output that means a task is still queued or running

    @property
    def template(self) -> str:
        return f"jobs/{self.name}.sh.j2"

    def submit(self, job_dir: Path, timeout: float = 120) -> str:
        """Submit the job folder's script from the job folder (the scripts' log paths are relative to it)."""
        script = job_dir / self.script
        argv = list(self.submit_argv) + ([] if self.script_on_stdin else [self.script])
        try:
            with open(script, "rb") as stdin:
                proc = subprocess.run(argv, cwd=job_dir, stdin=stdin if self.script_on_stdin else subprocess.DEVNULL,
                                      capture_output=True, timeout=timeout)
        except FileNotFoundError:
            raise LipgenError(f"{argv[0]} not found: submit on a {self.name.upper()} login node, or there run "
                              f"`cd {job_dir} && {self.manual_submit()}`") from None
        except subprocess.TimeoutExpired:
            raise LipgenError(f"{argv[0]} did not answer within {timeout:.0f} s") from None
        out = proc.stdout.decode(errors="replace")
        err = proc.stderr.decode(errors="replace").strip()
        if proc.returncode != 0:
            last = err.splitlines()[-1] if err else f"exit code {proc.returncode}"
            raise LipgenError(f"{argv[0]} refused the job: {last}")
        found = re.search(self.id_pattern, out, re.MULTILINE)
        if not found:
            raise LipgenError(f"{argv[0]} gave no job id: {out.strip() or err}")
        return found.group(1)

    def manual_submit(self) -> str:
        return self.manual

    def active(self, job_id: str, timeout: float = 60) -> bool:
        """Whether any task of the job is still queued or running. A job the scheduler no longer knows has ended
        (SLURM forgets finished jobs after MinJobAge; `qstat` and `bjobs` fail on them)."""
        argv = [*self.query_argv, job_id]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except FileNotFoundError:
            raise LipgenError(f"{argv[0]} not found: wait for {self.name.upper()} jobs on a login node") from None
        except subprocess.TimeoutExpired:
            raise LipgenError(f"{argv[0]} did not answer within {timeout:.0f} s") from None
        if proc.returncode != 0:
            text = (proc.stderr + proc.stdout).lower()
            if any(w in text for w in ("invalid job id", "unknown job id", "is not found")):
                return False
            last = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
            raise LipgenError(f"{argv[0]} failed on job {job_id}: {last}")
        return re.search(self.active_pattern, proc.stdout, re.MULTILINE) is not None


SCHEDULERS = {
    "slurm": Scheduler("slurm", "job.slurm", ("sbatch", "--parsable"), False, r"^\s*(\d+)", "sbatch job.slurm",
                       ("squeue", "--noheader", "--format=%i", "--jobs")),
    # PBS Pro and Torque: `qstat -t` lists the array's subjobs; finished ones show state F (or are gone)
    "pbs": Scheduler("pbs", "job.pbs", ("qsub",), False, r"^\s*(\S+)", "qsub job.pbs", ("qstat", "-t"),
                     r"^\S+\s+\S+\s+\S+\s+\S+\s+[QRHWSEB]\b"),
    "lsf": Scheduler("lsf", "job.lsf", ("bsub",), True, r"Job <(\d+)>", "bsub < job.lsf",
                     ("bjobs", "-noheader", "-o", "stat"), r"^\s*(PEND|RUN|PSUSP|USUSP|SSUSP|WAIT|PROV)\b"),
}


def get_scheduler(name: str) -> Scheduler:
    if name not in SCHEDULERS:
        raise LipgenError(f"--scheduler {name!r} is not supported: use one of {', '.join(SCHEDULERS)}")
    return SCHEDULERS[name]


def kill_grace(time_limit: float) -> float:
    return default_grace(time_limit)


def wall_seconds(time_limit: float | None, per_task: int) -> int | None:
    """The wall time one task asks for, or None without a time limit (the partition's default applies)."""
    if time_limit is None:
        return None
    total = per_task * (time_limit + kill_grace(time_limit) + STARTUP_S)
    return 60 * math.ceil(total / 60)


def job_memory_mb(mem_limit: float | None) -> int | None:
    if mem_limit is None:
        return None
    return math.ceil(mem_limit + max(MEM_MARGIN_MB, MEM_MARGIN_FRACTION * mem_limit) + LIPGEN_MEM_MB)


def parse_duration(text: str) -> int:
    """Seconds from `90`, `45:00` (MM:SS), `2:00:00` (HH:MM:SS) or `1-12`, `1-12:30:00` (days-HH[:MM[:SS]])."""
    m = re.fullmatch(r"(?:(\d+)-)?(\d+(?::\d+){0,2})", text.strip())
    if not m:
        raise LipgenError(f"--wall-time {text!r}: use seconds, MM:SS, HH:MM:SS or D-HH:MM:SS")
    parts = [int(x) for x in m.group(2).split(":")]
    if m.group(1) is not None:  # days-hours[:minutes[:seconds]]
        h, mi, s = parts + [0] * (3 - len(parts))
        seconds = int(m.group(1)) * 86400 + h * 3600 + mi * 60 + s
    else:
        h, mi, s = [0] * (3 - len(parts)) + parts
        seconds = h * 3600 + mi * 60 + s
    if seconds <= 0:
        raise LipgenError(f"--wall-time {text!r} must be positive")
    return seconds


def wall_formats(seconds: int | None) -> dict:
    """The wall time as each scheduler spells it (None when there is none)."""
    if seconds is None:
        return {"wall_seconds": None, "wall_slurm": None, "wall_hms": None, "wall_hhmm": None}
    minutes = math.ceil(seconds / 60)
    d, rest = divmod(seconds, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return {"wall_seconds": seconds,
            "wall_slurm": f"{d}-{h:02d}:{m:02d}:{s:02d}",
            "wall_hms": f"{seconds // 3600}:{(seconds % 3600) // 60:02d}:{seconds % 60:02d}",
            "wall_hhmm": f"{minutes // 60}:{minutes % 60:02d}"}
