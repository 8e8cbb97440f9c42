"""Running lipgen's command line as a user would: a subprocess of `python -m lipgen`."""

from __future__ import annotations

import subprocess
import sys


def run_cli(*args, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    """Run `python -m lipgen ARGS` as a user would."""
    return subprocess.run([sys.executable, "-m", "lipgen", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)
