"""`lipgen run --split auto|always|never` (issue 21: `run` uses splitting when it pays): the rule, the tree's result
in place of the MIPs when it proves L (equal to the exact oracle, no instance written), the tree's bounds merged into
the MIPs' summary when it does not, a re-run that continues the saved tree, and bad values refused."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import call_main
from helpers.exact_oracle import exact_lipschitz
from helpers.hostile import all_nets, thin_strip
from helpers.networks import oracle_value, random_network, tiny_network, unit_box

from lipgen import pipeline
from lipgen.domain import Box
from lipgen.io import save
from lipgen.results.records import RunSummary
from lipgen.run.split_first import READY, Beside, FirstSplit, first_seconds, merge
from lipgen.split.plan import FIRST_MAX_UNSTABLE, split_plan

pytestmark = pytest.mark.fast
ROOT = Path(__file__).resolve().parents[1]


def test_rule():
    assert split_plan("never", "2", "2", 0) is None
    assert split_plan("always", "inf", "inf", 500) == ("first", "--split always")
    assert split_plan("auto", "inf", "inf", 1) is None  # linear MIPs: left to them
    assert split_plan("auto", "2", "inf", FIRST_MAX_UNSTABLE)[0] == "first"
    assert split_plan("auto", "inf", "2", 3)[0] == "first"
    assert split_plan("auto", "2", "2", FIRST_MAX_UNSTABLE + 1)[0] == "beside"
    assert split_plan("auto", "inf", "1", FIRST_MAX_UNSTABLE + 1)[0] == "beside"
    assert first_seconds(None) == 30.0 and first_seconds(60) == 15.0 and first_seconds(1000) == 30.0
    assert first_seconds(1) == 0.5
    assert first_seconds(None, sdp=True) == 60.0 and first_seconds(60, sdp=True) == 30.0


@pytest.mark.parametrize("alpha,beta", [("2", "2"), ("2", "inf"), ("1", "2"), ("2", "1")])
def test_run_proved_by_the_tree_equals_L_and_solves_no_mip(tmp_path, alpha, beta):
    net = tiny_network(4)
    exact = oracle_value(4, alpha, beta)
    s = pipeline.run(net, Box(*unit_box(net.n_inputs)), alpha=alpha, beta=beta, workdir=tmp_path / "w")
    assert s.ok and s.data["split_first"]["closed"] and s.data["mode"] == "split"
    assert s.best_lower <= exact * (1 + 1e-9) and s.upper >= exact * (1 - 1e-9)
    assert s.gap <= 1e-6 and s.problems == {}
    assert len(list((tmp_path / "w" / "instances").glob("*.mps"))) == 2 and not (tmp_path / "w" / "runs").exists()
    assert s.data["naive_upper"] >= s.upper and s.data["search_lower"] <= s.best_lower
    saved = list((tmp_path / "w" / "split").glob("*/result.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text())["upper"] == s.upper


@pytest.mark.parametrize("index", range(len(all_nets())))
def test_run_split_first_brackets_L_on_hostile_nets(tmp_path, index):
    """--split always on every hostile net: a closed tree's bracket, when it closes, holds the exact L."""
    net = all_nets()[index]
    lo, hi = unit_box(net.n_inputs)
    exact_lo, exact_hi = exact_lipschitz(net, lo, hi, "2", "2")
    first = pipeline.finish_split(pipeline.run_split_first(net, Box(lo, hi), tmp_path, alpha="2", beta="2",
                                                           split="always", opts=pipeline.SolveOptions(time_limit=20)))
    assert first is not None
    d = first.data
    assert d["upper"] >= exact_lo * (1 - 1e-12)
    if d["best_lower"] is not None:
        assert d["best_lower"] <= exact_hi * (1 + 1e-12) + 1e-300


def test_a_rerun_continues_the_saved_tree(tmp_path):
    net = tiny_network(4)
    box = Box(*unit_box(net.n_inputs))
    a = pipeline.run(net, box, workdir=tmp_path)
    b = pipeline.run(net, box, workdir=tmp_path)
    assert a.upper == b.upper and a.best_lower == b.best_lower
    assert a.data["split_first"]["resumed"] == 0 and b.data["split_first"]["resumed"] == 1
    c = pipeline.run(net, box, workdir=tmp_path, opts=pipeline.SolveOptions(gap=1e-3))  # other options: redone
    assert c.data["split_first"]["resumed"] == 0 and c.best_lower <= a.upper
    d = pipeline.run(net, box, workdir=tmp_path, opts=pipeline.SolveOptions(gap=1e-3), force=True)  # started over
    assert d.data["split_first"]["resumed"] == 0 and (d.upper, d.best_lower) == (c.upper, c.best_lower)


