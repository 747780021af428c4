"""Run the cases through an adapter, each within its time limit, and log every verdict.

One case is: provision (a URI or a typed key), ask for the codes at the
case's times in one request, forget the account. Whatever the vendor does,
the case ends with a verdict within its time limit and the run goes on.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

from conformance.expectations import Expectation
from conformance.results import provenance
from conformance.vendor.adapters import Refused, VendorAdapter, VendorFailure
from conformance.vendor.cases import FAMILIES, Case
from conformance.vendor.dialect_cases import DialectCase
from conformance.vendor.summary import Finding, findings
from conformance.vendor.verdicts import Diagnosis, Verdict, judge
from records import PUBLIC_TEST_DATA, Outcome, RecordFile, model

#: Seconds a case may take, provisioning and codes together, unless --timeout says otherwise.
DEFAULT_TIMEOUT: Final = 5.0
#: Consecutive timed-out cases after which the run stops asking (--give-up-after): a program
#: that hangs on every request would otherwise cost the whole timeout for each case.
DEFAULT_GIVE_UP_AFTER: Final = 5

#: Verdict → the outcome of the case's check record (docs/result-log.md).
OUTCOME_OF: Final[dict[str, str]] = {
    "compatible": "passed",
    "silently_wrong": "failed",
    "refused": "failed",
    "failed": "failed",
    "not_applicable": "not_applicable",
}


def outcome_of(verdict: str, case: Case) -> str:
    """The check outcome of a verdict for this case: a refusal some dialect allows passes."""
    if verdict == "refused" and getattr(case, "refusal_conforms", False):
        return "passed"
    return OUTCOME_OF[verdict]


@dataclass
class CaseResult:
    """What happened to one case."""

    case: Case
    verdict: Verdict
    reason: str
    started_at: float
    duration_ms: float
    received: list[str] | None = None
    refusal: Refused | None = None
    failure: VendorFailure | None = None
    diagnosis: Diagnosis | None = None
    #: When it happened: ``provision`` or ``codes``.
    stage: str = ""
    expected: Expectation | None = field(default=None)

    @property
    def refusal_conforms(self) -> bool:
        """A refusal of a URI-matrix row that some dialect allows (a REJ, rej, NC or n/a cell)."""
        return self.verdict == "refused" and bool(getattr(self.case, "refusal_conforms", False))

    @property
    def outcome(self) -> str:
        return outcome_of(self.verdict, self.case)

    @property
    def unexpected(self) -> bool:
        """Not passed and not what the expectations file said (or said and did not happen)."""
        if self.expected is not None:
            return not self.expected.matches(self.verdict, self.outcome)
        return self.outcome not in ("passed", "not_applicable")


def _refusal_allowed(case: Case) -> str:
    """Why a refusal of this case is right, for a URI-matrix row some dialect lets one refuse."""
    if not getattr(case, "refusal_conforms", False):
        return ""
    if getattr(case, "defined_codes", ()) is None:
        return " (right: the URI defines no code)"
    return f" (allowed: {'; '.join(getattr(case, 'allow_cells', ()))})"


def run_case(adapter: VendorAdapter, case: Case, timeout: float) -> CaseResult:
    """One case through the adapter, within ``timeout`` seconds."""
    started_at = time.time()
    start = time.monotonic()
    deadline = start + timeout

    def done(verdict: Verdict, reason: str, **kw: Any) -> CaseResult:
        took = (time.monotonic() - start) * 1000
        return CaseResult(case, verdict, reason, started_at, took, **kw)

    why_not = adapter.not_applicable(case)
    if why_not is not None:
        return done("not_applicable", why_not)
    stage = "provision"
    try:
        handle = adapter.provision(case, deadline)
        if isinstance(handle, Refused):
            allowed = _refusal_allowed(case)
            return done(
                "refused", f"provisioning refused: {handle}{allowed}", refusal=handle, stage=stage
            )
        stage = "codes"
        received = adapter.codes(handle, case.times, deadline)
        if isinstance(received, Refused):
            return done(
                "refused",
                f"provisioned, but codes refused: {received}",
                refusal=received,
                stage=stage,
            )
        stage = "forget"
        # The codes are in; a failure to forget shows up in the next case if it matters.
        with contextlib.suppress(VendorFailure):
            adapter.forget(handle, deadline)
    except VendorFailure as exc:
        what = {"provision": "provisioning", "codes": "asking for codes", "forget": "forgetting"}
        return done(
            "failed", f"{exc.kind} while {what[stage]}: {exc.detail}", failure=exc, stage=stage
        )
    judgement = judge(case, received)
    return done(
        judgement.verdict,
        judgement.reason,
        received=received,
        diagnosis=judgement.diagnosis,
        stage="codes",
    )


def _not_run(case: Case, give_up_after: int, timeout: float) -> CaseResult:
    detail = (
        f"not run: the program did not answer the {give_up_after} cases before it within "
        f"{timeout:g} s each, so the run stopped asking (--give-up-after)"
    )
    failure = VendorFailure("not_run", detail)
    return CaseResult(case, "failed", detail, time.time(), 0.0, failure=failure, stage="provision")


@dataclass
class VendorRun:
    """The results of a run and what they amount to."""

    results: list[CaseResult]
    findings: list[Finding]
    restarts: int
    exit_status: int
    log_path: Path | None = None

    @property
    def unexpected(self) -> list[CaseResult]:
        return [r for r in self.results if r.unexpected]


def run_cases(
    adapter: VendorAdapter,
    cases: Sequence[Case],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    give_up_after: int = DEFAULT_GIVE_UP_AFTER,
    expectations: Callable[[str], Expectation | None] | None = None,
    progress: Callable[[int, int, CaseResult], None] | None = None,
    log: VendorLog | None = None,
) -> VendorRun:
    """Run every case in order; the adapter is closed at the end.

    After ``give_up_after`` cases in a row ended in a timeout (0: never), the
    remaining cases fail without being run, each saying why.
    """
    results = []
    timeouts_in_a_row = 0
    try:
        for index, case in enumerate(cases, 1):
            if give_up_after and timeouts_in_a_row >= give_up_after:
                result = _not_run(case, give_up_after, timeout)
            else:
                result = run_case(adapter, case, timeout)
                timed_out = result.failure is not None and result.failure.kind == "timeout"
                timeouts_in_a_row = timeouts_in_a_row + 1 if timed_out else 0
            result.expected = expectations(case.id) if expectations else None
            results.append(result)
            if log is not None:
                log.case(result)
            if progress is not None:
                progress(index, len(cases), result)
    finally:
        adapter.close()
    found = findings(results, restarts=adapter.restarts, timeout=timeout)
    exit_status = 1 if any(r.unexpected for r in results) else 0
    if log is not None:
        log.end(results, found, exit_status)
    return VendorRun(results, found, adapter.restarts, exit_status, log.path if log else None)


# -- the result log (docs/result-log.md) ----------------------------------------------------


def _steps(result: CaseResult) -> tuple[model.Step, ...]:
    case = result.case
    provision_evidence: dict[str, Any] = (
        {"uri": case.uri} if case.scanned else {"typed_key": case.typed_key}
    )
    if isinstance(case, DialectCase):
        provision_evidence |= {
            "matrix_row": case.row_id,
            "tests": case.tests,
            "defines_a_code": case.defines_code,
            "refusal_allowed_by": list(case.allow_cells),
        }
    provision_evidence |= {
        "algorithm": case.algorithm,
        "digits": case.digits,
        "period": case.period,
        "secret_bits": case.bits,
        "note": "the secrets are public test seeds (RFC 4226/6238, the Key Uri Format wiki)",
        PUBLIC_TEST_DATA: True,
    }
    provision_req = tuple(r for r in case.requirements if r.startswith(("URI", "SEC")))
    code_req = tuple(r for r in case.requirements if r.startswith("ALG"))
    how = "Scan the URI" if case.scanned else f"Type the key ({case.provisioning})"
    refused_at_provision = result.stage == "provision" and result.verdict in ("refused", "failed")
    step_failed = refused_at_provision and not result.refusal_conforms
    codes_evidence: dict[str, Any] | None = None
    if not refused_at_provision:
        codes_evidence = {
            "times": list(case.times),
            "expected_codes": list(case.expected_codes),
            "received_codes": result.received,
            PUBLIC_TEST_DATA: True,
        }
        if result.diagnosis is not None:
            codes_evidence["diagnosis"] = result.diagnosis.as_dict()
    # A refusal or a failure is told in the last step's evidence.
    last = provision_evidence if codes_evidence is None else codes_evidence
    if result.refusal is not None:
        last["refusal"] = {"code": result.refusal.code, "message": result.refusal.message}
    if result.failure is not None:
        last["failure"] = {"kind": result.failure.kind, "detail": result.failure.detail}
        if result.failure.stderr:
            last["failure"]["stderr"] = result.failure.stderr
    steps = [
        model.Step(
            n=1,
            title=how,
            requirements=provision_req,
            outcome=Outcome.FAILED if step_failed else Outcome.PASSED,
            message=result.reason if refused_at_provision else "accepted",
            on_failure="stop",
            evidence=provision_evidence,
        )
    ]
    if codes_evidence is not None:
        steps.append(
            model.Step(
                n=2,
                title=f"Ask for the codes at {len(case.times)} time(s)",
                requirements=code_req,
                outcome=Outcome.PASSED if result.verdict == "compatible" else Outcome.FAILED,
                message=result.reason or "every code equals the reference algorithm's",
                on_failure="stop",
                evidence=codes_evidence,
            )
        )
    return tuple(steps)


def _cells(result: CaseResult) -> tuple[model.MatrixCell, ...]:
    """The matrix rows a case fills (none when it did not apply)."""
    verdict = result.verdict
    if verdict == "not_applicable":
        return ()
    return tuple(
        model.MatrixCell(
            parameter=parameter, value=value, verdict=verdict, group=result.case.matrix_group
        )
        for parameter, value in result.case.cells
    )


class VendorLog:
    """Writes the run, one check per case, the findings and the end record, line by line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = RecordFile(path)

    def _write(self, record: model.Record) -> None:
        # Redacted as every record is; the cases' own test data says it is public.
        self._file.write(record)

    def start(
        self,
        *,
        adapter: VendorAdapter,
        cases: Sequence[Case],
        run_id: str | None,
        expectations_file: str | None,
        timeout: float,
    ) -> None:
        families = tuple(dict.fromkeys(c.family for c in cases))
        self._write(
            model.RunRecord(
                **provenance("check-authenticator", run_id),
                target=model.TargetInfo(kind=adapter.kind, url=adapter.description),
                policy=None,
                seed=None,
                plans=families,
                variant={"adapter": adapter.kind, "timeout_seconds": timeout},
                expectations_file=expectations_file,
            )
        )

    def case(self, result: CaseResult) -> None:
        case = result.case
        applicable = result.verdict != "not_applicable"
        expected = None
        if result.expected is not None:
            wanted = result.expected.verdict
            expected = model.Expected(
                outcome=Outcome(
                    result.expected.outcome if wanted is None else outcome_of(wanted, case)
                ),
                comment=result.expected.comment,
                # The expectations loader admits the matrix verdicts only.
                verdict=cast("model.Verdict | None", wanted),
            )
        self._write(
            model.CheckRecord(
                id=case.id,
                title=case.title,
                plan=case.family,
                requirements=tuple(case.requirements),
                severity="error",
                outcome=Outcome(result.outcome),
                reason=result.reason,
                expected=expected,
                started_at=result.started_at,
                duration_ms=round(result.duration_ms, 2),
                steps=_steps(result) if applicable else (),
                attachments=(),
                charts=(),
                matrix=_cells(result),
            )
        )

    def end(
        self, results: Sequence[CaseResult], found: Sequence[Finding], exit_status: int
    ) -> None:
        for finding in found:
            self._write(finding.record())
        counts = {o.value: 0 for o in Outcome}
        for result in results:
            counts[result.outcome] += 1
        self._write(
            model.EndRecord(
                finished_at=time.time(),
                counts=counts,
                unexpected=tuple(r.case.id for r in results if r.unexpected),
                exit_status=exit_status,
            )
        )
        self._file.close()

    def close(self) -> None:
        self._file.close()


__all__ = ["FAMILIES", "CaseResult", "VendorLog", "VendorRun", "run_case", "run_cases"]
