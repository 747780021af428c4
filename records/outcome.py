"""The outcome of a check, a step or a case: one enum for every producer and reader."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """How a check (or one of its steps) came out, as the result log spells it."""

    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    SKIPPED = "skipped"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"
