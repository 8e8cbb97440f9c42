"""The library's values and pages from the recorded runs (called by `python instances/build.py --values`).

- `lipgen collect` (lipgen.report.collect) over v1/runs/ -> v1/lipgen-v1.solu and the result tables in
  v1/results/ (CSV, Markdown, text);
- v1/metadata.csv: every instance of the collection, MIPLIB-style (lipgen.report.metadata) with the library's
  tags (family, dataset, domain, sets);
- v1/quick.test and v1/benchmark.test from the statuses;
- v1/README.md, the library's page.

Nothing here types a value in: every number comes from a result.json, a sidecar or a manifest.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from pathlib import Path

import layout as lib
import networks as nets
from readme import write_readme

from lipgen import atomic
from lipgen.domain import Box
from lipgen.instance import instance_stem_of, norm_tag
from lipgen.report import collect
from lipgen.report.metadata import COLUMNS, EASY, HARD, OPEN, metadata_row, render_rows_csv

RESULTS = "results"
SOLU = f"{lib.LIBRARY}.solu"
# The quick set: network, domain label, norms (both bound kinds, big-M). Small instances of every family, every
# norm pair and every problem class that SCIP solves within seconds each.
QUICK = (
    ("iris-4-8-3", "data", "L1"),
    ("iris-4-8-3", "data", "L2"),
    ("iris-4-8-3", "data", "Linfto2"),
    ("wine-13-16-3", "test1-r0.05", "Linf"),
    ("cancer-30-16-1", "test0-r0.01", "L1toinf"),
    ("digits-64-16-10", "test0-r0.01", "Linf"),
    ("lipbab-4-5-5-3", "box", "L2"),
    ("lipbab-4-5-5-3", "box", "Linf"),
    ("lipmip-depth1", "box", "L1"),
    ("lipmip-depth2", "box", "Linfto2"),
)
QUICK_SECONDS = 10.0  # each quick instance must be solved by SCIP within this
BENCHMARK_MIN_SECONDS = 1.0  # solved faster than this by SCIP: too easy to measure anything, left out
EXTRA_COLUMNS = ("family", "dataset", "domain_label", "folder", "sets")
METADATA_COLUMNS = COLUMNS[:-1] + EXTRA_COLUMNS + ("tags",)


def domain_labels() -> dict[tuple[str, str], str]:
    """(network, domain tag) -> the library's label of that domain (data, box, ball, test<i>-r<radius>)."""
    catalog = nets.load_catalog()
    out = {}
    for spec in nets.SPECS:
        if spec.name not in catalog or not lib.network_path(spec.name).is_file():
            continue
        for label, box in lib.domains(spec, catalog).items():
            out[(spec.name, box.tag())] = label
    return out


def domain_labels_from_catalog() -> dict[tuple[str, str], str]:
    """The same without the network files (the wide networks are not in the repository): from the catalog's
    domains, whose tags depend only on the bounds."""
    out = {}
    for spec in nets.SPECS:
        entry = nets.load_catalog().get(spec.name)
        if entry is None:
            continue
        for b in entry.get("balls", []):
            out[(spec.name, Box(b["lower"], b["upper"], "ball").tag())] = b["label"]
    return out


def instances() -> list[dict]:
    """Every instance of the collection: its manifest entry with folder and library labels."""
    labels = domain_labels_from_catalog() | domain_labels()
    out = []
    for folder, e in lib.manifest_entries():
        spec = nets.BY_NAME[e["network"]]
        label = labels.get((e["network"], e["domain"]))
        if label is None:  # the main domain of a network whose file is absent (stored in the file)
            label = {"trained": "data", "wide": "ball"}.get(spec.family, "box")
        out.append(dict(e, folder=folder, name=instance_stem_of(e["instance"]), family=spec.family,
                        dataset=spec.dataset, domain_label=label, norm=norm_tag(e["norms"]["input"], e["norms"]["output"])))
    return sorted(out, key=_plan_order)


