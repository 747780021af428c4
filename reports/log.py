"""Reading a result log (``results.jsonl``, docs/result-log.md) into typed records.

The reader is strict about what the format promises (a ``run`` line first,
known outcomes, the fields a report needs) and lenient about what it allows
to grow: unknown fields and unknown record kinds are ignored, evidence and
chart data stay free-form.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, get_args

from pydantic import Field, StrictBool, StrictInt, StrictStr, ValidationError

from records import Outcome, model

#: Check outcomes, in the order every report lists them (the writers' own enum).
OUTCOMES: Final = tuple(o.value for o in Outcome)
#: Step outcomes (a step is never "not applicable": the check is).
STEP_OUTCOMES: Final = tuple(o.value for o in model.STEP_OUTCOMES)
#: Verdicts of a ``matrix`` record (``check-authenticator``).
MATRIX_VERDICTS: Final = get_args(model.Verdict)
#: The same verdicts, most dangerous first: a grouped matrix lists its rows in this order.
MATRIX_SEVERITY: Final = model.VERDICT_SEVERITY
#: Severities of a ``finding`` record, worst first.
FINDING_SEVERITIES: Final = get_args(model.FindingSeverity)


class ResultLogError(ValueError):
    """Raised for a result log that cannot be read; the message names the file and line."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}" if line is None else f"{path} line {line}"
        super().__init__(f"{where}: {problem}")


#: The ``clock`` of a target the harness cannot move: its checks ran in real time.
REAL_TIME_CLOCK: Final = "real time"

# The records as written are the records as read (records/model.py); the classes below
# add only what a reader needs beside them: the line a record came from, defaults for
# logs from before a field, and views of several records.
Step = model.Step
Attachment = model.Attachment
Chart = model.Chart
MatrixCell = model.MatrixCell
#: What an expectations file said about a check (the comment is mandatory).
Expectation = model.Expected
EndRecord = model.EndRecord


class Target(model.TargetInfo):
    """What the run was pointed at: a ``target`` record, or the run record's ``target``."""

    kind: StrictStr = "unknown"
    capabilities: model.Names = ()
    options: model.Object = Field(default_factory=dict)
    #: False for a target that could not be started; ``error`` says why.
    started: StrictBool = True

    @classmethod
    def of(cls, described: model.TargetInfo) -> Target:
        """The view of a target's description (absent fields take their defaults)."""
        return cls.model_validate(described.model_dump(exclude_none=True, exclude={"record"}))

    @property
    def real_time(self) -> bool:
        """Whether the harness could not move this target's clock."""
        return self.clock == REAL_TIME_CLOCK

    def describe(self) -> str:
        """One line for people: name, kind, URL, harness mode, policy file."""
        named = self.name is not None and self.name not in (self.kind, self.url)
        if not self.started:
            return f"{self.name or self.kind} (could not be started)"
        text = (
            (f"{self.name}: " if named else "") + self.kind + (f" {self.url}" if self.url else "")
        )
        if self.harness is not None:
            text += " (harness mode)" if self.harness else " (no harness mode)"
        if self.policy_file:
            text += f", policy file {self.policy_file}"
        if self.real_time:
            text += ", real time"
        return text


class RunRecord(model.RunRecord):
    """The first line: provenance of the run."""

    target: Target
    merged_from: tuple[model.Object, ...] = ()

    @property
    def target_names(self) -> tuple[str, ...]:
        """The names of the run's targets as its ``targets`` field lists them; () in older logs."""
        return tuple(t.name for t in self.targets or ())


class Check(model.CheckRecord):
    """One ``check`` record, and the line of the log it came from."""

    line: StrictInt = 0

    @property
    def all_requirements(self) -> tuple[str, ...]:
        """The check's requirement ids, then any its steps add, without repeats."""
        seen = dict.fromkeys(self.requirements)
        for step in self.steps:
            seen.update(dict.fromkeys(step.requirements))
        return tuple(seen)


class Finding(model.FindingRecord):
    """A plain-language conclusion of the run (``finding`` records), and its line."""

    line: StrictInt = 0


class Measurement(model.MeasuredRecord):
    """A ``measured`` record: what a target's checks measured, beside what it declares."""

    line: StrictInt = 0


@dataclass(frozen=True)
class TargetRun:
    """One target of the run, in run order, with its description and its measurements."""

    name: str
    #: Its ``target`` record (in logs from before them, the run record's ``target``);
    #: None when the run stopped before the target started.
    description: Target | None
    #: Its ``measured`` record; None before its checks ended or when it could not start.
    measured: Measurement | None = None

    @property
    def started(self) -> bool | None:
        """True once started, False when it could not start, None when it was never reached."""
        return None if self.description is None else self.description.started

    @property
    def real_time(self) -> bool:
        """Whether its checks ran in real time (the harness could not move its clock)."""
        if self.measured is not None:
            return self.measured.real_time
        return self.description is not None and self.description.real_time


