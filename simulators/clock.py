"""Clocks that devices and servers read instead of the system time.

Every clock answers Unix seconds as a float (UTC, no time zones). Tests and
simulations pass a clock in, so nothing ever sleeps for a time step.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Anything that can say what time it is, in Unix seconds."""

    def now(self) -> float:
        """The current time as Unix seconds (UTC)."""
        ...


class SystemClock:
    """The machine's own clock."""

    def now(self) -> float:
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that stands still until it is set or advanced."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def set(self, unix_seconds: float) -> None:
        """Put the clock at an absolute time."""
        self._now = float(unix_seconds)

    def advance(self, seconds: float) -> float:
        """Move the clock forward (or back, for a negative value) and return the new time."""
        self._now += float(seconds)
        return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r})"


class SkewedClock:
    """A device clock that is off by a fixed offset and drifts away from its base.

    The error at any moment is ``offset_seconds + drift_ppm * 1e-6 * elapsed``,
    where ``elapsed`` is base time since the anchor (the moment the device clock
    was last set). That is how a phone that is never synchronised behaves: a
    quartz crystal running fast by 20 ppm gains about 1.7 s a day.
    """

    def __init__(
        self,
        base: Clock,
        offset_seconds: float = 0.0,
        drift_ppm: float = 0.0,
        anchor: float | None = None,
    ) -> None:
        self.base = base
        self.offset_seconds = float(offset_seconds)
        self.drift_ppm = float(drift_ppm)
        self.anchor = base.now() if anchor is None else float(anchor)

    def error_at(self, base_time: float) -> float:
        """How far this clock is from its base when the base reads ``base_time``."""
        return self.offset_seconds + self.drift_ppm * 1e-6 * (base_time - self.anchor)

    def now(self) -> float:
        base_time = self.base.now()
        return base_time + self.error_at(base_time)

    def __repr__(self) -> str:
        return (
            f"SkewedClock({self.base!r}, offset_seconds={self.offset_seconds!r}, "
            f"drift_ppm={self.drift_ppm!r}, anchor={self.anchor!r})"
        )
