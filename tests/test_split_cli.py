"""`lipgen split` (issue 21): the split tree as a command and a library function. On the oracle's tiny nets and the
hostile nets the certified interval brackets the exact L (all nine norm pairs) and closes; exit codes 0 / 1 / 2;
result.json in `run`'s schema with the tree's statistics; a tree stopped by its node budget and resumed ends exactly
as the uninterrupted one; a state of another problem is refused; `collect` makes one row of a split run."""

from __future__ import annotations

import json

import pytest
from helpers.cli import call_main
from helpers.exact_oracle import exact_lipschitz
from helpers.hostile import all_nets
from helpers.networks import oracle_value, tiny_network, unit_box

from lipgen import pipeline
from lipgen.domain import Box
from lipgen.errors import LipgenError
from lipgen.io import save
from lipgen.network import NORMS

pytestmark = pytest.mark.fast
PAIRS = [(a, b) for a in NORMS for b in NORMS]


def brackets(s, lo: float, hi: float) -> None:
    assert s.best_lower is not None and s.best_lower <= hi * (1 + 1e-12) + 1e-300, (s.best_lower, hi)
    assert s.upper >= lo * (1 - 1e-12), (s.upper, lo)


@pytest.mark.parametrize("alpha,beta", PAIRS)
@pytest.mark.parametrize("branching", ["input", "phase"])
def test_split_equals_L_on_the_oracle_net(tmp_path, alpha, beta, branching):
    net = tiny_network(4)
    exact = oracle_value(4, alpha, beta)
    s = pipeline.split(net, Box(*unit_box(net.n_inputs)), tmp_path, alpha=alpha, beta=beta,
                       options=pipeline.SplitOptions(branching=branching, exact_max=0 if branching == "phase" else 3),
                       time_limit=60)
    brackets(s, exact, exact)
    assert s.data["split"]["closed"] and s.gap <= 1e-6 and s.ok
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["upper"] == s.upper and saved["split"]["nodes"] == s.data["split"]["nodes"] > 1


@pytest.mark.parametrize("index", range(len(all_nets())))
@pytest.mark.parametrize("alpha,beta", [("2", "2"), ("inf", "1"), ("1", "inf")])
def test_split_brackets_L_on_hostile_nets(tmp_path, index, alpha, beta):
    net = all_nets()[index]
    lo, hi = unit_box(net.n_inputs)
    exact_lo, exact_hi = exact_lipschitz(net, lo, hi, alpha, beta)
    s = pipeline.split(net, Box(lo, hi), tmp_path, alpha=alpha, beta=beta, time_limit=30)
    assert s.upper >= exact_lo * (1 - 1e-12)
    if s.best_lower is not None:
        assert s.best_lower <= exact_hi * (1 + 1e-12) + 1e-300


@pytest.fixture
def world(tmp_path):
    net = tiny_network(4)
    save(tmp_path / "net.h5", net)
    return tmp_path


def test_cli_closes_and_writes_result_json(world, capsys):
    code, out, err = call_main(["split", world / "net.h5", "--box=-1,1", "--norm", "2", "-o", world / "w", "--json"],
                               capsys)
    assert code == 0, err
    shown = json.loads(out)
    saved = json.loads((world / "w" / "result.json").read_text())
    assert shown["upper"] == saved["upper"] and saved["status"] == "optimal" and saved["mode"] == "split"
    for key in ("best_lower", "gap", "network", "norms", "domain", "domain_bounds", "consistency"):
        assert key in saved
    tree = saved["split"]
    for key in ("nodes", "pruned", "exact_leaves", "leaves_solved", "rounds", "open", "seconds"):
        assert key in tree
    assert tree["rounds"] and tree["rounds"][0]["seconds"] >= 0
    assert saved["upper"] >= oracle_value(4, "2", "2") >= saved["best_lower"]
    assert (world / "w" / "tree.npz").is_file()


def test_cli_node_limit_exits_1_then_resume_closes(world, capsys):
    argv = ["split", world / "net.h5", "--box=-1,1", "--norm", "inf", "--branching", "phase", "--exact-max", "0",
            "-o", world / "w"]
    code, _, err = call_main(argv + ["--node-limit", "3", "--json"], capsys)
    saved = json.loads((world / "w" / "result.json").read_text())
    assert code == 1 and "not closed" in err and saved["status"] == "node_limit"
    assert saved["upper"] >= oracle_value(4, "inf", "inf")
    code, _, err = call_main(argv, capsys)  # a second start without --resume is refused
    assert code == 2 and "--resume" in err
    code, _, err = call_main(argv + ["--resume", "--json"], capsys)
    assert code == 0, err
    assert json.loads((world / "w" / "result.json").read_text())["split"]["resumed"] == 1


