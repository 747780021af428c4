"""Sign-in, the second factor, sign-out and ``/me``; the client-version gate."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, Response, g, jsonify, request

from .. import flow
from ..accounts import bearer_token
from ..app import services
from ..errors import ApiError
from ..inputs import client_identity, fields, json_body

bp = Blueprint("auth", __name__, url_prefix="/api/v1")

#: Paths that answer without the client-version gate.
UNGATED = frozenset({"/api/v1/openapi.json"})


def check_client() -> None:
    """Desktop and mobile clients below the minimum get 426 on every API call."""
    if not request.path.startswith("/api/v1/") or request.path in UNGATED:
        return
    identity = client_identity()
    g.client = identity
    minimum = services().policy.minimum_client
    if identity.version is not None and identity.version < minimum:
        if services().policy.has("no_version_gating"):
            return
        raise ApiError(
            "client_upgrade_required",
            f"This app is version {identity.version}; version {minimum} or later is required.",
            minimum_version=str(minimum),
        )


@bp.post("/auth/sign-in")
def sign_in() -> tuple[Response, int]:
    body = fields(json_body(), {"email": str, "password": str})
    return jsonify(flow.sign_in(services(), body["email"], body["password"])), 200


@bp.post("/auth/otp")
def second_factor() -> tuple[Response, int]:
    return jsonify(flow.submit_code(services(), bearer_token(), json_body)), 200


@bp.post("/auth/sign-out")
def sign_out() -> tuple[str, int]:
    flow.sign_out(services(), bearer_token(), partial(json_body, optional=True))
    return "", 204


@bp.get("/me")
def me() -> Response:
    return jsonify(flow.me(services(), bearer_token()))
