"""The JUnit XML report: what CI systems read to pass or fail a pipeline.

JUnit knows pass, failure, error and skipped; the result log knows more. The
mapping is chosen so that a CI job fails only on *unexpected* results:

- ``failed`` → ``<failure>``, unless an expectations file said so: then it is a
  pass with the expectation's comment in ``<system-out>``;
- an expected outcome that did not happen (an expected failure that passed)
  → ``<failure message="expected to fail but passed: ...">``;
- ``error`` (the harness or its configuration is wrong) → ``<error>``;
- ``skipped`` and ``not_applicable`` → ``<skipped>``;
- ``warning`` → a pass, with the reason in ``<system-out>``.

With several targets there is one ``<testsuite>`` per target, and each
case's classname is ``twofa.<target>.<plan>``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from reports.log import Check, RunLog, TargetRun
from reports.summary import case_names, is_unexpected, summarize
from reports.text import xml_safe


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _seconds(check: Check) -> float:
    return max(0.0, (check.duration_ms or 0.0) / 1000)


def _element(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, {k: xml_safe(v) for k, v in attrs.items()})
    if text:
        child.text = xml_safe(text)
    return child


def _failing_steps(check: Check) -> str:
    lines = []
    for step in check.steps:
        if step.outcome in ("failed", "error", "warning"):
            reqs = f" [{', '.join(step.requirements)}]" if step.requirements else ""
            lines.append(f"step {step.n} {step.outcome}: {step.title}{reqs}")
            if step.message:
                lines.append(f"  {step.message}")
            if step.evidence:
                evidence = json.dumps(step.evidence, ensure_ascii=False, default=str)
                lines.append(f"  evidence: {evidence}")
    return "\n".join(lines)


def _testcase(
    suite: ET.Element, check: Check, name: str, target: str | None
) -> tuple[bool, bool, bool]:
    """Add one check; answer whether it counted as (failure, error, skipped).

    ``target`` is the target's name when the run has several (it goes into the classname).
    """
    case = _element(
        suite,
        "testcase",
        classname=f"twofa.{target}.{check.plan}" if target is not None else f"twofa.{check.plan}",
        name=name,
        time=f"{_seconds(check):.3f}",
    )
    props = _element(case, "properties")
    _element(props, "property", name="check", value=check.id)
    if target is not None:
        _element(props, "property", name="target", value=target)
    _element(props, "property", name="title", value=check.title)
    for key, value in (check.variant or {}).items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        _element(props, "property", name=f"variant.{key}", value=text)
    _element(props, "property", name="severity", value=check.severity)
    _element(props, "property", name="outcome", value=check.outcome)
    for req in check.all_requirements:
        _element(props, "property", name="requirement", value=req)
    if check.expected is not None:
        _element(props, "property", name="expected", value=check.expected.outcome)
        if check.expected.verdict is not None:
            _element(props, "property", name="expected-verdict", value=check.expected.verdict)

    expected = check.expected
    note = f"expected {expected.outcome}: {expected.comment}" if expected else ""
    if expected is not None and expected.verdict is not None:
        note = f"expected verdict {expected.verdict}: {expected.comment}"
    reason = check.reason or check.outcome
    outcome = check.outcome
    steps = _failing_steps(check)

    if is_unexpected(check):
        if outcome == "error":
            text = f"{note}\n{steps}".strip()
            _element(case, "error", text, message=reason, type="error")
            return False, True, False
        if expected is not None:
            # The expected outcome did not happen: the expectations file is stale or the
            # target changed; either way a person must look, so CI fails.
            message = f"expected to {_verb(expected.outcome)} but {_past(outcome)}"
            verdicts = sorted({m.verdict for m in check.matrix} - {expected.verdict})
            if expected.verdict is not None and verdicts:
                message = (
                    f"expected {expected.verdict.replace('_', ' ')} but "
                    f"{', '.join(v.replace('_', ' ') for v in verdicts)}"
                )
            text = f"{note}\noutcome {outcome}: {reason}\n{steps}".strip()
            _element(case, "failure", text, message=f"{message}: {expected.comment}", type=outcome)
            return True, False, False
        _element(case, "failure", steps, message=reason, type=outcome)
        return True, False, False

    if outcome in ("skipped", "not_applicable"):
        label = "not applicable" if outcome == "not_applicable" else "skipped"
        _element(case, "skipped", message=f"{label}: {reason}")
        return False, False, True
    out = []
    if expected is not None and outcome != "passed":
        out.append(f"{outcome} as expected (not counted as a failure): {reason}")
        out.append(note)
    elif outcome == "warning":
        out.append(f"warning: {reason}")
    if out and steps:
        out.append(steps)
    if out:
        _element(case, "system-out", "\n".join(out))
    return False, False, False


def _verb(outcome: str) -> str:
    return {"failed": "fail", "passed": "pass", "error": "end in an error"}.get(
        outcome, f"be {outcome.replace('_', ' ')}"
    )


def _past(outcome: str) -> str:
    return {"passed": "passed", "failed": "failed", "error": "ended in an error"}.get(
        outcome, f"was {outcome.replace('_', ' ')}"
    )


def _suite(
    root: ET.Element,
    log: RunLog,
    name: str,
    cases: list[tuple[Check, str]],
    target: TargetRun | None,
) -> list[int]:
    """One ``<testsuite>``; answers its [tests, failures, errors, skipped]."""
    checks = [c for c, _ in cases]
    suite = _element(root, "testsuite", name=name)
    timestamp = _iso(min((c.started_at for c in checks if c.started_at), default=None))
    if timestamp:
        suite.set("timestamp", timestamp)
    props = _element(suite, "properties")
    _element(props, "property", name="tool_version", value=log.run.tool_version)
    if log.run.git_commit:
        _element(props, "property", name="git_commit", value=log.run.git_commit)
    if log.run.run_id:
        _element(props, "property", name="run_id", value=log.run.run_id)
    if target is None:
        _element(props, "property", name="target", value=log.run.target.url or "")
    else:
        _element(props, "property", name="target", value=target.name)
        described = target.description
        if described is not None and described.url:
            _element(props, "property", name="target_url", value=described.url)
        if described is not None and described.title:
            _element(props, "property", name="target_title", value=described.title)
        if target.real_time:
            _element(props, "property", name="real_time", value="true")
    for key, value in log.run.variant.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        _element(props, "property", name=f"variant.{key}", value=text)
    _element(props, "property", name="complete", value=str(log.complete).lower())
    counts = [0, 0, 0]
    target_name = target.name if target is not None else None
    for check, case_name in cases:
        for i, hit in enumerate(_testcase(suite, check, case_name, target_name)):
            counts[i] += hit
    seconds = sum(_seconds(c) for c in checks)
    suite.set("tests", str(len(checks)))
    suite.set("failures", str(counts[0]))
    suite.set("errors", str(counts[1]))
    suite.set("skipped", str(counts[2]))
    suite.set("time", f"{seconds:.3f}")
    return [len(checks), *counts]


def render_junit(log: RunLog) -> str:
    """The JUnit XML report: one ``<testsuite>`` per plan, or per target when there are several."""
    summary = summarize(log)
    named = list(zip(log.checks, case_names(log), strict=True))
    root = ET.Element("testsuites", {"name": xml_safe(f"{log.run.tool} {log.run.command}")})
    totals = [0, 0, 0, 0]
    if log.several_targets:
        for target in log.targets:
            prefix = f"{target.name}::"
            # The classname names the target, so the case names need not repeat it.
            cases = [
                (c, name.removeprefix(prefix))
                for c, name in named
                if log.target_of(c) == target.name
            ]
            if cases:
                counted = _suite(root, log, target.name, cases, target)
                totals = [a + b for a, b in zip(totals, counted, strict=True)]
    else:
        for plan in summary.by_plan:
            cases = [(c, name) for c, name in named if c.plan == plan]
            if cases:
                counted = _suite(root, log, plan, cases, None)
                totals = [a + b for a, b in zip(totals, counted, strict=True)]
    total_time = sum(_seconds(c) for c in log.checks)
    if not log.complete:
        # An interrupted run must not look green: one error case says what happened.
        suite = _element(root, "testsuite", name="run", tests="1", failures="0", errors="1")
        suite.set("skipped", "0")
        suite.set("time", "0.000")
        case = _element(suite, "testcase", classname="twofa.run", name="run-complete", time="0")
        _element(
            case,
            "error",
            f"{log.path.name} has no end record; {len(log.checks)} checks were recorded.",
            message="the run was interrupted: the result log has no end record",
            type="interrupted",
        )
        totals[0] += 1
        totals[2] += 1
    for name, n in zip(("tests", "failures", "errors", "skipped"), totals, strict=True):
        root.set(name, str(n))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
