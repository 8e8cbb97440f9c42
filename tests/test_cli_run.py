"""`lipgen run`'s exit code, in-process: 0 only when both bounds were obtained and agree.

The pipeline is replaced by one that returns a prepared summary, so each case is decided by the command's own
rule, not by what a solver happened to do."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lipgen import pipeline
from lipgen.cli.app import app
from lipgen.results.records import Result, RunSummary

pytestmark = pytest.mark.fast


def result(bound: str, status: str, value: float | None) -> Result:
    q = {"upper": value, "lower": None, "certified_lower": None, "certificate": None} if bound == "upper" else \
        {"upper": None, "lower": value, "certified_lower": value, "certificate": None}
    return Result.from_json({"instance": f"x__{bound}.mps", "bound": bound, "solver": "scip", "status": status,
                             "status_text": status, "lipschitz": q, "time": 0.1})


def summary(upper: float | None, best_lower: float | None, consistency: str = "ok") -> RunSummary:
    problems = {"upper": result("upper", "optimal", upper), "lower": result("lower", "optimal", best_lower)}
    data = {"upper": upper, "upper_source": "MIP dual bound", "upper_mip": upper, "lower": best_lower,
            "certified_lower": best_lower, "best_lower": best_lower, "lower_source": "certified (lower problem)",
            "gap": None, "consistency": consistency, "sampled_certified": None, "sampled_estimate": None,
            "search_lower": None, "naive_upper": None, "premise": {"established": True, "reasons": []},
            "status": "optimal", "network": "net", "domain": "box-0", "solver": "scip", "solver_version": None}
    return RunSummary(network="net", norms=("2", "2"), status="optimal", consistency=consistency, upper=upper,
                      best_lower=best_lower, gap=None, workdir="w", problems=problems, data=data,
                      runs=tuple(problems.values()))


@pytest.fixture
def fake_run(monkeypatch):
    """`lipgen run` over a pipeline that returns the summary given to it."""

    class Net:
        name = "net"
        weights: list = []

    def invoke(s: RunSummary, *extra: str):
        monkeypatch.setattr(pipeline, "check_setup", lambda *a, **k: None)
        monkeypatch.setattr(pipeline, "load_network", lambda *a, **k: (Net(), None))
        monkeypatch.setattr(pipeline, "run", lambda *a, **k: s)
        return CliRunner().invoke(app, ["run", "net.h5", "--box", "0,1", *extra])

    return invoke


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
@pytest.mark.parametrize("upper, lower, consistency, code", [
    (2.0, 1.5, "ok", 0),
    (None, 1.5, "ok", 1),  # no upper bound
    (2.0, None, "ok", 1),  # no lower bound
    (None, None, "ok", 1),
    (1.0, 1.5, "inconsistent", 1),  # a broken rule: never a success
])
def test_run_exit_code(fake_run, upper, lower, consistency, code, as_json):
    r = fake_run(summary(upper, lower, consistency), *(["--json"] if as_json else []))
    assert r.exit_code == code, r.output
    if as_json:
        assert json.loads(r.stdout)["upper"] == upper


def test_summary_ok_needs_both_bounds_and_consistency():
    assert summary(2.0, 1.5).ok
    assert not summary(None, 1.5).ok and not summary(2.0, None).ok and not summary(None, None).ok
    assert not summary(1.0, 1.5, "inconsistent").ok
