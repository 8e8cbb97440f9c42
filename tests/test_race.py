"""`lipgen run --mode race` (issue 20, item 1): both modes' upper problems at once, the first proof stops the
other, the smaller certified upper bound is reported and brackets the exact L; a re-run reuses."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.exact_oracle import exact_lipschitz
from helpers.networks import random_network
from typer.testing import CliRunner

from lipgen import pipeline
from lipgen.cli.app import app
from lipgen.domain import Box
from lipgen.results.records import Result
from lipgen.run.race import ProofJudge, pick_upper
from lipgen.solvers import SolveOptions

NET = random_network(7, 3, [5], 2, name="race7")
BOX = Box(-np.ones(3), np.ones(3))
OPTS = SolveOptions(gap=1e-6)


def _upper(instance: str, status: str, upper: float | None) -> Result:
    return Result.from_json({"instance": instance, "bound": "upper", "solver": "scip", "status": status,
                             "lipschitz": {"upper": upper, "certified_lower": None}, "time": 1.0})


def test_the_smaller_certified_upper_bound_is_reported():
    runs = [_upper("f", "time_limit", 3.0), _upper("b", "time_limit", 2.5), _upper("x", "interrupted", None)]
    assert pick_upper(runs).instance == "b"
    assert pick_upper([_upper("f", "interrupted", None), _upper("b", "optimal", 2.0)]).instance == "b"
    assert pick_upper([_upper("f", "interrupted", None), _upper("b", "crashed", None)]).instance == "f"


def _sidecar(name: str, bound: str, mode: str) -> dict:
    return {"instance": name, "bound": bound, "mode": mode, "anchors": {"naive_upper": 10.0, "search_lower": 1.0}}


def _done(name: str, bound: str, status: str, upper=None, certified=None) -> dict:
    return {"instance": name, "bound": bound, "status": status,
            "lipschitz": {"bound": bound, "upper": upper, "lower": certified, "certified_lower": certified}}


def test_the_judge_stops_the_other_upper_run_then_the_lower_one_once_the_bounds_meet():
    judge = ProofJudge([_sidecar("f", "upper", "forward"), _sidecar("b", "upper", "backward"),
                       _sidecar("l", "lower", "forward")], gap_tol=1e-6)
    assert judge(_done("f", "upper", "time_limit", upper=3.0)) == {}  # a time limit proves nothing
    judge = ProofJudge([_sidecar("f", "upper", "forward"), _sidecar("b", "upper", "backward"),
                       _sidecar("l", "lower", "forward")], gap_tol=1e-6)
    stop = judge(_done("b", "upper", "optimal", upper=2.0))
    assert set(stop) == {"f"} and "backward" in stop["f"]  # the region walk's 1.0 is far from 2.0: lower runs on
    judge = ProofJudge([_sidecar("f", "upper", "forward"), _sidecar("b", "upper", "backward"),
                       _sidecar("l", "lower", "forward")], gap_tol=1e-6)
    assert set(judge(_done("f", "upper", "optimal", upper=2.0, certified=2.0 * (1 - 1e-6)))) == {"b", "l"}


def _run(work: Path, mode: str, **kw) -> dict:
    return pipeline.run(NET, BOX, alpha="inf", beta="inf", workdir=work, opts=OPTS,
                        generate_options={"mode": mode}, **kw).data


@pytest.mark.solver
def test_race_reports_the_smaller_of_both_modes_bounds_and_brackets_l(tmp_path):
    lo, hi = exact_lipschitz(NET, BOX.lower, BOX.upper, "inf", "inf")
    forward, backward = _run(tmp_path, "forward"), _run(tmp_path, "backward")
    race = _run(tmp_path, "race")  # both upper runs finished already: reused, none stopped
    assert race["upper"] == min(forward["upper"], backward["upper"])
    assert race["race"]["forward"]["upper"] == forward["upper"]
    assert race["race"]["backward"]["upper"] == backward["upper"]
    assert race["race"]["winner"] == ("forward" if forward["upper"] <= backward["upper"] else "backward")
    assert race["mode"] == race["race"]["winner"]
    assert race["best_lower"] <= hi and lo <= race["upper"] and race["gap"] < 1e-4


def _slow_forward_scip(tmp_path: Path) -> Path:
    """SCIP that first sleeps on the forward upper problem: the backward one always wins the race."""
    scip = Path(sys.executable).parent / "lipgen-scip"
    wrapper = tmp_path / "scip-slow-forward"
    wrapper.write_text(f'#!/bin/sh\ncase "$*" in *__upper__bigm.mps*) sleep 300;; esac\nexec "{scip}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


@pytest.mark.solver
def test_the_loser_is_stopped_and_a_rerun_reuses_the_winner(tmp_path):
    slow = str(_slow_forward_scip(tmp_path))
    s = _run(tmp_path / "work", "race", solver_path=slow)
    fwd, bwd = s["race"]["forward"], s["race"]["backward"]
    assert bwd["status"] == "optimal" and s["race"]["winner"] == "backward" and s["mode"] == "backward"
    assert fwd["status"] == "interrupted" and fwd["stopped"] and fwd["upper"] is None
    assert fwd["wall_time"] < 60  # killed when the backward run ended, not after its sleep
    on_disk = json.loads((Path(fwd["run_dir"]) / "result.json").read_text())
    assert on_disk["status"] == "interrupted" and on_disk["stopped_by"] == "lipgen"
    assert "backward upper problem ended optimal first" in on_disk["status_text"]
    lock = json.loads((Path(fwd["run_dir"]) / ".lock").read_text())
    assert lock["state"] == "interrupted"  # never taken for a finished run
    lo, hi = exact_lipschitz(NET, BOX.lower, BOX.upper, "inf", "inf")
    assert s["best_lower"] <= hi and lo <= s["upper"]
    again = _run(tmp_path / "work", "race", solver_path=slow)
    assert again["race"]["backward"]["reused"] and again["upper"] == s["upper"]
    assert again["race"]["forward"]["status"] == "interrupted"  # not started: the reused winner stopped it first
    assert "not started" in again["race"]["forward"]["status_text"]
    assert json.loads((Path(fwd["run_dir"]) / "result.json").read_text()) == on_disk  # its folder untouched


@pytest.mark.solver
def test_run_race_exit_code_and_json_in_process(tmp_path, net_file):
    path = net_file(NET)
    r = CliRunner().invoke(app, ["run", str(path), "--box=-1,1", "--norm", "inf", "--mode", "race", "-o",
                                 str(tmp_path / "work"), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["race"]["winner"] in ("forward", "backward") and s["mode"] == s["race"]["winner"]
    assert s["upper"] == s["race"][s["race"]["winner"]]["upper"]
    table = CliRunner().invoke(app, ["run", str(path), "--box=-1,1", "--norm", "inf", "--mode", "race", "-o",
                                     str(tmp_path / "work")])
    assert table.exit_code == 0, table.output
    assert "race winner" in table.stdout and "(reused)" in table.stdout
