"""The records of a result log (docs/result-log.md), as typed classes, defined once.

Every writer builds its lines from these classes (so a misspelled or missing field fails
at construction, or at type check) and every reader validates its lines through them
(so writer and reader cannot drift). ``docs/result-log.schema.json`` is generated from
them (``python -m records.schema``).

Strict about what the format promises (the ``record`` kind, ``format``, mandatory fields,
outcome and verdict words, finite times), lenient about what it lets grow: unknown fields
are ignored, evidence, chart data, policies and measurements stay free-form objects.

``dump`` writes a record as the format has it: a field documented as absent when not
given (``targets``, ``shard``, a check's ``target``...) is left out when None; any other
None is written as null.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from records.outcome import Outcome

#: The format version every record of a log of this harness belongs to.
FORMAT: Final = 1

#: A time or duration: a finite number (NaN and infinities cannot be shown).
Number = Annotated[float, Strict(), AllowInfNan(False)]
#: Ids, names and requirement ids, in the order written.
Names = tuple[StrictStr, ...]
#: A free-form JSON object (evidence, chart data, policies, measurements).
Object = dict[StrictStr, Any]

#: A step's outcomes: every check outcome but ``not_applicable`` (the check is that).
STEP_OUTCOMES: Final = tuple(o for o in Outcome if o is not Outcome.NOT_APPLICABLE)


def _step_outcome(outcome: Outcome) -> Outcome:
    if outcome not in STEP_OUTCOMES:
        raise PydanticCustomError("step_outcome", "a step is never not_applicable (its check is)")
    return outcome


#: A step's outcome: the one enum (writers hand theirs over), narrowed to STEP_OUTCOMES.
StepOutcome = Annotated[
    Outcome,
    AfterValidator(_step_outcome),
    WithJsonSchema({"type": "string", "enum": [o.value for o in STEP_OUTCOMES]}),
]
Severity = Literal["error", "warning"]
Verdict = Literal["compatible", "silently_wrong", "refused", "failed"]
#: The verdicts, most dangerous first: a grouped matrix lists its rows in this order
#: (an account imported with codes the server refuses is worse than a crash or a refusal).
VERDICT_SEVERITY: Final[tuple[Verdict, ...]] = ("silently_wrong", "failed", "refused", "compatible")
FindingSeverity = Literal["error", "warning", "info"]


def _absent_if_none(value: object) -> bool:
    return value is None


def absent(default: Any = None) -> Any:
    """A field left out of the written line when None (documented as absent then)."""
    return Field(default=default, exclude_if=_absent_if_none)


def _empty_if_null(value: object) -> object:
    # ``reason`` and ``message``: null and "" both say "nothing to say".
    return "" if value is None else value


#: A sentence that may be empty; null is read as empty.
Sentence = Annotated[StrictStr, BeforeValidator(_empty_if_null, json_schema_input_type=str | None)]


def _record_required(schema: dict[str, Any]) -> None:
    # ``record`` has its kind as default (writers need not repeat it), yet every line has it.
    if "record" in schema.get("properties", {}):
        schema["required"] = ["record", *schema.get("required", [])]


class Record(BaseModel):
    """What every record and part of one shares: unknown fields ignored, frozen once made."""

    model_config = ConfigDict(extra="ignore", frozen=True, json_schema_extra=_record_required)

    def dump(self) -> dict[str, Any]:
        """The record as a JSON object, as written (before redaction), ``record`` first."""
        # Free-form evidence may hold anything (a path, an exception): written as its text.
        fields = self.model_dump(mode="json", fallback=str)
        kind = fields.pop("record", None)
        return fields if kind is None else {"record": kind, **fields}


class Step(Record):
    """One step of a check: what was done, the requirements it speaks for, its evidence."""

    n: StrictInt
    title: StrictStr
    requirements: Names
    outcome: StepOutcome
    message: Sentence
    on_failure: Literal["stop", "continue"]
    #: Free-form; ``http``, ``code``, ``step``, ``skew_seconds``, ``server_time`` and
    #: ``device_time`` are shown specially.
    evidence: Object


class Attachment(Record):
    """A file beside the log (``path`` relative to the log's folder)."""

    kind: StrictStr
    title: StrictStr
    path: StrictStr


class Chart(Record):
    """Chart data (``window`` is drawn specially; other kinds are shown as data)."""

    kind: StrictStr
    title: StrictStr
    data: Object


def _cell_value(value: object) -> object:
    # A value other than text (a number of digits, a list) is shown as its JSON.
    return value if isinstance(value, str) else json.dumps(value)


class MatrixCell(Record):
    """One parameter value tried against an authenticator (``check-authenticator``)."""

    parameter: StrictStr
    value: Annotated[str, BeforeValidator(_cell_value, json_schema_input_type=Any)]
    verdict: Verdict
    #: A matrix of its own (one row per cell, worst first) instead of the parameter matrix.
    group: StrictStr | None = absent()


def _cells(value: object) -> object:
    # The format shows one matrix object per check; a list of them is the common case.
    return () if value is None else [value] if isinstance(value, dict) else value


Matrix = Annotated[
    tuple[MatrixCell, ...],
    BeforeValidator(_cells, json_schema_input_type=MatrixCell | list[MatrixCell] | None),
]


class Expected(Record):
    """What an expectations file said about a check (the comment is mandatory)."""

    outcome: Outcome
    comment: StrictStr
    #: Every outcome the file accepts; absent in ``check-authenticator`` logs.
    outcomes: tuple[Outcome, ...] | None = absent()
    #: The matrix verdict the file named (``check-authenticator``).
    verdict: Verdict | None = absent()


class TargetName(Record):
    """One entry of the run record's ``targets``."""

    name: StrictStr


class TargetInfo(Record):
    """A target's description: a ``target`` record's fields, and the run record's ``target``.

    A driver may add fields of its own (``workers``, ``log``): they are kept and written.
    """

    model_config = ConfigDict(extra="allow")

    kind: StrictStr | None = absent()
    url: StrictStr | None = absent()
    harness: StrictBool | None = absent()
    policy_file: StrictStr | None = absent()
    name: StrictStr | None = absent()
    title: StrictStr | None = absent()
    capabilities: Names | None = absent()
    options: Object | None = absent()
    clock: StrictStr | None = absent()
    #: False when the target could not be started (``error`` says why); absent otherwise.
    started: StrictBool | None = absent()
    error: StrictStr | None = absent()


class RunRecord(Record):
    """The first line: the provenance of the run."""

    record: Literal["run"] = "run"
    format: Literal[1]
    #: Older logs lack the provenance fields; readers take them as null.
    run_id: StrictStr | None = None
    tool: StrictStr
    tool_version: StrictStr
    git_commit: StrictStr | None = None
    git_dirty: StrictBool | None = None
    command: StrictStr
    started_at: Number
    target: TargetInfo
    targets: tuple[TargetName, ...] | None = absent()
    policy: Object | None = None
    seed: Object | None = None
    plans: Names
    variant: Object
    expectations_file: StrictStr | None
    #: ``twofa run --shard I/N``: ``{index, count, selection}``.
    shard: Object | None = absent()
    #: ``twofa report merge``: one object per merged log, in the order given.
    merged_from: tuple[Object, ...] | None = absent()


class TargetRecord(TargetInfo):
    """One per target, when it starts (or could not be started), before its checks."""

    record: Literal["target"] = "target"
    name: StrictStr
    #: When its start began, so its time in a run includes starting it.
    started_at: Number | None = absent()


class CheckRecord(Record):
    """One per check, written when it ends."""

    record: Literal["check"] = "check"
    #: The target it ran against; absent in logs of one target from before several.
    target: StrictStr | None = absent()
    id: StrictStr
    title: StrictStr
    plan: StrictStr
    requirements: Names
    severity: Severity
    #: The capabilities it needs (``verifier``, ``clock``, ``declared_policy``, ``flow``).
    needs: Names | None = absent()
    outcome: Outcome
    reason: Sentence
    expected: Expected | None
    started_at: Number | None
    duration_ms: Number | None
    steps: tuple[Step, ...]
    attachments: tuple[Attachment, ...]
    charts: tuple[Chart, ...]
    #: The check's own variant when a run tries it more than once.
    variant: Object | None = absent()
    matrix: Matrix = Field(default=(), exclude_if=lambda cells: not cells)


class MeasuredRecord(Record):
    """One per target, after its checks: what it declares beside what they measured."""

    record: Literal["measured"] = "measured"
    target: StrictStr
    real_time: StrictBool
    declared: Object | None
    sources: dict[StrictStr, StrictStr]
    measured: Object | None


class FindingRecord(Record):
    """A plain-language conclusion of the run, for people (``check-authenticator``)."""

    record: Literal["finding"] = "finding"
    severity: FindingSeverity
    text: StrictStr
    #: The first few check ids that show it, and how many there are in all.
    checks: Names
    count: StrictInt


class EndRecord(Record):
    """The last line; absent when the run was interrupted."""

    record: Literal["end"] = "end"
    finished_at: Number
    counts: dict[StrictStr, StrictInt]
    unexpected: Names
    exit_status: StrictInt | None


#: Every kind of record, by its ``record`` field.
KINDS: Final[dict[str, type[Record]]] = {
    "run": RunRecord,
    "target": TargetRecord,
    "check": CheckRecord,
    "measured": MeasuredRecord,
    "finding": FindingRecord,
    "end": EndRecord,
}

#: Any one line of a result log (the schema's union).
AnyRecord = Annotated[
    RunRecord | TargetRecord | CheckRecord | MeasuredRecord | FindingRecord | EndRecord,
    Field(discriminator="record"),
]
