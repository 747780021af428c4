"""Hosting a support session: only with a full token earned with the second factor."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, Response, jsonify

from .. import flow
from ..accounts import bearer_token
from ..app import services
from ..inputs import json_body

bp = Blueprint("support", __name__, url_prefix="/api/v1")


@bp.post("/support-sessions")
def host() -> tuple[Response, int]:
    body = partial(json_body, optional=True)
    return jsonify(flow.host_support_session(services(), bearer_token(), body)), 201
