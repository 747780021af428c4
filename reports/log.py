"""Reading a result log (``results.jsonl``, docs/result-log.md) into typed records.

The reader is strict about what the format promises (a ``run`` line first,
known outcomes, the fields a report needs) and lenient about what it allows
to grow: unknown fields and unknown record kinds are ignored, evidence and
chart data stay free-form.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from records import Outcome

#: Check outcomes, in the order every report lists them (the writers' own enum).
OUTCOMES: Final = tuple(o.value for o in Outcome)
#: Step outcomes (a step is never "not applicable": the check is).
STEP_OUTCOMES: Final = tuple(o for o in OUTCOMES if o != Outcome.NOT_APPLICABLE)
#: Verdicts of a ``matrix`` record (``check-authenticator``).
MATRIX_VERDICTS: Final = ("compatible", "silently_wrong", "refused", "failed")
#: The same verdicts, most dangerous first: a grouped matrix lists its rows in this order
#: (an account imported with codes the server refuses is worse than a crash or a refusal).
MATRIX_SEVERITY: Final = ("silently_wrong", "failed", "refused", "compatible")


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


@dataclass(frozen=True)
class Target:
    """What the run was pointed at: a ``target`` record, or the run record's ``target``."""

    kind: str
    url: str | None
    harness: bool | None
    #: The policy YAML an embedded server was started with, if any.
    policy_file: str | None = None
    #: The target's name in the run (``embedded``, ``privacyidea``, a URL); None in older logs.
    name: str | None = None
    title: str | None = None
    capabilities: tuple[str, ...] = ()
    #: The target's own settings (``--target-option``), as its driver names them.
    options: dict[str, Any] = field(default_factory=dict)
    #: Who moves its clock: ``moved by the harness``, ``/__harness__/clock``, ``real time``.
    clock: str | None = None
    #: False for a target that could not be started; ``error`` says why.
    started: bool = True
    error: str | None = None

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


@dataclass(frozen=True)
class RunRecord:
    """The first line: provenance of the run."""

    format: int
    tool: str
    tool_version: str
    command: str
    started_at: float
    target: Target
    plans: tuple[str, ...]
    variant: dict[str, Any]
    expectations_file: str | None
    #: Provenance added by format 1 writers since the run-folder layout; None in older logs.
    run_id: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    #: The target's declared policy (``/__harness__/policy``), None when it has none.
    policy: dict[str, Any] | None = None
    #: The seed the checks start from, passwords redacted.
    seed: dict[str, Any] | None = None
    #: The names of the run's targets as its ``targets`` field lists them; () in older logs.
    target_names: tuple[str, ...] = ()
    #: ``twofa run --shard I/N``: ``{index, count, selection}`` (the whole selection's ids).
    shard: dict[str, Any] | None = None
    #: ``twofa report merge``: one ``{path, run_id, command, started_at, shard, targets,
    #: checks}`` per merged log, in the order given.
    merged_from: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Expectation:
    """What an expectations file said about a check (the comment is mandatory)."""

    outcome: str
    comment: str
    #: The matrix verdict named by the expectations file (``check-authenticator``), if any.
    verdict: str | None = None


@dataclass(frozen=True)
class Step:
    """One step of a check, with the requirement ids it speaks for and its evidence."""

    n: int
    title: str
    requirements: tuple[str, ...]
    outcome: str
    message: str
    on_failure: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class Attachment:
    """A file next to the log (path relative to the log's folder)."""

    kind: str
    title: str
    path: str


@dataclass(frozen=True)
class Chart:
    """Chart data as written (``window`` is drawn specially; other kinds are shown as data)."""

    kind: str
    title: str
    data: dict[str, Any]


@dataclass(frozen=True)
class MatrixCell:
    """One parameter value tried against an authenticator, and what came of it."""

    parameter: str
    value: str
    verdict: str
    #: A matrix of its own (one row per cell, worst first) instead of the parameter matrix.
    group: str | None = None


