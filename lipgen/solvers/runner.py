"""Solver processes: started in their own process group, killed with it, and never outliving lipgen.

Every solver process group this process starts is registered until it is reaped, so an interrupt can
stop them all at once (`stop_all`). On Linux each solver also gets a parent-death signal: if lipgen
dies, even by SIGKILL, the kernel kills the solver. Its environment carries `LIPGEN_RUN=<run dir>`, so
a later lipgen can find and end leftovers that escaped (a wrapper script's children; `kill_leftovers`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from lipgen.atomic import write_text
from lipgen.errors import LipgenError

RUN_ENV = "LIPGEN_RUN"  # marks a solver's environment with its run directory
POLL = 0.1  # seconds between checks of a running solver


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


# -- dying with the parent ------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def _load_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


_prctl = _load_prctl()  # resolved before any fork: the child must not load libraries


def _die_with_parent_hook():
    """A preexec_fn: SIGKILL the child when the process (thread) that started it dies; and let the child
    take SIGINT/SIGTERM, which lipgen blocks while it starts and registers a solver."""
    parent = os.getpid()

    def hook() -> None:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGINT, signal.SIGTERM))
        if _prctl is None:
            return
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return hook


def die_with_parent() -> None:
    """This process gets SIGKILL when its parent dies (Linux; elsewhere nothing): for lipgen's own helper processes."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


# -- the registry of live solver process groups ----------------------------------------------------------

_live: dict[int, SolverProcess] = {}
_live_lock = threading.Lock()


def stop_all() -> int:
    """SIGKILL every solver process group this process started and has not reaped; how many there were."""
    with _live_lock:
        procs = list(_live.values())
    for p in procs:
        p.kill()
    return len(procs)


class SolverProcess:
    """One running solver invocation (non-blocking): `poll()` until it returns a RunOutcome.

    With a time limit, the whole process group is SIGKILLed `time_limit + kill_grace` seconds after the start.
    """

    def __init__(self, invocation, workdir: str | os.PathLike, time_limit: float | None,
                 kill_grace: float | None = None, run_dir: str | os.PathLike | None = None):
        self.invocation = invocation
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        for path, text in invocation.inputs.items():
            write_text(self.workdir / path, text)
        self.timeout = None
        if time_limit is not None:
            self.timeout = time_limit + (default_grace(time_limit) if kill_grace is None else kill_grace)
        env = dict(os.environ, **{RUN_ENV: str(Path(run_dir or workdir).resolve())})
        self.killed = False
        self.start = time.monotonic()
        with open(self.workdir / invocation.stdout_path, "wb") as out:
            try:
                # A session of its own: a kill reaches the solver's children too, and ^C in our terminal reaches
                # only lipgen, which then stops every solver itself.
                self.proc = subprocess.Popen(invocation.argv, cwd=self.workdir, stdout=out, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True, env=env,
                                             preexec_fn=_die_with_parent_hook())
            except OSError as exc:
                raise LipgenError(f"cannot start solver '{invocation.argv[0]}': {exc.strerror or exc}") from None
        with _live_lock:
            _live[self.proc.pid] = self
        self.outcome: RunOutcome | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def poll(self) -> RunOutcome | None:
        """The outcome once the solver has ended (after the hard kill if it overran), else None."""
        if self.outcome is not None:
            return self.outcome
        if not self._exited():
            if self.timeout is None or self.elapsed < self.timeout:
                return None
            self.killed = True
        # Also when the solver ended by itself: children it left behind go with its group. Until it is reaped
        # (a zombie), its pid still names the group and cannot be given to another process.
        self.kill()
        return self.outcome

    def kill(self) -> None:
        """SIGKILL the solver's process group and reap the solver."""
        if self.outcome is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the session leader's pid is its group id
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        with _live_lock:
            _live.pop(self.proc.pid, None)
        inv, wd = self.invocation, self.workdir
        self.outcome = RunOutcome(argv=list(inv.argv), returncode=self.proc.returncode, killed=self.killed,
                                  wall_time=self.elapsed, stdout_path=wd / inv.stdout_path,
                                  log_path=wd / inv.log_path, solution_path=wd / inv.solution_path)

    def _exited(self) -> bool:
        """Whether the solver has ended, without reaping it."""
        if self.proc.returncode is not None:
            return True
        if not hasattr(os, "waitid"):
            return self.proc.poll() is not None
        try:
            return os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def wait(self) -> RunOutcome:
        """Block until the solver ends; an exception here (^C) kills it first."""
        try:
            while (outcome := self.poll()) is None:
                time.sleep(POLL)  # not proc.wait(): poll() must see the solver before it is reaped
            return outcome
        except BaseException:
            self.kill()
            raise


def run(invocation, workdir: str | os.PathLike, time_limit: float | None,
        kill_grace: float | None = None) -> RunOutcome:
    """Run `invocation.argv` in `workdir` (stdout+stderr to `invocation.stdout_path`) and wait for it.

    With a time limit, the whole process group is SIGKILLed after `time_limit + kill_grace` seconds.
    """
    return SolverProcess(invocation, workdir, time_limit, kill_grace).wait()


# -- leftovers of a dead lipgen --------------------------------------------------------------------------

def leftover_pids(run_dir: str | os.PathLike) -> list[int]:
    """Processes of this user whose environment says they were started for `run_dir` (Linux /proc)."""
    marker = f"{RUN_ENV}={Path(run_dir).resolve()}".encode()
    me = os.getpid()
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                env = fh.read().split(b"\0")
        except OSError:  # gone, or another user's
            continue
        if marker in env:
            found.append(int(entry))
    return sorted(found)


def kill_leftovers(run_dir: str | os.PathLike) -> list[int]:
    """SIGKILL the solver processes a dead lipgen left running for `run_dir`; their pids."""
    killed: list[int] = []
    for _ in range(5):  # again, in case one forked while we looked
        pids = [p for p in leftover_pids(run_dir) if p not in killed or _alive(p)]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue
            if pid not in killed:
                killed.append(pid)
        time.sleep(0.05)
    return killed


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(") ", 1)[1][:1] not in ("Z", "X")
    except (OSError, IndexError):
        return False


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
