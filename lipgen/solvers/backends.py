"""One backend per solver: find its executable, build its command line, write its MIP start file.

Every backend speaks the solver's own command-line syntax (docs/solvers.md section 6), so a real `scip`,
`gurobi_cl`, `cplex`, `highs` or `cbc` and lipgen's launchers (`lipgen-scip`, `lipgen-gurobi-cl`,
`lipgen-cplex`, `lipgen-highs`, which take the same syntax) are interchangeable. Each run writes, in its
working directory: `run.log` (the solver's log), `run.sol` (its native solution file), `run.out` (its
stdout+stderr; for CBC the log itself), and for the Gurobi launcher `run.json` too.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cached_property, cache
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from lipgen.atomic import write_text
from lipgen.errors import LipgenError
from lipgen.solvers.scip_shell import scip_version

SOLVERS = ("scip", "gurobi", "cplex", "highs", "cbc")
LOG, SOLUTION, STDOUT = "run.log", "run.sol", "run.out"
MAX_TIME_LIMIT = 1e9  # seconds (32 years)
MAX_THREADS = 4096
MAX_MEM_MB = 1e9  # a petabyte
MIP_START = "start.mst"  # the name lipgen gives every start file (the content depends on the solver)


@dataclass
class Executable:
    """How to start a solver: `argv` is the prefix of every command line."""

    solver: str
    argv: list[str]
    kind: str  # "executable" (a real solver binary, or what the user pointed at) | "launcher" (lipgen's)
    description: str  # e.g. "/usr/bin/scip" or "lipgen-scip (pyscipopt 6.3.0, SCIP 10.0.2)"
    known_version: str | None = None

    @cached_property
    def version(self) -> str | None:
        """The solver's version; for an executable, asked from it once (None if it does not say)."""
        return self.known_version or _probe_version(self.solver, tuple(self.argv))


@dataclass(frozen=True)
class SolveOptions:
    time_limit: float | None = None  # seconds; None: no limit
    threads: int | None = None  # None: the solver's default
    gap: float | None = None  # relative gap at which to stop; None: the solver's default
    mem_limit: float | None = None  # MB
    seed: int | None = None
    mip_start: str | os.PathLike | None = None  # written by write_mip_start for the same solver
    nonconvex: bool = False  # the instance has a nonconvex quadratic objective (Gurobi NonConvex=2, CPLEX OT=3)
    extra: dict = field(default_factory=dict)  # raw solver parameters, in the solver's own naming

    def validate(self) -> None:
        # upper limits every solver takes (SCIP caps its time limit at 1e20, CPLEX its gap at 1)
        checks = (("time limit", "--time-limit", self.time_limit, lambda v: 0 < v <= MAX_TIME_LIMIT,
                   f"a positive number of seconds, at most {MAX_TIME_LIMIT:g}"),
                  ("threads", "--threads", self.threads, lambda v: 1 <= v <= MAX_THREADS,
                   f"between 1 and {MAX_THREADS}"),
                  ("gap", "--gap", self.gap, lambda v: 0 <= v <= 1, "a relative gap between 0 and 1, e.g. 1e-4"),
                  ("memory limit", "--mem-limit", self.mem_limit, lambda v: 0 < v <= MAX_MEM_MB,
                   f"a positive number of MB, at most {MAX_MEM_MB:g}"),
                  ("seed", "--seed", self.seed, lambda v: 0 <= v <= 2_000_000_000, "between 0 and 2000000000"))
        for name, option, value, ok, rule in checks:
            if value is not None and not (math.isfinite(value) and ok(value)):
                raise LipgenError(f"invalid {name} ({option} {value}): must be {rule}")


@dataclass
class Invocation:
    """One ready-to-run solver command; paths are absolute."""

    solver: str
    argv: list[str]
    workdir: Path
    solution_path: Path
    log_path: Path
    stdout_path: Path
    extra_outputs: list[Path] = field(default_factory=list)  # further result files (run.json)
    inputs: dict[str, str] = field(default_factory=dict)  # files the runner writes into workdir first
    notes: list[str] = field(default_factory=list)  # options the solver cannot honour, said in plain words


