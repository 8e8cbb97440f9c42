"""`lipgen check` and the checks inside `parse`, as a user runs them on real solver files; `inspect`'s warnings."""

from __future__ import annotations

import pytest
import json
import re

import numpy as np

from helpers.cli import run_cli
from helpers.networks import random_network, tiny_network, unit_box

from lipgen.domain import Box
from lipgen.instance import generate
from lipgen.network import Network
from lipgen.instance import find_instances
from lipgen.run.batch import solve_all
from lipgen.solvers import SolveOptions

pytestmark = pytest.mark.solver  # every test here runs a solver

OPTS = SolveOptions(time_limit=60, threads=1, gap=1e-6)


def solved(tmp_path, net, solver="scip", norm="inf"):
    generate(net, Box(*unit_box(net.n_inputs)), tmp_path / "inst", alpha=norm, beta=norm)
    results = solve_all(find_instances([tmp_path / "inst"]), solver, tmp_path / "runs", OPTS, jobs=2)
    return {r["bound"]: r for r in results}


def test_check_accepts_real_solutions_and_refuses_cut_and_foreign_ones(tmp_path):
    runs = solved(tmp_path / "a", tiny_network(2))
    other = solved(tmp_path / "b", random_network(9, 3, [6, 4], 1, name="other"))
    up = runs["upper"]
    sol = tmp_path / "a" / "runs" / (up["instance"].split(".")[0] + "__scip") / "run.sol"
    sidecar = tmp_path / "a" / "inst" / up["sidecar"]
    assert up["check"]["ok"] and up["check"]["missing"] == 0
    r = run_cli("check", sol, "--instance", sidecar, "--solver", "scip", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["ok"] and json.loads(r.stdout)["max_violation"] < 1e-5
    # cut exactly at a line end: a valid-looking file that lacks variables
    lines = sol.read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.sol"
    cut.write_text("".join(lines[: len(lines) // 2]))
    r = run_cli("check", cut, "--instance", sidecar, "--solver", "scip")
    assert r.returncode == 1 and "missing" in r.stderr and "cut short" in r.stderr
    p = run_cli("parse", cut, "--instance", sidecar, "--solver", "scip", "--json")
    assert p.returncode == 1 and json.loads(p.stdout)["status"] == "refused"
    # another network's solution
    foreign = tmp_path / "b" / "runs" / (other["upper"]["instance"].split(".")[0] + "__scip") / "run.sol"
    r = run_cli("check", foreign, "--instance", sidecar, "--solver", "scip")
    assert r.returncode == 1 and "another instance" in r.stderr
    # a real solution whose stated objective was edited
    edited = tmp_path / "edited.sol"
    edited.write_text(re.sub(r"^objective value:\s*\S+", "objective value: -1000", sol.read_text(), flags=re.M))
    r = run_cli("check", edited, "--instance", sidecar, "--solver", "scip")
    assert r.returncode == 1 and "objective" in r.stderr


def test_check_gurobi_and_cplex_files(tmp_path):
    for solver in ("gurobi", "cplex"):
        runs = solved(tmp_path / solver, tiny_network(0), solver=solver, norm="2")
        for r in runs.values():
            assert r["check"]["ok"] and r["check"]["missing"] == 0, r["check"]


def test_inspect_warns_about_degenerate_networks(net_file, tmp_path):
    dup = Network([np.array([[1.0, 1.0], [2.0, 2.0], [1.0, -1.0]]), np.array([[1.0, -1.0, 0.5]])],
                  [np.array([0.0, 0.0, 0.1]), np.zeros(1)], name="dup")
    r = run_cli("inspect", net_file(dup), "--box=-1,1", "--json")
    warnings = json.loads(r.stdout)["warnings"]
    assert any("share hyperplanes" in w and "{1, 2}" in w for w in warnings)
    assert any("lower bound (strict problem) is still exact" in w for w in warnings)
    free = random_network(3, 2, [5, 4], 1, name="free")
    free.biases = [np.zeros_like(b) for b in free.biases]
    r = run_cli("inspect", net_file(free), "--box=-1,1")
    assert "layer 1 has no biases" in r.stderr and "warning:" in r.stderr
    r = run_cli("inspect", net_file(tiny_network(1)), "--box=-1,1", "--json")
    assert json.loads(r.stdout)["warnings"] == []
