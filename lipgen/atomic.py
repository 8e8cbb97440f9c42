"""Atomic, deterministic file writes: a temporary file in the same directory, then a rename."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


_UMASK: int | None = None


def umask() -> int:
    """The process's umask, read without changing it where Linux allows (os.umask sets it, racing other threads)."""
    global _UMASK
    if _UMASK is None:
        try:
            line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("Umask:"))
            _UMASK = int(line.split()[1], 8)
        except (OSError, StopIteration, ValueError, IndexError):
            _UMASK = os.umask(0o022)
            os.umask(_UMASK)
    return _UMASK


def file_mode() -> int:
    """The mode a plain open() would give a new file: 0666 less the umask (mkstemp's 0600 would hide
    instances and results from colleagues in a shared project folder)."""
    return 0o666 & ~umask()


def mkstemp_shared(path: Path, suffix: str = ".tmp") -> tuple[int, str]:
    """mkstemp beside `path`, with the mode the user's umask gives a new file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.fchmod(fd, file_mode())
    return fd, tmp


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = mkstemp_shared(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def dumps_json(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike, obj) -> None:
    write_text(path, dumps_json(obj))
