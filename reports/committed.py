"""Tables of measured facts committed in the docs: their marked blocks and trimmed logs.

``docs/targets.md`` and ``docs/authenticators.md`` each hold a table between two markers,
rendered from real runs, and keep those runs' logs beside them trimmed of their evidence,
so a test can render each table again (``--check``) and find one typed by hand or left
behind by a change to the renderer.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from records import model

#: The record kinds a table needs besides the checks.
TABLE_KINDS: Final = ("run", "target", "measured", "end")
#: What trimming empties in a check record: its evidence, which no table needs (the fields
#: stay, empty, as the format has every check record carry them).
EVIDENCE: Final = {
    "started_at": None,
    "duration_ms": None,
    "steps": (),
    "attachments": (),
    "charts": (),
}


def trimmed_records(log_path: Path, kinds: Iterable[str] = TABLE_KINDS) -> list[str]:
    """The log's lines of ``kinds`` as they are, and its checks without their evidence."""
    kept_kinds = frozenset(kinds)
    kept = []
    for line in log_path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        kind = record.get("record")
        if kind in kept_kinds:
            kept.append(json.dumps(record, sort_keys=True))
        elif kind == "check":
            check = model.CheckRecord.model_validate(record).model_copy(update=EVIDENCE)
            kept.append(json.dumps(check.dump(), sort_keys=True))
    return kept


def replace_block(document: str, new_block: str, start_marker: str, end_marker: str) -> str:
    """``document`` with its block from ``start_marker`` to ``end_marker`` replaced."""
    start, end = document.find(start_marker), document.find(end_marker)
    if start < 0 or end < start:
        raise ValueError(f"the document has no {start_marker} ... {end_marker} markers")
    return document[:start] + new_block + document[end + len(end_marker) :]


def current_block(document: str, start_marker: str, end_marker: str) -> str:
    """The block of ``document`` from ``start_marker`` to ``end_marker``, both included."""
    start, end = document.find(start_marker), document.find(end_marker)
    if start < 0 or end < start:
        raise ValueError(f"the document has no {start_marker} ... {end_marker} markers")
    return document[start : end + len(end_marker)]


def check_document(
    document: Path, wanted: str, source: str, start_marker: str, end_marker: str
) -> int:
    """``--check``: 0 when ``document``'s block is ``wanted`` (what ``source`` renders), else 1;
    one line either way."""
    if current_block(document.read_text(encoding="utf-8"), start_marker, end_marker) != wanted:
        print(f"{document}: its table is not what {source} renders", file=sys.stderr)
        return 1
    print(f"{document}: the table is what {source} renders")
    return 0
