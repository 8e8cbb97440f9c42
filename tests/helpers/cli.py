"""Running lipgen's command line as a user would: a subprocess of `python -m lipgen`."""

from __future__ import annotations

import subprocess
import sys


def run_cli(*args, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    """Run `python -m lipgen ARGS` as a user would."""
    return subprocess.run([sys.executable, "-m", "lipgen", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def call_main(argv: list, capsys) -> tuple[int, str, str]:
    """`lipgen ARGV` through its entry point in this process (fast): (exit code, stdout, stderr)."""
    from lipgen.cli.app import main

    old = sys.argv
    sys.argv = ["lipgen", *map(str, argv)]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    cap = capsys.readouterr()
    return code, cap.out, cap.err
