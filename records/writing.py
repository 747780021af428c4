"""Writing a result log: each record redacted as a whole, one JSON line, flushed."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import IO

from records.model import Record
from records.redaction import redact


class RecordFile:
    """A ``results.jsonl`` being written; safe to share between threads.

    The one place a record becomes a line: the whole record goes through ``redact``
    (evidence a check handed its steps too), and each line is flushed, so a reader
    (or a crash) sees every record that ended.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[str] = path.open("w", encoding="utf-8")
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._file.closed

    def write(self, record: Record) -> None:
        """Append the record; nothing once the file is closed (a run's end raced a worker)."""
        line = json.dumps(redact(record.dump())) + "\n"
        with self._lock:
            if not self._file.closed:
                self._file.write(line)
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()
