"""The eps ladder of `lipgen run` (issue 20, item 3): a region thinner than the strict problem's margin carries L;
the ladder closes the gap with a smaller eps and says which rung; a region too thin for every rung is reported as
"thin region suspected".

The upper problem's solution, certified at the centre of its region (lipgen/lower/region_lp.py), now closes such
gaps before any ladder: the ladder stays for a region whose centre certifies nothing, which the tests of the ladder
stand for by turning that certificate off (`no_centre`)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner
from helpers.exact_oracle import exact_lipschitz
from helpers.hostile import thin_strip

from lipgen import pipeline
from lipgen.cli.app import app
from lipgen.domain import Box
from lipgen.results.records import Result
from lipgen.run.ladder import EPS_FLOOR, rungs, wanted
from lipgen.solvers import SolveOptions

BOX = Box(-np.ones(2), np.ones(2))


def test_rungs_go_down_by_ten_to_the_floor():
    assert rungs(1e-4) == [1e-5, 1e-6]
    assert rungs(1e-3) == [1e-4, 1e-5, 1e-6]
    assert rungs(3e-4) == [3e-5, 3e-6]
    assert rungs(EPS_FLOOR) == [] and rungs(1e-7) == []


def _result(bound: str, status: str, upper: float | None = None, lower: float | None = None) -> Result:
    return Result.from_json({"instance": f"x__{bound}.mps", "bound": bound, "solver": "scip", "status": status,
                             "lipschitz": {"upper": upper, "lower": lower, "certified_lower": lower}, "time": 0.1})


@pytest.mark.parametrize("up_status, lo_status, gap, expected", [
    ("optimal", "optimal", 0.05, True),
    ("optimal", "infeasible", 0.05, True),  # eps left no region at all
    ("optimal", "optimal", 1e-6, False),  # the bounds meet already
    ("time_limit", "optimal", 0.05, False),  # the upper problem's value is not its optimum
    ("optimal", "time_limit", 0.05, False),  # the strict problem was not solved: a smaller eps is no cure
])
def test_the_ladder_runs_only_when_both_problems_were_solved_apart(up_status, lo_status, gap, expected):
    summary = {"consistency": "ok", "best_lower": 0.9, "gap": gap}
    assert wanted(summary, _result("upper", up_status, upper=1.0), _result("lower", lo_status, lower=0.9),
                  1e-6) is expected


@pytest.fixture
def no_centre(monkeypatch):
    """Solutions on a region's boundary certify nothing (as before the region-centre certificate)."""
    monkeypatch.setattr("lipgen.results.bounds.region_centre", lambda *args, **kw: None)


def _cli(*args) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, [str(a) for a in args])
    return r.exit_code, r.stdout, r.stderr


@pytest.mark.solver
@pytest.mark.parametrize("width", [5e-5, 1e-8])
def test_the_upper_solution_certified_in_its_region_closes_a_thin_region_without_a_ladder(tmp_path, width):
    lo, hi = exact_lipschitz(thin_strip(width), BOX.lower, BOX.upper, "2", "2")
    s = _run(tmp_path, width)
    assert s["best_lower"] <= hi and lo <= s["upper"] and s["gap"] < 1e-4 and s["best_lower"] > 0.949
    assert s["lower_source"] == "certified (upper problem)" and "eps_ladder" not in s


def _run(tmp_path, width: float, **kw) -> dict:
    return pipeline.run(thin_strip(width), BOX, workdir=tmp_path / "work", opts=SolveOptions(gap=1e-6), split="never",
                        **kw).data


@pytest.mark.solver
def test_the_ladder_closes_a_thin_region_gap_and_names_the_rung(tmp_path, no_centre):
    lo, hi = exact_lipschitz(thin_strip(5e-5), BOX.lower, BOX.upper, "2", "2")
    s = _run(tmp_path, 5e-5)
    assert s["best_lower"] <= hi and lo <= s["upper"]
    assert s["gap"] < 1e-4 and s["best_lower"] > 0.949  # the strip's value, certified
    assert s["lower_eps"] == 1e-5 and s["lower_source"].endswith("at eps=1e-05")
    assert [(r["eps"], r["status"]) for r in s["eps_ladder"]] == [(1e-4, "optimal"), (1e-5, "optimal")]
    assert s["eps_ladder"][0]["lower"] < 0.842  # the default margin stays out of the strip
    assert not s["thin_region_suspected"]
    again = _run(tmp_path, 5e-5)  # every rung's run is reused
    assert again["reused"] and all(r["reused"] for r in again["eps_ladder"])
    assert again["best_lower"] == s["best_lower"]


@pytest.mark.solver
def test_without_the_ladder_the_gap_stays(tmp_path, no_centre):
    s = _run(tmp_path, 5e-5, eps_ladder=False)
    assert "eps_ladder" not in s and "thin_region_suspected" not in s
    assert s["best_lower"] < 0.842 and s["gap"] > 0.1


@pytest.mark.solver
def test_a_region_thinner_than_every_rung_is_reported(tmp_path, net_file, no_centre):
    code, out, err = _cli("run", net_file(thin_strip(1e-8)), "--box=-1,1", "--split", "never", "-o", tmp_path / "work")
    assert code == 0, err  # sound bounds: not a failure
    assert "thin region suspected" in out and "thin region suspected" in err
    code, out, err = _cli("run", net_file(thin_strip(1e-8)), "--box=-1,1", "--split", "never", "-o",
                          tmp_path / "work", "--json")
    s = json.loads(out)
    assert s["thin_region_suspected"] and s["lower_eps"] is None
    assert [r["eps"] for r in s["eps_ladder"]] == [1e-4, 1e-5, 1e-6] and s["gap"] > 0.1


@pytest.mark.solver
def test_the_table_says_which_rung_gave_the_lower_bound(tmp_path, net_file, no_centre):
    code, out, err = _cli("run", net_file(thin_strip(5e-5)), "--box=-1,1", "--split", "never", "-o", tmp_path / "work")
    assert code == 0, err
    assert "at eps=1e-05" in out and "eps=1e-05" in err
    assert "thin region suspected" not in out
