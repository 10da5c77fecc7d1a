"""Jinja2 templates from the repository's ``templates/`` directory, rendered strictly.

A variable the template uses but the caller did not give is an error naming the template and
the variable (StrictUndefined), raised when the operation is declared: before any host is touched.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


class TemplateError(ValueError):
    """A template cannot be rendered: missing, invalid, or using a variable nobody gave."""


@cache
def _environment(templates_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,  # a rendered file ends exactly as its template does
        autoescape=False,  # config files, not HTML
    )


def render_template(name: str, variables: Mapping[str, Any], templates_dir: str | Path | None = None) -> str:
    """The text of template ``name`` rendered with ``variables``.

    Args: name: path of the template inside the templates directory; variables: its values;
    templates_dir: where templates live (default: the repository's ``templates/``).
    Example: ``render_template("rhythm.env.j2", {"port": 8080, "api_token": "..."})``
    """
    environment = _environment(Path(templates_dir or TEMPLATES_DIR).resolve())
    try:
        return environment.get_template(name).render(variables)
    except jinja2.TemplateNotFound as err:
        raise TemplateError(f"template {name!r}: not found in {environment.loader.searchpath[0]}") from err
    except jinja2.TemplateSyntaxError as err:
        raise TemplateError(f"template {name!r}, line {err.lineno}: {err.message}") from err
    except jinja2.UndefinedError as err:
        raise TemplateError(f"template {name!r}{_template_line(err, name)}: {err.message} "
                            "(give it a value, e.g. in the role's defaults)") from err


def _template_line(err: Exception, name: str) -> str:
    """", line N: <source>" where the template failed (Jinja maps its frames to template lines)."""
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        if frame.filename.endswith(name):
            return f", line {frame.lineno}: {(frame.line or '').strip()}"
    return ""
