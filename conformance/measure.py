"""Measuring what a verifier really does: window, replay, throttle, drift, parameters.

Every measurement goes through the target seam (``conformance.drivers.seam``)
and takes a fresh credential per probe, so probes cannot disturb each other
(no replay of an earlier probe's code, no failure count or recorded drift
carried over). With a clock the harness moves (``Capability.CLOCK``) each
probe stands on steps no earlier probe came near, at a chosen phase of a
step. Without one (real-time mode) a probe runs at the server's current time,
placed away from a step boundary, and is taken again when a boundary passed
while it ran: the code's step is the one both ends of the exchange agree on.

The results are the ``extra.measured`` record of a target (docs/targets.md);
each measurement keeps its samples as evidence.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from conformance.drivers.seam import (
    DEFAULT_PARAMETERS,
    Answer,
    Credential,
    Driver,
    DriverError,
    TotpParameters,
    Unsupported,
    Verdict,
)

#: Checks and measurements start here: 2033-05-18, ten seconds into a step.
START_TIME: Final = 2_000_000_020.0
#: The window's samples reach this many steps beyond the widest acceptance seen, each way.
MARGIN_STEPS: Final = 2
MIN_REACH_STEPS: Final = 3
#: The widest window the measurement looks for (17.5 minutes each way at 30 s).
MAX_REACH_STEPS: Final = 35
#: NIST SP 800-63B §5.2.2: at most 100 consecutive failed attempts.
NIST_FAILURE_LIMIT: Final = 100
#: A lock still on after a day of server time is "permanent".
DAY: Final = 86_400
#: How far past its window a drifting device is followed before tracking counts as unbounded.
DRIFT_BUDGET_STEPS: Final = 20
#: Real time: a probe starts only this far from a step's end, and is retried this often.
REAL_TIME_GUARD_SECONDS: Final = 1.5
REAL_TIME_RETRIES: Final = 4
#: The parallel race of RPL-02's test: "10 parallel requests carrying the same valid code".
PARALLEL_SUBMISSIONS: Final = 10

Progress = Callable[[str], None]


class MeasurementFailed(Exception):
    """The target answered a call a measurement relies on wrongly (not a sample)."""


def phases_of(period: int) -> list[int]:
    """Seconds into a step to sample at: its start, one second in, its middle, its end."""
    return sorted({0, min(1, period - 1), period // 2, period - 1})


def wrong_codes(credential: Credential, unix_time: float, count: int, reach: int = 8) -> list[str]:
    """``count`` distinct well-formed codes wrong for every step within ``reach`` of the time."""
    digits = credential.parameters.digits
    near = {credential.code_at(unix_time, k) for k in range(-reach, reach + 1)}
    found: list[str] = []
    candidate = 0
    while len(found) < count:
        code = str(candidate * 7919 % 10**digits).zfill(digits)
        if code not in near and code not in found:
            found.append(code)
        candidate += 1
    return found


@dataclass
class Sample:
    """One code submitted, and what came of it."""

    offset: int
    phase: float
    server_time: float
    step: int
    code: str
    answer: Answer

    @property
    def accepted(self) -> bool:
        return self.answer.accepted

    def as_dict(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "phase": round(self.phase, 2),
            "server_time": round(self.server_time, 2),
            "step": self.step,
            "code": self.code,
            "answer": self.answer.describe(),
            "accepted": self.accepted,
        }


class Prober:
    """Fresh credentials on fresh steps, for one target and one set of parameters."""

    def __init__(
        self,
        driver: Driver,
        parameters: TotpParameters = DEFAULT_PARAMETERS,
        *,
        start: float = START_TIME,
        progress: Progress | None = None,
    ) -> None:
        self.driver = driver
        self.parameters = parameters
        self.period = parameters.period
        self.cursor = start
        self.progress = progress
        self.provisioned = 0
        self.submitted = 0
        self.retried = 0

    @property
    def real_time(self) -> bool:
        return self.driver.clock is None

    # -- time ----------------------------------------------------------------------------

    def set_time(self, unix_time: float) -> float:
        """The server's clock to ``unix_time`` (managed), or the real time (real-time mode)."""
        clock = self.driver.clock
        if clock is None:
            return time.time()
        clock.set(unix_time)
        return unix_time

    def step_start(self, steps_after: int, phase: float) -> float:
        """A time ``phase`` seconds into a step ``steps_after`` steps after the cursor."""
        step = math.floor(self.cursor / self.period) + steps_after
        return step * self.period + phase

    def move_on(self, unix_time: float, steps: int = 2) -> None:
        """Advance the cursor past ``unix_time`` so the next probe stands on untouched steps."""
        self.cursor = max(self.cursor, unix_time) + steps * self.period

    def wait_for_room(self, seconds_needed: float = REAL_TIME_GUARD_SECONDS) -> float:
        """Real time: wait (at most a step) until this many seconds remain in the step."""
        now = time.time()
        left = self.period - now % self.period
        if left < seconds_needed:
            time.sleep(left + 0.05)
        return time.time()

    # -- credentials ---------------------------------------------------------------------

    def provision(self, parameters: TotpParameters | None = None) -> Credential:
        self.provisioned += 1
        try:
            return self.driver.provision(parameters or self.parameters)
        except Unsupported:
            raise
        except DriverError as exc:
            raise MeasurementFailed(f"provisioning failed: {exc}") from exc

    def drop(self, credential: Credential) -> None:
        try:
            self.driver.drop(credential)
        except DriverError as exc:
            raise MeasurementFailed(f"dropping a credential failed: {exc}") from exc

    def submit(self, credential: Credential, code: str | int) -> Answer:
        self.submitted += 1
        try:
            return self.driver.submit(credential, code)
        except DriverError as exc:
            raise MeasurementFailed(f"a submission failed: {exc}") from exc

    def fresh(self, phase: float, *, gap: int = 0) -> tuple[Credential, float]:
        """A new credential, then the clock at ``phase`` into a step no probe came near.

        The credential is made a step before the probe; ``gap`` more steps lie between,
        so a window of ``gap`` steps back from the probe never reaches the step the
        provisioning used up (a setup code). Real time: the current time.
        """
        if self.real_time:
            credential = self.provision()
            return credential, time.time()
        made_at = self.set_time(self.step_start(1, min(phase, self.period / 2)))
        credential = self.provision()
        at = self.step_start(3 + gap, phase)
        self.set_time(at)
        self.move_on(made_at)
        return credential, at

    def sample(self, offset: int, phase: float, *, gap: int) -> Sample:
        """Submit the code ``offset`` steps from the server's step at ``phase``: one sample."""
        for _ in range(REAL_TIME_RETRIES):
            credential, at = self.fresh(phase, gap=gap)
            try:
                if self.real_time:
                    at = self.wait_for_room()
                code = credential.code_at(at, offset)
                answer = self.submit(credential, code)
                if self.real_time and credential.step_at(time.time()) != credential.step_at(at):
                    # A boundary passed while the code was on its way: its step is unclear.
                    self.retried += 1
                    continue
            finally:
                self.drop(credential)
            self.move_on(at)
            return Sample(
                offset, at % self.period, at, credential.step_at(at) + offset, code, answer
            )
        raise MeasurementFailed(
            f"{REAL_TIME_RETRIES} probes in a row straddled a step boundary; "
            "the target answers too slowly for real-time mode"
        )


