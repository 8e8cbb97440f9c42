"""One lipgen at a time per run directory: an flock'ed `.lock` file, released by the kernel when its holder dies.

The file also records who holds it and the state of its run (`running` once a solver may have started,
`finished` or `interrupted` after), so the next holder knows whether a dead lipgen may have left solver
processes behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path

LOCK_NAME = ".lock"


class RunLock:
    def __init__(self, run_dir: str | os.PathLike):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self.fd: int | None = None
        self.previous: dict = {}  # what the last holder recorded

    @property
    def held(self) -> bool:
        return self.fd is not None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        if self.fd is not None:
            return True
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        self.previous = _parse(os.pread(fd, 1 << 16, 0))
        self.record(state="locked")
        return True

    def record(self, **info) -> None:
        """Rewrite the holder's record (pid, host and `info`)."""
        data = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), **info}).encode() + b"\n"
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)

    def holder(self) -> dict:
        """The record of whoever holds the lock (read without the lock: may be empty while being rewritten)."""
        try:
            return _parse(self.path.read_bytes())
        except OSError:
            return {}

    def release(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)  # closing the descriptor drops the flock

    def describe_holder(self) -> str:
        h = self.holder()
        if not h.get("pid"):
            return "another lipgen"
        host = h.get("host")
        return f"lipgen pid {h['pid']}" + (f" on {host}" if host and host != socket.gethostname() else "")


def _parse(data: bytes) -> dict:
    try:
        value = json.loads(data.decode("utf-8", errors="replace") or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
