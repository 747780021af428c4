"""Checks, steps and outcomes: the plan → check → step model.

A check is declared once with a stable kebab-case id, a title, the requirement
ids it enforces, a severity and the plan it belongs to. Inside, each step
records what was done, the requirement ids it speaks for, and its evidence.
A step that fails either stops the check or lets it continue. An exception
from the harness itself (not from the target's answers) makes the outcome
``error``, kept apart from ``failed``.
"""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, NoReturn

from conformance.drivers.seam import Answer, Capability, DriverError
from conformance.http import Exchange, TargetUnreachable
from conformance.measure import MeasurementFailed
from conformance.target import TargetError
from records import Outcome, model

if TYPE_CHECKING:
    from conformance.session import RunContext

_CHECK_ID: Final = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


Severity = Literal["error", "warning"]
OnFailure = Literal["stop", "continue"]


class CheckStopped(Exception):
    """Raised inside a check when a stop-on-failure step failed."""


class StepAborted(Exception):
    """Raised by ``Step.stop``: leaves the step, whose failure is already recorded."""


class CheckSkipped(Exception):
    """Raised inside a check when it cannot run here (with the reason)."""


class CheckNotApplicable(Exception):
    """Raised inside a check when the target's declared policy makes it meaningless."""


class HarnessError(Exception):
    """Raised when the harness or its configuration is wrong, not the target."""


@dataclass
class StepRecord:
    n: int
    title: str
    requirements: tuple[str, ...]
    on_failure: OnFailure
    outcome: Outcome = Outcome.PASSED
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    def record(self) -> model.Step:
        """The step as the result log has it."""
        return model.Step(
            n=self.n,
            title=self.title,
            requirements=self.requirements,
            outcome=self.outcome,
            message=self.message,
            on_failure=self.on_failure,
            evidence=self.evidence,
        )


class Step:
    """The handle a check uses inside ``with ctx.step(...)``: expectations and evidence."""

    def __init__(self, record: StepRecord) -> None:
        self.record = record

    def note(self, message: str) -> None:
        """Say what the step found; a failure or warning already said keeps its message."""
        if self.record.outcome is Outcome.PASSED:
            self.record.message = message

    def evidence(self, **values: Any) -> None:
        self.record.evidence.update(values)

    def exchange(self, exchange: Exchange) -> Exchange:
        """Keep an HTTP exchange as evidence (several are kept as a list)."""
        kept = self.record.evidence.setdefault("http", [])
        kept.append(exchange.evidence())
        return exchange

    def answer(self, answer: Answer) -> Answer:
        """Keep a verifier's answer as evidence: its exchange (``http``, a command...)
        joins the step's list under the same key, so reports show every exchange."""
        for key, value in answer.evidence.items():
            kept = self.record.evidence.setdefault(key, [])
            if not isinstance(kept, list):
                kept = self.record.evidence[key] = [kept]
            kept.append(value)
        return answer

    def fail(self, message: str) -> None:
        self.record.outcome = Outcome.FAILED
        self.record.message = message

    def stop(self, message: str | None = None) -> NoReturn:
        """Fail the step (keeping an earlier failure message) and leave it at once."""
        if message is not None or self.record.outcome is not Outcome.FAILED:
            self.fail(message or "failed")
        raise StepAborted(self.record.message)

    def skip(self, message: str) -> None:
        """This step could not be taken here (the reason); the check goes on."""
        if self.record.outcome is Outcome.PASSED:
            self.record.outcome = Outcome.SKIPPED
            self.record.message = message

    def warn(self, message: str) -> None:
        if self.record.outcome is Outcome.PASSED:
            self.record.outcome = Outcome.WARNING
            self.record.message = message

    def expect(self, condition: bool, message: str) -> bool:
        """Fail the step with ``message`` unless ``condition`` holds."""
        if not condition:
            self.fail(message)
        return condition

    def expect_status(self, exchange: Exchange, status: int, error_code: str | None = None) -> bool:
        """The answer must have this status (and this ``error.code``, when given)."""
        self.exchange(exchange)
        wanted = f"{status}" + (f" {error_code}" if error_code else "")
        got_code = exchange.error_code
        ok = exchange.status == status and (error_code is None or got_code == error_code)
        if ok:
            self.record.message = self.record.message or f"answered {wanted}"
        else:
            self.fail(f"answered {exchange.describe()}, expected {wanted}")
        return ok

    def expect_refused(self, exchange: Exchange, *error_codes: str) -> bool:
        """Any 4xx refusal; with codes, one of them."""
        self.exchange(exchange)
        refused = 400 <= exchange.status < 500
        if refused and (not error_codes or exchange.error_code in error_codes):
            self.record.message = self.record.message or f"refused ({exchange.describe()})"
            return True
        wanted = " or ".join(error_codes) if error_codes else "a 4xx refusal"
        self.fail(f"answered {exchange.describe()}, expected {wanted}")
        return False


@dataclass
class CheckResult:
    check: CheckSpec
    outcome: Outcome
    reason: str
    steps: list[StepRecord]
    started_at: float
    duration_ms: float
    charts: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    #: The name of the target it ran against (set by the runner).
    target: str = ""


