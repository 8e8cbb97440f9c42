"""Jinja2 rendering of the shipped templates (top-level `templates/`, installed as `lipgen.templates`).

Undefined variables are errors (StrictUndefined) and nothing is HTML-escaped; the `q` filter shell-quotes
a value, `directive` admits only a plain name into a scheduler directive.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import jinja2

from lipgen.shell import identifier, quote
from lipgen.errors import LipgenError


@lru_cache(maxsize=1)
def template_dir() -> Path:
    """The folder of the shipped templates, for a wheel and an editable install alike."""
    try:
        folder = Path(str(resources.files("lipgen.templates")))
    except ModuleNotFoundError:
        folder = Path(__file__).resolve().parents[1] / "templates"  # a source tree run without installing
    if not (folder / "jobs").is_dir():
        raise LipgenError(f"lipgen's templates are missing from {folder}: reinstall lipgen")
    return folder


def _environment(extra_dir: Path | None) -> jinja2.Environment:
    dirs = ([str(extra_dir)] if extra_dir is not None else []) + [str(template_dir())]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(dirs), undefined=jinja2.StrictUndefined,
                             autoescape=False, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["q"] = quote
    env.filters["directive"] = lambda v: identifier(str(v), "directive value")
    return env


@lru_cache(maxsize=1)
def _shipped() -> jinja2.Environment:
    return _environment(None)


def render(name: str, variables: dict, user_template: str | Path | None = None) -> str:
    """Render the shipped template `name` (e.g. `jobs/slurm.sh.j2`), or a user's file instead of it."""
    try:
        if user_template is None:
            template = _shipped().get_template(name)
        else:
            path = Path(user_template)
            if not path.is_file():
                raise LipgenError(f"--template {path}: no such file")
            # the user's folder first, so a copy may include its own helpers or the shipped ones
            template = _environment(path.resolve().parent).get_template(path.name)
        return template.render(**variables)
    except jinja2.TemplateSyntaxError as exc:
        raise LipgenError(f"template {exc.filename or name}, line {exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        where = user_template or name
        raise LipgenError(f"template {where}: {exc.message} (see the README for the variables a template "
                          "receives)") from None
