"""Replay: each code at most once (checklist §4)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from conformance.checks import CheckContext, check
from conformance.http import Exchange
from conformance.session import start_with_enrolled_agent

#: RPL-02's test: "10 parallel requests carrying the same valid code". Each session
#: costs a password check (argon2) to open.
PARALLEL_SUBMISSIONS = 10


@check(
    "replay-same-code-twice",
    "Refuse a code that was already accepted",
    plan="replay",
    requirements=("RPL-01", "RPL-02"),
)
def same_code_twice(ctx: CheckContext) -> None:
    """Log in with a code, sign in again within the same step and submit it again."""
    run = ctx.run
    agent, device, _ = start_with_enrolled_agent(ctx)
    run.advance(60)
    code = device.code_now()
    with ctx.step("Log in with the current code", ("ALG-05",)) as step:
        step.evidence(code=code)
        step.expect_status(agent.sign_in(), 200)
        step.expect_status(agent.submit_otp(code), 200)
    run.advance(1)
    with ctx.step("Sign in again and submit the same code", ("RPL-01",)) as step:
        step.evidence(code=code)
        step.expect_status(agent.sign_in(), 200)
        step.expect_refused(agent.submit_otp(code), "otp_reused", "otp_invalid")


@check(
    "replay-older-step-after-newer",
    "Refuse an unused code of an older step once a newer one was accepted",
    plan="replay",
    requirements=("RPL-01", "RPL-02", "WIN-04"),
)
def older_step_after_newer(ctx: CheckContext) -> None:
    """With a forward window, accept the next step's code, then offer the current
    step's code, never used: the monotonic rule refuses it."""
    run = ctx.run
    forward = int(run.policy.get("window", {}).get("forward", 0))
    if forward < 1:
        ctx.not_applicable("the declared window accepts no future step")
    agent, _, account = start_with_enrolled_agent(ctx)
    run.advance(90)
    now = run.clock.now()
    newer = account.code_at(now + account.period)
    older = account.code_at(now)
    with ctx.step("Log in with the next step's code", ("WIN-04",)) as step:
        step.evidence(code=newer, step=account.step_at(now) + 1)
        step.expect_status(agent.sign_in(), 200)
        step.expect_status(agent.submit_otp(newer), 200)
    with ctx.step("Sign in again with the current step's unused code", ("RPL-02",)) as step:
        step.evidence(code=older, step=account.step_at(now))
        step.expect_status(agent.sign_in(), 200)
        step.expect_refused(agent.submit_otp(older), "otp_reused", "otp_invalid")


@check(
    "replay-parallel-race",
    f"Accept exactly one of {PARALLEL_SUBMISSIONS} simultaneous submissions of one code",
    plan="replay",
    requirements=("RPL-01", "RPL-02"),
)
def parallel_race(ctx: CheckContext) -> None:
    """Ten partial sessions submit the same valid code at once; replay
    protection must be atomic."""
    run = ctx.run
    agent, device, _ = start_with_enrolled_agent(ctx)
    run.advance(60)
    tokens: list[str] = []
    with ctx.step(f"Open {PARALLEL_SUBMISSIONS} partial sessions") as step:
        for _ in range(PARALLEL_SUBMISSIONS):
            exchange = agent.sign_in()
            if exchange.status != 200 or agent.token is None:
                step.stop(f"sign-in answered {exchange.describe()}")
            tokens.append(agent.token)
    code = device.code_now()
    with ctx.step("Submit the same code from all of them at once", ("RPL-01",)) as step:

        def submit(token: str) -> Exchange:
            return agent.run.http.request(
                "POST", "/api/v1/auth/otp", json_body={"code": code}, token=token
            )

        with ThreadPoolExecutor(max_workers=PARALLEL_SUBMISSIONS) as pool:
            answers = list(pool.map(submit, tokens))
        accepted = [a for a in answers if a.status == 200]
        statuses = sorted(a.describe() for a in answers)
        step.evidence(code=code, answers=statuses)
        step.expect(len(accepted) == 1, f"{len(accepted)} of {PARALLEL_SUBMISSIONS} were accepted")
        step.expect(all(a.status < 500 for a in answers), "some submissions got a server error")


@check(
    "replay-setup-code-not-reusable-for-login",
    "Refuse the setup code at the first login",
    plan="replay",
    requirements=("RPL-01", "URI-09"),
)
def setup_code_not_reusable(ctx: CheckContext) -> None:
    """The code that confirmed enrollment cannot log in within the same step."""
    run = ctx.run
    agent, _, _ = start_with_enrolled_agent(ctx)
    setup_code = ctx.steps[-1].evidence["setup_code"]
    run.advance(1)
    with ctx.step("Sign in and submit the setup code", ("RPL-01",)) as step:
        step.evidence(code=setup_code)
        step.expect_status(agent.sign_in(), 200)
        step.expect_refused(agent.submit_otp(setup_code), "otp_reused", "otp_invalid")
