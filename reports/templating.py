"""The one Jinja2 environment of the HTML report, loading ``reports/templates/``.

Autoescaping is on for every template: whatever a template prints from the
log (evidence, titles, reasons, target names, URLs) is whatever the server
under test answered. Every printed value also goes through ``utf8_safe``
first, so a lone surrogate from JSON becomes a visible escape instead of
failing the write. ``StrictUndefined`` turns a misspelt name in a template
into an error, not an empty string.
"""

from __future__ import annotations

import json
from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from reports.text import duration_text, exchange_lines, json_text, utf8_safe, when


def _finalize(value: Any) -> Any:
    # Markup is what a macro (or our own chart code) produced: already escaped and made safe.
    if isinstance(value, Markup):
        return value
    return utf8_safe(str(value))


def pretty_json(value: Any) -> str:
    """A JSON value indented for a ``<pre>``, non-ASCII kept as text."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


ENVIRONMENT: Final = Environment(
    loader=PackageLoader("reports", "templates"),
    autoescape=True,  # every template here is HTML (or SVG inside it)
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    finalize=_finalize,
)
ENVIRONMENT.filters.update(
    when=when,
    duration=duration_text,
    json_text=json_text,
    pretty_json=pretty_json,
    exchange_text=lambda exchange: "\n".join(exchange_lines(exchange)),
)


def render(name: str, **context: Any) -> str:
    """Render the template ``name`` (a path under ``reports/templates/``)."""
    return ENVIRONMENT.get_template(name).render(**context)