def wide_net():
    """17 unstable neurons on [-1, 1]^2 (linear bounds): the rule puts the tree beside the MIPs."""
    return random_network(2, 2, [10, 10], 1)


def _ready(tree: Beside, seconds: float = 60.0) -> None:
    end = time.perf_counter() + seconds
    while not (tree.folder / READY).exists():
        assert time.perf_counter() < end, "the tree's process never started"
        time.sleep(0.05)


def test_a_tree_beside_stops_when_asked_and_brackets_L(tmp_path):
    net = wide_net()
    lo, hi = unit_box(2)
    exact_lo, exact_hi = exact_lipschitz(net, lo, hi, "inf", "inf")
    tree = pipeline.run_split_first(net, Box(lo, hi), tmp_path, alpha="inf", beta="inf", split="auto",
                                    opts=pipeline.SolveOptions())
    assert isinstance(tree, Beside)
    _ready(tree)
    time.sleep(0.5)
    started = time.perf_counter()
    first = pipeline.finish_split(tree)
    assert time.perf_counter() - started < 5.0
    assert first.when == "beside" and first.unstable == 17 and "beside" in first.reason
    d = first.data
    assert d["upper"] >= exact_lo * (1 - 1e-12)
    assert d["best_lower"] is None or d["best_lower"] <= exact_hi * (1 + 1e-12)
    assert json.loads((tree.folder / "result.json").read_text())["upper"] == d["upper"]


def test_a_tree_still_starting_is_killed_and_gives_nothing(tmp_path):
    tree = pipeline.run_split_first(wide_net(), Box(*unit_box(2)), tmp_path, alpha="inf", beta="inf",
                                    split="auto", opts=pipeline.SolveOptions())
    started = time.perf_counter()
    assert pipeline.finish_split(tree) is None and time.perf_counter() - started < 5.0


class _Proved:
    """A tree beside that proves L after `after` seconds."""

    def __init__(self, after: float):
        self.at = time.perf_counter() + after

    def proved(self) -> bool:
        return time.perf_counter() >= self.at


@pytest.mark.solver
def test_a_proof_beside_stops_the_mips(tmp_path):
    """The batch asks its judge every tick: once the tree beside has proved L, the solvers still running stop."""
    from lipgen.run.batch import solve_all
    from lipgen.run.split_first import TreeJudge

    net = random_network(8, 2, [24, 24], 1)  # its l2 MIPs take well over the 1 s below
    written = pipeline.generate(net, Box(*unit_box(2)), tmp_path / "inst", alpha="2", beta="2")
    names = [g.path.name for g in written]
    started = time.perf_counter()
    results = solve_all([g.path for g in written], "scip", tmp_path / "runs", pipeline.SolveOptions(time_limit=60),
                        jobs=2, judge=TreeJudge(_Proved(1.0), names))
    assert time.perf_counter() - started < 20
    assert {r["status"] for r in results} == {"interrupted"}
    assert all("split tree beside" in r["status_text"] for r in results)


def test_merge_says_optimal_when_the_tree_proved_L():
    first = _first(8.0, 8.0)
    first.data["split"]["closed"] = True
    m = merge(_summary(10.0, 5.0), first)
    assert (m.upper, m.best_lower, m.status, m.gap) == (8.0, 8.0, "optimal", 0.0)


@pytest.mark.solver
def test_run_with_a_tree_beside_the_mips(tmp_path):
    net = wide_net()
    lo, hi = unit_box(2)
    exact_lo, exact_hi = exact_lipschitz(net, lo, hi, "inf", "inf")
    s = pipeline.run(net, Box(lo, hi), alpha="inf", beta="inf", workdir=tmp_path)
    assert s.ok and set(s.problems) == {"upper", "lower"} and s.gap < 1e-4
    assert s.best_lower <= exact_hi * (1 + 1e-12) and s.upper >= exact_lo * (1 - 1e-12)
    f = s.data.get("split_first")  # absent when the MIPs ended before the tree's process had started
    if f is not None:
        assert f["when"] == "beside" and s.upper <= min(f["upper"], s.data["upper_mip"] or float("inf"))


