"""The streaming result log (``results.jsonl``, docs/result-log.md) and expectations."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any, Final

import yaml

from conformance.checks import CheckResult
from records import Outcome, redact

FORMAT = 1


class ExpectationsError(ValueError):
    """Raised for an expectations file that cannot be used; one line naming file and entry."""


@dataclass(frozen=True)
class Expectation:
    check_id: str
    outcome: str
    comment: str
    #: The target it is about (``twofa targets`` names), or None for every target.
    target: str | None = None
    #: Every outcome that is expected (a race a peer loses now and then: passed or failed);
    #: ``outcome`` is the first of them.
    outcomes: tuple[str, ...] = ()

    @property
    def accepted(self) -> tuple[str, ...]:
        return self.outcomes or (self.outcome,)

    def logged_outcome(self, actual: str) -> str:
        """The outcome the log records as expected: the one that happened, if listed."""
        return actual if actual in self.accepted else self.outcome


#: The fields of one expectations entry.
EXPECTATION_FIELDS: Final = ("check", "outcome", "comment", "target")


def expectation_key(target: str | None, check_id: str) -> str:
    """Where an expectation is filed: ``TARGET::CHECK`` for one target, ``CHECK`` for all."""
    return f"{target}::{check_id}" if target else check_id


def expectation_for(
    expectations: dict[str, Expectation], target: str, check_id: str
) -> Expectation | None:
    """The expectation about ``check_id`` on ``target``: its own entry first, else a general one."""
    return expectations.get(expectation_key(target, check_id)) or expectations.get(check_id)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def load_expectations(
    path: Path, known_checks: Collection[str] | None = None
) -> dict[str, Expectation]:
    """Read an expectations file: a YAML list of ``{check, outcome, comment[, target]}`` entries.

    ``outcome`` defaults to ``failed``; a list of outcomes expects any of them
    (a race a peer loses now and then). ``target`` narrows an entry to one target
    (a name ``twofa targets`` lists, a URL): a team records there what it has
    chosen to accept of a peer. The comment is mandatory: an expected
    failure nobody can explain is a bug. With ``known_checks``, an entry for a
    check that does not exist is refused (a typo would otherwise hide a
    failure). Every problem is one line naming the file and the entry.
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
        return {}
    if not isinstance(document, list):
        raise ExpectationsError(
            f"{path}: expected a list of entries (- check: ID, outcome: failed, comment: why)"
        )
    outcomes = [o.value for o in Outcome]
    found: dict[str, Expectation] = {}
    first_entry: dict[str, int] = {}
    for index, entry in enumerate(document, 1):
        where = f"{path} entry {index}"
        if not isinstance(entry, dict):
            raise ExpectationsError(f"{where}: expected a mapping with check, outcome and comment")
        check_id = entry.get("check")
        if not isinstance(check_id, str) or not check_id.strip():
            raise ExpectationsError(f"{where}: needs a 'check' id (see 'twofa run --list')")
        where += f" ({_one_line(check_id)})"
        unknown = [str(k) for k in entry if k not in EXPECTATION_FIELDS]
        if unknown:
            raise ExpectationsError(
                f"{where}: unknown field {_one_line(', '.join(unknown))!r} "
                f"(fields: {', '.join(EXPECTATION_FIELDS)})"
            )
        if known_checks is not None and check_id not in known_checks:
            raise ExpectationsError(f"{where}: no such check (see 'twofa run --list')")
        target = entry.get("target")
        if target is not None and (not isinstance(target, str) or not target.strip()):
            raise ExpectationsError(f"{where}: 'target' must be a target's name")
        key = expectation_key(target, check_id)
        if key in first_entry:
            raise ExpectationsError(f"{where}: listed twice (first in entry {first_entry[key]})")
        comment = entry.get("comment")
        if not isinstance(comment, str) or not comment.strip():
            raise ExpectationsError(f"{where}: needs a comment saying why this outcome is expected")
        given = entry.get("outcome", "failed")
        listed = given if isinstance(given, list) and given else [given]
        for outcome in listed:
            if outcome not in outcomes:
                raise ExpectationsError(
                    f"{where}: unknown outcome {_one_line(outcome)!r} (one of {', '.join(outcomes)}"
                    ", or a list of them)"
                )
        first_entry[key] = index
        found[key] = Expectation(
            check_id, listed[0], comment.strip(), target, tuple(dict.fromkeys(listed))
        )
    return found


