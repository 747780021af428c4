"""The JSON report: a CTRF document whose ``extra`` holds the whole log and its summary.

CTRF (Common Test Report Format) is what generic CI tooling reads: the
``results`` block has the tool, the summary counts and one test per check
record. CTRF forbids other keys at its top level and in ``results``, so the
conformance fields (the run's provenance, every check with its steps and
evidence, the computed summary) live in the format's extension point,
``extra``. ``docs/report.schema.json`` describes the whole document.
"""

from __future__ import annotations

import json
import math
import mimetypes
from typing import Any, Final

from reports.log import Check, EndRecord, RunLog, RunRecord, TargetRun
from reports.summary import (
    Summary,
    case_names,
    is_expected_failure,
    is_unexpected,
    last_activity,
    summarize,
)
from reports.text import json_safe

#: Version of the ``extra`` layout (independent of the log's ``format``).
REPORT_FORMAT: Final = 2
#: The CTRF specification version the ``results`` block follows.
CTRF_SPEC_VERSION: Final = "0.0.0"
#: Check outcome → CTRF test status. The outcome itself is kept as ``rawStatus``.
CTRF_STATUS: Final = {
    "passed": "passed",
    "failed": "failed",
    # A harness error proves nothing about the target, but it must not look green.
    "error": "failed",
    "warning": "other",
    "skipped": "skipped",
    "not_applicable": "skipped",
}


def _run(run: RunRecord) -> dict[str, Any]:
    return {
        "format": run.format,
        "run_id": run.run_id,
        "tool": run.tool,
        "tool_version": run.tool_version,
        "git_commit": run.git_commit,
        "git_dirty": run.git_dirty,
        "command": run.command,
        "started_at": run.started_at,
        "target": {
            "kind": run.target.kind,
            "url": run.target.url,
            "harness": run.target.harness,
            "policy_file": run.target.policy_file,
        },
        "policy": run.policy,
        "seed": run.seed,
        "plans": list(run.plans),
        "variant": run.variant,
        "expectations_file": run.expectations_file,
        "targets": list(run.target_names),
    }


def _target(target: TargetRun) -> dict[str, Any]:
    """A target's description (its ``target`` record) and how it ran."""
    d = target.description
    return {
        "name": target.name,
        "started": target.started,
        "error": d.error if d is not None else None,
        "title": d.title if d is not None else None,
        "kind": d.kind if d is not None else None,
        "url": d.url if d is not None else None,
        "harness": d.harness if d is not None else None,
        "capabilities": list(d.capabilities) if d is not None else [],
        "options": d.options if d is not None else {},
        "clock": d.clock if d is not None else None,
        "policy_file": d.policy_file if d is not None else None,
        "real_time": target.real_time,
        "sources": target.measured.sources if target.measured is not None else None,
    }


def _expected(check: Check) -> dict[str, Any] | None:
    if check.expected is None:
        return None
    expected: dict[str, Any] = {
        "outcome": check.expected.outcome,
        "comment": check.expected.comment,
    }
    if check.expected.verdict is not None:
        expected["verdict"] = check.expected.verdict
    return expected


def _check(check: Check, name: str, log: RunLog) -> dict[str, Any]:
    return {
        "id": check.id,
        "name": name,
        "key": log.key(check),
        "target": log.target_of(check),
        "title": check.title,
        "plan": check.plan,
        "variant": check.variant,
        "requirements": list(check.requirements),
        "severity": check.severity,
        "outcome": check.outcome,
        "reason": check.reason,
        "expected": _expected(check),
        "unexpected": is_unexpected(check),
        "expected_failure": is_expected_failure(check),
        "started_at": check.started_at,
        "duration_ms": check.duration_ms,
        "steps": [
            {
                "n": s.n,
                "title": s.title,
                "requirements": list(s.requirements),
                "outcome": s.outcome,
                "message": s.message,
                "on_failure": s.on_failure,
                "evidence": s.evidence,
            }
            for s in check.steps
        ],
        "attachments": [
            {"kind": a.kind, "title": a.title, "path": a.path} for a in check.attachments
        ],
        "charts": [{"kind": c.kind, "title": c.title, "data": c.data} for c in check.charts],
        "matrix": [
            {"parameter": m.parameter, "value": m.value, "verdict": m.verdict}
            | ({"group": m.group} if m.group is not None else {})
            for m in check.matrix
        ],
        "log_line": check.line,
    }


def _end(end: EndRecord | None) -> dict[str, Any] | None:
    if end is None:
        return None
    return {
        "finished_at": end.finished_at,
        "counts": end.counts,
        "unexpected": list(end.unexpected),
        "exit_status": end.exit_status,
    }


def summary_dict(summary: Summary, log: RunLog) -> dict[str, Any]:
    """The summary block of the JSON report."""
    return {
        "verdict": summary.verdict,
        "complete": summary.complete,
        "truncated_tail": log.truncated_tail,
        "total": summary.total,
        "counts": summary.counts,
        "by_plan": summary.by_plan,
        "by_requirement": {
            req: {"checks": list(r.checks), "counts": r.counts}
            for req, r in summary.by_requirement.items()
        },
        "unexpected": list(summary.unexpected),
        "expected_failures": list(summary.expected_failures),
        "duration_seconds": summary.duration_seconds,
        "end_agrees": summary.end_agrees,
        "by_target": summary.by_target,
    }


