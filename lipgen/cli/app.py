"""The Typer app: every command registered in the order `lipgen --help` lists them, and the entry point."""

from __future__ import annotations

import sys

import typer

from .. import __version__, pipeline
from ..errors import LipgenError
from .check import check
from .collect import collect
from .convert import convert
from .generate import generate
from .inspect import inspect
from .jobs import jobs
from .parse import parse
from .render import err, out
from .run import run
from .solve import solve

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Lipschitz constants of ReLU networks: standardized MIQCQP instance files, solved by SCIP, Gurobi, "
         "CPLEX or CBC, read back into certified bounds.",
)


def version():
    """Print lipgen's version."""
    out.print(__version__)


for command in (inspect, generate, solve, run, parse, check, convert, jobs, collect, version):
    app.command()(command)


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2; SIGINT/SIGTERM stop every solver
    lipgen started, print one line and exit with 130/143."""
    with pipeline.interrupts_raise() as signals:
        try:
            app()
        except LipgenError as exc:
            err.print(f"lipgen: error: {exc}", soft_wrap=True, markup=False)
            sys.exit(exc.exit_code)
        except pipeline.Interrupted:
            pass  # reported below
        except KeyboardInterrupt:
            err.print("lipgen: interrupted", markup=False)
            sys.exit(130)
        except SystemExit:
            if signals.caught is None:  # click turns an interrupt into exit code 130 without a word
                raise
    if signals.caught is None:
        return
    pipeline.stop_all()  # every solver is stopped by whoever started it; this only makes sure
    err.print(signals.caught.message(), soft_wrap=True, markup=False)
    sys.exit(signals.caught.exit_code)
