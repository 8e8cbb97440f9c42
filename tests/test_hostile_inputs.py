"""Hostile input (issue 18): every command, every option, a table of bad values.

Each case runs `lipgen` as a user would (its `main()`, the console entry point, in this process for speed) and
asserts the exit code, that stderr is one line naming the problem, that no traceback shows, and that nothing
was written. `test_every_option_has_bad_values` fails when a command grows an option without cases here.
The regression tests at the end run the real executable on the issue's reproductions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import random_network, run_cli, unit_box

from lipgen.domain import Box
from lipgen.instance import generate
from lipgen.weights import save

NAN, INF, HUGE = "nan", "inf", "1e308"
FLOAT_BAD = ["abc", NAN, INF, "-1", HUGE, ""]
INT_BAD = ["abc", "-5", "1.5", "99999999999999999999"]
CHOICE_BAD = ["foo", ""]
FLAG_BAD = ["=x"]  # a flag given a value


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 2-4-1 network, its l-inf instances, one real SCIP run of them and a few hostile files."""
    w = tmp_path_factory.mktemp("hostile")
    net = random_network(7, 2, [4], 1, name="hn")
    save(w / "net.h5", net)
    generate(net, Box(*unit_box(2)), w / "inst", alpha="inf", beta="inf")
    r = run_cli("solve", w / "inst", "-o", w / "runs")
    assert r.returncode == 0, r.stderr
    (w / "garbage.bin").write_bytes(bytes(range(256)) * 8)
    (w / "text.txt").write_text("hello\n")
    (w / "empty").write_bytes(b"")
    (w / "adir").mkdir()
    (w / "afile").write_text("x")
    np.save(w / "huge.npy", np.array([1e308]))
    np.save(w / "vec3.npy", np.zeros(3))
    np.savez(w / "bad_box.npz", lower=np.array([1.0, 1.0]), upper=np.array([0.0, 0.0]))
    upper = next((w / "inst").glob("*upper*.mps"))
    return {"dir": w, "net": w / "net.h5", "inst": w / "inst", "upper": upper,
            "sidecar": upper.with_suffix(".json"), "runs": w / "runs",
            "sol": next((w / "runs").glob("*upper*")) / "run.sol", "log": next((w / "runs").glob("*upper*")) / "run.log"}


# --- the table ---------------------------------------------------------------------------------------------
# per command: the valid argv (OUT: a fresh output path) and, per option, bad values with the exit code and a
# piece of the expected message (None: the option's own name)
BASE = {
    "inspect": ["{net}", "--box=-1,1"],
    "generate": ["{net}", "--box=-1,1", "-o", "{out}"],
    "solve": ["{upper}", "-o", "{out}"],
    "run": ["{net}", "--box=-1,1", "-o", "{out}"],
    "parse": ["{sol}", "--instance", "{sidecar}", "--solver", "scip"],
    "check": ["{sol}", "--instance", "{sidecar}", "--solver", "scip"],
    "convert": ["{net}", "-o", "{out}/x.h5"],
    "jobs": ["{inst}", "-o", "{out}"],
    "collect": ["{runs}", "-o", "{out}"],
}
PATHS_BAD = [("{dir}/missing", "missing"), ("{dir}/adir", "adir"), ("{dir}/garbage.bin", "garbage.bin"),
             ("{dir}/empty", "empty")]
BOX_BAD = [("abc", None), ("1,0", "lower > upper"), ("0,nan", None), ("0,1e308", "limit"), ("0", None),
           ("0,1,2", None), ("0,1e-200", "limit")]
DOMAIN_OPTS = {"--box": [(f"={v}", m) for v, m in BOX_BAD],
               "--box-file": PATHS_BAD + [("{dir}/bad_box.npz", "lower > upper")],
               "--center": PATHS_BAD + [("{dir}/text.txt", "not an .npy"), ("{dir}/vec3.npy", "dimension")],
               "--radius": [(v, None) for v in ("abc", NAN, "-1")],
               "--clip": [("=1,0", None), ("=abc", None), ("=0,nan", None)]}
