"""The task list of an array job: one absolute instance path per line; task k (from 1) takes lines
(k-1)*chunk+1 .. k*chunk, which the job script reads with `sed -n` and hands to `lipgen solve`."""

from __future__ import annotations

import math
import os
from pathlib import Path

from lipgen.errors import LipgenError

TASK_LIST = "tasks.txt"


def task_lines(instances: list[Path]) -> str:
    lines = []
    for p in instances:
        text = os.path.abspath(p)  # not resolve(): keep the user's view of shared file systems
        if "\n" in text or "\r" in text:
            raise LipgenError(f"{text!r}: a path with a line break cannot go into a task list")
        lines.append(text + "\n")
    return "".join(lines)


def n_tasks(n_instances: int, chunk: int) -> int:
    if chunk < 1:
        raise LipgenError(f"--array-chunk must be at least 1, got {chunk}")
    return math.ceil(n_instances / chunk)


