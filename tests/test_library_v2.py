"""lipgen-v2's tooling: the layout (v1 referred to, never copied), tiers on synthetic records, two-solver
confirmation with real solvers, and the byte-identical rebuild of a sample against SHA256SUMS."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "instances"))

import confirm  # noqa: E402
import exact  # noqa: E402
import layout_v2 as v2  # noqa: E402
import tiers  # noqa: E402

from lipgen.report.gather import Run  # noqa: E402

# two tiny new items: a margin (MILP, backward mode) and an l2 -> l-inf (MIQCP) item of the smallest trained net
SAMPLE = ("iris-4-8-3/data/L1/bigm/margin0-1", "iris-4-8-3/data/L2toinf/bigm")


def _run(solver: str, primal: float, dual: float | None = None, time: float = 1.0, status: str = "optimal",
         split=None, path: str = "r") -> Run:
    res = {"solver": solver, "primal": primal, "dual": primal if dual is None else dual, "status": status,
           "time": time, "bound": "upper", "instance": "x__L1__box-1__upper__bigm.mps.gz",
           "lipschitz": {"upper": abs(primal)}, "options": {"threads": 1, "gap": 1e-6}}
    if split is not None:
        res["split"] = split
    return Run(res, Path(path) / solver / "result.json")


@pytest.mark.fast
def test_plan_refers_to_v1_and_adds_new_items():
    items = v2.plan()
    keys = [i.key for i in items]
    assert len(keys) == len(set(keys))
    old = [i for i in items if i.origin == "v1"]
    assert [i.key for i in old] == [i.key for i in v2.v1.plan()]  # every v1 item, in v1's order
    new = [i for i in items if i.origin == v2.VERSION]
    assert {i.key for i in new}.isdisjoint(i.key for i in old)
    assert any(i.margin for i in new) and any((i.alpha, i.beta) == ("2", "inf") for i in new)
    assert {i.network for i in new} >= {s.name for s in v2.nets.V2_SPECS}
    assert not any(i.margin and i.network.startswith("cancer") for i in new)  # one output: no margin
    with pytest.raises(ValueError, match="v1's"):
        v2.build_item(old[0], Path("/nonexistent"))


@pytest.mark.fast  # about 1 s: 20 nodes of the tree
def test_split_family_repeats_and_records_its_tree(tmp_path):
    """The family `split`: two builds give the same leaves byte for byte (a node budget, no clock); each leaf is
    the upper problem over a sub-box of the domain, its sidecar naming the tree, the node and its phases."""
    import gzip
    import json

    import numpy as np

    src = (("lipbab-10-15-10-3", "box", "inf", "inf"),)
    a = v2.split_family(tmp_path / "a", sources=src, nodes=20, leaves=3)
    b = v2.split_family(tmp_path / "b", sources=src, nodes=20, leaves=3)
    assert [p.name for p in a] == [p.name for p in b] and len(a) == 3
    box = v2.v1.domains(v2.nets.BY_NAME["lipbab-10-15-10-3"], v2.nets.load_catalog())["box"]
    trees = set()
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes() and pa.name.endswith("__upper__bigm.mps.gz")
        gzip.decompress(pa.read_bytes())
        sa = pa.with_name(pa.name.removesuffix(".mps.gz") + ".json")
        assert sa.read_bytes() == pb.with_name(sa.name).read_bytes()
        side = json.loads(sa.read_text())
        split = side["split"]
        assert {"tree", "node", "depth", "phases", "node_bound"} <= set(split) and split["node_bound"] > 0
        assert f"-leaf{split['node']:09d}__" in pa.name
        lo, hi = np.array(side["domain"]["lower"]), np.array(side["domain"]["upper"])
        assert np.all(lo >= box.lower) and np.all(hi <= box.upper) and np.all(lo <= hi)
        trees.add(split["tree"])
        assert not list(pa.parent.glob(pa.name.removesuffix(".mps.gz") + ".scip.set"))
    assert len(trees) == 1
    bounds = [json.loads(p.with_name(p.name.removesuffix(".mps.gz") + ".json").read_text())["split"]["node_bound"]
              for p in a]
    assert bounds == sorted(bounds, reverse=True)  # the open nodes of largest bound, largest first


@pytest.mark.fast
def test_sums_reader_and_v1_references(tmp_path):
    sums = v2.v1_files()
    assert sums and all(p.startswith("../v1/") for p in sums)
    text = v2.render_sums({"instances/a.mps.gz": "0" * 64, "../v1/instances/b.mps.gz": "f" * 64})
    (tmp_path / "S").write_text(text)
    assert v2.read_sums(tmp_path / "S") == {"instances/a.mps.gz": "0" * 64, "../v1/instances/b.mps.gz": "f" * 64}
    for bad in ("abc  x\n", f"{'0' * 64} x\n", f"{'0' * 64}  x\n{'1' * 64}  x\n"):
        (tmp_path / "S").write_text(bad)
        with pytest.raises(ValueError):
            v2.read_sums(tmp_path / "S")


@pytest.mark.fast
def test_a_file_v1_holds_is_dropped_and_referred_to(tmp_path):
    name, digest = next((p, d) for p, d in v2.v1_files().items() if p.startswith("../v1/instances/"))
    copy = tmp_path / Path(name).name
    copy.write_bytes((v2.v1.LIB / name.removeprefix(v2.V1_PREFIX + "/")).read_bytes())
    other = tmp_path / "new.mps.gz"
    other.write_bytes(b"not in v1")
    assert v2.dedupe_against_v1([copy, other]) == {copy: name}
    assert not copy.exists() and other.exists() and digest


@pytest.mark.fast
def test_tiers_on_synthetic_records():
    c = tiers.classify
    assert c([]).status == tiers.OPEN
    one = c([_run("scip", -2.0)])
    assert one.status == tiers.OPEN and one.pending  # one solver's value awaits its second
    both = c([_run("scip", -2.0, time=5), _run("highs", -2.0 + 1e-7, time=3)])
    assert (both.status, both.confirmed_by, both.how, both.value) == (tiers.EASY, ("highs", "scip"), "run", -2.0)
    assert both.run.solver == "highs"
    long = c([_run("scip", -2.0, time=4000), _run("gurobi", -2.0, time=7200)])
    assert (long.status, long.how) == (tiers.HARD, "long run")
    split = c([_run("scip", -2.0, split=True, time=10), _run("highs", -2.0, time=5000)])
    assert (split.status, split.how) == (tiers.HARD, "split")
    exact = c([_run("scip", -2.0, split={"exact": True}, time=1, path="a"), _run("scip", -2.0, time=9000)])
    assert exact.status == tiers.HARD and exact.confirmed_by == ("exact", "scip")
    apart = c([_run("scip", -2.0), _run("highs", -2.001)])
    assert apart.status == tiers.OPEN and apart.disagreements and not apart.pending
    at_gap = c([_run("scip", -1.15307735436729), _run("highs", -1.1530773543673, dual=-1.1530786342831634)])
    assert at_gap.status == tiers.EASY  # HiGHS stopped at gap 1e-6: its proven dual sits at the tolerance
    weak_dual = c([_run("scip", -2.0), _run("highs", -2.0, dual=-2.1, status="time_limit")])
    assert weak_dual.status == tiers.OPEN  # a run stopped by its limit confirms nothing
    same_solver = c([_run("scip", -2.0, path="a"), _run("scip", -2.0, path="b")])
    assert same_solver.status == tiers.OPEN


@pytest.mark.fast
def test_an_hour_unproved_beside_the_exact_value_is_hard():
    c = tiers.classify
    tree = _run("scip", -2.0, split={"exact": True}, time=3, path="tree")
    hour = c([tree, _run("scip", -2.0 + 1e-7, dual=-3.5, status="time_limit", time=3600.2)])
    assert (hour.status, hour.confirmed_by, hour.how, hour.value) == (tiers.HARD, ("exact", "scip"),
                                                                      "exact enumeration", -2.0)
    short = c([tree, _run("scip", -2.0, dual=-3.5, status="time_limit", time=300)])
    assert short.status == tiers.OPEN and short.pending  # five minutes do not decide between easy and hard
    other = c([tree, _run("scip", -1.9, dual=-3.5, status="time_limit", time=3600)])
    assert other.status == tiers.OPEN  # the solver's incumbent is another value: no second solution
    quick = c([tree, _run("scip", -2.0, dual=-3.5, status="time_limit", time=3600), _run("highs", -2.0, time=9)])
    assert quick.status == tiers.EASY  # a solver proved it within the hour


@pytest.mark.fast
def test_metadata_columns_say_how_and_when():
    tier = tiers.classify([_run("scip", -2.0, time=5), _run("highs", -2.0, time=3)])
    row = tiers.tier_columns(tier, {"highs": "2026-12-04"})
    assert row["confirmed_by"] == "highs+scip" and row["how"] == "run" and row["split"] is False
    assert row["solved_by"] == "highs" and row["time"] == 3 and row["threads"] == 1
    assert row["date"] == "2026-12-04" and row["disagreements"] is None
    assert set(tiers.tier_columns(tiers.classify([]), {})) == set(row)


@pytest.mark.fast
def test_second_solver_respects_the_sidecar_and_free_limits():
    side = {"solvers": {"scip": {"ok": True}, "highs": {"ok": False}, "gurobi": {"ok": True}},
            "statistics": {"variables": 100, "constraints": 50}}
    run = _run("scip", -1.0)
    run.sidecar = side
    assert confirm.second_solver([run]) == "gurobi"
    side["statistics"]["variables"] = 5000  # over Gurobi's free licence
    assert confirm.second_solver([run]) is None
    side["statistics"] |= {"variables": 300, "quadratic_constraints": 1}  # 200 once a quadratic term exists
    assert confirm.second_solver([run]) is None


def _build_sample(into: Path) -> dict[str, str]:
    items = {i.key: i for i in v2.plan()}
    files = [p for key in SAMPLE for p in v2.build_item(items[key], into)]
    return {f"instances/{p.name}": v2.sha256(p) for p in files}


@pytest.mark.fast  # 0.2-0.5 s: the sample's networks are tiny
def test_sample_rebuild_is_byte_identical(tmp_path):
    """Two builds of the sample agree byte for byte; once v2 exists, the sample also matches its SHA256SUMS."""
    first, second = _build_sample(tmp_path / "a"), _build_sample(tmp_path / "b")
    assert first == second and len(first) == 2 * len(SAMPLE)
    (tmp_path / "SHA256SUMS").write_text(v2.render_sums(first))
    assert v2.read_sums(tmp_path / "SHA256SUMS") == first
    published = v2.LIB / "SHA256SUMS"
    if published.is_file():  # v2 built: the committed checksums are the reference
        sums = v2.read_sums(published)
        assert {p: d for p, d in first.items() if p in sums} == {p: sums[p] for p in first if p in sums}
        assert set(first) <= set(sums), "the sample items are not in v2's SHA256SUMS"


@pytest.mark.solver
def test_confirm_with_scip_and_highs(tmp_path):
    """A margin item solved by SCIP, confirmed by HiGHS through confirm.py; a second call reuses the runs."""
    from lipgen.instance import find_instances
    from lipgen.run.batch import solve_all
    from lipgen.solvers import SolveOptions

    items = {i.key: i for i in v2.plan()}
    v2.build_item(items[SAMPLE[0]], tmp_path / "inst")
    solve_all(find_instances([tmp_path / "inst"]), "scip", tmp_path / "runs" / "scip", SolveOptions(threads=1))
    todo, found = confirm.plan(tmp_path / "runs", [tmp_path / "inst"])
    assert set(todo) == {"highs"} and all(t.pending for t in found.values()) and len(found) == 2
    assert confirm.main(["--runs", str(tmp_path / "runs"), "--instances", str(tmp_path / "inst")]) == 0
    todo, found = confirm.plan(tmp_path / "runs", [tmp_path / "inst"])
    assert not todo
    for t in found.values():
        assert t.status == tiers.EASY and t.confirmed_by == ("highs", "scip") and not t.disagreements
    assert (tmp_path / "runs" / "confirmations.json").is_file()


@pytest.mark.solver
def test_exact_tree_confirms_a_solver_value_and_catches_a_wrong_one(tmp_path):
    """An l2 -> l-inf item (MIQCP) solved by SCIP only: the split tree's exact record confirms it (family
    `exact`), is not redone on a second call, and a record whose value is off is a disagreement."""
    import json

    from lipgen.instance import find_instances
    from lipgen.run.batch import solve_all
    from lipgen.solvers import SolveOptions

    items = {i.key: i for i in v2.plan()}
    v2.build_item(items[SAMPLE[1]], tmp_path / "inst")
    solve_all(find_instances([tmp_path / "inst"]), "scip", tmp_path / "runs" / "scip", SolveOptions(threads=1))
    args = ["--runs", str(tmp_path / "runs"), "--instances", str(tmp_path / "inst"), "--time-limit", "30"]
    assert exact.main(args) == 0
    records = sorted((tmp_path / "runs" / "exact").glob("*/result.json"))
    assert len(records) == 2
    _, found = confirm.plan(tmp_path / "runs", [tmp_path / "inst"])
    for t in found.values():
        assert t.status == tiers.EASY and t.confirmed_by == ("exact", "scip") and not t.disagreements
        assert t.run.solver == "scip"  # the value's run: the solver, not the tree
    stamp = [r.stat().st_mtime_ns for r in records]
    assert exact.main(args) == 0 and [r.stat().st_mtime_ns for r in records] == stamp  # resumed, not redone
    scip_run = next((tmp_path / "runs" / "scip").glob(f"{records[0].parent.name.removesuffix('__exact')}*/result.json"))
    unsolved = json.loads(scip_run.read_text()) | {"status": "time_limit"}  # as if SCIP had stopped at its limit
    scip_run.write_text(json.dumps(unsolved))
    records[0].unlink()
    assert exact.main(args) == 0 and not records[0].exists()  # no solver's value to confirm: not tried
    assert exact.main(args + ["--unsolved"]) == 0 and records[0].exists()
    _, found = confirm.plan(tmp_path / "runs", [tmp_path / "inst"])
    alone = found[records[0].parent.name.removesuffix("__exact")]
    assert alone.status == tiers.OPEN and alone.pending  # the tree's value awaits a solver: a hard-tier candidate
    scip_run.write_text(json.dumps(unsolved | {"status": "optimal"}))
    wrong = json.loads(records[0].read_text())
    wrong["primal"] *= 1.001
    wrong["dual"] *= 1.001
    records[0].write_text(json.dumps(wrong))
    _, found = confirm.plan(tmp_path / "runs", [tmp_path / "inst"])
    assert sorted(t.status for t in found.values()) == [tiers.EASY, tiers.OPEN]
    assert any(t.disagreements and "exact" in t.disagreements[0] for t in found.values())


@pytest.mark.slow
@pytest.mark.solver
def test_build_values_end_to_end(tmp_path, monkeypatch):
    """A two-item v2 in tmp: built, solved by SCIP, confirmed (HiGHS for the MILP, Gurobi for the MIQCP), then
    metadata, .solu, lists and sums as build_v2 writes them."""
    import subprocess

    import build_v2

    monkeypatch.setattr(v2, "LIB", tmp_path)
    items = {i.key: i for i in v2.plan()}
    assert not build_v2.build_new([items[k] for k in SAMPLE], log=lambda _: None)
    build_v2.write_lists_and_sums()
    sums = v2.read_sums(tmp_path / "SHA256SUMS")
    assert set(sums) == {p.strip() for p in (tmp_path / "all.test").read_text().splitlines()}
    assert sum(not p.startswith("../v1/") for p in sums) == 2 * len(SAMPLE)
    assert all(p.is_symlink() or "-m0-1-" in p.name for p in (tmp_path / "instances" / "networks").iterdir())
    subprocess.run([sys.executable, "-m", "lipgen", "solve", str(tmp_path / "instances"), "-o",
                    str(tmp_path / "runs" / "scip")], check=True, stdout=subprocess.DEVNULL)
    confirm.main(["--runs", str(tmp_path / "runs"), "--instances", str(tmp_path / "instances")])
    rows = build_v2.write_values()
    new = [r for r in rows.values() if r["origin"] == "v2"]
    assert len(new) == 4 and all(r["status"] == tiers.EASY and "scip" in r["confirmed_by"] for r in new)
    assert all(r["date"] and r["mode"] and r["how"] == "run" for r in new)
    solu = (tmp_path / f"{v2.LIBRARY}.solu").read_text()
    assert all(f"=opt=  {r['instance']}" in solu for r in new)
    header = (tmp_path / "metadata.csv").read_text().splitlines()[0].split(",")
    assert {"confirmed_by", "how", "split", "date", "threads", "mode", "solved_by", "time"} <= set(header)
    assert (tmp_path / "hard.test").read_text() == "" and (tmp_path / "quick.test").read_text()


def _listed(name: str) -> list[str]:
    return [line for line in (v2.LIB / name).read_text().splitlines() if line.strip()]


def _published_solu() -> dict[str, list[tuple[str, float | None]]]:
    out: dict[str, list[tuple[str, float | None]]] = {}
    for line in (v2.LIB / f"{v2.LIBRARY}.solu").read_text().splitlines():
        kind, name, *value = line.split()
        out.setdefault(name, []).append((kind, float(value[0]) if value else None))
    return out


@pytest.mark.fast
def test_published_v2_lists_sums_metadata_and_solu_agree():
    """The committed v2: every listed file is where its path says with the checksum SHA256SUMS gives (v1's in
    ../v1/, large ones only in their manifest), the metadata has one row per listed instance, and only values
    that two families confirmed are =opt= in the .solu."""
    import csv
    import json

    every = _listed("all.test")
    assert len(every) == len(set(every)) == 1108 + len(v2.SPLIT_SOURCES) * v2.SPLIT_LEAVES
    sums = v2.read_sums(v2.LIB / "SHA256SUMS")
    assert set(sums) == set(every)
    large = {f"{prefix}large/{e['instance']}": e["sha256"] for prefix, lib in (("", v2.LIB), ("../v1/", v2.v1.LIB))
             for e in json.loads((lib / "large" / "manifest.json").read_text())["instances"]}
    for p in every:
        if p in large:  # published without its file
            assert large[p] == sums[p], p
        else:
            assert v2.sha256(v2.LIB / p) == sums[p], p
    assert {f"instances/{f.name}" for f in (v2.LIB / "instances").glob("*.mps.gz")} <= set(every)
    rows = list(csv.DictReader((v2.LIB / "metadata.csv").open()))
    assert sorted(r["path"] for r in rows) == sorted(every)
    solu = _published_solu()
    for r in rows:
        assert r["status"] in (tiers.EASY, tiers.HARD, tiers.OPEN)
        confirmed = r["status"] != tiers.OPEN
        assert (solu.get(r["instance"], [("", None)])[0][0] in ("=opt=", "=inf=")) == confirmed, r["instance"]
        if confirmed:
            assert len(r["confirmed_by"].split("+")) >= 2 and r["solved_by"] and float(r["time"]) >= 0
        if r["solu"] == "opt":
            assert float(r["objective"]) == solu[r["instance"]][0][1]
    for name in ("quick.test", "benchmark.test", "hard.test"):
        assert set(_listed(name)) <= set(every), name
    assert _listed("quick.test") and _listed("benchmark.test")


@pytest.mark.solver
@pytest.mark.parametrize("bound", ["upper", "lower"])
def test_published_v2_quick_instance_solves_to_the_solu(tmp_path, bound):
    """A new user's check on v2: solve a new quick instance, then `lipgen collect --solu` says ok."""
    import json

    from helpers.cli import run_cli

    solu = _published_solu()
    pick = next(p for p in _listed("quick.test") if p.startswith("instances/") and f"__{bound}__" in p
                and solu[Path(p).name.removesuffix(".mps.gz")][0][0] == "=opt=")
    res = run_cli("solve", v2.LIB / pick, "--threads", "1", "--time-limit", "120", "-o", tmp_path / "runs")
    assert res.returncode == 0, res.stderr
    res = run_cli("collect", tmp_path / "runs", "-o", tmp_path / "report", "--solu",
                  v2.LIB / f"{v2.LIBRARY}.solu", "--json")
    assert res.returncode == 0, res.stderr
    assert [c["verdict"] for c in json.loads(res.stdout)["compare"]] == ["ok"]
