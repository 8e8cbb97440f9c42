"""Split runs in `collect`: their leaf MIP runs as a sub-table of the split row (not rows of their own), and each
tree's certified bounds over wall time (the data of `plots/split-<group>.png`)."""

from __future__ import annotations

from pathlib import Path

from lipgen.report.gather import Run
from lipgen.report.rows import split_group

LEAF_COLUMNS = ("split", "leaf", "depth", "fixed_phases", "node_bound", "solver", "status", "upper", "certified_lower",
                "time", "run")


def is_leaf(run: Run) -> bool:
    """A leaf instance of a split tree (its sidecar carries the tree's mark, lipgen/run/split_leaves.py)."""
    return isinstance((run.sidecar or {}).get("split"), dict)


def owner(run: Run, splits: list[tuple[Path, dict]]) -> str:
    """The row group of the split whose folder holds the leaf's run ('?' when its result.json was not gathered)."""
    where = run.path.resolve()
    for path, d in splits:
        if where.is_relative_to(path.resolve().parent):
            return split_group(d)
    return "?"


def leaf_rows(runs: list[Run], splits: list[tuple[Path, dict]]) -> list[dict]:
    """One row per leaf MIP run, in the order of (split, leaf ident, solver)."""
    out = []
    for r in runs:
        mark, q = (r.sidecar or {})["split"], r.result.get("lipschitz") or {}
        out.append({"split": owner(r, splits), "leaf": mark.get("node"), "depth": mark.get("depth"),
                    "fixed_phases": len(mark.get("phases") or []), "node_bound": mark.get("node_bound"),
                    "solver": r.solver, "status": r.result.get("status"), "upper": q.get("upper"),
                    "certified_lower": q.get("certified_lower"), "time": r.result.get("wall_time") or r.result.get("time"),
                    "run": str(r.path)})
    return sorted(out, key=lambda row: (row["split"], row["leaf"] if isinstance(row["leaf"], int) else -1, row["solver"]))


def render_leaves_markdown(rows: list[dict]) -> str:
    if not rows:
        return ""
    lines = ["", "## Split leaves", "",
             "Leaf MIP instances of split runs (one open node of the tree each, solved over its sub-box): the node's "
             "bound when it was written and what its solver certified.", "",
             "| split | leaf | depth | fixed phases | node bound | solver | status | upper | certified lower | time (s) |",
             "| --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |"]
    for r in rows:
        lines.append("| " + " | ".join(_cell(r[c]) for c in LEAF_COLUMNS[:-1]) + " |")
    return "\n".join(lines) + "\n"


def _cell(v) -> str:
    if v is None:
        return "-"
    return f"{v:.8g}" if isinstance(v, float) else str(v).replace("|", "\\|")


def progress(d: dict) -> list[tuple[float, float, float]]:
    """(seconds since the tree's first round began, certified lower, upper) after each round of a split result: tree
    and leaf rounds in the order they ended (by their `ended_at`; without it, the tree rounds by their durations)."""
    t = d.get("split") or {}
    rounds = list(t.get("rounds") or []) + list(t.get("leaf_rounds") or [])
    if rounds and all(isinstance(r.get("ended_at"), (int, float)) for r in rounds):
        rounds.sort(key=lambda r: r["ended_at"])
        start = rounds[0]["ended_at"] - float(rounds[0].get("seconds") or 0.0)
        return [(r["ended_at"] - start, float(r["lower"]), float(r["upper"])) for r in rounds]
    out, clock = [], 0.0
    for r in t.get("rounds") or []:
        clock += float(r.get("seconds") or 0.0)
        out.append((clock, float(r["lower"]), float(r["upper"])))
    return out
