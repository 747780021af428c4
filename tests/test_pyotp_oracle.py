"""pyotp (an implementation nobody here wrote) as an independent oracle: the simulators'
reference TOTP and the reference server's own agree with it on a random matrix of secrets,
times, algorithms, digits and periods; and freezegun for the one clock that reads the system
time itself (the reference server's ``ServerClock`` outside the harness)."""

from __future__ import annotations

import base64
import hashlib
import time

import pyotp
from freezegun import freeze_time
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_server import totp as server_totp
from reference_server.clock import ServerClock
from simulators.hotp import totp as simulator_totp

DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}

secrets = st.binary(min_size=14, max_size=64)  # pyotp refuses under 112 bits
#: From 1970 to past 2106 (the unsigned 32-bit end), whole and fractional seconds.
times = st.one_of(
    st.integers(min_value=0, max_value=2**33).map(float),
    st.floats(min_value=0, max_value=2**33, allow_nan=False, allow_infinity=False),
)
algorithms = st.sampled_from(sorted(DIGESTS))
digits = st.integers(min_value=6, max_value=8)
periods = st.sampled_from([15, 30, 45, 60, 90, 120])


def oracle(secret: bytes, at: float, algorithm: str, n: int, period: int) -> str:
    key = base64.b32encode(secret).decode("ascii")
    return pyotp.TOTP(key, digits=n, digest=DIGESTS[algorithm], interval=period).at(int(at))


@settings(max_examples=400, deadline=None)
@given(secrets, times, algorithms, digits, periods)
def test_the_simulators_totp_agrees_with_pyotp(
    secret: bytes, at: float, algorithm: str, n: int, period: int
) -> None:
    # pyotp takes whole seconds; so does every TOTP step boundary (periods are whole).
    ours = simulator_totp(secret, float(int(at)), digits=n, algorithm=algorithm, period=period)
    assert ours == oracle(secret, at, algorithm, n, period)


@settings(max_examples=400, deadline=None)
@given(secrets, times, algorithms, digits, periods)
def test_the_reference_servers_totp_agrees_with_pyotp(
    secret: bytes, at: float, algorithm: str, n: int, period: int
) -> None:
    step = server_totp.time_step(float(int(at)), period)
    ours = server_totp.hotp(secret, step, digits=n, algorithm=algorithm)
    assert ours == oracle(secret, at, algorithm, n, period)


def test_the_oracle_is_not_trivially_agreeable() -> None:
    # A code one step off, or of another hash, differs: the agreement above means something.
    secret = b"12345678901234567890"
    assert oracle(secret, 59, "SHA1", 8, 30) == "94287082"  # RFC 6238 appendix B
    assert simulator_totp(secret, 89.0, digits=8) != oracle(secret, 59, "SHA1", 8, 30)
    assert server_totp.hotp(secret, 1, digits=8, algorithm="SHA256") != "94287082"


def test_server_clock_reads_the_system_time_until_the_harness_sets_it() -> None:
    with freeze_time("2031-05-06 07:08:09", tz_offset=0) as frozen:
        clock = ServerClock()
        assert clock.now() == time.time() == 1935817689.0
        frozen.tick(90)
        assert clock.now() == 1935817779.0  # real time moves it
        clock.set(2_000_000_000)
        frozen.tick(3600)
        assert clock.now() == 2_000_000_000  # set: it stands still
        clock.advance(30)
        assert clock.now() == 2_000_000_030
        clock.reset()
        assert clock.now() == 1935817779.0 + 3600  # back to the system's time