def format_value(value) -> str:
    """Numbers as the solvers like them: integral values without a decimal point."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, float)) and float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value)) if isinstance(value, float) else str(value)


@cache
def _probe_version(solver: str, argv: tuple[str, ...]) -> str | None:
    args, pattern = {"scip": (["-v"], r"SCIP version (\S+)"),
                     "gurobi": (["--version"], r"version (\d+\.\d+\.\d+)"),
                     "cplex": (["-c", "quit"], r"Optimizer (\d[\d.]*\d)"),
                     "highs": (["--version"], r"HiGHS version (\d+\.\d+\.\d+)"),
                     "cbc": (["-quit"], r"Version: (\S+)")}[solver]
    try:
        out = subprocess.run(list(argv) + args, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL,
                             errors="replace").stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(pattern, out)
    return found.group(1) if found else None


def _resolve(spec: str, origin: str, solver: str) -> Executable:
    """A user-given solver: a path or a name on PATH, possibly followed by arguments."""
    words = [spec] if Path(spec).is_file() else shlex.split(spec)
    if not words:
        raise LipgenError(f"{origin} is empty")
    path = words[0] if Path(words[0]).is_file() else shutil.which(words[0])
    if path is None or not os.access(path, os.X_OK):
        raise LipgenError(f"{origin} '{spec}' is not an executable file")
    path = os.path.abspath(path)  # not resolve(): a symlink's own name may matter to what it runs
    return Executable(solver, [path] + words[1:], "executable", " ".join([path] + words[1:]))


class Backend:
    name = ""
    executable = ""  # the real solver's name on PATH
    package = ""  # python package behind the launcher
    script = ""  # the launcher's console script
    module = ""
    install = ""

    @property
    def env_var(self) -> str:
        return f"LIPGEN_{self.name.upper()}"

    # -- finding the solver ---------------------------------------------------------------------------
    def locate(self, solver_path: str | None = None) -> Executable:
        """Explicit path, then $LIPGEN_<SOLVER>, then the real executable on PATH, then lipgen's launcher."""
        if solver_path:
            return _resolve(str(solver_path), "solver path", self.name)
        if os.environ.get(self.env_var, "").strip():
            return _resolve(os.environ[self.env_var].strip(), self.env_var, self.name)
        found = shutil.which(self.executable)
        if found:
            return Executable(self.name, [found], "executable", found)
        launcher = self._launcher()
        if launcher is None:
            raise LipgenError(f"{self.name} is not installed: no '{self.executable}' on PATH, {self.env_var} is "
                              f"unset and {self.install}")
        return launcher

    def _launcher(self) -> Executable | None:
        if find_spec(self.package) is None:
            return None
        script = Path(sys.executable).parent / self.script
        argv = [str(script)] if script.is_file() and os.access(script, os.X_OK) else [
            sys.executable, "-m", self.module]
        about, version = self._versions()
        return Executable(self.name, argv, "launcher", f"{self.script} ({about})", version)

    def _versions(self) -> tuple[str, str | None]:
        """(what the launcher runs on, the solver's version) without importing the package."""
        try:
            version = metadata.version(self.package)
        except metadata.PackageNotFoundError:
            version = None
        return f"{self.package} {version}", version

    # -- the command line ----------------------------------------------------------------------------
    def command(self, exe: Executable, model_path, workdir, opts: SolveOptions | None = None) -> Invocation:
        """The command that solves `model_path` in `workdir` with `opts`."""
        opts = opts or SolveOptions()
        opts.validate()
        model = Path(model_path).resolve()
        if not model.is_file():
            raise LipgenError(f"instance file not found: {model_path}")
        start = None
        if opts.mip_start is not None:
            start = Path(opts.mip_start).resolve()
            if not start.is_file():
                raise LipgenError(f"MIP start file not found: {opts.mip_start}")
        return self._invocation(exe, model, start, workdir, opts)

    def _invocation(self, exe, model: Path, start: Path | None, workdir, opts: SolveOptions) -> Invocation:
        workdir = Path(workdir).resolve()
        inv = Invocation(self.name, [], workdir, workdir / SOLUTION, workdir / LOG, workdir / STDOUT)
        inv.argv = list(exe.argv) + self._args(exe, model, start, opts, inv)
        return inv

    def preflight(self, exe: Executable, model_path, workdir, opts: SolveOptions, warm_start: bool) -> None:
        """Raise the LipgenError `command` would raise for these paths (a quote SCIP cannot read, a space CPLEX
        cannot take), before anything is written: the files need not exist yet."""
        start = Path(workdir).resolve() / MIP_START if warm_start else None
        self._invocation(exe, Path(model_path).resolve(), start, workdir, opts)

    def _args(self, exe, model: Path, start: Path | None, opts: SolveOptions, inv: Invocation) -> list[str]:
        raise NotImplementedError

    # -- MIP starts -----------------------------------------------------------------------------------
    def mip_start_text(self, values: dict[str, float]) -> str:
        """Plain `name value` lines with explicit zeros: read as a (partial) start by SCIP and Gurobi."""
        names, vals = _start_values(values)
        return "".join(f"{n} {v}\n" for n, v in zip(names, vals))


