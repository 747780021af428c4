"""``summary.md``: a short Markdown page for a CI job summary (GitHub's ``$GITHUB_STEP_SUMMARY``).

Verdict and counts first, then the unexpected results with their failing
step, requirement ids and HTTP exchanges, then one table of every check by
plan, then the provenance. Text from the log is escaped: GitHub renders HTML
in job summaries, and evidence is whatever the server under test sent.
"""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any, Final

from reports.log import (
    MATRIX_SEVERITY,
    MATRIX_VERDICTS,
    OUTCOMES,
    Check,
    MatrixCell,
    RunLog,
    Target,
    TargetRun,
)
from reports.policy import REAL_TIME_NOTE, compare
from reports.summary import (
    Summary,
    case_names,
    failing_steps,
    is_unexpected,
    last_activity,
    summarize,
    variant_text,
)
from reports.text import duration_text, exchange_lines, parts_text, utf8_safe, when, xml_safe

VERDICT_LINE: Final = {
    "failed": "\u274c FAILED",
    "interrupted": "\u26a0\ufe0f INTERRUPTED",
    "passed_with_warnings": "\u2705 PASSED WITH WARNINGS",
    "passed": "\u2705 PASSED",
}
OUTCOME_TEXT: Final = {
    "passed": "\u2713 passed",
    "failed": "\u2717 failed",
    "warning": "! warning",
    "skipped": "\u2013 skipped",
    "not_applicable": "\u2205 not applicable",
    "error": "\u26a0 error",
}
#: HTTP exchanges shown per unexpected check; the HTML report has them all.
MAX_EXCHANGES: Final = 3
#: Unexpected results shown in detail; the rest are counted (index.html has them all).
MAX_UNEXPECTED: Final = 20
#: A checks table longer than this is folded into a <details> block.
MAX_OPEN_TABLE: Final = 60
MATRIX_GLYPHS: Final = {
    "compatible": "\u2713",
    "silently_wrong": "\u2717 silently wrong",
    "refused": "\u2298 refused",
    "failed": "\u2717 failed",
}
FINDING_WORDS: Final = {"error": "\u2717 **Problem:**", "warning": "! **Limit:**", "info": "Note:"}
#: How a measured value compares with the declared one (reports.policy statuses).
POLICY_WORDS: Final = {
    "same": "\u2713 same",
    "differs": "\u2717 **differs**",
    "not_measured": "\u2013 not measured",
    "not_declared": "\u2013 not declared",
}
#: Policy and seed longer than this are cut in the summary (the JSON report has them whole).
MAX_JSON_CHARS: Final = 4000

_MD_SPECIAL: Final = re.compile(r"([\\`*_\[\]|~])")
_PLAIN_CODE: Final = re.compile(r"^[A-Za-z0-9._:/=,+@ \[\]-]+$")


def _md(value: object) -> str:
    """Inline text: HTML and Markdown syntax escaped, one line, safe in a table cell."""
    text = xml_safe(utf8_safe(str(value)))
    text = " ".join(text.split())
    return _MD_SPECIAL.sub(r"\\\1", escape(text, quote=False))


def _code(value: object) -> str:
    """A code span for ids; anything unusual is shown as escaped text instead."""
    text = str(value)
    return f"`{text}`" if _PLAIN_CODE.match(text) else _md(text)


def _fenced(text: str, info: str = "") -> str:
    """A fenced block no content can close early (its fence is longer than any run inside)."""
    text = xml_safe(utf8_safe(text))
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def _reqs(reqs: tuple[str, ...]) -> str:
    return " ".join(_code(r) for r in reqs) or "none"


def _counts_table(summary: Summary) -> list[str]:
    shown = [o for o in OUTCOMES if summary.counts[o] or o in ("passed", "failed")]
    return [
        "| " + " | ".join(OUTCOME_TEXT[o] for o in shown) + " |",
        "|" + "---:|" * len(shown),
        "| " + " | ".join(str(summary.counts[o]) for o in shown) + " |",
    ]


def _headline(log: RunLog, summary: Summary) -> list[str]:
    tool = _md(f"{log.run.tool} {log.run.command}")
    lines = [f"## {VERDICT_LINE[summary.verdict]}: {tool}", ""]
    facts = [f"**{summary.total} checks**"]
    n = len(summary.unexpected)
    facts.append(f"**{n} unexpected result{'s' if n != 1 else ''}**")
    if summary.expected_failures:
        facts.append(f"{len(summary.expected_failures)} expected failure(s) not counted")
    if summary.duration_seconds is not None:
        facts.append(duration_text(summary.duration_seconds))
    if log.several_targets:
        names = ", ".join(_code(t.name) for t in log.targets)
        facts.append(f"{len(log.targets)} targets: {names}")
    else:
        facts.append(f"target {_md(log.run.target.describe())}")
    if log.run.run_id:
        facts.append(f"run {_code(log.run.run_id)}")
    lines += [" \u00b7 ".join(facts), ""]
    if not log.complete:
        lines += [
            f"> **Interrupted run:** {_md(log.path.name)} has no end record; "
            f"{summary.total} checks were recorded, the others never ran or never ended.",
            "",
        ]
    if summary.end_agrees is False:
        lines += ["> The end record disagrees with the check records; the checks are counted.", ""]
    for target in log.targets:
        if target.started is False:
            error = target.description.error if target.description is not None else None
            lines += [
                f"> **Target {_code(target.name)} could not be started:** "
                f"{_md(error or 'no reason recorded')}; its checks are errors.",
                "",
            ]
    return [*lines, *_counts_table(summary), "", *_target_counts(log, summary)]


