"""The streaming result log (``results.jsonl``, docs/result-log.md) and its writer."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import Counter
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal, TypedDict

from conformance.checks import CheckResult
from conformance.expectations import Expectation
from records import Outcome, RecordFile, model, unexpected


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


class Provenance(TypedDict):
    """What every command's run record starts with: which harness ran, when."""

    format: Literal[1]
    run_id: str | None
    tool: str
    tool_version: str
    git_commit: str | None
    git_dirty: bool | None
    command: str
    started_at: float


def provenance(command: str, run_id: str | None) -> Provenance:
    """This harness's version and commit, the command and the start time, for
    ``model.RunRecord(**provenance(...), ...)`` (the rest of the record stays typed)."""
    commit, dirty = harness_commit()
    return Provenance(
        format=model.FORMAT,
        run_id=run_id,
        tool="twofa-harness",
        tool_version=version("twofa-harness"),
        git_commit=commit,
        git_dirty=dirty,
        command=command,
        started_at=time.time(),
    )


def is_unexpected(result: CheckResult, expected: Expectation | None) -> bool:
    """A failure nobody expected, or an expected outcome that did not happen."""
    return unexpected(result.outcome.value, expected.accepted if expected else None)


class ResultLog:
    """Writes the run, check and end records, flushing each line as it goes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = RecordFile(path)
        self.counts: Counter[str] = Counter()
        self.unexpected: list[str] = []
        #: More than one target: checks are named ``TARGET::CHECK`` in ``unexpected``.
        self.several_targets = False

    def _write(self, record: model.Record) -> None:
        self._file.write(record)

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
        # One target named by ``target`` alone (replay, check-authenticator): no ``targets``.
        self.several_targets = targets is not None and len(targets) > 1
        self._write(
            model.RunRecord(
                **provenance(command, run_id),
                target=model.TargetInfo.model_validate(target),
                targets=(
                    None
                    if targets is None
                    else tuple(model.TargetName.model_validate(t) for t in targets)
                ),
                policy=policy,
                seed=seed,
                plans=tuple(plans),
                variant=variant,
                expectations_file=expectations_file,
                shard=shard,
            )
        )

    def target(self, described: dict[str, Any], started_at: float) -> None:
        """A target started (or could not be): its description, before its checks.

        ``started_at`` is when its start began (so its time includes starting it).
        """
        self._write(model.TargetRecord.model_validate({**described, "started_at": started_at}))

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
            model.MeasuredRecord(
                target=target,
                real_time=real_time,
                declared=declared,
                sources=sources,
                measured=measured,
            )
        )

    def check(self, result: CheckResult, expected: Expectation | None) -> None:
        spec = result.check
        self.counts[result.outcome.value] += 1
        if is_unexpected(result, expected):
            key = f"{result.target}::{spec.id}" if self.several_targets else spec.id
            self.unexpected.append(key)
        self._write(
            model.CheckRecord(
                target=result.target or None,
                id=spec.id,
                title=spec.title,
                plan=spec.plan,
                requirements=spec.requirements,
                severity=spec.severity,
                needs=tuple(sorted(c.value for c in spec.needs)),
                outcome=result.outcome,
                reason=result.reason,
                expected=(
                    model.Expected(
                        outcome=Outcome(expected.logged_outcome(result.outcome.value)),
                        outcomes=tuple(Outcome(o) for o in expected.accepted),
                        comment=expected.comment,
                    )
                    if expected
                    else None
                ),
                started_at=result.started_at,
                duration_ms=round(result.duration_ms, 1),
                steps=tuple(step.record() for step in result.steps),
                attachments=tuple(model.Attachment.model_validate(a) for a in result.attachments),
                charts=tuple(model.Chart.model_validate(c) for c in result.charts),
            )
        )

    def end(self) -> int:
        exit_status = 1 if self.unexpected else 0
        self._write(
            model.EndRecord(
                finished_at=time.time(),
                counts={o.value: self.counts.get(o.value, 0) for o in Outcome},
                unexpected=tuple(self.unexpected),
                exit_status=exit_status,
            )
        )
        self._file.close()
        return exit_status

    def close(self) -> None:
        """Close the log without an end record (an interrupted run)."""
        self._file.close()
