"""The command line: a thin Typer shell over lipgen.pipeline (options, progress, rendering), one module per
command; `main` is the `lipgen` entry point."""
