"""Sign-in, the second factor, sign-out and ``/me``; the client-version gate."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request

from .. import flow
from ..declarations import SIGN_IN
from ..errors import ApiError
from ..outbox import deliver_after_response, delivers_notices
from ..services import services
from .requests import bearer_token, client_identity, json_body, request_body

bp = Blueprint("auth", __name__, url_prefix="/api/v1")
bp.after_request(deliver_after_response)

#: Paths that answer without the client-version gate.
UNGATED = frozenset({"/api/v1/openapi.json"})


def check_client() -> None:
    """Desktop and mobile clients below the minimum get 426 on every API call."""
    if not request.path.startswith("/api/v1/") or request.path in UNGATED:
        return
    if request.routing_exception is not None:
        return  # an unknown path or method answers 404/405 whoever the client is
    identity = client_identity()
    g.client = identity
    svc = services()
    minimum = svc.policy.minimum_client
    if identity.version is not None and svc.rules.gating.below_minimum(identity.version, minimum):
        raise ApiError(
            "client_upgrade_required",
            f"This app is version {identity.version}; version {minimum} or later is required.",
            minimum_version=str(minimum),
        )


@bp.post("/auth/sign-in")
@delivers_notices  # a lock mails the account's owner
def sign_in() -> tuple[Response, int]:
    body = SIGN_IN.body(json_body())
    return jsonify(flow.sign_in(services(), body["email"], body["password"])), 200


@bp.post("/auth/otp")
def second_factor() -> tuple[Response, int]:
    return jsonify(flow.submit_code(services(), bearer_token(), request_body())), 200


@bp.post("/auth/sign-out")
def sign_out() -> tuple[str, int]:
    flow.sign_out(services(), bearer_token(), request_body(optional=True))
    return "", 204


@bp.get("/me")
def me() -> Response:
    return jsonify(flow.me(services(), bearer_token()))
