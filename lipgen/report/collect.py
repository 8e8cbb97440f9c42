"""Gather runs into one report folder:

    NAME.csv  NAME.json  NAME.md  NAME.txt   the tables (one row per network x norms x domain x encoding x solver)
    NAME.solu                                 MIPLIB-style objective values of the instances (lipgen.report.solu)
    NAME.metadata.csv                         per instance: status easy/hard/open, sizes, class, QPLIB code, value
                                              (lipgen.report.metadata)
    NAME.compare.csv                          with a known .solu (`--solu`): per instance ok / consistent / better /
                                              fail / unknown (lipgen.report.solu.compare)
    NAME.leaves.csv                           split runs' leaf MIP runs, one row each (also a section of NAME.md);
                                              they are not rows of the main table (lipgen.report.leaves)
    plots/bounds-<benchmark>.png              with --plots (lipgen.report.plots)
    plots/profile-<benchmark>.png
    plots/split-<group>.png                   a split run's certified bounds over wall time

When one instance was solved by the same solver more than once (runs folders from several machines),
the row uses the best run (solved before limit before fail, then the better bound) and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from lipgen import __version__, atomic
from lipgen.errors import LipgenError
from lipgen.report.gather import Run, gather
from lipgen.report.metadata import metadata_rows, render_rows_csv
from lipgen.report.leaves import LEAF_COLUMNS, is_leaf, leaf_rows, render_leaves_markdown
from lipgen.report.plots import require_matplotlib, write_plots
from lipgen.report.rows import FAIL, LIMIT, SOLVED, Row, best_solvers, group_key, make_rows, outcome, solver_summary, split_rows
from lipgen.report.solu import FAIL as SOLU_FAIL
from lipgen.report.solu import SoluEntry, compare, read_solu, render_solu, solu_entries
from lipgen.report.tables import render_csv, render_markdown, render_text


@dataclass
class Report:
    rows: list[Row]
    summary: list[dict]
    best: list[dict]
    solu: list[SoluEntry]
    refused: list[dict]
    messages: list[str]
    runs_folders: list[str]
    n_results: int
    text_table: str = ""
    files: list[Path] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)  # every accepted run
    metadata: list[dict] = field(default_factory=list)  # one row per instance (lipgen.report.metadata)
    comparison: list[dict] | None = None  # against a known .solu (lipgen.report.solu.compare)
    leaves: list[dict] = field(default_factory=list)  # split runs' leaf MIP runs (lipgen.report.leaves)

    @property
    def contradictions(self) -> list[dict]:
        return [c for c in self.comparison or [] if c["verdict"] == SOLU_FAIL]

    def to_json(self) -> dict:
        return {"lipgen_version": __version__, "runs_folders": self.runs_folders, "results": self.n_results,
                "rows": [r.to_dict() for r in self.rows], "solvers": self.summary, "best": self.best,
                "solu": [e.to_dict() for e in self.solu], "metadata": self.metadata, "compare": self.comparison,
                "refused": self.refused, "leaves": self.leaves,
                "messages": self.messages}


COMPARE_COLUMNS = ("instance", "verdict", "kind", "primal", "dual", "known_kind", "known_primal", "known_dual", "why")


def _preference(run: Run) -> tuple:
    rank = {SOLVED: 0, LIMIT: 1, FAIL: 2}[outcome(run)]
    q = run.result.get("lipschitz") or {}
    if run.result.get("bound") == "upper":
        v = q.get("upper")
        score = v if v is not None else math.inf
    else:
        v = q.get("certified_lower") if q.get("certified_lower") is not None else q.get("lower")
        score = -v if v is not None else math.inf
    return rank, score, str(run.path)


def pair_runs(runs: list[Run], messages: list[str]) -> dict[tuple[str, str], dict[str, Run]]:
    """(group, solver) -> {bound kind: the run used}."""
    found: dict[tuple[str, str, str], list[Run]] = {}
    for r in runs:
        found.setdefault((group_key(r), r.solver, str(r.result.get("bound"))), []).append(r)
    pairs: dict[tuple[str, str], dict[str, Run]] = {}
    for (group, solver, kind), candidates in sorted(found.items()):
        chosen = min(candidates, key=_preference)
        if len(candidates) > 1:
            messages.append(f"note: {len(candidates)} runs of {chosen.name} with {solver}; the table uses "
                            f"{chosen.path}")
        pairs.setdefault((group, solver), {})[kind] = chosen
    return pairs


def collect(runs_folders: list[str | Path], output: str | Path, *, instance_dirs: list[str | Path] | None = None,
            plots: bool = False, name: str = "results", known_solu: str | Path | None = None) -> Report:
    """Read every result.json under `runs_folders` and write the report into `output`; with `known_solu` (a .solu
    file), compare the values with it."""
    if not name or "/" in name or name.startswith("."):
        raise LipgenError(f"--name {name!r}: give a plain file name")
    known = read_solu(known_solu) if known_solu is not None else None
    gathered = gather(runs_folders, instance_dirs)
    if not gathered.runs and not gathered.splits:
        raise LipgenError("no usable result: " + "; ".join(gathered.messages[:3]))
    messages = list(gathered.messages)
    leaf_runs = [r for r in gathered.runs if is_leaf(r)]
    leaves = leaf_rows(leaf_runs, gathered.splits)
    rows = make_rows(pair_runs([r for r in gathered.runs if not is_leaf(r)], messages)) + split_rows(gathered.splits)
    summary = solver_summary(rows)
    entries, solu_messages = solu_entries(gathered.runs)
    messages += solu_messages
    report = Report(rows, summary, best_solvers(rows), entries, gathered.refused, messages,
                    [str(p) for p in runs_folders], len(gathered.runs) + len(gathered.splits), runs=gathered.runs,
                    metadata=metadata_rows(gathered.runs, entries))
    report.text_table = render_text(rows, summary)
    out = Path(output)
    report.leaves = leaves
    contents = {out / f"{name}.csv": render_csv(rows),
                out / f"{name}.md": render_markdown(rows, summary) + render_leaves_markdown(leaves),
                out / f"{name}.txt": report.text_table, out / f"{name}.solu": render_solu(entries),
                out / f"{name}.metadata.csv": render_rows_csv(report.metadata)}
    if leaves:
        contents[out / f"{name}.leaves.csv"] = render_rows_csv(leaves, LEAF_COLUMNS)
    if known is not None:
        report.comparison = compare(entries, known)
        contents[out / f"{name}.compare.csv"] = render_rows_csv(report.comparison, COMPARE_COLUMNS)
    if plots:
        require_matplotlib()  # say so before anything is written
    for path, text in contents.items():
        atomic.write_text(path, text)
    report.files = list(contents)
    if plots:
        report.files += write_plots(rows, out / "plots", gathered.splits)
    atomic.write_json(out / f"{name}.json", report.to_json())
    report.files.append(out / f"{name}.json")
    return report
