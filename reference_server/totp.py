"""The server's own HOTP/TOTP (RFC 4226, RFC 6238): HMAC and dynamic truncation."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import Any, Final

#: RFC 6238 §1.2 hashes by their otpauth names.
HASHES: Final[dict[str, Callable[..., Any]]] = {
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
    "SHA512": hashlib.sha512,
}

#: RFC 6238 §5.1: keys SHOULD be as long as the HMAC output.
DIGEST_BYTES: Final[dict[str, int]] = {"SHA1": 20, "SHA256": 32, "SHA512": 64}


def hotp(key: bytes, counter: int, *, digits: int, algorithm: str) -> str:
    """HOTP(K, C): an 8-byte big-endian counter (never 32 bits), offset from the last byte."""
    mac = hmac.new(key, counter.to_bytes(8, "big"), HASHES[algorithm]).digest()
    offset = mac[-1] & 0x0F
    binary = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def time_step(unix_time: float, period: int) -> int:
    """T = floor(unix_time / X) with T0 = 0 (otpauth URIs carry no T0)."""
    return int(unix_time // period)


def b32(key: bytes) -> str:
    """Base32 without padding, as the Key URI format wants."""
    return base64.b32encode(key).decode("ascii").rstrip("=")


def grouped(text: str, size: int = 4) -> str:
    """``ABCDEFGH`` → ``ABCD EFGH``: the manual key as people type it."""
    return " ".join(text[i : i + size] for i in range(0, len(text), size))
