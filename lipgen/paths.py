"""Checks on the directories lipgen is told to write into, made before anything is written."""

from __future__ import annotations

import hashlib
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from .errors import LipgenError


HASH_BLOCK = 1 << 20  # bytes read at a time: the checksum of a large file costs no memory


def file_sha256(path: str | os.PathLike, src: str | None = None, what: str = "file") -> str:
    """The SHA-256 of a file's bytes, streamed; a one-line LipgenError naming `src` when it cannot be read."""
    src = src or str(path)
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(HASH_BLOCK):
                digest.update(block)
    except FileNotFoundError:
        raise LipgenError(f"{src}: no such file") from None
    except IsADirectoryError:
        raise LipgenError(f"{src}: is a directory, not a {what}") from None
    except PermissionError:
        raise LipgenError(f"{src}: cannot read the {what} (permission denied)") from None
    except OSError as exc:
        raise LipgenError(f"{src}: cannot read the {what} ({exc.strerror or exc})") from None
    return digest.hexdigest()


def check_output_dir(path: str | os.PathLike, option: str = "-o") -> Path:
    """Refuse an output directory that is a file, sits below a file, or cannot be created or written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise LipgenError(f"{option} {path}: is a file, not a directory")
    existing = path
    while not existing.exists():
        if existing.is_symlink():
            raise LipgenError(f"{option} {path}: {existing} is a broken symbolic link")
        existing = existing.parent
    if not existing.is_dir():
        raise LipgenError(f"{option} {path}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise LipgenError(f"{option} {path}: {existing} is not writable")
    return path


def _top_new(path: Path) -> Path | None:
    """The highest folder of `path` that does not exist yet (None when `path` exists)."""
    if path.exists():
        return None
    top = path
    while not top.parent.exists():
        top = top.parent
    return top


@contextmanager
def no_leftovers(*folders: str | os.PathLike):
    """Run the body; if it fails, remove every file and folder it created in `folders` (those absent before
    included), so that a refusal leaves nothing half-written behind. Files it replaced stay replaced."""
    folders = [Path(f) for f in folders]
    tops = [t for t in map(_top_new, folders) if t is not None]
    before = {f: set(f.rglob("*")) for f in folders if f.is_dir()}
    try:
        yield
    except BaseException:
        for top in tops:
            shutil.rmtree(top, ignore_errors=True)
        for f, old in before.items():
            for p in sorted(set(f.rglob("*")) - old, key=lambda p: len(p.parts), reverse=True):
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
        raise
