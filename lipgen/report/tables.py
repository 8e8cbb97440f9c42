"""The result tables: CSV and JSON for machines, Markdown for pages, fixed-width text in the style of SCIP's
check scripts (one line per row, then per solver the counts and shifted geometric means)."""

from __future__ import annotations

import csv
import io

from lipgen.report.rows import NODE_SHIFT, TIME_SHIFT, Row
from lipgen.rounding import format_number

CSV_COLUMNS = ("network", "norms", "domain", "encoding", "mode", "problem_class", "solver", "solver_version",
               "certified_lower", "upper", "gap", "upper_mip", "upper_source", "best_lower", "lower_source", "lower",
               "consistency", "status", "upper_status", "lower_status", "time", "nodes", "wall_time", "best_upper",
               "best_certified_lower", "checked", "upper_run", "lower_run")
MIP = "MIP dual bound"
MODE_TAGS = {"forward": "fwd", "backward": "bwd"}  # the text table's narrow column


def _csv_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def render_csv(rows: list[Row]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        d = r.to_dict()
        d.update(upper_status=r.statuses.get("upper"), lower_status=r.statuses.get("lower"),
                 upper_run=r.runs.get("upper"), lower_run=r.runs.get("lower"))
        w.writerow([_csv_value(d.get(c)) for c in CSV_COLUMNS])
    return buf.getvalue()


def num(x, digits: int = 8) -> str:
    return format_number(x, digits)


def pct(gap) -> str:
    """Percent with two decimals; rounding noise around zero shows as 0.00, not -0.00."""
    if gap is None:
        return "-"
    return f"{100 * (0.0 if abs(gap) < 1e-12 else gap):.2f}"


def secs(t) -> str:
    return "-" if t is None else f"{t:.1f}"


def detail(r: Row) -> str:
    """`optimal`, or `upper time_limit, lower optimal` when the runs ended differently."""
    states = list(dict.fromkeys(r.statuses.values()))
    text = str(states[0]) if len(states) == 1 and len(r.statuses) == 2 else \
        ", ".join(f"{k} {v}" for k, v in r.statuses.items())
    return text + ("; inconsistent bounds" if r.consistency != "ok" else "")


ANCHOR_TAGS = {"Jacobian bound": " (Jacobian)", "naive bound": " (naive)"}


def upper_text(r: Row) -> str:
    """The row's upper bound, saying so when it is not the solver's own (the Jacobian or the naive bound; a split
    tree's bound is its own)."""
    if r.upper is None or r.upper_source in (None, MIP) or r.encoding == "split":
        return num(r.upper)
    return num(r.upper) + ANCHOR_TAGS.get(r.upper_source, " (naive)")


def render_markdown(rows: list[Row], summary: list[dict], title: str = "lipgen results") -> str:
    def cell(text: str, best: bool) -> str:
        return f"**{text}**" if best and text != "-" else text

    lines = [f"# {title}", "",
             "Per network, norms, domain, encoding and mode: the certified lower bound and the upper bound of the "
             "Lipschitz constant each solver gave (the best in bold), the relative gap (upper bound against the best "
             "lower bound), and the effort (both problems together).", "",
             "| network | norms | domain | encoding | mode | solver | certified lower | upper | gap % | status | ended | "
             "time (s) | nodes |",
             "| --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | --- | --- | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {_md(r.network)} | {r.norms} | {_md(r.domain)} | {r.encoding} | {r.mode} | {r.solver} | "
                     f"{cell(num(r.certified_lower), r.best_certified_lower)} | {cell(upper_text(r), r.best_upper)} | "
                     f"{pct(r.gap)} | {r.status} | {_md(detail(r))} | {secs(r.time)} | "
                     f"{'-' if r.nodes is None else r.nodes} |")
    lines += ["", "## Solvers", "",
              f"Shifted geometric means as in SCIP's check scripts: time shift {TIME_SHIFT:g} s, nodes shift "
              f"{NODE_SHIFT:g}.", "",
              "| solver | rows | solved | limit | fail | best upper | best lower | time sh. geom. mean (s) | "
              "nodes sh. geom. mean | total time (s) |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in summary:
        lines.append(f"| {s['solver']} | {s['rows']} | {s['solved']} | {s['limit']} | {s['fail']} | "
                     f"{s['best_upper']} | {s['best_certified_lower']} | {secs(s['time_sgm'])} | "
                     f"{num(s['nodes_sgm'], 4)} | {secs(s['time_total'])} |")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return str(text).replace("|", "\\|")


def render_text(rows: list[Row], summary: list[dict]) -> str:
    """Fixed-width columns; a `*` marks the best bound of a network x norms x domain x encoding."""
    header = ("Network", "Norms", "Domain", "Enc", "Mode", "Solver", "Cert. lower", "Upper", "Gap%", "Nodes", "Time",
              "Status")
    body = [(r.network, r.norms, r.domain, r.encoding, MODE_TAGS.get(r.mode, r.mode), r.solver,
             num(r.certified_lower) + ("*" if r.best_certified_lower else " "),
             upper_text(r) + ("*" if r.best_upper else " "), pct(r.gap),
             "-" if r.nodes is None else str(r.nodes), secs(r.time), f"{r.status} ({detail(r)})")
            for r in rows]
    right = {6, 7, 8, 9, 10}
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]

    def line(cells) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return (" ".join(parts[:6]) + " | " + " ".join(parts[6:9]) + " | " + " ".join(parts[9:11]) + " | "
                + parts[11]).rstrip()

    rule = "-" * max(len(line(header)), 40)
    out = [rule, line(header), rule] + [line(b) for b in body] + [rule, ""]
    head2 = ("Solver", "Rows", "Solved", "Limit", "Fail", "BestUp", "BestLow", f"Time sgm({TIME_SHIFT:g})",
             f"Nodes sgm({NODE_SHIFT:g})", "Time total")
    body2 = [(s["solver"], str(s["rows"]), str(s["solved"]), str(s["limit"]), str(s["fail"]), str(s["best_upper"]),
              str(s["best_certified_lower"]), secs(s["time_sgm"]), num(s["nodes_sgm"], 4), secs(s["time_total"]))
             for s in summary]
    w2 = [max(len(h), *(len(b[i]) for b in body2)) if body2 else len(h) for i, h in enumerate(head2)]

    def fmt(cells) -> str:
        return " ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, w2)))

    rule2 = "-" * len(fmt(head2))
    out += [rule2, fmt(head2), rule2] + [fmt(b) for b in body2] + [rule2,
            f"shifted geometric means: time shift {TIME_SHIFT:g} s, nodes shift {NODE_SHIFT:g}; "
            "* = best bound of its network x norms x domain x encoding x mode"]
    return "\n".join(out) + "\n"
