"""The instance library instances/v1: committed files are what the code makes, values and lists hold together, and
quick instances solve to the .solu's values."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import run_cli

pytestmark = pytest.mark.solver  # every test here runs a solver

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "instances" / "v1"
SOLU = LIB / "lipgen-v1.solu"
# one item per family, encoding and problem class; both bound kinds each
REGENERATED = ("iris-4-8-3/data/L1toinf/bigm", "cancer-30-16-1/test0-r0.01/L2/bigm", "lipbab-4-5-5-3/box/Linfto2/bigm",
               "lipmip-depth1/box/Linf/quadratic", "digits-64-16-10/test1-r0.05/L1/bigm")


def _solu() -> dict[str, tuple[str, float | None]]:
    out = {}
    for line in SOLU.read_text().splitlines():
        kind, name, *value = line.split()
        out.setdefault(name, []).append((kind, float(value[0]) if value else None))
    return out


def _same_tokens(a: list[str], b: list[str], rel: float = 1e-12) -> bool:
    """Two files' tokens equal, numbers within `rel` relative."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x == y:
            continue
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            return False
        if abs(fx - fy) > rel * max(abs(fx), abs(fy)):
            return False
    return True


def _list(name: str) -> list[str]:
    return [line for line in (LIB / name).read_text().splitlines() if line.strip()]


def _build(into: Path) -> list[Path]:
    """Build the REGENERATED items (as `python instances/build.py --item`, single-threaded BLAS like the library's
    build) into `into`; the instance files made."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    args = [a for key in REGENERATED for a in ("--item", key)]
    res = subprocess.run([sys.executable, str(ROOT / "instances" / "build.py"), *args, "--into", str(into)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    made = [Path(line) for line in res.stdout.splitlines()]
    assert len(made) == 2 * len(REGENERATED)
    return made


def test_regenerated_instances_are_deterministic(tmp_path):
    """Two fresh builds of a few items give byte-identical instance files, sidecars and network copies, and every
    item still has its committed lipgen-v1 files.

    The committed v1 files were made before issue 17 (sidecar version 2: no certified sampled anchor, no
    conditioning record); they stay as published and are still read and solved (the tests below). Byte comparison
    of a fresh build against a committed one returns with the library's next version."""
    first, second = _build(tmp_path / "a"), _build(tmp_path / "b")
    for a, b in zip(first, second):
        assert a.name == b.name
        assert (LIB / "instances" / a.name).is_file(), f"{a.name} is not in the library"
        sa, sb = (p.with_name(p.name.removesuffix(".mps.gz") + ".json") for p in (a, b))
        assert a.read_bytes() == b.read_bytes(), a.name
        assert sa.read_bytes() == sb.read_bytes(), sa.name
    for copy in (tmp_path / "a" / "networks").iterdir():
        assert copy.read_bytes() == (tmp_path / "b" / "networks" / copy.name).read_bytes()


def test_committed_sample_rebuilds_from_its_sidecar_against_sha256sums():
    """The quick set's committed files, rebuilt from their sidecars and networks (bounds recomputed, the rows written
    again), are the files SHA256SUMS names: byte for byte, or, where another CPU's SIMD reductions round a bound's
    last bit differently, token for token with numbers within 1e-12 relative (counted; at most a quarter)."""
    import gzip

    from lipgen.instance.sidecar import network_of, rebuild_model
    from lipgen.writers import render_model

    sums = dict(reversed(line.split("  ", 1)) for line in (LIB / "SHA256SUMS").read_text().splitlines())
    sample = [p for p in _list("quick.test") if p.startswith("instances/")]
    assert len(sample) >= 10
    rounded = []
    for rel in sample:
        sidecar_path = LIB / (rel.removesuffix(".mps.gz") + ".json")
        sidecar = json.loads(sidecar_path.read_text())
        rebuilt = render_model(rebuild_model(sidecar, network_of(sidecar, sidecar_path)), "mps", gzip=True)
        if hashlib.sha256(rebuilt).hexdigest() == sums[rel]:
            continue
        committed = gzip.decompress((LIB / rel).read_bytes()).decode().split()
        assert _same_tokens(gzip.decompress(rebuilt).decode().split(), committed), rel
        rounded.append(rel)
    assert len(rounded) <= len(sample) // 4, rounded


