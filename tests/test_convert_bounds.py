"""Converted networks (PyTorch, ONNX, safetensors) give the same Lipschitz bounds as the exact oracle."""

from __future__ import annotations

import json

import numpy as np
import pytest
# optional libraries: without them these tests are skipped, not a collection error
torch = pytest.importorskip("torch")
safetensors = pytest.importorskip("safetensors")
pytest.importorskip("safetensors.numpy")

from helpers.cli import run_cli
from helpers.onnx_models import gemm_chain, save_onnx
from helpers.oracle import exact_lipschitz
from helpers.scip import solve_bounds

from lipgen.domain import Box
from lipgen.io import load

pytestmark = pytest.mark.solver  # every test here runs a solver


def test_torch_convert_cli_then_bounds_match_oracle(tmp_path):
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(2, 7), torch.nn.ReLU(), torch.nn.Linear(7, 5), torch.nn.ReLU(),
                                 torch.nn.Linear(5, 2)).double()
    torch.save(module.state_dict(), tmp_path / "model.pt")
    r = run_cli("convert", tmp_path / "model.pt", "-o", tmp_path / "net.h5", "--box", "-1,1")
    assert r.returncode == 0, r.stderr
    net = load(tmp_path / "net.h5")
    x = np.random.default_rng(1).uniform(-1, 1, (50, 2))
    assert np.allclose(net.forward(x), module(torch.from_numpy(x)).detach().numpy(), atol=1e-6)
    assert np.array_equal(net.domain_lower, [-1, -1]) and np.array_equal(net.domain_upper, [1, 1])
    for norm in ("2", "inf"):
        res = solve_bounds(net, Box(net.domain_lower, net.domain_upper), tmp_path / norm, alpha=norm, beta=norm)
        exact = exact_lipschitz(net, net.domain_lower, net.domain_upper, norm, norm)
        # L is small here (~0.14) and solver tolerances are absolute (1e-6) below magnitude 1
        assert res["upper"] == pytest.approx(exact, rel=1e-5, abs=1e-5)
        assert res["lower"] == pytest.approx(exact, rel=1e-5, abs=1e-5)
        assert res["certified_lower"] <= exact * (1 + 1e-12) and res["upper"] >= exact * (1 - 1e-7)


def test_onnx_file_runs_directly(tmp_path):
    nodes, inits = gemm_chain([3, 6, 1], trans_b=1)
    path = save_onnx(tmp_path / "model.onnx", nodes, inits, [None, 3], [None, 1])
    r = run_cli("run", path, "--norm", "1", "--box", "0,1", "--json", "-o", tmp_path / "work")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    exact = exact_lipschitz(load(path), np.zeros(3), np.ones(3), "1", "1")
    assert res["upper"] == pytest.approx(exact, rel=1e-5) and res["certified_lower"] == pytest.approx(exact, rel=1e-5)


def test_safetensors_generate_directly(tmp_path):
    rng = np.random.default_rng(5)
    tensors = {"0.weight": rng.normal(size=(6, 2)), "0.bias": rng.normal(size=6),
               "2.weight": rng.normal(size=(1, 6)), "2.bias": rng.normal(size=1)}
    safetensors.numpy.save_file(tensors, str(tmp_path / "m.safetensors"))
    net = load(tmp_path / "m.safetensors")
    res = solve_bounds(net, Box(-np.ones(2), np.ones(2)), tmp_path / "o", alpha="inf", beta="inf")
    exact = exact_lipschitz(net, -np.ones(2), np.ones(2), "inf", "inf")
    assert res["upper"] == pytest.approx(exact, rel=1e-5) and res["lower"] == pytest.approx(exact, rel=1e-5)
