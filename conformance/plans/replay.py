"""Replay: each code at most once (checklist §4).

The first three checks go through the verifier (every target); the setup-code
check is the v1 contract's enrollment.
"""

from __future__ import annotations

from conformance.checks import CheckContext, Step, check
from conformance.drivers.seam import Capability
from conformance.measure import PARALLEL_SUBMISSIONS, ReplayProbe
from conformance.session import start_with_enrolled_agent

VERIFIER = (Capability.VERIFIER,)


def _pair(step: Step, probe: ReplayProbe) -> None:
    """Evidence of a two-submission probe; the first submission must have been accepted."""
    step.evidence(**probe.as_dict())
    step.answer(probe.first.answer)
    if probe.second is not None:
        step.answer(probe.second.answer)
    if not probe.first.accepted:
        step.stop(
            f"the first code ({probe.first.code}) was {probe.first.answer.describe()}: "
            "there was nothing to replay"
        )


@check(
    "replay-same-code-twice",
    "Refuse a code that was already accepted",
    plan="replay",
    requirements=("RPL-01", "RPL-02"),
    needs=VERIFIER,
    killed_by=("no_replay_guard",),
)
def same_code_twice(ctx: CheckContext) -> None:
    """Log in with a code, then submit the same code again a second later, from a
    new attempt: RFC 6238 §5.2 says the verifier MUST NOT accept it."""
    probe = ctx.run.measured.same_code()
    with ctx.step("Submit the current code, then the same code again", ("RPL-01",)) as step:
        _pair(step, probe)
        assert probe.second is not None
        step.expect(
            not probe.second.accepted,
            "the same code was accepted twice: a code seen over a shoulder or in a phishing "
            "proxy logs in again",
        )
        step.note(f"the second submission was {probe.second.answer.describe()}")


@check(
    "replay-older-step-after-newer",
    "Refuse an unused code of an older step once a newer one was accepted",
    plan="replay",
    requirements=("RPL-02", "WIN-04"),
    needs=VERIFIER,
    killed_by=("no_replay_guard",),
)
def older_step_after_newer(ctx: CheckContext) -> None:
    """After a newer step's code is accepted, an older step's code (never used, still in
    the window) is refused: the "last accepted step" rule (checklist RPL-02, derived).
    NIST's "only once" is about the same code, so accepting it is a warning; against a
    target that declares the rule (``replay: monotonic_step``) it is a failure."""
    probe = ctx.run.measured.older_step_after_newer()
    if probe is None:
        ctx.not_applicable("the measured window accepts no step but the current one")
    declared = (ctx.run.declared or {}).get("replay")
    with ctx.step(f"Submit {probe.label}", ("RPL-02",)) as step:
        _pair(step, probe)
        assert probe.second is not None
        step.note(f"the older code was {probe.second.answer.describe()}")
        if probe.second.accepted:
            message = (
                "an older step's unused code was accepted after a newer one: a code read over "
                "a shoulder stays usable until it leaves the window"
            )
            if declared == "monotonic_step":
                step.fail(f"{message} (the target declares replay: monotonic_step)")
            else:
                step.warn(message)


@check(
    "replay-parallel-race",
    f"Accept exactly one of {PARALLEL_SUBMISSIONS} simultaneous submissions of one code",
    plan="replay",
    requirements=("RPL-01", "RPL-02"),
    needs=VERIFIER,
    killed_by=("no_replay_guard",),
)
def parallel_race(ctx: CheckContext) -> None:
    """Ten parallel clients submit the same valid code at once, in five rounds on fresh
    credentials; replay protection must be atomic (one check-and-set), or several of
    them log in. Submissions the target could not answer at all are a warning:
    concurrent logins fail, which is no replay but no good either."""
    race = ctx.run.measured.race()
    with ctx.step(
        f"Submit the same code from {race.submissions} clients at once, {len(race.rounds)} times",
        ("RPL-01",),
    ) as step:
        step.evidence(
            accepted_by_round=race.accepted_by_round,
            answers=[sorted(a.describe() for a in answers) for answers in race.rounds],
        )
        several = [n for n in race.accepted_by_round if n != 1]
        if several:
            step.fail(
                f"a round accepted {max(several)} of {race.submissions} simultaneous "
                f"submissions (accepted per round: {race.accepted_by_round})"
                + ("" if max(several) > 1 else ": the valid code was refused")
            )
        elif race.errors:
            sample = race.errors[0].describe()
            step.warn(
                f"{len(race.errors)} of {len(race.answers)} simultaneous submissions ended in "
                f"an error ({sample}): concurrent logins fail instead of being refused"
            )
        else:
            step.note(f"exactly one accepted in each of {len(race.rounds)} rounds")


@check(
    "replay-setup-code-not-reusable-for-login",
    "Refuse the setup code at the first login",
    plan="replay",
    requirements=("RPL-01", "URI-09"),
    killed_by=("reusable_setup_code",),
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