def test_resume_after_a_node_budget_gives_the_uninterrupted_result(tmp_path):
    net = tiny_network(4)
    box = Box(*unit_box(net.n_inputs))
    opts = pipeline.SplitOptions(branching="phase", exact_max=0)
    whole = pipeline.split(net, box, tmp_path / "a", alpha="inf", beta="1", options=opts)
    assert whole.data["split"]["nodes"] > 8
    for budget in (1, 4, 7):  # stopped (a "kill" after a saved round) at several points, then resumed
        work = tmp_path / f"b{budget}"
        part = pipeline.split(net, box, work, alpha="inf", beta="1", options=opts, node_limit=budget)
        assert part.data["split"]["status"] == "node_budget" and part.upper >= whole.upper
        again = pipeline.split(net, box, work, alpha="inf", beta="1", options=opts, resume=True)
        keys = ("lower", "upper", "nodes", "pruned", "empty", "exact_leaves", "regions", "lps", "max_depth", "status")
        assert {k: again.data["split"][k] for k in keys} == {k: whole.data["split"][k] for k in keys}
        assert again.data["split"]["lower_point"] == whole.data["split"]["lower_point"]


@pytest.mark.parametrize("change,why", [(["--norm", "2"], "norms"), (["--box=-1,0.5"], "domain"),
                                        (["--gap", "0.01"], "options"), (["--branching", "input"], "options")])
def test_resume_refuses_another_problem(world, capsys, change, why):
    base = ["split", world / "net.h5", "--box=-1,1", "--norm", "inf", "-o", world / "w", "--exact-max", "0"]
    code, _, err = call_main(base + ["--branching", "phase", "--node-limit", "2"], capsys)
    assert code == 1, err
    before = (world / "w" / "tree.npz").read_bytes(), (world / "w" / "result.json").read_bytes()
    argv = base + (change if "--branching" in change else change + ["--branching", "phase"])
    code, _, err = call_main(argv + ["--resume"], capsys)
    assert code == 2 and why in err and len(err.strip().splitlines()) == 1, err
    assert ((world / "w" / "tree.npz").read_bytes(), (world / "w" / "result.json").read_bytes()) == before


def test_resume_refuses_another_network_and_a_broken_state(world, capsys):
    call_main(["split", world / "net.h5", "--box=-1,1", "-o", world / "w", "--node-limit", "2"], capsys)
    other = tiny_network(4)
    other.weights[0] = other.weights[0] * 2
    save(world / "other.h5", other)
    code, _, err = call_main(["split", world / "other.h5", "--box=-1,1", "-o", world / "w", "--resume"], capsys)
    assert code == 2 and "another network" in err
    (world / "w" / "tree.npz").write_bytes(b"not a state")
    code, _, err = call_main(["split", world / "net.h5", "--box=-1,1", "-o", world / "w", "--resume"], capsys)
    assert code == 2 and "not a split tree state" in err
    code, _, err = call_main(["split", world / "net.h5", "--box=-1,1", "-o", world / "new", "--resume"], capsys)
    assert code == 2 and "no tree state" in err and not (world / "new").exists()


def test_collect_takes_a_split_run(world, capsys):
    call_main(["split", world / "net.h5", "--box=-1,1", "--norm", "2", "-o", world / "runs" / "a"], capsys)
    call_main(["split", world / "net.h5", "--box=-1,1", "--norm", "inf", "-o", world / "runs" / "b",
               "--branching", "phase", "--exact-max", "0", "--node-limit", "2"], capsys)
    report = pipeline.collect([world / "runs"], world / "report")
    rows = sorted(report.rows, key=lambda r: r.norms)
    assert [(r.network, r.norms, r.solver, r.encoding, r.status) for r in rows] == [
        ("net", "L2", "split", "split", "solved"), ("net", "Linf", "split", "split", "limit")]
    saved = json.loads((world / "runs" / "a" / "result.json").read_text())
    assert rows[0].upper == saved["upper"] and rows[0].best_lower == saved["best_lower"]
    assert "split" in (world / "report" / "results.csv").read_text()


def test_collect_refuses_a_split_result_with_a_bad_number(world, capsys):
    call_main(["split", world / "net.h5", "--box=-1,1", "-o", world / "runs" / "a"], capsys)
    path = world / "runs" / "a" / "result.json"
    data = json.loads(path.read_text())
    data["upper"] = "lots"
    path.write_text(json.dumps(data))
    with pytest.raises(LipgenError):
        pipeline.collect([world / "runs"], world / "report")


def test_list_scheduling_makespan():
    from lipgen.split.makespan import list_schedule, simulate

    assert list_schedule([], 4) == 0.0
    assert list_schedule([3, 3, 2, 2, 2], 2) == 7.0  # longest first: {3, 2, 2} and {3, 2} (the optimum is 6)
    assert list_schedule([5, 1, 1], 8) == 5.0 and list_schedule([1] * 10, 1) == 10.0
    assert simulate([{"seconds": 1.0}], [{"leaf_times": [2, 2, 2, 2]}, {"leaf_times": [1]}], 2) == 1 + 4 + 1
