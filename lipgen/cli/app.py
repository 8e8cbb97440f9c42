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
from .split import split

try:  # typer >= 0.20 carries its own click
    from typer._click import exceptions as _click_errors
except ImportError:  # pragma: no cover
    import click.exceptions as _click_errors

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


for command in (inspect, generate, solve, run, split, parse, check, convert, jobs, collect, version):
    app.command()(command)


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2; SIGINT/SIGTERM stop every solver
    lipgen started, print one line and exit with 130/143."""
    with pipeline.interrupts_raise() as signals:
        try:
            code = app(standalone_mode=False)  # option errors are ours to print: one line, not a usage block
            if isinstance(code, int) and code:
                sys.exit(code)
        except _click_errors.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except _click_errors.ClickException as exc:
            path = exc.ctx.command_path if getattr(exc, "ctx", None) is not None else ""
            where = path.partition(" ")[2] + ": " if " " in path else ""
            text = " ".join(exc.format_message().split())
            err.print(f"lipgen: error: {where}{text} (see --help)", soft_wrap=True,
                      markup=False)
            sys.exit(exc.exit_code)
        except typer.Abort:
            err.print("lipgen: aborted", markup=False)
            sys.exit(1)
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