def test_never_and_linear_norms_take_no_tree(tmp_path):
    net = tiny_network(4)
    box = Box(*unit_box(net.n_inputs))
    assert pipeline.run_split_first(net, box, tmp_path, alpha="2", beta="2", split="never",
                                    opts=pipeline.SolveOptions()) is None
    assert pipeline.run_split_first(net, box, tmp_path, alpha="inf", beta="1", split="auto",
                                    opts=pipeline.SolveOptions()) is None
    assert not (tmp_path / "split").exists()


def _summary(upper, lower) -> RunSummary:
    data = {"upper": upper, "upper_source": "MIP", "best_lower": lower, "lower_source": "strict MIP",
            "consistency": "ok", "status": "time_limit", "gap": None}
    return RunSummary(network="n", norms=("2", "2"), status="time_limit", consistency="ok", upper=upper,
                      best_lower=lower, gap=None, workdir=".", problems={}, data=data)


def _first(upper, lower) -> FirstSplit:
    split = {"closed": False, "nodes": 3, "regions": 0, "lps": 0, "wall_time": 1.0, "resumed": 0}
    return FirstSplit({"upper": upper, "best_lower": lower, "status": "time_limit", "workdir": "w", "split": split},
                      "r", 20, 15.0)


def test_merge_takes_the_better_bound_of_each_source():
    m = merge(_summary(10.0, 5.0), _first(8.0, 4.0))
    assert (m.upper, m.best_lower) == (8.0, 5.0) and m.data["upper_source"].startswith("split tree")
    assert m.gap == pytest.approx(3 / 8) and m.data["lower_source"] == "strict MIP"
    m = merge(_summary(10.0, None), _first(12.0, 6.0))
    assert (m.upper, m.best_lower) == (10.0, 6.0) and m.data["lower_source"].startswith("split tree")
    m = merge(_summary(10.0, 5.0), _first(4.0, None))  # a contradiction is reported, never a negative gap
    assert m.consistency == "inconsistent" and m.gap is None and m.status == "inconsistent"


def test_cli_run_proved_by_the_tree(tmp_path, capsys):
    net = tiny_network(4)
    save(tmp_path / "net.h5", net)
    code, out, err = call_main(["run", str(tmp_path / "net.h5"), "--box", "-1,1", "-o", str(tmp_path / "w"),
                                "--json"], capsys)
    assert code == 0
    s = json.loads(out)
    assert s["mode"] == "split" and s["split_first"]["closed"] and s["split_first"]["reason"].startswith("l2 norm")
    exact = oracle_value(4, "2", "2")
    assert s["best_lower"] <= exact * (1 + 1e-9) <= s["upper"] * (1 + 2e-9)
    assert s["sdp_upper"] >= exact * (1 - 1e-9)  # the anchors the MIP table shows, the l2 SDP bound included
    code, out, err = call_main(["run", str(tmp_path / "net.h5"), "--box", "-1,1", "-o", str(tmp_path / "w")], capsys)
    assert code == 0 and "split tree (no solver)" in out and "proved L, no MIP was solved" in err
    assert "SDP bound (LipSDP-Neuron, verified)" in out and "float64 estimate" in out


def test_cli_run_refuses_a_bad_split_value(tmp_path, capsys):
    save(tmp_path / "net.h5", tiny_network(4))
    code, out, err = call_main(["run", str(tmp_path / "net.h5"), "--box", "-1,1", "--split", "sometimes", "-o",
                                str(tmp_path / "w")], capsys)
    assert code == 2 and "--split 'sometimes'" in err and not (tmp_path / "w").exists()


def test_the_tree_proves_a_region_too_thin_for_every_eps(tmp_path):
    """A strip of width 1e-8 carries L: the strict MIP cannot enter it at any eps of the ladder ("thin region
    suspected" with --split never), the tree's enumeration finds it."""
    net = thin_strip(1e-8)
    box = Box(-np.ones(2), np.ones(2))
    lo, hi = exact_lipschitz(net, box.lower, box.upper, "2", "2")
    s = pipeline.run(net, box, workdir=tmp_path)
    assert s.ok and s.data["split_first"]["closed"]
    assert lo * (1 - 1e-9) <= s.best_lower <= hi * (1 + 1e-12) and lo * (1 - 1e-12) <= s.upper <= hi * (1 + 1e-8)


