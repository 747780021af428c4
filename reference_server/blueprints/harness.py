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

from ..declarations import CLOCK, CLOCK_END, MAIL_TO, SEED
from ..errors import ApiError
from ..models import CapturedMail
from ..seed import DEMO_SEED
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
    body = CLOCK.body(json_body())
    if "now" in body:
        return jsonify({"now": clock.set(body["now"])})
    if not 0 <= clock.now() + body["advance"] < CLOCK_END:
        raise ApiError("clock_out_of_range")
    return jsonify({"now": clock.advance(body["advance"])})


def _mail_query() -> Any:
    query = select(CapturedMail)
    to = _mail_to()
    if to is not None:
        query = query.where(func.lower(CapturedMail.to) == to)
    return query


def _mail_to() -> str | None:
    """``to=``, checked (at most 254 characters, no NUL), trimmed and in lower case."""
    to = request.args.get("to")
    return None if to is None else MAIL_TO.check("to", to).strip().lower()


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
        to = _mail_to()
        statement = delete(CapturedMail)
        if to is not None:
            statement = statement.where(func.lower(CapturedMail.to) == to)
        db.execute(statement)
    return "", 204


def valid_seed(body: dict[str, Any]) -> dict[str, Any]:
    """A reset body, checked; empty means the demo seed."""
    if not body:
        return DEMO_SEED
    body = SEED.body(body)
    agents = body.get("agents", [])
    emails = [a["email"] for a in agents]
    if len(set(emails)) != len(emails):
        raise ApiError("email_taken", "The seed lists an email address twice.")
    return {
        "agents": agents,
        "device_groups": body.get("device_groups", []),
        "two_factor_required": body.get("two_factor_required", False),
    }


@bp.post("/reset")
def reset() -> Response:
    svc = services()
    seed = valid_seed(json_body(optional=True))
    with svc.sessions.begin() as db:
        loaded = svc.load_seed(db, seed)
    svc.clock.reset()
    return jsonify(loaded)


@bp.get("/policy")
def policy() -> Response:
    return jsonify(services().policy.describe())
