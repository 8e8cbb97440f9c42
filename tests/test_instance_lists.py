"""`.test` instance lists (MIPLIB's benchmark.test style) for `lipgen solve` and `lipgen jobs`."""

from __future__ import annotations

import json

from helpers.cli import run_cli
from helpers.networks import tiny_network, unit_box

from lipgen.domain import Box
from lipgen.instance import generate
from lipgen.instance import find_instances


def _instances(tmp_path):
    inst = tmp_path / "lib" / "inst"
    generate(tiny_network(0), Box(*unit_box(2)), inst, alpha="inf", beta="inf", gzip=True)
    return sorted(inst.glob("*.mps.gz"))


def test_list_relative_to_its_folder_in_its_order(tmp_path):
    files = _instances(tmp_path)
    lst = tmp_path / "lib" / "quick.test"
    lst.write_text(f"# the quick set\n\ninst/{files[1].name}\n  inst/{files[0].name}  \n")
    found = find_instances([lst])
    assert [f.resolve() for f in found] == [files[1].resolve(), files[0].resolve()]
    # named twice (the list and the file itself): once
    assert len(find_instances([lst, files[0]])) == 2


def test_solve_a_list(tmp_path):
    files = _instances(tmp_path)
    lst = tmp_path / "lib" / "one.test"
    lst.write_text(f"inst/{files[0].name}\n")
    res = run_cli("solve", lst, "-o", tmp_path / "runs", "--time-limit", "60", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    results = json.loads(res.stdout)
    assert [r["instance"] for r in results] == [files[0].name]


def test_bad_lists(tmp_path):
    files = _instances(tmp_path)
    cases = {
        "missing.test": (f"inst/{files[0].name}\ninst/nothere.mps.gz\n", "line 2", "no such instance file"),
        "empty.test": ("# nothing\n\n", "names no instance", None),
        "other.test": ("inst/manifest.json\n", "line 1", "not an instance file"),
    }
    for name, (text, where, what) in cases.items():
        lst = tmp_path / "lib" / name
        lst.write_text(text)
        res = run_cli("solve", lst, "-o", tmp_path / "runs")
        assert res.returncode == 2, res.stderr
        line = res.stderr.strip()
        assert line.startswith("lipgen: error:") and where in line and (what is None or what in line), line
        assert "Traceback" not in res.stderr
    assert not (tmp_path / "runs").exists()
