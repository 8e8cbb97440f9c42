"""`lipgen inspect` and `lipgen generate` as a user runs them: outputs, determinism, and every bad input."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from conftest import run_cli, tiny_network

from lipgen.weights import save


@pytest.fixture
def tiny_file(tmp_path):
    path = tmp_path / "tiny.h5"
    save(path, tiny_network(2))
    return path


def test_inspect_json_and_table(tiny_file):
    r = run_cli("inspect", tiny_file, "--box", "-1,1", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["widths"] == [3, 8, 2]
    layer = info["layers"][0]
    assert layer["active"] + layer["inactive"] + layer["unstable"] == 8
    for p in ("1", "2", "inf"):
        b = info["bounds"][p]
        assert 0 < b["sampled_certified"] <= b["sampled_estimate"] <= b["naive_upper"]
    r = run_cli("inspect", tiny_file, "--box", "-1,1")
    assert r.returncode == 0 and "unstable" in r.stdout and "naive upper bound" in r.stdout


def test_generate_writes_instances_sidecars_manifest_deterministically(tiny_file, tmp_path):
    outs = []
    for name in ("a", "b"):
        r = run_cli("generate", tiny_file, "--norm", "2", "--box", "-1,1", "--gzip", "--mode", "forward", "-o",
                    tmp_path / name)
        assert r.returncode == 0, r.stderr
        outs.append(tmp_path / name)
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
    names = [str(f) for f in files]
    assert "manifest.json" in names
    assert any(n.endswith("__upper__bigm.mps.gz") and n.startswith("tiny__L2__box-") for n in names)
    assert any(n.endswith("__lower__bigm.json") for n in names)
    for f in files:  # byte-identical re-run, network copy included
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f
    sidecar = json.loads(next(outs[0].glob("*__upper__bigm.json")).read_text())
    for key in ("network", "domain", "norms", "bound", "eps", "encoding", "objective_transform", "naming",
                "statistics", "problem_class", "solvers"):
        assert key in sidecar
    assert sidecar["problem_class"] == "nonconvex MIQCQP"  # 2 outputs: max ||g||^2 with the l2 ball
    assert not sidecar["solvers"]["cplex"]["ok"]
    manifest = json.loads((outs[0] / "manifest.json").read_text())
    assert len(manifest["instances"]) == 2


def test_target_cplex_refuses_what_cplex_cannot_take(tiny_file, tmp_path):
    r = run_cli("generate", tiny_file, "--norm", "2", "--box", "0,1", "--target", "cplex", "-o", tmp_path / "o")
    assert r.returncode == 2
    assert "CPLEX" in r.stderr and "nonconvex" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
    r = run_cli("generate", tiny_file, "--norm", "inf", "--box", "0,1", "--encoding", "quadratic", "--target", "cplex",
                "-o", tmp_path / "o")
    assert r.returncode == 2 and "bilinear" in r.stderr
    r = run_cli("generate", tiny_file, "--norm", "inf", "--box", "0,1", "--target", "cplex", "-o", tmp_path / "o")
    assert r.returncode == 0, r.stderr


def test_l2_single_output_is_cplex_compatible(tmp_path):
    path = tmp_path / "one.h5"
    save(path, tiny_network(0))
    r = run_cli("generate", path, "--norm", "2", "--box", "0,1", "--target", "cplex", "-o", tmp_path / "o", "--json")
    assert r.returncode == 0, r.stderr
    assert {e["problem_class"] for e in json.loads(r.stdout)} == {"convex MIQCP"}


def _write(path, build):
    with h5py.File(path, "w") as f:
        build(f)
    return path


def _native(f, layers):
    f.attrs["lipgen_format"] = "relu-mlp"
    f.attrs["lipgen_format_version"] = 1
    for k, (w, b) in enumerate(layers):
        g = f.create_group(f"layers/{k}")
        g["weight"], g["bias"] = w, b


BAD_FILES = {
    "missing": None,
    "not_hdf5": lambda p: p.write_text("hello"),
    "no_layers": lambda p: _write(p, lambda f: _native(f, [])),
    "unknown_layout": lambda p: _write(p, lambda f: f.create_dataset("foo", data=np.ones(3))),
    "shape_mismatch": lambda p: _write(p, lambda f: _native(f, [(np.ones((3, 2)), np.ones(3)),
                                                                (np.ones((1, 4)), np.ones(1))])),
    "bias_mismatch": lambda p: _write(p, lambda f: _native(f, [(np.ones((3, 2)), np.ones(2)),
                                                               (np.ones((1, 3)), np.ones(1))])),
    "nan": lambda p: _write(p, lambda f: _native(f, [(np.array([[np.nan, 1.0]]), np.ones(1)),
                                                     (np.ones((1, 1)), np.ones(1))])),
    "strings": lambda p: _write(p, lambda f: _native(f, [(np.array([[b"a", b"b"]]), np.ones(1)),
                                                         (np.ones((1, 1)), np.ones(1))])),
    "empty": lambda p: _write(p, lambda f: _native(f, [(np.ones((0, 2)), np.ones(0)),
                                                       (np.ones((1, 0)), np.ones(1))])),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_weights_file(kind, tmp_path):
    path = tmp_path / f"{kind}.h5"
    if BAD_FILES[kind]:
        BAD_FILES[kind](path)
    r = run_cli("generate", path, "--box", "0,1", "-o", tmp_path / "out")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith("lipgen: error:") and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args,needle", [
    (["--box", "1,0"], "lower"),
    (["--box", "a,b"], "--box"),
    (["--norm", "3", "--box", "0,1"], "--norm"),
    ([], "no input domain"),
    (["--box", "0,1", "--bound", "middle"], "--bound"),
    (["--box", "0,1", "--format", "xml"], "--format"),
    (["--box", "0,1", "--encoding", "cubic"], "encoding"),
    (["--box", "0,1", "--eps", "-1"], "eps"),
    (["--box", "0,1", "--target", "xpress"], "target"),
    (["--box", "0,1", "--target", "cbc", "--gzip", "--norm", "inf"], "gzip"),
])
def test_bad_options(tiny_file, tmp_path, args, needle):
    r = run_cli("generate", tiny_file, *args, "-o", tmp_path / "out")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "out").exists()


def test_bad_domain_dimension(tiny_file, tmp_path):
    np.savez(tmp_path / "box.npz", lower=np.zeros(2), upper=np.ones(2))
    r = run_cli("generate", tiny_file, "--box-file", tmp_path / "box.npz", "-o", tmp_path / "out")
    assert r.returncode == 2 and ("dimension" in r.stderr.lower() or "inputs" in r.stderr), r.stderr
    assert not (tmp_path / "out").exists()
