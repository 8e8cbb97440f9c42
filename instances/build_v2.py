"""Build lipgen-v2 (layout_v2) and its values.

    python instances/build_v2.py                    # the new items -> v2/instances/, then lists, sums and values
    python instances/build_v2.py --values           # only the values: metadata.csv, lipgen-v2.solu, .test, README
    python instances/build_v2.py --only digits-64-128-128-10     # the new items of some networks

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
import json  # noqa: E402
import sys  # noqa: E402
from collections import defaultdict  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import layout_v2 as v2  # noqa: E402
import tiers  # noqa: E402
from build import link_network_copies  # noqa: E402

from lipgen import atomic  # noqa: E402
from lipgen.instance import MANIFEST, NETWORK_DIR, instance_stem_of  # noqa: E402
from lipgen.report.gather import Run, gather  # noqa: E402
from lipgen.report.metadata import COLUMNS, metadata_row, render_rows_csv  # noqa: E402
from lipgen.report.solu import SoluEntry, render_solu, solu_entries  # noqa: E402

TIER_COLUMNS = ("confirmed_by", "how", "threads", "split", "date", "pending_confirmation", "disagreements")
METADATA_COLUMNS = COLUMNS[:-1] + TIER_COLUMNS + ("origin", "path", "tags")
QUICK_SECONDS, BENCHMARK_MIN_SECONDS = 10.0, 1.0


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
    for folder in ("instances", "large"):
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
        for folder in ("instances", "large"):
            path = lib / folder / MANIFEST
            if path.is_file():
                for e in json.loads(path.read_text())["instances"]:
                    out[instance_stem_of(e["instance"])] = (f"{prefix}{folder}/{e['instance']}", e)
    return out


def solu_of(tier: tiers.Tier, single: SoluEntry | None, name: str) -> SoluEntry | None:
    """=opt= only for a confirmed value; a single solver's values stay =best= / =bestdual=."""
    if tier.value is not None:
        return SoluEntry(name, "opt", tier.value, tier.value, single.runs if single else 2)
    if single is not None and single.kind == "opt":
        return SoluEntry(name, "best", single.primal, single.dual, single.runs)
    return single


def write_values() -> dict[str, dict]:
    runs_dir = v2.LIB / "runs"
    roots = [d for d in (runs_dir, v2.v1.LIB / "runs") if d.is_dir()]
    dirs = [d for d in (v2.LIB / "instances", v2.v1.LIB / "instances") if d.is_dir()]
    found = gather(roots, dirs).runs if any(any(r.rglob("result.json")) for r in roots) else []
    by_name: dict[str, list[Run]] = defaultdict(list)
    for r in found:
        by_name[r.name].append(r)
    single = {e.name: e for e in solu_entries(found)[0]}
    dates = update_dates(runs_dir) if runs_dir.is_dir() else {}
    rows, solu = [], []
    for name, (path, entry) in sorted(descriptions().items()):
        tier = tiers.classify(by_name.get(name, []))
        e = solu_of(tier, single.get(name), name)
        row = metadata_row(name, entry, by_name.get(name, []), e) | tiers.tier_columns(tier, dates)
        row |= {"origin": "v1" if path.startswith(v2.V1_PREFIX) else "v2", "path": path}
        rows.append(row)
        solu += [e] if e else []
    atomic.write_text(v2.LIB / "metadata.csv", render_rows_csv(rows, METADATA_COLUMNS))
    atomic.write_text(v2.LIB / f"{v2.LIBRARY}.solu", render_solu(solu))
    for name, names in test_sets(rows).items():
        atomic.write_text(v2.LIB / f"{name}.test", "".join(f"{p}\n" for p in names))
    write_readme(rows)
    return {r["instance"]: r for r in rows}


def test_sets(rows: list[dict]) -> dict[str, list[str]]:
    """quick: per network the first easy instance solved within QUICK_SECONDS; benchmark: easy ones that take
    at least BENCHMARK_MIN_SECONDS; hard: the hard tier."""
    quick, seen = [], set()
    for r in rows:
        if r["status"] == tiers.EASY and (r["time"] or 0) <= QUICK_SECONDS and r["network"] not in seen:
            seen.add(r["network"])
            quick.append(r["path"])
    bench = [r["path"] for r in rows if r["status"] == tiers.EASY and (r["time"] or 0) >= BENCHMARK_MIN_SECONDS]
    return {"quick": quick, "benchmark": bench, "hard": [r["path"] for r in rows if r["status"] == tiers.HARD]}


def write_readme(rows: list[dict]) -> None:
    count = defaultdict(int)
    for r in rows:
        count[r["status"]] += 1
    new = sum(r["origin"] == "v2" for r in rows)
    pending = sum(bool(r["pending_confirmation"]) for r in rows)
    apart = [r for r in rows if r["disagreements"]]
    text = [f"# {v2.LIBRARY}", "",
            f"{len(rows)} instances: {len(rows) - new} of lipgen-v1 (referred to in `../v1/`, never copied) and "
            f"{new} new (l2 -> l-inf and margin instances of the trained nets, the deeper and wider nets of "
            "`networks.V2_SPECS`). Built by `python instances/build_v2.py`; values by `instances/confirm.py`.", "",
            f"Status: {count[tiers.EASY]} easy, {count[tiers.HARD]} hard, {count[tiers.OPEN]} open "
            f"({pending} of them with one solver's value awaiting its second).", "",
            "A value is known (`=opt=` in the .solu) only when two solvers of different families solved the "
            f"instance, agree within {tiers.AGREE_REL_TOL:g} relative and each dual bound confirms it (metadata "
            "column `confirmed_by`). easy: some agreeing run took under one hour, unsplit, on one machine; hard: "
            "only long runs or split runs did (MIPLIB's rule); open: the rest. Each row says how the value was "
            "obtained (`solved_by`, `mode`, `time`, `threads`, `how`, `split`) and when (`date`).", "",
            "## Disagreements", "",
            *([f"- `{r['instance']}`: {r['disagreements']}" for r in apart] or ["None."]), ""]
    atomic.write_text(v2.LIB / "README.md", "\n".join(text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", action="store_true", help="only the values (no instance is built)")
    parser.add_argument("--only", action="append", default=[], metavar="NETWORK")
    args = parser.parse_args(argv)
    if not args.values:
        items = [i for i in v2.plan() if i.origin == v2.VERSION and (not args.only or i.network in args.only)]
        for path, held in build_new(items).items():
            print(f"{path.name}: v1 holds it ({held}), referred to")
        write_lists_and_sums()
    write_values()
    return 0


if __name__ == "__main__":
    sys.exit(main())
