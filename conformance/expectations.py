"""Expectations files: the known outcomes of a run, each with a comment saying why.

One file format, one reader and one ``Expectation`` for every runner: ``twofa run``,
``replay`` and the pytest plugin (entries name a check id, optionally for one target)
and ``check-authenticator`` (entries may be a glob over case ids and may name a
matrix ``verdict``). A YAML list of mappings; the comment is mandatory (an expected
failure nobody can explain is a bug); an entry that names nothing of the run is
refused (a typo would hide a failure); every problem is one line naming the file and
the entry (``ExpectationsError``), which the commands turn into exit 2.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from records import Outcome

#: The outcome each ``check-authenticator`` verdict is logged with.
VERDICT_OUTCOMES: Final = {
    "compatible": "passed",
    "silently_wrong": "failed",
    "refused": "failed",
    "failed": "failed",
}
OUTCOMES: Final = tuple(o.value for o in Outcome)
#: The fields of an entry, per kind of file.
RUN_FIELDS: Final = ("check", "outcome", "comment", "target")
VENDOR_FIELDS: Final = ("check", "verdict", "outcome", "comment")


class ExpectationsError(ValueError):
    """Raised for an expectations file that cannot be used; one line naming file and entry."""


@dataclass(frozen=True)
class Expectation:
    """One entry: which check (or cases), the outcome it is known to have, and why."""

    #: A check id; for ``check-authenticator`` a case id or a glob over case ids.
    check_id: str
    outcome: str
    comment: str
    #: The target it is about (``twofa targets`` names), or None for every target.
    target: str | None = None
    #: Every outcome that is expected (a race a peer loses now and then: passed or failed);
    #: ``outcome`` is the first of them.
    outcomes: tuple[str, ...] = ()
    #: The ``check-authenticator`` verdict it names (``refused``, ``silently_wrong`` ...).
    verdict: str | None = None

    @property
    def accepted(self) -> tuple[str, ...]:
        return self.outcomes or (self.outcome,)

    def logged_outcome(self, actual: str) -> str:
        """The outcome the log records as expected: the one that happened, if listed."""
        return actual if actual in self.accepted else self.outcome

    def matches(self, verdict: str, outcome: str) -> bool:
        """Whether a case's verdict and outcome are what this entry expects."""
        if self.verdict is not None:
            return verdict == self.verdict
        return outcome in self.accepted

    def covers(self, case_id: str) -> bool:
        """Whether this entry names ``case_id`` (the id itself, or a glob over ids)."""
        return covers(self.check_id, case_id)


def covers(pattern: str, case_id: str) -> bool:
    """Whether ``pattern`` (a case id, or a glob over case ids) names ``case_id``."""
    return pattern == case_id or fnmatch.fnmatchcase(case_id, pattern)


def expectation_key(target: str | None, check_id: str) -> str:
    """Where an expectation is filed: ``TARGET::CHECK`` for one target, ``CHECK`` for all."""
    return f"{target}::{check_id}" if target else check_id


def expectation_for(
    expectations: dict[str, Expectation], target: str, check_id: str
) -> Expectation | None:
    """The expectation about ``check_id`` on ``target``: its own entry first, else a general one."""
    return expectations.get(expectation_key(target, check_id)) or expectations.get(check_id)


@dataclass(frozen=True)
class VendorExpectations:
    """The entries of a ``check-authenticator`` file; the first that covers a case applies."""

    entries: tuple[Expectation, ...]

    def __call__(self, case_id: str) -> Expectation | None:
        return next((e for e in self.entries if e.covers(case_id)), None)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


@dataclass(frozen=True)
class _Dialect:
    """What differs between a run's file and a vendor's: fields, words, how ids match."""

    fields: tuple[str, ...]
    mapping_words: str
    list_example: str
    check_needed: str
    #: Why an entry names nothing of this run.
    unknown_check: str
    #: Whether a ``check`` names something of this run; None: every id is accepted.
    covers: Callable[[str], bool] | None


