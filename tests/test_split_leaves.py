"""Leaf MIP instances of the split tree (issue 21): solved in rounds with SCIP, their certified bounds keep the
bracket around the exact L and close it; a result of another leaf is refused."""

from __future__ import annotations

import json

import pytest
from helpers.networks import oracle_value, tiny_network, unit_box

from lipgen import pipeline
from lipgen.domain import Box
from lipgen.report.leaves import progress
from lipgen.run.split_leaves import LEAVES, apply_result, write_leaf
from lipgen.split import Tree, TreeOptions

pytestmark = pytest.mark.solver


@pytest.mark.parametrize("alpha,beta", [("inf", "inf"), ("1", "1")])
def test_leaf_rounds_bracket_and_close_on_L(tmp_path, alpha, beta):
    net = tiny_network(4)
    exact = oracle_value(4, alpha, beta)
    s = pipeline.split(net, Box(*unit_box(net.n_inputs)), tmp_path, alpha=alpha, beta=beta,
                       options=pipeline.SplitOptions(branching="input", exact_max=0, rel_gap=1e-4), time_limit=120,
                       leaves=pipeline.LeafOptions(jobs=2, count=2, time_limit=20, round_nodes=3))
    t = s.data["split"]
    assert t["leaf_rounds"] and t["leaves_solved"] + t["leaves_tightened"] >= 1
    assert s.upper >= exact * (1 - 1e-9) and s.best_lower <= exact * (1 + 1e-12)
    assert all(not r["refused"] for r in t["leaf_rounds"])
    assert sorted(p.name for p in (tmp_path / LEAVES).glob("leaf-*")) == [
        p.name for p in sorted((tmp_path / LEAVES).glob("leaf-*"))]
    assert json.loads((tmp_path / "result.json").read_text())["upper"] == s.upper


def test_a_result_of_another_leaf_is_refused(tmp_path):
    net = tiny_network(4)
    tree = Tree(net, Box(*unit_box(net.n_inputs)), "inf", "inf", TreeOptions(branching="input", exact_max=0))
    tree.run(node_budget=9)
    assert len(tree.heap) >= 2
    (b1, n1), (b2, n2) = tree.open_nodes(2)
    a, b = write_leaf(tree, tmp_path, b1, n1), write_leaf(tree, tmp_path, b2, n2)
    results = pipeline.solve([a.path, b.path], "scip", tmp_path / "runs", pipeline.SolveOptions(time_limit=30))
    before = (tree.upper, len(tree.heap))
    why = apply_result(tree, b, results[0].data)  # a's result offered to b
    assert why is not None and "another instance" in why and (tree.upper, len(tree.heap)) == before
    other = Tree(net, Box(*unit_box(net.n_inputs)), "1", "1", TreeOptions(branching="input", exact_max=0))
    assert "another split tree" in str(apply_result(other, a, results[0].data))
    assert apply_result(tree, a, results[0].data) is None  # its own result is applied
    assert tree.upper <= before[0]


def test_collect_shows_the_leaves_as_a_sub_table_and_the_bounds_over_time(tmp_path):
    net = tiny_network(4)
    work = tmp_path / "runs" / "s"
    s = pipeline.split(net, Box(*unit_box(net.n_inputs)), work, alpha="inf", beta="inf",
                       options=pipeline.SplitOptions(branching="input", exact_max=0, rel_gap=1e-4), time_limit=120,
                       leaves=pipeline.LeafOptions(jobs=2, count=2, time_limit=20, round_nodes=3))
    report = pipeline.collect([tmp_path / "runs"], tmp_path / "report", plots=True)
    assert [(r.network, r.solver, r.mode) for r in report.rows] == [("tiny4", "split", "split")]  # no leaf rows
    solved = sum(r["leaves"] for r in s.data["split"]["leaf_rounds"])
    assert len(report.leaves) == solved >= 1
    assert {r["split"] for r in report.leaves} == {report.rows[0].group}
    assert all(r["upper"] is None or r["upper"] >= 0 for r in report.leaves)
    assert (tmp_path / "report" / "results.leaves.csv").read_text().count("\n") == solved + 1
    assert "## Split leaves" in (tmp_path / "report" / "results.md").read_text()
    assert (tmp_path / "report" / "plots" / f"split-{report.rows[0].group}.png").stat().st_size > 1000
    series = progress(s.data)
    assert len(series) == len(s.data["split"]["rounds"]) + len(s.data["split"]["leaf_rounds"])
    assert all(a[0] <= b[0] and a[1] <= b[1] + 1e-12 and a[2] >= b[2] - 1e-12 for a, b in zip(series, series[1:]))
    assert series[-1][2] == s.upper
