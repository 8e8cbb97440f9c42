"""Progress on the terminal (stderr) while lipgen works: how many runs are done, and where each running
solver stands (its incumbent, best bound and gap, read from its growing log). Nothing is shown when
stderr is not a terminal, so pipes and logs get only the results."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from .render import fmt_num

SHOW_AFTER = 1.0  # seconds: shorter work gets no progress line


def _num(x) -> str:
    return fmt_num(None if x is None else float(x))


def describe(state: dict) -> str:
    """One line for one run, e.g. `upper: L <= 3.4725 (best bound), 2.91 (incumbent), gap 16.1 %, 12 s`."""
    if state["state"] == "waiting":
        return "waiting for another lipgen to finish this run"
    gap = state.get("gap")
    pct = None if gap is None else 100 * max(gap, 0.0)
    gap_text = "-" if pct is None else f"{pct:.2f} %" if pct < 10 else f"{pct:.0f} %"
    if state["bound"] == "upper":  # the best bound is what the run is for
        parts = f"L <= {_num(state['best_bound'])} (best bound), incumbent {_num(state['incumbent'])}"
    else:
        parts = f"L >= {_num(state['incumbent'])} (incumbent), best bound {_num(state['best_bound'])}"
    return f"{parts}, gap {gap_text}, {state['elapsed']:.0f} s"


class SolveDisplay:
    """`with SolveDisplay(...) as d: solve_all(..., on_done=d.done, on_live=d.live)`."""

    def __init__(self, console: Console, title: str, total: int, label=None, enabled: bool = True):
        self.title, self.total, self.finished = title, total, 0
        self.label = label or (lambda state: state["instance"])
        self.states: list[dict] = []
        self.start = time.monotonic()
        self._live = Live(self, console=console, transient=True, refresh_per_second=2) if enabled else None

    def __enter__(self):
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc):
        if self._live is not None:
            self._live.stop()
        return False

    def done(self, result: dict) -> None:
        self.finished += 1
        self.states = [s for s in self.states if s["instance"] != result.get("instance")]

    def live(self, states: list[dict]) -> None:
        self.states = list(states)

    def __rich__(self):
        elapsed = time.monotonic() - self.start
        lines = [Text(f"{self.title}: {self.finished}/{self.total} done, {elapsed:.0f} s")]
        lines += [Text(f"  {self.label(s)}: {describe(s)}") for s in self.states]
        return Group(*lines)


@contextmanager
def status_after_a_second(console: Console, text: str, enabled: bool = True):
    """A spinner line with `text`, shown only if the work inside takes more than a second."""
    if not enabled:
        yield
        return
    status = console.status(text)
    lock = threading.Lock()
    state = {"shown": False, "over": False}

    def show():
        with lock:
            if not state["over"]:
                status.start()
                state["shown"] = True

    timer = threading.Timer(SHOW_AFTER, show)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            state["over"] = True
            if state["shown"]:
                status.stop()
