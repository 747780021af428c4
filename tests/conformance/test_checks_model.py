"""The plan → check → step model: outcomes, stop versus continue, harness errors."""

from __future__ import annotations

from typing import Any, cast

import pytest

import conformance.plans  # noqa: F401 - registers the plans' checks, so REGISTRY is not empty
from conformance.checks import REGISTRY, CheckContext, CheckSpec, HarnessError, check
from conformance.session import RunContext
from records import Outcome


def _spec(function: Any, severity: str = "error") -> CheckSpec:
    return CheckSpec("x-check", "X", "plan", ("REQ-1",), severity, function)  # type: ignore[arg-type]


def _run(function: Any, severity: str = "error") -> Any:
    return _spec(function, severity).execute(cast(RunContext, None))


def test_a_failed_stop_step_ends_the_check() -> None:
    reached: list[str] = []

    def body(ctx: CheckContext) -> None:
        with ctx.step("first") as step:
            step.fail("wrong answer")
            reached.append("inside")
        reached.append("after")

    result = _run(body)
    assert (result.outcome, result.reason, reached) == (Outcome.FAILED, "wrong answer", ["inside"])
    assert result.steps[0].requirements == ("REQ-1",)


def test_a_failed_continue_step_lets_the_check_go_on_and_still_fails_it() -> None:
    def body(ctx: CheckContext) -> None:
        with ctx.step("first", ("REQ-2",), on_failure="continue") as step:
            step.stop("first broke")
        with ctx.step("second") as step:
            step.note("fine")

    result = _run(body)
    assert result.outcome is Outcome.FAILED
    assert [s.outcome for s in result.steps] == [Outcome.FAILED, Outcome.PASSED]
    assert result.steps[0].requirements == ("REQ-2",)


def test_harness_faults_are_errors_not_failures() -> None:
    def broken_harness(ctx: CheckContext) -> None:
        raise HarnessError("no mailbox")

    def harness_bug(ctx: CheckContext) -> None:
        with ctx.step("oops"):
            {}["missing"]

    assert _run(broken_harness).outcome is Outcome.ERROR
    bug = _run(harness_bug)
    assert bug.outcome is Outcome.ERROR
    assert "KeyError" in bug.reason


def test_a_check_that_recorded_nothing_is_a_harness_error() -> None:
    assert _run(lambda ctx: None).outcome is Outcome.ERROR


def test_skip_not_applicable_warning_and_severity() -> None:
    assert _run(lambda ctx: ctx.skip("no harness")).outcome is Outcome.SKIPPED
    assert _run(lambda ctx: ctx.not_applicable("no window")).outcome is Outcome.NOT_APPLICABLE

    def warns(ctx: CheckContext) -> None:
        with ctx.step("w") as step:
            step.warn("short secret")

    def fails(ctx: CheckContext) -> None:
        with ctx.step("f") as step:
            step.fail("bad")

    assert _run(warns).outcome is Outcome.WARNING
    assert _run(fails, severity="warning").outcome is Outcome.WARNING


def test_declarations_are_validated() -> None:
    with pytest.raises(ValueError, match="kebab-case"):
        check("Not_Kebab", "t", plan="p", requirements=("R",))
    with pytest.raises(ValueError, match="requirement"):
        check("no-requirement", "t", plan="p", requirements=())
    with pytest.raises(ValueError, match="twice"):
        check(next(iter(REGISTRY)), "t", plan="p", requirements=("R",))
