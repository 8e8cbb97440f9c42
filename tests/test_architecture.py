"""The shape of the package (docs/architecture.md): imports point down the pipeline, no cycle, none hidden
inside a function, and the command line goes through lipgen.pipeline."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parents[1] / "lipgen"

# The stages, bottom up: a module may import from its own stage and the ones below, never from a later one.
STAGES = [
    ("ground", ["lipgen", "lipgen.errors", "lipgen.atomic", "lipgen.paths", "lipgen.rounding", "lipgen.network",
                "lipgen.model", "lipgen.domain", "lipgen.templating", "lipgen.shell"]),
    ("io", ["lipgen.io"]),
    ("writers", ["lipgen.writers"]),
    ("solvers", ["lipgen.solvers", "lipgen.parsers"]),
    ("bounds", ["lipgen.bounds"]),
    ("lower", ["lipgen.lower"]),
    ("formulation", ["lipgen.formulation"]),
    ("split", ["lipgen.split"]),
    ("instance", ["lipgen.instance"]),
    ("results", ["lipgen.results"]),
    ("run", ["lipgen.run"]),
    ("report", ["lipgen.report"]),
    ("cluster", ["lipgen.cluster"]),
    ("pipeline", ["lipgen.pipeline"]),
    ("cli", ["lipgen.cli", "lipgen.__main__"]),
]

# Imports allowed inside functions: optional extras, and libraries slow to import that one path alone needs.
LAZY = {
    "torch", "safetensors", "onnx", "onnxruntime",  # optional readers (lipgen[torch], [safetensors], [onnx])
    "matplotlib",  # optional plots (lipgen[plots])
    "gurobipy", "cplex",  # optional solvers, behind the launchers
    "highspy",  # only the LPs (OBBT, region LPs) and the HiGHS launcher use it
    "pulp",  # 1 s to import; only the CBC backend uses it, to find pulp's bundled binary
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, tuple[Path, ast.Module]]:
    return {module_name(p): (p, ast.parse(p.read_text(), str(p))) for p in sorted(ROOT.rglob("*.py"))}


MODULES = modules()


def target(name: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(name: str) -> list[tuple[str, ast.AST]]:
    """The lipgen modules `name` imports: the module itself, each package on its way, and each imported submodule."""
    path, tree = MODULES[name]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = target(name, path, node)
            if base.split(".")[0] != "lipgen":
                continue
            found = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        elif isinstance(node, ast.Import):
            found = [a.name for a in node.names if a.name.split(".")[0] == "lipgen"]
        else:
            continue
        for mod in found:
            parts = mod.split(".")
            out += [(".".join(parts[:k]), node) for k in range(2, len(parts) + 1) if ".".join(parts[:k]) in MODULES]
    return out


def stage(name: str) -> int:
    best, rank = -1, None
    for i, (_, prefixes) in enumerate(STAGES):
        for p in prefixes:
            if (name == p or name.startswith(p + ".")) and len(p) > best and (p != "lipgen" or name == "lipgen"):
                best, rank = len(p), i
    assert rank is not None, f"{name} belongs to no stage: add it to STAGES and docs/architecture.md"
    return rank


def test_every_module_has_a_stage():
    for name in MODULES:
        stage(name)


def test_no_module_imports_a_later_stage():
    bad = [f"{src} ({STAGES[stage(src)][0]}) imports {dst} ({STAGES[stage(dst)][0]})"
           for src in MODULES for dst, _ in imports(src) if stage(dst) > stage(src)]
    assert not bad, "\n".join(bad)


def test_the_import_graph_is_acyclic():
    # a module's own packages are being imported when it runs: those edges are not cycles
    graph = {src: {dst for dst, _ in imports(src) if not (src == dst or src.startswith(dst + "."))} for src in MODULES}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_no_imports_inside_functions_but_heavy_optional_ones():
    bad = []
    for name, (path, tree) in MODULES.items():
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    mods = [target(name, path, node)]
                else:
                    continue
                for mod in mods:
                    if mod.split(".")[0] not in LAZY:
                        bad.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} imports {mod} inside {func.name}")
    assert not bad, "\n".join(bad)


def test_the_cli_goes_through_the_pipeline():
    allowed = {"lipgen", "lipgen.errors", "lipgen.pipeline"}
    bad = [f"{src} imports {dst}" for src in MODULES if stage(src) == len(STAGES) - 1
           for dst, _ in imports(src) if not (dst in allowed or dst.startswith("lipgen.cli"))]
    assert not bad, "\n".join(bad)
