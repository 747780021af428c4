"""Throttling: a lock after too many wrong codes, across sessions (checklist §5)."""

from __future__ import annotations

from conformance.checks import CheckContext, Step, check
from conformance.session import Agent, start_with_enrolled_agent
from simulators.device import Account, AuthenticatorDevice


def declared_throttle(ctx: CheckContext) -> tuple[int, int]:
    """(max_failures, lock_seconds) from the declared policy."""
    throttle = ctx.run.policy.get("throttle", {})
    max_failures, lock_seconds = throttle.get("max_failures"), throttle.get("lock_seconds")
    if not isinstance(max_failures, int) or not isinstance(lock_seconds, int):
        ctx.not_applicable("the target declares no throttle max_failures and lock_seconds")
    return max_failures, lock_seconds


def wrong_code(account: Account, now: float) -> str:
    """A well-formed code that is wrong for every step near ``now``."""
    near = {account.code_at(now + k * account.period) for k in range(-4, 5)}
    candidates = (str(n).zfill(account.digits) for n in range(10**account.digits))
    return next(code for code in candidates if code not in near)


def lock_out(
    ctx: CheckContext, agent: Agent, account: Account, max_failures: int, step: Step
) -> None:
    """Sign in and submit ``max_failures`` wrong codes: each refused as invalid."""
    code = wrong_code(account, ctx.run.clock.now())
    if not step.expect_status(agent.sign_in(), 200):
        step.stop()
    for n in range(1, max_failures + 1):
        answer = step.exchange(agent.submit_otp(code))
        if answer.status != 401:
            step.stop(
                f"wrong code {n} of {max_failures} answered {answer.describe()}, expected 401"
            )
    step.evidence(code=code, failures=max_failures)


def expect_locked(step: Step, agent: Agent, device: AuthenticatorDevice) -> None:
    """A correct code is refused with 423, at the code prompt or (declared choice) at sign-in."""
    code = device.code_now()
    step.evidence(code=code)
    signed_in = agent.sign_in()
    if signed_in.status == 423:
        step.expect_status(signed_in, 423, "account_locked")
        step.expect("Retry-After" in signed_in.headers, "the 423 has no Retry-After header")
        return
    step.exchange(signed_in)
    answer = agent.submit_otp(code)
    step.expect_status(answer, 423, "otp_locked")
    step.expect("Retry-After" in answer.headers, "the 423 has no Retry-After header")


@check(
    "throttling-failures-count-across-sessions",
    "Count wrong codes from every session of an agent toward one lock",
    plan="throttling",
    requirements=("THR-01", "THR-02"),
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
    "throttling-correct-code-refused-while-locked",
    "Refuse even the correct code while the second factor is locked",
    plan="throttling",
    requirements=("THR-01", "THR-04"),
)
def correct_code_refused_while_locked(ctx: CheckContext) -> None:
    """After the declared number of wrong codes, the device's correct code is
    refused with 423 (at the code prompt, or at sign-in as the target declares)."""
    max_failures, _ = declared_throttle(ctx)
    run = ctx.run
    agent, device, account = start_with_enrolled_agent(ctx)
    run.advance(2 * account.period)
    with ctx.step(f"Submit {max_failures} wrong codes", ("THR-01",)) as step:
        lock_out(ctx, agent, account, max_failures, step)
    run.advance(account.period)
    with ctx.step("The correct code of a new step is refused: locked") as step:
        expect_locked(step, agent, device)


@check(
    "throttling-lock-released-after-lock-time",
    "Release the lock after the declared lock time, not before",
    plan="throttling",
    requirements=("THR-01", "THR-06", "THR-07"),
)
def lock_released_after_lock_time(ctx: CheckContext) -> None:
    """Lock the second factor, move the harness clock to one second before the declared
    ``lock_seconds`` end (still locked), then past it: the correct code is accepted.
    Needs the harness clock: the default lock lasts five minutes."""
    max_failures, lock_seconds = declared_throttle(ctx)
    run = ctx.run
    agent, device, account = start_with_enrolled_agent(ctx)
    run.advance(2 * account.period)
    with ctx.step(f"Submit {max_failures} wrong codes", ("THR-01",)) as step:
        lock_out(ctx, agent, account, max_failures, step)
        locked_at = run.clock.now()
    run.advance(lock_seconds - 1)
    with ctx.step("One second before the lock ends, still locked", ("THR-01", "THR-07")) as step:
        step.evidence(server_time=run.clock.now(), locked_at=locked_at, lock_seconds=lock_seconds)
        expect_locked(step, agent, device)
    run.advance(1 + account.period)
    with ctx.step("After the lock time the correct code logs in", ("THR-06",)) as step:
        code = device.code_now()
        step.evidence(server_time=run.clock.now(), code=code)
        if step.expect_status(agent.sign_in(), 200):
            step.expect_status(agent.submit_otp(code), 200)
