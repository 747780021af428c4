"""Harness control: the clock, the captured mailbox, resets and the declared policy.

Registered only in harness mode (``serve --harness``, loopback only); outside
it these paths are 404 like any unknown path. Requests from a non-loopback
address are refused as well, in case a proxy forwards them.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import delete, func, select

from ..errors import ApiError
from ..flow import valid_agent, valid_group
from ..inputs import fields, finite_number
from ..models import CapturedMail
from ..seed import DEMO_SEED, load_seed
from ..services import services
from .requests import json_body

bp = Blueprint("harness", __name__, url_prefix="/__harness__")


@bp.before_request
def _loopback_only() -> None:
    try:
        loopback = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ApiError("not_found")


@bp.get("/clock")
def get_clock() -> Response:
    return jsonify({"now": services().clock.now()})


@bp.put("/clock")
def put_clock() -> Response:
    clock = services().clock
    body = fields(json_body(), {}, {"now": (int, float), "advance": (int, float)})
    if len(body) != 1:
        raise ApiError("malformed_request", "Send exactly one of 'now' or 'advance'.")
    if "now" in body:
        now = finite_number(body["now"], "now")
        if now < 0:
            raise ApiError("malformed_request", "'now' cannot be before 1970.")
        return jsonify({"now": clock.set(now)})
    advance = finite_number(body["advance"], "advance")
    if clock.now() + advance < 0:
        raise ApiError("malformed_request", "The clock cannot go before 1970.")
    return jsonify({"now": clock.advance(advance)})


def _mail_query() -> Any:
    query = select(CapturedMail)
    to = request.args.get("to")
    if to is not None:
        query = query.where(func.lower(CapturedMail.to) == to.strip().lower())
    return query


@bp.get("/mailbox")
def get_mailbox() -> Response:
    svc = services()
    with svc.sessions.begin() as db:
        mails = db.scalars(_mail_query().order_by(CapturedMail.id))
        return jsonify(
            [
                {
                    "to": m.to,
                    "subject": m.subject,
                    "body": m.body,
                    "code": m.code,
                    "received_at": m.received_at,
                }
                for m in mails
            ]
        )


@bp.delete("/mailbox")
def clear_mailbox() -> tuple[str, int]:
    svc = services()
    with svc.sessions.begin() as db:
        to = request.args.get("to")
        statement = delete(CapturedMail)
        if to is not None:
            statement = statement.where(func.lower(CapturedMail.to) == to.strip().lower())
        db.execute(statement)
    return "", 204


def valid_seed(body: dict[str, Any]) -> dict[str, Any]:
    """A reset body, checked; empty means the demo seed."""
    if not body:
        return DEMO_SEED
    body = fields(body, {}, {"agents": list, "device_groups": list, "two_factor_required": bool})
    agents = [valid_agent(item) for item in body.get("agents", [])]
    emails = [a["email"] for a in agents]
    if len(set(emails)) != len(emails):
        raise ApiError("email_taken", "The seed lists an email address twice.")
    return {
        "agents": agents,
        "device_groups": [valid_group(item) for item in body.get("device_groups", [])],
        "two_factor_required": body.get("two_factor_required", False),
    }


@bp.post("/reset")
def reset() -> Response:
    svc = services()
    seed = valid_seed(json_body(optional=True))
    with svc.sessions.begin() as db:
        loaded = load_seed(
            db,
            seed,
            now=svc.clock.now(),
            passwords=svc.passwords,
            policy=svc.policy,
            gating=svc.rules.gating,
        )
    svc.clock.reset()
    return jsonify(loaded)


@bp.get("/policy")
def policy() -> Response:
    return jsonify(services().policy.describe())
