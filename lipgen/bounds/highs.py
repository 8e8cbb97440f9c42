"""HiGHS through highspy, quiet and deterministic: one home for creating a solver object (OBBT, region LPs)."""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from typing import Any

_local = threading.local()


@contextmanager
def _stdout_silenced():
    """File descriptor 1 to /dev/null: C libraries write there directly (lipgen's --json output must stay clean)."""
    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def quiet_highs() -> Any:
    """A new highspy.Highs: no output, one thread, a fixed seed."""
    import highspy  # here: only LP users pay for it

    with _stdout_silenced():  # HiGHS prints its banner on stdout before any option can stop it
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    return h


def thread_highs() -> Any:
    """This thread's reusable Highs (for one-shot LPs: passModel replaces the last model)."""
    h = getattr(_local, "highs", None)
    if h is None:
        h = _local.highs = quiet_highs()
    return h
