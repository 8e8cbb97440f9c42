"""User-facing errors: the CLI prints their message on one line and exits with code 2."""


class LipgenError(Exception):
    """A problem with the user's input (file, option, domain, solver setup)."""

    exit_code = 2
