"""Hosting a support session: only with a full token earned with the second factor."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ..accounts import load_caller, require_second_factor
from ..app import services
from ..inputs import fields, json_body
from ..models import SupportSession
from ..security import new_join_code

bp = Blueprint("support", __name__, url_prefix="/api/v1")


@bp.post("/support-sessions")
def host() -> tuple[Response, int]:
    svc = services()
    with svc.sessions.begin() as db:
        now = svc.clock.now()
        caller = load_caller(db, now)
        require_second_factor(db, caller)
        fields(json_body(optional=True), {})
        session = SupportSession(
            agent_id=caller.agent.id, join_code=new_join_code(), created_at=now
        )
        db.add(session)
        db.flush()
        answer = {"id": session.id, "join_code": session.join_code}
    return jsonify(answer), 201
