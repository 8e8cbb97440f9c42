"""`lipgen collect`: result.json files gathered into tables, a .solu, metadata and plots."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .. import pipeline
from .options import FAILED_EXIT
from .render import emit_json, err, fmt_num, out


def collect(
    runs: list[Path] = typer.Argument(..., help="Runs folders (from `lipgen solve -o` or cluster jobs), searched "
                                                "for result.json files."),
    output: Path = typer.Option(..., "-o", "--output", help="Report folder: results.csv/.json/.md/.txt, .solu, "
                                                            "plots."),
    instances: Optional[list[Path]] = typer.Option(None, "--instances", help="Folders of the instances' sidecars, "
                                                   "when the runs were made on another machine [default: where each "
                                                   "result says its instance was]."),
    plots: bool = typer.Option(False, "--plots", help="Also draw PNG plots (needs matplotlib: pip install "
                                                      "'lipgen[plots]')."),
    name: str = typer.Option("results", "--name", help="Name of the report files: NAME.csv, NAME.solu, ..."),
    solu: Optional[Path] = typer.Option(None, "--solu", help="A known .solu file (e.g. instances/v1/lipgen-v1.solu): "
                                                            "compare every value with it (NAME.compare.csv)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report's JSON."),
):
    """Gather result.json files into tables (CSV, JSON, Markdown, text), a MIPLIB-style .solu, per-instance
    metadata (status easy/hard/open, sizes, class) and plots.

    Results whose instance checksum differs from its sidecar are refused, with a message, never mixed in. With
    --solu, exit code 1 when a value contradicts the known ones.
    """
    report = pipeline.collect(runs, output, instance_dirs=instances, plots=plots, name=name, known_solu=solu)
    for msg in report.messages:
        err.print(msg, markup=False, soft_wrap=True)
    if as_json:
        emit_json(report.to_json())
    else:
        out.print(report.text_table, markup=False, highlight=False, soft_wrap=True)
        if report.comparison is not None:
            _print_comparison(report.comparison, solu)
        out.print(f"wrote {', '.join(str(p) for p in report.files)}", markup=False, soft_wrap=True)
    for c in report.contradictions:
        err.print(f"{c['instance']}: contradicts {solu}: {c['why']}", markup=False, soft_wrap=True)
    if report.contradictions:
        raise typer.Exit(FAILED_EXIT)


def _solu_value(kind: str | None, primal, dual) -> str:
    """A .solu entry in one cell: the optimum, [best dual, best primal], infeasible, or -."""
    if kind is None:
        return "-"
    if kind == "inf":
        return "infeasible"
    return fmt_num(primal, 10) if kind == "opt" else f"[{fmt_num(dual, 8)}, {fmt_num(primal, 8)}]"


def _print_comparison(rows: list[dict], solu: Path) -> None:
    t = Table(title=f"Compared with {solu}")
    for c in ("instance", "verdict", "value", "known", "why"):
        t.add_column(c)
    for r in rows:
        t.add_row(r["instance"], r["verdict"], _solu_value(r["kind"], r["primal"], r["dual"]),
                  _solu_value(r["known_kind"], r["known_primal"], r["known_dual"]), r["why"])
    out.print(t)
    counts = Counter(r["verdict"] for r in rows)
    out.print(f"{len(rows)} instances compared with {solu}: " +
              ", ".join(f"{counts[v]} {v}" for v in ("ok", "consistent", "better", "unknown", "fail")), markup=False)
