"""The JSON report: the whole log as one document, with the computed summary."""

from __future__ import annotations

import json
from typing import Any

from reports.log import Check, EndRecord, RunLog, RunRecord
from reports.summary import Summary, is_expected_failure, is_unexpected, summarize
from reports.text import json_safe

#: Version of the JSON report's own layout (independent of the log's ``format``).
REPORT_FORMAT = 1


def _run(run: RunRecord) -> dict[str, Any]:
    return {
        "format": run.format,
        "tool": run.tool,
        "tool_version": run.tool_version,
        "command": run.command,
        "started_at": run.started_at,
        "target": {
            "kind": run.target.kind,
            "url": run.target.url,
            "harness": run.target.harness,
        },
        "plans": list(run.plans),
        "variant": run.variant,
        "expectations_file": run.expectations_file,
    }


def _check(check: Check) -> dict[str, Any]:
    return {
        "id": check.id,
        "title": check.title,
        "plan": check.plan,
        "requirements": list(check.requirements),
        "severity": check.severity,
        "outcome": check.outcome,
        "reason": check.reason,
        "expected": (
            None
            if check.expected is None
            else {"outcome": check.expected.outcome, "comment": check.expected.comment}
        ),
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
            {"parameter": m.parameter, "value": m.value, "verdict": m.verdict} for m in check.matrix
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
    }


def render_json(log: RunLog) -> str:
    """The JSON report: ``report``, ``run``, ``checks``, ``end`` (null if interrupted), ``summary``.

    Keys come in a fixed order and the output depends only on the log, so two
    renderings of one log are byte-identical.
    """
    document = {
        "report": {"format": REPORT_FORMAT, "log": log.path.name},
        "run": _run(log.run),
        "checks": [_check(c) for c in log.checks],
        "end": _end(log.end),
        "summary": summary_dict(summarize(log), log),
    }
    return json.dumps(json_safe(document), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
