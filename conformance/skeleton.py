"""What every command that writes a run folder does the same way (``run``, ``replay``,
``check-authenticator``): the run folder, the progress, an interrupted run, the reports and
the verdict lines. Each command keeps only what is its own: what it runs, its header line
and the details under its verdict.

- ``open_run_folder``: ``OUT/<run-id>/``, or one line and exit 2.
- ``execute``: the command's body with its live progress; Ctrl-C is exit 130 with the
  reports of what ended written; a target that fails is exit 2, reports written too.
- ``finish``: the reports, ``OUT/latest``, the verdict line and the paths, to standard output.

The pytest plugin shares the rest below these (``ResultLog``, ``start_log``, the
expectations and ``records``): pytest owns its session, its verdict and its exit status.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final, NoReturn

import click

from conformance.progress import LiveProgress

if TYPE_CHECKING:
    from reports import RunLog, Summary

USAGE_ERROR: Final = 2
INTERRUPTED: Final = 130

#: The lines a command prints under its verdict: from the log and its summary.
Details = Callable[["RunLog", "Summary"], list[str]]
#: The verdict line's counts: ``42 checks, 40 passed, 2 failed`` and the like.
Counts = Callable[["RunLog", "Summary"], str]


def fail(message: str) -> NoReturn:
    """One line on standard error, exit 2."""
    click.echo(f"twofa: error: {message}", err=True)
    sys.exit(USAGE_ERROR)


def open_run_folder(out: Path) -> tuple[str, Path]:
    """A new run folder under ``out``: its run id and path (exit 2 when it cannot be made)."""
    from reports import create_run_folder

    try:
        return create_run_folder(out)
    except OSError as exc:
        fail(f"cannot create a run folder in {out}: {exc}")


def checks_counts(log: RunLog, summary: Summary) -> str:
    """``42 checks, 40 passed, 2 failed in 21.9 s``: the counts of ``run`` and ``replay``."""
    from reports.text import duration_text

    counts = ", ".join(f"{n} {o.replace('_', ' ')}" for o, n in summary.counts.items() if n)
    took = duration_text(summary.duration_seconds) if summary.duration_seconds is not None else ""
    return (
        f"{summary.total} checks"
        + (f", {counts}" if counts else "")
        + (f" in {took}" if took else "")
    )


def unexpected_lines(log: RunLog, summary: Summary) -> list[str]:
    """One line per unexpected result: which check, and why."""
    lines = []
    for check in log.checks:
        if log.key(check) in summary.unexpected:
            why = check.reason or check.outcome
            if check.expected is not None:
                why = f"expected {check.expected.outcome}, was {check.outcome}"
            shown = f"{check.target}: " if log.several_targets else ""
            lines.append(f"  unexpected: {shown}{check.plan}/{check.id}: {why}")
    return lines


def finish(
    root: Path,
    run_id: str,
    log_path: Path,
    *,
    counts: Counts = checks_counts,
    details: Details = unexpected_lines,
) -> None:
    """Render the reports of a run, point ``latest`` at it, print the verdict and the paths."""
    from reports import ResultLogError, load_log, point_latest, summarize, write_reports
    from reports.html_page import VERDICT_TEXT

    if not log_path.exists():
        return
    try:
        log = load_log(log_path)
        written = write_reports(log_path)
    except (ResultLogError, OSError) as exc:
        click.echo(f"twofa: error: cannot write the reports: {exc}", err=True)
        return
    try:
        latest = f"{point_latest(root, run_id)} -> {run_id}"
    except OSError as exc:
        latest = f"not updated ({exc})"
    summary = summarize(log)
    click.echo(
        f"{VERDICT_TEXT[summary.verdict]}: {counts(log, summary)} "
        f"({len(summary.unexpected)} unexpected)"
    )
    for line in details(log, summary):
        click.echo(line)
    files = ", ".join(p.name for p in [log_path, *written.values()])
    click.echo(f"wrote {log_path.parent}/: {files}")
    click.echo(f"latest: {latest}")
    click.echo(f"report: {written['html']}")


def execute(
    body: Callable[[], int],
    bar: LiveProgress,
    *,
    wrap_up: Callable[[], None],
    noun: str,
    target_errors: tuple[type[Exception], ...] = (),
    target_words: str = "the target failed",
) -> int:
    """Run ``body`` under ``bar``; then ``wrap_up`` (the reports) and its exit status.

    Interrupted (Ctrl-C): the bar goes, one line says so, ``wrap_up`` writes the reports
    of what ended, exit 130. A target error: one line, the reports, exit 2. The caller
    exits with the status returned (after anything of its own, such as a trace check).
    """
    try:
        with bar:
            status = body()
    except KeyboardInterrupt:
        click.echo(f"twofa: interrupted; the reports show the {noun} that ended", err=True)
        wrap_up()
        sys.exit(INTERRUPTED)
    except target_errors as exc:
        click.echo(f"twofa: {target_words}: {exc}", err=True)
        wrap_up()
        sys.exit(USAGE_ERROR)
    wrap_up()
    return status
