"""``badge.json``: a shields.io endpoint badge of a run (https://shields.io/badges/endpoint-badge).

Publish the file where shields.io can fetch it and point a badge at
``https://img.shields.io/endpoint?url=<its URL>``: it reads, e.g., "2FA conformance:
42/42 passed" in green, or "40/42 passed, 2 unexpected" in red.
"""

from __future__ import annotations

import json
from typing import Final

from reports.log import RunLog
from reports.summary import summarize

LABEL: Final = "2FA conformance"
#: The badge's colour by the run's verdict (``reports.summary.VERDICTS``).
COLOURS: Final = {
    "passed": "brightgreen",
    "passed_with_warnings": "yellow",
    "failed": "red",
    "interrupted": "lightgrey",
}


def render_badge(log: RunLog) -> str:
    """The endpoint badge JSON of ``log``."""
    summary = summarize(log)
    message = f"{summary.counts.get('passed', 0)}/{summary.total} passed"
    if summary.unexpected:
        message += f", {len(summary.unexpected)} unexpected"
    if summary.verdict == "interrupted":
        message += " (interrupted)"
    badge = {
        "schemaVersion": 1,
        "label": LABEL,
        "message": message,
        "color": COLOURS[summary.verdict],
    }
    return json.dumps(badge, indent=2) + "\n"