def harness_commit() -> tuple[str | None, bool | None]:
    """The git commit of the harness checkout and whether it has uncommitted changes.

    ``(None, None)`` when the harness is not a git checkout (an installed
    wheel), git is missing, or git refuses; this never fails a run.
    """
    root = Path(__file__).resolve().parents[1]
    git = shutil.which("git")
    if git is None:
        return None, None
    # A GIT_DIR from the caller's environment would describe some other repository.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}

    def git_out(*args: str) -> str | None:
        try:
            done = subprocess.run(  # noqa: S603 - git from PATH, fixed arguments
                [git, "-C", str(root), *args],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
                env=env,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    top_and_head = git_out("rev-parse", "--show-toplevel", "HEAD")
    if top_and_head is None:
        return None, None
    parts = top_and_head.split("\n")
    # Only the harness's own checkout counts, not a repository that merely contains it.
    if len(parts) < 2 or Path(parts[0]).resolve() != root or not parts[1].strip():
        return None, None
    status = git_out("status", "--porcelain", "--untracked-files=no")
    return parts[1].strip(), (None if status is None else bool(status.strip()))


def is_unexpected(result: CheckResult, expected: Expectation | None) -> bool:
    """A failure nobody expected, or an expected outcome that did not happen."""
    if expected is not None:
        return result.outcome.value not in expected.accepted
    return result.outcome in (Outcome.FAILED, Outcome.ERROR)


class ResultLog:
    """Writes the run, check and end records, flushing each line as it goes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[str] = path.open("w", encoding="utf-8")
        self.counts: Counter[str] = Counter()
        self.unexpected: list[str] = []
        #: More than one target: checks are named ``TARGET::CHECK`` in ``unexpected``.
        self.several_targets = False

    def _write(self, record: dict[str, Any]) -> None:
        # The one redaction, on the whole record: evidence a check handed its steps too.
        self._file.write(json.dumps(redact(record), default=str) + "\n")
        self._file.flush()

    def start(
        self,
        *,
        command: str,
        target: dict[str, Any],
        plans: list[str],
        variant: dict[str, Any],
        expectations_file: str | None,
        run_id: str | None = None,
        policy: dict[str, Any] | None = None,
        seed: dict[str, Any] | None = None,
        targets: list[dict[str, Any]] | None = None,
        shard: dict[str, Any] | None = None,
    ) -> None:
        """Write the run record: what ran, against what, from which harness (provenance)."""
        commit, dirty = harness_commit()
        # One target named by ``target`` alone (replay, check-authenticator): no ``targets``.
        self.several_targets = targets is not None and len(targets) > 1
        self._write(
            {
                "record": "run",
                "format": FORMAT,
                "run_id": run_id,
                "tool": "twofa-harness",
                "tool_version": version("twofa-harness"),
                "git_commit": commit,
                "git_dirty": dirty,
                "command": command,
                "started_at": time.time(),
                "target": target,
                **({"targets": targets} if targets is not None else {}),
                "policy": policy,
                "seed": seed,
                "plans": plans,
                "variant": variant,
                "expectations_file": expectations_file,
                **({"shard": shard} if shard is not None else {}),
            }
        )

    def target(self, described: dict[str, Any], started_at: float) -> None:
        """A target started (or could not be): its description, before its checks.

        ``started_at`` is when its start began (so its time includes starting it).
        """
        self._write({"record": "target", **described, "started_at": started_at})

    def measured(
        self,
        target: str,
        *,
        declared: dict[str, Any] | None,
        sources: dict[str, str],
        measured: dict[str, Any] | None,
        real_time: bool,
    ) -> None:
        """What the target's configuration declares beside what its checks measured."""
        self._write(
            {
                "record": "measured",
                "target": target,
                "real_time": real_time,
                "declared": declared,
                "sources": sources,
                "measured": measured,
            }
        )

    def check(self, result: CheckResult, expected: Expectation | None) -> None:
        spec = result.check
        self.counts[result.outcome.value] += 1
        if is_unexpected(result, expected):
            key = f"{result.target}::{spec.id}" if self.several_targets else spec.id
            self.unexpected.append(key)
        self._write(
            {
                "record": "check",
                "target": result.target or None,
                "id": spec.id,
                "title": spec.title,
                "plan": spec.plan,
                "requirements": list(spec.requirements),
                "severity": spec.severity,
                "needs": sorted(c.value for c in spec.needs),
                "outcome": result.outcome.value,
                "reason": result.reason,
                "expected": (
                    {
                        "outcome": expected.logged_outcome(result.outcome.value),
                        "outcomes": list(expected.accepted),
                        "comment": expected.comment,
                    }
                    if expected
                    else None
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

    def close(self) -> None:
        """Close the log without an end record (an interrupted run)."""
        self._file.close()