def _target_counts(log: RunLog, summary: Summary) -> list[str]:
    """Counts by outcome per target, when there are several."""
    if not log.several_targets:
        return []
    shown = [o for o in OUTCOMES if summary.counts[o] or o in ("passed", "failed")]
    lines = [
        "| Target | " + " | ".join(OUTCOME_TEXT[o] for o in shown) + " |",
        "|---|" + "---:|" * len(shown),
    ]
    for name, counts in summary.by_target.items():
        lines.append(f"| {_code(name)} | " + " | ".join(str(counts[o]) for o in shown) + " |")
    return [*lines, ""]


def _cell(check: Check) -> str:
    """A matrix cell: the outcome's sign and word, and whether it was unexpected or expected."""
    text = OUTCOME_TEXT.get(check.outcome, check.outcome)
    if is_unexpected(check):
        return text + " **(unexpected)**"
    return text + (" (expected)" if check.expected is not None else "")


def _target_matrix(log: RunLog, names: list[str]) -> list[str]:
    """Rows: the checks by plan; columns: the targets; cells: each check's outcome there."""
    if not log.several_targets:
        return []
    rows: dict[tuple[str, str], dict[str, Check]] = {}
    for check, name in zip(log.checks, names, strict=True):
        target = log.target_of(check)
        rows.setdefault((check.plan, name.removeprefix(f"{target}::")), {})[target] = check
    order = {plan: i for i, plan in enumerate(log.run.plans)}
    ranked = sorted(rows, key=lambda row: order.get(row[0], len(order)))  # stable: run order
    targets = [t.name for t in log.targets]
    lines = [
        "### Target \u00d7 check matrix",
        "",
        "| Plan | Check | " + " | ".join(_code(t) for t in targets) + " |",
        "|---|---|" + "---|" * len(targets),
    ]
    for plan, check_name in ranked:
        cells = rows[(plan, check_name)]
        shown = [_cell(cells[t]) if t in cells else "not run" for t in targets]
        lines.append(f"| {_md(plan)} | {_code(check_name)} | " + " | ".join(shown) + " |")
    return [*lines, ""]


def _measured_vs_declared(target: TargetRun, several: bool) -> list[str]:
    """A target's measured policy beside its declared one (when its measured record exists)."""
    title = "### Measured vs declared" + (f": {_code(target.name)}" if several else "")
    lines = [title, ""]
    if target.real_time:
        lines += [f"> {_code(target.name)} {REAL_TIME_NOTE}.", ""]
    measurement = target.measured
    if measurement is None:
        if target.started is False:
            return []  # said in the headline; nothing was measured
        why = (
            "the run stopped before this target started"
            if target.started is None
            else "no measured record: the run stopped before this target's checks ended"
        )
        return [*lines, f"Nothing measured: {why}.", ""]
    lines += ["| What | Declared | Measured | |", "|---|---|---|---|"]
    lines += [
        f"| {_md(r.aspect)} | {_md(r.declared)} | {_md(r.measured)} | {POLICY_WORDS[r.status]} |"
        for r in compare(measurement)
    ]
    if measurement.declared is None:
        lines += ["", "The target declares no policy."]
    return [*lines, ""]


def _outcome_words(check: Check) -> str:
    text = OUTCOME_TEXT.get(check.outcome, check.outcome)
    if check.expected is not None:
        expected = check.expected.outcome.replace("_", " ")
        if is_unexpected(check):
            return (
                f"{text}, but the expectations file says **{_md(expected)}**: "
                f"{_md(check.expected.comment)}"
            )
        return f"{text} (expected: {_md(check.expected.comment)})"
    return text + (" **(unexpected)**" if is_unexpected(check) else "")


