"""Strict checks of request input: fields, codes, emails, versions, client identity.

Everything a client sends is checked here before any state is read or
written, so malformed input is always a 400 (or 426) and never a 5xx. The
bounds, patterns and choices themselves are declared once in
``declarations`` (which the OpenAPI document reads too); these functions are
the checks by name. The request itself (its body, its headers) is read in the
blueprints (``blueprints/requests.py``), which hand the values to these checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import declarations
from .errors import ApiError
from .versions import Version, VersionError, parse_client_version


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
    return declarations.Code("totp").check("code", body.get("code"), digits)


def email_field(value: str) -> str:
    return declarations.EMAIL.check("email", value)


def password_field(value: str) -> str:
    return declarations.PASSWORD.check("password", value)


def seat_field(value: str) -> str:
    return declarations.SEAT.check("seat", value)


def role_field(value: str) -> str:
    return declarations.ROLE.check("role", value)


def name_field(value: str) -> str:
    return declarations.NAME.check("name", value)


@dataclass(frozen=True)
class ClientIdentity:
    """Who is calling: web, desktop or mobile, and the app's version when not web."""

    kind: str
    version: Version | None


def identify_client(kind_header: str | None, version_header: str | None) -> ClientIdentity:
    """``X-Client-Kind`` and ``X-Client-Version``, strictly (the blueprints read them).

    No kind is ``web``; a header sent empty counts as not sent. A version, when
    sent, must be ``MAJOR.MINOR.BUILD``
    whatever the kind; desktop and mobile clients must send one (the one rule
    between two headers that the OpenAPI document states in words).
    """
    kind = "web"
    if kind_header is not None:
        kind = declarations.CLIENT_KIND.check("kind", kind_header) or "web"
    version = None
    if version_header:  # a header sent empty is no version
        text = declarations.CLIENT_VERSION.check("version", version_header)
        try:
            version = parse_client_version(text)
        except VersionError as exc:  # pragma: no cover - the pattern is the parser's
            raise ApiError("malformed_client_version", str(exc)) from None
    if kind == "web":
        return ClientIdentity(kind, None)
    if version is None:
        raise ApiError(
            "malformed_client_version", "Desktop and mobile clients must send a version."
        )
    return ClientIdentity(kind, version)