@dataclass(frozen=True)
class Finding:
    """A plain-language conclusion of the run (``finding`` records), for people."""

    severity: str
    text: str
    #: The checks that show it (the first few) and how many there are in all.
    checks: tuple[str, ...]
    count: int
    line: int


@dataclass(frozen=True)
class Check:
    """One ``check`` record."""

    id: str
    title: str
    plan: str
    requirements: tuple[str, ...]
    severity: str
    outcome: str
    reason: str
    expected: Expectation | None
    started_at: float | None
    duration_ms: float | None
    steps: tuple[Step, ...]
    attachments: tuple[Attachment, ...]
    charts: tuple[Chart, ...]
    matrix: tuple[MatrixCell, ...]
    #: The check's own variant when a run tries several (else the run's variant applies).
    variant: dict[str, Any] | None
    #: Line of the log the record came from, for messages that point back at it.
    line: int
    #: The target it ran against, as logged; None in logs from before several targets.
    target: str | None = None

    @property
    def all_requirements(self) -> tuple[str, ...]:
        """The check's requirement ids, then any its steps add, without repeats."""
        seen = dict.fromkeys(self.requirements)
        for step in self.steps:
            seen.update(dict.fromkeys(step.requirements))
        return tuple(seen)


@dataclass(frozen=True)
class EndRecord:
    """The last line, written only when the run finished."""

    finished_at: float
    counts: dict[str, int]
    unexpected: tuple[str, ...]
    exit_status: int | None


@dataclass(frozen=True)
class Measurement:
    """A ``measured`` record: what a target's checks measured, beside what it declares."""

    target: str
    real_time: bool
    #: The declared policy (the shape of ``/__harness__/policy`` where keys overlap), or None.
    declared: dict[str, Any] | None
    #: Where each part of the declaration comes from (``"doc URL: words"``), by key.
    sources: dict[str, str]
    #: What the run measured, as logged (keys absent when not measured), or None.
    measured: dict[str, Any] | None
    line: int


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


class _Fields:
    """Typed access to one record's fields; every problem names the file, line and field."""

    def __init__(self, path: Path, line: int, obj: Mapping[str, Any], where: str = "") -> None:
        self.path = path
        self.line = line
        self.obj = obj
        self.where = where

    def fail(self, problem: str) -> ResultLogError:
        return ResultLogError(self.path, self.line, f"{self.where}{problem}")

    def sub(self, obj: Any, where: str) -> _Fields:
        if not isinstance(obj, dict):
            raise self.fail(f"{where} must be an object")
        return _Fields(self.path, self.line, obj, f"{self.where}{where}: ")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.obj.get(key, default)
        if not isinstance(value, str):
            raise self.fail(f"field {key!r} must be a string")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self.obj.get(key)
        if value is not None and not isinstance(value, str):
            raise self.fail(f"field {key!r} must be a string or null")
        return value

    def number(self, key: str) -> float:
        value = self.obj.get(key)
        # NaN and infinities: Python's JSON reader takes them, but no report can show them.
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.fail(f"field {key!r} must be a finite number")
        return float(value)

    def opt_number(self, key: str) -> float | None:
        return None if self.obj.get(key) is None else self.number(key)

    def opt_bool(self, key: str) -> bool | None:
        value = self.obj.get(key)
        if value is not None and not isinstance(value, bool):
            raise self.fail(f"field {key!r} must be true, false or null")
        return value

    def opt_mapping(self, key: str) -> dict[str, Any] | None:
        value = self.obj.get(key)
        if value is not None and not isinstance(value, dict):
            raise self.fail(f"field {key!r} must be an object or null")
        return value

    def opt_int(self, key: str) -> int | None:
        value = self.obj.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.fail(f"field {key!r} must be an integer or null")
        return value

    def str_list(self, key: str) -> tuple[str, ...]:
        value = self.obj.get(key, [])
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"field {key!r} must be a list of strings")
        return tuple(value)

    def obj_list(self, key: str) -> list[Any]:
        value = self.obj.get(key, [])
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"field {key!r} must be a list")
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.obj.get(key, {})
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"field {key!r} must be an object")
        return value

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.text(key)
        if value not in allowed:
            raise self.fail(f"field {key!r} is {value!r}, expected one of {', '.join(allowed)}")
        return value