def _ms(seconds: float) -> int:
    # CTRF wants integer milliseconds; a NaN or infinite time from a broken writer becomes 0.
    return round(seconds * 1000) if math.isfinite(seconds) else 0


def _suite(check: Check, log: RunLog) -> list[str]:
    """The check's CTRF suite: its plan, under its target when there are several."""
    return [log.target_of(check), check.plan] if log.several_targets else [check.plan]


def _ctrf_test(check: Check, name: str, log: RunLog) -> dict[str, Any]:
    duration = max(0, _ms((check.duration_ms or 0.0) / 1000))
    test: dict[str, Any] = {
        "name": name,
        "status": CTRF_STATUS[check.outcome],
        "duration": duration,
    }
    if check.started_at is not None:
        test["start"] = _ms(check.started_at)
        test["stop"] = test["start"] + duration
    test["suite"] = _suite(check, log)
    if check.reason:
        test["message"] = check.reason
    test["rawStatus"] = check.outcome
    test["tags"] = list(check.all_requirements)
    labels: dict[str, Any] = {
        "check": check.id,
        "target": log.target_of(check),
        "plan": check.plan,
        "severity": check.severity,
        "unexpected": is_unexpected(check),
    }
    if check.expected is not None:
        labels["expected"] = check.expected.outcome
        if check.expected.verdict is not None:
            labels["expected_verdict"] = check.expected.verdict
    test["labels"] = labels
    test["type"] = "conformance"
    test["parameters"] = check.variant if check.variant is not None else log.run.variant
    test["steps"] = [
        {"name": f"{s.n}. {s.title}", "status": CTRF_STATUS[s.outcome]} for s in check.steps
    ]
    if check.attachments:
        test["attachments"] = [
            {
                "name": a.title,
                "contentType": mimetypes.guess_type(a.path)[0] or "application/octet-stream",
                "path": a.path,
            }
            for a in check.attachments
        ]
    return test


def _ctrf_results(log: RunLog, summary: Summary, names: list[str]) -> dict[str, Any]:
    statuses = [CTRF_STATUS[c.outcome] for c in log.checks]
    start = _ms(log.run.started_at)
    if log.end is not None:
        stop = _ms(log.end.finished_at)
    else:
        last = last_activity(log)
        stop = _ms(last) if last is not None else start
    stop = max(start, stop)
    if log.several_targets:
        tested = "; ".join(
            t.description.describe() if t.description is not None else f"{t.name} (not reached)"
            for t in log.targets
        )
    else:
        tested = log.run.target.describe()
    environment: dict[str, Any] = {
        "reportName": f"{log.run.tool} {log.run.command}"
        + (f" {log.run.run_id}" if log.run.run_id else ""),
        "testEnvironment": tested,
        "healthy": summary.verdict in ("passed", "passed_with_warnings"),
    }
    if log.run.git_commit:
        environment["commit"] = log.run.git_commit
    return {
        "tool": {"name": log.run.tool, "version": log.run.tool_version},
        "summary": {
            "tests": len(log.checks),
            "passed": statuses.count("passed"),
            "failed": statuses.count("failed"),
            "skipped": statuses.count("skipped"),
            "pending": statuses.count("pending"),
            "other": statuses.count("other"),
            "suites": len({tuple(_suite(c, log)) for c in log.checks}),
            "start": start,
            "stop": stop,
            "duration": stop - start,
        },
        "tests": [_ctrf_test(c, n, log) for c, n in zip(log.checks, names, strict=True)],
        "environment": environment,
    }


def render_json(log: RunLog) -> str:
    """The JSON report: CTRF ``results``, and in ``extra`` the report, run, checks, end, summary.

    Keys come in a fixed order and the output depends only on the log, so two
    renderings of one log are byte-identical.
    """
    summary = summarize(log)
    names = case_names(log)
    measured = [t for t in log.targets if t.measured is not None]
    extra: dict[str, Any] = {
        "report": {"format": REPORT_FORMAT, "log": log.path.name},
        "run": _run(log.run),
        "targets": [_target(t) for t in log.targets],
        # Keyed by target name, as logged; a target without a measured record has no key.
        "measured": {t.name: t.measured.measured for t in measured if t.measured is not None},
        "declared": {t.name: t.measured.declared for t in measured if t.measured is not None},
        "checks": [_check(c, n, log) for c, n in zip(log.checks, names, strict=True)],
        "end": _end(log.end),
        "summary": summary_dict(summary, log),
    }
    if log.findings:
        # Only logs that have findings (check-authenticator) carry the key.
        extra["findings"] = [
            {"severity": f.severity, "text": f.text, "checks": list(f.checks), "count": f.count}
            for f in log.findings
        ]
    document = {
        "reportFormat": "CTRF",
        "specVersion": CTRF_SPEC_VERSION,
        "generatedBy": f"{log.run.tool} {log.run.tool_version}",
        "results": _ctrf_results(log, summary, names),
        "extra": extra,
    }
    return json.dumps(json_safe(document), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
