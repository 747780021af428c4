"""Throttling: a limit on wrong codes (checklist §5).

The verifier checks measure (``conformance.measure``) after how many wrong
codes in a row a correct code is refused, and for how long; the across-sessions
check uses the v1 contract's partial sessions.
"""

from __future__ import annotations

from typing import Any

from conformance.checks import CheckContext, check
from conformance.drivers.seam import Capability
from conformance.measure import NIST_FAILURE_LIMIT, ThrottleMeasurement
from conformance.plans.window import duration
from conformance.session import start_with_enrolled_agent
from simulators.device import Account


def declared_throttle(ctx: CheckContext) -> tuple[int, int]:
    """(max_failures, lock_seconds) from the declared policy."""
    throttle = ctx.run.policy.get("throttle", {})
    max_failures, lock_seconds = throttle.get("max_failures"), throttle.get("lock_seconds")
    if not isinstance(max_failures, int) or not isinstance(lock_seconds, int):
        ctx.not_applicable("the target declares no throttle max_failures and lock_seconds")
    return max_failures, lock_seconds


def declared(ctx: CheckContext, key: str) -> Any:
    """One key of the declared ``throttle``, or None."""
    throttle = (ctx.run.declared or {}).get("throttle")
    return throttle.get(key) if isinstance(throttle, dict) else None


def wrong_code(account: Account, now: float) -> str:
    """A well-formed code that is wrong for every step near ``now``."""
    near = {account.code_at(now + k * account.period) for k in range(-4, 5)}
    candidates = (str(n).zfill(account.digits) for n in range(10**account.digits))
    return next(code for code in candidates if code not in near)


def _probes(ctx: CheckContext, throttle: ThrottleMeasurement, title: str) -> None:
    with ctx.step(title, ("THR-01",), on_failure="continue") as step:
        step.evidence(
            probes=[p.as_dict() for p in throttle.probes],
            locks_after=throttle.locks_after,
            lock_seconds=throttle.lock_seconds,
            budget=throttle.budget,
        )
        # The exchange that decides: the correct code after the most wrong codes.
        step.answer(throttle.probes[0].correct.answer)
        if throttle.locks_after is None:
            step.note(f"the correct code was accepted after {throttle.budget} wrong codes")
        else:
            step.note(f"after {throttle.locks_after} wrong code(s) the correct code is refused")


@check(
    "throttling-failures-count-across-sessions",
    "Count wrong codes from every session of an agent toward one lock",
    plan="throttling",
    requirements=("THR-01", "THR-02"),
    killed_by=("no_throttle",),
)
def failures_count_across_sessions(ctx: CheckContext) -> None:
    """Spread the declared number of wrong codes over two parallel partial sessions
    (neither alone reaches it): the next submission from either session is locked."""
    max_failures, _ = declared_throttle(ctx)
    run = ctx.run
    _, _, account = start_with_enrolled_agent(ctx)
    run.advance(2 * account.period)
    first, second = run.agent(), run.agent()
    with ctx.step("Open two partial sessions") as step:
        step.expect_status(first.sign_in(), 200)
        step.expect_status(second.sign_in(), 200)
    code = wrong_code(account, run.clock.now())
    counts = {"first": 0, "second": 0}
    with ctx.step(f"Submit {max_failures} wrong codes, alternating sessions", ("THR-02",)) as step:
        for n in range(max_failures):
            name, session = ("first", first) if n % 2 == 0 else ("second", second)
            answer = step.exchange(session.submit_otp(code))
            counts[name] += 1
            if answer.status != 401:
                step.stop(f"wrong code {n + 1} answered {answer.describe()}, expected 401")
        step.evidence(code=code, per_session=counts)
    with ctx.step("Both sessions are now locked", ("THR-01", "THR-02")) as step:
        for session in (first, second):
            answer = session.submit_otp(code)
            step.expect_status(answer, 423, "otp_locked")


