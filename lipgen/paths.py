"""Checks on the directories lipgen is told to write into, made before anything is written."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import LipgenError


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
