"""The measured acceptance window (checklist §3), against the declaration and RFC 6238.

The measurement (``conformance.measure.measure_window``) submits one code per
sample, on a fresh credential each: the code of the step ``offset`` steps from
the server's current step, at ``phase`` seconds into a step (the start, one
second in, the middle and the last second). Offsets run from -N to +N, N the
declared window + 2 (at least 3), growing while acceptance reaches near the
edge. Without a clock the harness can move, one row of samples is taken at the
server's real time, each away from a step boundary.
"""

from __future__ import annotations

from conformance.checks import CheckContext, check
from conformance.drivers.seam import Capability
from conformance.measure import WindowMeasurement
from conformance.measured import declared_window


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


def duration(seconds: float) -> str:
    """Seconds in words: "90 seconds", "3 minutes", "2.5 hours"."""
    if seconds < 120:
        return f"{seconds:g} seconds"
    if seconds < 7200:
        return f"{seconds / 60:g} minutes"
    return f"{seconds / 3600:g} hours"


def _rows(ctx: CheckContext, window: WindowMeasurement, declared: tuple[int, int] | None) -> None:
    """One step per phase: the accepted offsets, and what differs from ``declared``."""
    labels = window.phase_labels()
    for row, label in enumerate(labels):
        where = "in real time" if window.real_time else f"at {label} s into a step"
        title = f"Offsets {window.offsets[0]:+d}..{window.offsets[-1]:+d} {where}"
        with ctx.step(title, ("WIN-01", "WIN-02", "WIN-04"), on_failure="continue") as step:
            accepted = window.rows[row]
            samples = [
                s.as_dict()
                for s in window.samples[row * len(window.offsets) :][: len(window.offsets)]
            ]
            step.evidence(samples=samples)
            shown = ", ".join(f"{o:+d}" for o in window.accepted_offsets(row))
            step.note(f"accepted offsets: {shown or 'none'}")
            if 0 not in window.accepted_offsets(row):
                step.fail(f"{where} the current step's own code was refused")
            if declared is not None:
                outside, inside = deviations(window.offsets, accepted, *declared)
                if outside:
                    step.fail(f"{where} accepted {_list(outside)} outside the declared window")
                if inside:
                    step.fail(f"{where} refused {_list(inside)} inside the declared window")
            odd = sorted({s["answer"] for s in samples if s["answer"].startswith("error")})
            if odd:
                step.fail(f"{where} some samples made the target fail: {', '.join(odd)}")


def _chart(ctx: CheckContext, window: WindowMeasurement, declared: tuple[int, int] | None) -> None:
    ctx.chart(
        "window",
        "Measured acceptance window" + (" (real time)" if window.real_time else ""),
        window.chart(None if declared is None else {"back": declared[0], "forward": declared[1]}),
    )


@check(
    "window-measured-matches-declared",
    "Accept exactly the declared window of time steps, at every phase of a step",
    plan="window",
    requirements=("WIN-01", "WIN-02", "WIN-04", "WIN-07"),
    needs=(Capability.VERIFIER, Capability.DECLARED_POLICY),
    killed_by=(
        "undeclared_wide_window",
        "undeclared_narrow_window",
    ),
)
def measured_matches_declared(ctx: CheckContext) -> None:
    """Measure acceptance at offsets -N..+N steps at four phases of a step and compare
    with the declared ``window`` (back, forward). A code accepted outside the
    declaration and a code refused inside it both fail (NIST's defined lifetime,
    WIN-07: measured ≠ declared); the chart shows both."""
    run = ctx.run
    with ctx.step("Read the declared window", ("WIN-07",)) as step:
        declared = declared_window(run.declared)
        if declared is None:
            ctx.not_applicable("the target declares no window (back and forward steps)")
        step.evidence(declared={"back": declared[0], "forward": declared[1]})
        step.note(f"declared back {declared[0]}, forward {declared[1]}")
    window = run.measured.window()
    _rows(ctx, window, declared)
    _chart(ctx, window, declared)


@check(
    "window-at-most-one-step-back",
    "Accept at most one time step back (RFC 6238 §5.2)",
    plan="window",
    requirements=("WIN-02", "WIN-04", "WIN-09"),
    severity="warning",
    needs=(Capability.VERIFIER,),
    killed_by=("undeclared_wide_window",),
)
def at_most_one_step_back(ctx: CheckContext) -> None:
    """RFC 6238 §5.2 RECOMMENDs "at most one time step" of network delay: a wider
    window back keeps each code valid after it leaves the app's screen. A
    SHOULD, so a wider window is a warning that says for how long."""
    window = ctx.run.measured.window()
    declared = declared_window(ctx.run.declared)
    with ctx.step("The measured window looks back at most one step", ("WIN-02",)) as step:
        period = window.period
        step.evidence(
            back=window.back, forward=window.forward, period=period, measured=window.measured()
        )
        step.note(f"measured back {window.back}, forward {window.forward} steps of {period} s")
        if window.back > 1:
            step.warn(
                f"{window.back} steps back are accepted: a code stays valid for "
                f"{duration(window.back * period)} after it leaves the screen "
                "(RFC 6238 recommends at most one step)"
            )
    if declared is None:
        # Otherwise window-measured-matches-declared draws it, with the declaration.
        _chart(ctx, window, declared)


def _list(offsets: list[int]) -> str:
    words = ", ".join(f"{o:+d}" for o in offsets)
    return f"offset{'s' if len(offsets) > 1 else ''} {words}"
