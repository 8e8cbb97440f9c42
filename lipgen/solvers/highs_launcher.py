"""`lipgen-highs`: HiGHS's `highs` executable, with its command-line syntax, over highspy.

    lipgen-highs [--model_file] FILE [--options_file F] [--read_solution_file F] [--solution_file F]
                 [--time_limit T] [--threads N] [--random_seed S] [--presolve|--solver|--parallel|
                 --run_crossover|--ranging WORD] [--read_basis_file F] [--write_basis_file F]
                 [--write_model_file F] [-v|--version] [-h|--help]

It does what the executable's main() does (HiGHS's app/RunHighs.cpp): the options file first, the
command-line options over it, then `readModel` and `run`. Everything else is the library's own doing:
`run` reads `read_solution_file` (a MIP start), writes `solution_file` in `write_solution_style` and logs
to `log_file` (appending, as HiGHS opens it) and to the console unless `log_to_console = false`.
Exit status as the executable's: 0 ok, 1 warning, 255 error (HighsStatus -1), and CLI11's 105 for a
file argument that does not exist.
"""

from __future__ import annotations

import argparse
import os
import sys

# command-line option -> (HiGHS option, type); all of them are HiGHS options of the same name
CLI_OPTIONS = {
    "read_solution_file": str, "read_basis_file": str, "write_model_file": str, "solution_file": str,
    "write_basis_file": str, "presolve": str, "solver": str, "parallel": str, "threads": int,
    "run_crossover": str, "time_limit": float, "random_seed": int, "ranging": str,
}
MUST_EXIST = ("model_file", "options_file", "read_solution_file", "read_basis_file")
EXIT_ERROR = 255  # HighsStatus::kError (-1) as an exit status
EXIT_NO_FILE = 105  # CLI11's ValidationError, as the executable exits for a missing file argument


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        print(f"{message}\nRun with --help for more information.")
        sys.exit(109)  # CLI11's ExtrasError/ParseError family


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = _Parser(prog="lipgen-highs", usage="lipgen-highs [options] [file]", allow_abbrev=False, add_help=False)
    p.add_argument("file", nargs="?")
    p.add_argument("--model_file")
    p.add_argument("--options_file")
    for name, kind in CLI_OPTIONS.items():
        p.add_argument(f"--{name}", type=kind)
    p.add_argument("-v", "--version", action="store_true")
    p.add_argument("--notice", action="store_true")
    p.add_argument("-h", "--help", action="store_true")
    args = p.parse_args(argv)
    if args.file and args.model_file and args.file != args.model_file:
        p.error("Multiple files not supported.")
    args.model_file = args.model_file or args.file
    return args


def _log(h, text: str) -> None:
    """A line the executable logs itself (through HiGHS's logger): to the log file and/or the console."""
    _, output = h.getOptionValue("output_flag")
    if not output:
        return
    _, log_file = h.getOptionValue("log_file")
    _, console = h.getOptionValue("log_to_console")
    if log_file:  # HiGHS flushes every line it logs, so appending here keeps the order
        with open(log_file, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    if console:
        print(text, flush=True)


def run(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.help:
        print(__doc__.split("\n\n")[1])
        return 0
    import highspy
    from highspy import _core

    if args.version or args.notice:
        h = _core._Highs()
        print(f"HiGHS version {h.version()} Githash {h.githash()}. (lipgen-highs over highspy "
              f"{getattr(highspy, '__version__', h.version())})")
        return 0
    for name in MUST_EXIST:
        path = getattr(args, name)
        if path is not None and not os.path.isfile(path):
            print(f"--{name}: File does not exist: {path}\nRun with --help for more information.")
            return EXIT_NO_FILE
    h = _core._Highs()
    ok, warning = _core.HighsStatus.kOk, _core.HighsStatus.kWarning
    if args.options_file and h.readOptions(args.options_file) not in (ok, warning):
        return EXIT_ERROR  # HiGHS said why
    for name in CLI_OPTIONS:
        value = getattr(args, name)
        if value is not None and h.setOptionValue(name, value) != ok:
            return EXIT_ERROR
    if not args.model_file:
        print("Please specify filename in .mps|.lp|.ems format.")
        return EXIT_ERROR
    if h.readModel(args.model_file) == _core.HighsStatus.kError:
        _log(h, "Error loading file")
        return EXIT_ERROR
    status = h.run()
    _core._Highs.resetGlobalScheduler(True)
    return {ok: 0, warning: 1}.get(status, EXIT_ERROR)


def main(argv: list[str] | None = None) -> int:
    sys.stdout.flush()
    code = run(list(sys.argv[1:] if argv is None else argv))
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
