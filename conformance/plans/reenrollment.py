"""Re-enrollment: "Set up a new mobile device" from the code prompt (the seed, checklist §6)."""

from __future__ import annotations

from conformance.checks import CheckContext, Step, check
from conformance.session import Agent, start_with_enrolled_agent
from simulators.device import Account, AuthenticatorDevice


def cooldown_of(ctx: CheckContext) -> int:
    """The declared resend cooldown (a re-enrollment mails a new code), 30 s if undeclared."""
    value = ctx.run.policy.get("email_code", {}).get("resend_cooldown_seconds", 30)
    return int(value)


def start_reenrollment(ctx: CheckContext, agent: Agent, step: Step) -> None:
    """Sign in with the password and choose "Set up a new mobile device"."""
    if not step.expect_status(agent.sign_in(), 200):
        step.stop()
    if agent.stage != "verify_otp":
        step.stop(f"an enrolled agent's sign-in went to {agent.stage!r}, not to the code prompt")
    if not step.expect_status(agent.start_enrollment(), 202):
        step.stop()


def bind_new_device(
    ctx: CheckContext, agent: Agent, step: Step
) -> tuple[AuthenticatorDevice, Account]:
    """From the code prompt, re-enroll with a new RFC reference device and confirm it."""
    start_reenrollment(ctx, agent, step)
    if not step.expect_status(agent.verify_email(agent.latest_email_code()), 200):
        step.stop()
    if not step.expect_status(agent.get_device(), 200):
        step.stop()
    device = ctx.run.device()
    account = agent.provision(device)
    if account is None:
        step.stop("the RFC reference device refused the new provisioning URI")
    code = device.code_now()
    step.evidence(setup_code=code)
    if not step.expect_status(agent.confirm(code), 200):
        step.stop()
    return device, account


@check(
    "reenrollment-requires-fresh-email-proof",
    "Show no new secret before a fresh email code is verified",
    plan="reenrollment",
    requirements=("ENR-02", "ENR-03", "SEED-05", "SEC-08"),
    killed_by=("reusable_email_code",),
)
def requires_fresh_email_proof(ctx: CheckContext) -> None:
    """After "Set up a new mobile device" the device answer and confirmation are
    refused until the email is verified; the code used at the first enrollment is
    refused (it was used); the fresh code opens a different secret."""
    run = ctx.run
    agent, _, first = start_with_enrolled_agent(ctx)
    used_code = agent.latest_email_code()
    run.advance(cooldown_of(ctx) + first.period)
    with ctx.step("Choose to set up a new device at the code prompt", ("SEED-05",)) as step:
        start_reenrollment(ctx, agent, step)
    with ctx.step("No secret before the email is verified", ("ENR-02", "ENR-03")) as step:
        answer = step.exchange(agent.get_device())
        step.expect(400 <= answer.status < 500, f"the device answer was {answer.describe()}")
        step.expect(
            answer.field("otpauth_uri") is None and answer.field("manual_key") is None,
            "a new secret was shown before the email was verified",
        )
        step.expect_refused(agent.confirm(first.code_at(run.clock.now())), "wrong_stage")
    fresh_code = agent.latest_email_code()
    with ctx.step("The email code of the first enrollment is refused", ("SEC-08",)) as step:
        step.evidence(code=used_code, fresh_code=fresh_code)
        if used_code == fresh_code:
            step.warn("the fresh code happens to equal the used one (one chance in a million)")
        else:
            step.expect_status(agent.verify_email(used_code), 401, "email_code_invalid")
    with ctx.step("The fresh email code opens a new secret", ("ENR-01", "SEED-05")) as step:
        step.expect_status(agent.verify_email(fresh_code), 200)
        if step.expect_status(agent.get_device(), 200):
            second = agent.provision(run.device())
            if second is None:
                step.stop("the RFC reference device refused the new provisioning URI")
            step.expect(second.key != first.key, "the new device got the old device's secret")


@check(
    "reenrollment-old-device-refused-after-confirm",
    "Refuse the old device's codes as soon as a new device is confirmed",
    plan="reenrollment",
    requirements=("ENR-07", "ENR-06", "SEED-05"),
    killed_by=("old_device_survives",),
)
def old_device_refused_after_confirm(ctx: CheckContext) -> None:
    """Re-enroll with a new device and confirm it: at once, the old device's code for
    the current step is refused; a step later the old one is still refused and the
    new one logs in."""
    run = ctx.run
    agent, old_device, first = start_with_enrolled_agent(ctx)
    run.advance(cooldown_of(ctx) + first.period)
    with ctx.step("Re-enroll with a new device and confirm it", ("SEED-05",)) as step:
        new_device, _ = bind_new_device(ctx, agent, step)
    with ctx.step("At once, the old device's code is refused", ("ENR-07",)) as step:
        code = old_device.code_now()
        step.evidence(code=code, server_time=run.clock.now())
        if step.expect_status(agent.sign_in(), 200):
            step.expect_refused(agent.submit_otp(code), "otp_invalid")
    run.advance(first.period)
    with ctx.step("A step later the old device is still refused", ("ENR-07",)) as step:
        code = old_device.code_now()
        step.evidence(code=code, server_time=run.clock.now())
        if step.expect_status(agent.sign_in(), 200):
            step.expect_refused(agent.submit_otp(code), "otp_invalid")
    with ctx.step("The new device logs in", ("SEED-05",)) as step:
        code = new_device.code_now()
        step.evidence(code=code)
        if agent.stage != "verify_otp":
            step.expect_status(agent.sign_in(), 200)
        step.expect_status(agent.submit_otp(code), 200)


@check(
    "reenrollment-abandoned-keeps-the-old-device",
    "Keep the old device working when a re-enrollment is not confirmed",
    plan="reenrollment",
    requirements=("ENR-08", "SEED-05"),
    killed_by=("old_device_retired_early",),
)
def abandoned_keeps_the_old_device(ctx: CheckContext) -> None:
    """Start "Set up a new mobile device", verify the email and let the new secret be
    shown, then walk away: the next sign-in still asks for the old device's code,
    which works, and the pending secret's code does not."""
    run = ctx.run
    agent, old_device, first = start_with_enrolled_agent(ctx)
    run.advance(cooldown_of(ctx) + first.period)
    pending = run.device()
    with ctx.step("Re-enroll up to the new secret, then stop", ("SEED-05",)) as step:
        start_reenrollment(ctx, agent, step)
        step.expect_status(agent.verify_email(agent.latest_email_code()), 200)
        step.expect_status(agent.get_device(), 200)
        if agent.provision(pending) is None:
            step.stop("the RFC reference device refused the pending provisioning URI")
    run.advance(first.period)
    with ctx.step("A new sign-in asks for the old device's code", ("ENR-08",)) as step:
        step.expect_status(agent.sign_in(), 200)
        step.expect(agent.stage == "verify_otp", f"the sign-in went to {agent.stage!r}")
    with ctx.step("The pending secret's code is refused", ("ENR-08",)) as step:
        code = pending.code_now()
        step.evidence(code=code)
        step.expect_refused(agent.submit_otp(code), "otp_invalid")
    with ctx.step("The old device's code logs in", ("ENR-08", "SEED-05")) as step:
        code = old_device.code_now()
        step.evidence(code=code)
        step.expect_status(agent.submit_otp(code), 200)
