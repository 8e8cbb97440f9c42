"""Finding instance files: named directly, in folders, or in `.test` lists (MIPLIB's benchmark.test)."""

from __future__ import annotations

from pathlib import Path

from ..errors import LipgenError
from .naming import sidecar_for

INSTANCE_SUFFIXES = (".mps", ".mps.gz", ".lp", ".lp.gz")

TEST_LIST_SUFFIX = ".test"  # a list of instance files, one a line (MIPLIB's benchmark.test)


def read_test_list(path: str | Path) -> list[Path]:
    """The instance files of a `.test` list (MIPLIB's benchmark.test style): one path per line, relative to the
    list's folder (or absolute); blank lines and lines starting with # are skipped."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LipgenError(f"{path}: cannot read the instance list ({exc.__class__.__name__})") from None
    found = []
    for number, line in enumerate(lines, 1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        f = path.parent / entry
        if not entry.endswith(INSTANCE_SUFFIXES):
            raise LipgenError(f"{path}, line {number}: {entry} is not an instance file (.mps, .lp, optionally .gz)")
        if not f.is_file():
            raise LipgenError(f"{path}, line {number}: {f}: no such instance file")
        found.append(f)
    if not found:
        raise LipgenError(f"{path}: the instance list names no instance")
    return found


def find_instances(paths: list[str | Path]) -> list[Path]:
    """Instance files named directly, found in directories (sorted) or listed in `.test` files (in their order),
    each with its sidecar."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.iterdir() if f.name.endswith(INSTANCE_SUFFIXES))
        elif p.is_file() and p.suffix == TEST_LIST_SUFFIX:
            found += read_test_list(p)
        elif p.is_file():
            if not p.name.endswith(INSTANCE_SUFFIXES):
                raise LipgenError(f"{p}: not an instance file (.mps, .lp, optionally .gz) or instance list (.test)")
            found.append(p)
        else:
            raise LipgenError(f"{p}: no such file or directory")
    if not found:
        raise LipgenError(f"no instance files (.mps, .lp) in {', '.join(map(str, paths))}")
    unique: dict[Path, Path] = {}
    for f in found:  # each file once, where it is first named
        unique.setdefault(f.resolve(), f)
    found = list(unique.values())
    for f in found:
        if not sidecar_for(f).is_file():
            raise LipgenError(f"{f}: its sidecar {sidecar_for(f).name} is missing (make instances with lipgen generate)")
    return found