@dataclass(frozen=True)
class RunLog:
    """A whole result log. ``end`` is None when the run was interrupted."""

    path: Path
    run: RunRecord
    checks: tuple[Check, ...]
    end: EndRecord | None
    #: True when the last line was cut off mid-write (no newline, not JSON) and was left out.
    truncated_tail: bool = False
    #: Plain-language findings (``finding`` records), in log order.
    findings: tuple[Finding, ...] = ()
    #: The run's targets in run order (one, from the run record, in older logs).
    targets: tuple[TargetRun, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether the run wrote its ``end`` record."""
        return self.end is not None

    @property
    def folder(self) -> Path:
        """The folder attachment paths are relative to."""
        return self.path.parent

    @property
    def several_targets(self) -> bool:
        """More than one target: checks are keyed ``TARGET::id`` (as the end record keys them)."""
        return len(self.targets) > 1

    def target_of(self, check: Check) -> str:
        """The name of the target a check ran against (the only one when it names none)."""
        if check.target is not None:
            return check.target
        return self.targets[0].name if self.targets else ""

    def key(self, check: Check) -> str:
        """A check's key: its id with one target, ``TARGET::id`` with several."""
        return f"{self.target_of(check)}::{check.id}" if self.several_targets else check.id

    def checks_of(self, target: str) -> list[Check]:
        """The checks that ran against one target, in log order."""
        return [c for c in self.checks if self.target_of(c) == target]


def _fallback_name(target: Target) -> str:
    """The name of the one target of a log from before ``targets``: what the runner calls it."""
    if target.name is not None:
        return target.name
    return target.url if target.kind == "remote" and target.url else target.kind


class _Targets:
    """The ``target`` and ``measured`` records seen so far, checked against the run record."""

    def __init__(self, path: Path) -> None:
        self.path = path
        #: The names the run record lists (its ``targets``); () in older logs.
        self.listed: tuple[str, ...] = ()
        self.described: dict[str, Target] = {}
        self.measured: dict[str, Measurement] = {}
        #: Names in the order they appear, for logs whose run record lists none.
        self.seen: list[str] = []

    def _known(self, name: str, line: int, what: str) -> None:
        if self.listed and name not in self.listed:
            listed = ", ".join(self.listed)
            raise ResultLogError(
                self.path,
                line,
                f"{what} names target {name!r}, which the run record does not "
                f"list (targets: {listed})",
            )
        if name not in self.seen:
            self.seen.append(name)

    def target(self, record: model.TargetRecord, line: int) -> None:
        self._known(record.name, line, "a 'target' record")
        if record.name in self.described:
            raise ResultLogError(self.path, line, f"a second 'target' record for {record.name!r}")
        self.described[record.name] = Target.of(record)

    def measurement(self, measurement: Measurement) -> None:
        line = measurement.line
        self._known(measurement.target, line, "a 'measured' record")
        if measurement.target in self.measured:
            raise ResultLogError(
                self.path, line, f"a second 'measured' record for {measurement.target!r}"
            )
        self.measured[measurement.target] = measurement

    def check(self, check: Check) -> None:
        if check.target is not None:
            self._known(check.target, check.line, "a 'check' record")
        elif len(self.listed) > 1:
            raise ResultLogError(
                self.path,
                check.line,
                "a 'check' record without 'target' in a run of several targets",
            )

    def runs(self, run: RunRecord) -> tuple[TargetRun, ...]:
        names = list(self.listed) or self.seen
        if not names:
            # A log from before several targets: its one target is the run record's.
            return (TargetRun(_fallback_name(run.target), run.target),)
        runs = []
        for name in names:
            described = self.described.get(name)
            if described is None and not self.listed and name == _fallback_name(run.target):
                described = run.target  # named by its checks only: the run record describes it
            runs.append(TargetRun(name, described, self.measured.get(name)))
        return tuple(runs)


#: How each kind of record is read: the records' own classes, with the reader's additions.
_READ_AS: Final[dict[str, type[model.Record]]] = {
    **model.KINDS,
    "run": RunRecord,
    "check": Check,
    "finding": Finding,
    "measured": Measurement,
}
#: Records that carry the line they came from (for messages that point back at it).
_LINED: Final = frozenset({"check", "finding", "measured"})

#: What a field must be, by pydantic's error type, in the words of a reader's message.
_MUST_BE: Final = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
}
#: How many of a record's problems a message lists.
_PROBLEMS_SHOWN: Final = 3