class CheckContext:
    """What a running check sees: the run (target, clocks, agents) and its own steps."""

    def __init__(self, run: RunContext, spec: CheckSpec) -> None:
        self.run = run
        self.spec = spec
        self.steps: list[StepRecord] = []
        self.charts: list[dict[str, Any]] = []
        self.attachments: list[dict[str, Any]] = []

    @contextmanager
    def step(
        self,
        title: str,
        requirements: tuple[str, ...] | list[str] = (),
        *,
        on_failure: OnFailure = "stop",
    ) -> Iterator[Step]:
        record = StepRecord(
            n=len(self.steps) + 1,
            title=title,
            requirements=tuple(requirements) or self.spec.requirements,
            on_failure=on_failure,
        )
        self.steps.append(record)
        # Step.stop() leaves the block; the failure is recorded and on_failure decides.
        with suppress(StepAborted):
            yield Step(record)
        if record.outcome is Outcome.FAILED and on_failure == "stop":
            raise CheckStopped(record.message)

    def skip(self, reason: str) -> NoReturn:
        raise CheckSkipped(reason)

    def not_applicable(self, reason: str) -> NoReturn:
        raise CheckNotApplicable(reason)

    def chart(self, kind: str, title: str, data: dict[str, Any]) -> None:
        self.charts.append({"kind": kind, "title": title, "data": data})


CheckFunction = Callable[[CheckContext], None]


@dataclass(frozen=True)
class CheckSpec:
    """A check as declared: what it enforces and how to run it."""

    id: str
    title: str
    plan: str
    requirements: tuple[str, ...]
    severity: Severity
    run: CheckFunction
    #: The capabilities the check needs (``conformance.drivers.seam``): without one of
    #: them it is not applicable to the target, with the reason.
    needs: frozenset[Capability] = frozenset({Capability.FLOW})
    #: A flow check that seeds the server needs its /__harness__ endpoints (clock,
    #: mailbox, reset); it is skipped against a v1 server without them.
    needs_harness: bool = True
    description: str = ""
    #: The deliberate faults of the reference server (``reference_server/faults/``) that
    #: must make this check fail (or warn, for a check of a SHOULD): the proof it can fail.
    killed_by: tuple[str, ...] = ()

    def execute(self, run: RunContext) -> CheckResult:
        context = CheckContext(run, self)
        started_at = time.time()
        start = time.perf_counter()
        outcome, reason = Outcome.PASSED, ""
        try:
            self.run(context)
        except CheckStopped as stop:
            outcome, reason = Outcome.FAILED, str(stop)
        except CheckSkipped as skipped:
            outcome, reason = Outcome.SKIPPED, str(skipped)
        except CheckNotApplicable as na:
            outcome, reason = Outcome.NOT_APPLICABLE, str(na)
        except TargetUnreachable as exc:
            outcome, reason = Outcome.FAILED, f"the target stopped answering: {exc}"
        except (HarnessError, TargetError, DriverError, MeasurementFailed) as exc:
            outcome, reason = Outcome.ERROR, f"harness error: {exc}"
        except Exception as exc:
            last = traceback.extract_tb(exc.__traceback__)[-1]
            where = f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}"
            outcome, reason = Outcome.ERROR, f"harness error: {type(exc).__name__}: {exc} ({where})"
        if outcome is Outcome.PASSED:
            failed = [s for s in context.steps if s.outcome is Outcome.FAILED]
            warned = [s for s in context.steps if s.outcome is Outcome.WARNING]
            if failed:
                outcome, reason = Outcome.FAILED, "; ".join(s.message for s in failed)
            elif warned:
                outcome, reason = Outcome.WARNING, "; ".join(s.message for s in warned)
            elif not context.steps:
                # A check that recorded nothing proves nothing: that is a harness bug.
                outcome, reason = Outcome.ERROR, "harness error: the check recorded no step"
        if outcome is Outcome.FAILED and self.severity == "warning":
            outcome = Outcome.WARNING
        return CheckResult(
            check=self,
            outcome=outcome,
            reason=reason,
            steps=context.steps,
            started_at=started_at,
            duration_ms=(time.perf_counter() - start) * 1000,
            charts=context.charts,
            attachments=context.attachments,
        )


#: Every declared check, by id, in declaration order.
REGISTRY: dict[str, CheckSpec] = {}


def check(
    id: str,
    title: str,
    *,
    plan: str,
    requirements: tuple[str, ...] | list[str],
    severity: Severity = "error",
    needs: Iterable[Capability] = (Capability.FLOW,),
    needs_harness: bool = True,
    killed_by: Iterable[str] = (),
) -> Callable[[CheckFunction], CheckFunction]:
    """Declare a check. Ids are stable kebab-case; every check enforces some requirement.

    ``needs`` names the capabilities it uses: ``verifier`` (+ ``clock``,
    ``declared_policy``) for the checks any 2FA server is judged by, ``flow``
    (the default) for the product flow of the v1 contract. ``killed_by`` names
    the reference server's faults that must make it fail (the mutant tests and
    docs/conformance.md's table are made from these).
    """
    if not _CHECK_ID.match(id):
        raise ValueError(f"check id {id!r} is not kebab-case")
    if id in REGISTRY:
        raise ValueError(f"check id {id!r} is declared twice")
    if not requirements:
        raise ValueError(f"check {id!r} names no requirement")

    wanted = frozenset(needs)

    def register(function: CheckFunction) -> CheckFunction:
        REGISTRY[id] = CheckSpec(
            id=id,
            title=title,
            plan=plan,
            requirements=tuple(requirements),
            severity=severity,
            run=function,
            needs=wanted,
            needs_harness=needs_harness and Capability.FLOW in wanted,
            killed_by=tuple(killed_by),
            description=(function.__doc__ or "").strip(),
        )
        return function

    return register