NETWORK_OPTS = {"--norm": [(v, None) for v in CHOICE_BAD], "--input-norm": [("foo", None)],
                "--output-norm": [("foo", None)], "--eps": [(v, None) for v in ("abc", NAN, "-1", INF)],
                "--encoding": [("foo", None)], "--mode": [("foo", None)], "--bounds": [("foo", None)],
                "--output-weights": PATHS_BAD + [("{dir}/huge.npy", "limit"), ("{dir}/text.txt", "not an .npy")],
                "--margin": [("a", None), ("0,0", None), ("5,6", None)],
                "--layers": [("nope", None)]}
SOLVE_OPTS = {"--solver": [(v, None) for v in CHOICE_BAD], "--time-limit": [(v, None) for v in FLOAT_BAD],
              "--threads": [(v, None) for v in INT_BAD + ["0"]], "--gap": [(v, None) for v in FLOAT_BAD],
              "--mem-limit": [(v, None) for v in FLOAT_BAD], "--seed": [(v, None) for v in INT_BAD],
              "--jobs": [(v, None) for v in INT_BAD + ["0"]], "--solver-path": [("{dir}/missing", "missing"), ("=", None)],
              "--warm-start": [("=x", None)], "--solver-defaults": [("=x", None)], "--force": [("=x", None)],
              "--wait": [("=x", None)], "--json": [("=x", None)]}
TABLE = {
    "inspect": {"weights": PATHS_BAD + [("{dir}/text.txt", "text.txt")], **DOMAIN_OPTS,
                "--samples": [(v, None) for v in INT_BAD + ["0", "100000000000"]],
                "--seed": [(v, None) for v in INT_BAD],
                "--json": [("=x", None)], **{k: NETWORK_OPTS[k] for k in ("--output-weights", "--margin")},
                "--bounds": [("foo", "foo")]},
    "generate": {"weights": PATHS_BAD, "-o": [("{dir}/afile", "afile")], **DOMAIN_OPTS, **NETWORK_OPTS,
                 "--bound": [("foo", None)], "--format": [("foo", None)], "--gzip": [("=x", None)],
                 "--target": [("foo", None)], "--json": [("=x", None)]},
    "solve": {"instances": PATHS_BAD + [("{dir}/text.txt", "text.txt")], "-o": [("{dir}/afile", "afile")],
              **SOLVE_OPTS, "--no-verify": [("=x", None)]},
    "run": {"weights": PATHS_BAD, "-o": [("{dir}/afile", "afile")], **DOMAIN_OPTS, **NETWORK_OPTS,
            **{k: v for k, v in SOLVE_OPTS.items() if k != "--solver-path"},
            "--solver-path": [("{dir}/missing", "missing")]},
    "parse": {"solution": PATHS_BAD[:2] + [("{dir}/garbage.bin", "garbage.bin")],
              "--instance": PATHS_BAD + [("{dir}/text.txt", "text.txt")],
              "--solver": [("foo", None), ("gurobi", "SCIP solution")],
              "--log": PATHS_BAD[:3], "--gap": [(v, None) for v in ("abc", "-1", NAN, INF, "2")],
              "--json": [("=x", None)]},
    "check": {"solution": PATHS_BAD[:2] + [("{dir}/garbage.bin", "garbage.bin")],
              "--instance": PATHS_BAD, "--solver": [("foo", None), ("gurobi", "SCIP solution")],
              "--json": [("=x", None)]},
    "convert": {"model": PATHS_BAD, "-o": [("{dir}/afile", "not a lipgen weights file"), ("{dir}/adir", "adir")],
                **DOMAIN_OPTS, "--layers": [("nope", None)]},
    "jobs": {"instances": PATHS_BAD, "-o": [("{dir}/afile", "afile")], "--scheduler": [("foo", None)],
             "--solver": [("foo", None)], "--runs": [("{dir}/afile", "afile")],
             "--time-limit": [(v, None) for v in FLOAT_BAD], "--threads": [(v, None) for v in INT_BAD + ["0"]],
             "--gap": [(v, None) for v in FLOAT_BAD], "--mem": [(v, None) for v in ("abc", NAN, "-1", HUGE)],
             "--seed": [(v, None) for v in INT_BAD], "--warm-start": [("=x", None)],
             "--solver-defaults": [("=x", None)], "--solver-path": [("=", None)],
             "--partition": [("a b", None), ("x;rm", None)], "--account": [("a b", None)],
             "--max-parallel": [(v, None) for v in ("abc", "0", "-1")],
             "--array-chunk": [(v, None) for v in ("abc", "0", "-1")],
             "--wall-time": [(v, None) for v in ("abc", "-5", "0", "1h")], "--job-name": [("a b", None)],
             "--template": PATHS_BAD[:2], "--lipgen-command": [("=", None), ("'", None)],
             "--only-unfinished": [("=x", None)], "--submit": [("=x", None)]},
    "collect": {"runs": [("{dir}/missing", "missing"), ("{dir}/adir", "adir")], "-o": [("{dir}/afile", "afile")],
                "--instances": [("{dir}/missing", "missing")], "--plots": [("=x", None)],
                "--name": [("a/b", None), ("", None)], "--solu": PATHS_BAD[:2] + [("{dir}/garbage.bin", "garbage")],
                "--json": [("=x", None)]},
}


