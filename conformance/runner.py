"""Run the registered checks of some plans against one or more targets and log the results.

Targets run one after the other, each started just before its checks and
stopped after them; every check runs against each target it can (a check
that needs a capability the target lacks is ``not_applicable`` with the
reason, never dropped). After a target's checks its measurements are logged
(``measured`` record) beside its declared policy.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.checks import REGISTRY, CheckResult, CheckSpec
from conformance.drivers.seam import MISSING_REASONS, Capability, Driver, DriverError
from conformance.expectations import Expectation, expectation_for
from conformance.plans import PLAN_ORDER  # importing the plans registers their checks
from conformance.results import ResultLog
from conformance.session import CHECK_SEED, RunContext, run_context_for
from conformance.target import Target
from records import Outcome


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


class ShardError(ValueError):
    """An unusable ``--shard``: one line saying what is wrong."""


@dataclass(frozen=True)
class Shard:
    """Part ``index`` of ``count`` of a selection of checks (``twofa run --shard I/N``).

    The partition is round-robin over the selection in run order (plans in
    ``PLAN_ORDER``, checks in declaration order): check ``j`` (from 0) is in part
    ``j % count + 1``. It depends only on the harness version and the selection, so
    every CI machine computes the same parts, the parts are disjoint and together
    they are the selection; each part's run record lists the whole selection, so
    ``twofa report merge`` puts the checks back in run order.
    """

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``I/N`` with 1 <= I <= N."""
        head, slash, tail = text.partition("/")
        if not slash or not head.strip().isdigit() or not tail.strip().isdigit():
            raise ShardError(f"--shard {text!r}: give it as I/N, e.g. 2/3")
        index, count = int(head), int(tail)
        if count < 1 or not 1 <= index <= count:
            raise ShardError(f"--shard {text!r}: I must be between 1 and N (N >= 1)")
        return cls(index, count)

    def select(self, checks: Sequence[CheckSpec]) -> list[CheckSpec]:
        """This part's checks, in run order."""
        return [spec for j, spec in enumerate(checks) if j % self.count == self.index - 1]

    def record(self, selection: Sequence[CheckSpec]) -> dict[str, object]:
        """The run record's ``shard``: this part and the whole selection it is part of."""
        return {
            "index": self.index,
            "count": self.count,
            "selection": [spec.id for spec in selection],
        }


@dataclass
class RunSummary:
    results: list[CheckResult]
    unexpected: list[str]
    exit_status: int
    log_path: Path


def as_driver(target: Target | Driver) -> Driver:
    """A v1 target (as the flow tests hold one) through the seam: the reference driver."""
    if isinstance(target, Driver):
        return target
    from conformance.drivers.reference import ReferenceDriver

    workdir = Path(tempfile.gettempdir())
    driver = ReferenceDriver({}, workdir, target=target)
    if target.kind != "embedded":
        driver.name = target.base_url
    return driver


def _target_record(run: RunContext, policy_file: str | None) -> dict[str, object]:
    described: dict[str, object] = (
        run.driver.describe() if run.driver is not None else run.target.describe()
    )
    if policy_file is not None and "policy_file" not in described:
        described["policy_file"] = policy_file
    return described


def start_log(
    log: ResultLog | Path,
    run: RunContext | None,
    checks: list[CheckSpec],
    *,
    names: Sequence[str] | None = None,
    expectations_file: str | None = None,
    run_id: str | None = None,
    policy_file: str | None = None,
    shard: dict[str, object] | None = None,
) -> ResultLog:
    """Write the run record (opening the log at a path, when given one).

    The record carries the provenance: harness version and git commit, the
    targets' names (each gets a ``target`` record when it starts; the first
    one's description is also the run's ``target``, with the policy it
    declares), the seed the flow checks start from (passwords redacted), the
    variant and the start time.
    """
    if isinstance(log, Path):
        log = ResultLog(log)
    if run is not None:
        run.output_dir = log.path.parent
        algorithm, digits, period = run.totp_parameters
        first = _target_record(run, policy_file)
        declared, seeded = run.declared, run.has_harness
        variant: dict[str, object] = {"algorithm": algorithm, "digits": digits, "period": period}
    else:
        first, declared, seeded, variant = (
            {"name": (names or ["?"])[0], "kind": "unstarted"},
            None,
            False,
            {},
        )
    log.start(
        command="run",
        target=first,
        targets=[{"name": n} for n in (names or [str(first.get("name"))])],
        plans=list(dict.fromkeys(spec.plan for spec in checks)),
        variant=variant,
        expectations_file=expectations_file,
        run_id=run_id,
        policy=declared,
        # Without harness endpoints nothing can be seeded: the checks that would are skipped.
        seed=CHECK_SEED if seeded else None,
        shard=shard,
    )
    return log


