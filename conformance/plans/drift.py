"""Drift tracking: a device whose clock runs off, step by step (checklist §3, RFC 6238 §6)."""

from __future__ import annotations

from conformance.checks import CheckContext, OnFailure, check
from conformance.session import Agent, start_with_enrolled_agent
from simulators.device import Account


def declared_drift(ctx: CheckContext) -> tuple[int, int]:
    """(direction, window steps that way); not applicable when no drift is tracked.

    The device drifts ahead when the declared window accepts a future step, else behind.
    """
    policy = ctx.run.policy
    drift = policy.get("drift", {})
    if not drift.get("tracking"):
        ctx.not_applicable("the target declares no drift tracking")
    max_steps = int(drift.get("max_steps", 0))
    if max_steps < 1:
        ctx.not_applicable("the target declares drift tracking of at most 0 steps")
    window = policy.get("window", {})
    forward, back = int(window.get("forward", 0)), int(window.get("back", 0))
    if forward < 1 and back < 1:
        ctx.not_applicable("the declared window accepts no step but the current one")
    return (1, forward) if forward >= 1 else (-1, back)


def log_in_skewed(
    ctx: CheckContext,
    agent: Agent,
    account: Account,
    steps_off: int,
    title: str,
    *,
    refusal: str | None = None,
) -> bool:
    """Move two steps on, then log in with a device ``steps_off`` steps off; True if accepted.

    Moving on keeps every code on a step after the last accepted one (replay rule).
    With ``refusal``, a refusal fails the check with that sentence.
    """
    run = ctx.run
    run.advance(2 * account.period)
    now = run.clock.now()
    skew = steps_off * account.period
    code = account.code_at(now + skew)
    accepted = False
    on_failure: OnFailure = "stop" if refusal else "continue"
    with ctx.step(title, ("WIN-04", "WIN-05"), on_failure=on_failure) as step:
        step.evidence(
            skew_seconds=skew,
            server_time=now,
            device_time=now + skew,
            step=account.step_at(now + skew),
            offset=steps_off,
            code=code,
        )
        if not step.expect_status(agent.sign_in(), 200):
            step.stop()
        answer = step.exchange(agent.submit_otp(code))
        accepted = answer.status == 200
        step.note(f"answered {answer.describe()}")
        if refusal and not accepted:
            step.fail(f"{refusal} (answered {answer.describe()})")
    return accepted


@check(
    "drift-device-ahead-is-tracked",
    "Follow a device whose clock drifts one step past the window",
    plan="drift",
    requirements=("WIN-05", "WIN-04"),
)
def device_ahead_is_tracked(ctx: CheckContext) -> None:
    """A device at the edge of the declared window (one step ahead with the default
    policy) is accepted and its drift recorded; when its clock runs one step further
    it is still accepted, because the window is centred on the recorded drift.
    Needs the harness clock; a device behind is used when the window looks back only."""
    direction, edge = declared_drift(ctx)
    agent, _, account = start_with_enrolled_agent(ctx)
    side = "ahead" if direction > 0 else "behind"
    log_in_skewed(
        ctx,
        agent,
        account,
        direction * edge,
        f"Log in {edge} step(s) {side}: the edge of the declared window",
        refusal=f"a device {edge} step(s) {side}, inside the window, was refused",
    )
    log_in_skewed(
        ctx,
        agent,
        account,
        direction * (edge + 1),
        f"Log in {edge + 1} step(s) {side}: past the window, inside the tracked drift",
        refusal=f"a device that drifted to {edge + 1} step(s) {side} was refused: the "
        "recorded drift did not move the window",
    )
    log_in_skewed(
        ctx,
        agent,
        account,
        direction * (edge + 1),
        f"Log in again {edge + 1} step(s) {side}",
        refusal="the drifted device was refused at its next login",
    )


@check(
    "drift-tracking-is-bounded",
    "Stop following a drifting device at the declared limit",
    plan="drift",
    requirements=("WIN-04", "WIN-05", "WIN-06", "WIN-07"),
)
def tracking_is_bounded(ctx: CheckContext) -> None:
    """Walk a device's clock away one step per login: tracking may follow it up to
    the declared ``max_steps`` plus the window, never further (a larger drift needs
    an explicit resynchronisation, WIN-06). Needs the harness clock."""
    direction, edge = declared_drift(ctx)
    limit = int(ctx.run.policy["drift"]["max_steps"]) + edge
    agent, _, account = start_with_enrolled_agent(ctx)
    side = "ahead" if direction > 0 else "behind"
    reached = 0
    for steps_off in range(1, limit + 3):
        title = f"Log in {steps_off} step(s) {side}"
        if not log_in_skewed(ctx, agent, account, direction * steps_off, title):
            break
        reached = steps_off
    with ctx.step("The walk stopped within the declared limit", ("WIN-04", "WIN-06")) as step:
        step.evidence(reached_steps=reached, declared_limit_steps=limit)
        step.note(f"followed the device to {reached} step(s) {side}; declared limit {limit}")
        step.expect(
            reached <= limit,
            f"the server followed the device to {reached} step(s) {side}, beyond the "
            f"declared max_steps + window ({limit})",
        )
