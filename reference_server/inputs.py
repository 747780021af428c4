"""Strict checks of request input: fields, codes, emails, versions, client identity.

Everything a client sends is checked here before any state is read or
written, so malformed input is always a 400 (or 426) and never a 5xx. The
request itself (its body, its headers) is read in the blueprints
(``blueprints/requests.py``), which hand the values to these checks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .errors import ApiError
from .versions import Version, VersionError, parse_client_version

_DIGITS: Final = frozenset("0123456789")
CLIENT_KINDS: Final = ("web", "desktop", "mobile")
_EMAIL: Final = re.compile(r"[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", re.ASCII)
_SEAT: Final = re.compile(r"[a-z][a-z0-9_]{0,63}", re.ASCII)
MIN_PASSWORD: Final = 8
MAX_PASSWORD: Final = 1024
MAX_NAME: Final = 100


def reject_constant(name: str) -> Any:
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


def identify_client(kind_header: str | None, version_header: str | None) -> ClientIdentity:
    """``X-Client-Kind`` and ``X-Client-Version``, strictly (the blueprints read them)."""
    kind = (kind_header or "web").strip().lower() or "web"
    if kind not in CLIENT_KINDS:
        raise ApiError("malformed_client_kind")
    if kind == "web":
        return ClientIdentity(kind, None)
    if version_header is None:
        raise ApiError(
            "malformed_client_version", "Desktop and mobile clients must send a version."
        )
    try:
        return ClientIdentity(kind, parse_client_version(version_header))
    except VersionError as exc:
        raise ApiError("malformed_client_version", str(exc)) from None
