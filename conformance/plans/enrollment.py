"""Enrollment's email verification (wrong, malformed, expired, resent codes, the account's
budget of wrong codes) and the mail a binding sends (the seed, §6)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from conformance.checks import CheckContext, Step, check
from conformance.session import MAIL_WAIT_SECONDS, V5_AGENT, Agent, check_seed


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


#: NIST SP 800-63B §5.2.2's ceiling: the budget a target that declares none is judged by.
NIST_CEILING = 100
DAY = 24 * 3600


def _declared_or(ctx: CheckContext, key: str, default: int) -> int:
    value = ctx.run.policy.get("email_code", {}).get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return int(value)
    return default


@check(
    "enrollment-email-budget-per-account",
    "Count wrong email codes per account: no resend or new sign-in refills the guesses",
    plan="enrollment",
    requirements=("THR-02", "THR-04", "SEC-08", "SEED-04"),
    killed_by=("email_budget_per_code",),
)
def email_budget_per_account(ctx: CheckContext) -> None:
    """Wrong email codes spread over new codes (resends) and new sign-ins count toward
    one budget per account: the declared ``email_code.daily_budget`` (NIST's 100 when
    none is declared). Once spent, enrollment is refused even with a code's right
    value, until the declared ``budget_window_seconds`` (a day) has passed."""
    budget = _declared_or(ctx, "daily_budget", NIST_CEILING)
    window = _declared_or(ctx, "budget_window_seconds", DAY)
    cooldown = _declared_or(ctx, "resend_cooldown_seconds", 0)
    run = ctx.run
    agent = at_email_step(ctx)
    title = f"Submit {budget} wrong codes over resent codes and new sign-ins"
    with ctx.step(title, ("THR-02", "SEC-08")) as step:
        counted, codes = 0, 1
        answers: dict[str, int] = {}
        while counted < budget:
            wrong = other_code(agent.latest_email_code())
            answer = agent.verify_email(wrong)
            answers[answer.describe()] = answers.get(answer.describe(), 0) + 1
            if answer.describe() == "401 email_code_invalid":
                counted += 1
                continue
            if answer.status not in (410, 429) or codes > budget:
                step.exchange(answer)
                step.stop(f"wrong code {counted + 1} answered {answer.describe()}")
            # This code is used up (its own attempt limit): a new one, every third time
            # from a new sign-in, as an attacker holding the password would.
            run.advance(cooldown + 1)
            codes += 1
            if codes % 3 == 0:
                step.expect_status(agent.sign_in(), 200)
            sent = agent.start_enrollment() if codes % 3 == 0 else agent.resend_email()
            if sent.status != 202:
                step.exchange(sent)
                step.stop(
                    f"a new code was refused after {counted} wrong codes, before the "
                    f"budget of {budget}: {sent.describe()}"
                )
        step.evidence(wrong_codes=counted, codes_sent=codes, answers=answers)
        step.note(f"{counted} wrong codes over {codes} codes")
    run.advance(cooldown + 1)
    with ctx.step(
        "Now even a new code's right value is refused", ("THR-02", "THR-04", "SEC-08")
    ) as step:
        step.expect_status(agent.sign_in(), 200)
        started = step.exchange(agent.start_enrollment())
        if started.status == 202:
            code = agent.latest_email_code()
            step.evidence(code=code)
            step.expect_refused(agent.verify_email(code))
            step.note("a new code was mailed, but its right value is refused")
        else:
            step.expect(
                400 <= started.status < 500,
                f"enrollment answered {started.describe()}, expected a refusal",
            )
            step.evidence(
                refusal=started.describe(), retry_after=started.headers.get("Retry-After")
            )
            step.note(f"enrollment refused: {started.describe()}")
    run.advance(window + 1)
    with ctx.step("A day later the budget has recovered", ("SEED-04",)) as step:
        step.evidence(server_time=run.clock.now(), window_seconds=window)
        step.expect_status(agent.sign_in(), 200)
        if not step.expect_status(agent.start_enrollment(), 202):
            step.stop()
        step.expect_status(agent.verify_email(agent.latest_email_code()), 200)


def expect_notice(
    step: Step, agent: Agent, before: int, *, secrets: tuple[str, ...], what: str
) -> dict[str, Any] | None:
    """The first new mail to ``agent`` after the first ``before``: it must come, carry no
    code and none of ``secrets``; its subject is evidence."""
    mails = agent.new_mails(before)
    if not mails:
        step.fail(f"no mail reached {agent.email} within {MAIL_WAIT_SECONDS:.0f} s of {what}")
        return None
    mail = mails[0]
    body = str(mail.get("body", ""))
    step.evidence(subject=mail.get("subject"), body_characters=len(body))
    step.expect(not mail.get("code"), "the notice carries a 6-digit code")
    flat = body.replace(" ", "").upper()
    leaked = [s for s in secrets if s and s.replace(" ", "").upper() in flat]
    step.expect(not leaked, "the notice carries a secret of the binding (key or code)")
    return mail


def _secrets(agent: Agent, setup_code: str) -> tuple[str, ...]:
    uri = str(agent.provisioning.get("otpauth_uri", ""))
    secret = parse_qs(urlsplit(uri).query).get("secret", [""])[0]
    return (secret, str(agent.provisioning.get("manual_key", "")), setup_code)


@check(
    "enrollment-binding-is-mailed",
    "Mail the account's address when a device is bound, and again for a new device",
    plan="enrollment",
    requirements=("ENR-04", "SEED-04", "SEED-05"),
    killed_by=("binding_not_mailed",),
)
def binding_is_mailed(ctx: CheckContext) -> None:
    """Confirming the first device, and then a new one through "Set up a new mobile
    device", each send a mail to the account's address after the confirmation (NIST SP
    800-63B §6.1.2.1): no code, no secret, no setup code in it."""
    run = ctx.run
    run.fresh_start(check_seed(V5_AGENT))
    agent, first = run.agent(), run.device()
    with ctx.step("Enroll a device; a mail follows the confirmation", ("ENR-04", "SEED-04")) as s:
        agent.reach_device_step(s)
        if not s.expect_status(agent.get_device(), 200) or agent.provision(first) is None:
            s.stop("the device could not be provisioned")
        before, code = len(agent.mails()), first.code_now()
        if not s.expect_status(agent.confirm(code), 200):
            s.stop()
        expect_notice(s, agent, before, secrets=_secrets(agent, code), what="the confirmation")
    run.advance(60)
    second = run.device()
    with ctx.step(
        "Set up a new mobile device; a mail follows its confirmation", ("ENR-04", "SEED-05")
    ) as s:
        s.expect_status(agent.sign_in(), 200)
        if agent.stage != "verify_otp":
            s.stop(f"sign-in went to {agent.stage}, not the code prompt")
        if not s.expect_status(agent.start_enrollment(), 202):
            s.stop()
        if not s.expect_status(agent.verify_email(agent.latest_email_code()), 200):
            s.stop()
        if not s.expect_status(agent.get_device(), 200) or agent.provision(second) is None:
            s.stop("the new device could not be provisioned")
        before, code = len(agent.mails()), second.code_now()
        if not s.expect_status(agent.confirm(code), 200):
            s.stop()
        expect_notice(s, agent, before, secrets=_secrets(agent, code), what="the confirmation")