def _cases():
    for command, options in TABLE.items():
        for option, bads in options.items():
            for value, message in bads:
                yield pytest.param(command, option, value, message, id=f"{command} {option} {value}")


def _argv(command: str, option: str, value: str, fill: dict) -> list[str]:
    base = [a.format(**fill) for a in BASE[command]]
    value = value.format(**fill)
    positional = not option.startswith("-")
    if positional:  # replace the command's first argument
        return [command, value] + base[1:]
    if option in base:  # replace the option's value
        i = base.index(option)
        return [command] + base[:i] + [option, value] + base[i + 2:]
    if option == "--box-file" or option == "--center":  # one domain at a time
        base = [a for a in base if not a.startswith("--box=")]
        extra = ["--radius", "0.5"] if option == "--center" else []
        return [command] + base + [option, value] + extra
    if option in ("--radius", "--clip"):
        base = [a for a in base if not a.startswith("--box=")]
        return [command] + base + ["--center", fill["dir"] + "/zero2.npy", "--radius", "0.5"] + (
            [option + value] if value.startswith("=") else [option, value])
    return [command] + base + ([option + value] if value.startswith("=") else [option, value])


def call(argv: list[str], capsys) -> tuple[int, str, str]:
    """`lipgen ARGV` through its entry point: (exit code, stdout, stderr)."""
    from lipgen.cli import main

    old = sys.argv
    sys.argv = ["lipgen", *argv]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


@pytest.mark.parametrize("command,option,value,message", list(_cases()))
def test_bad_value_is_refused_in_one_line(world, tmp_path, capsys, command, option, value, message):
    w = world["dir"]
    if not (w / "zero2.npy").exists():
        np.save(w / "zero2.npy", np.zeros(2))
    out = tmp_path / "out"
    fill = {k: str(v) for k, v in world.items()} | {"out": str(out)}
    before = snapshot(w)
    argv = _argv(command, option, value, fill)
    code, stdout, stderr = call(argv, capsys)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2, (argv, code, stderr)
    assert len(lines) == 1 and lines[0].startswith("lipgen: error: "), (argv, stderr)
    assert "Traceback" not in stderr + stdout
    expected = message if message is not None else option
    shown = value.format(**fill).lstrip("=")
    assert expected in lines[0] or (message is None and shown and shown in lines[0]), (argv, lines[0])
    assert not out.exists(), f"{argv} left {sorted(p.name for p in out.rglob('*'))}"
    assert snapshot(w) == before, f"{argv} changed the input folder"


def test_every_option_has_bad_values():
    """A new option cannot land without its rows in TABLE."""
    import typer.main

    from lipgen.cli import app

    commands = typer.main.get_command(app).commands
    missing = []
    for name, cmd in commands.items():
        if name == "version":
            continue
        for p in cmd.params:
            key = p.opts[0] if p.opts and p.opts[0].startswith("-") else p.name
            key = {"-j": "--jobs"}.get(key, key)
            if key not in TABLE.get(name, {}):
                missing.append(f"{name} {key}")
    assert not missing, f"options without bad-input cases: {missing}"
