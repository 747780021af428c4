"""HOTP (RFC 4226) and TOTP (RFC 6238): the harness's own reference algorithm.

Kept small and exact: every conformance expectation is computed here. A
``CodeGenerator`` keys the HMAC once and copies the keyed state for each code,
which is the fastest way CPython offers (no base32 decode, no re-keying).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
from collections.abc import Callable
from typing import Any, Final

#: The HMAC hashes RFC 6238 §1.2 allows, by their otpauth names.
HASHES: Final[dict[str, Callable[..., Any]]] = {
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
    "SHA512": hashlib.sha512,
}

#: HMAC output sizes in bytes: RFC 6238 §5.1 wants keys this long.
DIGEST_BYTES: Final[dict[str, int]] = {"SHA1": 20, "SHA256": 32, "SHA512": 64}

#: RFC 4226 §5.1: C is an 8-byte counter.
MAX_COUNTER: Final = 2**64 - 1

#: The 31-bit dynamic truncation value is below 10**10, so more digits add nothing.
MAX_DIGITS: Final = 10


class OtpError(ValueError):
    """Raised for a parameter the algorithm cannot work with (bad key, counter, digits)."""


def check_algorithm(algorithm: str) -> str:
    """Return the canonical hash name, or raise ``OtpError`` for one RFC 6238 does not allow."""
    name = algorithm.upper()
    if name not in HASHES:
        raise OtpError(f"unknown algorithm {algorithm!r}: use SHA1, SHA256 or SHA512")
    return name


def check_digits(digits: int) -> int:
    if not 1 <= digits <= MAX_DIGITS:
        raise OtpError(f"digits must be between 1 and {MAX_DIGITS}, not {digits}")
    return digits


def truncate(digest: bytes, digits: int) -> str:
    """Dynamic truncation (RFC 4226 §5.3): offset from the last byte, 31 bits, decimal."""
    # The offset comes from the *last* byte of the digest, not byte 19: RFC 6238
    # Appendix A uses hash[hash.length - 1], which matters for SHA256/512.
    offset = digest[-1] & 0x0F
    binary = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def hotp(key: bytes, counter: int, *, digits: int = 6, algorithm: str = "SHA1") -> str:
    """HOTP(K, C) of RFC 4226 for an 8-byte big-endian counter."""
    return CodeGenerator(key, digits=digits, algorithm=algorithm).code_for_counter(counter)


def time_step(unix_time: float, period: int = 30, t0: int = 0) -> int:
    """T = floor((unix_time - T0) / X) of RFC 6238 §4.2."""
    if period <= 0:
        raise OtpError(f"period must be a positive number of seconds, not {period}")
    if unix_time < t0:
        raise OtpError(f"time {unix_time} is before T0 = {t0}")
    return math.floor((unix_time - t0) / period)


def totp(
    key: bytes,
    unix_time: float,
    *,
    digits: int = 6,
    algorithm: str = "SHA1",
    period: int = 30,
    t0: int = 0,
) -> str:
    """TOTP of RFC 6238: HOTP with the time step as counter."""
    generator = CodeGenerator(key, digits=digits, algorithm=algorithm, period=period, t0=t0)
    return generator.code_at(unix_time)


class CodeGenerator:
    """A keyed HOTP/TOTP generator: key once, then copy the keyed HMAC per code."""

    __slots__ = ("_keyed", "algorithm", "digits", "period", "t0")

    def __init__(
        self,
        key: bytes,
        *,
        digits: int = 6,
        algorithm: str = "SHA1",
        period: int = 30,
        t0: int = 0,
    ) -> None:
        if not key:
            raise OtpError("the secret key is empty")
        if period <= 0:
            raise OtpError(f"period must be a positive number of seconds, not {period}")
        self.algorithm = check_algorithm(algorithm)
        self.digits = check_digits(digits)
        self.period = period
        self.t0 = t0
        self._keyed = hmac.new(key, digestmod=HASHES[self.algorithm])

    def code_for_counter(self, counter: int) -> str:
        """The HOTP value for counter C."""
        if not 0 <= counter <= MAX_COUNTER:
            raise OtpError(f"counter must fit in 8 bytes (0 to 2**64-1), not {counter}")
        mac = self._keyed.copy()
        mac.update(counter.to_bytes(8, "big"))
        return truncate(mac.digest(), self.digits)

    def step_at(self, unix_time: float) -> int:
        return time_step(unix_time, self.period, self.t0)

    def code_at(self, unix_time: float) -> str:
        """The TOTP value shown at ``unix_time``."""
        return self.code_for_counter(time_step(unix_time, self.period, self.t0))


def encode_base32(key: bytes) -> str:
    """Base32 (RFC 4648) without padding, as the Key URI format wants."""
    return base64.b32encode(key).decode("ascii").rstrip("=")


def decode_base32(text: str) -> bytes:
    """Strict base32: upper-case RFC 4648 alphabet, padding optional, nothing else.

    Leniency (spaces, lower case) is an authenticator app's choice and lives in
    its profile, not here.
    """
    if not text:
        raise OtpError("the secret is empty")
    body = text.rstrip("=")
    if any(ch not in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for ch in body):
        raise OtpError("the secret is not base32 (letters A-Z and digits 2-7)")
    if len(body) % 8 in (1, 3, 6):
        raise OtpError(f"a base32 secret cannot be {len(body)} characters long")
    try:
        return base64.b32decode(body + "=" * (-len(body) % 8))
    except binascii.Error as exc:  # pragma: no cover - the checks above catch these
        raise OtpError(f"the secret is not valid base32: {exc}") from exc
