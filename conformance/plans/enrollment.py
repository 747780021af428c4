"""Enrollment's email verification: wrong, malformed, expired, resent codes (the seed, §6)."""

from __future__ import annotations

from conformance.checks import CheckContext, check
from conformance.session import V5_AGENT, Agent, check_seed


def declared_email_code(ctx: CheckContext, key: str) -> int:
    value = ctx.run.policy.get("email_code", {}).get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        ctx.not_applicable(f"the target declares no email_code {key}")
    return int(value)


def at_email_step(ctx: CheckContext) -> Agent:
    """A fresh seed, then the v5 agent signed in and sent its verification email."""
    run = ctx.run
    run.fresh_start(check_seed(V5_AGENT))
    agent = run.agent()
    with ctx.step("Sign in and start enrollment: a verification email", ("SEED-04",)) as step:
        step.expect_status(agent.sign_in(), 200)
        step.expect_status(agent.start_enrollment(), 202)
    return agent


def other_code(code: str) -> str:
    """A well-formed code that is not ``code``."""
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


@check(
    "enrollment-email-code-errors",
    "Refuse wrong, malformed and expired email codes with their own error codes",
    plan="enrollment",
    requirements=("SEED-04", "ENR-02", "SEC-08"),
    killed_by=("email_code_never_expires",),
)
def email_code_errors(ctx: CheckContext) -> None:
    """A wrong code is 401 ``email_code_invalid``; a code that is not six ASCII digits
    in a JSON string is 400 ``malformed_code``; the right code after its declared
    lifetime is 410 ``email_code_expired``; a resent code then works."""
    ttl = declared_email_code(ctx, "ttl_seconds")
    run = ctx.run
    agent = at_email_step(ctx)
    code = agent.latest_email_code()
    with ctx.step("A wrong code is refused", ("SEED-04",)) as step:
        wrong = other_code(code)
        step.evidence(code=wrong)
        step.expect_status(agent.verify_email(wrong), 401, "email_code_invalid")
    malformed: list[tuple[str, object]] = [
        ("five digits", code[:5]),
        ("with a letter", code[:5] + "x"),
        ("as a JSON number", int("1" + code[1:])),
        ("with a leading space", " " + code),
    ]
    for label, value in malformed:
        with ctx.step(f"The code {label} is malformed", on_failure="continue") as step:
            answer = agent.call("POST", "/api/v1/enrollment/email/verify", {"code": value})
            step.expect_status(answer, 400, "malformed_code")
    run.advance(ttl + 1)
    with ctx.step("The right code after its lifetime has expired", ("SEC-08",)) as step:
        step.evidence(code=code, ttl_seconds=ttl, server_time=run.clock.now())
        step.expect_status(agent.verify_email(code), 410, "email_code_expired")
    with ctx.step("A resent code works", ("SEED-04",)) as step:
        step.expect_status(agent.resend_email(), 202)
        step.expect_status(agent.verify_email(agent.latest_email_code()), 200)


@check(
    "enrollment-resend-kills-the-old-code",
    "Make the previous email code stop working when a new one is sent",
    plan="enrollment",
    requirements=("SEED-04", "SEC-08"),
    killed_by=("resend_keeps_old_code",),
)
def resend_kills_the_old_code(ctx: CheckContext) -> None:
    """Sending the email again before the declared cooldown is 429 ``resend_too_soon``;
    after it, a new code is mailed, the previous one is refused and the new one works."""
    cooldown = declared_email_code(ctx, "resend_cooldown_seconds")
    run = ctx.run
    agent = at_email_step(ctx)
    first = agent.latest_email_code()
    if cooldown > 0:
        with ctx.step("Resending at once is too soon", on_failure="continue") as step:
            answer = agent.resend_email()
            step.expect_status(answer, 429, "resend_too_soon")
            step.expect("Retry-After" in answer.headers, "the 429 has no Retry-After header")
    run.advance(cooldown + 1)
    with ctx.step("Resend after the cooldown: a new code is mailed") as step:
        step.expect_status(agent.resend_email(), 202)
        second = agent.latest_email_code()
        step.evidence(first_code=first, second_code=second)
        if second == first:
            step.warn("the new code happens to equal the old one (one chance in a million)")
    with ctx.step("The previous code is refused", ("SEC-08",)) as step:
        if second != first:
            step.evidence(code=first)
            step.expect_status(agent.verify_email(first), 401, "email_code_invalid")
    with ctx.step("The new code works") as step:
        step.evidence(code=second)
        step.expect_status(agent.verify_email(second), 200)


@check(
    "enrollment-email-attempt-limit",
    "Stop checking an email code after the declared number of wrong attempts",
    plan="enrollment",
    requirements=("THR-01", "SEC-08", "SEED-04"),
    killed_by=("no_email_attempt_limit",),
)
def email_attempt_limit(ctx: CheckContext) -> None:
    """After ``max_attempts`` wrong codes even the right one is 429
    ``too_many_attempts``; a resent code starts with fresh attempts."""
    max_attempts = declared_email_code(ctx, "max_attempts")
    cooldown = declared_email_code(ctx, "resend_cooldown_seconds")
    run = ctx.run
    agent = at_email_step(ctx)
    code = agent.latest_email_code()
    wrong = other_code(code)
    with ctx.step(f"Submit {max_attempts} wrong codes", ("SEC-08",)) as step:
        step.evidence(code=wrong)
        for n in range(1, max_attempts + 1):
            answer = step.exchange(agent.verify_email(wrong))
            if answer.describe() != "401 email_code_invalid":
                step.stop(f"wrong code {n} answered {answer.describe()}, expected 401")
    with ctx.step("The right code is now refused", ("THR-01", "SEC-08")) as step:
        step.evidence(code=code)
        step.expect_status(agent.verify_email(code), 429, "too_many_attempts")
    run.advance(cooldown + 1)
    with ctx.step("A resent code has fresh attempts", ("SEED-04",)) as step:
        step.expect_status(agent.resend_email(), 202)
        step.expect_status(agent.verify_email(agent.latest_email_code()), 200)