def test_a_constant_network_is_proved_zero(tmp_path, capsys):
    net = tiny_network(1)
    net.weights[-1][:] = 0.0
    save(tmp_path / "flat.h5", net)
    code, out, err = call_main(["run", str(tmp_path / "flat.h5"), "--box=-1,1", "-o", str(tmp_path / "w"), "--json"],
                               capsys)
    assert code == 0 and "-0.0" not in out
    s = json.loads(out)
    assert (s["upper"], s["best_lower"], s["gap"]) == (0, 0, 0) and s["split_first"]["closed"]


def test_collect_takes_the_tree_of_a_run(tmp_path):
    net = tiny_network(4)
    s = pipeline.run(net, Box(*unit_box(net.n_inputs)), workdir=tmp_path / "w")
    report = pipeline.collect([tmp_path / "w"], tmp_path / "report", plots=True)
    assert [(r.solver, r.status, r.upper) for r in report.rows] == [("split", "solved", s.upper)]
    assert report.leaves == [] and not (tmp_path / "report" / "results.leaves.csv").exists()
    assert len(list((tmp_path / "report" / "plots").glob("split-*.png"))) == 1


def test_progress_without_timestamps_follows_the_tree_rounds():
    from lipgen.report.leaves import progress

    d = {"split": {"rounds": [{"seconds": 1.0, "lower": 1.0, "upper": 3.0}, {"seconds": 2.0, "lower": 2.0,
                                                                            "upper": 2.5}],
                   "leaf_rounds": [{"seconds": 5.0, "lower": 2.0, "upper": 2.2}]}}
    assert progress(d) == [(1.0, 1.0, 3.0), (3.0, 2.0, 2.5)]
    for i, r in enumerate(d["split"]["rounds"]):
        r["ended_at"] = 100.0 + 10 * i
    d["split"]["leaf_rounds"][0]["ended_at"] = 105.0
    assert progress(d) == [(1.0, 1.0, 3.0), (6.0, 2.0, 2.2), (11.0, 2.0, 2.5)]


def test_the_tree_keeps_its_budget_inside_one_enumeration(tmp_path):
    """digits-64-16-10 on its data box has 16 unstable neurons: with l-inf and --split always the root alone is one
    long enumeration (2^16 patterns at most). With --time-limit 4 the tree gets 1 s, and stops inside the
    enumeration. (In l2 the SDP at the nodes proves this box in about a second.)"""
    from lipgen.io import load

    net = load(ROOT / "instances" / "networks" / "digits-64-16-10.h5")
    box = Box(np.asarray(net.domain_lower, float), np.asarray(net.domain_upper, float))
    started = time.perf_counter()
    tree = pipeline.run_split_first(net, box, tmp_path, alpha="inf", beta="inf", split="always",
                                    opts=pipeline.SolveOptions(time_limit=4))
    assert time.perf_counter() - started < 6.0
    assert isinstance(tree, Beside)  # not closed first: it goes on beside the MIPs, for --time-limit
    assert tree.before is not None and tree.before.budget == 1.0 and not tree.before.closed
    _ready(tree)
    first = pipeline.finish_split(tree)
    assert first.when == "first, then beside" and first.budget == 4 and not first.closed
    assert first.data["split"]["status"] in ("time_budget", "stopped") and first.data["status"] == "time_limit"
    assert first.data["upper"] >= first.data["best_lower"] > 0


def test_inspect_says_when_run_uses_the_tree(tmp_path, capsys):
    save(tmp_path / "few.h5", tiny_network(4))
    save(tmp_path / "many.h5", wide_net())
    code, out, _ = call_main(["inspect", str(tmp_path / "few.h5"), "--box=-1,1", "--json"], capsys)
    b = json.loads(out)["bounds"]
    assert code == 0 and (b["2"]["split"], b["inf"]["split"], b["1"]["split"]) == ("first", "no", "no")
    code, out, _ = call_main(["inspect", str(tmp_path / "many.h5"), "--box=-1,1", "--json"], capsys)
    many = json.loads(out)["bounds"]
    assert (many["2"]["split"], many["inf"]["split"], many["1"]["split"]) == ("first", "beside", "beside")
    assert "SDP" in many["2"]["split_why"]  # 17 unstable neurons, but l2 -> l2: the SDP at every node
    code, out, _ = call_main(["inspect", str(tmp_path / "few.h5"), "--box=-1,1"], capsys)
    assert "run --split auto" in out and "first: l2 norm" in out