def _target(f: _Fields) -> Target:
    """A target's description: a ``target`` record or the run record's ``target``."""
    harness = f.obj.get("harness")
    started = f.opt_bool("started")
    return Target(
        kind=f.text("kind", "unknown"),
        url=f.opt_text("url"),
        harness=harness if isinstance(harness, bool) else None,
        policy_file=f.opt_text("policy_file"),
        name=f.opt_text("name"),
        title=f.opt_text("title"),
        capabilities=f.str_list("capabilities"),
        options=f.mapping("options"),
        clock=f.opt_text("clock"),
        started=started is not False,
        error=f.opt_text("error"),
    )


def _target_names(f: _Fields) -> tuple[str, ...]:
    names: list[str] = []
    for i, raw in enumerate(f.obj_list("targets"), 1):
        name = f.sub(raw, f"targets[{i}]").text("name")
        if name in names:
            raise f.fail(f"field 'targets' lists {name!r} twice")
        names.append(name)
    return tuple(names)


def _run(f: _Fields) -> RunRecord:
    fmt = f.obj.get("format", 1)
    if isinstance(fmt, bool) or not isinstance(fmt, int):
        raise f.fail("field 'format' must be an integer")
    return RunRecord(
        format=fmt,
        tool=f.text("tool", "twofa-harness"),
        tool_version=f.text("tool_version", "unknown"),
        command=f.text("command"),
        started_at=f.number("started_at"),
        target=_target(f.sub(f.obj.get("target", {}), "target")),
        plans=f.str_list("plans"),
        variant=f.mapping("variant"),
        expectations_file=f.opt_text("expectations_file"),
        run_id=f.opt_text("run_id"),
        git_commit=f.opt_text("git_commit"),
        git_dirty=f.opt_bool("git_dirty"),
        policy=f.opt_mapping("policy"),
        seed=f.opt_mapping("seed"),
        target_names=_target_names(f),
        shard=f.opt_mapping("shard"),
        merged_from=tuple(m for m in f.obj_list("merged_from") if isinstance(m, dict)),
    )


def _step(f: _Fields, index: int) -> Step:
    n = f.obj.get("n", index)
    if isinstance(n, bool) or not isinstance(n, int):
        raise f.fail("field 'n' must be an integer")
    return Step(
        n=n,
        title=f.text("title"),
        requirements=f.str_list("requirements"),
        outcome=f.choice("outcome", STEP_OUTCOMES),
        message=f.opt_text("message") or "",
        on_failure=f.text("on_failure", "stop"),
        evidence=f.mapping("evidence"),
    )


def _check(f: _Fields) -> Check:
    raw_expected = f.obj.get("expected")
    expected = None
    if raw_expected is not None:
        e = f.sub(raw_expected, "expected")
        verdict = e.obj.get("verdict")
        expected = Expectation(
            outcome=e.choice("outcome", OUTCOMES),
            comment=e.text("comment", ""),
            verdict=None if verdict is None else e.choice("verdict", MATRIX_VERDICTS),
        )
    steps = tuple(_step(f.sub(raw, f"step {i}"), i) for i, raw in enumerate(f.obj_list("steps"), 1))
    attachments = []
    for i, raw in enumerate(f.obj_list("attachments"), 1):
        a = f.sub(raw, f"attachment {i}")
        path = a.text("path")
        attachments.append(Attachment(a.text("kind", "file"), a.text("title", path), path))
    charts = []
    for i, raw in enumerate(f.obj_list("charts"), 1):
        c = f.sub(raw, f"chart {i}")
        kind = c.text("kind")
        charts.append(Chart(kind, c.text("title", kind), c.mapping("data")))
    # The format shows one matrix object per check; a list of them is accepted too.
    raw_matrix = f.obj.get("matrix")
    if raw_matrix is None:
        raw_matrix = []
    elif not isinstance(raw_matrix, list):
        raw_matrix = [raw_matrix]
    matrix = []
    for i, raw in enumerate(raw_matrix, 1):
        m = f.sub(raw, f"matrix {i}")
        value = m.obj.get("value")
        matrix.append(
            MatrixCell(
                parameter=m.text("parameter"),
                value=value if isinstance(value, str) else json.dumps(value),
                verdict=m.choice("verdict", MATRIX_VERDICTS),
                group=m.opt_text("group"),
            )
        )
    return Check(
        id=f.text("id"),
        title=f.text("title", f.text("id")),
        plan=f.text("plan"),
        requirements=f.str_list("requirements"),
        severity=f.text("severity", "error"),
        outcome=f.choice("outcome", OUTCOMES),
        reason=f.opt_text("reason") or "",
        expected=expected,
        started_at=f.opt_number("started_at"),
        duration_ms=f.opt_number("duration_ms"),
        steps=steps,
        attachments=tuple(attachments),
        charts=tuple(charts),
        matrix=tuple(matrix),
        variant=f.opt_mapping("variant"),
        line=f.line,
        target=f.opt_text("target"),
    )


