"""The harness's own HOTP/TOTP against every RFC vector (checklist §8)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from simulators.device import AuthenticatorDevice
from simulators.hotp import (
    CodeGenerator,
    OtpError,
    decode_base32,
    encode_base32,
    hotp,
    time_step,
    totp,
)
from tests.vectors import (
    BEYOND_32_BIT_COUNTERS,
    BEYOND_32_BIT_TIMES,
    BUG_DETECTORS,
    RFC4226_HOTP,
    RFC6238_TOTP,
    SEED_BASE32,
    SEED_SHA1,
    SEEDS,
    rfc_uri,
)


@pytest.mark.parametrize(("counter", "hmac_hex", "expected"), RFC4226_HOTP)
def test_rfc4226_appendix_d(counter: int, hmac_hex: str, expected: str) -> None:
    intermediate = hmac.new(SEED_SHA1, counter.to_bytes(8, "big"), hashlib.sha1).hexdigest()
    assert intermediate == hmac_hex
    assert hotp(SEED_SHA1, counter) == expected


@pytest.mark.parametrize(("unix_time", "expected", "algorithm"), RFC6238_TOTP)
def test_rfc6238_appendix_b(unix_time: int, expected: str, algorithm: str) -> None:
    assert totp(SEEDS[algorithm], unix_time, digits=8, algorithm=algorithm) == expected


@pytest.mark.parametrize(("unix_time", "expected", "algorithm"), RFC6238_TOTP)
def test_rfc6238_appendix_b_through_a_provisioned_device(
    unix_time: int, expected: str, algorithm: str
) -> None:
    device = AuthenticatorDevice("rfc-reference")
    device.provision_from_uri(rfc_uri(algorithm))
    assert device.code_at(unix_time) == expected


@pytest.mark.parametrize(("counter", "_hmac", "expected"), RFC4226_HOTP)
def test_rfc4226_through_an_hotp_device(counter: int, _hmac: str, expected: str) -> None:
    device = AuthenticatorDevice("rfc-reference")
    device.provision_from_uri(rfc_uri("SHA1", digits=6, otp_type="hotp", counter=counter))
    assert device.next_hotp_code() == expected


@pytest.mark.parametrize(("counter", "six", "eight"), BEYOND_32_BIT_COUNTERS)
def test_counters_beyond_32_bits(counter: int, six: str, eight: str) -> None:
    assert hotp(SEED_SHA1, counter) == six
    assert hotp(SEED_SHA1, counter, digits=8) == eight


@pytest.mark.parametrize(("unix_time", "step", "six", "eight"), BEYOND_32_BIT_TIMES)
def test_times_beyond_32_bits(unix_time: int, step: int, six: str, eight: str) -> None:
    assert time_step(unix_time) == step
    assert totp(SEED_SHA1, unix_time) == six
    assert totp(SEED_SHA1, unix_time, digits=8) == eight


@pytest.mark.parametrize(
    ("unix_time", "expected"),
    [
        (0, "755224"),
        (29, "755224"),
        (29.999, "755224"),
        (30, "287082"),
        (59, "287082"),
        (60, "359152"),
        (89, "359152"),
        (90, "969429"),
    ],
)
def test_step_boundaries(unix_time: float, expected: str) -> None:
    assert totp(SEED_SHA1, unix_time) == expected


@pytest.mark.parametrize(
    ("description", "algorithm", "kind", "value", "digits", "wrong"), BUG_DETECTORS
)
def test_bug_detector_values_are_never_produced(
    description: str, algorithm: str, kind: str, value: int, digits: int, wrong: str
) -> None:
    generator = CodeGenerator(SEEDS[algorithm], digits=digits, algorithm=algorithm)
    produced = generator.code_for_counter(value) if kind == "counter" else generator.code_at(value)
    assert produced != wrong, description
    assert len(produced) == digits


def test_seven_digits_and_zero_padding() -> None:
    assert hotp(SEED_SHA1, 0, digits=7) == "4755224"
    assert totp(SEED_SHA1, 1111111109, digits=6) == "081804"


def test_period_60_changes_the_step() -> None:
    assert time_step(119, 60) == 1
    assert totp(SEED_SHA1, 119, period=60) == hotp(SEED_SHA1, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"algorithm": "MD5"}, "unknown algorithm"),
        ({"digits": 0}, "digits"),
        ({"digits": 11}, "digits"),
        ({"period": 0}, "period"),
    ],
)
def test_bad_parameters_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(OtpError, match=message):
        CodeGenerator(SEED_SHA1, **kwargs)  # type: ignore[arg-type]


def test_counter_outside_8_bytes_and_time_before_epoch_are_refused() -> None:
    generator = CodeGenerator(SEED_SHA1)
    with pytest.raises(OtpError, match="8 bytes"):
        generator.code_for_counter(2**64)
    with pytest.raises(OtpError, match="8 bytes"):
        generator.code_for_counter(-1)
    with pytest.raises(OtpError, match="before T0"):
        generator.code_at(-1)
    with pytest.raises(OtpError, match="empty"):
        CodeGenerator(b"")


def test_base32_is_strict_and_round_trips() -> None:
    assert decode_base32(SEED_BASE32["SHA1"]) == SEED_SHA1
    assert encode_base32(SEED_SHA1) == SEED_BASE32["SHA1"]
    assert decode_base32("JBSWY3DPEHPK3PXP") == b"Hello!\xde\xad\xbe\xef"
    assert decode_base32("GEZDGNBVGY3TQOJQ======") == b"1234567890"
    for bad in ("", "gezdgnbv", "GEZD GNBV", "GEZDGNB1", "GEZDGNBVG"):
        with pytest.raises(OtpError):
            decode_base32(bad)
