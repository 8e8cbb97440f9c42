"""Build lipgen-v2 (layout_v2) and its values.

    python instances/build_v2.py                    # the new items -> v2/instances/, then lists, sums and values
    python instances/build_v2.py --values           # only the values: metadata.csv, lipgen-v2.solu, .test, README
    python instances/build_v2.py --only digits-64-128-128-10     # the new items of some networks
    python instances/build_v2.py --split            # only the family `split` (leaves of the split tree)

v1's items are referred to (`../v1/instances/NAME.mps.gz` in all.test and SHA256SUMS), never rebuilt or copied;
a new file that v1 already holds byte for byte is dropped and referred to. Values come from the runs under
v2/runs/ and v1/runs/ (tiers.classify: two solvers must agree); see confirm.py for the second solver's runs.
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # the bounds' matrix products single-threaded, as v1 was built
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections import defaultdict  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import confirm  # noqa: E402
import layout_v2 as v2  # noqa: E402
import readme  # noqa: E402
import tiers  # noqa: E402
from build import link_network_copies  # noqa: E402

from lipgen import atomic  # noqa: E402
from lipgen.instance import MANIFEST, NETWORK_DIR, instance_stem_of  # noqa: E402
from lipgen.report.gather import Run  # noqa: E402
from lipgen.report.metadata import COLUMNS, metadata_row, render_rows_csv  # noqa: E402
from lipgen.report.rows import SOLVED, outcome  # noqa: E402
from lipgen.report.solu import SoluEntry, render_solu, solu_entries  # noqa: E402

TIER_COLUMNS = ("confirmed_by", "how", "threads", "split", "date", "pending_confirmation", "disagreements")
LIPSCHITZ_COLUMNS = ("L_lower", "L_upper", "L_by")
METADATA_COLUMNS = COLUMNS[:-1] + TIER_COLUMNS + LIPSCHITZ_COLUMNS + ("origin", "path", "tags")
# v1's open problems re-solved by `lipgen run` (benchmarks/library_resolve.py): certified bounds of L itself
RESOLVED = HERE.parent / "benchmarks" / "results" / "library_resolve.jsonl"
RESOLVED_GAP = 1e-4  # the benchmark's "closed" (MIPLIB's default relative gap)
# quick: SCIP (what the quick start runs) solved it in at most QUICK_SECONDS; kept small because SCIP's times
# vary by orders of magnitude on some of these MILPs (9 s in one campaign, 240 s on a loaded machine)
QUICK_SECONDS, BENCHMARK_MIN_SECONDS = 2.0, 1.0
FOLDERS = ("instances", "large", v2.SPLIT_FAMILY)  # v2's folders with a manifest


def build_new(items: list[v2.Item], log=print) -> dict[Path, str]:
    """Generate the new items into v2/<folder>; -> files dropped because v1 holds them (and v1's path)."""
    dropped: dict[Path, str] = {}
    for k, it in enumerate(items, 1):
        outdir = v2.LIB / it.folder
        written = v2.build_item(it, outdir)
        dropped |= v2.dedupe_against_v1(written)
        log(f"[{k}/{len(items)}] {it.key}")
    for folder in {it.folder for it in items}:
        if (v2.LIB / folder / NETWORK_DIR).is_dir():
            link_network_copies(v2.LIB / folder / NETWORK_DIR)  # v1's networks once, as links
    return dropped


def library_files() -> dict[str, str]:
    """Every instance of v2 as its lists name it -> SHA-256: v1's (referred to) and the new ones."""
    out = dict(v2.v1_files())
    for folder in FOLDERS:
        path = v2.LIB / folder / MANIFEST
        if path.is_file():
            out |= {f"{folder}/{e['instance']}": e["sha256"] for e in json.loads(path.read_text())["instances"]}
    return out


def write_lists_and_sums() -> None:
    files = library_files()
    atomic.write_text(v2.LIB / "all.test", "".join(f"{p}\n" for p in sorted(files)))
    atomic.write_text(v2.LIB / "SHA256SUMS", v2.render_sums(files))


def update_dates(runs_dir: Path) -> dict[str, str]:
    """runs/dates.json: each run folder -> the UTC date its result.json was first seen (kept once recorded, so
    the dates survive a git checkout that resets file times)."""
    path = runs_dir / "dates.json"
    dates = json.loads(path.read_text()) if path.is_file() else {}
    for res in sorted(runs_dir.rglob("result.json")):
        dates.setdefault(res.parent.name, datetime.fromtimestamp(res.stat().st_mtime, UTC).strftime("%Y-%m-%d"))
    if dates:
        atomic.write_json(path, dates)
    return dates


def descriptions() -> dict[str, tuple[str, dict]]:
    """instance name -> (its path in v2's lists, its manifest entry)."""
    out = {}
    for prefix, lib in ((v2.V1_PREFIX + "/", v2.v1.LIB), ("", v2.LIB)):
        for folder in FOLDERS:
            path = lib / folder / MANIFEST
            if path.is_file():
                for e in json.loads(path.read_text())["instances"]:
                    out[instance_stem_of(e["instance"])] = (f"{prefix}{folder}/{e['instance']}", e)
    return out


def known_lipschitz(v1_rows: list[dict], resolved: Path = RESOLVED) -> dict[str, dict]:
    """v1 instance name (v1_rows: v1's metadata) -> certified bounds of its problem's L (network, domain, norms)
    from `lipgen run`'s re-solve of v1's open problems: the best lower and upper over every measurement, and what
    gave them.

    These bound L, not an instance's optimum: the .solu keeps the two-solver rule."""
    if not resolved.is_file():
        return {}
    best: dict[str, dict] = {}
    for line in resolved.read_text().splitlines():
        r = json.loads(line)
        if not (isinstance(r.get("lower"), (int, float)) and isinstance(r.get("upper"), (int, float))):
            continue
        b = best.setdefault(r["problem"], {"L_lower": r["lower"], "L_upper": r["upper"], "runs": []})
        b["L_lower"], b["L_upper"] = max(b["L_lower"], r["lower"]), min(b["L_upper"], r["upper"])
        b["runs"].append(r)
    out = {}
    for key, b in best.items():
        closed = (b["L_upper"] - b["L_lower"]) <= RESOLVED_GAP * abs(b["L_upper"])
        fastest = min(b["runs"], key=lambda r: (not r.get("closed"), r["wall"]))
        how = (f"lipgen run {fastest['label']}, {fastest['time_limit']:g} s limit: "
               f"{'closed' if closed else 'open'} in {fastest['wall']:.1f} s ({fastest['upper_source']})")
        out[key] = {"L_lower": b["L_lower"], "L_upper": b["L_upper"], "L_by": how}
    by_instance = {}
    for r in v1_rows:
        found = out.get(f"{r['network']}:{r['domain_label']}:{r['norms']}")
        if found:
            by_instance[r["instance"]] = found
    return by_instance


def solu_of(tier: tiers.Tier, single: SoluEntry | None, name: str) -> SoluEntry | None:
    """=opt= only for a confirmed value; a single solver's values stay =best= / =bestdual=."""
    if tier.value is not None:
        return SoluEntry(name, "opt", tier.value, tier.value, single.runs if single else 2)
    if single is not None and single.kind == "opt":
        return SoluEntry(name, "best", single.primal, single.dual, single.runs)
    return single


def write_values() -> dict[str, dict]:
    runs_dir = v2.LIB / "runs"
    by_name = defaultdict(list, confirm.runs_by_instance((runs_dir, v2.v1.LIB / "runs"), v2.instance_dirs()))
    single = {e.name: e for e in solu_entries([r for runs in by_name.values() for r in runs])[0]}
    v1_rows = list(csv.DictReader((v2.v1.LIB / "metadata.csv").open()))
    dates = update_dates(runs_dir) if runs_dir.is_dir() else {}
    rows, solu = [], []
    waiting: dict[str, int] = defaultdict(int)  # pending instances by the one family that solved them
    beyond = 0  # disagreements where every solver's incumbent is better than the tree's exact value
    known = known_lipschitz(v1_rows)
    for name, (path, entry) in sorted(descriptions().items()):
        tier = tiers.classify(by_name.get(name, []))
        if tier.disagreements and _beyond_exact(by_name[name]):
            beyond += 1
        if tier.pending:
            waiting[", ".join(sorted({tiers.family(r) for r in by_name[name] if outcome(r) == SOLVED}))] += 1
        e = solu_of(tier, single.get(name), name)
        row = metadata_row(name, entry, by_name.get(name, []), e) | tiers.tier_columns(tier, dates)
        row |= dict.fromkeys(LIPSCHITZ_COLUMNS) | known.get(name, {})
        scip = [r.result["time"] for r in by_name.get(name, []) if r.solver == "scip" and outcome(r) == SOLVED
                and isinstance(r.result.get("time"), (int, float))]
        row["scip_time"] = min(scip) if scip else None  # for the quick set only (not a metadata column)
        row |= {"origin": "v1" if path.startswith(v2.V1_PREFIX) else "v2", "path": path}
        rows.append(row)
        solu += [e] if e else []
    atomic.write_text(v2.LIB / "metadata.csv", render_rows_csv(rows, METADATA_COLUMNS))
    atomic.write_text(v2.LIB / f"{v2.LIBRARY}.solu", render_solu(solu))
    for name, names in test_sets(rows).items():
        atomic.write_text(v2.LIB / f"{name}.test", "".join(f"{p}\n" for p in names))
    was_open = {r["instance"] for r in v1_rows if r["status"] == "open"}
    write_readme(rows, waiting, beyond, was_open)
    return {r["instance"]: r for r in rows}


def test_sets(rows: list[dict]) -> dict[str, list[str]]:
    """quick: per network and bound kind the first easy instance that SCIP solved within QUICK_SECONDS; benchmark:
    easy ones that take at least BENCHMARK_MIN_SECONDS; hard: the hard tier."""
    quick, seen = [], set()
    for r in rows:
        fast = r.get("scip_time") is not None and r["scip_time"] <= QUICK_SECONDS
        if r["status"] == tiers.EASY and fast and (r["network"], r["bound"]) not in seen:
            seen.add((r["network"], r["bound"]))
            quick.append(r["path"])
    bench = [r["path"] for r in rows if r["status"] == tiers.EASY and (r["time"] or 0) >= BENCHMARK_MIN_SECONDS]
    return {"quick": quick, "benchmark": bench, "hard": [r["path"] for r in rows if r["status"] == tiers.HARD]}


def _status_table(rows: list[dict]) -> list[str]:
    """Counts per origin and problem class: easy / hard / open (pending: one solver's value)."""
    groups: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        g = groups[(r["origin"], r["problem_class"] or "?")]
        g[r["status"]] += 1
        g["pending"] += bool(r["pending_confirmation"])
    out = ["| origin | class | instances | easy | hard | open | of them pending |", "|---|---|---:|---:|---:|---:|---:|"]
    for (origin, cls), g in sorted(groups.items()):
        total = g[tiers.EASY] + g[tiers.HARD] + g[tiers.OPEN]
        out.append(f"| {origin} | {cls} | {total} | {g[tiers.EASY]} | {g[tiers.HARD]} | {g[tiers.OPEN]} | "
                   f"{g['pending']} |")
    return out


def _sets_line(rows: list[dict]) -> str:
    sets = test_sets(rows)
    by_path = {r["path"]: r for r in rows}
    seconds = {k: sum(float(by_path[p]["time"] or 0) for p in v) for k, v in sets.items()}
    scip = sum(by_path[p]["scip_time"] for p in sets["quick"])
    return (f"sets: `quick.test` {len(sets['quick'])} instances (SCIP: {scip:.0f} s in all, at most "
            f"{QUICK_SECONDS:g} s each), `benchmark.test` {len(sets['benchmark'])} (confirmed, at least "
            f"{BENCHMARK_MIN_SECONDS:g} s: {seconds['benchmark']:.0f} s), `hard.test` {len(sets['hard'])}, "
            f"`all.test` all {len(rows)}.")


def _hard_line(rows: list[dict]) -> str:
    """How the hard instances got their value, one clause each."""
    hard = [r for r in rows if r["status"] == tiers.HARD]
    return "; ".join(f"`{r['instance']}` (value {r['value']:.10g}, {r['how']}, confirmed by "
                     f"{r['confirmed_by']})" for r in hard) + "."


def _longest_limit() -> float:
    """The largest --time-limit of v2's campaigns (their commands), 0 without any."""
    path = v2.LIB / "runs" / "campaigns.json"
    words = [e["command"].split() for e in (json.loads(path.read_text()) if path.is_file() else [])]
    return max((float(w[k + 1]) for w in words for k in range(len(w) - 1) if w[k] == "--time-limit"), default=0.0)


def _beyond_exact(runs: list[Run]) -> bool:
    """Every solver that solved the instance reports an incumbent better (lower) than the split tree's value."""
    solved = [r for r in runs if outcome(r) == SOLVED]
    exact = [r.result["primal"] for r in solved if tiers.family(r) == "exact"]
    others = [r.result["primal"] for r in solved if tiers.family(r) != "exact"]
    return bool(exact and others) and max(others) < min(exact)


def write_readme(rows: list[dict], waiting: dict[str, int], beyond: int, was_open: set[str]) -> None:
    """README.md of v2 (was_open: the instances v1 publishes as open)."""
    count = defaultdict(int)
    for r in rows:
        count[r["status"]] += 1
    new = sum(r["origin"] == "v2" for r in rows)
    split = sum(r["path"].startswith(v2.SPLIT_FAMILY + "/") for r in rows)
    large = sum(r["path"].startswith("large/") for r in rows)
    pending = sum(bool(r["pending_confirmation"]) for r in rows)
    apart = [r for r in rows if r["disagreements"]]
    v1_open = [r for r in rows if r["instance"] in was_open]
    known = [r for r in v1_open if r["L_upper"] is not None
             and r["L_upper"] - r["L_lower"] <= RESOLVED_GAP * abs(r["L_upper"])]
    sources = "; ".join(f"{n} {v2.v1.norm_tag(a, b)} on `{d}`" for n, d, a, b in v2.SPLIT_SOURCES)
    text = [f"# {v2.LIBRARY}: Lipschitz-constant problems of ReLU networks, values confirmed by two solver families",
            "",
            f"Version 2 of lipgen's instance library. It keeps lipgen-v1's {len(rows) - new} instances as published "
            f"(referred to in `../v1/`, never copied: their lists' paths start with `../v1/`) and adds {new}: "
            "l2 -> l-inf and margin (logit difference f_I - f_J) instances of the trained nets, the deeper and "
            f"wider trained nets of `networks.V2_SPECS` and the family `split` ({split} leaves of lipgen's split "
            "tree on hard problems). Conventions as in v1 and MIPLIB 2017 (`.solu`, `.test` lists, easy / hard / "
            "open, a metadata table); what the instances mean is in "
            "[docs/formulation.md](../../docs/formulation.md).", "",
            "## At a glance", "",
            f"- {len(rows)} instances: {len(rows) - new} of v1, {new - split - large} new in `instances/`, {split} in "
            f"`split/`, {large} made on demand (`large/`: {', '.join(v2.LARGE_NETWORKS)}; "
            "`python instances/build_v2.py --only NETWORK` makes them).",
            f"- status: {count[tiers.EASY]} easy, {count[tiers.HARD]} hard, {count[tiers.OPEN]} open; {pending} of the "
            f"open ones have one family's value awaiting its second "
            f"({', '.join(f'{n} by {f}' for f, n in sorted(waiting.items())) or 'none'}), "
            f"{len(apart)} instances list a disagreement (below).",
            f"- {_sets_line(rows)}", "",
            *_status_table(rows), "",
            "## Quick start", "",
            "    lipgen solve instances/v2/quick.test --threads 1 -o runs/",
            f"    lipgen collect runs/ -o report/ --solu instances/v2/{v2.LIBRARY}.solu", "",
            "## How a value is known", "",
            "A value is `=opt=` in the .solu only when two runs of different families solved the instance, their "
            f"incumbents agree within {tiers.AGREE_REL_TOL:g} relative (to max(1, |value|)) and each run's dual "
            "bound is within that tolerance of its own incumbent (metadata column `confirmed_by`). The families: "
            "SCIP, HiGHS (MILPs), Gurobi and CPLEX within their free licences' sizes (`instances/confirm.py` picks "
            "the first that the instance's sidecar and size allow), and `exact`: lipgen's split tree, which bounds "
            "L of the instance's own network and domain to 1e-9 with no solver (`instances/exact.py`; for an "
            "upper instance that is its optimum, for a lower one it is too unless a region is thinner than the "
            "strict problem's eps). A single family's optimum stays `=best=` / `=bestdual=`; disagreements are "
            "listed below, never averaged. easy: some agreeing run took under one hour, unsplit, on one machine; "
            "hard: only runs over one hour or split runs did (MIPLIB's rule), or the split tree's exact value is "
            "matched by the incumbent of a solver run that ran an hour without proving it (two solutions agree and "
            "a dual bound, the tree's, confirms them: MINLPLib's rule); open: the rest. Each row says how the "
            "value was obtained (`solved_by`, `mode`, `time`, `threads`, `how`, `split`) and when (`date`).", "",
            "## Hard tier", "",
            (f"{count[tiers.HARD]} instances are hard (`hard.test`): " + _hard_line(rows) if count[tiers.HARD] else
             "No instance is hard yet: MIPLIB's hard needs a value confirmed only by runs over one hour (or by "
             f"split runs), and every campaign below stopped its runs at {_longest_limit():g} s or less. Where one "
             "family's value "
             "awaits its second (above), a long run of another family decides between easy, hard and a "
             "disagreement." + (f" {waiting['exact']} open instances have the split tree's exact value and no "
                                "solver's within the campaigns' limits: the first candidates."
                                if waiting.get("exact") else "")), "",
            "## The family `split`", "",
            f"For each of {sources}: lipgen's split tree (`lipgen.split.tree.Tree`, default options) bounds "
            f"{v2.SPLIT_NODES} nodes (a node budget, no clock, so a rebuild gives the same bytes), then its "
            f"{v2.SPLIT_LEAVES} open nodes of largest bound become leaf instances, as `lipgen split --leaf-solver` "
            "writes them: the upper-bound problem over the node's sub-box, named `NETWORK-leafIDENT__...`, the "
            "sidecar's `split` table naming the tree's digest, the node, its depth, its fixed phases and its "
            "bound. The maximum of the leaves' values bounds nothing by itself (the other open nodes are not "
            "here): they are a set of related, smaller instances of one hard problem.", "",
            "## L of v1's open problems", "",
            f"{len(known)} of the {len(v1_open)} instances that v1 publishes as open have their problem's Lipschitz "
            "constant certified to a relative gap of 1e-4 by `lipgen run` (the split tree beside the MIPs; "
            "benchmarks/library_resolve.md): columns `L_lower`, `L_upper`, `L_by`. They bound L, not the "
            "instance's optimum (a v1 instance of another encoding or mode than the one `run` solved, or a lower "
            "instance whose eps cuts a thin region, may have another value), so they enter the .solu only through "
            "a run of the instance itself.", "",
            "## Campaigns", "", *readme.campaigns_table(v2.LIB / "runs", "instances/v2/"), "",
            "Times are each solver's own on a 2-core machine that ran two solver processes at a time.", "",
            "## Files", "",
            "| path | what |", "| --- | --- |",
            "| `instances/`, `split/` | the new instances (gzipped free MPS) and their sidecars, with `manifest.json` "
            "and `networks/` |",
            "| `large/manifest.json` | the instances made on demand: names, sizes, SHA-256 |",
            f"| `{v2.LIBRARY}.solu` | known objective values (MIPLIB's format, the files' minimisation sense) |",
            "| `metadata.csv` | one row per instance (v1's columns, then `confirmed_by, how, threads, split, date, "
            "pending_confirmation, disagreements, L_lower, L_upper, L_by, origin, path`) |",
            "| `quick.test`, `benchmark.test`, `hard.test`, `all.test` | lists, paths relative to this folder |",
            "| `SHA256SUMS` | every instance file, v1's and large ones included |",
            "| `runs/` | the `result.json` of every run behind a value (per solver, `exact/` for the tree), "
            "`campaigns.json` |", "",
            "## Rebuilding and checking", "",
            "    python instances/build_v2.py                  # the new instances, split/, lists, sums, values",
            "    python instances/solve.py committed --library v2 --time-limit 10 -j 2   # the first solver",
            "    python instances/confirm.py --time-limit 60 --jobs 2                    # the second solver",
            "    python instances/exact.py --time-limit 20                               # the split tree",
            "    python instances/build_v2.py --values         # .solu, metadata, lists, this page", "",
            "`tests/test_library_v2.py` rebuilds a sample and the split family byte for byte, checks lists, "
            "checksums, metadata and .solu against each other, and solves quick instances against the .solu.", "",
            "## Disagreements", "",
            *([f"Runs of different families that both solved an instance and differ by more than "
               f"{tiers.AGREE_REL_TOL:g} relative. In {beyond} of these {len(apart)} instances every solver's "
               "incumbent is better than the split tree's exact value: the solvers' feasibility tolerance (1e-6) on "
               "the quadratic constraints (the unit ball of the l2 input norm, the squared l2 output norm) lets "
               "their points go slightly beyond the feasible set, and with the objective -(L/scale)^2 that shows at "
               "a few 1e-6 (lipgen's certified bounds widen for it; the .solu does not pick a side). An instance "
               "listed here is still `=opt=` when two other families agree.", ""] if apart else []),
            *([f"- `{r['instance']}`: {r['disagreements']}" for r in apart] or ["None."]), ""]
    atomic.write_text(v2.LIB / "README.md", "\n".join(text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", action="store_true", help="only the values (no instance is built)")
    parser.add_argument("--only", action="append", default=[], metavar="NETWORK")
    parser.add_argument("--split", action="store_true", help="only the family `split`")
    args = parser.parse_args(argv)
    if not args.values:
        if not args.split:
            items = [i for i in v2.plan() if i.origin == v2.VERSION and (not args.only or i.network in args.only)]
            for path, held in build_new(items).items():
                print(f"{path.name}: v1 holds it ({held}), referred to")
        if not args.only:
            print(f"{len(v2.split_family())} split leaves in {v2.SPLIT_FAMILY}/")
        write_lists_and_sums()
    write_values()
    return 0


if __name__ == "__main__":
    sys.exit(main())
