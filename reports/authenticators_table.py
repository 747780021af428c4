"""The table of every real adapter's check-authenticator verdicts, for docs/authenticators.md.

``python -m reports.authenticators_table NAME=LOG ... --update docs/authenticators.md``
renders one row per adapter (its ``results.jsonl`` from a real
``twofa check-authenticator --adapter NAME`` run): the verdict counts, then
one column per case family, then the run's error and warning findings, in
the harness's words, between the document's ``authenticators-table`` markers.
``make authenticators-table`` runs the adapters and writes it, with each run's log,
trimmed of its evidence, in ``authenticators-runs/`` beside the document;
``--check DOC`` says whether the document's table is what those logs render: the
table is never typed by hand.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from reports.committed import (
    TABLE_KINDS,
    check_document,
    current_block,
    replace_block,
    trimmed_records,
)
from reports.log import Check, ResultLogError, RunLog, load_log

START: Final = "<!-- authenticators-table:start -->"
END: Final = "<!-- authenticators-table:end -->"
#: The folder beside the document holding each adapter's trimmed log, ``NN-NAME.jsonl``
#: (NN keeps the table's order of adapters).
RUNS_DIR: Final = "authenticators-runs"
#: The verdict columns, in the order of the vendor report (worst last), and n/a.
VERDICTS: Final = ("compatible", "silently_wrong", "refused", "failed", "not_applicable")
#: How a family cell names each verdict.
SHORT: Final = {
    "compatible": "ok",
    "silently_wrong": "wrong",
    "refused": "refused",
    "failed": "failed",
    "not_applicable": "n/a",
}


def verdict(check: Check) -> str:
    """A case's verdict: its first matrix cell's, or not applicable (which has no cell)."""
    if check.matrix:
        return check.matrix[0].verdict
    return "not_applicable" if check.outcome == "not_applicable" else "failed"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _families(logs: dict[str, RunLog]) -> list[str]:
    found: dict[str, None] = {}
    for log in logs.values():
        found.update(dict.fromkeys(c.plan for c in log.checks))
    return list(found)


def _family_cell(checks: list[Check]) -> str:
    if not checks:
        return ""
    counts: dict[str, int] = {}
    for check in checks:
        counts[verdict(check)] = counts.get(verdict(check), 0) + 1
    if set(counts) == {"compatible"}:
        return f"all {len(checks)} ok"
    if set(counts) == {"not_applicable"}:
        return "n/a"
    return ", ".join(f"{counts[v]} {SHORT[v]}" for v in VERDICTS if v in counts)


def render_counts(logs: dict[str, RunLog]) -> str:
    """Adapters down; what it is, the verdict counts and the run's exit status across."""
    lines = [
        "| adapter | implementation | cases | compatible | silently wrong | refused | failed "
        "| not applicable | exit status |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, log in logs.items():
        counts = dict.fromkeys(VERDICTS, 0)
        for check in log.checks:
            counts[verdict(check)] += 1
        what = log.run.target.url or ""
        status = (
            "interrupted"
            if log.end is None
            else f"exit {log.end.exit_status}, {len(log.end.unexpected)} unexpected"
        )
        values = " | ".join(str(counts[v]) for v in VERDICTS)
        lines.append(f"| `{name}` | {_cell(what)} | {len(log.checks)} | {values} | {status} |")
    return "\n".join(lines)


def render_families(logs: dict[str, RunLog]) -> str:
    """Families down, adapters across: each cell the family's verdicts through that adapter."""
    names = list(logs)
    lines = ["| family | " + " | ".join(f"`{n}`" for n in names) + " |"]
    lines.append("|---|" + "---|" * len(names))
    for family in _families(logs):
        cells = [_family_cell([c for c in logs[n].checks if c.plan == family]) for n in names]
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_findings(logs: dict[str, RunLog]) -> str:
    """Each adapter's error and warning findings, as the run wrote them."""
    parts = []
    for name, log in logs.items():
        shown = [f for f in log.findings if f.severity in ("error", "warning")]
        parts.append(f"**`{name}`**: no errors or warnings." if not shown else f"**`{name}`**:")
        parts += [f"- {f.severity.upper()}: {_cell(f.text)}" for f in shown]
        parts.append("")
    return "\n".join(parts).rstrip()


def provenance(logs: dict[str, RunLog]) -> str:
    """One line: when and from which commit the table was measured, and how to redo it."""
    first = min(log.run.started_at for log in logs.values())
    started = datetime.fromtimestamp(first, UTC).strftime("%Y-%m-%d %H:%M UTC")
    commits = sorted({(log.run.git_commit or "unknown")[:10] for log in logs.values()})
    return (
        f"Measured by `twofa check-authenticator --adapter NAME` (every case family) for "
        f"each adapter on {started} (harness commit {', '.join(commits)}); "
        "`make authenticators-table` measures and writes it again."
    )


def block(logs: dict[str, RunLog]) -> str:
    return (
        f"{START}\n{provenance(logs)}\n\n{render_counts(logs)}\n\n"
        f"Per case family:\n\n{render_families(logs)}\n\n"
        f"The runs' errors and warnings, in the harness's words:\n\n{render_findings(logs)}\n{END}"
    )


def _named_logs(pairs: list[str]) -> dict[str, RunLog]:
    logs = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"{pair!r}: give NAME=LOG (an adapter's name and its results.jsonl)")
        logs[name] = load_log(Path(path))
    return logs


def write_runs(logs: dict[str, RunLog], runs: Path) -> None:
    """Each adapter's log, trimmed, as ``runs/NN-NAME.jsonl`` (the folder's old files go)."""
    runs.mkdir(exist_ok=True)
    for old in runs.glob("*.jsonl"):
        old.unlink()
    for number, (name, log) in enumerate(logs.items(), start=1):
        lines = trimmed_records(log.path, (*TABLE_KINDS, "finding"))
        (runs / f"{number:02d}-{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_runs(runs: Path) -> dict[str, RunLog]:
    """The trimmed logs ``write_runs`` left, by adapter, in the table's order."""
    files = sorted(runs.glob("*.jsonl"))
    if not files:
        raise ValueError(f"{runs}: no adapter's log (make authenticators-table writes them)")
    return {f.stem.partition("-")[2]: load_log(f) for f in files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reports.authenticators_table", description=__doc__
    )
    parser.add_argument("logs", nargs="*", metavar="NAME=LOG", help="an adapter and its log")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--update", type=Path, metavar="DOC", help="rewrite DOC's table")
    action.add_argument("--check", type=Path, metavar="DOC", help="exit 1 unless DOC is current")
    args = parser.parse_args(argv)
    try:
        if args.check is not None:
            runs = args.check.with_name(RUNS_DIR)
            return check_document(args.check, block(read_runs(runs)), f"{runs}/", START, END)
        if not args.logs:
            parser.error("give NAME=LOG for each adapter (or --check DOC)")
        logs = _named_logs(args.logs)
        if args.update is None:
            print(block(logs))
            return 0
        document = args.update.read_text(encoding="utf-8")
        current_block(document, START, END)  # the markers are there before anything is written
        runs = args.update.with_name(RUNS_DIR)
        write_runs(logs, runs)
        # Rendered from the trimmed logs, as --check will render it.
        text = replace_block(document, block(read_runs(runs)), START, END)
        args.update.write_text(text, encoding="utf-8")
        print(f"wrote {args.update} and {runs}/")
        return 0
    except (ResultLogError, ValueError, OSError) as exc:
        print(f"python -m reports.authenticators_table: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