# -- the window ----------------------------------------------------------------------------


@dataclass
class WindowMeasurement:
    """Which offsets the target accepts, by phase of a step."""

    offsets: list[int]
    phases: list[float]
    #: One row per phase: accepted per offset.
    rows: list[list[bool]]
    samples: list[Sample]
    real_time: bool
    period: int

    def accepted_offsets(self, row: int) -> list[int]:
        return [o for o, ok in zip(self.offsets, self.rows[row], strict=True) if ok]

    @property
    def back(self) -> int:
        """Steps before the current one accepted at some phase (0 when none)."""
        accepted = [o for r in range(len(self.rows)) for o in self.accepted_offsets(r)]
        return max([-o for o in accepted if o < 0], default=0)

    @property
    def forward(self) -> int:
        accepted = [o for r in range(len(self.rows)) for o in self.accepted_offsets(r)]
        return max([o for o in accepted if o > 0], default=0)

    @property
    def current_accepted(self) -> bool:
        return all(row[self.offsets.index(0)] for row in self.rows)

    @property
    def contiguous(self) -> bool:
        """Every row accepts one unbroken run of offsets (no holes)."""
        for r in range(len(self.rows)):
            accepted = self.accepted_offsets(r)
            if accepted and accepted != list(range(accepted[0], accepted[-1] + 1)):
                return False
        return True

    def phase_labels(self) -> list[str]:
        if self.real_time:
            return ["real time"]
        return [f"{p:g}" for p in self.phases]

    def measured(self) -> dict[str, Any]:
        """The ``window`` entry of ``extra.measured``."""
        return {
            "back": self.back,
            "forward": self.forward,
            "phases": "real time" if self.real_time else [int(p) for p in self.phases],
            "accepted_by_phase": {
                label: self.accepted_offsets(r) for r, label in enumerate(self.phase_labels())
            },
            "contiguous": self.contiguous,
            "period": self.period,
        }

    def chart(self, declared: dict[str, int] | None) -> dict[str, Any]:
        """The ``window`` chart's data (docs/result-log.md)."""
        data: dict[str, Any] = {
            "offsets": self.offsets,
            "accepted": [any(column) for column in zip(*self.rows, strict=True)],
        }
        if not self.real_time:
            data["phases"] = [int(p) for p in self.phases]
            data["accepted_by_phase"] = self.rows
        if declared is not None:
            data["declared"] = declared
        return data