#: Severities of a ``finding`` record, worst first.
FINDING_SEVERITIES: Final = ("error", "warning", "info")


def _finding(f: _Fields) -> Finding:
    count = f.opt_int("count")
    checks = f.str_list("checks")
    return Finding(
        severity=f.choice("severity", FINDING_SEVERITIES),
        text=f.text("text"),
        checks=checks,
        count=len(checks) if count is None else count,
        line=f.line,
    )


def _measured(f: _Fields) -> Measurement:
    real_time = f.obj.get("real_time")
    if not isinstance(real_time, bool):
        raise f.fail("field 'real_time' must be true or false")
    sources = f.mapping("sources")
    if not all(isinstance(v, str) for v in sources.values()):
        raise f.fail("field 'sources' must map keys to strings")
    return Measurement(
        target=f.text("target"),
        real_time=real_time,
        declared=f.opt_mapping("declared"),
        sources=dict(sources),
        measured=f.opt_mapping("measured"),
        line=f.line,
    )


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

    def target(self, f: _Fields) -> None:
        name = f.text("name")
        self._known(name, f.line, "a 'target' record")
        if name in self.described:
            raise f.fail(f"a second 'target' record for {name!r}")
        self.described[name] = _target(f)

    def measurement(self, f: _Fields) -> None:
        measurement = _measured(f)
        self._known(measurement.target, f.line, "a 'measured' record")
        if measurement.target in self.measured:
            raise f.fail(f"a second 'measured' record for {measurement.target!r}")
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


def _end(f: _Fields) -> EndRecord:
    counts = f.mapping("counts")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts.values()):
        raise f.fail("field 'counts' must map outcomes to integers")
    return EndRecord(
        finished_at=f.number("finished_at"),
        counts=dict(counts),
        unexpected=f.str_list("unexpected"),
        exit_status=f.opt_int("exit_status"),
    )


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
        fields = _Fields(path, number, obj)
        if run is None:
            if kind != "run":
                raise ResultLogError(path, number, "the first record must be a 'run' record")
            run = _run(fields)
            targets.listed = run.target_names
        elif kind == "run":
            raise ResultLogError(path, number, "a second 'run' record")
        elif end is not None and kind in ("check", "end", "finding", "target", "measured"):
            raise ResultLogError(path, number, f"a {kind!r} record after the 'end' record")
        elif kind == "check":
            check = _check(fields)
            targets.check(check)
            checks.append(check)
        elif kind == "target":
            targets.target(fields)
        elif kind == "measured":
            targets.measurement(fields)
        elif kind == "end":
            end = _end(fields)
        elif kind == "finding":
            found.append(_finding(fields))
        elif not isinstance(kind, str):
            raise ResultLogError(path, number, "no 'record' field")
        # Other record kinds are future additions: ignored, as the format asks.
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
