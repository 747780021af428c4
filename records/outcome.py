"""The outcome of a check, a step or a case: one enum for every producer and reader."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class Outcome(StrEnum):
    """How a check (or one of its steps) came out, as the result log spells it."""

    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    SKIPPED = "skipped"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"


def unexpected(outcome: str, expected: Sequence[str] | None) -> bool:
    """The rule of docs/result-log.md: with expectations, an outcome they do not list (an
    expected failure that passed is unexpected too, so they cannot go stale quietly);
    without, a failure or an error."""
    if expected is not None:
        return outcome not in expected
    return outcome in (Outcome.FAILED, Outcome.ERROR)
