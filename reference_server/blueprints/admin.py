"""Admin over JSON: the 2FA setting, device groups, agents (``flow.admin``)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .. import flow
from ..services import services
from .requests import bearer_token, request_body

bp = Blueprint("admin", __name__, url_prefix="/api/v1/admin")


@bp.get("/settings")
def get_settings() -> Response:
    return jsonify(flow.get_settings(services(), bearer_token()))


@bp.put("/settings")
def put_settings() -> Response:
    return jsonify(flow.put_settings(services(), bearer_token(), request_body()))


@bp.get("/device-groups")
def list_groups() -> Response:
    return jsonify(flow.list_groups(services(), bearer_token()))


@bp.post("/device-groups")
def create_group() -> tuple[Response, int]:
    return jsonify(flow.create_group(services(), bearer_token(), request_body())), 201


@bp.patch("/device-groups/<int:group_id>")
def update_group(group_id: int) -> Response:
    return jsonify(flow.update_group(services(), bearer_token(), group_id, request_body()))


@bp.get("/agents")
def list_agents() -> Response:
    return jsonify(flow.list_agents(services(), bearer_token()))


@bp.post("/agents")
def create_agent() -> tuple[Response, int]:
    return jsonify(flow.create_agent(services(), bearer_token(), request_body())), 201


@bp.patch("/agents/<int:agent_id>")
def update_agent(agent_id: int) -> Response:
    return jsonify(flow.update_agent(services(), bearer_token(), agent_id, request_body()))


@bp.post("/agents/<int:agent_id>/unlock")
def unlock_agent(agent_id: int) -> Response:
    body = request_body(optional=True)
    return jsonify(flow.unlock_agent(services(), bearer_token(), agent_id, body))
