"""Enrollment over JSON: a thin front end over ``flow.enrollment``."""

from __future__ import annotations

import base64

from flask import Blueprint, Response, g, jsonify

from .. import flow
from ..outbox import deliver_after_response, delivers_notices
from ..services import services
from .requests import bearer_token, request_body

bp = Blueprint("enrollment", __name__, url_prefix="/api/v1/enrollment")
bp.after_request(deliver_after_response)

#: Pixels per QR module of the API's PNG.
QR_SCALE = 5


@bp.post("/start")
def start() -> tuple[Response, int]:
    body = request_body(optional=True)
    return jsonify(flow.start_enrollment(services(), bearer_token(), body)), 202


@bp.post("/email/resend")
def resend() -> tuple[Response, int]:
    body = request_body(optional=True)
    return jsonify(flow.resend_email(services(), bearer_token(), body)), 202


@bp.post("/email/verify")
@delivers_notices  # spending the budget of wrong codes mails the owner
def verify_email() -> Response:
    flow.verify_email(services(), bearer_token(), request_body())
    return jsonify({"next": "connect_device"})


@bp.get("/device")
def device() -> Response:
    mobile = g.client.kind == "mobile"
    answer = flow.device_details(services(), bearer_token(), mobile=mobile, qr_scale=QR_SCALE)
    png = answer.pop("qr_png")
    if png is not None:
        answer["qr_png_base64"] = base64.b64encode(png).decode("ascii")
    response = jsonify(answer)
    services().rules.provisioner.cache_headers(response.headers)
    return response


@bp.post("/confirm")
@delivers_notices  # binding a device mails the account's address
def confirm() -> Response:
    return jsonify(flow.confirm(services(), bearer_token(), request_body()))
