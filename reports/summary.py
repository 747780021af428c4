"""What a run amounts to: counts, the unexpected results, the verdict.

Every renderer takes its figures from here, so the JSON, JUnit and HTML
reports of one log never disagree. The figures are computed from the check
records; the ``end`` record's own counts are compared, not trusted, so a
writer bug shows up in the report instead of hiding in it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from records import Outcome, unexpected
from reports.log import OUTCOMES, Check, RunLog, Step

#: Verdicts, worst first.
VERDICTS: Final = ("failed", "interrupted", "passed_with_warnings", "passed")


def is_unexpected(check: Check) -> bool:
    """A failure or error nobody expected, or an expected outcome that did not happen.

    This is the rule of docs/result-log.md ("outcome differs from what was
    expected"): an expected failure that passed, was skipped or ended in an
    error is unexpected too, so the expectations file cannot go stale quietly.
    """
    if check.expected is not None:
        verdict = check.expected.verdict
        if verdict is not None and any(m.verdict != verdict for m in check.matrix):
            return True  # e.g. refused was expected, the codes came back silently wrong
    return unexpected(check.outcome, (check.expected.outcome,) if check.expected else None)


def is_expected_failure(check: Check) -> bool:
    """A check that failed exactly as its expectation said."""
    return (
        check.expected is not None
        and check.outcome == check.expected.outcome == "failed"
        and not is_unexpected(check)
    )


def zero_counts() -> dict[str, int]:
    """A count for every outcome, in report order."""
    return dict.fromkeys(OUTCOMES, 0)


@dataclass(frozen=True)
class RequirementSummary:
    """The checks that speak for one requirement id, and how they ended."""

    checks: tuple[str, ...]
    counts: dict[str, int]


@dataclass(frozen=True)
class Summary:
    """The figures every report shows."""

    total: int
    counts: dict[str, int]
    by_plan: dict[str, dict[str, int]]
    by_requirement: dict[str, RequirementSummary]
    #: Check keys (``RunLog.key``: id, or ``TARGET::id`` with several targets), as in ``end``.
    unexpected: tuple[str, ...]
    expected_failures: tuple[str, ...]
    complete: bool
    verdict: str
    duration_seconds: float | None
    #: None without an end record; else whether its counts and unexpected list match the checks.
    end_agrees: bool | None
    #: Counts by outcome per target, in run order (every target, even one with no checks).
    by_target: dict[str, dict[str, int]]


def _requirement_key(req: str) -> tuple[str, tuple[tuple[int, int, str], ...]]:
    # RFC6238-5.2 and WIN-10 sort as people read them: by prefix, then numerically.
    prefix, _, rest = req.partition("-")
    parts = rest.replace(".", "-").split("-") if rest else []
    return prefix, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def summarize(log: RunLog) -> Summary:
    """Compute the summary of a loaded log."""
    counts = zero_counts()
    by_plan: dict[str, dict[str, int]] = {plan: zero_counts() for plan in log.run.plans}
    by_target: dict[str, dict[str, int]] = {t.name: zero_counts() for t in log.targets}
    req_checks: dict[str, list[str]] = {}
    req_counts: dict[str, dict[str, int]] = {}
    for check in log.checks:
        counts[check.outcome] += 1
        by_plan.setdefault(check.plan, zero_counts())[check.outcome] += 1
        by_target.setdefault(log.target_of(check), zero_counts())[check.outcome] += 1
        for req in check.all_requirements:
            req_checks.setdefault(req, []).append(log.key(check))
            req_counts.setdefault(req, zero_counts())[check.outcome] += 1
    by_requirement = {
        req: RequirementSummary(tuple(req_checks[req]), req_counts[req])
        for req in sorted(req_checks, key=_requirement_key)
    }
    # Keyed as the end record keys them, so the comparison below is like for like.
    unexpected = tuple(log.key(c) for c in log.checks if is_unexpected(c))
    expected_failures = tuple(log.key(c) for c in log.checks if is_expected_failure(c))

    if unexpected:
        verdict = "failed"
    elif not log.complete:
        verdict = "interrupted"
    elif counts["warning"]:
        verdict = "passed_with_warnings"
    else:
        verdict = "passed"

    end = log.end
    duration: float | None = None
    end_agrees: bool | None = None
    if end is not None:
        duration = max(0.0, end.finished_at - log.run.started_at)
        recorded = zero_counts() | end.counts
        end_agrees = recorded == counts and set(end.unexpected) == set(unexpected)
    return Summary(
        total=len(log.checks),
        counts=counts,
        by_plan=by_plan,
        by_requirement=by_requirement,
        unexpected=unexpected,
        expected_failures=expected_failures,
        complete=log.complete,
        verdict=verdict,
        duration_seconds=duration,
        end_agrees=end_agrees,
        by_target=by_target,
    )


def last_activity(log: RunLog) -> float | None:
    """When the last check we know of ended (for interrupted runs)."""
    ends = [
        c.started_at + (c.duration_ms or 0.0) / 1000 for c in log.checks if c.started_at is not None
    ]
    return max(ends, default=None)


def variant_text(variant: Mapping[str, Any]) -> str:
    """``algorithm=SHA1,digits=6``: a variant as one short string."""
    return ",".join(f"{k}={v}" for k, v in variant.items())


def case_names(log: RunLog) -> list[str]:
    """One name per check record, unique within the log (JUnit and CTRF test names).

    The check's key (its id, ``TARGET::id`` with several targets), and when
    the same check ran more than once against a target (one run per variant)
    the key followed by the check's variant: ``id [digits=8]``.
    """
    repeats = Counter(log.key(c) for c in log.checks)
    names: list[str] = []
    used: set[str] = set()
    for index, check in enumerate(log.checks, 1):
        name = log.key(check)
        if repeats[name] > 1:
            name += f" [{variant_text(check.variant or {}) or f'#{index}'}]"
        while name in used:  # the same variant twice: number it
            name += f" #{index}"
        used.add(name)
        names.append(name)
    return names


def failing_steps(check: Check) -> list[Step]:
    """The steps that explain a check's outcome: failed or errored ones, else warnings."""
    bad = [s for s in check.steps if s.outcome in (Outcome.FAILED, Outcome.ERROR)]
    return bad or [s for s in check.steps if s.outcome is Outcome.WARNING]
