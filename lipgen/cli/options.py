"""Options shared by several commands, and their parsing."""

from __future__ import annotations

import typer

from ..errors import LipgenError
from ..pipeline import SolveOptions

NORM_HELP = "Norm for input and output: 1, 2 or inf."
InstancesArg = typer.Argument(..., help="Instance files, directories made by `lipgen generate`, or `.test` lists of "
                                        "instance files (one path a line, relative to the list).")
OutputWeightsOpt = typer.Option(None, "--output-weights", help="The Lipschitz constant of the scalar c^T f for the "
                                                               "weights c in this .npy file (one per output).")
MarginOpt = typer.Option(None, "--margin", help="The Lipschitz constant of the logit difference f_I - f_J: I,J "
                                                "(output indices from 0).")
BoundsOpt = typer.Option("linear", "--bounds", help="Pre-activation bounds (the big-M values): interval, linear "
                                                     "(a CROWN-style relaxation, cheap; also `lp`) or obbt (two LPs "
                                                     "per unstable neuron with HiGHS, tightest).")
ModeOpt = typer.Option("auto", "--mode", help="forward (push a direction through the layers), backward (pull an "
                                              "output covector back, as LipMIP) or auto (by the problem's size: "
                                              "binaries and big-M products of both modes, convex before nonconvex; "
                                              "`lipgen inspect` shows the choice).")
JacobianOpt = typer.Option(True, "--jacobian-bounds/--no-jacobian-bounds",
                           help="Bound the derivative variables, their big-Ms and the upper problem's objective by "
                                "the Jacobian entry bounds (sound; off: the older norm-product bounds only).")

BoxOpt = typer.Option(None, "--box", help="Input domain: the same interval LO,HI for every input, e.g. 0,1 or -1,1.")
BoxFileOpt = typer.Option(None, "--box-file", help="Input domain from an .npz file with arrays `lower` and `upper`.")
CenterOpt = typer.Option(None, "--center", help="Centre of an l-inf ball domain (.npy file); needs --radius.")
RadiusOpt = typer.Option(None, "--radius", help="Radius of the l-inf ball around --center.")
ClipOpt = typer.Option(None, "--clip", help="Clip the --center/--radius ball to LO,HI (e.g. 0,1 for images).")


def parse_norm(text: str | None, option: str) -> str | None:
    """'2', 'l2', 'L2' -> '2'; 'inf', 'linf', 'infinity' -> 'inf'."""
    if text is None:
        return None
    t = text.strip().lower().removeprefix("l")
    t = {"infinity": "inf", "oo": "inf", "max": "inf"}.get(t, t)
    if t not in ("1", "2", "inf"):
        raise LipgenError(f"{option} {text!r} is not supported: use 1, 2 or inf")
    return t


def resolve_norms(norm: str | None, input_norm: str | None, output_norm: str | None) -> tuple[str, str]:
    base = parse_norm(norm, "--norm") or "2"
    return parse_norm(input_norm, "--input-norm") or base, parse_norm(output_norm, "--output-norm") or base


SolverOpt = typer.Option("scip", "--solver", help="scip (default: the SCIP shell bundled with pyscipopt), gurobi, "
                                                    "cplex, highs or cbc (highs and cbc: linear instances only).")
SolveSolverOpt = typer.Option("scip", "--solver", help="scip (default: the SCIP shell bundled with pyscipopt), "
                                                         "gurobi, cplex, highs or cbc (highs and cbc: linear instances "
                                                         "only), or auto: the best free solver per problem class "
                                                         "(measured: scip on every class).")
TimeOpt = typer.Option(None, "--time-limit", help="Seconds per solver run (the solver stops itself; a hard kill "
                                                  "follows a little later) [default: none].")
ThreadsOpt = typer.Option(1, "--threads", help="Threads per solver run.")
GapOpt = typer.Option(1e-6, "--gap", help="Relative gap at which a solver may stop (the dual bound stays valid).")
MemOpt = typer.Option(None, "--mem-limit", help="Memory limit per solver run, MB.")
SeedOpt = typer.Option(None, "--seed", help="Solver random seed.")
WarmOpt = typer.Option(True, "--warm-start/--no-warm-start", help="Start the solver from the best certified point "
                                                                  "found before solving (a MIP start).")
SolverDefaultsOpt = typer.Option(False, "--solver-defaults", help="Run the solver with its own defaults instead of "
                                                                  "the parameters the sidecar recommends.")
ForceOpt = typer.Option(False, "--force", help="Redo finished runs instead of reusing their result.json.")
SolverPathOpt = typer.Option(None, "--solver-path", help="Solver executable to use (else $LIPGEN_<SOLVER>, "
                                                         "then PATH, then lipgen's launcher).")
FAILED_EXIT = 1  # some run gave no usable bound


def solve_options(time_limit, threads, gap, mem_limit, seed) -> SolveOptions:
    return SolveOptions(time_limit=time_limit, threads=threads, gap=gap, mem_limit=mem_limit, seed=seed)


WaitOpt = typer.Option(False, "--wait", help="When another lipgen is solving a run, wait for it (and reuse its result "
                                             "when the settings are the same) instead of skipping the run.")
