"""Find every result.json under runs folders (from any machine) and check each against its instance's sidecar.

A result is refused, with a message, when the sidecar next to its instance (or in a folder given with
--instances) has another instance checksum: it solved a different file than the one described. Without
any sidecar at hand, the results of one instance name must agree on the checksum among themselves.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from lipgen.errors import LipgenError
from lipgen.instance import instance_stem_of, load_sidecar

RESULT = "result.json"


@dataclass
class Run:
    """One accepted result.json with the sidecar it was checked against (None when none was found)."""

    result: dict
    path: Path
    sidecar: dict | None = None
    sidecar_path: Path | None = None

    @property
    def name(self) -> str:
        return instance_stem_of(str(self.result.get("instance", "")))

    @property
    def solver(self) -> str:
        return str(self.result.get("solver", "?"))

    @property
    def sha(self) -> str | None:
        return self.result.get("instance_sha256")

    @property
    def check_failed(self) -> bool:
        """The solution checker rejected the run (a missing `check` means: not checked)."""
        check = self.result.get("check")
        return isinstance(check, dict) and check.get("ok") is False


@dataclass
class Gathered:
    runs: list[Run] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)  # {"path", "why"}
    splits: list[tuple[Path, dict]] = field(default_factory=list)  # `lipgen split` results (path, summary)
    messages: list[str] = field(default_factory=list)

    def refuse(self, path: Path, why: str) -> None:
        self.refused.append({"path": str(path), "why": why})
        self.messages.append(f"refused {path}: {why}")


def result_files(roots: list[str | Path]) -> list[Path]:
    files: list[Path] = []
    for root in map(Path, roots):
        if root.is_file() and root.name == RESULT:
            files.append(root)
        elif root.is_dir():
            files += sorted(root.rglob(RESULT))
        else:
            raise LipgenError(f"{root}: no such runs folder")
    if not files:
        raise LipgenError(f"no {RESULT} under {', '.join(map(str, roots))} (run `lipgen solve -o DIR` first)")
    return sorted(set(files))


def _load(path: Path, out: Gathered) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        out.messages.append(f"skipped {path}: unreadable ({exc.__class__.__name__}; copied only in part?)")
        return None
    if isinstance(data, dict) and isinstance(data.get("split"), dict) and not data.get("instance"):
        why = split_problem(data)
        if why:
            out.refuse(path, why)
        else:
            out.splits.append((path, data))
        return None
    if not isinstance(data, dict) or not data.get("instance") or not data.get("solver"):
        out.messages.append(f"skipped {path}: not a lipgen result (no instance or solver)")
        return None
    why = result_problem(data)
    if why:
        out.refuse(path, why)
        return None
    return data


def _number_or_none(v) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v))


def result_problem(data: dict) -> str | None:
    """Why a result.json may not give a number (None: it may): fields of the wrong kind, or a run whose instance
    file was not verified against its sidecar (--no-verify)."""
    if data.get("bound") not in ("upper", "lower"):
        return f"its bound kind {str(data.get('bound'))[:20]!r} is neither upper nor lower"
    if not isinstance(data.get("instance_sha256"), str):
        return "it records no instance checksum"
    if data.get("instance_verified") is False:
        return "its instance file was solved without checking its checksum (--no-verify): no bound is reported from it"
    q = data.get("lipschitz")
    if q is not None and not isinstance(q, dict):
        return "its `lipschitz` is not a table"
    for key in ("upper", "lower", "certified_lower"):
        if not _number_or_none((q or {}).get(key)):
            return f"its lipschitz.{key} {str((q or {}).get(key))[:20]!r} is not a finite number"
    for key in ("primal", "dual", "time", "wall_time", "nodes"):
        if not _number_or_none(data.get(key)):
            return f"its {key} {str(data.get(key))[:20]!r} is not a finite number"
    return None


def split_problem(data: dict) -> str | None:
    """Why a `lipgen split` result.json may not give a row (None: it may)."""
    for key in ("network", "domain"):
        if not isinstance(data.get(key), str):
            return f"its {key} is not a name"
    if not isinstance(data.get("norms"), dict):
        return "its norms are not a table"
    for key in ("upper", "best_lower", "gap"):
        if not _number_or_none(data.get(key)):
            return f"its {key} {str(data.get(key))[:20]!r} is not a finite number"
    for key in ("seconds", "nodes"):
        if not _number_or_none(data["split"].get(key)):
            return f"its split.{key} {str(data['split'].get(key))[:20]!r} is not a finite number"
    return None


def _find_sidecar(result: dict, instance_dirs: list[Path], cache: dict) -> tuple[dict | None, Path | None]:
    name = result.get("sidecar") or instance_stem_of(str(result["instance"])) + ".json"
    candidates = [d / name for d in instance_dirs]
    if result.get("instance_path"):
        candidates.append(Path(result["instance_path"]).parent / name)
    for cand in candidates:
        key = str(cand)
        if key not in cache:
            try:
                cache[key] = load_sidecar(cand) if cand.is_file() else None
            except LipgenError:
                cache[key] = None
        if cache[key] is not None:
            return cache[key], cand
    return None, None


def gather(roots: list[str | Path], instance_dirs: list[str | Path] | None = None) -> Gathered:
    """Load and check every result.json under `roots`."""
    dirs = [Path(d) for d in instance_dirs or []]
    for d in dirs:
        if not d.is_dir():
            raise LipgenError(f"--instances {d}: no such folder")
    out = Gathered()
    cache: dict = {}
    candidates: list[Run] = []
    for path in result_files(roots):
        result = _load(path, out)
        if result is None:
            continue
        sidecar, sidecar_path = _find_sidecar(result, dirs, cache)
        theirs, ours = str(result.get("instance_sha256")), str(sidecar.get("instance_sha256")) if sidecar else ""
        if sidecar is not None and theirs != ours:
            out.refuse(path, f"it solved another file than the one {sidecar_path} describes (instance checksum "
                             f"{theirs[:12]} vs {ours[:12]})")
            continue
        candidates.append(Run(result, path, sidecar, sidecar_path))
    out.runs = _consistent(candidates, out)
    return out


def _consistent(runs: list[Run], out: Gathered) -> list[Run]:
    """Per instance name one file: checked results fix the checksum; unchecked ones must agree with it."""
    by_name: dict[str, list[Run]] = {}
    for r in runs:
        by_name.setdefault(r.name, []).append(r)
    kept = []
    for name, group in sorted(by_name.items()):
        checked = {r.sha for r in group if r.sidecar is not None}
        unchecked = {r.sha for r in group if r.sidecar is None}
        if len(checked) > 1 or (not checked and len(unchecked) > 1):
            for r in group:
                out.refuse(r.path, f"results for {name} come from {len(checked | unchecked)} different instance files; "
                                   "collect them apart, or point --instances at the right sidecars")
            continue
        reference = next(iter(checked or unchecked))
        for r in group:
            if r.sha != reference:
                out.refuse(r.path, f"its instance checksum {str(r.sha)[:12]} differs from the sidecar's "
                                   f"{str(reference)[:12]} for {name}")
            else:
                kept.append(r)
        if not checked:
            out.messages.append(f"note: no sidecar found for {name}: its results are unchecked (give --instances)")
    return kept
