"""The output layout: one folder per run under a root, and ``latest`` naming the newest.

::

    out/reports/
      20331118T033350Z-4f2a9c/    results.jsonl, evidence, report.json, junit.xml,
                                  summary.md, index.html
      latest -> 20331118T033350Z-4f2a9c

Run ids sort by time (UTC wall clock, to the second) and a random suffix
keeps two runs started in the same second apart. ``latest`` is a relative
symbolic link, replaced atomically; where symbolic links cannot be made (some
Windows set-ups, some network file systems) it is a text file holding the
run id instead.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

LATEST: Final = "latest"
RUN_ID: Final = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")


def new_run_id(now: float | None = None) -> str:
    """``20331118T033350Z-4f2a9c``: the UTC time (``now``, default the wall clock) and 6 hex."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def create_run_folder(root: Path | str, now: float | None = None) -> tuple[str, Path]:
    """Create ``root/<run id>`` (never an existing folder) and answer the id and the folder."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for _ in range(20):
        run_id = new_run_id(now)
        folder = root / run_id
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return run_id, folder
    raise FileExistsError(f"{root}: no free run folder name after 20 tries")


def read_latest(root: Path | str) -> str | None:
    """The run id ``root/latest`` names (link or text file), or None when there is none."""
    latest = Path(root) / LATEST
    try:
        if latest.is_symlink():
            name = os.readlink(latest)
        elif latest.is_file():
            name = latest.read_text(encoding="utf-8").strip()
        else:
            return None
    except OSError:
        return None
    name = Path(name).name
    return name if RUN_ID.match(name) else None


def point_latest(root: Path | str, run_id: str) -> Path:
    """Make ``root/latest`` name ``run_id``, unless it already names a newer run.

    The new link (or text file) is made under a temporary name and renamed
    over the old one, so a reader sees the old or the new run, never nothing.
    Raises ``OSError`` when ``latest`` cannot be replaced (a real folder by
    that name, a read-only root).
    """
    root = Path(root)
    latest = root / LATEST
    current = read_latest(root)
    if current is not None and current > run_id and (root / current).is_dir():
        return latest  # a run that started later already finished: it stays the newest
    temporary = root / f".{LATEST}.{secrets.token_hex(4)}.tmp"
    try:
        os.symlink(run_id, temporary, target_is_directory=True)
    except (OSError, NotImplementedError):
        temporary.write_text(run_id + "\n", encoding="utf-8")
    try:
        os.replace(temporary, latest)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    return latest
