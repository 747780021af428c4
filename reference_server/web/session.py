"""The browser session: the API token in a cookie, CSRF values, mobile detection.

The session cookie holds the same bearer token the JSON API issues, so both
front ends share one token model (stages, lifetimes, rotation). CSRF values are
an HMAC of the session's binding (the token's SHA-256, or before sign-in a
random pre-session cookie), compared in constant time.
"""

from __future__ import annotations

import re
import secrets
from typing import Final

from flask import Response, request

from ..security import token_digest
from ..services import services

SESSION_COOKIE: Final = "twofa_session"
PRESESSION_COOKIE: Final = "twofa_csrf"
CSRF_FIELD: Final = "csrf_token"

#: User-Agent words of phones and tablets (docs/wizard.md).
_MOBILE_UA: Final = re.compile(r"Mobi|iPhone|iPad|Android")


def session_token() -> str | None:
    """The API token of this browser, if it has one."""
    value = request.cookies.get(SESSION_COOKIE)
    return value or None


def set_session(response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        path="/",
        secure=request.is_secure,
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="Lax", secure=request.is_secure
    )


def presession_value() -> tuple[str, bool]:
    """The pre-session value of this browser, and whether it is new (to be set)."""
    current = request.cookies.get(PRESESSION_COOKIE, "")
    if 20 <= len(current) <= 100:
        return current, False
    return secrets.token_urlsafe(32), True


def set_presession(response: Response, value: str) -> None:
    response.set_cookie(
        PRESESSION_COOKIE,
        value,
        httponly=True,
        samesite="Strict",
        path="/",
        secure=request.is_secure,
    )


def _binding(kind: str, value: str) -> str:
    return f"{kind}\x00{token_digest(value)}"


def csrf_for_session(token: str) -> str:
    return services().box.csrf_value(_binding("session", token))


def csrf_for_presession(value: str) -> str:
    return services().box.csrf_value(_binding("pre-session", value))


def csrf_ok(*, presession: bool) -> bool:
    """True when the form's CSRF value belongs to this browser's (pre-)session."""
    submitted = request.form.get(CSRF_FIELD, "")
    cookie = request.cookies.get(PRESESSION_COOKIE if presession else SESSION_COOKIE, "")
    if not submitted or not cookie or len(submitted) > 200:
        return False
    binding = _binding("pre-session" if presession else "session", cookie)
    return services().box.csrf_matches(binding, submitted)


def is_mobile() -> bool:
    """A phone or tablet browser: ``Sec-CH-UA-Mobile: ?1`` or a mobile User-Agent."""
    if request.headers.get("Sec-CH-UA-Mobile", "").strip() == "?1":
        return True
    return _MOBILE_UA.search(request.headers.get("User-Agent", "")) is not None
