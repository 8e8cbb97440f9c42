"""The command line: a thin Typer shell over lipgen.pipeline."""
