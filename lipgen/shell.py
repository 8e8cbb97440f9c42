"""Shell quoting for everything lipgen puts into a job script, and checks of values put into directives.

Directive lines (`#SBATCH`, `#PBS`, `#BSUB`) are read by the scheduler, not by a shell, and have no
quoting all of them agree on: only plain identifiers and numbers go there, never a user's path.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable

from lipgen.errors import LipgenError

_IDENTIFIER = re.compile(r"[A-Za-z0-9_.,:@+-]+")
_JOB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,62}")


def quote(value) -> str:
    """One shell word that stands for `value` exactly (spaces, quotes, `$`, backticks included)."""
    if value is None:
        raise LipgenError("internal: a missing value cannot be put into a job script")
    text = str(value)
    if "\n" in text or "\r" in text or "\0" in text:
        raise LipgenError(f"a job script cannot carry a line break or NUL byte: {text!r}")
    return shlex.quote(text)


def join(words: Iterable) -> str:
    """A command line whose every word is quoted."""
    return " ".join(quote(w) for w in words)


def identifier(value: str, what: str) -> str:
    """A partition, account or queue name as a scheduler directive takes it (no spaces, no quotes)."""
    if not _IDENTIFIER.fullmatch(value):
        raise LipgenError(f"{what} {value!r} is not a plain name (letters, digits and _ . , : @ + - only)")
    return value


def job_name(value: str) -> str:
    if not _JOB_NAME.fullmatch(value):
        raise LipgenError(f"--job-name {value!r}: use a letter, then letters, digits, _ . - (at most 63)")
    return value
