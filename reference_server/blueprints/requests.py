"""Reading the request: its JSON body, bearer token and client identity headers.

The blueprints read the request here and hand plain values to the flow
(flaskr's layering: the domain never touches ``flask.request``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import request

from ..errors import ApiError
from ..flow import Body
from ..inputs import ClientIdentity, identify_client, reject_constant


def json_body(*, optional: bool = False) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is ``{}`` when ``optional``."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return {}
        raise ApiError("malformed_request", "The request needs a JSON object body.")
    try:
        value = json.loads(raw, parse_constant=reject_constant)
    except (ValueError, RecursionError, UnicodeError):
        raise ApiError("malformed_request", "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ApiError("malformed_request", "The request body must be a JSON object.")
    return value


def request_body(*, optional: bool = False) -> Body:
    """The request's body, read now, for the flow to open after its token checks.

    The flow reports a wrong token or stage before a malformed body (as the API
    always has), so the body's own error waits inside the value it gets.
    """
    try:
        parsed = json_body(optional=optional)
    except ApiError as error:
        failure = error

        def refused() -> Mapping[str, Any]:
            raise failure

        return refused
    return lambda: parsed


def bearer_token() -> str:
    """The token of the ``Authorization: Bearer`` header, or 401 ``unauthenticated``."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > 512:
        raise ApiError("unauthenticated")
    return value


def client_identity() -> ClientIdentity:
    """Who is calling, from ``X-Client-Kind`` and ``X-Client-Version``."""
    return identify_client(
        request.headers.get("X-Client-Kind"), request.headers.get("X-Client-Version")
    )
