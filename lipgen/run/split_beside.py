"""The process that runs a split tree beside `run`'s MIPs (lipgen/run/split_first.py starts it):

    python -m lipgen.run.split_beside JOB PARENT_PID

JOB is a pickle of the problem (network, box, norms, folder, tree options, budget) written by the parent. The tree
rounds until the parent creates <folder>/beside.stop (the MIPs ended), its budget or a closed gap, saves its state after every
round and writes <folder>/result.json at the end. SIGINT is the parent's to handle; the process dies with it. A
plain interpreter started for it, not a fork: forking a process whose other thread is inside BLAS can deadlock
OpenBLAS's fork handler, and multiprocessing's spawn would run the caller's main script again.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from pathlib import Path

from .. import atomic
from ..solvers.runner import die_with_parent
from ..split.driver import drive, prepare
from ..split.state import STATE
from .split_first import READY, STOP, split_data

def main(job: Path, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    if os.getppid() != parent:  # the parent died before the death signal was armed
        return
    p = pickle.loads(job.read_bytes())
    folder = Path(p["folder"])
    run = prepare(p["net"], p["box"], p["alpha"], p["beta"], folder, p["options"], resume=(folder / STATE).is_file())
    run.tree.cap = float(p.get("cap", float("inf")))
    stop = folder / STOP
    (folder / READY).touch()
    drive(run, time_limit=p["budget"], node_limit=1_000_000, stop=stop.exists)
    atomic.write_json(folder / "result.json", split_data(p["net"], p["box"], run))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
