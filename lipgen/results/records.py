"""The typed records that pass between the stages: an instance's sidecar, a run's result, `run`'s summary.

On disk they stay the JSON they always were (`<stem>.json`, `result.json`, `run --json`): each record keeps
the whole JSON object in `data` and exposes the fields the pipeline reads as typed attributes, so a reader
sees what it relies on, and writing a record back gives the very same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .bounds import failure_reason

JSON = dict[str, Any]


@dataclass(frozen=True)
class Sidecar:
    """An instance's sidecar: what reading a solution back needs (docs/formulation.md, README "Files")."""

    instance: str
    bound: str  # "upper" (non-strict problem) or "lower" (strict twin)
    network: str
    norms: tuple[str, str]  # (input, output)
    domain_tag: str
    eps: float
    mode: str
    bounds_method: str
    problem_class: str
    anchors: JSON
    data: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Sidecar:
        return cls(instance=data["instance"], bound=data["bound"], network=data["network"]["name"],
                   norms=(data["norms"]["input"], data["norms"]["output"]), domain_tag=data["domain"]["tag"],
                   eps=float(data["eps"]), mode=data["mode"], bounds_method=data["bounds_method"],
                   problem_class=data["problem_class"], anchors=data["anchors"], data=data)

    def to_json(self) -> JSON:
        return self.data


@dataclass(frozen=True)
class Result:
    """One solver run on one instance, as `result.json` records it (or as a run that could not start)."""

    instance: str
    bound: str
    solver: str
    status: str
    status_text: str
    reused: bool
    lipschitz: JSON | None  # upper, lower, certified_lower, certificate, ... (None: the run gave nothing)
    time: float | None
    data: JSON = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: JSON) -> Result:
        return cls(instance=data["instance"], bound=data["bound"], solver=data["solver"], status=data["status"],
                   status_text=str(data.get("status_text", data["status"])), reused=bool(data.get("reused")),
                   lipschitz=data.get("lipschitz"), time=data.get("time"), data=data)

    @property
    def value(self) -> float | None:
        """The Lipschitz bound this run's problem gives: the upper bound, or the lower problem's value."""
        q = self.lipschitz or {}
        return q.get("upper") if self.bound == "upper" else q.get("lower")

    @property
    def ok(self) -> bool:
        """The run gave its bound: a dual bound (upper problem) or a certified point (lower problem)."""
        q = self.lipschitz or {}
        return (q.get("upper") if self.bound == "upper" else q.get("certified_lower")) is not None

    def to_json(self) -> JSON:
        return self.data


@dataclass(frozen=True)
class RunSummary:
    """What `lipgen run` reports: the best certified bounds of L over every source, and where each came from."""

    network: str
    norms: tuple[str, str]
    status: str
    consistency: str  # "ok" or "inconsistent" (an upper bound below a certified lower bound)
    upper: float | None
    best_lower: float | None
    gap: float | None
    workdir: str
    problems: dict[str, Result]
    data: JSON = field(repr=False, compare=False)
    runs: tuple[Result, ...] = field(default=(), repr=False, compare=False)  # every MIP run (a race's both uppers)

    @property
    def failure(self) -> str | None:
        """Why the bracket lower <= L <= upper is not certified; None when it is."""
        return failure_reason(self.data)

    @property
    def ok(self) -> bool:
        """A certified bracket: both bounds, consistent, the upper one verified (`run`'s exit code 0)."""
        return self.failure is None

    def to_json(self) -> JSON:
        return self.data
