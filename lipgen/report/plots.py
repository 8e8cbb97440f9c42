"""PNG plots per benchmark (norms x encoding), drawn with matplotlib (`pip install 'lipgen[plots]'`):

- bounds-<benchmark>.png: per network (and domain) and solver, the certified lower bound (up triangle) and
  the upper bound (down triangle) joined by a bar, with the relative gap written above;
- profile-<benchmark>.png: a performance profile of solve times (Dolan and More): for each solver the
  fraction of problems (network x domain, both bounds) it solved within a factor tau of the fastest
  solver's time. Unsolved problems never count; times below 0.01 s count as 0.01 s.
"""

from __future__ import annotations

import io
from pathlib import Path

from lipgen import atomic
from lipgen.errors import LipgenError
from lipgen.report.rows import SOLVED, Row

MIN_TIME = 0.01
DPI = 120


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
    """Problems (network x domain) in order, and their axis labels (the domain only where a network has several)."""
    problems = sorted({(r.network, r.domain) for r in rows})
    domains_per_net: dict[str, int] = {}
    for net, _ in problems:
        domains_per_net[net] = domains_per_net.get(net, 0) + 1
    labels = {f"{n}\x00{d}": (f"{n}\n{d}" if domains_per_net[n] > 1 else n) for n, d in problems}
    return [f"{n}\x00{d}" for n, d in problems], labels


def plot_bounds(rows: list[Row], benchmark: str, path: Path) -> None:
    problems, labels = _problem_labels(rows)
    solvers = sorted({r.solver for r in rows})
    colors = _colors(solvers)
    n, k = len(problems), len(solvers)
    fig = _figure(min(24.0, max(6.5, 1.1 + n * (0.55 + 0.45 * k))), 4.8)
    ax = fig.add_subplot()
    width = 0.7 / k
    values = [v for r in rows for v in (r.upper, r.certified_lower) if v is not None and v > 0]
    log = bool(values) and max(values) / min(values) > 30
    top = max(values) if values else 1.0
    for j, solver in enumerate(solvers):
        first = True
        for r in (r for r in rows if r.solver == solver):
            x = problems.index(f"{r.network}\x00{r.domain}") + (j - (k - 1) / 2) * width
            lo, up = r.certified_lower, r.upper
            label = solver if first else None
            if lo is not None and up is not None:
                ax.vlines(x, lo, up, color=colors[solver], linewidth=3, alpha=0.35)
            if lo is not None:
                ax.plot([x], [lo], marker="^", markersize=8, color=colors[solver], linestyle="none", label=label)
                label = None
            if up is not None:
                ax.plot([x], [up], marker="v", markersize=8, color=colors[solver], linestyle="none", label=label)
                label = None
            if label is None:
                first = False
            text = ("gap " + (f"{100 * r.gap:.2g}%" if r.gap is not None else "?")) if up is not None else "no upper"
            y = up if up is not None else lo
            if y is not None:
                ax.annotate(text, (x, y), xytext=(0, 8), textcoords="offset points", ha="center", va="bottom",
                            fontsize=8, color=colors[solver], rotation=90 if k * n > 8 else 0)
    ax.set_xticks(range(n), [labels[p] for p in problems], rotation=30 if n > 6 else 0,
                  ha="right" if n > 6 else "center")
    ax.set_xlim(-0.6, n - 0.4)
    # from zero (or over decades): bounds that meet look met, whatever their last digits; the gap is written
    if log:
        ax.set_yscale("log")
        ax.set_ylim(min(values) / 2, top * 6)
    else:
        ax.set_ylim(0.0, top * 1.35 if values else 1.0)
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)
    ax.set_ylabel("Lipschitz constant")
    ax.set_title(f"Bounds of the Lipschitz constant ({_describe(benchmark)})\n"
                 "\u25b2 certified lower bound, \u25bc upper bound, gap = (upper - best lower) / upper", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    if solvers:
        ax.legend(title="solver", loc="upper left", fontsize=9, framealpha=0.9)
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
    for solver, rs in ratios.items():
        xs = [1.0] + rs + [tau_max]
        ys = [0.0] + [(i + 1) / n for i in range(len(rs))] + [len(rs) / n]
        ax.step(xs, ys, where="post", color=colors[solver], linewidth=2,
                label=f"{solver} ({len(rs)} of {n} solved)")
    ax.set_xscale("log", base=2)
    ax.set_xlim(1.0, tau_max)
    from matplotlib.ticker import ScalarFormatter

    ax.xaxis.set_major_formatter(ScalarFormatter())  # 1, 2, 4 rather than 2^0, 2^1, 2^2
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("\u03c4: within this factor of the fastest solver's time")
    ax.set_ylabel("fraction of problems solved")
    ax.set_title(f"Performance profile of solve times ({_describe(benchmark)}, {n} problem{'s' if n != 1 else ''})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    _save(fig, path)


def _describe(benchmark: str) -> str:
    """`L2-bigm` -> `l2 norm, bigm encoding`; `L1toinf-bigm` -> `l1 -> linf, bigm encoding`."""
    norms, _, encoding = benchmark.partition("-")
    a, sep, b = norms.removeprefix("L").partition("to")
    return (f"l{a} -> l{b}" if sep else f"l{a} norm") + f", {encoding} encoding"


def write_plots(rows: list[Row], folder: Path) -> list[Path]:
    """Both plots for every benchmark; returns the files written."""
    written = []
    benchmarks = sorted({r.benchmark for r in rows})
    for b in benchmarks:
        sub = [r for r in rows if r.benchmark == b]
        for kind, draw in (("bounds", plot_bounds), ("profile", plot_profile)):
            path = folder / f"{kind}-{b}.png"
            draw(sub, b, path)
            written.append(path)
    return written