def _where(loc: tuple[int | str, ...]) -> str:
    """A field's place in a record: ``steps[2].outcome`` (list items counted from 1)."""
    text = ""
    for part in loc:
        text += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _problems(kind: str, error: ValidationError) -> str:
    """One sentence for what is wrong with a record, its first few problems named."""
    said = []
    # A wrong value first: it is the likelier slip than a field left out.
    problems = sorted(error.errors(include_url=False), key=lambda p: p["type"] == "missing")
    for problem in problems[:_PROBLEMS_SHOWN]:
        field_ = f"field {_where(problem['loc'])!r}"
        kind_of = problem["type"]
        if kind_of == "missing":
            said.append(f"{field_} is missing")
        elif kind_of in ("literal_error", "enum"):
            allowed = re.sub(r"<\w+\.\w+: ('[^']*')>", r"\1", problem["ctx"]["expected"])
            said.append(f"{field_} is {problem['input']!r}, expected {allowed}")
        elif kind_of in _MUST_BE:
            said.append(f"{field_} {_MUST_BE[kind_of]}")
        else:
            said.append(f"{field_}: {problem['msg'][:1].lower()}{problem['msg'][1:]}")
    more = error.error_count() - len(said)
    article = "an" if kind[:1] in "aeiou" else "a"
    return (
        f"{article} {kind!r} record: "
        + "; ".join(said)
        + (f" (and {more} more)" if more > 0 else "")
    )


def _read(path: Path, number: int, kind: str, obj: dict[str, Any]) -> model.Record:
    """One line's record, validated by its kind's class; problems name the file and line."""
    if kind in _LINED:
        obj = {**obj, "line": number}
    try:
        return _READ_AS[kind].model_validate(obj)
    except ValidationError as exc:
        raise ResultLogError(path, number, _problems(kind, exc)) from None


def _run(path: Path, number: int, obj: dict[str, Any]) -> RunRecord:
    run = _read(path, number, "run", obj)
    assert isinstance(run, RunRecord)
    names = run.target_names
    for name in names:
        if names.count(name) > 1:
            raise ResultLogError(path, number, f"field 'targets' lists {name!r} twice")
    return run


def load_log(path: Path | str) -> RunLog:
    """Read a result log.

    Raises ``ResultLogError`` (naming the file and line) for a missing or
    unreadable file and for any line that is not a record of the format. A
    log without an ``end`` line is a run that was interrupted: it loads, with
    ``end`` None. A last line cut off mid-write (no newline at the end, not
    JSON, in a log without ``end``) is what a killed writer leaves; it is left
    out and ``truncated_tail`` says so.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ResultLogError(path, None, "no such file") from None
    except OSError as exc:
        raise ResultLogError(path, None, f"cannot read: {exc.strerror or exc}") from None

    lines = data.split(b"\n")
    last_unterminated = not data.endswith(b"\n")
    if not last_unterminated:
        lines.pop()  # the empty piece after the final newline

    run: RunRecord | None = None
    targets = _Targets(path)
    checks: list[Check] = []
    found: list[Finding] = []
    end: EndRecord | None = None
    truncated_tail = False
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ResultLogError(path, number, "not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            if number == len(lines) and last_unterminated and end is None and run is not None:
                truncated_tail = True
                break
            raise ResultLogError(path, number, f"not JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise ResultLogError(path, number, "not a JSON object")
        kind = obj.get("record")
        if run is None:
            if kind != "run":
                raise ResultLogError(path, number, "the first record must be a 'run' record")
            run = _run(path, number, obj)
            targets.listed = run.target_names
            continue
        if not isinstance(kind, str):
            raise ResultLogError(path, number, "no 'record' field")
        if kind not in _READ_AS:
            continue  # a future kind of record: ignored, as the format asks
        if kind == "run":
            raise ResultLogError(path, number, "a second 'run' record")
        if end is not None:
            raise ResultLogError(path, number, f"a {kind!r} record after the 'end' record")
        record = _read(path, number, kind, obj)
        if isinstance(record, Check):
            targets.check(record)
            checks.append(record)
        elif isinstance(record, model.TargetRecord):
            targets.target(record, number)
        elif isinstance(record, Measurement):
            targets.measurement(record)
        elif isinstance(record, EndRecord):
            end = record
        elif isinstance(record, Finding):
            found.append(record)
    if run is None:
        raise ResultLogError(path, None, "empty: no 'run' record")
    return RunLog(
        path=path,
        run=run,
        checks=tuple(checks),
        end=end,
        truncated_tail=truncated_tail,
        findings=tuple(found),
        targets=targets.runs(run),
    )
