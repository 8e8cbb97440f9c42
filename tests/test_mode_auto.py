"""`--mode auto` decided by the problem's size (issue 20, item 1; lipgen/formulation/mode.py), what `inspect` says about
it (item 5), and `collect` keeping the two modes of one problem apart (item 4)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import run_cli
from helpers.networks import random_network

from lipgen import pipeline
from lipgen.bounds import compute_bounds, stabilities
from lipgen.domain import Box
from lipgen.formulation import choose_mode, mode_sizes
from lipgen.instance import generate
from lipgen.io import load, save
from lipgen.report.plots import _problem_labels
from lipgen.report.rows import make_rows
from lipgen.report.collect import pair_runs
from lipgen.report.gather import gather

ROOT = Path(__file__).resolve().parent.parent
NETS = ROOT / "instances" / "networks"


def _digits_ball():
    """digits-64-32-32-10 on the catalog's ball test1-r0.05: the issue's datapoint (backward times out at 60 s,
    forward proves L = 152.36 in 4 s)."""
    net = load(NETS / "digits-64-32-32-10.h5")
    entry = next(n for n in json.loads((NETS / "catalog.json").read_text())["networks"]
                 if n["name"] == "digits-64-32-32-10")
    ball = next(b for b in entry["balls"] if b["label"] == "test1-r0.05")
    return net, Box(np.array(ball["lower"]), np.array(ball["upper"]), "ball")


def _stability(net, box):
    return stabilities(net, compute_bounds(net, box.lower, box.upper, "linear"))


@pytest.mark.fast
def test_digits_ball_takes_forward(tmp_path):
    """64 sign binaries for the l1 dual norm of r_0 against 14 unstable neurons: forward, and the sidecar says why."""
    net, box = _digits_ball()
    written = generate(net, box, tmp_path, alpha="inf", beta="inf", bounds=("upper",))
    sc = written[0].sidecar
    assert sc["mode"] == "forward" and written[0].path.name.endswith("__bigm.mps")
    choice = sc["mode_choice"]
    assert choice["chosen"] == "forward" and choice["unstable"] == 14
    assert choice["forward"]["binaries"] == 14 + 10 and choice["backward"]["binaries"] == 14 + 10 + 64
    assert sc["statistics"]["binary"] == choice["forward"]["binaries"]  # the count is the built model's
    assert "unstable neurons" in choice["why"] and choice["rule"]


@pytest.mark.fast
def test_explicit_mode_has_no_choice_record(tmp_path):
    net = random_network(3, 2, [5, 4], 2)
    box = Box(-np.ones(2), np.ones(2))
    sc = generate(net, box, tmp_path, alpha="inf", beta="inf", bounds=("upper",), mode="backward")[0].sidecar
    assert sc["mode"] == "backward" and "mode_choice" not in sc


@pytest.mark.fast
@pytest.mark.parametrize("alpha,beta,n_out,mode,reason", [
    # the old rule's safety: l2 inputs keep forward's linear objective over a convex ball
    ("2", "2", 1, "forward", "convex"),
    ("2", "inf", 3, "forward", "convex"),
    # l-inf / l1 inputs with several l2 outputs: backward's covector ball keeps it convex
    ("inf", "2", 3, "backward", "convex"),
    ("1", "2", 3, "backward", "convex"),
    # then l1 inputs go forward (measured: benchmarks/mode_calibration.md), whatever the count says
    ("1", "1", 1, "forward", "l1 inputs"),
    ("1", "inf", 3, "forward", "l1 inputs"),
])
def test_convexity_comes_first(alpha, beta, n_out, mode, reason):
    net = random_network(5, 4, [8, 8], n_out)
    box = Box(-np.ones(4), np.ones(4))
    chosen, record = choose_mode(net, _stability(net, box), alpha, beta)
    assert chosen == mode and reason in record["why"]


@pytest.mark.fast
def test_deep_net_with_few_inputs_takes_backward():
    """2-20-20-20-2 (LipMIP's width-20 net): two input signs against 45 unstable neurons, backward (calibrated: it
    proves in 12 s where forward times out at 30 s)."""
    net = load(NETS / "lipmip-width20.h5")
    box = Box(net.domain_lower, net.domain_upper)
    chosen, record = choose_mode(net, _stability(net, box), "inf", "inf")
    assert chosen == "backward" and record["backward"]["binaries"] - record["forward"]["binaries"] == 2


@pytest.mark.fast
def test_one_output_counts_the_exact_last_layer():
    """One output: backward's last hidden layer multiplies a known covector, no big-M there."""
    net = random_network(7, 5, [16, 16], 1)
    box = Box(-np.ones(5), np.ones(5))
    stab = _stability(net, box)
    sizes = mode_sizes(net, stab, "inf", "inf")
    last = int(stab[-1].unstable.sum())
    assert sizes["forward"]["products"] - sizes["backward"]["products"] == last
    assert sizes["backward"]["objective_binaries"] == 5 and sizes["forward"]["objective_binaries"] == 0
    assert choose_mode(net, stab, "inf", "inf")[0] == ("backward" if 5 - last <= 0.25 * sizes["unstable"]
                                                        else "forward")


