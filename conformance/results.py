"""The streaming result log (``results.jsonl``, docs/result-log.md) and expectations."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any

import yaml

from conformance.checks import CheckResult, Outcome

FORMAT = 1


class ExpectationsError(ValueError):
    """Raised for an expectations file that cannot be used (with file and entry)."""


@dataclass(frozen=True)
class Expectation:
    check_id: str
    outcome: str
    comment: str


def load_expectations(path: Path) -> dict[str, Expectation]:
    """Read an expected-failures file: ``- check: ID / outcome: failed / comment: why``.

    The comment is mandatory: an expected failure nobody can explain is a bug.
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError) as exc:
        raise ExpectationsError(f"{path}: cannot read: {exc}") from None
    if not isinstance(document, list):
        raise ExpectationsError(f"{path}: expected a list of entries")
    found: dict[str, Expectation] = {}
    for index, entry in enumerate(document, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("check"), str):
            raise ExpectationsError(f"{path}: entry {index} needs a 'check' id")
        comment = entry.get("comment")
        if not isinstance(comment, str) or not comment.strip():
            raise ExpectationsError(f"{path}: entry {index} ({entry['check']}) needs a comment")
        outcome = entry.get("outcome", "failed")
        if outcome not in {o.value for o in Outcome}:
            raise ExpectationsError(f"{path}: entry {index}: unknown outcome {outcome!r}")
        found[entry["check"]] = Expectation(entry["check"], outcome, comment.strip())
    return found


def is_unexpected(result: CheckResult, expected: Expectation | None) -> bool:
    """A failure nobody expected, or an expected outcome that did not happen."""
    if expected is not None:
        return result.outcome.value != expected.outcome
    return result.outcome in (Outcome.FAILED, Outcome.ERROR)


class ResultLog:
    """Writes the run, check and end records, flushing each line as it goes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[str] = path.open("w", encoding="utf-8")
        self.counts: Counter[str] = Counter()
        self.unexpected: list[str] = []

    def _write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, default=str) + "\n")
        self._file.flush()

    def start(
        self,
        *,
        command: str,
        target: dict[str, Any],
        plans: list[str],
        variant: dict[str, Any],
        expectations_file: str | None,
    ) -> None:
        self._write(
            {
                "record": "run",
                "format": FORMAT,
                "tool": "twofa-harness",
                "tool_version": version("twofa-harness"),
                "command": command,
                "started_at": time.time(),
                "target": target,
                "plans": plans,
                "variant": variant,
                "expectations_file": expectations_file,
            }
        )

    def check(self, result: CheckResult, expected: Expectation | None) -> None:
        spec = result.check
        self.counts[result.outcome.value] += 1
        if is_unexpected(result, expected):
            self.unexpected.append(spec.id)
        self._write(
            {
                "record": "check",
                "id": spec.id,
                "title": spec.title,
                "plan": spec.plan,
                "requirements": list(spec.requirements),
                "severity": spec.severity,
                "outcome": result.outcome.value,
                "reason": result.reason,
                "expected": (
                    {"outcome": expected.outcome, "comment": expected.comment} if expected else None
                ),
                "started_at": result.started_at,
                "duration_ms": round(result.duration_ms, 1),
                "steps": [step.as_dict() for step in result.steps],
                "attachments": result.attachments,
                "charts": result.charts,
            }
        )

    def end(self) -> int:
        exit_status = 1 if self.unexpected else 0
        self._write(
            {
                "record": "end",
                "finished_at": time.time(),
                "counts": {o.value: self.counts.get(o.value, 0) for o in Outcome},
                "unexpected": self.unexpected,
                "exit_status": exit_status,
            }
        )
        self._file.close()
        return exit_status