def measure_window(
    prober: Prober, *, declared_back: int = 0, declared_forward: int = 0
) -> WindowMeasurement:
    """Acceptance of offsets -R..+R steps at the phases of a step, R growing until refused.

    R starts at the declared window + 2 (at least 3) and grows by 2 while a row
    still accepts an offset within 2 of its edge (at most ``MAX_REACH_STEPS``).
    In real time there is one row: the phases the probes happened to fall on.
    """
    period = prober.period
    phases: list[float] = [0.0] if prober.real_time else [float(p) for p in phases_of(period)]
    reach = max(declared_back, declared_forward, MIN_REACH_STEPS - MARGIN_STEPS) + MARGIN_STEPS
    found: dict[tuple[int, int], Sample] = {}

    def fill(offsets: list[int]) -> None:
        for row, phase in enumerate(phases):
            for offset in offsets:
                if (row, offset) not in found:
                    # A gap of the whole reach: no sample's window touches the setup step.
                    found[(row, offset)] = prober.sample(offset, phase, gap=reach + 2)

    fill(list(range(-reach, reach + 1)))
    while reach < MAX_REACH_STEPS:
        near_edge = [
            o for (_, o), s in found.items() if s.accepted and abs(o) > reach - MARGIN_STEPS
        ]
        if not near_edge:
            break
        reach = min(reach + MARGIN_STEPS, MAX_REACH_STEPS)
        fill(list(range(-reach, reach + 1)))
    offsets = list(range(-reach, reach + 1))
    rows = [[found[(r, o)].accepted for o in offsets] for r in range(len(phases))]
    samples = [found[(r, o)] for r in range(len(phases)) for o in offsets]
    if prober.real_time:
        phases = sorted({round(s.phase) for s in samples})
        phases = [float(p) for p in phases]
    return WindowMeasurement(offsets, phases, rows, samples, prober.real_time, period)


# -- replay --------------------------------------------------------------------------------


@dataclass
class ReplayProbe:
    """Two submissions on one fresh credential: the first must be accepted."""

    label: str
    first: Sample
    second: Sample | None

    @property
    def outcome(self) -> Literal["refused", "accepted"] | None:
        """Whether the second submission was refused; None when the first was not accepted."""
        if self.second is None or not self.first.accepted:
            return None
        return "accepted" if self.second.accepted else "refused"

    def as_dict(self) -> dict[str, Any]:
        return {
            "probe": self.label,
            "first": self.first.as_dict(),
            "second": None if self.second is None else self.second.as_dict(),
            "outcome": self.outcome,
        }


