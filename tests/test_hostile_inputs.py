"""Hostile input (issue 18): every command, every option, a table of bad values.

Each case runs `lipgen` as a user would (its `main()`, the console entry point, in this process for speed) and
asserts the exit code, that stderr is one line naming the problem, that no traceback shows, and that nothing
was written. `test_every_option_has_bad_values` fails when a command grows an option without cases here.
The regression tests at the end run the real executable on the issue's reproductions.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers.cli import run_cli
from helpers.networks import random_network, unit_box

from lipgen.domain import Box
from lipgen.instance import generate
from lipgen.io import save

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
    "split": ["{net}", "--box=-1,1", "-o", "{out}"],
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
                "--jacobian-bounds": [("=x", None)],
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
            "--solver-path": [("{dir}/missing", "missing")], "--eps-ladder": [("=x", None)],
            "--split": [("foo", "foo"), ("", None)]},
    "split": {"weights": PATHS_BAD, "-o": [("{dir}/afile", "afile")], **DOMAIN_OPTS,
              **{k: NETWORK_OPTS[k] for k in ("--norm", "--input-norm", "--output-norm", "--bounds", "--output-weights",
                                             "--margin", "--layers")},
              "--branching": [(v, None) for v in CHOICE_BAD], "--gap": [(v, None) for v in FLOAT_BAD],
              "--time-limit": [(v, None) for v in FLOAT_BAD + ["0"]],
              "--node-limit": [(v, None) for v in INT_BAD + ["0"]],
              "--exact-max": [(v, None) for v in INT_BAD + ["31"]],
              "--resume": [("=x", None)], "--json": [("=x", None)], "--leaf-solver": [(v, None) for v in CHOICE_BAD],
              "--jobs": [(v, None) for v in INT_BAD], "--leaves": [(v, None) for v in INT_BAD + ["0"]],
              "--leaf-time": [(v, None) for v in FLOAT_BAD], "--round-nodes": [(v, None) for v in INT_BAD + ["0"]],
              "--scheduler": [(v, None) for v in CHOICE_BAD], "--partition": [("a b", None), ("x;rm", None)],
              "--account": [("a b", None)], "--max-parallel": [(v, None) for v in ("abc", "0", "-1")],
              "--resubmits": [(v, None) for v in INT_BAD + ["101"]],
              "--solver-path": [("{dir}/missing", "missing")]},
    "parse": {"solution": PATHS_BAD[:2] + [("{dir}/garbage.bin", "garbage.bin")],
              "--instance": PATHS_BAD + [("{dir}/text.txt", "text.txt")],
              "--solver": [("foo", None), ("gurobi", "SCIP solution")],
              "--log": PATHS_BAD[:3], "--gap": [(v, None) for v in ("abc", "-1", NAN, INF, "2")],
              "--json": [("=x", None)]},
    "check": {"solution": PATHS_BAD[:2] + [("{dir}/garbage.bin", "garbage.bin")],
              "--instance": PATHS_BAD, "--solver": [("foo", None), ("gurobi", "SCIP solution")],
              "--json": [("=x", None)]},
    "convert": {"weights": PATHS_BAD, "-o": [("{dir}/afile", "not a lipgen weights file"), ("{dir}/adir", "adir")],
                **DOMAIN_OPTS, "--layers": [("nope", None)]},
    "jobs": {"instances": PATHS_BAD, "-o": [("{dir}/afile", "afile")], "--scheduler": [("foo", None)],
             "--solver": [("foo", None)], "--runs": [("{dir}/afile", "afile")],
             "--time-limit": [(v, None) for v in FLOAT_BAD], "--threads": [(v, None) for v in INT_BAD + ["0"]],
             "--gap": [(v, None) for v in FLOAT_BAD], "--mem-limit": [(v, None) for v in ("abc", NAN, "-1", HUGE)],
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
    from lipgen.cli.app import main

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

    from lipgen.cli.app import app

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


# --- the reproductions, with the real executable ------------------------------------------------------
def one_error_line(r, code: int, *pieces: str) -> str:
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == code, (r.returncode, r.stderr)
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert all(p in lines[0] for p in pieces), lines[0]
    return lines[0]


@pytest.fixture
def moons_copy(world, tmp_path):
    """A private copy of the instances (tests edit them)."""
    inst = tmp_path / "inst"
    shutil.copytree(world["inst"], inst)
    return inst


@pytest.mark.slow
def test_solve_refuses_an_edited_instance_and_records_what_it_solved(moons_copy, tmp_path):
    upper = next(moons_copy.glob("*upper*.mps"))
    text = upper.read_text()
    rhs = re.search(r"^    RHS .*$", text, re.M)
    upper.write_text(text.replace(rhs.group(0), rhs.group(0).rsplit(None, 1)[0] + "  0.25", 1))
    r = run_cli("solve", upper, "-o", tmp_path / "runs")
    one_error_line(r, 2, upper.name, "checksum", "--no-verify")
    assert not (tmp_path / "runs").exists()
    # --no-verify: solved, recorded as unverified, and collect reports no number from it
    r = run_cli("solve", upper, "-o", tmp_path / "runs", "--no-verify", "--json")
    assert r.returncode in (0, 1), r.stderr
    result = json.loads(next((tmp_path / "runs").glob("*/result.json")).read_text())
    assert result["instance_verified"] is False
    r = run_cli("collect", tmp_path / "runs", "-o", tmp_path / "report")
    assert r.returncode == 2 and "--no-verify" in r.stderr and not (tmp_path / "report").exists()


def test_solve_refuses_a_truncated_gzipped_instance(world, tmp_path):
    net = random_network(7, 2, [4], 1, name="hn")
    generate(net, Box(*unit_box(2)), tmp_path / "gz", alpha="inf", beta="inf", gzip=True, bounds=("upper",))
    inst = next((tmp_path / "gz").glob("*.mps.gz"))
    inst.write_bytes(inst.read_bytes()[: inst.stat().st_size // 2])
    one_error_line(run_cli("solve", inst, "-o", tmp_path / "runs"), 2, "checksum")
    assert not (tmp_path / "runs").exists()


def test_verified_result_records_the_solved_files_checksum(world):
    result = json.loads((world["sol"].parent / "result.json").read_text())
    side = json.loads(world["sidecar"].read_text())
    import hashlib

    assert result["instance_verified"] is True
    assert result["instance_sha256"] == hashlib.sha256(world["upper"].read_bytes()).hexdigest() == \
        side["instance_sha256"]


def test_parse_and_check_refuse_a_header_without_variables(world, tmp_path):
    header = tmp_path / "header.sol"
    header.write_text("solution status: optimal solution found\nobjective value: -0.001\n")
    for command in ("parse", "check"):
        r = run_cli(command, header, "--instance", world["sidecar"], "--solver", "scip")
        assert r.returncode == 1 and "missing" in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert "upper bound" not in r.stdout


@pytest.mark.slow
def test_parse_refuses_foreign_and_self_contradicting_logs(world, tmp_path):
    lower_log = next(p for p in world["runs"].glob("*lower*")) / "run.log"
    args = (world["sol"], "--instance", world["sidecar"], "--solver", "scip")
    one_error_line(run_cli("parse", *args, "--log", lower_log), 2, "another instance")
    noise = tmp_path / "noise.log"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    one_error_line(run_cli("parse", *args, "--log", noise), 2, "not a SCIP log")
    # its own log, with the dual bound moved above the primal
    text = world["log"].read_text()
    m = re.search(r"^Dual Bound\s*:\s*(\S+)", text, re.M)
    bad = tmp_path / "run.log"
    bad.write_text(text.replace(m.group(0), m.group(0).replace(m.group(1), "1e+03")))
    one_error_line(run_cli("parse", *args, "--log", bad), 2, "dual bound", "contradicts")
    r = run_cli("parse", *args, "--log", world["log"])
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("edit,piece", [
    (lambda d: d["scaling"].__setitem__("objective_scale", "abc"), "objective_scale"),
    (lambda d: d.pop("network"), "network"),
    (lambda d: d["domain"].__setitem__("upper", [1e400, 1.0]), "domain.upper"),
    (lambda d: d.__setitem__("instance_sha256", 5), "instance_sha256"),
])
def test_parse_refuses_a_broken_sidecar(world, tmp_path, edit, piece):
    d = json.loads(world["sidecar"].read_text())
    edit(d)
    side = tmp_path / world["sidecar"].name
    side.write_text(json.dumps(d))
    for name in ("networks",):
        shutil.copytree(world["inst"] / name, tmp_path / name)
    one_error_line(run_cli("parse", world["sol"], "--instance", side, "--solver", "scip"), 2, piece)


@pytest.mark.slow
def test_generate_refuses_extreme_boxes_without_leftovers(world, tmp_path):
    for box in ("0,1e308", "-1e308,1e308"):
        one_error_line(run_cli("generate", world["net"], f"--box={box}", "-o", tmp_path / "out"), 2, "limit")
        assert not (tmp_path / "out").exists()
    r = run_cli("inspect", world["net"], "--box=0,1e308")
    one_error_line(r, 2, "limit")


@pytest.mark.slow
def test_generate_cleans_up_when_a_late_check_fails(world, tmp_path):
    """Coefficients no solver reads are refused, and an existing output folder keeps only what it had."""
    net = random_network(7, 2, [4, 4], 1, name="tinyw")
    net.weights[0] = net.weights[0] * 1e-40  # biases of order one: a right-hand side of 1e40 once scaled
    save(tmp_path / "tinyw.h5", net)
    one_error_line(run_cli("generate", tmp_path / "tinyw.h5", "--box=-1,1", "-o", tmp_path / "out"), 2,
                   "beyond what solvers read")
    assert not (tmp_path / "out").exists()
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "mine.txt").write_text("x")
    one_error_line(run_cli("generate", tmp_path / "tinyw.h5", "--box=-1,1", "-o", tmp_path / "kept"), 2)
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["mine.txt"]


@pytest.mark.slow
@pytest.mark.parametrize("scale,piece", [(1e300, "above the limit"), (1e-310, "below the limit"),
                                         (1e90, "multiply to about")])
def test_weights_out_of_range_are_refused(world, tmp_path, scale, piece):
    net = random_network(7, 2, [4, 4], 1, name="sc")
    net.weights = [w * scale for w in net.weights]
    with h5py.File(tmp_path / "sc.h5", "w") as f:  # written raw: lipgen's save refuses such weights too
        f.attrs["lipgen_format"] = "relu-mlp"
        f.attrs["lipgen_format_version"] = 1
        for k, (w, b) in enumerate(zip(net.weights, net.biases)):
            f[f"layers/{k}/weight"], f[f"layers/{k}/bias"] = w, b
    for command in ("inspect", "generate", "run"):
        one_error_line(run_cli(command, tmp_path / "sc.h5", "--box=-1,1", "-o", tmp_path / "out")
                       if command != "inspect" else run_cli(command, tmp_path / "sc.h5", "--box=-1,1"), 2, piece)
        assert not (tmp_path / "out").exists()


def test_a_claimed_huge_weight_is_refused_before_reading(tmp_path):
    with h5py.File(tmp_path / "big.h5", "w") as f:
        f.attrs["lipgen_format"] = "relu-mlp"
        f.attrs["lipgen_format_version"] = 1
        f.create_dataset("layers/0/weight", shape=(2_000_000, 2_000_000), dtype="f8", chunks=(1, 1000))
        f["layers/0/bias"] = np.zeros(2_000_000)
    for argv in (("generate", tmp_path / "big.h5", "--box=0,1", "-o", tmp_path / "out"),
                 ("convert", tmp_path / "big.h5", "-o", tmp_path / "out.h5")):
        one_error_line(run_cli(*argv), 2, "above the limit")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.h5").exists()


def test_keras_layers_of_the_wrong_kind(tmp_path):
    with h5py.File(tmp_path / "k.h5", "w") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"layers": "dense"}})
        f.create_group("model_weights")
    one_error_line(run_cli("inspect", tmp_path / "k.h5", "--box=0,1"), 2, "layers")


def test_zero_d_weight_keeps_its_shape(tmp_path):
    with h5py.File(tmp_path / "z.h5", "w") as f:
        f.attrs["lipgen_format"] = "relu-mlp"
        f.attrs["lipgen_format_version"] = 1
        f["layers/0/weight"] = np.float64(2.0)
        f["layers/0/bias"] = np.zeros(1)
    one_error_line(run_cli("inspect", tmp_path / "z.h5", "--box=0,1"), 2, "shape ()")


def test_paths_a_solver_cannot_read_leave_nothing(world, tmp_path):
    quoted = tmp_path / 'a"b'
    shutil.copytree(world["inst"], quoted / "inst")
    one_error_line(run_cli("solve", quoted / "inst", "-o", quoted / "runs"), 2, "SCIP cannot read")
    assert not (quoted / "runs").exists()
    one_error_line(run_cli("jobs", quoted / "inst", "-o", quoted / "job"), 2, "SCIP cannot read")
    assert not (quoted / "job").exists()


def test_collect_over_interrupted_runs(world, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(world["runs"], runs)
    result = next(runs.glob("*upper*")) / "result.json"
    d = json.loads(result.read_text())
    for key in ("lipschitz", "primal", "dual", "check", "files", "time", "nodes"):
        d.pop(key, None)
    d.update(status="interrupted", status_text="interrupted by SIGINT", stopped_by="SIGINT", killed=False)
    result.write_text(json.dumps(d))
    r = run_cli("collect", runs, "-o", tmp_path / "report")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr


def test_files_take_the_users_umask(world, tmp_path):
    r = subprocess.run(["bash", "-c", f"umask 022 && {shlex.quote(sys.executable)} -m lipgen generate "
                                      f"{shlex.quote(str(world['net']))} --box=-1,1 -o {shlex.quote(str(tmp_path / 'o'))}"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "o").rglob("*") if p.is_file()}
    assert modes and set(modes.values()) == {0o644}, modes
