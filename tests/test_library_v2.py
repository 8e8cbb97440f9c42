"""lipgen-v2's tooling: the layout (v1 referred to, never copied), tiers on synthetic records, two-solver
confirmation with real solvers, and the byte-identical rebuild of a sample against SHA256SUMS."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "instances"))

import confirm  # noqa: E402
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
    with pytest.raises(NotImplementedError, match="lipgen split"):
        v2.split_leaf_items(Path("work"))


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
    weak_dual = c([_run("scip", -2.0), _run("highs", -2.0, dual=-2.1, status="time_limit")])
    assert weak_dual.status == tiers.OPEN  # a run stopped by its limit confirms nothing
    same_solver = c([_run("scip", -2.0, path="a"), _run("scip", -2.0, path="b")])
    assert same_solver.status == tiers.OPEN


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
