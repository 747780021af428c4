"""Sessions: what a partial token may do, and tokens that rotate (checklist §6, ENR-14)."""

from __future__ import annotations

from typing import Any

from conformance.checks import CheckContext, Step, check
from conformance.http import Exchange
from conformance.session import V5_AGENT, Agent, check_seed, start_with_enrolled_agent


def expect_second_factor_required(step: Step, exchange: Exchange, policy: dict[str, Any]) -> bool:
    """``second_factor_required`` with the declared status (401 or 403 when undeclared)."""
    declared = policy.get("sessions", {}).get("second_factor_required_status")
    if isinstance(declared, int):
        return step.expect_status(exchange, declared, "second_factor_required")
    if step.expect_refused(exchange, "second_factor_required"):
        return step.expect(exchange.status in (401, 403), f"answered {exchange.describe()}")
    return False


def me(agent: Agent, token: str | None) -> Exchange:
    """``GET /me`` with an older token of the agent."""
    return agent.run.http.get("/api/v1/me", token=token, headers=agent.headers)


@check(
    "sessions-partial-token-cannot-host",
    "Refuse a support session to a token that has only passed the password",
    plan="sessions",
    requirements=("ENR-14", "SEC-09", "SEED-06"),
    killed_by=("partial_token_hosts",),
)
def partial_token_cannot_host(ctx: CheckContext) -> None:
    """An enrolled agent signs in with the password: the partial token cannot host a
    support session (``second_factor_required``); after the code, the full one can."""
    run = ctx.run
    agent, device, account = start_with_enrolled_agent(ctx)
    run.advance(account.period)
    with ctx.step("Host with the partial token of the code prompt", ("ENR-14", "SEC-09")) as step:
        step.expect_status(agent.sign_in(), 200)
        expect_second_factor_required(step, agent.host_support_session(), run.policy)
    with ctx.step("Enter the code; the full token hosts", ("SEED-06",)) as step:
        code = device.code_now()
        step.evidence(code=code)
        step.expect_status(agent.submit_otp(code), 200)
        step.expect_status(agent.host_support_session(), 201)


@check(
    "sessions-token-rotates-after-second-factor",
    "Issue a new token after the second factor and end the partial one",
    plan="sessions",
    requirements=("ENR-14",),
    killed_by=("no_token_rotation",),
)
def token_rotates_after_second_factor(ctx: CheckContext) -> None:
    """At enrollment's confirmation and at each login's code, the answer carries a new
    token and the partial token it replaces answers 401 ``unauthenticated``."""
    run = ctx.run
    run.fresh_start(check_seed(V5_AGENT))
    agent, device = run.agent(), run.device()
    with ctx.step("Enroll; confirmation answers a new token") as step:
        step.expect_status(agent.sign_in(), 200)
        enrolling = agent.token
        account = agent.enroll(device, step)
        step.expect(agent.token != enrolling, "confirmation answered the same token")
    with ctx.step("The enrollment's partial token has ended", ("ENR-14",)) as step:
        step.expect_status(me(agent, enrolling), 401, "unauthenticated")
    run.advance(account.period)
    with ctx.step("Log in; the code answers a new token") as step:
        step.expect_status(agent.sign_in(), 200)
        partial = agent.token
        code = device.code_now()
        step.evidence(code=code)
        step.expect_status(agent.submit_otp(code), 200)
        step.expect(agent.token != partial, "the code answered the same token")
    with ctx.step("The login's partial token has ended; the full one hosts", ("ENR-14",)) as step:
        step.expect_status(me(agent, partial), 401, "unauthenticated")
        step.expect_status(agent.host_support_session(token=partial), 401, "unauthenticated")
        step.expect_status(agent.host_support_session(), 201)


@check(
    "sessions-confirm-ends-other-sessions",
    "End the agent's other sessions when a new device is confirmed, as declared",
    plan="sessions",
    requirements=("ENR-10", "ENR-14"),
    killed_by=("no_token_rotation",),
)
def confirm_ends_other_sessions(ctx: CheckContext) -> None:
    """With ``confirm_ends_other_sessions`` declared: an agent logged in on one client
    re-enrolls on another; at confirmation the first client's full token ends."""
    run = ctx.run
    if run.policy.get("sessions", {}).get("confirm_ends_other_sessions") is not True:
        ctx.not_applicable("the target does not declare that confirming ends other sessions")
    first, device, account = start_with_enrolled_agent(ctx)
    run.advance(account.period)
    with ctx.step("Log in on a first client") as step:
        code = device.code_now()
        step.evidence(code=code)
        step.expect_status(first.sign_in(), 200)
        step.expect_status(first.submit_otp(code), 200)
    cooldown = int(run.policy.get("email_code", {}).get("resend_cooldown_seconds", 30))
    run.advance(cooldown + account.period)
    second = run.agent(first.email, client="desktop")
    with ctx.step("Re-enroll on a second client and confirm") as step:
        step.expect_status(second.sign_in(), 200)
        second.enroll(run.device(), step)
    with ctx.step("The first client's session has ended", ("ENR-10",)) as step:
        step.expect_status(first.me(), 401, "unauthenticated")
    with ctx.step("The second client's new session works") as step:
        step.expect_status(second.host_support_session(), 201)