def _pair(prober: Prober, first_offset: int, second_offset: int, label: str) -> ReplayProbe:
    """Accept the code ``first_offset`` steps away, then offer ``second_offset``'s code."""
    for _ in range(REAL_TIME_RETRIES):
        credential, at = prober.fresh(prober.period / 2, gap=4)
        try:
            if prober.real_time:
                at = prober.wait_for_room(2 * REAL_TIME_GUARD_SECONDS)
            step = credential.step_at(at)
            first_code = credential.code_for_step(step + first_offset)
            first = Sample(
                first_offset,
                at % prober.period,
                at,
                step + first_offset,
                first_code,
                prober.submit(credential, first_code),
            )
            second = None
            if first.accepted:
                # A second later, still in the same step (RPL-01: "in the same or next step").
                later = prober.set_time(at + 1) if not prober.real_time else time.time()
                second_code = credential.code_for_step(step + second_offset)
                second = Sample(
                    second_offset,
                    later % prober.period,
                    later,
                    step + second_offset,
                    second_code,
                    prober.submit(credential, second_code),
                )
            if prober.real_time and credential.step_at(time.time()) != step:
                prober.retried += 1
                continue
        finally:
            prober.drop(credential)
        prober.move_on(at)
        return ReplayProbe(label, first, second)
    raise MeasurementFailed("replay probes kept straddling a step boundary")


@dataclass
class RaceMeasurement:
    """Rounds of the same valid code from parallel clients, each round on a fresh credential."""

    submissions: int
    #: One list of answers per round.
    rounds: list[list[Answer]]

    @property
    def accepted_by_round(self) -> list[int]:
        return [sum(a.accepted for a in answers) for answers in self.rounds]

    @property
    def accepted(self) -> int:
        """The most submissions any round accepted (1 is right)."""
        return max(self.accepted_by_round, default=0)

    @property
    def answers(self) -> list[Answer]:
        return [a for answers in self.rounds for a in answers]

    @property
    def errors(self) -> list[Answer]:
        return [a for a in self.answers if a.verdict is Verdict.ERROR]


def measure_same_code(prober: Prober) -> ReplayProbe:
    """The current step's code accepted, then the same code again a second later."""
    return _pair(prober, 0, 0, "the same code twice")


def measure_older_after_newer(prober: Prober, window: WindowMeasurement) -> ReplayProbe | None:
    """After a newer step's code, an older step's unused code still in the window.

    With a forward window: the next step's code, then the current one's. With
    only a backward window: the current step's code, then the previous one's.
    None when the window accepts no step but the current one.
    """
    if window.forward >= 1:
        return _pair(prober, 1, 0, "the next step's code, then the current step's")
    if window.back >= 1:
        return _pair(prober, 0, -1, "the current step's code, then the previous step's")
    return None


#: Rounds of the race: a lost race shows only now and then (one round in ten, seen here).
RACE_ROUNDS: Final = 5


def measure_race(
    prober: Prober, submissions: int = PARALLEL_SUBMISSIONS, rounds: int = RACE_ROUNDS
) -> RaceMeasurement:
    """The same valid code from ``submissions`` parallel clients at once, ``rounds`` times."""
    found: list[list[Answer]] = []
    while len(found) < rounds:
        for _ in range(REAL_TIME_RETRIES):
            credential, at = prober.fresh(prober.period / 2, gap=4)
            try:
                if prober.real_time:
                    at = prober.wait_for_room(3 * REAL_TIME_GUARD_SECONDS)
                code = credential.code_at(at)
                prober.submitted += submissions
                try:
                    answers = prober.driver.submit_together(credential, [code] * submissions)
                except DriverError as exc:
                    raise MeasurementFailed(f"the parallel submissions failed: {exc}") from exc
                if prober.real_time and credential.step_at(time.time()) != credential.step_at(at):
                    prober.retried += 1
                    continue
            finally:
                prober.drop(credential)
            prober.move_on(at)
            found.append(answers)
            break
        else:
            raise MeasurementFailed("race probes kept straddling a step boundary")
    return RaceMeasurement(submissions, found)


