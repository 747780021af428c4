"""Run the registered checks of some plans against a target and log the results."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from conformance.checks import REGISTRY, CheckResult, CheckSpec, Outcome
from conformance.plans import PLAN_ORDER  # importing the plans registers their checks
from conformance.results import Expectation, ResultLog
from conformance.session import CHECK_SEED, RunContext
from conformance.target import Target


def _rank(plan: str) -> int:
    # A plan missing from PLAN_ORDER (a team's own) runs after the shipped ones.
    return PLAN_ORDER.index(plan) if plan in PLAN_ORDER else len(PLAN_ORDER)


def registered_checks() -> list[CheckSpec]:
    """Every registered check, plans in ``PLAN_ORDER``, checks in declaration order."""
    return sorted(REGISTRY.values(), key=lambda spec: _rank(spec.plan))


def plans() -> list[str]:
    """Plan names in run order."""
    return list(dict.fromkeys(spec.plan for spec in registered_checks()))


def select_checks(
    plan_names: Iterable[str] | None = None, check_ids: Iterable[str] | None = None
) -> list[CheckSpec]:
    wanted_plans = set(plan_names or [])
    wanted_checks = set(check_ids or [])
    unknown = (wanted_plans - set(plans())) | (wanted_checks - set(REGISTRY))
    if unknown:
        raise KeyError(f"unknown plan or check: {', '.join(sorted(unknown))}")
    return [
        spec
        for spec in registered_checks()
        if (not wanted_plans or spec.plan in wanted_plans)
        and (not wanted_checks or spec.id in wanted_checks)
    ]


@dataclass
class RunSummary:
    results: list[CheckResult]
    unexpected: list[str]
    exit_status: int
    log_path: Path


def start_log(
    log_path: Path,
    run: RunContext,
    checks: list[CheckSpec],
    *,
    expectations_file: str | None = None,
    run_id: str | None = None,
    policy_file: str | None = None,
) -> ResultLog:
    """Open the result log and write its run record.

    The record carries the provenance: harness version and git commit, the
    target and the policy it declares, the seed the checks start from
    (passwords redacted), the variant and the start time.
    """
    log = ResultLog(log_path)
    run.output_dir = log_path.parent
    algorithm, digits, period = run.totp_parameters
    target = run.target.describe()
    if policy_file is not None:
        target["policy_file"] = policy_file
    has_harness = run.target.harness is not None
    log.start(
        command="run",
        target=target,
        plans=list(dict.fromkeys(spec.plan for spec in checks)),
        variant={"algorithm": algorithm, "digits": digits, "period": period},
        expectations_file=expectations_file,
        run_id=run_id,
        policy=run.policy if has_harness else None,
        # Without harness endpoints nothing can be seeded: the checks that would are skipped.
        seed=CHECK_SEED if has_harness else None,
    )
    return log


def run_check(run: RunContext, spec: CheckSpec) -> CheckResult:
    """Run one check; one that needs harness endpoints the target lacks is skipped."""
    if spec.needs_harness and run.target.harness is None:
        return CheckResult(
            spec,
            Outcome.SKIPPED,
            "the target has no /__harness__ endpoints (clock, mailbox, reset)",
            [],
            0.0,
            0.0,
        )
    return spec.execute(run)


def run_checks(
    target: Target,
    checks: list[CheckSpec],
    log_path: Path,
    *,
    expectations: dict[str, Expectation] | None = None,
    expectations_file: str | None = None,
    progress: Callable[[int, int, CheckResult], None] | None = None,
    run_id: str | None = None,
    policy_file: str | None = None,
) -> RunSummary:
    """Run ``checks`` one after the other, each from a fresh state when the target allows."""
    expectations = expectations or {}
    run = RunContext(target)
    log = start_log(
        log_path,
        run,
        checks,
        expectations_file=expectations_file,
        run_id=run_id,
        policy_file=policy_file,
    )
    results: list[CheckResult] = []
    try:
        for index, spec in enumerate(checks, 1):
            result = run_check(run, spec)
            results.append(result)
            log.check(result, expectations.get(spec.id))
            if progress:
                progress(index, len(checks), result)
    except BaseException:
        # Interrupted (Ctrl-C, a dead target): the log stays without its end record,
        # which is how readers know the run did not finish.
        log.close()
        raise
    exit_status = log.end()
    return RunSummary(results, log.unexpected, exit_status, log_path)
