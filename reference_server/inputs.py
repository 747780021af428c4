"""Strict reading of request input: JSON bodies, codes, client identity headers.

Everything a client sends is checked here before any state is read or
written, so malformed input is always a 400 (or 426) and never a 5xx.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from flask import request

from .errors import ApiError
from .versions import Version, VersionError, parse_client_version

_DIGITS: Final = frozenset("0123456789")
CLIENT_KINDS: Final = ("web", "desktop", "mobile")
_EMAIL: Final = re.compile(r"[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", re.ASCII)
_SEAT: Final = re.compile(r"[a-z][a-z0-9_]{0,63}", re.ASCII)
MIN_PASSWORD: Final = 8
MAX_PASSWORD: Final = 1024
MAX_NAME: Final = 100


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_text(value: Any) -> None:
    """Reject strings a database cannot store (lone surrogates, NUL)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("NUL in a string")
        value.encode("utf-8")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


def json_body(*, optional: bool = False) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is ``{}`` when ``optional``."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return {}
        raise ApiError("malformed_request", "The request needs a JSON object body.")
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError, UnicodeError):
        raise ApiError("malformed_request", "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ApiError("malformed_request", "The request body must be a JSON object.")
    return value


def fields(
    body: Mapping[str, Any],
    required: Mapping[str, type | tuple[type, ...]],
    optional: Mapping[str, type | tuple[type, ...]] | None = None,
) -> dict[str, Any]:
    """Check that ``body`` has exactly these keys with these JSON types (bool is not int)."""
    allowed = {**required, **(optional or {})}
    unknown = set(body) - set(allowed)
    if unknown:
        raise ApiError(
            "malformed_request", f"Unexpected field(s); this call takes {sorted(allowed)}."
        )
    for name in required:
        if name not in body:
            raise ApiError("malformed_request", f"The field {name!r} is missing.")
    for name, value in body.items():
        if name == "code":
            continue  # codes have their own error (malformed_code)
        expected = allowed[name]
        types = expected if isinstance(expected, tuple) else (expected,)
        if isinstance(value, bool) and bool not in types:
            raise ApiError("malformed_request", f"The field {name!r} has the wrong type.")
        if not isinstance(value, types):
            raise ApiError("malformed_request", f"The field {name!r} has the wrong type.")
        try:
            _check_text(value)
        except (ValueError, UnicodeError):
            raise ApiError("malformed_request", f"The field {name!r} is not valid text.") from None
    return dict(body)


def code_field(body: Mapping[str, Any], digits: int) -> str:
    """A code: a JSON string of exactly ``digits`` ASCII digits (``str.isdigit`` is too lax)."""
    code = body.get("code")
    if not isinstance(code, str) or len(code) != digits or not set(code) <= _DIGITS:
        raise ApiError("malformed_code", f"The code must be a string of {digits} ASCII digits.")
    return code


def lenient_code(value: Any, digits: int) -> Any:
    """What the "lenient_code_format" mutant makes of a code: numbers, spaces, any digits.

    Only for that deliberately broken server; the reference server never calls it.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return value
    try:
        digits_only = "".join(str(unicodedata.digit(c)) for c in value if not c.isspace())
    except ValueError:
        return value
    return digits_only.zfill(digits)


def finite_number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError("malformed_request", f"{name!r} must be a number of seconds.")
    number = float(value) if abs(value) < 1e15 else math.inf
    if not math.isfinite(number):
        raise ApiError("malformed_request", f"{name!r} must be a finite number below 10**15.")
    return number


def email_field(value: str) -> str:
    email = value.strip().lower()
    if len(email) > 254 or _EMAIL.fullmatch(email) is None:
        raise ApiError("malformed_request", "The email address is not valid.")
    return email


def password_field(value: str) -> str:
    if not MIN_PASSWORD <= len(value) <= MAX_PASSWORD:
        raise ApiError(
            "malformed_request",
            f"A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters.",
        )
    return value


def seat_field(value: str) -> str:
    if _SEAT.fullmatch(value) is None:
        raise ApiError("malformed_request", "A seat is a lower-case name like remote_support.")
    return value


def role_field(value: str) -> str:
    if value not in ("agent", "admin"):
        raise ApiError("malformed_request", "A role is agent or admin.")
    return value


def name_field(value: str) -> str:
    name = value.strip()
    if not name or len(name) > MAX_NAME:
        raise ApiError("malformed_request", f"A name has 1 to {MAX_NAME} characters.")
    return name


@dataclass(frozen=True)
class ClientIdentity:
    """Who is calling: web, desktop or mobile, and the app's version when not web."""

    kind: str
    version: Version | None


def client_identity() -> ClientIdentity:
    """Read ``X-Client-Kind`` and ``X-Client-Version`` strictly."""
    kind = request.headers.get("X-Client-Kind", "web").strip().lower() or "web"
    if kind not in CLIENT_KINDS:
        raise ApiError("malformed_client_kind")
    if kind == "web":
        return ClientIdentity(kind, None)
    text = request.headers.get("X-Client-Version")
    if text is None:
        raise ApiError(
            "malformed_client_version", "Desktop and mobile clients must send a version."
        )
    try:
        return ClientIdentity(kind, parse_client_version(text))
    except VersionError as exc:
        raise ApiError("malformed_client_version", str(exc)) from None
