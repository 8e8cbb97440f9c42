"""`generate` reports each stage (models, anchors, each file) and streams files whose hash is in the sidecar."""

from __future__ import annotations

import hashlib
import json

import numpy as np
from conftest import random_network, run_cli, tiny_network, unit_box

from lipgen.domain import Box
from lipgen.instance import generate
from lipgen.weights import save


def test_library_reports_every_stage(tmp_path):
    net = tiny_network(4)
    lines: list[str] = []
    written = generate(net, Box(*unit_box(net.n_inputs)), tmp_path, alpha="inf", beta="inf", gzip=True,
                       log=lines.append)
    assert [line.split()[1] if line.split()[1] == "bounds" else line.split()[0] for line in lines] == [
        "bounds", "anchors:", "built", "wrote", "wrote"]
    assert "upper model" in lines[2] and "lower model" in lines[2] and lines[2].endswith(" s]")
    for g in written:
        raw = g.path.read_bytes()
        assert g.sidecar["instance_sha256"] == hashlib.sha256(raw).hexdigest()
        assert any(g.path.name in line for line in lines)
    assert written[0].sidecar["anchors"]["sampled_points"] == 1000


def test_cli_prints_stages_for_large_networks_only(tmp_path):
    small = tmp_path / "small.h5"
    save(small, tiny_network(2))
    r = run_cli("generate", small, "--norm", "inf", "--box", "0,1", "-o", tmp_path / "a")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    big = tmp_path / "big.h5"
    save(big, random_network(1, 320, [320], 3, name="big"))  # 103 360 weights
    r = run_cli("generate", big, "--norm", "inf", "--box", "0,1", "--bound", "upper", "-o", tmp_path / "b")
    assert r.returncode == 0, r.stderr
    stages = [line for line in r.stderr.splitlines() if line.startswith("lipgen: ")]
    assert len(stages) == 4 and "bounds" in stages[0] and "anchors" in stages[1] and "big__Linf" in stages[3], r.stderr
    sidecar = json.loads(next((tmp_path / "b").glob("*__upper__bigm*.json")).read_text())
    anchors = sidecar["anchors"]
    assert anchors["sampled_certified"] <= anchors["sampled_estimate"] <= anchors["naive_upper"]
    assert np.isfinite(sidecar["anchors"]["naive_upper"])
