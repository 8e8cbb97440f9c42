"""`lipgen collect` on real runs: tables (CSV, JSON, Markdown, text), the .solu, refusals, plots."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import struct
from dataclasses import replace
from pathlib import Path

import pytest

from helpers.cli import run_cli
from helpers.networks import random_network, tiny_network, unit_box

from lipgen.domain import Box
from lipgen.instance import generate
from lipgen.report import collect
from lipgen.report.rows import shifted_geometric_mean
from lipgen.report.solu import OPT_REL_TOL
from lipgen.instance import find_instances
from lipgen.run.batch import solve_all
from lipgen.solvers import SolveOptions

pytestmark = pytest.mark.solver  # every test here runs a solver

OPTS = SolveOptions(time_limit=120, threads=1, gap=1e-7)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """Real runs: two tiny networks with SCIP and Gurobi, a harder one stopped by a 0.2 s limit, an infeasible
    strict problem (eps far too large)."""
    base = tmp_path_factory.mktemp("collect")
    inst = base / "inst"
    generate(tiny_network(1), Box(*unit_box(2)), inst, alpha="inf", beta="inf")
    generate(tiny_network(3), Box(*unit_box(4)), inst, alpha="1", beta="1")
    generate(random_network(7, 3, [16, 16], 1, name="harder"), Box(*unit_box(3)), inst, alpha="2", beta="2")
    generate(tiny_network(1), Box(*unit_box(2)), inst, alpha="1", beta="1", bounds=("lower",), eps=100.0)
    every = find_instances([inst])
    easy = [p for p in every if p.name.startswith(("tiny1__Linf", "tiny3__"))]
    solve_all(easy, "scip", base / "runs", OPTS, jobs=2)
    solve_all(easy, "gurobi", base / "runs", OPTS, jobs=2)
    solve_all([p for p in every if p.name.startswith("harder")], "scip", base / "runs",
              SolveOptions(time_limit=0.2, threads=1, gap=0), jobs=2)
    solve_all([p for p in every if p.name.startswith("tiny1__L1")], "scip", base / "runs", OPTS)
    return base


def results_of(folder: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in folder.rglob("result.json")}


def test_tables(runs, tmp_path):
    report = collect([runs / "runs"], tmp_path / "rep")
    assert {p.name for p in report.files} == {"results.csv", "results.md", "results.txt", "results.solu",
                                               "results.metadata.csv", "results.json"}
    rows = list(csv.DictReader(io.StringIO((tmp_path / "rep" / "results.csv").read_text())))
    assert len(rows) == 6
    key = {(r["network"], r["norms"], r["solver"]): r for r in rows}
    assert set(key) == {("tiny1", "Linf", "scip"), ("tiny1", "Linf", "gurobi"), ("tiny3", "L1", "scip"),
                        ("tiny3", "L1", "gurobi"), ("harder", "L2", "scip"), ("tiny1", "L1", "scip")}
    for net, norms in (("tiny1", "Linf"), ("tiny3", "L1")):
        for solver in ("scip", "gurobi"):
            r = key[(net, norms, solver)]
            assert r["status"] == "solved" and r["upper_status"] == r["lower_status"] == "optimal"
            assert float(r["certified_lower"]) == pytest.approx(float(r["upper"]), rel=1e-5)
            assert float(r["certified_lower"]) <= float(r["upper"]) * (1 + 1e-9)
            assert float(r["gap"]) < 1e-5 and r["checked"] == "ok"  # the solution checker accepted every run
        pair = [key[(net, norms, s)] for s in ("scip", "gurobi")]
        best = min(float(r["upper"]) for r in pair)
        assert all((r["best_upper"] == "true") == (float(r["upper"]) <= best * (1 + 1e-9)) for r in pair)
    harder = key[("harder", "L2", "scip")]
    assert harder["status"] == "limit" and harder["upper_status"] == "time_limit"
    assert float(harder["gap"]) > 0
    infeasible = key[("tiny1", "L1", "scip")]
    assert infeasible["lower_status"] == "infeasible" and infeasible["upper_status"] == "" and \
        infeasible["upper_mip"] == "" and infeasible["status"] == "solved"
    # no solver's bound: the least anchor known before solving (the Jacobian bound here, below the naive one)
    assert infeasible["upper_source"] == "Jacobian bound" and float(infeasible["upper"]) > 0
    assert all(r["mode"] in ("forward", "backward") for r in rows)

    data = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert len(data["rows"]) == 6 and data["results"] == 11 and data["refused"] == []
    summary = {s["solver"]: s for s in data["solvers"]}
    assert (summary["scip"]["rows"], summary["scip"]["solved"], summary["scip"]["limit"], summary["scip"]["fail"]) \
        == (4, 3, 1, 0)
    assert (summary["gurobi"]["solved"], summary["gurobi"]["fail"]) == (2, 0)
    times = [r["time"] for r in data["rows"] if r["solver"] == "scip"]
    assert summary["scip"]["time_sgm"] == pytest.approx(shifted_geometric_mean(times, 1.0))
    nodes = [r["nodes"] for r in data["rows"] if r["solver"] == "scip" and r["nodes"] is not None]
    assert summary["scip"]["nodes_sgm"] == pytest.approx(shifted_geometric_mean(nodes, 100.0))
    best = {b["network"] + b["norms"]: b for b in data["best"]}
    assert best["tiny1Linf"]["best_certified_lower"] and best["tiny1Linf"]["best_upper"]

    md = (tmp_path / "rep" / "results.md").read_text()
    table = [line for line in md.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| network | norms | domain")
    assert len(table) == 2 + 6 + 2 + 2  # two tables: header, rule, rows
    assert "**" in md  # best bounds in bold

    text = (tmp_path / "rep" / "results.txt").read_text()
    lines = text.splitlines()
    body = [line for line in lines[:lines.index("") if "" in lines else None] if " | " in line]
    assert len(body) == 1 + 6  # header and rows, separators aligned like SCIP's check tables
    assert len({tuple(i for i, c in enumerate(line) if c == "|")[:3] for line in body}) == 1
    assert "Time sgm(1)" in text and "Nodes sgm(100)" in text and "scip" in text.split("Solver", 2)[2]


def test_solu(runs, tmp_path):
    report = collect([runs / "runs"], tmp_path / "rep", name="lipgen-bench")
    solu = (tmp_path / "rep" / "lipgen-bench.solu").read_text().splitlines()
    entries = {}
    for line in solu:
        kind, name, *value = line.split()
        entries.setdefault(name, {})[kind] = float(value[0]) if value else None
    results = results_of(runs / "runs")
    for name, got in entries.items():
        mine = [r for r in results.values() if r["instance"].startswith(name + ".")]
        primals = [r["primal"] for r in mine if r.get("primal") is not None and r["status"] != "infeasible"]
        if name.startswith(("tiny1__Linf", "tiny3__")):
            assert set(got) == {"=opt="} and got["=opt="] == min(primals)
            duals = [r["dual"] for r in mine if r.get("dual") is not None]
            assert abs(got["=opt="] - max(duals)) <= OPT_REL_TOL * max(1, abs(got["=opt="]))
        elif name.startswith("harder"):
            assert set(got) <= {"=best=", "=bestdual=", "=opt="}
            if "=bestdual=" in got and "=best=" in got:
                assert got["=bestdual="] < got["=best="]
        else:
            assert got == {"=inf=": None}
    assert any(name.startswith("harder__L2") and "upper" in name and "=bestdual=" in got
               for name, got in entries.items())
    assert len(entries) == 7 and len(report.solu) == 7


def test_metadata(runs, tmp_path):
    """MIPLIB-style metadata: easy (SCIP, one thread, under an hour), open (a limit stopped every run), sizes and
    the QPLIB code from the sidecars, the .solu value."""
    report = collect([runs / "runs"], tmp_path / "rep")
    rows = {r["instance"]: r for r in csv.DictReader(io.StringIO((tmp_path / "rep" / "results.metadata.csv")
                                                                   .read_text()))}
    solu = {e.name: e for e in report.solu}
    assert set(rows) == set(solu) and len(rows) == 7
    for name, row in rows.items():
        sidecar = json.loads(next((runs / "inst").glob(name + ".json")).read_text())
        st = sidecar["statistics"]
        assert (int(row["variables"]), int(row["binaries"]), int(row["constraints"]), int(row["nonzeros"])) == \
            (st["variables"], st["binary"], st["constraints"], st["nonzeros"])
        assert row["problem_class"] == sidecar["problem_class"]
        assert row["bound"] == sidecar["bound"] and row["mode"] == sidecar["mode"]
        if name.startswith("harder"):  # L2 norm, one output: the ball is a convex quadratic row
            assert row["status"] == "open" and not row["solved_by"] and row["qplib_code"] == "LMD"
            assert row["solu"] in ("best", "unkn")
        else:
            assert row["status"] == "easy" and row["solved_by"].startswith("scip ") and float(row["time"]) < 3600
            assert row["qplib_code"] == "LML" and row["solu"] in ("opt", "inf")
        if row["solu"] == "opt":
            assert float(row["objective"]) == solu[name].primal
        runs_here = [r for r in report.runs if r.name == name]
        assert int(row["runs"]) == len(runs_here) >= 1


def test_status_rules(runs):
    """hard: solved, but not by SCIP on one thread within the hour; the fastest solving run decides."""
    from lipgen.report.gather import gather
    from lipgen.report.metadata import instance_status

    every = gather([runs / "runs"]).runs
    name = next(r.name for r in every if r.name.startswith("tiny3__") and r.solver == "gurobi")
    both = [r for r in every if r.name == name]
    assert {r.solver for r in both} == {"scip", "gurobi"}
    assert instance_status(both).status == "easy"
    gurobi = [r for r in both if r.solver == "gurobi"]
    assert instance_status(gurobi).status == "hard" and instance_status(gurobi).solver.startswith("gurobi ")
    scip = next(r for r in both if r.solver == "scip")
    slow = replace(scip, result=dict(scip.result, time=4000.0))
    assert instance_status([slow]).status == "hard"
    threaded = replace(scip, result=dict(scip.result, options=dict(scip.result["options"], threads=4)))
    assert instance_status([threaded]).status == "hard"
    assert instance_status([]).status == "open" and instance_status([]).attempts == 0


def test_qplib_codes():
    from lipgen.report.metadata import qplib_code

    lin = {"binary": 3, "continuous": 5, "quadratic_constraints": 0, "quadratic_objective_terms": 0}
    assert qplib_code("MILP", lin, "bigm") == "LML"
    assert qplib_code("convex MIQCP", dict(lin, quadratic_constraints=1), "bigm") == "LMD"
    assert qplib_code("nonconvex MIQP", dict(lin, quadratic_objective_terms=4), "bigm") == "QML"
    assert qplib_code("nonconvex MIQCQP", dict(lin, quadratic_objective_terms=4, quadratic_constraints=1),
                      "bigm") == "QMD"
    assert qplib_code("nonconvex MIQCQP", dict(lin, quadratic_constraints=9), "quadratic") == "LMQ"
    with pytest.raises(ValueError):
        qplib_code("MILP", dict(lin, quadratic_constraints=1), "bigm")


def test_compare_with_a_known_solu(runs, tmp_path):
    """--solu: the runs agree with their own .solu; a forged value is a contradiction (exit code 1, one line)."""
    first = collect([runs / "runs"], tmp_path / "a")
    known = tmp_path / "a" / "results.solu"
    res = run_cli("collect", runs / "runs", "-o", tmp_path / "b", "--solu", known)
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "b" / "results.compare.csv").read_text())))
    verdicts = {r["instance"]: r["verdict"] for r in rows}
    assert len(verdicts) == len(first.solu)
    for e in first.solu:
        assert verdicts[e.name] == ("ok" if e.kind in ("opt", "inf") else "consistent"), (e, verdicts[e.name])
    assert "instances compared with" in res.stdout
    opt = next(e for e in first.solu if e.kind == "opt")
    lines = known.read_text().splitlines()
    forged = [f"=opt=  {opt.name}  {opt.primal - 0.5}" if line.split()[1] == opt.name else line for line in lines]
    forged = [line for line in forged if not line.startswith("=inf=")] + ["=best=  not-ours  1.0", "# a comment"]
    bad = tmp_path / "forged.solu"
    bad.write_text("\n".join(forged) + "\n")
    res = run_cli("collect", runs / "runs", "-o", tmp_path / "c", "--solu", bad)
    assert res.returncode == 1
    assert f"{opt.name}: contradicts" in res.stderr and "above the known solution" in res.stderr
    rows = {r["instance"]: r for r in csv.DictReader(io.StringIO((tmp_path / "c" / "results.compare.csv")
                                                                   .read_text()))}
    assert rows[opt.name]["verdict"] == "fail"
    assert next(r for r in rows.values() if r["known_kind"] == "")["verdict"] == "unknown"  # the dropped =inf=
    (tmp_path / "broken.solu").write_text("=opt=  x  notanumber\n")
    res = run_cli("collect", runs / "runs", "-o", tmp_path / "d", "--solu", tmp_path / "broken.solu")
    assert res.returncode == 2 and "line 1" in res.stderr and not (tmp_path / "d").exists()


def test_compare_verdicts():
    from lipgen.report.solu import SoluEntry, compare_entry

    def e(kind, primal=None, dual=None):
        return SoluEntry("x", kind, primal, dual, 1)

    assert compare_entry(e("opt", -2.0, -2.0), e("opt", -2.0 + 1e-6, -2.0 + 1e-6))[0] == "ok"
    assert compare_entry(e("opt", -2.1, -2.1), e("opt", -2.0, -2.0))[0] == "fail"
    assert compare_entry(e("opt", -1.9, -1.9), e("opt", -2.0, -2.0))[0] == "fail"  # a bound above a known solution
    assert compare_entry(e("best", -1.5, -3.0), e("opt", -2.0, -2.0))[0] == "consistent"
    assert compare_entry(e("best", -1.5, -2.5), e("best", -1.0, -3.0))[0] == "better"
    assert compare_entry(e("inf"), e("opt", -2.0, -2.0))[0] == "fail"
    assert compare_entry(e("opt", -2.0, -2.0), e("inf"))[0] == "fail"
    assert compare_entry(e("inf"), e("inf"))[0] == "ok"
    assert compare_entry(e("opt", -2.0, -2.0), None)[0] == "unknown"


def test_refused_checksum_and_failed_check(runs, tmp_path):
    copy = tmp_path / "runs"
    shutil.copytree(runs / "runs", copy)
    forged = next(copy.glob("tiny3__L1__*__upper__bigm*__gurobi")) / "result.json"
    data = json.loads(forged.read_text())
    data["instance_sha256"] = "0" * 64  # as if it solved another file of the same name
    forged.write_text(json.dumps(data))
    rejected = next(copy.glob("tiny1__Linf__*__lower__bigm*__scip")) / "result.json"
    data = json.loads(rejected.read_text())
    data["check"] = {"ok": False, "reason": "x_0 violates row c3 by 0.5"}
    rejected.write_text(json.dumps(data))
    accepted = next(copy.glob("tiny1__Linf__*__lower__bigm*__gurobi")) / "result.json"
    data = json.loads(accepted.read_text())
    assert data["check"]["ok"] is True
    data["check"] = None  # as from a lipgen without the checker: not checked
    accepted.write_text(json.dumps(data))

    r = run_cli("collect", copy, "-o", tmp_path / "rep")
    assert r.returncode == 0, r.stderr
    assert f"refused {forged}" in r.stderr and "another file" in r.stderr
    report = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert [x["path"] for x in report["refused"]] == [str(forged)]
    rows = {(x["network"], x["norms"], x["solver"]): x for x in report["rows"]}
    refused_row = rows[("tiny3", "L1", "gurobi")]
    assert refused_row["upper_mip"] is None and "upper" not in refused_row["runs"]
    failed = rows[("tiny1", "Linf", "scip")]
    assert failed["status"] == "fail" and failed["checked"] == "failed"
    assert failed["lower_source"] != "certified (lower problem)"  # a rejected solution gives no bound
    assert rows[("tiny1", "Linf", "gurobi")]["checked"] == "partly"
    solu = {e["name"]: e for e in report["solu"]}
    lower = next(n for n in solu if n.startswith("tiny1__Linf") and "__lower__" in n)
    gurobi = json.loads(accepted.read_text())
    assert solu[lower]["primal"] == gurobi["primal"]  # only the accepted run counts


def test_runs_from_another_machine_and_duplicates(runs, tmp_path):
    """Sidecars are found with --instances when the recorded instance paths do not exist here."""
    shutil.copytree(runs / "inst", tmp_path / "moved")
    for name in ("a", "b"):
        shutil.copytree(runs / "runs", tmp_path / name)
        for p in (tmp_path / name).rglob("result.json"):
            d = json.loads(p.read_text())
            d["instance_path"] = "/cluster/scratch/u/inst/" + d["instance"]
            p.write_text(json.dumps(d))
    r = run_cli("collect", tmp_path / "a", tmp_path / "b", "-o", tmp_path / "rep")
    assert r.returncode == 0, r.stderr
    assert "no sidecar found" in r.stderr and "2 runs of" in r.stderr
    unchecked = json.loads((tmp_path / "rep" / "results.json").read_text())
    r = run_cli("collect", tmp_path / "a", tmp_path / "b", "-o", tmp_path / "rep2", "--instances", tmp_path / "moved")
    assert r.returncode == 0 and "no sidecar found" not in r.stderr
    checked = json.loads((tmp_path / "rep2" / "results.json").read_text())
    assert [x["upper_mip"] for x in checked["rows"]] == [x["upper_mip"] for x in unchecked["rows"]]
    # the anchors (Jacobian and naive upper, sampled lower bound) come from the sidecar: only with it may they stand in
    no_upper = [(a, b) for a, b in zip(checked["rows"], unchecked["rows"]) if a["upper_mip"] is None]
    assert no_upper and all(a["upper_source"] in ("Jacobian bound", "naive bound") and b["upper"] is None
                            for a, b in no_upper)


def test_cli_errors(tmp_path):
    r = run_cli("collect", tmp_path / "nowhere", "-o", tmp_path / "rep")
    assert r.returncode == 2 and "no such runs folder" in r.stderr and len(r.stderr.splitlines()) == 1
    (tmp_path / "empty").mkdir()
    r = run_cli("collect", tmp_path / "empty", "-o", tmp_path / "rep")
    assert r.returncode == 2 and "no result.json" in r.stderr
    assert not (tmp_path / "rep").exists()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_plots(runs, tmp_path):
    r = run_cli("collect", runs / "runs", "-o", tmp_path / "rep", "--plots")
    assert r.returncode == 0, r.stderr
    plots = sorted(p.name for p in (tmp_path / "rep" / "plots").iterdir())
    assert plots == ["bounds-L1-bigm.png", "bounds-L2-bigm.png", "bounds-Linf-bigm.png", "profile-L1-bigm.png",
                     "profile-L2-bigm.png", "profile-Linf-bigm.png"]
    for name in plots:
        w, h = png_size(tmp_path / "rep" / "plots" / name)
        assert 600 <= w <= 3000 and 400 <= h <= 1000
    r = run_cli("collect", runs / "runs", "-o", tmp_path / "rep2", "--json")
    assert r.returncode == 0 and len(json.loads(r.stdout)["rows"]) == 6


def test_shifted_geometric_mean():
    assert shifted_geometric_mean([1, 2, 3], 1.0) == pytest.approx(24 ** (1 / 3) - 1)
    assert shifted_geometric_mean([0, 0], 100.0) == pytest.approx(0.0)
    assert shifted_geometric_mean([], 1.0) is None
    assert shifted_geometric_mean([10.0, math.inf, None], 1.0) == pytest.approx(10.0)


@pytest.mark.fast
def test_solu_entries_take_the_best_of_each_side():
    """Each .solu value is the best over every run of the instance, whatever order the runs come in: the least
    incumbent and the greatest proven dual bound (the runs here differ clearly, unlike two solvers' optima)."""
    from lipgen.report.gather import Run
    from lipgen.report.solu import solu_entries

    def run(name, solver, status, primal, dual, gap=0.0):
        return Run({"instance": f"{name}.mps", "solver": solver, "status": status, "primal": primal, "dual": dual,
                    "options": {"gap": gap}}, Path(f"{name}__{solver}/result.json"))

    runs = [run("a", "scip", "time_limit", -1.9, -2.5), run("a", "gurobi", "time_limit", -2.0, -2.2),
            run("b", "scip", "optimal", -3.0, -3.0), run("b", "gurobi", "time_limit", -2.5, -3.4),
            run("c", "scip", "infeasible", None, None), run("d", "scip", "killed", -1.0, -1.0)]
    for order in (runs, runs[::-1]):
        entries, messages = solu_entries(order)
        got = {e.name: (e.kind, e.primal, e.dual) for e in entries}
        assert got == {"a": ("best", -2.0, -2.2), "b": ("opt", -3.0, -3.0), "c": ("inf", None, None),
                       "d": ("unkn", None, None)}
        assert messages == []
