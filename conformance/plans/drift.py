"""Drift tracking: a device whose clock runs off, step by step (checklist §3, RFC 6238 §6).

The measurement (``conformance.measure.measure_drift``) walks one credential's
device away from the server's time one step per login, ahead when the measured
window accepts a future step (else behind), and stops at the first refusal or
``DRIFT_BUDGET_STEPS`` past the window's edge.
"""

from __future__ import annotations

from conformance.checks import CheckContext, check
from conformance.drivers.seam import Capability
from conformance.measure import DriftMeasurement
from conformance.plans.window import duration


def declared_drift(ctx: CheckContext) -> tuple[bool, int | None] | None:
    """(tracking, max_steps) as the target declares them, or None when it declares no drift."""
    drift = (ctx.run.declared or {}).get("drift")
    if not isinstance(drift, dict) or not isinstance(drift.get("tracking"), bool):
        return None
    max_steps = drift.get("max_steps")
    return bool(drift["tracking"]), max_steps if isinstance(max_steps, int) else None


def _walk(ctx: CheckContext, drift: DriftMeasurement) -> None:
    side = "ahead" if drift.direction == 1 else "behind"
    with ctx.step(
        f"Walk a device's clock {side}, one step per login",
        ("WIN-04", "WIN-05"),
        on_failure="continue",
    ) as step:
        step.evidence(
            edge=drift.edge,
            walk=[s.as_dict() for s in drift.walk],
            reached=drift.reached,
            budget_steps=drift.edge + drift.budget,
        )
        if drift.walk:
            step.answer(drift.walk[-1].answer)
        step.note(
            f"followed the device to {drift.reached} step(s) {side}; the window's edge is "
            f"{drift.edge}"
        )


@check(
    "drift-device-ahead-is-tracked",
    "Follow a device whose clock drifts one step past the window",
    plan="drift",
    requirements=("WIN-05", "WIN-04"),
    needs=(Capability.VERIFIER, Capability.DECLARED_POLICY),
    killed_by=("no_drift_tracking",),
)
def device_ahead_is_tracked(ctx: CheckContext) -> None:
    """A target that declares drift tracking follows a device at the edge of its
    window one step further: the recorded drift moves the window (RFC 6238 §6).
    Measured ≠ declared fails. Not applicable where no tracking is declared."""
    declared = declared_drift(ctx)
    if declared is None or not declared[0]:
        ctx.not_applicable("the target declares no drift tracking")
    drift = ctx.run.measured.drift()
    if drift.direction is None:
        ctx.not_applicable("the measured window accepts no step but the current one")
    _walk(ctx, drift)
    with ctx.step("The device was followed past the window's edge", ("WIN-05",)) as step:
        step.expect(
            drift.tracking,
            f"the target declares drift tracking, but a device {drift.edge + 1} step(s) off "
            "was refused after logins at the window's edge",
        )


@check(
    "drift-tracking-is-bounded",
    "Stop following a drifting device at a limit (the declared one, when declared)",
    plan="drift",
    requirements=("WIN-04", "WIN-05", "WIN-06", "WIN-07"),
    needs=(Capability.VERIFIER,),
    killed_by=("unbounded_drift",),
)
def tracking_is_bounded(ctx: CheckContext) -> None:
    """Walk a device's clock away one step per login. Tracking may follow it up to
    the declared ``max_steps`` plus the window, never further; a target that declares
    no tracking must not follow it past the window (measured ≠ declared fails). A
    target that declares nothing and follows the device without a limit departs from
    RFC 6238 §6's RECOMMENDED limit: a warning."""
    drift = ctx.run.measured.drift()
    if drift.direction is None:
        ctx.not_applicable("the measured window accepts no step but the current one")
    declared = declared_drift(ctx)
    _walk(ctx, drift)
    side = "ahead" if drift.direction == 1 else "behind"
    period = ctx.run.measured.parameters.period
    with ctx.step("The walk stopped within the limit", ("WIN-04", "WIN-06")) as step:
        step.evidence(
            reached_steps=drift.reached,
            bounded_steps=drift.bounded_steps,
            declared=None
            if declared is None
            else {"tracking": declared[0], "max_steps": declared[1]},
        )
        if declared is not None and declared[0] and declared[1] is not None:
            limit = declared[1] + drift.edge
            step.expect(
                drift.reached <= limit,
                f"the server followed the device to {drift.reached} step(s) {side}, beyond the "
                f"declared max_steps + window ({limit})",
            )
        elif declared is not None and not declared[0]:
            step.expect(
                not drift.tracking,
                f"the target declares no drift tracking, but followed the device to "
                f"{drift.reached} step(s) {side}",
            )
        elif drift.bounded_steps is None:
            step.warn(
                f"the server followed a drifting device {drift.reached} steps {side} and "
                f"had not stopped: a phone whose clock is {duration(drift.reached * period)} off "
                "still logs in (RFC 6238 §6 recommends a limit)"
            )
        else:
            step.note(f"tracking stops at {drift.bounded_steps} step(s) {side}")
