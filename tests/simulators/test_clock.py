"""Clocks: manual, system, and skewed with drift."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulators.clock import Clock, ManualClock, SkewedClock, SystemClock


def test_manual_clock_stands_still_until_set_or_advanced() -> None:
    clock = ManualClock(100)
    assert clock.now() == 100.0
    assert clock.now() == 100.0
    assert clock.advance(29.5) == 129.5
    clock.set(59)
    assert clock.now() == 59.0
    assert clock.advance(-9) == 50.0


def test_system_clock_reads_real_time() -> None:
    before = time.time()
    now = SystemClock().now()
    assert before <= now <= time.time()


def test_every_clock_satisfies_the_protocol() -> None:
    for clock in (SystemClock(), ManualClock(), SkewedClock(ManualClock())):
        assert isinstance(clock, Clock)


def test_a_phone_70_seconds_fast_drifting_20_ppm() -> None:
    base = ManualClock(1_700_000_000)
    phone = SkewedClock(base, offset_seconds=70, drift_ppm=20)
    assert phone.now() == pytest.approx(1_700_000_070)
    base.advance(86_400)  # a day later the crystal has gained 1.728 s
    assert phone.now() - base.now() == pytest.approx(71.728)


finite = st.floats(allow_nan=False, allow_infinity=False)


@given(
    start=st.floats(min_value=0, max_value=2**34),
    offset=st.floats(min_value=-3600, max_value=3600),
    drift=st.floats(min_value=-500, max_value=500),
    elapsed=st.floats(min_value=0, max_value=10 * 365 * 86_400),
)
def test_skewed_clock_error_is_offset_plus_drift_times_elapsed(
    start: float, offset: float, drift: float, elapsed: float
) -> None:
    base = ManualClock(start)
    clock = SkewedClock(base, offset_seconds=offset, drift_ppm=drift)
    base.advance(elapsed)
    expected_error = offset + drift * 1e-6 * elapsed
    # Float arithmetic on Unix seconds near 2**34 leaves a few microseconds of noise.
    assert clock.now() - base.now() == pytest.approx(expected_error, abs=1e-5)
    assert clock.error_at(base.now()) == pytest.approx(expected_error, abs=1e-9)


def test_anchor_says_when_the_device_clock_was_last_correct() -> None:
    base = ManualClock(1000)
    clock = SkewedClock(base, drift_ppm=1_000_000, anchor=0)  # runs twice as fast since t=0
    assert clock.now() == 2000
