"""The table of every target's measured policy, for docs/targets.md, made from a real run.

``python -m reports.targets_table LOG --update docs/targets.md`` renders the
log's targets side by side (one column each, one row per aspect of
``reports.policy.compare``, each cell what was measured, with the declared
value where the two differ, and the checks that failed or warned) between the
document's ``targets-table`` markers, and writes the run's summary records
(run, targets, measured, checks without their evidence) beside it as
``targets-run.jsonl``. ``--check`` says whether the document's table is what
that file renders: the table is never typed by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from reports.committed import check_document, replace_block, trimmed_records
from reports.log import ResultLogError, RunLog, load_log
from reports.policy import compare

START: Final = "<!-- targets-table:start -->"
END: Final = "<!-- targets-table:end -->"
#: The trimmed log kept beside the document (what the table is rendered from).
RUN_FILE: Final = "targets-run.jsonl"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(log: RunLog) -> str:
    """The Markdown table: aspects down, targets across."""
    targets = [t for t in log.targets if t.measured is not None]
    if not targets:
        raise ValueError(f"{log.path}: no target has a measured record")
    columns = [t.name for t in targets]
    rows: dict[str, dict[str, str]] = {
        "what": {t.name: (t.description.title if t.description else None) or "" for t in targets}
    }
    for target in targets:
        assert target.measured is not None
        for row in compare(target.measured):
            cell = row.measured
            if row.status == "differs":
                cell = f"**{row.measured}** (declared: {row.declared})"
            elif row.status == "not_declared":
                cell = f"{row.measured} (not declared)"
            rows.setdefault(row.aspect, {})[target.name] = cell
    for word, outcome in (("failed", "failed"), ("warnings", "warning")):
        rows[f"checks {word}"] = {
            t.name: ", ".join(c.id for c in log.checks_of(t.name) if c.outcome == outcome) or "none"
            for t in targets
        }
    rows["clock"] = {
        t.name: "real time" if t.real_time else "moved by the harness" for t in targets
    }
    lines = [
        "| | " + " | ".join(f"`{c}`" for c in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for aspect, cells in rows.items():
        values = [_cell(cells.get(c, "not measured")) for c in columns]
        lines.append(f"| {aspect} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def provenance(log: RunLog) -> str:
    """One line: when, from which commit, against which targets the table was measured."""
    started = datetime.fromtimestamp(log.run.started_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    commit = (log.run.git_commit or "unknown")[:10]
    names = " ".join(f"--target {t.name}" for t in log.targets)
    return (
        f"Measured by `twofa run {names}` on {started} (run {log.run.run_id}, harness commit "
        f"{commit}); `make targets-table` measures and writes it again."
    )


#: The keys of a declared policy every target shares (the rest is one server's own).
SHARED_KEYS: Final = {
    "window": ("back", "forward"),
    "replay": None,
    "throttle": ("max_failures", "lock_seconds", "kind"),
    "drift": ("tracking", "max_steps"),
    "totp": ("algorithm", "digits", "period"),
}


def _overlap(declared: dict[str, object] | None) -> dict[str, object] | None:
    """The shared keys of a declaration, the way every target can be compared."""
    if declared is None:
        return None
    kept: dict[str, object] = {}
    for key, inner in SHARED_KEYS.items():
        value = declared.get(key)
        if isinstance(value, dict) and inner is not None:
            kept[key] = {k: value[k] for k in inner if k in value}
        elif key in declared:
            kept[key] = value
    return kept


def render_sources(log: RunLog) -> str:
    """Each target's declared policy and where each part comes from, as the run logged them."""
    parts = []
    for target in log.targets:
        measured = target.measured
        if measured is None:
            continue
        options = target.description.options if target.description else {}
        settings = ", ".join(f"`{k}={v}`" for k, v in options.items()) or "its defaults"
        declared = json.dumps(_overlap(measured.declared), sort_keys=True)
        parts.append(f"**`{target.name}`** at {settings} declares `{declared}`:\n")
        for key, source in measured.sources.items():
            parts.append(f"- `{key}`: {_cell(source)}")
        parts.append("")
    return "\n".join(parts).rstrip()


def block(log: RunLog) -> str:
    return (
        f"{START}\n{provenance(log)}\n\n{render_table(log)}\n\n"
        f"How each declaration was derived, in the drivers' words:\n\n{render_sources(log)}\n{END}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports.targets_table", description=__doc__)
    parser.add_argument("log", type=Path, nargs="?", help="results.jsonl of a multi-target run")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--update", type=Path, metavar="DOC", help="rewrite DOC's table")
    action.add_argument("--check", type=Path, metavar="DOC", help="exit 1 unless DOC is current")
    args = parser.parse_args(argv)
    try:
        if args.check is not None:
            run_file = args.check.with_name(RUN_FILE)
            return check_document(args.check, block(load_log(run_file)), str(run_file), START, END)
        if args.log is None:
            parser.error("give the log of a run (or --check DOC)")
        log = load_log(args.log)
        if args.update is None:
            print(block(log))
            return 0
        run_file = args.update.with_name(RUN_FILE)
        run_file.write_text("\n".join(trimmed_records(args.log)) + "\n", encoding="utf-8")
        # Rendered from the trimmed file, as --check will render it.
        text = replace_block(
            args.update.read_text(encoding="utf-8"), block(load_log(run_file)), START, END
        )
        args.update.write_text(text, encoding="utf-8")
        print(f"wrote {args.update} and {run_file}")
        return 0
    except (ResultLogError, ValueError, OSError) as exc:
        print(f"python -m reports.targets_table: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