def _entries(path: Path, dialect: _Dialect) -> list[tuple[int, str, str, dict[str, Any]]]:
    """The file's entries as (number, where, check, entry), after the checks every file
    shares."""
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
        return []
    if not isinstance(document, list):
        raise ExpectationsError(f"{path}: expected a list of entries ({dialect.list_example})")
    found = []
    for index, entry in enumerate(document, 1):
        where = f"{path} entry {index}"
        if not isinstance(entry, dict):
            raise ExpectationsError(f"{where}: expected a mapping with {dialect.mapping_words}")
        check = entry.get("check")
        if not isinstance(check, str) or not check.strip():
            raise ExpectationsError(f"{where}: {dialect.check_needed}")
        where += f" ({_one_line(check)})"
        unknown = [str(k) for k in entry if k not in dialect.fields]
        if unknown:
            raise ExpectationsError(
                f"{where}: unknown field {_one_line(', '.join(unknown))!r} "
                f"(fields: {', '.join(dialect.fields)})"
            )
        if dialect.covers is not None and not dialect.covers(check):
            raise ExpectationsError(f"{where}: {dialect.unknown_check}")
        found.append((index, where, check, entry))
    return found


def _comment(where: str, entry: dict[str, Any]) -> str:
    comment = entry.get("comment")
    if not isinstance(comment, str) or not comment.strip():
        raise ExpectationsError(f"{where}: needs a comment saying why this outcome is expected")
    return comment.strip()


def load_expectations(
    path: Path, known_checks: Collection[str] | None = None
) -> dict[str, Expectation]:
    """Read a run's expectations file: ``{check, outcome, comment[, target]}`` entries.

    ``outcome`` defaults to ``failed``; a list of outcomes expects any of them (a race
    a peer loses now and then). ``target`` narrows an entry to one target (a name
    ``twofa targets`` lists, a URL): a team records there what it has chosen to accept
    of a peer. With ``known_checks``, an entry for a check that does not exist is
    refused. Answers the entries by ``expectation_key``.
    """
    dialect = _Dialect(
        fields=RUN_FIELDS,
        mapping_words="check, outcome and comment",
        list_example="- check: ID, outcome: failed, comment: why",
        check_needed="needs a 'check' id (see 'twofa run --list')",
        unknown_check="no such check (see 'twofa run --list')",
        covers=None if known_checks is None else known_checks.__contains__,
    )
    found: dict[str, Expectation] = {}
    first_entry: dict[str, int] = {}
    for index, where, check_id, entry in _entries(path, dialect):
        target = entry.get("target")
        if target is not None and (not isinstance(target, str) or not target.strip()):
            raise ExpectationsError(f"{where}: 'target' must be a target's name")
        key = expectation_key(target, check_id)
        if key in first_entry:
            raise ExpectationsError(f"{where}: listed twice (first in entry {first_entry[key]})")
        comment = _comment(where, entry)
        given = entry.get("outcome", "failed")
        listed = given if isinstance(given, list) and given else [given]
        for outcome in listed:
            if outcome not in OUTCOMES:
                raise ExpectationsError(
                    f"{where}: unknown outcome {_one_line(outcome)!r} (one of {', '.join(OUTCOMES)}"
                    ", or a list of them)"
                )
        first_entry[key] = index
        found[key] = Expectation(check_id, listed[0], comment, target, tuple(dict.fromkeys(listed)))
    return found


def load_vendor_expectations(path: Path, case_ids: Collection[str]) -> VendorExpectations:
    """Read a ``check-authenticator`` expectations file: ``{check, verdict|outcome, comment}``.

    ``check`` may be a glob over case ids (``alg-SHA512.*``); ``verdict`` names the
    verdict where ``outcome`` alone could not tell a refusal from a wrong code. An entry
    that covers none of ``case_ids`` is refused.
    """
    dialect = _Dialect(
        fields=VENDOR_FIELDS,
        mapping_words="check, verdict and comment",
        list_example="- check: CASE-ID, verdict: refused, comment: why",
        check_needed="needs a 'check': a case id or a glob over case ids",
        unknown_check="matches no case of this run",
        covers=lambda pattern: any(covers(pattern, c) for c in case_ids),
    )
    entries: list[Expectation] = []
    first_entry: dict[str, int] = {}
    for index, where, pattern, entry in _entries(path, dialect):
        if pattern in first_entry:
            raise ExpectationsError(
                f"{where}: listed twice (first in entry {first_entry[pattern]})"
            )
        comment = _comment(where, entry)
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
        entries.append(Expectation(pattern, outcome, comment, verdict=verdict))
    return VendorExpectations(tuple(entries))