def _start_values(values: dict[str, float]) -> tuple[list[str], list[str]]:
    names = [str(n) for n in values]
    arr = np.fromiter(values.values(), dtype=float, count=len(names))
    bad = ~np.isfinite(arr)
    if bad.any():
        raise LipgenError(f"MIP start value of '{names[int(np.argmax(bad))]}' is not finite")
    if any(not n or any(c.isspace() for c in n) for n in names):
        raise LipgenError("MIP start: variable names must be non-empty and without spaces")
    return names, [format_value(v) for v in arr.tolist()]


def _no_spaces(solver: str, *paths: Path) -> None:
    # The CPLEX interactive splits commands on whitespace and has no quoting we can rely on.
    for p in paths:
        if p is not None and any(c.isspace() for c in str(p)):
            raise LipgenError(f"{solver} cannot read a path containing spaces: {p}")


class ScipBackend(Backend):
    name, executable, package = "scip", "scip", "pyscipopt"
    script, module = "lipgen-scip", "lipgen.solvers.scip_shell"
    install = "pyscipopt is not installed: pip install pyscipopt"

    def _versions(self) -> tuple[str, str | None]:
        about, _ = super()._versions()
        try:
            version = scip_version()
        except (OSError, AttributeError):
            return about, None
        return f"{about}, SCIP {version}", version

    def _args(self, exe, model, start, opts, inv):
        def path(p: Path) -> str:  # the SCIP shell takes "quoted words"
            if '"' in str(p):
                raise LipgenError(f"SCIP cannot read a path containing '\"': {p}")
            return f'"{p}"' if any(c.isspace() for c in str(p)) else str(p)

        sets = []
        if opts.time_limit is not None:
            sets.append(f"set limits time {format_value(opts.time_limit)}")
        if opts.gap is not None:
            sets.append(f"set limits gap {format_value(opts.gap)}")
        if opts.mem_limit is not None:
            sets.append(f"set limits memory {format_value(opts.mem_limit)}")
        if opts.seed is not None:
            sets.append(f"set randomization randomseedshift {format_value(opts.seed)}")
        if opts.threads not in (None, 1):
            # SCIP's `optimize` is sequential; lp/threads exists but SoPlex ignores it.
            inv.notes.append(f"SCIP solves with one thread: threads={opts.threads} ignored")
        args = ["-l", LOG, "-q"]
        if opts.extra:
            # through a settings file, which also takes the advanced parameters that `set` hides in menus
            inv.inputs["lipgen.set"] = "".join(f"{k} = {_scip_value(v)}\n" for k, v in opts.extra.items())
            args += ["-s", "lipgen.set"]
        # printzeros: a solution that lists every variable lets the checker tell a cut file from zeros
        commands = sets + ["set write printzeros TRUE", f"read {path(model)}"] + (
            [f"read {path(_local(start, inv.workdir))}"] if start else []) + ["optimize", "display statistics",
                                                         f"write solution {SOLUTION}", "quit"]
        for c in commands:
            args += ["-c", c]
        return args


def _local(path: Path, workdir: Path) -> Path:
    """A file in the solver's working directory by its bare name (no directory to quote)."""
    return Path(path.name) if path.parent == workdir else path


def _scip_value(v) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    return format_value(v) if isinstance(v, (int, float)) else str(v)