# -- throttling ----------------------------------------------------------------------------


@dataclass
class LockProbe:
    """``failures`` wrong codes, then (``after`` seconds later) the correct code."""

    failures: int
    after: float
    wrong_answers: list[str]
    correct: Sample

    @property
    def locked(self) -> bool:
        return not self.correct.accepted

    def as_dict(self) -> dict[str, Any]:
        shown = self.wrong_answers
        return {
            "wrong_codes": self.failures,
            "wrong_answers": sorted(set(shown)),
            "correct_code_after_seconds": self.after,
            "correct": self.correct.as_dict(),
            "locked": self.locked,
        }


def lock_probe(prober: Prober, failures: int, after: float = 0.0) -> LockProbe:
    """A fresh credential, ``failures`` distinct wrong codes, then the correct code."""
    for _ in range(REAL_TIME_RETRIES):
        credential, at = prober.fresh(1.0, gap=4)
        try:
            codes = wrong_codes(credential, at, failures)
            answers = [prober.submit(credential, code).describe() for code in codes]
            then = at + after
            clock = prober.driver.clock
            if clock is None:
                then = time.time()
            else:
                if clock.runs:
                    # A running clock (libfaketime) moved on while the wrong codes went in:
                    # count from the last one, and never set the clock back (a rate limit
                    # would not see them any more).
                    then = clock.now() + after
                prober.set_time(then)
            code = credential.code_at(then)
            correct = Sample(
                0,
                then % prober.period,
                then,
                credential.step_at(then),
                code,
                prober.submit(credential, code),
            )
            if (
                prober.real_time
                and not correct.accepted
                and credential.step_at(time.time()) != correct.step
            ):
                # The correct code's step ended on its way: it proves nothing about a lock.
                prober.retried += 1
                continue
        finally:
            prober.drop(credential)
        prober.move_on(at + after)
        return LockProbe(failures, after, answers, correct)
    raise MeasurementFailed("lock probes kept straddling a step boundary")


@dataclass
class ThrottleMeasurement:
    #: The count of wrong codes after which the correct code is refused; None within budget.
    locks_after: int | None
    #: Seconds until the correct code works again; "permanent" after a day; None unmeasured.
    lock_seconds: float | Literal["permanent"] | None
    budget: int
    probes: list[LockProbe] = field(default_factory=list)
    #: Why lock_seconds was not measured, when it was not.
    lock_seconds_note: str = ""

    def measured(self) -> dict[str, Any]:
        return {
            "locks_after": self.locks_after,
            "lock_seconds": self.lock_seconds,
            "budget": self.budget,
        }


def measure_locks_after(prober: Prober, budget: int = NIST_FAILURE_LIMIT) -> ThrottleMeasurement:
    """The fewest wrong codes after which the correct code is refused (bisection), if any."""
    probes = [lock_probe(prober, budget)]
    if not probes[0].locked:
        return ThrottleMeasurement(None, None, budget, probes)
    low, high = 0, budget  # not locked after `low` (0: trivially), locked after `high`
    while high - low > 1:
        middle = (low + high) // 2
        probe = lock_probe(prober, middle)
        probes.append(probe)
        if probe.locked:
            high = middle
        else:
            low = middle
    return ThrottleMeasurement(high, None, budget, probes)


def measure_lock_seconds(prober: Prober, throttle: ThrottleMeasurement) -> ThrottleMeasurement:
    """How long after ``locks_after`` wrong codes the correct code works again (bisection).

    Needs the clock: a lock still on a day of server time later is "permanent".
    """
    if throttle.locks_after is None:
        throttle.lock_seconds_note = "no lock within the probe budget"
        return throttle
    if prober.real_time:
        throttle.lock_seconds_note = "not measured in real time: it needs the server's clock moved"
        return throttle
    failures = throttle.locks_after
    day_later = lock_probe(prober, failures, DAY + prober.period)
    throttle.probes.append(day_later)
    if day_later.locked:
        throttle.lock_seconds = "permanent"
        return throttle
    low, high = 0, DAY + prober.period  # locked `low` seconds after, released `high` after
    while high - low > 1:
        middle = (low + high) // 2
        probe = lock_probe(prober, failures, middle)
        throttle.probes.append(probe)
        if probe.locked:
            low = middle
        else:
            high = middle
    throttle.lock_seconds = high
    return throttle


