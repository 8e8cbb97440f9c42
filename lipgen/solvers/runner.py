"""Run one solver invocation as a subprocess with a hard wall-clock kill."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lipgen.atomic import write_text
from lipgen.errors import LipgenError


@dataclass
class RunOutcome:
    argv: list[str]
    returncode: int  # negative: killed by that signal (-9 after the hard kill)
    killed: bool  # True when the hard wall-clock kill fired
    wall_time: float  # seconds
    stdout_path: Path  # stdout and stderr of the solver process
    log_path: Path
    solution_path: Path


def default_grace(time_limit: float) -> float:
    """Time given beyond the solver's own limit before the hard kill (solvers overrun a little)."""
    return max(10.0, 0.1 * time_limit)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the session leader's pid is its group id
    except ProcessLookupError:
        pass
    proc.wait()


def run(invocation, workdir: str | os.PathLike, time_limit: float | None,
        kill_grace: float | None = None) -> RunOutcome:
    """Run `invocation.argv` in `workdir` (stdout+stderr to `invocation.stdout_path`).

    With a time limit, the whole process group is SIGKILLed after `time_limit + kill_grace` seconds.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for path, text in invocation.inputs.items():
        write_text(workdir / path, text)
    timeout = None
    if time_limit is not None:
        timeout = time_limit + (default_grace(time_limit) if kill_grace is None else kill_grace)
    start = time.monotonic()
    killed = False
    with open(workdir / invocation.stdout_path, "wb") as out:
        try:
            # a new session: the kill reaches the solver's children too, and ^C in our terminal does not
            proc = subprocess.Popen(invocation.argv, cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            raise LipgenError(f"cannot start solver '{invocation.argv[0]}': {exc.strerror or exc}") from None
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            killed = True
            _kill_group(proc)
        except BaseException:  # KeyboardInterrupt: never leave a solver running behind us
            _kill_group(proc)
            raise
    return RunOutcome(argv=list(invocation.argv), returncode=proc.returncode, killed=killed,
                      wall_time=time.monotonic() - start, stdout_path=workdir / invocation.stdout_path,
                      log_path=workdir / invocation.log_path, solution_path=workdir / invocation.solution_path)


def log_tail(path: str | os.PathLike, n: int = 20) -> str:
    """The last `n` lines of a (possibly huge or missing) log file."""
    if n <= 0:
        return ""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            chunk = 4096
            while True:  # read backwards until n whole lines are in hand
                start = max(0, size - chunk)
                fh.seek(start)
                data = fh.read()
                if start == 0 or data.count(b"\n") > n:
                    break
                chunk *= 4
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()
    if start > 0:
        lines = lines[1:]  # cut in the middle
    return "\n".join(lines[-n:])
