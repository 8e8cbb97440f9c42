"""SIGINT and SIGTERM as an exception, so that lipgen stops every solver it started before it exits."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread by SIGINT or SIGTERM; `stopped` lists the solver runs it ended."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.stopped: list[str] = []

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # what a shell reports for a process killed by the signal: 130, 143

    def message(self) -> str:
        text = f"lipgen: interrupted by {self.name}"
        if self.stopped:
            n = len(self.stopped)
            text += (f": stopped {n} solver run{'s' if n > 1 else ''} (marked interrupted, redone on the next "
                     "run)")
        return text


class Catcher:
    """What `interrupts_raise` caught: the first Interrupted (later signals are ignored while cleaning up)."""

    def __init__(self):
        self.caught: Interrupted | None = None

    def __call__(self, signum, frame):
        if self.caught is not None:
            return
        self.caught = Interrupted(signum)
        raise self.caught


@contextmanager
def interrupts_raise():
    """Within: SIGINT and SIGTERM raise Interrupted (main thread only; elsewhere nothing changes)."""
    catcher = Catcher()
    if threading.current_thread() is not threading.main_thread():
        yield catcher
        return
    previous = {s: signal.signal(s, catcher) for s in SIGNALS}
    try:
        yield catcher
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def deferred():
    """Within: SIGINT and SIGTERM wait (blocked, then delivered on exit), so that a solver started here is
    registered before an interrupt can look for it. Solver children unblock them (lipgen/solvers/runner.py)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)