# -- drift -------------------------------------------------------------------------------


#: Tries a drifted device makes at one offset before the walk ends: a user whose code
#: is refused types the next one, and some servers learn a skew only from several
#: consecutive codes (Google's PAM module: three).
DRIFT_TRIES: Final = 3


@dataclass
class DriftMeasurement:
    #: +1: a device running ahead; -1: behind; None when the window accepts no other step.
    direction: int | None
    #: The window's edge that way: the furthest a device is accepted without tracking.
    edge: int
    #: Every login of the walk: (total steps off), accepted or not, retries included.
    walk: list[Sample]
    budget: int

    @property
    def reached(self) -> int:
        """The furthest total shift accepted (the walk ends at an offset refused every try)."""
        return max((abs(s.offset) for s in self.walk if s.accepted), default=0)

    @property
    def tracking(self) -> bool:
        return self.reached > self.edge

    @property
    def retried_offsets(self) -> list[int]:
        """Offsets accepted only after a refusal at the same offset (a learnt skew)."""
        found = []
        for previous, sample in zip(self.walk, self.walk[1:], strict=False):
            if sample.accepted and not previous.accepted and previous.offset == sample.offset:
                found.append(sample.offset)
        return found

    @property
    def bounded_steps(self) -> int | None:
        """The furthest shift accepted; None when the walk never stopped within its budget."""
        if self.reached >= self.edge + self.budget:
            return None
        return self.reached

    def measured(self) -> dict[str, Any]:
        return {
            "tracking": self.tracking if self.direction is not None else False,
            "bounded_steps": self.bounded_steps,
            "direction": {1: "ahead", -1: "behind", None: None}[self.direction],
            "budget_steps": self.edge + self.budget,
            "accepted_after_retries_at": self.retried_offsets,
        }


def measure_drift(
    prober: Prober, window: WindowMeasurement, budget: int = DRIFT_BUDGET_STEPS
) -> DriftMeasurement:
    """A device whose clock walks away one step per login, on one credential.

    It drifts ahead when the window accepts a future step, else behind. Each
    login stands two steps after the previous one (managed), so the codes'
    steps only grow; in real time the offsets grow by one per accepted login,
    which keeps them growing too. A refused offset is tried again at the next
    logins (``DRIFT_TRIES`` in all; once in real time); the walk ends at an offset
    refused every time.
    """
    if window.forward >= 1:
        direction, edge = 1, window.forward
    elif window.back >= 1:
        direction, edge = -1, window.back
    else:
        return DriftMeasurement(None, 0, [], budget)
    credential, at = prober.fresh(prober.period / 2, gap=edge + budget + 2)
    walk: list[Sample] = []
    # In real time a retry waits for the next step: a minute per refusal is too long.
    tries = 1 if prober.real_time else DRIFT_TRIES
    try:
        for steps_off in range(1, edge + budget + 1):
            offset = direction * steps_off
            accepted = False
            for _ in range(tries):
                if prober.real_time:
                    at = prober.wait_for_room()
                else:
                    at += 2 * prober.period
                    prober.set_time(at)
                code = credential.code_at(at, offset)
                answer = prober.submit(credential, code)
                walk.append(
                    Sample(
                        offset,
                        at % prober.period,
                        at,
                        credential.step_at(at) + offset,
                        code,
                        answer,
                    )
                )
                if answer.accepted:
                    accepted = True
                    break
            if not accepted:
                break
    finally:
        prober.drop(credential)
    prober.move_on(at)
    return DriftMeasurement(direction, edge, walk, budget)


# -- parameters ----------------------------------------------------------------------------

#: One dimension at a time from the common default (the issue's ``supported`` lists).
PARAMETER_TRIALS: Final = (
    ("algorithm", TotpParameters("SHA1", 6, 30)),
    ("algorithm", TotpParameters("SHA256", 6, 30)),
    ("algorithm", TotpParameters("SHA512", 6, 30)),
    ("digits", TotpParameters("SHA1", 7, 30)),
    ("digits", TotpParameters("SHA1", 8, 30)),
    ("period", TotpParameters("SHA1", 6, 60)),
)