def missing_capabilities(run: RunContext, spec: CheckSpec) -> str | None:
    """Why ``spec`` cannot run against this target (the first capability it lacks), or None."""
    have = run.capabilities
    for capability in sorted(spec.needs - have, key=list(Capability).index):
        return MISSING_REASONS[capability]
    return None


def run_check(run: RunContext, spec: CheckSpec) -> CheckResult:
    """Run one check; not applicable without its capabilities, skipped without harness mode."""
    missing = missing_capabilities(run, spec)
    if missing is not None:
        result = CheckResult(spec, Outcome.NOT_APPLICABLE, missing, [], 0.0, 0.0)
    elif spec.needs_harness and not run.has_harness:
        result = CheckResult(
            spec,
            Outcome.SKIPPED,
            "the target has no /__harness__ endpoints (clock, mailbox, reset)",
            [],
            0.0,
            0.0,
        )
    else:
        result = spec.execute(run)
    result.target = run.name
    return result


#: A target to run: its name and how to start it (called just before its checks).
TargetOpener = tuple[str, Callable[[], Driver]]
Progress = Callable[[int, int, CheckResult], None]


def run_targets(
    targets: Sequence[TargetOpener],
    checks: list[CheckSpec],
    log_path: Path,
    *,
    expectations: dict[str, Expectation] | None = None,
    expectations_file: str | None = None,
    progress: Progress | None = None,
    run_id: str | None = None,
    policy_file: str | None = None,
    on_start: Callable[[Driver], None] | None = None,
    close_targets: bool = True,
    shard: dict[str, object] | None = None,
) -> RunSummary:
    """Run ``checks`` against each target in turn; one result log for all of them.

    Each target is started just before its checks (``on_start`` hears of it) and
    closed after them. One that cannot be started gets an ``error`` for each
    check, with the reason, and the run goes on with the next target.
    """
    expectations = expectations or {}
    names = [name for name, _ in targets]
    log = ResultLog(log_path)
    results: list[CheckResult] = []
    total, index = len(checks) * len(targets), 0
    try:
        for position, (name, opener) in enumerate(targets):
            began = time.time()
            try:
                driver: Driver | None = opener()
                failure = ""
            except DriverError as exc:
                driver, failure = None, f"harness error: the target could not be started: {exc}"
            run = run_context_for(driver) if driver is not None else None
            if position == 0:
                start_log(
                    log,
                    run,
                    checks,
                    names=names,
                    expectations_file=expectations_file,
                    run_id=run_id,
                    policy_file=policy_file,
                    shard=shard,
                )
            try:
                if run is None or driver is None:
                    log.target({"name": name, "started": False, "error": failure}, began)
                else:
                    run.output_dir = log_path.parent
                    log.target(_target_record(run, policy_file), began)
                    if on_start is not None:
                        on_start(driver)
                for spec in checks:
                    index += 1
                    if run is None:
                        result = CheckResult(spec, Outcome.ERROR, failure, [], 0.0, 0.0)
                        result.target = name
                    else:
                        result = run_check(run, spec)
                    results.append(result)
                    log.check(result, expectation_for(expectations, result.target, spec.id))
                    if progress:
                        progress(index, total, result)
                if run is not None and driver is not None:
                    measurements = run.measurements
                    log.measured(
                        run.name,
                        declared=run.declared,
                        sources=driver.policy_sources(),
                        measured=measurements.measured() if measurements is not None else None,
                        real_time=driver.clock is None,
                    )
            finally:
                if driver is not None and close_targets:
                    driver.close()
    except BaseException:
        # Interrupted (Ctrl-C, a dead target): the log stays without its end record,
        # which is how readers know the run did not finish.
        log.close()
        raise
    exit_status = log.end()
    return RunSummary(results, log.unexpected, exit_status, log_path)


def run_checks(
    target: Target | Driver,
    checks: list[CheckSpec],
    log_path: Path,
    *,
    expectations: dict[str, Expectation] | None = None,
    expectations_file: str | None = None,
    progress: Progress | None = None,
    run_id: str | None = None,
    policy_file: str | None = None,
) -> RunSummary:
    """Run ``checks`` against one target that is already started (the caller closes it)."""
    driver = as_driver(target)
    return run_targets(
        [(driver.name, lambda: driver)],
        checks,
        log_path,
        expectations=expectations,
        expectations_file=expectations_file,
        progress=progress,
        run_id=run_id,
        policy_file=policy_file,
        close_targets=False,
    )
