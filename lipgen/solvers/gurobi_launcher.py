"""`lipgen-gurobi-cl`: `gurobi_cl [Param=value]* model_file` over gurobipy.

Takes the same parameters as gurobi_cl (case-insensitive names), plus its command-line-only
`InputFile=` (MIP start .mst/.sol, hints, ...; may be repeated) and `ResultFile=` (which the launcher
also accepts several times, e.g. a .sol and a .json). The log goes through Gurobi's own LogFile
(default `gurobi.log`, as gurobi_cl); errors are printed as `Error <code>: <message>` and give exit 1.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from lipgen.atomic import file_mode

USAGE = "usage: lipgen-gurobi-cl [Param=value]* [InputFile=f]* [ResultFile=f]* model_file"
_NEEDS_SOLUTION = (".sol", ".mst", ".sol.gz", ".mst.gz")


class LauncherError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def parse_args(args: list[str]) -> tuple[dict[str, str], list[str], list[str], str]:
    """-> (parameters in order given, input files, result files, model file)."""
    params: dict[str, str] = {}
    inputs: list[str] = []
    results: list[str] = []
    model = None
    for arg in args:
        name, eq, value = arg.partition("=")
        if not eq:
            if model is not None:
                raise ValueError(f"more than one model file given ('{model}' and '{arg}')")
            model = arg
        elif name.lower() == "inputfile":
            inputs.append(value)
        elif name.lower() == "resultfile":
            results.append(value)
        else:
            params[name] = value
    if model is None:
        raise ValueError("no model file given")
    return params, inputs, results, model


def _typed(model, name: str, value: str):
    """Convert a command-line string to the parameter's type (gurobipy wants int/float/str)."""
    info = model.getParamInfo(name)
    if info is None:
        raise LauncherError(10007, f"Unknown parameter '{name}'")
    ptype = info[1]
    if ptype is str:
        return value
    try:
        number = float(value)
    except ValueError:
        raise LauncherError(10003, f"Invalid value '{value}' for parameter '{name}'") from None
    return int(number) if ptype is int and number.is_integer() else number


def _write_result(model, name: str) -> None:
    """Write one result file atomically: a temporary file with the same suffix, then a rename."""
    target = Path(name)
    suffix = "".join(target.suffixes[-2:]) if target.suffix in (".gz", ".bz2", ".7z") else target.suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent.resolve())
    os.fchmod(fd, file_mode())  # the user's umask, not mkstemp's 0600
    os.close(fd)
    try:
        model.write(tmp)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _report_error(code, message: str, log_file: str | None) -> None:
    line = f"Error {code}: {message}"
    print(line, flush=True)
    if log_file:
        with open(log_file, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def run(args: list[str]) -> int:
    try:
        params, inputs, results, model_file = parse_args(args)
    except ValueError as exc:
        print(f"lipgen-gurobi-cl: {exc}\n{USAGE}", file=sys.stderr)
        return 2
    if model_file in ("-h", "--help"):
        print(USAGE)
        return 0
    import gurobipy as gp

    if model_file in ("-v", "--version"):
        print("Gurobi Optimizer version %d.%d.%d (lipgen-gurobi-cl over gurobipy)" % gp.gurobi.version())
        return 0
    # Logging parameters must be set before the environment starts to catch the banner.
    lower = {k.lower(): k for k in params}
    log_file = params.pop(lower["logfile"]) if "logfile" in lower else "gurobi.log"
    to_console = params.pop(lower["logtoconsole"]) if "logtoconsole" in lower else None
    env = model = None
    try:
        env = gp.Env(empty=True)
        if to_console is not None:
            env.setParam("LogToConsole", 0 if to_console.strip() in ("0", "0.0") else 1)
        env.setParam("LogFile", log_file)
        env.start()
        model = gp.read(model_file, env)
        for name, value in params.items():
            model.setParam(name, _typed(model, name, value))
        for name in inputs:
            model.read(name)
        model.optimize()
        for name in results:
            if model.SolCount == 0 and name.endswith(_NEEDS_SOLUTION):
                # gurobi_cl's own behaviour: warn, no file, no failure
                model.message(f"Warning: unable to write requested result file '{name}'\n")
                continue
            _write_result(model, name)
        return 0
    except gp.GurobiError as exc:
        code, message = exc.errno, exc.message
    except LauncherError as exc:
        code, message = exc.code, exc.message
    except OSError as exc:  # a result file that cannot be written
        code, message = 10013, str(exc)
    finally:
        if model is not None:
            model.dispose()
        if env is not None:
            env.dispose()
    _report_error(code, message, log_file)
    return 1


def main(argv: list[str] | None = None) -> int:
    return run(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