class GurobiBackend(Backend):
    name, executable, package = "gurobi", "gurobi_cl", "gurobipy"
    script, module = "lipgen-gurobi-cl", "lipgen.solvers.gurobi_launcher"
    install = "gurobipy is not installed: pip install gurobipy (or pip install 'lipgen[gurobi]')"

    def _args(self, exe, model, start, opts, inv):
        params = {"TimeLimit": opts.time_limit, "Threads": opts.threads, "MIPGap": opts.gap, "Seed": opts.seed,
                  # Gurobi's memory limits are in GB; the soft one stops cleanly with status MEM_LIMIT
                  "SoftMemLimit": None if opts.mem_limit is None else opts.mem_limit / 1024,
                  "NonConvex": 2 if opts.nonconvex else None}
        params.update(opts.extra)
        args = [f"{k}={format_value(v)}" for k, v in params.items() if v is not None]
        args += [f"LogFile={LOG}", "LogToConsole=0", f"ResultFile={SOLUTION}"]
        if exe.kind == "launcher":
            # gurobi_cl documents one ResultFile (a repeated parameter overrides); the launcher takes
            # several, and the .json adds status and best bound to the .sol's values.
            args.append("ResultFile=run.json")
            inv.extra_outputs.append(inv.workdir / "run.json")
        if start is not None:
            args.append(f"InputFile={start}")
        return args + [str(model)]


class CplexBackend(Backend):
    name, executable, package = "cplex", "cplex", "cplex"
    script, module = "lipgen-cplex", "lipgen.solvers.cplex_launcher"
    install = "the cplex package is not installed: pip install cplex (or pip install 'lipgen[cplex]')"

    def _args(self, exe, model, start, opts, inv):
        _no_spaces("CPLEX", model, start, inv.workdir)
        cmds = [f"set logfile {LOG}", f"read {model}"] + ([f"read {start}"] if start else [])
        if opts.time_limit is not None:
            cmds.append(f"set timelimit {format_value(opts.time_limit)}")
        if opts.threads is not None:
            cmds.append(f"set threads {opts.threads}")
        if opts.gap is not None:
            cmds.append(f"set mip tolerances mipgap {format_value(opts.gap)}")
        if opts.mem_limit is not None:
            # workmem is working memory before node files; treememory is the limit that stops the search
            cmds += [f"set workmem {format_value(opts.mem_limit)}", f"set mip limits treememory {format_value(opts.mem_limit)}"]
        if opts.seed is not None:
            cmds.append(f"set randomseed {opts.seed}")
        if opts.nonconvex:
            cmds.append("set optimalitytarget 3")
        cmds += [f"set {re.sub(r'[./]', ' ', str(k))} {format_value(v)}" for k, v in opts.extra.items()]
        return ["-c"] + cmds + ["optimize", f"write {SOLUTION}", "quit"]

    def mip_start_text(self, values: dict[str, float]) -> str:
        """CPLEXSolutions XML; CPLEX matches the variables by name."""
        names, vals = _start_values(values)
        body = "".join(f'   <variable name={quoteattr(n)} index="{i}" value="{v}"/>\n'
                       for i, (n, v) in enumerate(zip(names, vals)))
        return ('<?xml version = "1.0" encoding="UTF-8" standalone="yes"?>\n<CPLEXSolutions version="1.2">\n'
                ' <CPLEXSolution version="1.2">\n  <header problemName="lipgen" solutionName="lipgen_start" '
                'solutionIndex="0" MIPStartEffortLevel="0" writeLevel="2"/>\n  <variables>\n'
                f'{body}  </variables>\n </CPLEXSolution>\n</CPLEXSolutions>\n')


class HighsBackend(Backend):
    name, executable, package = "highs", "highs", "highspy"
    script, module = "lipgen-highs", "lipgen.solvers.highs_launcher"
    install = "highspy is not installed: pip install highspy"
    OPTIONS = "lipgen.opt"  # HiGHS's options file: what its command line has no flag for

    def _args(self, exe, model, start, opts, inv):
        if opts.nonconvex:
            raise LipgenError("HiGHS solves only linear models (MILP) here: this instance has a nonconvex objective")
        if opts.mem_limit is not None:
            inv.notes.append("HiGHS has no memory limit: mem_limit ignored")
        options = {} if opts.gap is None else {"mip_rel_gap": opts.gap}
        options.update(opts.extra)
        # after the extras: the files lipgen reads back; style 0 (raw) lists every column, so the checker
        # can tell a cut file from zeros
        options.update(log_file=LOG, log_to_console=False, write_solution_style=0)
        inv.inputs[self.OPTIONS] = "".join(f"{k} = {_highs_value(v)}\n" for k, v in options.items())
        args = ["--model_file", str(model), "--options_file", self.OPTIONS, "--solution_file", SOLUTION]
        if opts.time_limit is not None:
            args += ["--time_limit", format_value(opts.time_limit)]
        if opts.threads is not None:
            args += ["--threads", str(opts.threads)]
        if opts.seed is not None:
            args += ["--random_seed", str(opts.seed)]
        if start is not None:
            args += ["--read_solution_file", str(start)]
        return args

    def mip_start_text(self, values: dict[str, float]) -> str:
        """HiGHS's sparse solution file (`write_solution_style = 4`): `name value index` lines under
        `# Columns -K`. HiGHS matches the names; its reader skips the status and objective lines."""
        names, vals = _start_values(values)
        return ("Model status\nUnknown\n\n# Primal solution values\nFeasible\nObjective 0\n"
                f"# Columns -{len(names)}\n" + "".join(f"{n} {v} {i}\n" for i, (n, v) in enumerate(zip(names, vals))))


