"""Screenshots as evidence: files under a folder, records for the result log.

Each record is ``{"kind": "screenshot", "title": ..., "path": ...}`` with the
path relative to ``root`` (the result log's folder), as the attachments of
``docs/result-log.md`` are, so the reports can embed them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, limit: int = 48) -> str:
    """A file-name-safe version of a title."""
    return _NOT_SLUG.sub("-", text.lower()).strip("-")[:limit].rstrip("-") or "step"


@dataclass
class Evidence:
    """Where one flow's screenshots go, and the records of those taken so far.

    ``root`` is the folder the record paths are relative to; ``folder`` is the
    sub-folder (relative to ``root``) the files are written into. With
    ``root=None`` nothing is saved and no record is made.
    """

    root: Path | None
    folder: str = "evidence"
    records: list[dict[str, Any]] = field(default_factory=list)

    def _next_path(self, title: str, suffix: str = ".png") -> tuple[Path, str] | None:
        if self.root is None:
            return None
        relative = f"{self.folder}/{len(self.records) + 1:02d}-{slug(title)}{suffix}"
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, relative

    def screenshot(self, target: Page | Locator, title: str) -> dict[str, Any] | None:
        """Save a screenshot of the page (whole page) or of one element; record it."""
        where = self._next_path(title)
        if where is None:
            return None
        path, relative = where
        # scale="css": a phone's 3x device pixels only make the files slow to encode.
        if isinstance(target, Page):
            target.screenshot(path=str(path), full_page=True, scale="css")
        else:
            target.screenshot(path=str(path), scale="css")
        return self._record(title, relative)

    def save_png(self, png: bytes, title: str) -> dict[str, Any] | None:
        """Keep PNG bytes already taken (e.g. the QR element that was decoded)."""
        where = self._next_path(title)
        if where is None:
            return None
        path, relative = where
        path.write_bytes(png)
        return self._record(title, relative)

    def _record(self, title: str, relative: str) -> dict[str, Any]:
        record = {"kind": "screenshot", "title": title, "path": relative}
        self.records.append(record)
        return record
