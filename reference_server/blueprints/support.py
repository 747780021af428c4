"""Hosting a support session: only with a full token earned with the second factor."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .. import flow
from ..services import services
from .requests import bearer_token, request_body

bp = Blueprint("support", __name__, url_prefix="/api/v1")


@bp.post("/support-sessions")
def host() -> tuple[Response, int]:
    body = request_body(optional=True)
    return jsonify(flow.host_support_session(services(), bearer_token(), body)), 201