def _highs_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return format_value(v) if isinstance(v, (int, float)) else str(v)


class CbcBackend(Backend):
    name, executable, package = "cbc", "cbc", "pulp"
    install = "no CBC came with pulp: install CBC (e.g. apt-get install coinor-cbc) or pip install 'pulp<4'"

    def _launcher(self) -> Executable | None:
        # pulp's bundled CBC binary is a real cbc: no launcher needed.
        if find_spec("pulp") is None:
            return None
        from pulp.apis import coin_api

        # the class attribute, not an instance: instantiating PULP_CBC_CMD warns about its deprecation
        path = getattr(getattr(coin_api, "PULP_CBC_CMD", None), "pulp_cbc_path", None)
        if not path or not os.access(path, os.X_OK):
            return None
        path = str(Path(path).resolve())
        return Executable(self.name, [path], "executable", f"cbc bundled with {self._versions()[0]} ({path})")

    def command(self, exe, model_path, workdir, opts=None) -> Invocation:
        if str(model_path).endswith((".gz", ".bz2")):
            raise LipgenError(f"CBC cannot read compressed models (it aborts): {model_path}")
        inv = super().command(exe, model_path, workdir, opts)
        inv.stdout_path = inv.log_path  # CBC has no log file option: its screen output is the log
        return inv

    def _args(self, exe, model, start, opts, inv):
        # lipgen's files are minimisation problems, and CBC ignores OBJSENSE anyway: never -max.
        args = [str(model)]
        if opts.time_limit is not None:
            args += ["-sec", format_value(opts.time_limit)]
        if opts.threads is not None:
            args += ["-threads", str(opts.threads)]
        if opts.gap is not None:
            args += ["-ratio", format_value(opts.gap)]
        if opts.seed:
            # seed 0 would mean "the time of day" to CBC: keep its default seeds then
            args += ["-randomSeed", str(opts.seed), "-randomCbcSeed", str(opts.seed)]
        if opts.mem_limit is not None:
            inv.notes.append("CBC has no memory limit: mem_limit ignored")
        if opts.nonconvex:
            raise LipgenError("CBC solves only linear models (MILP): this instance has a nonconvex objective")
        for k, v in opts.extra.items():
            args += [f"-{k}", format_value(v)]
        if start is not None:
            args += ["-mips", str(start)]
        return args + ["-solve", "-solu", SOLUTION]

    def mip_start_text(self, values: dict[str, float]) -> str:
        """CBC's own solution layout (`index name value`); the first line is ignored by its reader."""
        names, vals = _start_values(values)
        return "MIP start written by lipgen\n" + "".join(f"{i} {n} {v}\n" for i, (n, v) in
                                                         enumerate(zip(names, vals)))


BACKENDS: dict[str, Backend] = {b.name: b for b in (ScipBackend(), GurobiBackend(), CplexBackend(), HighsBackend(),
                                                    CbcBackend())}


def get_backend(solver: str) -> Backend:
    try:
        return BACKENDS[solver.lower()]
    except KeyError:
        raise LipgenError(f"unknown solver '{solver}' (choose from {', '.join(SOLVERS)})") from None


def write_mip_start(solver: str, path: str | os.PathLike, values: dict[str, float]) -> Path:
    """Write `values` as a MIP start file that `solver` reads (atomically); returns the path.

    SCIP, Gurobi and CPLEX pick the reader by the extension, which must be `.mst` (for SCIP that means
    a partial start it completes itself, so its auxiliary `qmatrixvar` may stay out). CBC and HiGHS take
    any name.
    """
    backend = get_backend(solver)
    if backend.name not in ("cbc", "highs") and Path(path).suffix != ".mst":
        raise LipgenError(f"a {backend.name} MIP start file must end in .mst: {path}")
    text = backend.mip_start_text(values)
    write_text(path, text)
    return Path(path)