def test_every_solu_entry_has_its_files():
    manifest = {e["instance"]: e for e in json.loads((LIB / "instances" / "manifest.json").read_text())["instances"]}
    solu = _solu()
    assert solu, "the .solu is empty"
    for name, entries in solu.items():
        inst = LIB / "instances" / f"{name}.mps.gz"
        sidecar = LIB / "instances" / f"{name}.json"
        assert inst.is_file() and sidecar.is_file(), name
        assert hashlib.sha256(inst.read_bytes()).hexdigest() == json.loads(sidecar.read_text())["instance_sha256"] \
            == manifest[inst.name]["sha256"]
        kinds = {k for k, _ in entries}
        assert kinds in ({"=opt="}, {"=inf="}, {"=best="}, {"=bestdual="}, {"=best=", "=bestdual="}), (name, kinds)


def test_lists_metadata_and_checksums_agree():
    every = _list("all.test")
    assert len(every) == len(set(every))
    sums = dict(reversed(line.split("  ", 1)) for line in (LIB / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == set(every)
    committed = [p for p in every if p.startswith("instances/")]
    for p in committed:
        assert hashlib.sha256((LIB / p).read_bytes()).hexdigest() == sums[p], p
    on_disk = {f"instances/{f.name}" for f in (LIB / "instances").glob("*.mps.gz")}
    assert on_disk == set(committed)
    for name in ("quick.test", "benchmark.test"):
        listed = _list(name)
        assert listed and set(listed) <= set(committed), name
    rows = list(csv.DictReader((LIB / "metadata.csv").open()))
    assert sorted(f"{r['folder']}/{r['instance']}.mps.gz" for r in rows) == sorted(every)
    solu = _solu()
    for r in rows:
        assert r["status"] in ("easy", "hard", "open")
        if r["status"] != "open":  # solved: the .solu knows the optimum (or infeasibility)
            assert solu[r["instance"]][0][0] in ("=opt=", "=inf="), r["instance"]
            assert r["solved_by"] and float(r["time"]) >= 0
        if r["solu"] == "opt":
            assert float(r["objective"]) == solu[r["instance"]][0][1]
        member = r["sets"].split()
        assert ("quick" in member) == (f"{r['folder']}/{r['instance']}.mps.gz" in _list("quick.test"))


def test_networks_match_the_catalog():
    from lipgen.io import load

    catalog = json.loads((ROOT / "instances" / "networks" / "catalog.json").read_text())["networks"]
    for e in catalog:
        h5 = ROOT / "instances" / "networks" / f"{e['name']}.h5"
        if not e["committed"]:
            continue
        assert hashlib.sha256(h5.read_bytes()).hexdigest() == e["h5_sha256"]
        assert load(h5).digest() == load(h5.with_suffix(".onnx")).digest() == e["digest"], e["name"]


@pytest.mark.parametrize("bound", ["upper", "lower"])
def test_quick_instance_solves_to_the_solu(tmp_path, bound):
    """A new user's check: solve a quick instance, then `lipgen collect --solu` says ok."""
    quick = [p for p in _list("quick.test") if f"__{bound}__" in p]
    solu = _solu()
    pick = next(p for p in quick if solu.get(Path(p).name.removesuffix(".mps.gz"), [("", None)])[0][0] == "=opt=")
    res = run_cli("solve", LIB / pick, "--threads", "1", "--time-limit", "120", "-o", tmp_path / "runs")
    assert res.returncode == 0, res.stderr
    res = run_cli("collect", tmp_path / "runs", "-o", tmp_path / "report", "--solu", SOLU, "--json")
    assert res.returncode == 0, res.stderr
    compared = json.loads(res.stdout)["compare"]
    assert [c["verdict"] for c in compared] == ["ok"], compared