@pytest.mark.fast
def test_inspect_shows_modes_per_bounds_method(tmp_path):
    net, box = _digits_ball()
    info = pipeline.inspect(net, box, samples=50, methods="interval,linear")
    for method in ("interval", "linear"):
        r = info["bounds_methods"][method]
        for p in ("1", "2", "inf"):
            n = r["norms"][p]
            assert set(n["binaries"]) == {"forward", "backward"} and n["auto_mode"] in ("forward", "backward")
            assert n["jacobian_upper"] <= n["naive_upper"] or p == "2"  # entrywise bounds can lose in l2
    assert info["bounds_methods"]["linear"]["norms"]["inf"]["auto_mode"] == "forward"
    assert info["bounds"]["inf"]["auto_mode"] == "forward" and info["bounds"]["inf"]["auto_why"]
    path = tmp_path / "ball.npz"
    np.savez(path, lower=box.lower, upper=box.upper)
    res = run_cli("inspect", NETS / "digits-64-32-32-10.h5", "--box-file", path, "--bounds", "linear",
                  "--samples", "20")
    assert res.returncode == 0, res.stderr
    assert "binaries forward" in res.stdout and "auto takes" in res.stdout and "--mode auto" in res.stdout


@pytest.mark.solver
def test_collect_keys_rows_by_mode(tmp_path):
    """A forward and a backward run of one network and domain are two rows, told apart by their mode, and two plot
    positions labelled with it."""
    net = random_network(9, 2, [6, 5], 2, name="both")
    path = tmp_path / "both.h5"
    save(path, net, domain_lower=-np.ones(2), domain_upper=np.ones(2))
    for mode in ("forward", "backward"):
        res = run_cli("generate", path, "--norm", "inf", "--mode", mode, "-o", tmp_path / "inst")
        assert res.returncode == 0, res.stderr
    res = run_cli("solve", tmp_path / "inst", "--time-limit", "60", "-o", tmp_path / "runs")
    assert res.returncode == 0, res.stderr
    res = run_cli("collect", tmp_path / "runs", "-o", tmp_path / "rep", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)["rows"]
    assert sorted(r["mode"] for r in rows) == ["backward", "forward"]
    assert len({(r["network"], r["norms"], r["domain"], r["encoding"]) for r in rows}) == 1
    assert all(r["status"] == "solved" for r in rows)
    text = (tmp_path / "rep" / "results.txt").read_text()
    assert " fwd " in text and " bwd " in text
    assert "| mode |" in (tmp_path / "rep" / "results.md").read_text()
    csv_head = (tmp_path / "rep" / "results.csv").read_text().splitlines()[0].split(",")
    assert csv_head[csv_head.index("encoding") + 1] == "mode"
    messages: list[str] = []
    made = make_rows(pair_runs(gather([tmp_path / "runs"]).runs, messages))
    problems, labels = _problem_labels(made)
    assert len(problems) == 2 and sorted(labels[p].rsplit("\n", 1)[1] for p in problems) == ["backward", "forward"]


def _narrow_ball(seed: int):
    """A one-output net on a small ball: the pulled-back covector keeps its signs there, so r_0's bounds prove them."""
    net = random_network(seed, 3, [6, 5], 1, name=f"signs{seed}")
    c = np.full(3, 0.3)
    return net, Box(c - 0.01, c + 0.01)


@pytest.mark.fast
def test_signs_proved_by_bounds_are_fixed():
    from lipgen.formulation import Spec, build
    from lipgen.model import BINARY

    net, box = _narrow_ball(21)
    form = build(net, box.lower, box.upper, Spec(alpha="inf", beta="inf", mode="backward"))
    r0 = form.plan.covector[-1]
    proved = (r0.rlo >= 0) | (r0.rhi < 0)
    assert proved.any()
    names = list(form.model.var_names)
    sg = np.array([names.index(f"sg_{i}") for i in range(net.n_inputs)])
    assert np.array_equal(form.model.vtype[sg] != BINARY, proved)  # fixed ones are no binaries
    assert np.all(form.model.lb[sg][proved] == form.model.ub[sg][proved])


@pytest.mark.fast
def test_sidecars_before_the_sign_rule_rebuild_every_sign_binary(tmp_path):
    """A sidecar without `formulation.fixed_signs` (the v1 library's) rebuilds its file's rows: every sign a binary."""
    from lipgen.instance.sidecar import formulation_of, rebuild_model
    from lipgen.model import BINARY

    net, box = _narrow_ball(21)
    g = next(g for g in generate(net, box, tmp_path, alpha="inf", beta="inf", mode="backward", jacobian_bounds=False)
             if g.sidecar["bound"] == "upper")
    assert g.sidecar["formulation"]["fixed_signs"] is True
    rebuild_model(g.sidecar, net)
    old = dict(g.sidecar, formulation={"jacobian_bounds": None})
    model = formulation_of(old, net).model("old")
    names = list(model.var_names)
    sg = np.array([names.index(f"sg_{i}") for i in range(net.n_inputs)])
    assert np.all(model.vtype[sg] == BINARY)
    assert model.stats()["binary"] > g.sidecar["statistics"]["binary"]


@pytest.mark.solver
@pytest.mark.parametrize("seed", [21, 22])
def test_fixed_signs_keep_the_constant(seed, tmp_path):
    """With signs fixed, backward's bracket still holds the exact constant and meets forward's."""
    from helpers.exact_oracle import exact_lipschitz
    from helpers.scip import solve_bounds

    net, box = _narrow_ball(seed)
    lo, hi = exact_lipschitz(net, box.lower, box.upper, "inf", "inf")
    got = {m: solve_bounds(net, box, tmp_path / m, alpha="inf", beta="inf", mode=m) for m in ("forward", "backward")}
    for s in got.values():
        assert s["best_lower"] <= hi * (1 + 1e-12) and s["upper"] >= lo
        assert s["upper"] == pytest.approx(lo, rel=1e-4)