@check(
    "throttling-limits-failed-attempts",
    "Refuse the correct code after at most 100 wrong codes in a row",
    plan="throttling",
    requirements=("THR-01", "THR-04", "THR-08"),
    needs=(Capability.VERIFIER,),
    killed_by=("no_throttle",),
)
def limits_failed_attempts(ctx: CheckContext) -> None:
    """NIST SP 800-63B §5.2.2: the verifier SHALL limit consecutive failed attempts to
    no more than 100. After 100 distinct wrong codes on a fresh credential, the correct
    code must be refused; the fewest wrong codes that lock is found by bisection."""
    throttle = ctx.run.measured.throttle()
    _probes(ctx, throttle, "Wrong codes, then the correct code")
    with ctx.step(f"At most {NIST_FAILURE_LIMIT} wrong codes before a lock", ("THR-04",)) as step:
        step.expect(
            throttle.locks_after is not None,
            f"the correct code was still accepted after {throttle.budget} wrong codes in a "
            "row: a stolen password plus unlimited guessing finds the code "
            "(NIST SP 800-63B §5.2.2 allows at most 100)",
        )


@check(
    "throttling-correct-code-refused-while-locked",
    "Lock after exactly the declared number of wrong codes",
    plan="throttling",
    requirements=("THR-01", "THR-04"),
    needs=(Capability.VERIFIER, Capability.DECLARED_POLICY),
    killed_by=("no_throttle",),
)
def correct_code_refused_while_locked(ctx: CheckContext) -> None:
    """After the declared ``max_failures`` wrong codes the correct code is refused, and
    not after one fewer: the measured count equals the declared one."""
    max_failures = declared(ctx, "max_failures")
    if not isinstance(max_failures, int) or isinstance(max_failures, bool):
        ctx.not_applicable("the target declares no throttle max_failures")
    throttle = ctx.run.measured.throttle()
    _probes(ctx, throttle, "Wrong codes, then the correct code")
    with ctx.step(f"The lock comes after {max_failures} wrong codes", ("THR-01",)) as step:
        step.evidence(declared_max_failures=max_failures, measured=throttle.locks_after)
        if throttle.locks_after is None:
            step.fail(
                f"declared: a lock after {max_failures} wrong codes; measured: no lock "
                f"after {throttle.budget}"
            )
        else:
            step.expect(
                throttle.locks_after == max_failures,
                f"declared: a lock after {max_failures} wrong codes; measured: after "
                f"{throttle.locks_after}",
            )


@check(
    "throttling-lock-released-after-lock-time",
    "Release the lock after the declared lock time, not before",
    plan="throttling",
    requirements=("THR-01", "THR-06", "THR-07"),
    needs=(Capability.VERIFIER, Capability.CLOCK, Capability.DECLARED_POLICY),
    killed_by=("no_throttle",),
)
def lock_released_after_lock_time(ctx: CheckContext) -> None:
    """Lock a fresh credential, then move the server's clock: the correct code is
    refused until the declared ``lock_seconds`` have passed and accepted after (within
    a second), or still refused a day later where the lock is declared permanent. The
    release time is found by bisection, each probe on a fresh credential."""
    lock_seconds = declared(ctx, "lock_seconds")
    valid = lock_seconds == "permanent" or (
        isinstance(lock_seconds, int) and not isinstance(lock_seconds, bool)
    )
    if not valid:
        ctx.not_applicable("the target declares no throttle lock_seconds")
    throttle = ctx.run.measured.throttle(with_lock_seconds=True)
    _probes(ctx, throttle, "Lock, then the correct code after a while")
    measured = throttle.lock_seconds
    with ctx.step("The lock lasts the declared time", ("THR-06", "THR-07")) as step:
        step.evidence(declared_lock_seconds=lock_seconds, measured_lock_seconds=measured)
        if throttle.locks_after is None:
            lock = "until an admin acts" if lock_seconds == "permanent" else duration(lock_seconds)
            step.fail(
                f"declared: a lock {lock}; measured: no lock within {throttle.budget} wrong codes"
            )
        elif lock_seconds == "permanent":
            step.expect(
                measured == "permanent",
                f"declared: locked until an admin acts; measured: released after {measured} s",
            )
        elif measured == "permanent" or measured is None:
            step.fail(f"declared: a lock of {lock_seconds} s; measured: still locked a day later")
        else:
            step.expect(
                abs(measured - lock_seconds) <= 1,
                f"declared: a lock of {duration(lock_seconds)}; measured: {duration(measured)}",
            )
