"""Progress of a long command on standard error: a live bar on a terminal, plain lines elsewhere.

``twofa run``, ``replay`` and ``check-authenticator`` print one line per check (or
scenario, or case) as it ends. On a terminal a live bar stays below those lines: how
many are done, the one running now, the time taken and an estimate of the time left
(rich). On CI, in a pipe or a file, or with ``TWOFA_PROGRESS=plain``, only the lines
are printed, exactly as before, so logs stay plain and diffable; ``TWOFA_PROGRESS=live``
forces the bar (a terminal that does not say it is one).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import IO, Final

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

#: ``TWOFA_PROGRESS``: ``live`` or ``plain``; unset: live on a terminal outside CI.
SETTING: Final = "TWOFA_PROGRESS"


def wants_live(stream: IO[str] | None = None) -> bool:
    """Whether to draw the live bar on ``stream`` (standard error by default)."""
    setting = os.environ.get(SETTING, "").strip().lower()
    if setting in ("live", "plain"):
        return setting == "live"
    stream = stream if stream is not None else sys.stderr
    if os.environ.get("CI") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


class LiveProgress:
    """``with LiveProgress(names, "checks") as bar:``, then ``bar.done(line)`` as each ends.

    ``names`` are the items in the order they run; the bar shows the next one as the
    one running now. Lines go above the bar (or alone, without one).
    """

    def __init__(self, names: Sequence[str], noun: str, *, live: bool | None = None) -> None:
        self.names = list(names)
        self.noun = noun
        self.live = wants_live() if live is None else live
        self.finished = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> LiveProgress:
        if self.live and self.names:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(self.noun),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[current]}"),
                console=Console(file=sys.stderr),
                transient=True,  # the bar goes at the end; the lines stay
            )
            self._progress.start()
            self._task = self._progress.add_task(
                "twofa", total=len(self.names), current=self._current()
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _current(self) -> str:
        return self.names[self.finished] if self.finished < len(self.names) else ""

    def line(self, text: str) -> None:
        """A line of output (click styles kept), above the bar when there is one."""
        if self._progress is None:
            click.echo(text, err=True)
        else:
            self._progress.console.print(Text.from_ansi(text), soft_wrap=True)

    def done(self, text: str, *more: str) -> None:
        """One item ended: its line (and any more lines about it); the bar moves on."""
        self.finished += 1
        for line in (text, *more):
            self.line(line)
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=self.finished, current=self._current())
