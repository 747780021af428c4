"""The JSON error shape, and the one registry of every error code the server emits.

Every error of the JSON API (``/api/`` and ``/__harness__/``) leaves as
``{"error": {"code", "message", ...extra}}`` with a 4xx status (or 5xx for the
server's own failures), including 404/405/413/500 from Flask itself: never an
HTML traceback page. Everywhere else (the web pages) the same errors are a
small HTML page with the code and the sentence. ``ERRORS`` is what the OpenAPI
document lists and what a test checks the code against.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any, Final

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

#: code → (HTTP status, default message). The single source of error codes.
ERRORS: Final[dict[str, tuple[int, str]]] = {
    "malformed_request": (400, "The request body is not the JSON object this call expects."),
    "malformed_code": (400, "A code must be a JSON string of ASCII digits of the exact length."),
    "malformed_client_kind": (400, "X-Client-Kind must be web, desktop or mobile."),
    "malformed_client_version": (
        400,
        "Desktop and mobile clients must send X-Client-Version as MAJOR.MINOR.BUILD.",
    ),
    "malformed_version": (400, "A version must look like 4.3 and a build must be a whole number."),
    "unauthenticated": (401, "Sign in first: the token is missing, unknown or ended."),
    "invalid_credentials": (401, "The email address or password is not correct."),
    "otp_invalid": (401, "The code is not correct."),
    "otp_reused": (401, "This code has already been used; wait for the next one."),
    "email_code_invalid": (401, "The email verification code is not correct."),
    "forbidden": (403, "Only an admin can do this."),
    "second_factor_required": (
        403,
        "This needs a session signed in with two-factor authentication.",
    ),
    "not_found": (404, "There is nothing at this address."),
    "method_not_allowed": (405, "This address does not accept that method."),
    "wrong_stage": (409, "This call does not fit the current step of sign-in or enrollment."),
    "device_groups_outdated": (
        409,
        "Every device group must be at the minimum version and build before 2FA can be required.",
    ),
    "device_group_below_minimum": (
        409,
        "While 2FA is required, no device group can be below the minimum version and build.",
    ),
    "email_taken": (409, "An agent with this email address already exists."),
    "own_role_unchangeable": (409, "An admin cannot change its own role."),
    "clock_out_of_range": (
        409,
        "The harness clock cannot be moved before 1970 or past the end of 9999.",
    ),
    "email_code_expired": (410, "The email verification code has expired; send a new one."),
    "payload_too_large": (413, "The request body is too large."),
    "account_locked": (423, "Sign-in is locked for a while; try again later."),
    "otp_locked": (423, "Too many wrong codes; the second factor is locked for a while."),
    "client_upgrade_required": (426, "This client is too old; update it to continue."),
    "resend_too_soon": (429, "A verification email was sent a moment ago; wait before resending."),
    "too_many_attempts": (429, "Too many wrong codes for this email; send a new one."),
    "email_code_budget_exhausted": (
        429,
        "Too many wrong email verification codes for this account in the last day: "
        "enrollment is locked until the budget recovers (Retry-After) or an admin unlocks it.",
    ),
    "internal_error": (500, "Something went wrong on the server."),
    "email_unavailable": (503, "The verification email could not be sent; try again."),
}


class ApiError(Exception):
    """An error response: a registered code, its status, and optional extra fields."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        **extra: Any,
    ) -> None:
        if code not in ERRORS:
            raise KeyError(f"unregistered error code {code!r}")
        self.status, default = ERRORS[code]
        self.code = code
        self.message = message or default
        self.extra = extra
        self.retry_after = None if retry_after is None else max(1, math.ceil(retry_after))
        super().__init__(code)

    def response(self) -> Response:
        body: dict[str, Any] = {"code": self.code, "message": self.message, **self.extra}
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        response = jsonify({"error": body})
        response.status_code = self.status
        if self.retry_after is not None:
            response.headers["Retry-After"] = str(self.retry_after)
        return response


_HTTP_CODES: Final[dict[int, str]] = {
    400: "malformed_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


#: Renders an error as a web page: (error) → response with the error's status.
PageRenderer = Callable[["ApiError"], Response]

#: Path prefixes of the JSON API; every other path is a web page.
API_PREFIXES: Final = ("/api/", "/__harness__/")


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES) or path in ("/api", "/__harness__")


def register_error_handlers(app: Flask, page: PageRenderer | None = None) -> None:
    """JSON for every error of the API, Flask's own included; ``page`` renders the rest."""

    def _answer(error: ApiError) -> Response:
        if page is not None and not is_api_path(request.path):
            return page(error)
        return error.response()

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return _answer(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = _HTTP_CODES.get(status, "internal_error" if status >= 500 else "malformed_request")
        response = _answer(ApiError(code))
        if status == 405 and error.get_response().headers.get("Allow"):
            response.headers["Allow"] = error.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        # The traceback goes to the log (no request data in it); the client gets JSON or a page.
        log.exception("unexpected server error: %s", type(error).__name__)
        return _answer(ApiError("internal_error"))


def otp_locked_error(retry_after: float | None) -> ApiError:
    """423 ``otp_locked``: for a while (``Retry-After``), or until an admin unlocks (infinite)."""
    forever = retry_after == float("inf")
    return ApiError(
        "otp_locked",
        retry_after=None if retry_after is None or forever else retry_after,
        unlock="admin" if forever else "wait",
    )
