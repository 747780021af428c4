"""The flow's errors as sentences for a person at a web page.

The JSON API's messages are written for a developer ("a JSON string of ASCII
digits"); a page says what went wrong and what to do next.
"""

from __future__ import annotations

import math
from typing import Final

from ..errors import ERRORS, ApiError

_SEND_AGAIN: Final = "Choose \u201cSend the email again\u201d and use the code in the new email."

#: Page sentences for codes whose API message does not fit a person.
_PAGE_TEXT: Final[dict[str, str]] = {
    "invalid_credentials": "The email address or password is not correct. Check both.",
    "otp_invalid": "That code is not correct. Enter the code your authenticator app shows now.",
    "otp_reused": "That code has already been used. Wait for the next code in your app.",
    "malformed_code": "Enter the code as digits only, like 123456 (spaces are fine).",
    "email_code_invalid": "That verification code is not correct. Check the code in the email.",
    "email_code_expired": f"The verification code has expired. {_SEND_AGAIN}",
    "too_many_attempts": f"Too many wrong codes for this email. {_SEND_AGAIN}",
    "second_factor_required": (
        "This needs a session signed in with two-factor authentication. "
        "Sign out, then sign in again."
    ),
    "forbidden": "Only an admin can open this page.",
    "not_found": "There is no page at this address.",
    "method_not_allowed": "This page does not accept that kind of request.",
    "payload_too_large": "The form sent too much data.",
    "malformed_request": "The form could not be read; reload the page and try again.",
    "internal_error": "Something went wrong on the server. Try again in a moment.",
}

#: Headings of error pages, by status.
TITLES: Final[dict[int, str]] = {
    400: "This request could not be handled",
    401: "Please sign in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed here",
    409: "This step does not fit",
    413: "Too much data",
    423: "Locked",
    500: "Something went wrong",
    503: "Try again later",
}


def duration(seconds: float) -> str:
    """``30`` → "30 seconds", ``300`` → "5 minutes", ``86100`` → "24 hours" (rounded up)."""
    if seconds < 90:
        whole = max(1, math.ceil(seconds))
        return f"{whole} second{'s' if whole != 1 else ''}"
    if seconds < 90 * 60:
        return f"{math.ceil(seconds / 60)} minutes"
    return f"{math.ceil(seconds / 3600)} hours"


def _lock(error: ApiError, what: str) -> str:
    if error.extra.get("unlock") == "admin" or error.retry_after is None:
        return f"{what} It stays locked until an admin unlocks it: ask your account admin."
    return f"{what} Try again in {duration(error.retry_after)}."


def human(error: ApiError) -> str:
    """What a page says for this error."""
    code = error.code
    if code == "account_locked":
        if "unlock" in error.extra:  # the second factor is locked, not the password
            return _lock(error, "Too many wrong codes: two-factor sign-in is locked.")
        wait = duration(error.retry_after or 1)
        return f"Too many wrong passwords: sign-in is locked. Try again in {wait}."
    if code == "otp_locked":
        return _lock(error, "Too many wrong codes: two-factor sign-in is locked.")
    if code == "email_code_budget_exhausted":
        wait = duration(error.retry_after or 1)
        return (
            "Too many wrong verification codes were entered for this account today, so "
            f"setting up two-factor authentication is locked. Try again in {wait}, or ask "
            "your account admin to unlock it."
        )
    if code == "resend_too_soon":
        wait = duration(error.retry_after or 1)
        return f"A verification email was sent a moment ago. Wait {wait} before sending another."
    if code in _PAGE_TEXT and (code != "malformed_request" or error.message == ERRORS[code][1]):
        return _PAGE_TEXT[code]
    return error.message
