"""PNG plots per benchmark (norms x encoding), drawn with matplotlib (`pip install 'lipgen[plots]'`):

- bounds-<benchmark>.png: per network (and domain, and mode where both were run) and solver, the certified lower bound (up triangle) and
  the upper bound (down triangle) joined by a bar, with the relative gap written above;
- split-<network>__<norms>__<domain>__split.png: a split run's certified bounds after every round over wall time;
- profile-<benchmark>.png: a performance profile of solve times (Dolan and More): for each solver the
  fraction of problems (network x domain, both bounds) it solved within a factor tau of the fastest
  solver's time. Unsolved problems never count; times below 0.01 s count as 0.01 s.
"""

from __future__ import annotations

import io
from pathlib import Path

from lipgen import atomic
from lipgen.errors import LipgenError
from lipgen.report.leaves import progress
from lipgen.report.rows import SOLVED, Row, norms_tag, split_group

MIN_TIME = 0.01
DPI = 120
CLIP = 2.0  # bounds beyond twice the best upper bound are drawn at the edge, with their ratio written
TINY = 1e-12


def require_matplotlib() -> None:
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        raise LipgenError("--plots needs matplotlib: pip install 'lipgen[plots]' (or pip install matplotlib)") from None


def _figure(width: float, height: float):
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _save(fig, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    atomic.write_bytes(path, buf.getvalue())


def _colors(solvers: list[str]) -> dict[str, str]:
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    return {s: palette[i % len(palette)] for i, s in enumerate(solvers)}


def _problem_labels(rows: list[Row]) -> tuple[list[str], dict[str, str]]:
    """Problems (network x domain x mode) in order, and their axis labels: the domain only where a network has
    several, the mode only where a network and domain were run in both (a proof and a 76 % gap apart, not stacked)."""
    problems = sorted({(r.network, r.domain, r.mode) for r in rows})
    domains_per_net: dict[str, set] = {}
    modes_per_domain: dict[tuple[str, str], set] = {}
    for net, dom, mode in problems:
        domains_per_net.setdefault(net, set()).add(dom)
        modes_per_domain.setdefault((net, dom), set()).add(mode)
    labels = {}
    for n, d, m in problems:
        text = f"{n}\n{d}" if len(domains_per_net[n]) > 1 else n
        labels[_join(n, d, m)] = text + (f"\n{m}" if len(modes_per_domain[(n, d)]) > 1 else "")
    return [_join(*p) for p in problems], labels


def _join(*parts: str) -> str:
    return "\x00".join(parts)


def gap_text(gap: float | None) -> str:
    """`12.3%`, `<0.01%`, or `0%` (bounds that meet up to rounding)."""
    if gap is None:
        return "?"
    if abs(gap) < 1e-12:
        return "0%"
    if 0 < gap < 1e-4:
        return "<0.01%"
    return f"{100 * gap:.3g}%"


def reference_values(rows: list[Row]) -> dict[str, tuple[float | None, str]]:
    """Per problem the value bounds are drawn against, and its tick label: the best upper bound (`L <= v`), else the
    best certified lower bound (`L >= v`); None when that is zero (nothing to divide by)."""
    ref: dict[str, tuple[float | None, str]] = {}
    for p in {_key(r) for r in rows}:
        ups = [r.upper_mip for r in rows if _key(r) == p and r.upper_mip is not None]
        los = [r.certified_lower for r in rows if _key(r) == p and r.certified_lower is not None]
        value, sign = (min(ups), "\u2264") if ups else (max(los), "\u2265") if los else (None, "")
        if value is None:
            ref[p] = (None, "")
        elif value <= TINY:
            ref[p] = (None, "\nL = 0" if ups else "")
        else:
            ref[p] = (value, f"\nL {sign} {value:.6g}")
    return ref


def _key(r: Row) -> str:
    return _join(r.network, r.domain, r.mode)


def plot_bounds(rows: list[Row], benchmark: str, path: Path) -> None:
    """Top: each solver's bounds divided by the problem's best upper bound (1 = the best upper bound; the tick label
    gives its value); bottom: each solver's relative gap."""
    problems, labels = _problem_labels(rows)
    solvers = sorted({r.solver for r in rows})
    colors = _colors(solvers)
    ref = reference_values(rows)
    n, k = len(problems), len(solvers)
    fig = _figure(min(24.0, max(7.0, 1.5 + n * (0.45 + 0.3 * k))), 6.4)
    ax, gx = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.4])
    width = 0.75 / k
    rel = [v / ref[_key(r)][0] for r in rows if ref[_key(r)][0] for v in (r.upper_mip, r.certified_lower)
           if v is not None]
    top = max(1.12, min(max(rel, default=1.0), CLIP) * 1.06)
    gaps = [100 * r.gap for r in rows if r.gap is not None]
    gap_top = max(1.0, max(gaps, default=0.0)) * 1.45
    crowded = n * k > 10
    for j, solver in enumerate(solvers):
        legend = True
        for r in (r for r in rows if r.solver == solver):
            x = problems.index(_key(r)) + (j - (k - 1) / 2) * width
            color = colors[solver]
            scale = ref[_key(r)][0]
            if r.gap is not None:
                gx.bar(x, max(100 * r.gap, 0.0), width=width * 0.85, color=color, alpha=0.8)
                gx.annotate(gap_text(r.gap), (x, max(100 * r.gap, 0.0)), xytext=(0, 2), textcoords="offset points",
                            ha="center", va="bottom", fontsize=7, color=color, rotation=90 if crowded else 0)
            if scale is None:  # nothing to divide by: write the bounds instead
                said = [f"{name} {v + 0.0:.3g}" for name, v in (("upper", r.upper_mip), ("lower", r.certified_lower))
                        if v is not None]
                text = ", ".join(said) or "no bound: " + ", ".join(f"{b} {st}" for b, st in r.statuses.items())
                ax.annotate(text, (x, 0.03), xycoords=("data", "axes fraction"), ha="center", va="bottom",
                            fontsize=8, color=color, rotation=90)
                continue
            edge = top * 0.97
            lo = None if r.certified_lower is None else min(r.certified_lower / scale, edge)
            up = None if r.upper_mip is None else min(r.upper_mip / scale, edge)
            if lo is not None and up is not None:
                ax.vlines(x, lo, up, color=color, linewidth=3, alpha=0.35)
            for value, marker, raw in ((lo, "^", r.certified_lower), (up, "v", r.upper_mip)):
                if value is None:
                    continue
                ax.plot([x], [value], marker=marker, markersize=8, color=color, linestyle="none",
                        label=solver if legend else None)
                legend = False
                if value >= edge:  # beyond the plotted range: say how far
                    ax.annotate(f"x{raw / scale:.3g}", (x, value), xytext=(0, -14), textcoords="offset points",
                                ha="center", fontsize=7, color=color)
            if up is None and lo is not None:
                ax.annotate("no upper bound", (x, lo), xytext=(0, 8), textcoords="offset points", ha="center",
                            va="bottom", fontsize=7, color=color, rotation=90)
    ax.axhline(1.0, color="0.4", linewidth=0.8, linestyle="--")
    ax.set_ylim(-0.04 * top, top)  # markers at 0 drawn whole
    ax.set_ylabel("bound / best upper bound")
    ax.set_title(f"Lipschitz bounds, {_describe(benchmark)}\n"
                 "\u25b2 certified lower, \u25bc upper bound; 1 = best upper bound (value below)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    if solvers:
        ax.legend(title="solver", loc="lower left", fontsize=9, framealpha=0.9)
    gx.set_ylim(0.0, gap_top)
    gx.set_ylabel("gap %")
    gx.grid(axis="y", alpha=0.3)
    ticks = [labels[p] + ref[p][1] for p in problems]
    gx.set_xticks(range(n), ticks, rotation=30 if n > 6 else 0, ha="right" if n > 6 else "center", fontsize=9)
    gx.set_xlim(-0.6, n - 0.4)
    _save(fig, path)


def profile_curves(rows: list[Row]) -> tuple[dict[str, list[float]], int]:
    """Per solver the sorted performance ratios of the problems it solved, and the number of problems."""
    problems = sorted({r.group for r in rows})
    solvers = sorted({r.solver for r in rows})
    time = {(r.group, r.solver): max(r.time, MIN_TIME) for r in rows if r.status == SOLVED and r.time is not None}
    ratios: dict[str, list[float]] = {s: [] for s in solvers}
    for p in problems:
        times = {s: time[(p, s)] for s in solvers if (p, s) in time}
        if not times:
            continue
        best = min(times.values())
        for s, t in times.items():
            ratios[s].append(t / best)
    return {s: sorted(v) for s, v in ratios.items()}, len(problems)


def plot_profile(rows: list[Row], benchmark: str, path: Path) -> None:
    ratios, n = profile_curves(rows)
    colors = _colors(sorted(ratios))
    finite = [r for v in ratios.values() for r in v]
    tau_max = max(2.0, max(finite, default=1.0) * 1.5)
    fig = _figure(6.5, 4.5)
    ax = fig.add_subplot()
    styles = ["-", "--", ":", "-."]  # curves that coincide stay apart
    for j, (solver, rs) in enumerate(ratios.items()):
        xs = [1.0] + rs + [tau_max]
        ys = [0.0] + [(i + 1) / n for i in range(len(rs))] + [len(rs) / n]
        ax.step(xs, ys, where="post", color=colors[solver], linewidth=2.2, linestyle=styles[j % len(styles)],
                label=f"{solver} ({len(rs)} of {n} solved)")
    ax.set_xscale("log", base=2)
    ax.set_xlim(0.93, tau_max)  # a little left of 1: a solver fastest everywhere rises visibly at tau = 1
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 1, 2, 4 rather than 2^0, 2^1, 2^2
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("\u03c4: within this factor of the fastest solver's time")
    ax.set_ylabel("fraction of problems solved")
    problems = f"{n} problem" + ("s" if n != 1 else "")
    ax.set_title(f"Performance profile of solve times ({_describe(benchmark)}, {problems})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    _save(fig, path)


def _describe(benchmark: str) -> str:
    """`L2-bigm` -> `l2 norm, bigm encoding`; `L1toinf-bigm` -> `l1 -> linf, bigm encoding`."""
    norms, _, encoding = benchmark.partition("-")
    a, sep, b = norms.removeprefix("L").partition("to")
    return (f"l{a} -> l{b}" if sep else f"l{a} norm") + f", {encoding} encoding"


def plot_split_progress(d: dict, path: Path) -> None:
    """A split run's certified lower and upper bound after every round (tree and leaf rounds) over wall time."""
    series = progress(d)
    fig = _figure(7.0, 4.2)
    ax = fig.subplots()
    xs = [0.0] + [p[0] for p in series]
    first = series[0] if series else (0.0, 0.0, 0.0)
    for k, (name, marker, color) in enumerate((("certified lower", "^", "#2ca02c"), ("upper", "v", "#d62728")), 1):
        ys = [first[k]] + [p[k] for p in series]
        ax.step(xs, ys, where="post", color=color, label=name)
        ax.plot(xs[1:], ys[1:], marker=marker, linestyle="none", color=color, markersize=4)
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("bound of L")
    ax.set_title(f"{d.get('network')}, {norms_tag(d.get('norms'))}, {d.get('domain')}: split tree\n"
                 f"final gap {gap_text(d.get('gap'))}, {len(series)} rounds", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    _save(fig, path)


def write_plots(rows: list[Row], folder: Path, splits: list[tuple[Path, dict]] | None = None) -> list[Path]:
    """Both plots for every benchmark, and the bounds over wall time of every split run; returns the files written."""
    written = []
    for _, d in splits or []:
        path = folder / f"split-{split_group(d).replace('/', '_')}.png"
        plot_split_progress(d, path)
        written.append(path)
    benchmarks = sorted({r.benchmark for r in rows})
    for b in benchmarks:
        sub = [r for r in rows if r.benchmark == b]
        for kind, draw in (("bounds", plot_bounds), ("profile", plot_profile)):
            path = folder / f"{kind}-{b}.png"
            draw(sub, b, path)
            written.append(path)
    return written

