"""v1/README.md, the library's page, rendered from the catalog, the manifests, the metadata and the runs."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import layout as lib
import networks as nets

from lipgen import atomic
from lipgen.report.metadata import EASY, EASY_SECONDS, HARD, OPEN
from lipgen.report.solu import OPT_REL_TOL

NORM_ORDER = ("L1", "L2", "Linf", "L1toinf", "Linfto2")
FAMILY_TITLE = {"trained": "Trained on scikit-learn's datasets", "lipmip": "LipMIP's shapes (random)",
                "lipbab": "LipBaB's shapes (random)", "wide": "Wide (random, 784 inputs, small ball)"}
SOLVER_NAMES = {"scip": "SCIP", "gurobi": "Gurobi", "cplex": "CPLEX", "cbc": "CBC", "highs": "HiGHS",
                "exact": "lipgen's split tree"}
L_EXACT = 1e-5  # bounds this close (relative) are printed as one value


def _num(x, digits: int = 6) -> str:
    return "-" if x is None else f"{x + 0.0:.{digits}g}"


def _range(values) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "-"
    lo, hi = min(vals), max(vals)
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def _bounds_cell(row) -> str:
    """L (bounds that meet), [lower, upper], or '-' without a run."""
    if row is None:
        return "-"
    lo, up = row.certified_lower if row.certified_lower is not None else row.best_lower, row.upper
    if lo is not None and up is not None and up - lo <= L_EXACT * max(abs(up), 1e-12):
        return _num(lo)
    return f"[{_num(lo, 4)}, {_num(up, 4)}]"


def _campaigns(runs: Path | None = None) -> list[dict]:
    path = (lib.LIB / "runs" if runs is None else runs) / "campaigns.json"
    return json.loads(path.read_text()) if path.is_file() else []


def _solver(campaign: dict) -> str:
    words = campaign["command"].split()
    return campaign.get("solver") or (words[words.index("--solver") + 1] if "--solver" in words else "?")


def networks_table(insts: list[dict]) -> list[str]:
    catalog = nets.load_catalog()
    count = defaultdict(int)
    for i in insts:
        count[i["network"]] += 1
    lines = ["| network | family | shape | hidden neurons | parameters | data | test accuracy | domains | instances "
             "| in the repository |",
             "| --- | --- | --- | ---: | ---: | --- | ---: | --- | ---: | --- |"]
    for spec in nets.SPECS:
        e = catalog.get(spec.name, {})
        ws = spec.widths
        params = sum(a * b + b for a, b in zip(ws[:-1], ws[1:]))
        acc = (e.get("training") or {}).get("test_accuracy")
        doms = lib.domains_labels(spec, catalog)
        folder = lib.COMMITTED if spec.committed and spec.name not in lib.LARGE_NETWORKS else lib.LARGE
        lines.append(f"| {spec.name} | {spec.family} | {spec.shape} | {sum(ws[1:-1])} | {params} | "
                     f"{spec.dataset or f'random (seed {spec.seed})'} | {'-' if acc is None else f'{acc:.3f}'} "
                     f"| {', '.join(doms)} | {count[spec.name]} | "
                     f"{'yes' if folder == lib.COMMITTED else 'no (v1/large/, rebuilt)'} |")
    return lines


def sizes_table(insts: list[dict], rows: dict[str, dict]) -> list[str]:
    by = defaultdict(list)
    for i in insts:
        by[i["network"]].append(rows[i["name"]])
    lines = ["| network | instances | variables | binaries | constraints | nonzeros | classes (QPLIB) | easy | hard | "
             "open |", "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |"]
    for spec in nets.SPECS:
        rs = by.get(spec.name, [])
        if not rs:
            continue
        codes = sorted({r["qplib_code"] for r in rs if r["qplib_code"]})
        lines.append(f"| {spec.name} | {len(rs)} | {_range(r['variables'] for r in rs)} | "
                     f"{_range(r['binaries'] for r in rs)} | {_range(r['constraints'] for r in rs)} | "
                     f"{_range(r['nonzeros'] for r in rs)} | {', '.join(codes)} | "
                     + " | ".join(str(sum(r["status"] == s for r in rs)) for s in (EASY, HARD, OPEN)) + " |")
    return lines


def values_tables(insts: list[dict], report) -> list[str]:
    """Per family: one row per network x domain, one column per norm pair (big-M encoding)."""
    rows = {}
    if report is not None:
        for r in report.rows:
            if r.solver == "scip":
                rows[(r.network, r.domain, r.norms, r.encoding)] = r
    keys = []
    seen = set()
    for i in insts:
        k = (i["family"], i["network"], i["domain"], i["domain_label"])
        if k not in seen:
            seen.add(k)
            keys.append(k)
    out = []
    for family, title in FAMILY_TITLE.items():
        fam = [k for k in keys if k[0] == family]
        if not fam:
            continue
        out += ["", f"#### {title}", "", "| network | domain | " + " | ".join(NORM_ORDER) + " |",
                "| --- | --- | " + " | ".join("---:" for _ in NORM_ORDER) + " |"]
        for _, network, tag, label in fam:
            cells = [_bounds_cell(rows.get((network, tag, n, "bigm"))) for n in NORM_ORDER]
            out.append(f"| {network} | {label} | " + " | ".join(cells) + " |")
    quad = [(i["network"], i["domain"], i["domain_label"], i["norm"]) for i in insts if i["encoding"] == "quadratic"]
    if quad:
        out += ["", "#### Quadratic (bilinear) encoding, the same networks", "",
                "| network | domain | norms | bounds (quadratic encoding) | bounds (big-M) |",
                "| --- | --- | --- | ---: | ---: |"]
        for network, tag, label, norm in sorted(set(quad)):
            out.append(f"| {network} | {label} | {norm} | {_bounds_cell(rows.get((network, tag, norm, 'quadratic')))} "
                       f"| {_bounds_cell(rows.get((network, tag, norm, 'bigm')))} |")
    return out


def campaigns_table(runs: Path | None = None, where: str = "instances/v1/") -> list[str]:
    """The campaigns of a library's runs folder (v1's by default) as a table, their notes below it."""
    camps = _campaigns(runs)
    if not camps:
        return ["No runs are recorded yet."]
    lines = [f"| # | started (UTC) | finished (UTC) | command (in {where}) | solver | runs (reused) | statuses | "
             "solver time (s) | machine | load at start |",
             "| ---: | --- | --- | --- | --- | ---: | --- | ---: | --- | --- |"]
    notes = []
    for k, c in enumerate(camps, 1):
        m = c.get("machine") or {}
        statuses = ", ".join(f"{s} {n}" for s, n in (c.get("statuses") or {}).items())
        solver = _solver(c)
        lines.append(f"| {k} | {c['started']} | {c['finished']} | `{c['command']}` | "
                     f"{SOLVER_NAMES.get(solver, solver)} {c.get('solver_version', '')} | "
                     f"{c.get('runs', '-')} ({c.get('reused', 0)}) | {statuses} | {c.get('solver_seconds', '-')} | "
                     f"{m.get('cpu')}, {m.get('logical_cpus')} CPUs, {m.get('memory_gb')} GB | "
                     f"{' '.join(map(str, m.get('load_average_at_start') or []))} |")
        if c.get("note"):
            notes.append(f"{k}. {c['note']}")
    return lines + ([""] + notes if notes else [])


def large_section(insts: list[dict]) -> list[str]:
    large = [i for i in insts if i["folder"] == lib.LARGE]
    nets_ = sorted({i["network"] for i in large}, key=lambda n: [s.name for s in nets.SPECS].index(n))
    return [f"{len(large)} instances of {len(nets_)} networks ({', '.join(nets_)}) compress to 0.4-40 MB each: "
            "they are not in the repository. Their names, sizes and checksums are in `large/manifest.json` and "
            "`SHA256SUMS`; make and verify them with", "",
            "    python instances/networks.py          # the wide networks' weights (15 MB and more, not committed)",
            "    python instances/build.py             # every instance, large/ included (about a minute)",
            "    cd instances/v1 && sha256sum -c SHA256SUMS", ""]


def write_readme(insts: list[dict], rows: dict[str, dict], sets: dict, report) -> None:
    n = len(insts)
    committed = sum(i["folder"] == lib.COMMITTED for i in insts)
    status = defaultdict(int)
    for r in rows.values():
        status[r["status"]] += 1
    classes = defaultdict(int)
    for r in rows.values():
        classes[f"{r['problem_class']} ({r['qplib_code']})"] += 1
    versions = sorted({f"{SOLVER_NAMES.get(_solver(c), _solver(c))} {c['solver_version']}" for c in _campaigns()
                       if c.get("solver_version")})
    quick_time = sum(rows[q]["time"] or 0 for q in sets["quick"])
    bench_time = sum(rows[b]["time"] or 0 for b in sets["benchmark"])
    solved = [r for r in rows.values() if r["status"] in (EASY, HARD)]
    text = [
        f"# {lib.LIBRARY}: a benchmark library of Lipschitz-constant problems of ReLU networks",
        "",
        f"Version 1 of lipgen's instance library: {n} mixed-integer programs (MILP, convex MIQCP, nonconvex MIQP and "
        f"MIQCQP) whose optimal values are the Lipschitz constants of {len(nets.SPECS)} ReLU networks over given input "
        "domains, with known values where a solver proved them. The networks are recognisable: small classifiers "
        "trained on scikit-learn's bundled datasets and random networks in the shapes the Lipschitz literature uses "
        "(LipMIP, LipBaB). Every network is made by a seeded script, every instance by `lipgen generate`, every value "
        "by a recorded solver run: nothing is typed in. The conventions follow MIPLIB 2017 (`.solu` file, `.test` "
        "lists, status easy/hard/open, a metadata table) and QPLIB (the three-letter problem type).",
        "",
        "What each instance means, and why its bounds are sound, is in "
        "[docs/formulation.md](../../docs/formulation.md); the file dialect in "
        "[docs/solvers.md](../../docs/solvers.md).",
        "",
        "## At a glance",
        "",
        f"- {n} instances: {committed} in the repository (`instances/`, gzipped MPS and a JSON sidecar each), "
        f"{n - committed} made on demand (`large/`).",
        "- classes: " + ", ".join(f"{k} {v}" for k, v in sorted(classes.items())) + ".",
        f"- status: {status[EASY]} easy, {status[HARD]} hard, {status[OPEN]} open "
        "(see [status](#status-and-how-the-values-were-obtained): open includes instances no run has tried yet).",
        f"- sets: `quick.test` {len(sets['quick'])} instances (SCIP: {quick_time:.0f} s in total), `benchmark.test` "
        f"{len(sets['benchmark'])} instances (SCIP: {bench_time:.0f} s in total, solved instances that take SCIP "
        f"at least {1:g} s), `all.test` all {n}.",
        f"- known values: {len(solved)} instances with `=opt=` in [`{lib.LIBRARY}.solu`]({lib.LIBRARY}.solu), "
        f"from {', '.join(versions) or 'no solver yet'}.",
        "",
        "## Quick start",
        "",
        "Solve the quick set with the bundled SCIP and compare with the known values (from the repository's root, "
        "after `pip install -e .`):",
        "",
        "    lipgen solve instances/v1/quick.test --solver scip --threads 1 -o runs/",
        f"    lipgen collect runs/ -o report/ --solu instances/v1/{lib.LIBRARY}.solu",
        "",
        "`collect --solu` prints, per instance, whether your values agree with the known ones (`ok`: solved and "
        "equal within 1e-5 relative; `consistent`: not solved, but the bounds do not contradict; `fail`: a solution "
        "better than a proven bound or a bound beyond a known solution) and writes `report/results.compare.csv`. "
        "Any solver lipgen runs works the same way (`--solver gurobi`, `cplex`, `cbc`), and so does a cluster: "
        "`lipgen jobs instances/v1/benchmark.test --scheduler slurm ...` then `lipgen collect`. Without lipgen, the "
        "files are plain gzipped free MPS; the sidecar next to each names the network, domain, norms and how the "
        "objective maps to the Lipschitz constant.",
        "",
        "## Files",
        "",
        "| path | what |",
        "| --- | --- |",
        "| `instances/NAME.mps.gz` | the instance (free MPS, gzipped, always a minimisation) |",
        "| `instances/NAME.json` | its sidecar: network copy and digest, domain, norms, bound kind, scaling, objective "
        "to L, statistics |",
        "| `instances/networks/` | the network copies the sidecars refer to |",
        "| `instances/manifest.json`, `large/manifest.json` | every instance with its class, sizes and SHA-256 |",
        f"| `{lib.LIBRARY}.solu` | known objective values: `=opt=`, `=best=`/`=bestdual=`, `=inf=` (MIPLIB's format) |",
        "| `metadata.csv` | one row per instance: status, sizes, class, QPLIB code, value, who solved it, tags |",
        "| `quick.test`, `benchmark.test`, `all.test` | instance lists (paths relative to this folder) for "
        "`lipgen solve`/`lipgen jobs` |",
        "| `SHA256SUMS` | checksums of every instance file, large ones included |",
        "| `runs/` | the `result.json` of every run behind a value, and `campaigns.json` (what ran when, where) |",
        "| `results/` | `lipgen collect`'s tables of those runs (bounds of L per network, domain, norms) |",
        "| `../networks/` | the networks: `NAME.h5` (lipgen's HDF5 schema, domain stored), `NAME.onnx` (Gemm/Relu, "
        "float64), `catalog.json` (how each was made, data, accuracy, balls) |",
        "",
        "Instance names are lipgen's: `network__norms__domain__bound__encoding`, e.g. "
        "`iris-4-8-3__L1toinf__network-1a2b3c4d__upper__bigm-bwd` (norms `L2` or `L1toinf` for input 1, output inf; "
        "domain kind and hash: `network` is the box stored in the network file, `ball` an l-inf ball; `upper` is the "
        "non-strict problem whose optimum is L, `lower` its strict twin; `bigm` forward mode, `bigm-bwd` backward "
        "mode, `quadratic` the bilinear encoding).",
        "",
        "## Networks",
        "",
        "Made by [`instances/networks.py`](../networks.py) (re-running it gives the same bytes; `--check` "
        "compares). Trained networks: scikit-learn `MLPClassifier` (relu, adam, alpha 1e-3, 1000 iterations, "
        "random_state 0), 75/25 stratified split, inputs z-scored (digits: pixel/16); the network is the "
        "classifier's logits. Domains: `data` the data's box (per feature min..max; digits [0, 1]^64), "
        "`test<i>-r<r>` the l-inf ball of radius r around test point i (clipped to [0, 1] for digits), `box` "
        "[-1, 1]^n, `ball` an l-inf ball of radius 0.01 around a random point of [0, 1]^784. Random weights: "
        "PyTorch's default initialisation (uniform in +-1/sqrt(fan_in)) from numpy's generator with the seed listed.",
        "",
        *networks_table(insts),
        "",
        "## Instances",
        "",
        "Each network x domain x norms (1, 2, inf, 1->inf, inf->2) x bound kind (upper, lower) in the big-M encoding "
        f"(lipgen's defaults: mode auto, linear bounds); the bilinear encoding for {', '.join(lib.QUADRATIC_NETWORKS)} "
        "on their first domain with norms 1, 2, inf.",
        "",
        *sizes_table(insts, rows),
        "",
        "## Known values",
        "",
        "The Lipschitz constant L of each network, domain and norm pair from the SCIP runs (`lipgen collect`'s "
        "certified lower bound and upper bound, in the network's own units): one number where they meet (relative gap "
        f"below {L_EXACT:g}), `[lower, upper]` otherwise (a run stopped by its limit), `-` where no run was made. The "
        "objective values of the files themselves are in the `.solu`; `results/` has every row with its times.",
        *values_tables(insts, report),
        "",
        "## Status and how the values were obtained",
        "",
        f"Status as in MIPLIB 2017: **easy** = solved by SCIP on one thread in under {EASY_SECONDS / 3600:g} h "
        "(solved: optimal, stopped at the requested gap of 1e-6, or proven infeasible, with a solution lipgen's "
        "checker accepts), **hard** = solved, but only by another solver or with more time or threads, **open** = "
        "not solved by any recorded run. This version's runs had short time limits on a shared machine: an open "
        "instance here is one that the listed campaigns did not solve (or did not try: `runs` = 0 in "
        "`metadata.csv`), not one known to be hard. Runs of more time, other solvers or other machines refine the "
        "statuses: solve, then `python instances/build.py --values`.",
        "",
        "Every value in the `.solu` and `metadata.csv` comes from the `result.json` files in `runs/` (solver, "
        "version, settings, status, primal and dual bound, time, the checker's verdict), gathered by "
        "`lipgen collect` (which refuses a run whose instance checksum differs from the sidecar's). The campaigns "
        "(`python instances/solve.py ...`, one solver process at a time, `--threads 1`):",
        "",
        *campaigns_table(),
        "",
        "Times are SCIP's own (`result.json` `time`) on a machine whose 2 cores other jobs shared: expect them "
        "faster on a dedicated core. The `.solu` keeps the files' own minimisation sense (`=opt=` when the best "
        f"incumbent and the best dual bound meet within {OPT_REL_TOL:g} x max(1, |value|)).",
        "",
        "## Large instances",
        "",
        *large_section(insts),
        "## Rebuilding and checking",
        "",
        "    pip install -e '.[test]' scikit-learn          # scikit-learn only to train the networks",
        "    python instances/networks.py --check           # the networks are the committed ones",
        "    python instances/build.py                      # instances, lists, SHA256SUMS, then the values",
        "    python instances/solve.py quick                # a campaign: lipgen solve + a record in runs/",
        "    python instances/build.py --values             # .solu (lipgen collect), metadata, lists, this page",
        "",
        "`tests/test_library.py` regenerates a few instances and checks they are byte-identical to these files, that "
        "every `.solu` entry has an instance and a sidecar, and solves two quick instances against the `.solu`.",
        "",
        "## Metadata columns",
        "",
        "`instance, status, variables, binaries, integers, continuous, constraints, quadratic_constraints, nonzeros, "
        "problem_class, qplib_code, objective, solu, dual_bound, solved_by, time, runs, network, norms, domain, bound, "
        "encoding, mode, family, dataset, domain_label, folder, sets, tags`. `objective` is the best known objective "
        "value (=opt= or =best=), `dual_bound` the best proven bound when not optimal, `solved_by` and `time` the "
        "fastest solving run, `runs` how many runs were made. The QPLIB code is objective / variables / constraints: "
        "L linear, Q nonconvex quadratic; M binary and continuous variables; L linear, D convex quadratic (the l2 "
        "ball), Q nonconvex quadratic (bilinear) constraints.",
        "",
    ]
    atomic.write_text(lib.LIB / "README.md", "\n".join(text))
