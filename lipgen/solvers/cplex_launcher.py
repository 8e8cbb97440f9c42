"""`lipgen-cplex`: the commands of the interactive `cplex -c "cmd" ...` (or `-f cmdfile`) that lipgen uses,
over the cplex Python package.

Supported: `read <file>` (a model by extension; a `.mst`/`.sol` read after a model is a MIP start),
`set <parameter path> <value>` (any parameter of the interactive's tree, words abbreviable, e.g.
`set mip tolerances mipgap 0`), `set logfile <name|*>`, `optimize`/`mipopt`, `write <file>` (.sol, .mst,
or a model), `display solution objective|variables -`, `quit`. The log (default `cplex.log` in the
working directory, appended to, as the interactive does) gets the library's output and, after
`optimize`, the interactive's summary lines (`MIP - Integer optimal solution:  Objective = ...`).
CPLEX errors are printed as `CPLEX Error  <code>: <message>`; a failed read, set or optimize makes the
exit status 1 (the interactive itself would go on, and so do we, to run the remaining commands).
"""

from __future__ import annotations

import datetime
import os
import sys
import tempfile
from pathlib import Path

from lipgen.atomic import file_mode

COMMANDS = ("display", "mipopt", "optimize", "quit", "read", "set", "write", "xit")
_START_EXT = {"mst", "sol"}

# MIP solution statuses -> the interactive's wording (CPXMIP_* codes)
_MIP_TEXT = {
    101: "Integer optimal solution",
    103: "Integer infeasible",
    104: "Solution limit exceeded",
    105: "Node limit exceeded",
    106: "Node limit exceeded, no integer solution",
    107: "Time limit exceeded",
    108: "Time limit exceeded, no integer solution",
    111: "Memory limit exceeded",
    112: "Memory limit exceeded, no integer solution",
    113: "Aborted",
    114: "Aborted, no integer solution",
    115: "Integer optimal with unscaled infeasibilities",
    118: "Integer unbounded",
    119: "Integer infeasible or unbounded",
    131: "Deterministic time limit exceeded",
    132: "Deterministic time limit exceeded, no integer solution",
}


class CommandError(Exception):
    """A CPLEX-style error: code and message."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code, self.message = code, message

    def line(self) -> str:
        # code 0: an interactive-level complaint (unknown command...), which CPLEX prints without a code
        return f"CPLEX Error  {self.code}: {self.message}" if self.code else self.message


class Tee:
    """Stream for the cplex library: the screen plus the current log file (opened on first write)."""

    def __init__(self, version: str, log_name: str | None = "cplex.log"):
        self.version, self.log_name, self._fh = version, log_name, None

    def set_log(self, name: str | None) -> None:
        if self._fh is not None:
            self._fh.close()
        self.log_name, self._fh = name, None

    def write(self, text: str) -> None:
        sys.stdout.write(text)
        if self.log_name is not None:
            if self._fh is None:
                self._fh = open(self.log_name, "a", encoding="utf-8")
                self._fh.write(f"\nLog started (V{self.version}) {datetime.datetime.now():%a %b %d %H:%M:%S %Y}\n\n")
            self._fh.write(text)
            if "\n" in text:
                self._fh.flush()  # whole lines reach the file at once: lipgen follows the log while CPLEX runs

    def line(self, text: str = "") -> None:
        self.write(text + "\n")

    def flush(self) -> None:
        sys.stdout.flush()
        if self._fh is not None:
            self._fh.flush()

    def close(self) -> None:
        self.set_log(None)


def _error_of(exc) -> CommandError:
    """CplexError -> CommandError; its message already starts with 'CPLEX Error  <code>: '."""
    code = exc.args[2] if len(exc.args) > 2 and isinstance(exc.args[2], int) else 0
    text = str(exc.args[0]) if exc.args else str(exc)
    return CommandError(code, text.split(": ", 1)[1] if text.startswith("CPLEX Error") else text)


def _match(word: str, names, what: str) -> str:
    """The interactive's abbreviations: an exact name, else the unique name starting with `word`."""
    word = word.lower()
    if word in names:
        return word
    hits = [n for n in names if n.startswith(word)]
    if len(hits) != 1:
        raise CommandError(0, f"{what} '{word}' {'is ambiguous' if hits else 'does not exist'}.")
    return hits[0]


def _base_ext(name: str) -> str:
    parts = name.lower().split(".")
    while len(parts) > 1 and parts[-1] in ("gz", "bz2"):
        parts.pop()
    return parts[-1] if len(parts) > 1 else ""


