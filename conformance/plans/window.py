"""The measured acceptance window, compared with the declared one (checklist §3).

Each sample is one code, for the step ``offset`` steps away from the server's
current step, submitted at ``phase`` seconds into a step. Samples must not
disturb each other, so the measurement keeps the state clean between them
instead of resetting the server for each (a reset re-hashes passwords):

- replay: every sample stands on a fresh step, further from the previous one
  than any offset reaches, so no code of an earlier sample can be "older";
- drift: after an accepted sample off the current step the server may have
  recorded a drift; a login with the current step's code re-centres it
  (and when the server refuses that, a reset and a new enrollment do);
- throttling: a successful login clears the failure count, so one is made
  before the failures in a row could reach the declared lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.checks import CheckContext, check
from conformance.http import Exchange
from conformance.session import V5_AGENT, Agent, RunContext, check_seed
from simulators.device import Account, AuthenticatorDevice

#: The window's sample extends this many steps beyond the declared window, each way.
MARGIN_STEPS = 2
MIN_REACH_STEPS = 3


def phases_of(period: int) -> list[int]:
    """Seconds into a step to sample at: its start, one second in, its middle, its end."""
    return sorted({0, min(1, period - 1), period // 2, period - 1})


def deviations(
    offsets: list[int], accepted: list[bool], back: int, forward: int
) -> tuple[list[int], list[int]]:
    """Offsets accepted outside the declared window, and offsets refused inside it."""
    outside = [
        o for o, ok in zip(offsets, accepted, strict=True) if ok and not -back <= o <= forward
    ]
    inside = [
        o for o, ok in zip(offsets, accepted, strict=True) if not ok and -back <= o <= forward
    ]
    return outside, inside


class ProbeFailed(Exception):
    """The target answered a call the measurement relies on wrongly (not a sample)."""


def _expect(exchange: Exchange, status: int) -> None:
    if exchange.status != status:
        raise ProbeFailed(
            f"{exchange.method} {exchange.path} answered {exchange.describe()}, expected {status}"
        )


@dataclass
class WindowProbe:
    """One enrolled agent and the bookkeeping that keeps samples independent."""

    run: RunContext
    period: int
    reach: int
    max_failures: int
    partial_ttl: float
    agent: Agent = field(init=False)
    device: AuthenticatorDevice = field(init=False)
    account: Account = field(init=False)
    step_index: int = 0
    failures_in_a_row: int = 0
    signed_in_at: float | None = None
    resyncs: int = 0
    resets: int = 0

    def fresh(self) -> None:
        """Reset the target and enroll the agent again (the slow way to a clean state)."""
        run = self.run
        run.fresh_start(check_seed(V5_AGENT))
        self.agent, self.device = agent, device = run.agent(), run.device()
        _expect(agent.sign_in(), 200)
        _expect(agent.start_enrollment(), 202)
        _expect(agent.verify_email(agent.latest_email_code()), 200)
        _expect(agent.get_device(), 200)
        account = agent.provision(device)
        if account is None:
            raise ProbeFailed("the RFC reference device refused the provisioning URI")
        _expect(agent.confirm(device.code_now()), 200)
        self.account = account
        self.step_index = account.step_at(run.clock.now())
        self.failures_in_a_row = 0
        self.signed_in_at = None

    def move_to(self, phase: int) -> float:
        """The server clock to ``phase`` seconds into a step no earlier sample came near."""
        self.step_index += 2 * self.reach + 2
        now = float(self.step_index * self.period + phase)
        self.run.set_time(now)
        return now

    def submit(self, code: str) -> Exchange:
        """Submit a code from a partial session, signing in when none is alive."""
        now = self.run.clock.now()
        # Before the declared partial-token lifetime runs out (the clock jumps a lot).
        stale = self.signed_in_at is None or now - self.signed_in_at > self.partial_ttl * 0.9
        if self.agent.stage != "verify_otp" or stale:
            signed = self._sign_in(now)
            if signed is not None:
                return signed
        answer = self.agent.submit_otp(code)
        if answer.error_code == "unauthenticated":
            # The partial token ended after all: sign in again rather than count a refusal.
            signed = self._sign_in(now)
            answer = signed if signed is not None else self.agent.submit_otp(code)
        if answer.status == 200:
            self.failures_in_a_row = 0
            self.signed_in_at = None
        else:
            self.failures_in_a_row += 1
        return answer

    def _sign_in(self, now: float) -> Exchange | None:
        """A new partial session; the answer instead when sign-in is locked (423)."""
        signed = self.agent.sign_in()
        if signed.status == 423:
            return signed  # the declared "sign-in while locked": a lock all the same
        _expect(signed, 200)
        self.signed_in_at = now
        return None

    def resync(self) -> None:
        """Log in with the current step's code (clears failures and drift), else start over."""
        self.resyncs += 1
        now = self.move_to(self.period // 2)
        if self.submit(self.account.code_at(now)).status != 200:
            self.resets += 1
            self.fresh()

    def unambiguous(self, phase: int, offset: int) -> tuple[float, str]:
        """A fresh step where the sample's code is no other sampled step's code.

        Six digits collide about once in a million pairs: a code shared with an
        accepted step would read as acceptance of this offset.
        """
        while True:
            now = self.move_to(phase)
            codes = [
                self.account.code_at(now + k * self.period)
                for k in range(-self.reach, self.reach + 1)
            ]
            code = codes[offset + self.reach]
            if codes.count(code) == 1:
                return now, code

    def sample(self, phase: int, offset: int) -> dict[str, Any]:
        """Submit the code ``offset`` steps away at ``phase``; the answer, as evidence."""
        if self.failures_in_a_row >= self.max_failures - 1:
            self.resync()
        now, code = self.unambiguous(phase, offset)
        answer = self.submit(code)
        if answer.status == 423:
            # The harness ran into the lock after all: start clean and sample once more.
            self.resets += 1
            self.fresh()
            now, code = self.unambiguous(phase, offset)
            answer = self.submit(code)
        accepted, step = answer.status == 200, self.step_index + offset
        if accepted and offset != 0:
            self.resync()
        return {
            "phase": phase,
            "offset": offset,
            "server_time": now,
            "step": step,
            "code": code,
            "answer": answer.describe(),
            "accepted": accepted,
        }


@check(
    "window-measured-matches-declared",
    "Accept exactly the declared window of time steps, at every phase of a step",
    plan="window",
    requirements=("WIN-01", "WIN-02", "WIN-04", "WIN-07"),
)
def measured_matches_declared(ctx: CheckContext) -> None:
    """Measure acceptance at offsets -N..+N steps (N = the declared window + 2, at
    least 3) at the start, second 1, middle and last second of a step, and compare
    with the declared ``window`` (back, forward). A code accepted outside the
    declaration and a code refused inside it both fail; the chart shows both."""
    run = ctx.run
    policy = run.policy
    with ctx.step("Read the declared window", ("WIN-07",)) as step:
        window = policy.get("window")
        if not isinstance(window, dict):
            step.stop("the target declares no window in /__harness__/policy")
        back, forward = int(window.get("back", -1)), int(window.get("forward", -1))
        if back < 0 or forward < 0:
            step.stop(f"the declared window {window} has no back and forward step counts")
        _, _, period = run.totp_parameters
        reach = max(back, forward, MIN_REACH_STEPS - MARGIN_STEPS) + MARGIN_STEPS
        offsets = list(range(-reach, reach + 1))
        phases = phases_of(period)
        step.evidence(declared={"back": back, "forward": forward}, period=period, offsets=offsets)
        step.note(f"declared back {back}, forward {forward}; period {period} s")
    throttle = policy.get("throttle", {})
    sessions = policy.get("sessions", {})
    probe = WindowProbe(
        run,
        period=period,
        reach=reach,
        max_failures=max(2, int(throttle.get("max_failures", 3))),
        partial_ttl=float(sessions.get("partial_token_ttl_seconds", 300)),
    )
    with ctx.step("Enroll an agent with the RFC reference device", ("URI-09",)) as step:
        try:
            probe.fresh()
        except ProbeFailed as exc:
            step.stop(str(exc))
    by_phase: list[list[bool]] = []
    broken = False
    for phase in phases:
        title = f"Offsets {offsets[0]:+d}..{offsets[-1]:+d} at {phase} s into a step"
        with ctx.step(title, on_failure="continue") as step:
            try:
                samples = [probe.sample(phase, offset) for offset in offsets]
            except ProbeFailed as exc:
                broken = True
                step.stop(f"the measurement could not go on: {exc}")
            accepted = [s["accepted"] for s in samples]
            by_phase.append(accepted)
            step.evidence(samples=samples)
            outside, inside = deviations(offsets, accepted, back, forward)
            shown = ", ".join(f"{o:+d}" for o, ok in zip(offsets, accepted, strict=True) if ok)
            step.note(f"accepted offsets: {shown or 'none'}")
            if outside:
                step.fail(f"at {phase} s accepted {_list(outside)} outside the declared window")
            if inside:
                step.fail(f"at {phase} s refused {_list(inside)} inside the declared window")
            odd = sorted({s["answer"] for s in samples if s["answer"][:3] not in ("200", "401")})
            if odd:
                step.fail(f"at {phase} s some samples answered {', '.join(odd)}")
        if broken:
            break
    ctx.steps[-1].evidence.update(resyncs=probe.resyncs, resets=probe.resets)
    if by_phase:
        ctx.chart(
            "window",
            "Measured acceptance window",
            {
                "offsets": offsets,
                "accepted": [any(column) for column in zip(*by_phase, strict=True)],
                "phases": phases[: len(by_phase)],
                "accepted_by_phase": by_phase,
                "declared": {"back": back, "forward": forward},
            },
        )


def _list(offsets: list[int]) -> str:
    words = ", ".join(f"{o:+d}" for o in offsets)
    return f"offset{'s' if len(offsets) > 1 else ''} {words}"
