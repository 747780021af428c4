"""One target's measurements, taken once and shared by the checks that judge them.

Two checks may judge one measurement (the window against the declared window,
and against RFC 6238's "at most one step back"): the first to ask takes it,
the others read it. ``measured()`` is the target's entry of
``extra.measured`` in the report (docs/targets.md), holding what was measured
in this run (a run of some checks only fills in what those checks needed).
"""

from __future__ import annotations

from typing import Any

from conformance.drivers.seam import DEFAULT_PARAMETERS, Driver, TotpParameters
from conformance.measure import (
    DriftMeasurement,
    ParameterTrial,
    Prober,
    RaceMeasurement,
    ReplayProbe,
    ThrottleMeasurement,
    WindowMeasurement,
    measure_drift,
    measure_lock_seconds,
    measure_locks_after,
    measure_older_after_newer,
    measure_parameters,
    measure_race,
    measure_same_code,
    measure_window,
    supported_lists,
)


def declared_parameters(declared: dict[str, Any] | None) -> TotpParameters:
    """The parameters the target declares it provisions, else the common default."""
    totp = (declared or {}).get("totp") or {}
    if not isinstance(totp, dict):
        return DEFAULT_PARAMETERS
    return TotpParameters(
        str(totp.get("algorithm", "SHA1")).upper(),
        int(totp.get("digits", 6)),
        int(totp.get("period", 30)),
    )


def declared_window(declared: dict[str, Any] | None) -> tuple[int, int] | None:
    """(back, forward) steps the target declares, or None."""
    window = (declared or {}).get("window")
    if not isinstance(window, dict):
        return None
    back, forward = window.get("back"), window.get("forward")
    if not isinstance(back, int) or not isinstance(forward, int) or back < 0 or forward < 0:
        return None
    return back, forward


class MeasuredTarget:
    """Lazily taken measurements of one target, each at most once per run."""

    def __init__(self, driver: Driver, declared: dict[str, Any] | None) -> None:
        self.driver = driver
        self.declared = declared
        self.parameters = declared_parameters(declared)
        self.prober = Prober(driver, self.parameters)
        self._window: WindowMeasurement | None = None
        self._same_code: ReplayProbe | None = None
        self._older: ReplayProbe | None = None
        self._older_taken = False
        self._race: RaceMeasurement | None = None
        self._throttle: ThrottleMeasurement | None = None
        self._lock_taken = False
        self._drift: DriftMeasurement | None = None
        self._parameters: list[ParameterTrial] | None = None

    @property
    def real_time(self) -> bool:
        return self.driver.clock is None

    def window(self) -> WindowMeasurement:
        if self._window is None:
            back, forward = declared_window(self.declared) or (0, 0)
            self._window = measure_window(self.prober, declared_back=back, declared_forward=forward)
        return self._window

    def same_code(self) -> ReplayProbe:
        if self._same_code is None:
            self._same_code = measure_same_code(self.prober)
        return self._same_code

    def older_step_after_newer(self) -> ReplayProbe | None:
        if not self._older_taken:
            self._older = measure_older_after_newer(self.prober, self.window())
            self._older_taken = True
        return self._older

    def race(self) -> RaceMeasurement:
        if self._race is None:
            self._race = measure_race(self.prober)
        return self._race

    def throttle(self, *, with_lock_seconds: bool = False) -> ThrottleMeasurement:
        if self._throttle is None:
            self._throttle = measure_locks_after(self.prober, self.driver.throttle_budget)
        if with_lock_seconds and not self._lock_taken:
            measure_lock_seconds(self.prober, self._throttle)
            self._lock_taken = True
        return self._throttle

    def drift(self) -> DriftMeasurement:
        if self._drift is None:
            self._drift = measure_drift(self.prober, self.window())
        return self._drift

    def parameter_trials(self) -> list[ParameterTrial]:
        if self._parameters is None:
            self._parameters = measure_parameters(
                self.driver, start=self.prober.cursor, own=self.parameters
            )
            self.prober.cursor += 3600
        return self._parameters

    def measured(self) -> dict[str, Any]:
        """The ``extra.measured`` entry: each key present once its measurement was taken."""
        found: dict[str, Any] = {"real_time": self.real_time}
        if self._window is not None:
            found["window"] = self._window.measured()
        if self._same_code is not None or self._older_taken or self._race is not None:
            replay: dict[str, Any] = {}
            if self._same_code is not None:
                replay["same_code"] = self._same_code.outcome
            if self._older_taken:
                replay["older_step_after_newer"] = (
                    None if self._older is None else self._older.outcome
                )
            if self._race is not None:
                # Per round: how many of the simultaneous submissions were accepted (1 is right).
                replay["parallel_accepted"] = self._race.accepted_by_round
                replay["parallel_submissions"] = self._race.submissions
            found["replay"] = replay
        if self._throttle is not None:
            found["throttle"] = self._throttle.measured()
        if self._drift is not None:
            found["drift"] = self._drift.measured()
        if self._parameters is not None:
            found["supported"] = supported_lists(self._parameters)
        found["probes"] = {
            "credentials": self.prober.provisioned,
            "submissions": self.prober.submitted,
            "real_time_retries": self.prober.retried,
        }
        return found