def _atomic(target: str, write) -> None:
    """Write with `write(tmp_path)` to a temporary file of the same type beside `target`, then rename."""
    path = Path(target)
    ext = path.name[len(path.name.split(".")[0]):]  # all suffixes: the library picks the format by them
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=ext, dir=path.parent.resolve())
    os.fchmod(fd, file_mode())  # the user's umask, not mkstemp's 0600
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


class Session:
    """One interactive session: a Cplex object, the log, and whether a command failed."""

    def __init__(self):
        import cplex

        self.cplex_mod = cplex
        self.c = cplex.Cplex()
        self.out = Tee(self.c.get_version())
        self.c.set_results_stream(self.out)
        self.c.set_log_stream(self.out)
        self.c.set_warning_stream(self.out)
        self.c.set_error_stream(None)  # errors are printed once, by us, in the interactive's format
        self.has_problem = False
        self.solved = False
        self.failed = False

    # -- commands -------------------------------------------------------------------------------------
    def run(self, command: str) -> bool:
        """Execute one command line; False on `quit`."""
        words, name = command.split(), None
        if not words:
            return True
        try:
            try:
                name = _match(words[0], COMMANDS, "Command")
                if name in ("quit", "xit"):
                    return False
                getattr(self, "cmd_" + name)(words[1:])
            except self.cplex_mod.exceptions.CplexError as exc:
                raise _error_of(exc) from None
        except CommandError as err:
            self.out.line(err.line())
            if not (name == "write" and err.code in (1217, 3020)):  # no solution to write: a normal outcome
                self.failed = True
        self.out.flush()
        return True

    def cmd_read(self, args: list[str]) -> None:
        if not args:
            raise CommandError(0, "read: file name missing.")
        name, ext = args[0], (args[1].lower() if len(args) > 1 else _base_ext(args[0]))
        if ext in _START_EXT:
            if not self.has_problem:
                raise CommandError(1009, "No problem exists.")
            before = self.c.MIP_starts.get_num()
            self.c.MIP_starts.read(name)
            self.out.line(f"MIP start file '{name}' read: {self.c.MIP_starts.get_num() - before} MIP start(s).")
            return
        start, ticks = self.c.get_time(), self.c.get_dettime()
        self.c.read(name) if len(args) < 2 else self.c.read(name, ext)
        self.has_problem, self.solved = True, False
        self.out.line(f"Problem '{name}' read.")
        self.out.line(f"Read time = {self.c.get_time() - start:.2f} sec. ({self.c.get_dettime() - ticks:.2f} ticks)")

    def cmd_set(self, args: list[str]) -> None:
        if len(args) < 2:
            raise CommandError(0, "set: parameter and value required.")
        if args[0].lower() == "logfile":
            self.out.set_log(None if args[1] == "*" else args[1])
            self.out.line(f"New value for log file: {args[1]}")
            return
        node, path = self.c.parameters, []
        for word in args[:-1]:
            if hasattr(node, "set"):
                raise CommandError(0, f"Parameter '{' '.join(path)}' has no sub-parameter '{word}'.")
            children = [n for n in dir(node) if not n.startswith("_") and not callable(getattr(node, n))]
            path.append(_match(word, children, "Parameter"))
            node = getattr(node, path[-1])
        if not hasattr(node, "set"):
            raise CommandError(0, f"'{' '.join(path)}' is a group of parameters, not a parameter.")
        raw = args[-1]
        try:
            ptype = node.type()
            value = raw if ptype is str else float(raw)
            if ptype is int:
                if not value.is_integer():
                    raise ValueError(raw)
                value = int(value)
        except ValueError:
            raise CommandError(1015, f"Invalid value '{raw}' for parameter '{' '.join(path)}'.") from None
        node.set(value)
        self.out.line(f"New value for {node.help().splitlines()[0].rstrip(':')}: {raw}")

    def cmd_optimize(self, args: list[str]) -> None:
        if not self.has_problem:
            raise CommandError(1009, "No problem exists.")
        start, ticks = self.c.get_time(), self.c.get_dettime()
        self.solved = False
        self.c.solve()
        self.solved = True
        seconds, ticks = self.c.get_time() - start, self.c.get_dettime() - ticks
        self.out.line()
        for line in self.summary():
            self.out.line(line)
        self.out.line()
        prog = self.c.solution.progress
        self.out.line(f"Solution time = {seconds:8.2f} sec.  Iterations = {prog.get_num_iterations()}  "
                      f"Nodes = {prog.get_num_nodes_processed()} ({prog.get_num_nodes_remaining()})")
        self.out.line(f"Deterministic time = {ticks:.2f} ticks  ({ticks / max(seconds, 1e-9):.2f} ticks/sec)")
        self.out.line()

    cmd_mipopt = cmd_optimize

    def summary(self) -> list[str]:
        """The interactive's status lines after an optimization."""
        sol = self.c.solution
        status, feasible = sol.get_status(), sol.is_primal_feasible()
        kind = self.c.problem_type[self.c.get_problem_type()]
        if not kind.startswith("MI"):
            text = sol.get_status_string().capitalize()
            return [f"{kind} - {text}:  Objective = {sol.get_objective_value(): .10e}" if feasible
                    else f"{kind} - {text}."]
        if status == 102:
            tol = self.c.parameters.mip.tolerances
            text = f"Integer optimal, tolerance ({tol.mipgap.get():g}/{tol.absmipgap.get():g})"
        else:
            text = _MIP_TEXT.get(status, sol.get_status_string().capitalize())
            if feasible and status in (105, 107, 111, 113, 131):
                text += ", integer feasible"
        if not feasible:
            lines = [f"MIP - {text}."]
            if status in (106, 108, 112, 114, 132):
                lines.append(f"Current MIP best bound = {sol.MIP.get_best_objective(): .10e} (gap is infinite)")
            return lines
        obj = sol.get_objective_value()
        lines = [f"MIP - {text}:  Objective = {obj: .10e}"]
        if status != 101:
            bound = sol.MIP.get_best_objective()
            gap = abs(obj - bound)
            lines.append(f"Current MIP best bound = {bound: .10e} (gap = {gap:g}, "
                         f"{100 * gap / (1e-10 + abs(obj)):.2f}%)")
        return lines

    def cmd_write(self, args: list[str]) -> None:
        if not args:
            raise CommandError(0, "write: file name missing.")
        if not self.has_problem:
            raise CommandError(1009, "No problem exists.")
        name, ext = args[0], (args[1].lower() if len(args) > 1 else _base_ext(args[0]))
        if ext == "sol":
            if not (self.solved and self.c.solution.is_primal_feasible()):
                raise CommandError(1217, "No solution exists.")
            _atomic(name, self.c.solution.write)
            self.out.line(f"Incumbent solution written to file '{name}'.")
        elif ext == "mst":
            if self.c.MIP_starts.get_num() == 0 and not (self.solved and self.c.solution.is_primal_feasible()):
                raise CommandError(3020, "No MIP start exists.")
            _atomic(name, lambda tmp: self.c.MIP_starts.write(tmp))
            self.out.line(f"MIP start(s) written to file '{name}'.")
        else:
            _atomic(name, self.c.write)
            self.out.line(f"Problem written to file '{name}'.")

    def cmd_display(self, args: list[str]) -> None:
        words = [w.lower() for w in args]
        if len(words) < 2 or not "solution".startswith(words[0]):
            raise CommandError(0, "display: only 'display solution objective|variables -' is supported.")
        if not (self.solved and self.c.solution.is_primal_feasible()):
            raise CommandError(1217, "No solution exists.")
        what = _match(words[1], ("objective", "variables"), "Option")
        if what == "objective":
            self.out.line(self.summary()[0])
            return
        names, values = self.c.variables.get_names(), self.c.solution.get_values()
        self.out.line("Variable Name           Solution Value")
        for n, v in zip(names, values):
            if v != 0:
                self.out.line(f"{n:<23} {v:14.6f}")
        self.out.line(f"All other variables in the range 1-{len(names)} are 0.")

    def close(self) -> None:
        self.out.flush()
        self.out.close()
        self.c.end()


def parse_args(args: list[str]) -> list[str]:
    """`-c cmd cmd ...` | `-f cmdfile` | nothing (commands from standard input)."""
    if not args:
        return sys.stdin.read().splitlines()
    if args[0] == "-c":
        return args[1:]
    if args[0] == "-f" and len(args) == 2:
        return Path(args[1]).read_text().splitlines()
    raise ValueError("usage: lipgen-cplex [-c \"command\" ...] [-f command_file]")


def main(argv: list[str] | None = None) -> int:
    try:
        commands = parse_args(list(sys.argv[1:] if argv is None else argv))
    except (ValueError, OSError) as exc:
        print(f"lipgen-cplex: {exc}", file=sys.stderr)
        return 2
    session = Session()
    print(f"\nWelcome to IBM(R) ILOG(R) CPLEX(R) Interactive Optimizer {session.c.get_version()}\n"
          "  with Simplex, Mixed Integer & Barrier Optimizers\n  (lipgen-cplex over the cplex Python package)\n")
    try:
        for command in commands:
            if not session.run(command):
                break
    finally:
        session.close()
    return 1 if session.failed else 0


if __name__ == "__main__":
    sys.exit(main())