@dataclass
class ParameterTrial:
    dimension: str
    asked: TotpParameters
    #: Why it cannot be provisioned (``Unsupported``), else None.
    unsupported: str | None = None
    #: The parameters the credential came with (its URI), when provisioned.
    handed_out: TotpParameters | None = None
    sample: Sample | None = None
    #: What was handed out with it: the secret's length, who made it, the URI, other fields.
    secret_bytes: int | None = None
    provisioned_by: str | None = None
    uri: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def value(self) -> str | int:
        return getattr(self.asked, self.dimension)  # type: ignore[no-any-return]

    @property
    def supported(self) -> bool:
        """Provisioned as asked, handed out as asked, and its codes accepted."""
        return (
            self.unsupported is None
            and self.handed_out == self.asked
            and self.sample is not None
            and self.sample.accepted
        )

    @property
    def silently_different(self) -> bool:
        """Provisioned, but codes of the asked parameters are refused or it handed out others."""
        if self.unsupported is not None:
            return False
        return self.handed_out != self.asked or (
            self.sample is not None and not self.sample.accepted
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "asked": self.asked.describe(),
            "unsupported": self.unsupported,
            "handed_out": None if self.handed_out is None else self.handed_out.describe(),
            "sample": None if self.sample is None else self.sample.as_dict(),
            "supported": self.supported,
        }


#: The trial of the parameters the target itself provisions, when they are none of the above.
DECLARED: Final = "declared"


def measure_parameters(
    driver: Driver, *, start: float = START_TIME, own: TotpParameters | None = None
) -> list[ParameterTrial]:
    """Provision each trial's parameters; a code computed with them must then be accepted.

    ``own``, the parameters the target provisions by default, is tried first when it is
    none of the trials (a server set to SHA512, 8 digits, 60 s refuses every one of them).
    """
    trials = []
    cursor = start
    wanted = list(PARAMETER_TRIALS)
    if own is not None and own not in [p for _, p in wanted]:
        wanted.insert(0, (DECLARED, own))
    for dimension, parameters in wanted:
        trial = ParameterTrial(dimension, parameters)
        prober = Prober(driver, parameters, start=cursor)
        try:
            credential, at = prober.fresh(parameters.period / 2, gap=4)
        except Unsupported as exc:
            trial.unsupported = str(exc) or "refused"
            trials.append(trial)
            continue
        try:
            if prober.real_time:
                at = prober.wait_for_room()
            trial.handed_out = credential.parameters
            trial.secret_bytes = len(credential.key)
            trial.provisioned_by = credential.provisioned_by
            trial.uri = credential.uri
            trial.fields = dict(credential.fields)
            # The code the asked parameters give: what a correct app would show.
            asked = Credential("trial", credential.key, parameters, at)
            code = asked.code_at(at)
            trial.sample = Sample(
                0,
                at % parameters.period,
                at,
                asked.step_at(at),
                code,
                prober.submit(credential, code),
            )
        finally:
            prober.drop(credential)
        cursor = max(prober.cursor, at) + 4 * parameters.period
        trials.append(trial)
    return trials


def supported_lists(trials: list[ParameterTrial]) -> dict[str, list[str | int]]:
    """The ``supported`` entry of ``extra.measured``: values that provisioned and verified."""
    found: dict[str, list[str | int]] = {"algorithm": [], "digits": [], "period": []}
    for trial in trials:
        if trial.supported:
            # The baseline trial (SHA1, 6, 30), or the target's own parameters when they are
            # none of the trials, shows every dimension's value.
            if trial.asked == DEFAULT_PARAMETERS or trial.dimension == DECLARED:
                for dimension in found:
                    value = getattr(trial.asked, dimension)
                    if value not in found[dimension]:
                        found[dimension].append(value)
            elif trial.value not in found[trial.dimension]:
                found[trial.dimension].append(trial.value)
    return found