def _exchanges(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    http = evidence.get("http")
    items = http if isinstance(http, list) else [http] if http is not None else []
    return [x for x in items if isinstance(x, dict)]


def _unexpected(check: Check, name: str) -> list[str]:
    lines = [
        f"#### {_code(name)}: {_md(check.title)}",
        "",
        f"- **Outcome:** {_outcome_words(check)}",
        f"- **Plan:** {_md(check.plan)} \u00b7 **Requirements:** {_reqs(check.all_requirements)}",
    ]
    if check.reason:
        lines.append(f"- **Reason:** {_md(check.reason)}")
    steps = failing_steps(check)
    for step in steps:
        message = f": {_md(step.message)}" if step.message else ""
        lines.append(
            f"- **Step {step.n} {_md(step.outcome)}:** {_md(step.title)} "
            f"({_reqs(step.requirements)}){message}"
        )
    exchanges = [x for step in steps for x in _exchanges(step.evidence)]
    if exchanges:
        shown = exchanges[-MAX_EXCHANGES:]
        more = len(exchanges) - len(shown)
        summary = f"HTTP exchange{'s' if len(shown) > 1 else ''} of the failing step"
        if more:
            summary += f" (the last {len(shown)} of {len(exchanges)}; all are in index.html)"
        text = "\n\n".join("\n".join(exchange_lines(x)) for x in shown)
        lines += ["", f"<details><summary>{summary}</summary>", "", _fenced(text), "", "</details>"]
    return [*lines, ""]


def _checks_table(log: RunLog, names: list[str]) -> list[str]:
    several = log.several_targets
    lines = [
        "### Plans and checks",
        "",
        ("| Target " if several else "") + "| Plan | Check | Outcome | Requirements | Time |",
        ("|---" if several else "") + "|---|---|---|---|---:|",
    ]
    for check, name in zip(log.checks, names, strict=True):
        took = duration_text(check.duration_ms / 1000) if check.duration_ms is not None else ""
        target = log.target_of(check)
        lines.append(
            (f"| {_code(target)} " if several else "")
            + f"| {_md(check.plan)} | {_code(name.removeprefix(f'{target}::'))} | "
            f"{_outcome_words(check)} | {_reqs(check.all_requirements)} | {took} |"
        )
    return [*lines, ""]


def _json_block(value: dict[str, Any]) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    if len(text) > MAX_JSON_CHARS:
        text = text[:MAX_JSON_CHARS] + "\n... (cut; report.json has all of it)"
    return _fenced(text, "json")


def _provenance(log: RunLog) -> list[str]:
    run = log.run
    harness = f"{run.tool} {run.tool_version}"
    if run.git_commit:
        harness += f", commit {run.git_commit}"
        if run.git_dirty:
            harness += " with uncommitted changes"
    elif run.git_commit is None and run.run_id is not None:
        harness += ", git commit unknown"
    if log.end is not None:
        finished = when(log.end.finished_at)
    else:
        last = last_activity(log)
        finished = "not recorded (interrupted)" + (
            f"; last check ended {when(last)}" if last else ""
        )
    if log.several_targets:
        targets = [("Targets", f"{len(log.targets)}, in run order")]
        targets += [(_code(t.name), _md(_target_words(t))) for t in log.targets]
        declared = f"of {_code(log.targets[0].name)}, the first target: " + (
            "below" if run.policy else "none (it declares no policy)"
        )
    else:
        described = log.targets[0].description if log.targets else None
        words = _md(run.target.describe())
        if described is not None and described is not run.target:
            extra = _target_details(described)
            words += f": {_md(extra)}" if extra else ""
        targets = [("Target", words)]
        declared = "below" if run.policy else "none (the target declares no policy)"
    rows = [
        ("Harness", _md(harness)),
        ("Run id", _code(run.run_id) if run.run_id else "not recorded"),
        ("Command", f"{_code(run.command)}, plans {_md(', '.join(run.plans) or 'none')}"),
        *targets,
        ("Variant", _md(variant_text(run.variant) or "none")),
        ("Expectations", _md(run.expectations_file or "none")),
        ("Declared policy", declared),
        ("Seed", "below (passwords redacted)" if run.seed else "not recorded"),
        ("Started", when(run.started_at)),
        ("Finished", _md(finished)),
    ]
    parts = parts_text(run.shard, run.merged_from)
    if parts is not None:
        rows.insert(3, ("Parts", _md(parts)))
    lines = ["### Provenance", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    lines.append("")
    for title, value in (("Declared policy", run.policy), ("Seed", run.seed)):
        if value:
            lines += [
                f"<details><summary>{title}</summary>",
                "",
                _json_block(value),
                "",
                "</details>",
            ]
            lines.append("")
    return lines


def _target_details(target: Target) -> str:
    """Title, capabilities, options and clock of a target, in words."""
    parts = []
    if target.title:
        parts.append(target.title)
    if target.capabilities:
        parts.append("capabilities " + ", ".join(target.capabilities))
    if target.options:
        parts.append("options " + ", ".join(f"{k}={v}" for k, v in target.options.items()))
    if target.clock:
        parts.append("ran in real time" if target.real_time else f"clock {target.clock}")
    return "; ".join(parts)


def _target_words(target: TargetRun) -> str:
    """One target for the provenance table."""
    d = target.description
    if d is None:
        return "not reached: the run stopped before it started"
    if not d.started:
        return f"could not be started: {d.error or 'no reason recorded'}"
    details = _target_details(d)
    return d.describe() + (f": {details}" if details else "")


def _findings(log: RunLog) -> list[str]:
    if not log.findings:
        return []
    lines = ["### Findings", ""]
    for finding in log.findings:
        text = f"- {FINDING_WORDS.get(finding.severity, finding.severity)} {_md(finding.text)}"
        if finding.checks:
            first = ", ".join(_code(c) for c in finding.checks[:3])
            more = f" and {finding.count - 3} more" if finding.count > 3 else ""
            text += f" ({finding.count} case(s): {first}{more})"
        lines.append(text)
    return [*lines, ""]


def _matrix(log: RunLog) -> list[str]:
    """One row per parameter; each value with its verdict (or a count per verdict)."""
    cells: dict[str, dict[str, dict[str, int]]] = {}
    for check in log.checks:
        for m in check.matrix:
            if m.group is not None:
                continue  # in a matrix of its own (_grouped_matrices)
            counts = cells.setdefault(m.parameter, {}).setdefault(m.value, {})
            counts[m.verdict] = counts.get(m.verdict, 0) + 1
    if not cells:
        return []
    lines = ["### Compatibility matrix", "", "| Parameter | Values and verdicts |", "|---|---|"]
    for parameter, values in cells.items():
        shown = []
        for value, counts in values.items():
            if len(counts) == 1:
                verdict = MATRIX_GLYPHS[next(iter(counts))]
            else:
                verdict = " ".join(
                    f"{MATRIX_GLYPHS[v]}\u00d7{n}"
                    for v, n in sorted(counts.items(), key=lambda x: MATRIX_VERDICTS.index(x[0]))
                )
            shown.append(f"{_code(value)} {verdict}")
        joined = " \u00b7 ".join(shown)
        lines.append(f"| {_md(parameter)} | {joined} |")
    return [*lines, ""]


def _grouped_matrices(log: RunLog) -> list[str]:
    """A table per matrix group: one row per cell, most dangerous verdict first."""
    groups: dict[str, list[tuple[MatrixCell, Check]]] = {}
    for check in log.checks:
        for m in check.matrix:
            if m.group is not None:
                groups.setdefault(m.group, []).append((m, check))
    lines: list[str] = []
    for group, rows in groups.items():
        rows.sort(key=lambda r: MATRIX_SEVERITY.index(r[0].verdict))
        lines += [f"### {_md(group)}", "", "| Row | What it tests | Verdict | Outcome |"]
        lines.append("|---|---|---|---|")
        lines += [
            f"| {_code(m.parameter)} | {_md(m.value)} | {MATRIX_GLYPHS[m.verdict]} "
            f"| {check.outcome.replace('_', ' ')} |"
            for m, check in rows
        ]
        lines.append("")
    return lines


def render_markdown(log: RunLog) -> str:
    """The CI job summary of a log, as GitHub-flavoured Markdown."""
    summary = summarize(log)
    names = case_names(log)
    lines = _headline(log, summary)
    lines += _findings(log)
    lines += _matrix(log)
    lines += _grouped_matrices(log)
    lines += _target_matrix(log, names)
    if summary.unexpected:
        lines += ["### Unexpected results", ""]
        shown = 0
        for check, name in zip(log.checks, names, strict=True):
            if is_unexpected(check):
                if shown == MAX_UNEXPECTED:
                    rest = len(summary.unexpected) - shown
                    lines += [f"... and {rest} more unexpected results: see `index.html`.", ""]
                    break
                lines += _unexpected(check, name)
                shown += 1
    for target in log.targets:
        if target.measured is not None or log.several_targets:
            lines += _measured_vs_declared(target, log.several_targets)
    table = _checks_table(log, names)
    if len(log.checks) > MAX_OPEN_TABLE:
        # A long table would bury the provenance: folded, still one click away.
        table = [
            f"<details><summary>All {len(log.checks)} checks</summary>",
            "",
            *table,
            "</details>",
            "",
        ]
    lines += table
    expected = [
        (c, n)
        for c, n in zip(log.checks, names, strict=True)
        if c.expected is not None and not is_unexpected(c)
    ]
    if expected:
        lines += ["### Expected outcomes (from the expectations file)", ""]
        lines += [f"- {_code(n)}: {_outcome_words(c)}" for c, n in expected]
        lines.append("")
    lines += _provenance(log)
    lines.append("Every check's steps, evidence and charts are in `index.html` next to this file.")
    return "\n".join(lines) + "\n"
