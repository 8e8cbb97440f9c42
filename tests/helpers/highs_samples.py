"""HiGHS runs on small models, made the way lipgen makes them (HighsBackend's command line, the runner), with the
real `highs` executable (highsbox's binary) or lipgen's launcher over highspy.

The files in tests/data/solver-samples/highs/ were written by `python tests/highs_samples.py` (exe-*: the
executable, the rest: the launcher); tests/test_parsers.py checks them to the digit and also parses fresh runs.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

from lipgen.solvers import SolveOptions, get_backend, run

SAMPLES = Path(__file__).parent / "data" / "solver-samples" / "highs"

# min -2.5 x + 2 y + 0.5 z  s.t.  x + y + z >= 2.5,  x - y <= 1,  x, y in {0..3}, 0 <= z <= 0.75: optimum -3.5
# at x = 3, y = 2 (tests/test_parsers.py's LINEAR)
LINEAR = """NAME          TINY FREE
ROWS
 N  obj
 G  c1
 L  c2
COLUMNS
    MARKER    'MARKER'  'INTORG'
    x         obj       -2.5
    x         c1        1
    x         c2        1
    y         obj       2
    y         c1        1
    y         c2        -1
    MARKER    'MARKER'  'INTEND'
    z         obj       0.5
    z         c1        1
RHS
    RHS       c1        2.5
    RHS       c2        1
BOUNDS
 LO BND       x         0
 UP BND       x         3
 LO BND       y         0
 UP BND       y         3
 LO BND       z         0
 UP BND       z         0.75
ENDATA
"""
LINEAR_OPT, LINEAR_X = -3.5, {"x": 3.0, "y": 2.0, "z": 0.0}
# x integer with 2.5 <= x <= 2.2: infeasible
INFEAS = """NAME          INF FREE
ROWS
 N  obj
 G  c1
 L  c2
COLUMNS
    MARKER    'MARKER'  'INTORG'
    x         obj       1
    x         c1        1
    x         c2        1
    MARKER    'MARKER'  'INTEND'
RHS
    RHS       c1        2.5
    RHS       c2        2.2
BOUNDS
 LO BND       x         0
 UP BND       x         5
ENDATA
"""


def market_split(m: int = 5, n: int = 40, seed: int = 1, slack: bool = False) -> str:
    """Cornuejols-Dawande market split: sum_j a_ij x_j = floor(sum_j a_ij / 2), x binary, a_ij in 0..99.

    Without slack almost surely infeasible and hard to prove so (no incumbent within seconds); with slack
    (min the total deviation) an incumbent at once, and a lower bound that stays at 0 for a long time."""
    rng = random.Random(seed)
    a = [[rng.randrange(100) for _ in range(n)] for _ in range(m)]
    cost = [rng.randrange(1, 10) for _ in range(n)]
    lines = ["NAME MSPLIT FREE", "ROWS", " N obj"] + [f" E c{i}" for i in range(m)] + ["COLUMNS",
                                                                                     "    MARKER 'MARKER' 'INTORG'"]
    for j in range(n):
        lines.append(f"    x{j} obj {0 if slack else cost[j]}")
        lines += [f"    x{j} c{i} {a[i][j]}" for i in range(m) if a[i][j]]
    lines.append("    MARKER 'MARKER' 'INTEND'")
    if slack:
        for i in range(m):
            lines += [f"    up{i} obj 1", f"    up{i} c{i} 1", f"    dn{i} obj 1", f"    dn{i} c{i} -1"]
    lines += ["RHS"] + [f"    RHS c{i} {sum(a[i]) // 2}" for i in range(m)] + ["BOUNDS"]
    lines += [f" BV BND x{j}" for j in range(n)] + ["ENDATA"]
    return "\n".join(lines) + "\n"


# sample name -> (model text, options)
RUNS = {
    "opt": (LINEAR, SolveOptions(threads=1, time_limit=30)),
    "infeas": (INFEAS, SolveOptions(threads=1, time_limit=30)),
    "timelimit": (market_split(slack=True), SolveOptions(threads=1, time_limit=1, seed=1)),  # with an incumbent
    "msplit": (market_split(), SolveOptions(threads=1, time_limit=1, seed=1)),  # without one
}


def real_highs(folder: Path) -> Path:
    """A `highs` on which the real executable runs: highsbox's binary, whose RPATH misses its own lib/ folder."""
    import highsbox

    binary = Path(highsbox.highs_bin_path())
    lib = binary.parent.parent / "lib"
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "highs"
    wrapper.write_text(f'#!/bin/sh\nLD_LIBRARY_PATH="{lib}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}" '
                       f'exec "{binary}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def solve(name: str, folder: Path, executable: Path | None = None) -> tuple[Path, Path, int]:
    """Run sample `name` in `folder/name` (the launcher, or `executable`): (solution file, log, exit status)."""
    text, opts = RUNS[name]
    backend = get_backend("highs")
    exe = backend.locate(str(executable)) if executable else backend.locate()
    workdir = folder / name
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "model.mps").write_text(text)
    inv = backend.command(exe, workdir / "model.mps", workdir, opts)
    out = run(inv, workdir, opts.time_limit)
    return out.solution_path, out.log_path, out.returncode


def rewrite_samples() -> None:
    """Write SAMPLES/<name>.{sol,log} (launcher) and SAMPLES/exe-<name>.{sol,log} (executable) anew."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        highs = real_highs(tmp / "bin")
        for prefix, exe in (("", None), ("exe-", highs)):
            for name in RUNS:
                sol, log, code = solve(name, tmp / (prefix or "launcher"), exe)
                assert code == 0, (name, prefix, code)
                for src, suffix in ((sol, ".sol"), (log, ".log")):
                    text = src.read_text().replace(str(src.parent), "RUN")  # no temporary paths in the samples
                    (SAMPLES / f"{prefix}{name}{suffix}").write_text(text)


if __name__ == "__main__":
    SAMPLES.mkdir(parents=True, exist_ok=True)
    rewrite_samples()
    print(f"wrote {len(os.listdir(SAMPLES))} files to {SAMPLES}", file=sys.stderr)
