"""Writing the reports of one log into a folder."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final

from reports.badge import render_badge
from reports.html_page import render_html
from reports.json_report import render_json
from reports.junit import render_junit
from reports.log import RunLog, load_log
from reports.markdown import render_markdown

#: Format name → (file name, renderer).
FORMATS: Final[dict[str, tuple[str, Callable[[RunLog], str]]]] = {
    "json": ("report.json", render_json),
    "junit": ("junit.xml", render_junit),
    "summary": ("summary.md", render_markdown),
    "html": ("index.html", render_html),
    "badge": ("badge.json", render_badge),
}


def _write_atomically(path: Path, text: str) -> None:
    # A CI job reading junit.xml while it is rewritten must see the old or the new file, never half.
    # (Not mkstemp: its files are private to the owner; reports get the usual umask permissions.)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with tmp.open("x", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_reports(
    log_path: Path | str,
    out_dir: Path | str | None = None,
    formats: Iterable[str] = tuple(FORMATS),
) -> dict[str, Path]:
    """Render a result log: ``report.json``, ``junit.xml``, ``summary.md``, ``index.html`` and
    ``badge.json`` (a shields.io endpoint badge).

    ``out_dir`` defaults to the log's folder (where its attachments are) and
    is created when missing. Answers format name → written path. Raises
    ``ResultLogError`` for a log that cannot be read and ``ValueError`` for an
    unknown format name, before anything is written.
    """
    wanted = list(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise ValueError(
            f"unknown report format {', '.join(unknown)} (known: {', '.join(FORMATS)})"
        )
    log = load_log(log_path)
    out = Path(out_dir) if out_dir is not None else log.folder
    rendered = {name: FORMATS[name][1](log) for name in wanted}
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, text in rendered.items():
        path = out / FORMATS[name][0]
        _write_atomically(path, text)
        written[name] = path
    return written