def _plan_order(i: dict) -> tuple:
    """The order of the plan: networks as listed, their main domain first, norms, big-M first, upper first."""
    spec = nets.BY_NAME[i["network"]]
    labels = lib.domains_labels(spec, nets.load_catalog())
    norms = [norm_tag(a, b) for a, b in lib.NORMS]
    return ([s.name for s in nets.SPECS].index(spec.name), labels.index(i["domain_label"]),
            norms.index(i["norm"]), i["encoding"] != "bigm", i["bound"] != "upper", i["name"])


def run_collect():
    """`lipgen collect` over v1/runs -> v1/results/ and v1/lipgen-v1.solu; None when there are no runs yet."""
    runs = lib.LIB / "runs"
    if not any(runs.rglob("result.json")):
        return None
    here = os.getcwd()
    os.chdir(lib.LIB)  # relative paths in the report
    try:
        dirs = [d for d in (lib.COMMITTED, lib.LARGE) if Path(d).is_dir()]
        report = collect(["runs"], RESULTS, instance_dirs=dirs, name=lib.LIBRARY)
    finally:
        os.chdir(here)
    out = lib.LIB / RESULTS
    shutil.move(out / SOLU, lib.LIB / SOLU)
    for leftover in (f"{lib.LIBRARY}.metadata.csv", f"{lib.LIBRARY}.json"):  # v1/metadata.csv has it all
        (out / leftover).unlink(missing_ok=True)
    for msg in report.messages:
        print(msg)
    return report


def pick_sets(rows: dict[str, dict], insts: list[dict]) -> dict[str, list[str]]:
    """quick: the QUICK pairs; benchmark: every solved instance SCIP did not find trivial."""
    quick = []
    for network, label, norm in QUICK:
        found = [i for i in insts if i["network"] == network and i["domain_label"] == label and i["norm"] == norm
                 and i["encoding"] == "bigm"]
        if len(found) != 2:
            raise SystemExit(f"quick set: {network} {label} {norm}: {len(found)} instances, expected 2")
        for i in found:
            r = rows[i["name"]]
            if r["status"] != EASY or (r["time"] or 0) > QUICK_SECONDS:
                print(f"warning: quick instance {i['name']} is {r['status']} ({r['time']} s)")
            quick.append(i["name"])
    bench = [n for n, r in rows.items() if r["status"] in (EASY, HARD) and (r["time"] or 0) >= BENCHMARK_MIN_SECONDS]
    return {"quick": sorted(quick), "benchmark": sorted(bench)}


def write_values() -> None:
    insts = instances()
    if not insts:
        print("no instances: run python instances/build.py first")
        return
    report = run_collect()
    runs = defaultdict(list)
    solu = {}
    if report is not None:
        for r in report.runs:
            runs[r.name].append(r)
        solu = {e.name: e for e in report.solu}
    rows = {}
    for i in insts:
        row = metadata_row(i["name"], i, runs.get(i["name"], []), solu.get(i["name"]))
        row.update(family=i["family"], dataset=i["dataset"], domain_label=i["domain_label"], folder=i["folder"])
        rows[i["name"]] = row
    sets = pick_sets(rows, insts) if report is not None else {"quick": [], "benchmark": []}
    for name, row in rows.items():
        member = [s for s in ("quick", "benchmark") if name in sets[s]]
        row["sets"] = " ".join(member + ["all"])
        words = [row["family"], row["dataset"], row["network"], row["domain_label"], row["norms"], row["bound"],
                 row["encoding"], row["mode"], row["problem_class"].replace(" ", "_") if row["problem_class"] else None,
                 *member]
        row["tags"] = " ".join(str(w) for w in words if w)
    by_folder = {i["name"]: i for i in insts}
    for s, names in sets.items():
        atomic.write_text(lib.LIB / f"{s}.test", "".join(f"{by_folder[n]['folder']}/{by_folder[n]['instance']}\n"
                                                         for n in names))
    ordered = [rows[i["name"]] for i in insts]
    atomic.write_text(lib.LIB / "metadata.csv", render_rows_csv(ordered, METADATA_COLUMNS))
    write_readme(insts, rows, sets, report)
    counts = defaultdict(int)
    for r in rows.values():
        counts[r["status"]] += 1
    print(f"{len(rows)} instances: " + ", ".join(f"{counts[s]} {s}" for s in (EASY, HARD, OPEN)) +
          f"; quick {len(sets['quick'])}, benchmark {len(sets['benchmark'])}")

