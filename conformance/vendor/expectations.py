"""Expectations for ``check-authenticator``: known verdicts, each with a comment.

The file is the one ``twofa run`` reads (a YAML list, a mandatory comment on
each entry, an expected outcome that does not happen is unexpected, a bad
file is one line and exit 2), with two additions for vendors: ``check`` may
be a glob over case ids (``alg-SHA512.*``), and ``verdict`` names the verdict
(``refused``, ``silently_wrong``, ``failed``, ``compatible``) where
``outcome`` alone could not tell a refusal from a wrong code.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml

from conformance.results import ExpectationsError

VERDICT_OUTCOMES: Final = {
    "compatible": "passed",
    "silently_wrong": "failed",
    "refused": "failed",
    "failed": "failed",
}
OUTCOMES: Final = ("passed", "failed", "warning", "skipped", "not_applicable", "error")
FIELDS: Final = ("check", "verdict", "outcome", "comment")


@dataclass(frozen=True)
class VendorExpectation:
    """One entry: which cases, the verdict or outcome they are known to have, and why."""

    pattern: str
    outcome: str
    comment: str
    verdict: str | None = None

    def matches(self, verdict: str, outcome: str) -> bool:
        if self.verdict is not None:
            return verdict == self.verdict
        return outcome == self.outcome


@dataclass(frozen=True)
class VendorExpectations:
    """The entries of a file; the first entry whose pattern matches a case id applies."""

    entries: tuple[VendorExpectation, ...]

    def __call__(self, case_id: str) -> VendorExpectation | None:
        for entry in self.entries:
            if entry.pattern == case_id or fnmatch.fnmatchcase(case_id, entry.pattern):
                return entry
        return None


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def load_vendor_expectations(path: Path, case_ids: Collection[str]) -> VendorExpectations:
    """Read an expectations file; ``ExpectationsError`` (one line) for anything unusable.

    An entry that matches none of ``case_ids`` is refused: a typo would
    otherwise hide a failure.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExpectationsError(f"{path}: no such expectations file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ExpectationsError(f"{path}: cannot read: {_one_line(reason)}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ExpectationsError(f"{path}{where}: not valid YAML: {_one_line(problem)}") from None
    if document is None:
        return VendorExpectations(())
    if not isinstance(document, list):
        raise ExpectationsError(
            f"{path}: expected a list of entries (- check: CASE-ID, verdict: refused, comment: why)"
        )
    entries: list[VendorExpectation] = []
    first_entry: dict[str, int] = {}
    for index, entry in enumerate(document, 1):
        where = f"{path} entry {index}"
        if not isinstance(entry, dict):
            raise ExpectationsError(f"{where}: expected a mapping with check, verdict and comment")
        pattern = entry.get("check")
        if not isinstance(pattern, str) or not pattern.strip():
            raise ExpectationsError(f"{where}: needs a 'check': a case id or a glob over case ids")
        where += f" ({_one_line(pattern)})"
        unknown = [str(k) for k in entry if k not in FIELDS]
        if unknown:
            raise ExpectationsError(
                f"{where}: unknown field {_one_line(', '.join(unknown))!r} "
                f"(fields: {', '.join(FIELDS)})"
            )
        if not any(p == pattern or fnmatch.fnmatchcase(p, pattern) for p in case_ids):
            raise ExpectationsError(f"{where}: matches no case of this run")
        if pattern in first_entry:
            raise ExpectationsError(
                f"{where}: listed twice (first in entry {first_entry[pattern]})"
            )
        comment = entry.get("comment")
        if not isinstance(comment, str) or not comment.strip():
            raise ExpectationsError(f"{where}: needs a comment saying why this outcome is expected")
        verdict = entry.get("verdict")
        if verdict is not None and verdict not in VERDICT_OUTCOMES:
            raise ExpectationsError(
                f"{where}: unknown verdict {_one_line(verdict)!r} "
                f"(one of {', '.join(VERDICT_OUTCOMES)})"
            )
        outcome = entry.get("outcome", VERDICT_OUTCOMES[verdict] if verdict else "failed")
        if outcome not in OUTCOMES:
            raise ExpectationsError(
                f"{where}: unknown outcome {_one_line(outcome)!r} (one of {', '.join(OUTCOMES)})"
            )
        if verdict is not None and outcome != VERDICT_OUTCOMES[verdict]:
            raise ExpectationsError(
                f"{where}: verdict {verdict} means outcome {VERDICT_OUTCOMES[verdict]}, "
                f"not {outcome}"
            )
        first_entry[pattern] = index
        entries.append(VendorExpectation(pattern, outcome, comment.strip(), verdict))
    return VendorExpectations(tuple(entries))
